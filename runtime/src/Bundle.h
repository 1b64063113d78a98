//===- Bundle.h - read and check a Braid bundle -----------------*- C++ -*-===//
//
// Opens a bundle file (mapped, not copied), checks the container
// (bundle_format.h) and parses the manifest (Manifest.h). Every failure is an
// Error(Bundle) (or Error(IO) when the file cannot be read) whose message
// starts with the path and says what is wrong: the magic, a newer format
// version, truncation, a checksum mismatch naming the section, a manifest
// field naming its JSON path.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_BUNDLE_H
#define BRAID_RUNTIME_SRC_BUNDLE_H

#include "runtime/src/Manifest.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace braid::rt {

class MappedFile;

struct SectionInfo {
  std::string name;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t crc32 = 0;
};

/// The sections of a bundle image after checking its container layout and
/// every checksum. `what` prefixes messages (the path). Throws Error(Bundle).
std::vector<SectionInfo> readBundleContainer(const uint8_t *data, size_t size,
                                             const std::string &what,
                                             uint32_t *formatVersion = nullptr);

class Bundle {
public:
  /// Opens and checks `path`. Throws Error.
  static std::shared_ptr<const Bundle> open(const std::string &path);

  const std::string &path() const { return filePath; }
  uint32_t formatVersion() const { return version; }
  uint64_t fileSize() const;
  const Manifest &manifest() const { return parsed; }
  std::string_view manifestJson() const;
  const std::vector<SectionInfo> &sections() const { return sectionTable; }
  const SectionInfo *findSection(std::string_view name) const;
  std::string_view sectionData(const SectionInfo &section) const;
  /// The mapping that section data points into (for zero-copy users).
  const std::shared_ptr<const MappedFile> &file() const { return mapped; }

private:
  std::string filePath;
  uint32_t version = 0;
  std::shared_ptr<const MappedFile> mapped;
  std::vector<SectionInfo> sectionTable;
  Manifest parsed;
};

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_BUNDLE_H
