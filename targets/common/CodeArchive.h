//===- CodeArchive.h - the code section archive of GPU bundles --*- C++ -*-===//
//
// A `code.<arch>` bundle section holds the modules of one architecture as a
// small archive (docs/cuda.md), all integers little-endian:
//
//   u32 magic "BKAR"   u32 version (1)   u32 count
//   count x { u32 name_length, name bytes, u64 size, payload bytes }
//
// Names are module names ("k<hash>"), unique within an archive; payloads are
// code objects (cubin, HIP code object) or NUL-terminated PTX. Vendor-neutral:
// the HIP target writes the same format.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_CODEARCHIVE_H
#define BRAID_TARGETS_COMMON_CODEARCHIVE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace braid::gpu {

constexpr uint32_t kCodeArchiveMagic = 0x52414B42; // "BKAR" read as LE u32
constexpr uint32_t kCodeArchiveVersion = 1;

struct CodeArchiveMember {
  std::string name;
  std::string payload;
};

/// The archive bytes of `members`, in the given order. Errors on an empty or
/// duplicate name.
llvm::Expected<std::string>
writeCodeArchive(llvm::ArrayRef<CodeArchiveMember> members);

/// Parses an archive (for tests and inspection tools); errors say what is
/// wrong and at which byte.
llvm::Expected<std::vector<CodeArchiveMember>>
readCodeArchive(llvm::StringRef bytes);

} // namespace braid::gpu

#endif // BRAID_TARGETS_COMMON_CODEARCHIVE_H
