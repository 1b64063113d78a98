//===- Bundle.cpp - read and check a Braid bundle -------------------------===//

#include "runtime/src/Bundle.h"

#include "braid/bundle_format.h"
#include "runtime/src/Crc32.h"
#include "runtime/src/Error.h"
#include "runtime/src/MappedFile.h"

#include <cstdio>
#include <cstring>
#include <set>

namespace braid::rt {
namespace {

constexpr size_t kHeaderSize = sizeof(BraidBundleHeader);
constexpr size_t kEntrySize = sizeof(BraidSectionEntry);
static_assert(kHeaderSize == 32, "bundle header layout");
static_assert(kEntrySize == 48, "bundle section entry layout");
// Offsets of the header fields (bundle_format.h).
constexpr size_t kVersionAt = 8, kCountAt = 12, kFileSizeAt = 16,
                 kHeaderCrcAt = 24;

uint32_t load32(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}

uint64_t load64(const uint8_t *p) {
  return uint64_t(load32(p)) | uint64_t(load32(p + 4)) << 32;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

} // namespace

std::vector<SectionInfo> readBundleContainer(const uint8_t *data, size_t size,
                                             const std::string &what,
                                             uint32_t *formatVersion) {
  auto bad = [&](const std::string &msg) {
    fail(ErrorCode::Bundle, what + ": " + msg);
  };
  if (size < BRAID_BUNDLE_MAGIC_SIZE ||
      std::memcmp(data, BRAID_BUNDLE_MAGIC, BRAID_BUNDLE_MAGIC_SIZE) != 0) {
    if (size < BRAID_BUNDLE_MAGIC_SIZE)
      bad("not a Braid bundle: the file has " + std::to_string(size) +
          " bytes, fewer than the 8-byte magic");
    bad("not a Braid bundle (the file does not start with \"" +
        std::string(BRAID_BUNDLE_MAGIC) + "\")");
  }
  if (size < kHeaderSize)
    bad("bundle is truncated: " + std::to_string(size) +
        " bytes, shorter than the " + std::to_string(kHeaderSize) +
        "-byte header");
  uint32_t version = load32(data + kVersionAt);
  if (version > BRAID_BUNDLE_FORMAT_VERSION)
    bad("bundle format version " + std::to_string(version) +
        " is newer than this runtime reads (" +
        std::to_string(BRAID_BUNDLE_FORMAT_VERSION) + ")");
  if (version == 0)
    bad("bundle format version 0 is not valid");
  if (formatVersion)
    *formatVersion = version;
  uint64_t fileSize = load64(data + kFileSizeAt);
  if (size < fileSize)
    bad("bundle is truncated: the header says " + std::to_string(fileSize) +
        " bytes, the file has " + std::to_string(size));
  if (size > fileSize)
    bad("bundle size mismatch: the header says " + std::to_string(fileSize) +
        " bytes, the file has " + std::to_string(size) +
        " (trailing data or a corrupted header)");
  uint32_t count = load32(data + kCountAt);
  if (count > (size - kHeaderSize) / kEntrySize)
    bad("corrupted header: " + std::to_string(count) +
        " sections cannot fit in " + std::to_string(size) + " bytes");
  size_t tableEnd = kHeaderSize + size_t(count) * kEntrySize;

  // Header CRC: the header with its crc field zeroed, then the table.
  uint8_t header[kHeaderSize];
  std::memcpy(header, data, kHeaderSize);
  std::memset(header + kHeaderCrcAt, 0, 4);
  uint32_t crc = crc32(header, kHeaderSize);
  crc = crc32(data + kHeaderSize, tableEnd - kHeaderSize, crc);
  uint32_t stored = load32(data + kHeaderCrcAt);
  if (crc != stored)
    bad("header checksum mismatch (stored " + hex32(stored) + ", computed " +
        hex32(crc) + "): the header or section table is corrupted");

  std::vector<SectionInfo> sections;
  std::set<std::string> names;
  uint64_t cursor = tableEnd; // end of the previous payload
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t *e = data + kHeaderSize + size_t(i) * kEntrySize;
    SectionInfo s;
    size_t len = 0;
    while (len < BRAID_BUNDLE_SECTION_NAME_SIZE && e[len])
      ++len;
    s.name.assign(reinterpret_cast<const char *>(e), len);
    s.offset = load64(e + BRAID_BUNDLE_SECTION_NAME_SIZE);
    s.size = load64(e + BRAID_BUNDLE_SECTION_NAME_SIZE + 8);
    s.crc32 = load32(e + BRAID_BUNDLE_SECTION_NAME_SIZE + 16);
    std::string label = "section " + std::to_string(i) + " ('" + s.name + "')";
    if (s.name.empty())
      bad(label + " has an empty name");
    if (!names.insert(s.name).second)
      bad("duplicate section '" + s.name + "'");
    if (s.offset % BRAID_BUNDLE_ALIGNMENT != 0 || s.offset < cursor ||
        s.offset > fileSize || s.size > fileSize - s.offset)
      bad(label + " has a bad extent (offset " + std::to_string(s.offset) +
          ", size " + std::to_string(s.size) + ", file " +
          std::to_string(fileSize) + " bytes)");
    for (uint64_t p = cursor; p < s.offset; ++p)
      if (data[p] != 0)
        bad("corrupted padding before section '" + s.name + "' at byte " +
            std::to_string(p));
    uint32_t c = crc32(data + s.offset, s.size);
    if (c != s.crc32)
      bad("checksum mismatch in section '" + s.name + "' (stored " +
          hex32(s.crc32) + ", computed " + hex32(c) + ")");
    cursor = s.offset + s.size;
    sections.push_back(std::move(s));
  }
  for (uint64_t p = cursor; p < fileSize; ++p)
    if (data[p] != 0)
      bad("corrupted padding after the last section at byte " +
          std::to_string(p));
  return sections;
}

std::shared_ptr<const Bundle> Bundle::open(const std::string &path) {
  std::shared_ptr<Bundle> b(new Bundle());
  b->filePath = path;
  b->mapped = MappedFile::open(path);
  b->sectionTable = readBundleContainer(b->mapped->data(), b->mapped->size(),
                                        path, &b->version);
  const SectionInfo *manifest = b->findSection("manifest");
  if (!manifest)
    fail(ErrorCode::Bundle, path + ": the bundle has no 'manifest' section");
  try {
    b->parsed = parseManifest(b->sectionData(*manifest));
  } catch (const Error &e) {
    fail(e.code(), path + ": " + e.what());
  }
  return b;
}

uint64_t Bundle::fileSize() const { return mapped->size(); }

std::string_view Bundle::manifestJson() const {
  return sectionData(*findSection("manifest"));
}

const SectionInfo *Bundle::findSection(std::string_view name) const {
  for (const SectionInfo &s : sectionTable)
    if (s.name == name)
      return &s;
  return nullptr;
}

std::string_view Bundle::sectionData(const SectionInfo &section) const {
  return std::string_view(reinterpret_cast<const char *>(mapped->data()) +
                              section.offset,
                          section.size);
}

} // namespace braid::rt
