//===- Crc32.cpp - CRC-32 (IEEE 802.3), slicing by 8 ----------------------===//

#include "runtime/src/Crc32.h"

#include <array>

namespace braid::rt {
namespace {

using Tables = std::array<std::array<uint32_t, 256>, 8>;

/// tables[0] is the classic byte-at-a-time table; tables[k][i] is the CRC of
/// byte i followed by k zero bytes, which lets the loop fold 8 bytes at once.
Tables makeTables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit)
      c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (int k = 1; k < 8; ++k)
      t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  return t;
}

const Tables &tables() {
  static const Tables t = makeTables();
  return t;
}

uint32_t load32le(const unsigned char *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}

} // namespace

uint32_t crc32(const void *data, size_t size, uint32_t crc) {
  const Tables &t = tables();
  const auto *p = static_cast<const unsigned char *>(data);
  uint32_t c = ~crc;
  while (size >= 8) {
    uint32_t lo = load32le(p) ^ c;
    uint32_t hi = load32le(p + 4);
    c = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^
        t[4][lo >> 24] ^ t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^
        t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
    p += 8;
    size -= 8;
  }
  while (size--)
    c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFFu];
  return ~c;
}

} // namespace braid::rt
