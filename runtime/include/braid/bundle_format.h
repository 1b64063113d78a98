/*===- bundle_format.h - binary layout of a Braid bundle (v1) -------------===*
 *
 * Shared by the writer (braidc) and the reader (the runtime); plain C so that
 * both sides, and other languages, can use it. docs/bundle.md describes the
 * manifest carried in the "manifest" section.
 *
 * Layout (all integers little-endian):
 *
 *   BraidBundleHeader                      at offset 0
 *   BraidSectionEntry[section_count]       right after the header
 *   section payloads                       each at its entry's offset, 64-byte
 *                                          aligned, in table order
 *
 * Checksums are CRC-32 (IEEE 802.3, the zlib polynomial): `header_crc32`
 * covers the header with that field set to 0 followed by the whole section
 * table; each entry's `crc32` covers its payload.
 *
 * Sections (names are NUL-padded to 24 bytes):
 *   "manifest"        UTF-8 JSON, always present (docs/bundle.md)
 *   "code.<arch>"     a code object for one target architecture, e.g.
 *                     "code.sm_90a", "code.gfx942" (none for the CPU target)
 *   "weights"         optional packed weights (docs/bundle.md)
 *===----------------------------------------------------------------------===*/
#ifndef BRAID_BUNDLE_FORMAT_H
#define BRAID_BUNDLE_FORMAT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "BRAIDBDL" */
#define BRAID_BUNDLE_MAGIC "BRAIDBDL"
#define BRAID_BUNDLE_MAGIC_SIZE 8
/* The version this code writes and the newest it reads. */
#define BRAID_BUNDLE_FORMAT_VERSION 1u
#define BRAID_BUNDLE_SECTION_NAME_SIZE 24
#define BRAID_BUNDLE_ALIGNMENT 64u

typedef struct BraidBundleHeader {
  char magic[BRAID_BUNDLE_MAGIC_SIZE];
  uint32_t format_version;
  uint32_t section_count;
  uint64_t file_size; /* total size in bytes, to detect truncation */
  uint32_t header_crc32;
  uint32_t reserved; /* 0 */
} BraidBundleHeader;

typedef struct BraidSectionEntry {
  char name[BRAID_BUNDLE_SECTION_NAME_SIZE];
  uint64_t offset; /* from the start of the file */
  uint64_t size;   /* payload bytes */
  uint32_t crc32;  /* of the payload */
  uint32_t reserved; /* 0 */
} BraidSectionEntry;

#ifdef __cplusplus
}
#endif

#endif /* BRAID_BUNDLE_FORMAT_H */
