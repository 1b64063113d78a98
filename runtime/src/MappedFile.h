//===- MappedFile.h - a read-only memory-mapped file ------------*- C++ -*-===//
//
// Bundles and safetensors files are mapped, not read: weights are used in
// place where the backend can address host memory, and only the pages that
// are touched are loaded.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_MAPPEDFILE_H
#define BRAID_RUNTIME_SRC_MAPPEDFILE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace braid::rt {

class MappedFile {
public:
  /// Maps the whole file read-only; throws Error(IO) naming the path and the
  /// system's reason when it cannot.
  static std::shared_ptr<const MappedFile> open(const std::string &path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return bytes; }
  size_t size() const { return length; }
  const std::string &path() const { return filePath; }

private:
  MappedFile() = default;
  const uint8_t *bytes = nullptr;
  size_t length = 0;
  std::string filePath;
};

/// True when `path` names an existing directory.
bool isDirectory(const std::string &path);

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_MAPPEDFILE_H
