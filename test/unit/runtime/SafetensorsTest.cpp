//===- SafetensorsTest.cpp - safetensors reader, writer, validation -------===//

#include "TestUtil.h"

#include "runtime/src/Error.h"
#include "runtime/src/Safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

/// A file from a header text and a data buffer.
std::string rawFile(const std::string &header, const std::string &data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  std::memcpy(&out[0], &n, 8);
  return out + header + data;
}

std::string openError(const std::string &bytes) {
  std::string path = freshDir("st") + "/x.safetensors";
  writeFile(path, bytes);
  try {
    SafetensorsFile::open(path);
    return "";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::Weights);
    return e.what();
  }
}

TEST(Safetensors, WriteAndReadEveryDtype) {
  std::vector<float> f32{1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f};
  std::vector<uint16_t> f16, bf16;
  for (float x : f32) {
    f16.push_back(f32ToF16(x));
    bf16.push_back(f32ToBf16(x));
  }
  std::vector<int64_t> i64{0, -1, 1LL << 40, 255};
  std::string dir = freshDir("every");
  std::string path = dir + "/t.safetensors";
  writeSafetensors(path,
                   {{"a.f32", StDType::F32, {2, 3}, f32.data()},
                    {"b.f16", StDType::F16, {6}, f16.data()},
                    {"c.bf16", StDType::BF16, {3, 2}, bf16.data()},
                    {"d.i64", StDType::I64, {2, 2}, i64.data()}},
                   {{"format", "pt"}});
  auto file = SafetensorsFile::open(path);
  ASSERT_EQ(file->tensors().size(), 4u);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  const StTensor *a = file->find("a.f32");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->dtype, StDType::F32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(readF32(*a), f32);
  std::vector<float> h = readF32(*file->find("b.f16"));
  std::vector<float> b = readF32(*file->find("c.bf16"));
  for (size_t i = 0; i < f32.size(); ++i) {
    EXPECT_NEAR(h[i], f32[i], std::fabs(f32[i]) * 1e-3 + 1e-7);
    EXPECT_NEAR(b[i], f32[i], std::fabs(f32[i]) * 8e-3 + 1e-7);
  }
  EXPECT_EQ(readI64(*file->find("d.i64")), i64);
  EXPECT_EQ(file->find("nope"), nullptr);
  // The reader refuses a float read of ints and vice versa, naming both.
  try {
    readF32(*file->find("d.i64"));
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": tensor 'd.i64': expected dtype F32, F16 or BF16, "
                     "found I64");
  }
  EXPECT_THROW(readI64(*a), Error);
  // The header is padded to a multiple of 8 so the data is aligned.
  std::string bytes = readFile(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, HalfAndBFloatConversions) {
  EXPECT_EQ(f32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(f32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(f32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32ToF16(1e6f), 0x7C00);                  // overflow -> inf
  EXPECT_EQ(f32ToF16(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(f32ToF16(0.0f), 0x0000);
  EXPECT_EQ(f16ToF32(0x3C00), 1.0f);
  EXPECT_EQ(f16ToF32(0x3555), 0.333251953125f);
  EXPECT_EQ(f16ToF32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16ToF32(0x03FF), std::ldexp(1023.0f, -24)); // largest subnormal
  EXPECT_EQ(f16ToF32(0x7BFF), 65504.0f);
  EXPECT_TRUE(std::isinf(f16ToF32(0xFC00)) && f16ToF32(0xFC00) < 0);
  EXPECT_TRUE(std::isnan(f16ToF32(0x7E00)));
  EXPECT_EQ(f16ToF32(0x8000), -0.0f);
  // Every finite f16 survives f16 -> f32 -> f16.
  for (uint32_t bits = 0; bits < 0x10000; ++bits)
    if ((bits & 0x7C00) != 0x7C00) {
      ASSERT_EQ(f32ToF16(f16ToF32(uint16_t(bits))), bits) << bits;
    }

  EXPECT_EQ(f32ToBf16(1.0f), 0x3F80);
  EXPECT_EQ(f32ToBf16(-2.0f), 0xC000);
  EXPECT_EQ(bf16ToF32(0x3F80), 1.0f);
  EXPECT_EQ(bf16ToF32(0x4049), 3.140625f);
  EXPECT_EQ(f32ToBf16(3.14159265f), 0x4049);
  // Round to nearest even at the halfway point.
  uint32_t halfway = 0x3F808000u; // 1.00390625: halfway between 0x3F80, 0x3F81
  float x;
  std::memcpy(&x, &halfway, 4);
  EXPECT_EQ(f32ToBf16(x), 0x3F80);
  for (uint32_t bits = 0; bits < 0x10000; ++bits)
    if ((bits & 0x7F80) != 0x7F80) {
      ASSERT_EQ(f32ToBf16(bf16ToF32(uint16_t(bits))), bits) << bits;
    }
}

TEST(Safetensors, RejectsBadFiles) {
  std::string tensor4 = std::string(16, '\0');
  EXPECT_NE(openError("abc").find("not a safetensors file: 3 bytes"),
            std::string::npos);
  EXPECT_NE(openError(rawFile("{}", "").substr(0, 8) + "{")
                .find("header length 2 exceeds the 1 bytes after it"),
            std::string::npos);
  EXPECT_NE(openError(rawFile("{\"a\": ", ""))
                .find("invalid safetensors "
                      "header JSON"),
            std::string::npos);
  EXPECT_NE(openError(rawFile("[1, 2]", "")).find("expected a JSON object"),
            std::string::npos);
  EXPECT_NE(
      openError(
          rawFile(
              R"({"w": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}})",
              std::string(8, '\0')))
          .find("tensor 'w': unknown dtype 'F33'"),
      std::string::npos);
  EXPECT_NE(
      openError(
          rawFile(
              R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 32]}})",
              tensor4))
          .find("tensor 'w': data_offsets [0, 32] are outside the data buffer "
                "(16 bytes)"),
      std::string::npos);
  EXPECT_NE(
      openError(
          rawFile(
              R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})",
              tensor4))
          .find("tensor 'w': data_offsets cover 16 bytes but shape [3] F32 "
                "needs 12"),
      std::string::npos);
  EXPECT_NE(
      openError(
          rawFile(
              R"({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})",
              tensor4))
          .find("has an entry that is not a non-negative integer"),
      std::string::npos);
  EXPECT_NE(
      openError(rawFile(R"({"w": {"dtype": "F32", "shape": [4]}})", tensor4))
          .find("tensor 'w': missing 'data_offsets'"),
      std::string::npos);
  EXPECT_NE(
      openError(
          rawFile(
              R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [8, 4]}})",
              tensor4))
          .find("are outside the data buffer"),
      std::string::npos);
  EXPECT_NE(
      openError(
          rawFile(
              R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
                           "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
              tensor4))
          .find("tensors 'a' and 'b' overlap"),
      std::string::npos);
  // A valid hand-written file for contrast.
  EXPECT_EQ(
      openError(rawFile(
          R"({"__metadata__": {"k": "v"}, "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}})",
          tensor4)),
      "");
}

TEST(Safetensors, FoldersAndStores) {
  std::vector<float> one{1}, two{2, 2};
  // A folder with model.safetensors uses only that file (not golden.*).
  std::string dir = freshDir("folder");
  writeSafetensors(dir + "/model.safetensors",
                   {{"x", StDType::F32, {1}, one.data()}});
  writeSafetensors(dir + "/golden.safetensors",
                   {{"logits", StDType::F32, {2}, two.data()}});
  TensorStore store = TensorStore::open(dir);
  EXPECT_TRUE(store.find("x"));
  EXPECT_FALSE(store.find("logits"));
  // Shards listed by an index.
  std::string sharded = freshDir("sharded");
  writeSafetensors(sharded + "/a.safetensors",
                   {{"x", StDType::F32, {1}, one.data()}});
  writeSafetensors(sharded + "/b.safetensors",
                   {{"y", StDType::F32, {2}, two.data()}});
  writeFile(sharded + "/model.safetensors.index.json",
            R"({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})");
  TensorStore s2 = TensorStore::open(sharded);
  EXPECT_EQ(s2.size(), 2u);
  EXPECT_EQ(readF32(*s2.find("y")), two);
  // Without an index, every *.safetensors file; a duplicate name is an error.
  std::filesystem::remove(sharded + "/model.safetensors.index.json");
  EXPECT_EQ(TensorStore::open(sharded).size(), 2u);
  writeSafetensors(sharded + "/c.safetensors",
                   {{"y", StDType::F32, {1}, one.data()}});
  try {
    TensorStore::open(sharded);
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'y' is in both"),
              std::string::npos);
  }
  std::string empty = freshDir("empty");
  EXPECT_THROW(TensorStore::open(empty), Error);
  EXPECT_THROW(TensorStore::open(empty + "/missing.safetensors"), Error);
}

/// Golden files: the project's copies (test/data/goldens/*/golden.safetensors)
/// when present, else one written here with the same layout.
TEST(Safetensors, GoldenFiles) {
  namespace fs = std::filesystem;
  std::vector<std::string> goldens;
  fs::path root = fs::path(BRAID_SOURCE_DIR) / "test" / "data" / "goldens";
  std::error_code ec;
  if (fs::is_directory(root, ec))
    for (const fs::directory_entry &d : fs::directory_iterator(root, ec))
      if (fs::exists(d.path() / "golden.safetensors"))
        goldens.push_back((d.path() / "golden.safetensors").string());
  if (goldens.empty()) {
    // Same tensors as the goldens: input_ids [2, 37], logits [2, 37, 256],
    // generated [2, 43].
    std::vector<int64_t> ids(2 * 37), generated(2 * 43);
    std::vector<float> logits(2 * 37 * 256);
    for (size_t i = 0; i < ids.size(); ++i)
      ids[i] = int64_t(i * 7 % 256);
    for (size_t i = 0; i < generated.size(); ++i)
      generated[i] = int64_t(i * 11 % 256);
    for (size_t i = 0; i < logits.size(); ++i)
      logits[i] = float(std::sin(double(i)));
    std::string path = freshDir("golden") + "/golden.safetensors";
    writeSafetensors(path,
                     {{"input_ids", StDType::I64, {2, 37}, ids.data()},
                      {"logits", StDType::F32, {2, 37, 256}, logits.data()},
                      {"generated", StDType::I64, {2, 43}, generated.data()}});
    goldens.push_back(path);
  }
  for (const std::string &path : goldens) {
    SCOPED_TRACE(path);
    auto f = SafetensorsFile::open(path);
    const StTensor *ids = f->find("input_ids");
    const StTensor *logits = f->find("logits");
    const StTensor *generated = f->find("generated");
    ASSERT_TRUE(ids && logits && generated);
    EXPECT_EQ(ids->dtype, StDType::I64);
    EXPECT_EQ(logits->dtype, StDType::F32);
    ASSERT_EQ(ids->shape.size(), 2u);
    ASSERT_EQ(logits->shape.size(), 3u);
    EXPECT_EQ(logits->shape[0], ids->shape[0]);
    EXPECT_EQ(logits->shape[1], ids->shape[1]);
    EXPECT_EQ(generated->shape[0], ids->shape[0]);
    EXPECT_GT(generated->shape[1], ids->shape[1]);
    std::vector<int64_t> idv = readI64(*ids), gen = readI64(*generated);
    // A real golden's `generated` starts with the prompt.
    int64_t T = ids->shape[1], G = generated->shape[1];
    if (path.find("data/goldens") != std::string::npos) {
      for (int64_t b = 0; b < ids->shape[0]; ++b)
        for (int64_t t = 0; t < T; ++t)
          ASSERT_EQ(gen[size_t(b * G + t)], idv[size_t(b * T + t)]);
    }
    std::vector<float> lv = readF32(*logits);
    for (float v : lv)
      ASSERT_TRUE(std::isfinite(v));
  }
}

} // namespace
