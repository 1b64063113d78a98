//===- BundleWriter.cpp - write a Braid bundle ----------------------------===//

#include "braid/bundle_writer.h"

#include "braid/bundle_format.h"
#include "runtime/src/Crc32.h"
#include "runtime/src/Error.h"
#include "runtime/src/Manifest.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <unistd.h>

namespace braid::rt {
namespace {

void put32(std::string &out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out[at + i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

void put64(std::string &out, size_t at, uint64_t v) {
  put32(out, at, static_cast<uint32_t>(v));
  put32(out, at + 4, static_cast<uint32_t>(v >> 32));
}

size_t alignUp(size_t x) {
  return (x + BRAID_BUNDLE_ALIGNMENT - 1) / BRAID_BUNDLE_ALIGNMENT *
         BRAID_BUNDLE_ALIGNMENT;
}

std::string serialize(const std::string &manifestJson,
                      const std::vector<BundleSection> &extra, std::string &out,
                      const BundleWriteOptions &options) {
  if (options.checkManifest)
    parseManifest(manifestJson); // throws Error(Bundle) with the reason
  std::vector<const BundleSection *> sections;
  BundleSection manifest{"manifest", manifestJson};
  sections.push_back(&manifest);
  std::set<std::string> names{"manifest"};
  for (const BundleSection &s : extra) {
    if (s.name.empty())
      return "bundle section with an empty name";
    if (s.name.size() > BRAID_BUNDLE_SECTION_NAME_SIZE)
      return "bundle section name '" + s.name + "' is longer than " +
             std::to_string(BRAID_BUNDLE_SECTION_NAME_SIZE) + " bytes";
    if (s.name.find('\0') != std::string::npos)
      return "bundle section name contains a NUL byte";
    if (!names.insert(s.name).second)
      return "duplicate bundle section '" + s.name + "'";
    sections.push_back(&s);
  }
  const size_t headerSize = sizeof(BraidBundleHeader);
  const size_t entrySize = sizeof(BraidSectionEntry);
  size_t tableEnd = headerSize + sections.size() * entrySize;
  std::vector<size_t> offsets;
  size_t cursor = tableEnd;
  for (const BundleSection *s : sections) {
    cursor = alignUp(cursor);
    offsets.push_back(cursor);
    cursor += s->data.size();
  }
  size_t fileSize = cursor;
  out.assign(fileSize, '\0');
  std::memcpy(&out[0], BRAID_BUNDLE_MAGIC, BRAID_BUNDLE_MAGIC_SIZE);
  put32(out, 8, BRAID_BUNDLE_FORMAT_VERSION);
  put32(out, 12, static_cast<uint32_t>(sections.size()));
  put64(out, 16, fileSize);
  for (size_t i = 0; i < sections.size(); ++i) {
    const BundleSection &s = *sections[i];
    size_t e = headerSize + i * entrySize;
    std::memcpy(&out[e], s.name.data(), s.name.size());
    put64(out, e + BRAID_BUNDLE_SECTION_NAME_SIZE, offsets[i]);
    put64(out, e + BRAID_BUNDLE_SECTION_NAME_SIZE + 8, s.data.size());
    put32(out, e + BRAID_BUNDLE_SECTION_NAME_SIZE + 16,
          crc32(s.data.data(), s.data.size()));
    if (!s.data.empty())
      std::memcpy(&out[offsets[i]], s.data.data(), s.data.size());
  }
  put32(out, 24, crc32(out.data(), tableEnd)); // crc field is still 0
  return "";
}

} // namespace

std::string serializeBundle(const std::string &manifestJson,
                            const std::vector<BundleSection> &sections,
                            std::string &out,
                            const BundleWriteOptions &options) {
  try {
    return serialize(manifestJson, sections, out, options);
  } catch (const std::exception &e) {
    return e.what();
  }
}

std::string writeBundle(const std::string &path,
                        const std::string &manifestJson,
                        const std::vector<BundleSection> &sections,
                        const BundleWriteOptions &options) {
  std::string bytes;
  std::string error = serializeBundle(manifestJson, sections, bytes, options);
  if (!error.empty())
    return error;
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return "cannot write '" + path + "': " + std::strerror(errno);
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return "cannot write '" + path + "': " + std::strerror(err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    std::remove(tmp.c_str());
    return "cannot write '" + path + "': " + std::strerror(err);
  }
  return "";
}

} // namespace braid::rt
