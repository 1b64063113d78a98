//===- BundleTest.cpp - bundle writer, reader and every rejection ---------===//

#include "TestUtil.h"

#include "braid/bundle_format.h"
#include "braid/bundle_writer.h"
#include "runtime/src/Bundle.h"
#include "runtime/src/Crc32.h"
#include "runtime/src/Error.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace braid::rt;
using namespace braid::rt::test;
using json = nlohmann::json;

namespace {

std::string code90 = std::string("\x7f"
                                 "ELF fake cubin for sm_90a") +
                     std::string(100, '\x5a');
std::string packed = std::string(77, '\x11');

/// Writes bytes as a bundle file and returns the error message of opening
/// it ("" when it opens).
std::string openError(const std::string &bytes, ErrorCode *code = nullptr) {
  std::string path = freshDir("open") + "/b.bundle";
  writeFile(path, bytes);
  try {
    Bundle::open(path);
    return "";
  } catch (const Error &e) {
    if (code)
      *code = e.code();
    return e.what();
  }
}

std::string validBundle() {
  std::string bytes;
  std::string error =
      serializeBundle(tinyManifest().dump(),
                      {{"code.sm_90a", code90}, {"weights", packed}}, bytes);
  EXPECT_EQ(error, "");
  return bytes;
}

uint32_t load32(const std::string &b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

void store32(std::string &b, size_t at, uint32_t v) {
  std::memcpy(&b[at], &v, 4);
}

/// Recomputes the header CRC after an edit, so that only the edit counts.
void resealHeader(std::string &b) {
  uint32_t count = load32(b, 12);
  store32(b, 24, 0);
  size_t tableEnd =
      sizeof(BraidBundleHeader) + count * sizeof(BraidSectionEntry);
  store32(b, 24, crc32(b.data(), tableEnd));
}

TEST(Bundle, RoundTrip) {
  std::string dir = freshDir("roundtrip");
  std::string path = dir + "/m.bundle";
  std::string manifest = tinyManifest().dump(2);
  ASSERT_EQ(writeBundle(path, manifest,
                        {{"code.sm_90a", code90}, {"weights", packed}}),
            "");
  std::shared_ptr<const Bundle> b = Bundle::open(path);
  EXPECT_EQ(b->formatVersion(), 1u);
  EXPECT_EQ(b->fileSize(), readFile(path).size());
  ASSERT_EQ(b->sections().size(), 3u);
  EXPECT_EQ(b->sections()[0].name, "manifest");
  EXPECT_EQ(b->sections()[1].name, "code.sm_90a");
  EXPECT_EQ(b->sections()[2].name, "weights");
  EXPECT_EQ(b->manifestJson(), manifest);
  EXPECT_EQ(b->sectionData(*b->findSection("code.sm_90a")), code90);
  EXPECT_EQ(b->sectionData(*b->findSection("weights")), packed);
  for (const SectionInfo &s : b->sections()) {
    EXPECT_EQ(s.offset % BRAID_BUNDLE_ALIGNMENT, 0u) << s.name;
    EXPECT_EQ(s.crc32, crc32(b->sectionData(s).data(), s.size)) << s.name;
  }
  const Manifest &m = b->manifest();
  EXPECT_EQ(m.model, "tiny");
  EXPECT_EQ(m.vocabSize, kVocab);
  EXPECT_EQ(m.weights.size(), 3u);
  EXPECT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.arenaBytesPerToken, 64);
  // Header fields as bundle_format.h lays them out.
  std::string bytes = readFile(path);
  EXPECT_EQ(bytes.substr(0, 8), "BRAIDBDL");
  EXPECT_EQ(load32(bytes, 8), 1u);
  EXPECT_EQ(load32(bytes, 12), 3u);
}

TEST(Bundle, WriterRejects) {
  std::string out;
  std::string m = tinyManifest().dump();
  EXPECT_EQ(serializeBundle(m, {{"manifest", "x"}}, out),
            "duplicate bundle section 'manifest'");
  EXPECT_EQ(serializeBundle(m, {{"code.a", "x"}, {"code.a", "y"}}, out),
            "duplicate bundle section 'code.a'");
  EXPECT_NE(serializeBundle(m, {{std::string(25, 'n'), "x"}}, out)
                .find("longer than 24 bytes"),
            std::string::npos);
  EXPECT_EQ(serializeBundle(m, {{"", "x"}}, out),
            "bundle section with an empty name");
  // The writer checks the manifest the way the reader will.
  json bad = tinyManifest();
  bad.erase("vocab_size");
  EXPECT_EQ(serializeBundle(bad.dump(), {}, out),
            "manifest: top level: missing field 'vocab_size'");
  BundleWriteOptions unchecked;
  unchecked.checkManifest = false;
  EXPECT_EQ(serializeBundle(bad.dump(), {}, out, unchecked), "");
  EXPECT_NE(writeBundle("/nonexistent-dir/x.bundle", m).find("cannot write"),
            std::string::npos);
}

TEST(Bundle, MissingFileIsAnIOError) {
  ErrorCode code{};
  try {
    Bundle::open("/nonexistent/model.bundle");
    FAIL();
  } catch (const Error &e) {
    code = e.code();
    EXPECT_STREQ(e.what(), "cannot open '/nonexistent/model.bundle': No such "
                           "file or directory");
  }
  EXPECT_EQ(code, ErrorCode::IO);
}

TEST(Bundle, Truncated) {
  std::string bytes = validBundle();
  size_t manifestAt = 128; // header 32 + 3 entries of 48 = 176 -> 192
  (void)manifestAt;
  for (size_t cut : {size_t(0), size_t(5)}) {
    std::string e = openError(bytes.substr(0, cut));
    EXPECT_NE(e.find("not a Braid bundle: the file has " + std::to_string(cut) +
                     " bytes"),
              std::string::npos)
        << e;
  }
  for (size_t cut : {size_t(8), size_t(20), size_t(31)}) {
    std::string e = openError(bytes.substr(0, cut));
    EXPECT_NE(e.find("bundle is truncated: " + std::to_string(cut) +
                     " bytes, shorter than the 32-byte header"),
              std::string::npos)
        << e;
  }
  for (size_t cut : {size_t(32), size_t(100), size_t(200), bytes.size() / 2,
                     bytes.size() - 1}) {
    ErrorCode code{};
    std::string e = openError(bytes.substr(0, cut), &code);
    EXPECT_NE(e.find("bundle is truncated: the header says " +
                     std::to_string(bytes.size()) + " bytes, the file has " +
                     std::to_string(cut)),
              std::string::npos)
        << e;
    EXPECT_EQ(code, ErrorCode::Bundle);
  }
}

TEST(Bundle, TrailingData) {
  std::string e = openError(validBundle() + "extra");
  EXPECT_NE(e.find("bundle size mismatch"), std::string::npos) << e;
}

TEST(Bundle, BadMagic) {
  std::string bytes = validBundle();
  bytes[3] = 'X';
  std::string e = openError(bytes);
  EXPECT_NE(e.find("not a Braid bundle (the file does not start with "
                   "\"BRAIDBDL\")"),
            std::string::npos)
      << e;
}

TEST(Bundle, NewerVersion) {
  std::string bytes = validBundle();
  store32(bytes, 8, 2);
  resealHeader(bytes);
  std::string e = openError(bytes);
  EXPECT_NE(e.find(": bundle format version 2 is newer than this runtime "
                   "reads (1)"),
            std::string::npos)
      << e;
  // Even without a valid checksum: the version is judged first.
  bytes = validBundle();
  store32(bytes, 8, 7);
  e = openError(bytes);
  EXPECT_NE(e.find("bundle format version 7 is newer than this runtime reads "
                   "(1)"),
            std::string::npos)
      << e;
}

TEST(Bundle, CorruptedHeaderAndTable) {
  std::string good = validBundle();
  // A byte of the reserved header field, then one of each section entry.
  for (size_t at : {size_t(28), size_t(32 + 3), size_t(32 + 48 + 30),
                    size_t(32 + 96 + 44)}) {
    std::string bytes = good;
    bytes[at] ^= 0x40;
    std::string e = openError(bytes);
    EXPECT_NE(e.find("header checksum mismatch"), std::string::npos)
        << "byte " << at << ": " << e;
  }
  // A section count that cannot fit.
  std::string bytes = good;
  store32(bytes, 12, 1000000);
  EXPECT_NE(openError(bytes).find("1000000 sections cannot fit"),
            std::string::npos);
}

TEST(Bundle, CorruptedSectionNamesIt) {
  std::string good = validBundle();
  std::string path = freshDir("sections") + "/b.bundle";
  writeFile(path, good);
  std::vector<SectionInfo> sections = Bundle::open(path)->sections();
  for (const SectionInfo &s : sections) {
    for (uint64_t at :
         {s.offset, s.offset + s.size / 2, s.offset + s.size - 1}) {
      std::string bytes = good;
      bytes[at] ^= 0x01;
      std::string e = openError(bytes);
      EXPECT_NE(e.find("checksum mismatch in section '" + s.name + "'"),
                std::string::npos)
          << "byte " << at << ": " << e;
    }
  }
  // The padding between sections is checked too.
  std::string bytes = good;
  size_t pad = sections[0].offset + sections[0].size;
  ASSERT_LT(pad, sections[1].offset);
  bytes[pad] = 1;
  EXPECT_NE(openError(bytes).find("corrupted padding before section "
                                  "'code.sm_90a'"),
            std::string::npos);
}

TEST(Bundle, EveryByteFlipIsCaught) {
  std::string good = validBundle();
  for (size_t at = 0; at < good.size(); at += 7) {
    std::string bytes = good;
    bytes[at] ^= 0x10;
    EXPECT_NE(openError(bytes), "") << "flip at byte " << at << " accepted";
  }
}

TEST(Bundle, NoManifestSection) {
  // Hand-build a bundle whose only section is not the manifest.
  std::string bytes;
  ASSERT_EQ(serializeBundle(tinyManifest().dump(), {}, bytes), "");
  std::memcpy(&bytes[32], "notmanifest", 11);
  resealHeader(bytes);
  EXPECT_NE(openError(bytes).find("the bundle has no 'manifest' section"),
            std::string::npos);
}

} // namespace
