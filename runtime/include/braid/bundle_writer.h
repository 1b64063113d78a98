//===- bundle_writer.h - write a Braid bundle ------------------*- C++ -*-===//
//
// The writer side of the bundle format (bundle_format.h), for braidc and for
// tests. Plain C++17: no JSON library, no LLVM, no exceptions thrown out of
// these functions (failures come back as a message). Link BraidBundle.
//
// Example:
//
//   std::string error = braid::rt::writeBundle(
//       "model.bundle", manifestJsonText, {{"code.sm_90a", cubinBytes}});
//   if (!error.empty()) { report(error); }
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_BUNDLE_WRITER_H
#define BRAID_BUNDLE_WRITER_H

#include <string>
#include <vector>

namespace braid::rt {

/// One section besides the manifest: "code.<arch>" or "weights".
struct BundleSection {
  std::string name; ///< at most 24 bytes (BRAID_BUNDLE_SECTION_NAME_SIZE)
  std::string data; ///< the payload, any bytes
};

struct BundleWriteOptions {
  /// Parse and check the manifest exactly as the runtime will when it loads
  /// the bundle, and refuse to write one it would refuse to run. Tests turn
  /// this off to write deliberately broken bundles.
  bool checkManifest = true;
};

/// The whole bundle file as bytes: header, section table ("manifest" first,
/// then `sections` in order), payloads 64-byte aligned with zero padding,
/// CRC-32s filled in. Returns "" and sets `out` on success, else a message.
std::string serializeBundle(const std::string &manifestJson,
                            const std::vector<BundleSection> &sections,
                            std::string &out,
                            const BundleWriteOptions &options = {});

/// serializeBundle, then writes the bytes to `path` (through a temporary
/// file renamed into place, so a failed write leaves no partial bundle).
/// Returns "" on success, otherwise a one-line message naming the problem.
std::string writeBundle(const std::string &path,
                        const std::string &manifestJson,
                        const std::vector<BundleSection> &sections = {},
                        const BundleWriteOptions &options = {});

} // namespace braid::rt

#endif // BRAID_BUNDLE_WRITER_H
