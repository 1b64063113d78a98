//===- Crc32.h - CRC-32 (IEEE 802.3) ----------------------------*- C++ -*-===//
//
// The checksum of the bundle format (bundle_format.h): the reflected
// polynomial 0xEDB88320 with initial value and final xor 0xFFFFFFFF, the same
// CRC as zlib's crc32(). crc32("123456789") == 0xCBF43926.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_CRC32_H
#define BRAID_RUNTIME_SRC_CRC32_H

#include <cstddef>
#include <cstdint>

namespace braid::rt {

/// CRC-32 of `size` bytes at `data`. To checksum data in pieces, pass the
/// previous result as `crc`: crc32(b, nb, crc32(a, na)) == crc32(a ++ b).
uint32_t crc32(const void *data, size_t size, uint32_t crc = 0);

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_CRC32_H
