//===- Crc32Test.cpp - CRC-32 known values --------------------------------===//

#include "runtime/src/Crc32.h"

#include <gtest/gtest.h>

#include <string>

using braid::rt::crc32;

namespace {

uint32_t crc(const std::string &s) { return crc32(s.data(), s.size()); }

/// Bit-at-a-time reference, straight from the definition.
uint32_t slowCrc(const std::string &s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char byte : s) {
    c ^= byte;
    for (int k = 0; k < 8; ++k)
      c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

TEST(Crc32, KnownValues) {
  EXPECT_EQ(crc(""), 0x00000000u);
  EXPECT_EQ(crc("a"), 0xE8B7BE43u);
  EXPECT_EQ(crc("abc"), 0x352441C2u);
  EXPECT_EQ(crc("123456789"), 0xCBF43926u); // the standard check value
  EXPECT_EQ(crc("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
  EXPECT_EQ(crc(std::string(32, '\0')), 0x190A55ADu);
  EXPECT_EQ(crc(std::string(32, '\xFF')), 0xFF6CAB0Bu);
}

TEST(Crc32, IncrementalEqualsWhole) {
  std::string text;
  for (int i = 0; i < 1000; ++i)
    text += char(i * 31 + 7);
  for (size_t split : {size_t(0), size_t(1), size_t(7), size_t(8), size_t(9),
                       size_t(500), size_t(999), size_t(1000)}) {
    uint32_t first = crc32(text.data(), split);
    EXPECT_EQ(crc32(text.data() + split, text.size() - split, first), crc(text))
        << "split at " << split;
  }
}

TEST(Crc32, SlicedMatchesBitwiseAtEveryLengthAndAlignment) {
  std::string text;
  for (int i = 0; i < 80; ++i)
    text += char(i * 131 + 17);
  for (size_t begin = 0; begin < 8; ++begin)
    for (size_t len = 0; begin + len <= text.size(); ++len)
      ASSERT_EQ(crc(text.substr(begin, len)), slowCrc(text.substr(begin, len)))
          << "begin " << begin << " length " << len;
}

} // namespace
