//===- SafetensorsTest.cpp - headers, shards and binding checks -----------===//

#include "FrontendTestUtils.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

/// A fresh folder under the system temp dir, removed at the end.
class TempDir {
public:
  TempDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("braid-st", path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }

private:
  llvm::SmallString<256> path;
};

/// Writes a safetensors file: 8-byte length, `header`, `dataBytes` zeros.
void writeSafetensors(const std::string &path, const std::string &header,
                      size_t dataBytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec);
  uint64_t size = header.size();
  for (int i = 0; i < 8; ++i)
    os << static_cast<char>((size >> (8 * i)) & 0xff);
  os << header << std::string(dataBytes, '\0');
}

TEST(Safetensors, ReadsTheGoldenHeader) {
  auto index = readSafetensors(goldenDir("bamba_tiny") + "/model.safetensors");
  ASSERT_TRUE(bool(index)) << llvm::toString(index.takeError());
  EXPECT_EQ(index->tensors().size(), 51u);
  const TensorInfo *conv = index->find("model.layers.0.mamba.conv1d.weight");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->dtype, "F32");
  EXPECT_EQ(conv->shape, (std::vector<int64_t>{160, 1, 4}));
  EXPECT_EQ(conv->dataEnd - conv->dataBegin, 160u * 4 * 4);
  EXPECT_EQ(index->find("__metadata__"), nullptr);
}

TEST(Safetensors, FolderReadsModelSafetensors) {
  // The golden folders also hold other files; only model.safetensors counts.
  auto index = readSafetensors(goldenDir("jamba_tiny"));
  ASSERT_TRUE(bool(index)) << llvm::toString(index.takeError());
  EXPECT_EQ(index->tensors().size(), 75u);
}

TEST(Safetensors, ShardedFolderFollowsTheIndex) {
  TempDir dir;
  writeSafetensors(dir.file("model-00001-of-00002.safetensors"),
                   R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                   8);
  std::string secondHeader =
      R"({"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}})";
  writeSafetensors(dir.file("model-00002-of-00002.safetensors"), secondHeader,
                   8);
  std::error_code ec;
  llvm::raw_fd_ostream index(dir.file("model.safetensors.index.json"), ec);
  index << R"({"metadata": {}, "weight_map": {)"
        << R"("a": "model-00001-of-00002.safetensors",)"
        << R"("b": "model-00002-of-00002.safetensors"}})";
  index.close();
  auto read = readSafetensors(dir.file(""));
  ASSERT_TRUE(bool(read)) << llvm::toString(read.takeError());
  ASSERT_EQ(read->tensors().size(), 2u);
  EXPECT_EQ(read->find("b")->dtype, "BF16");
  EXPECT_EQ(read->find("b")->dataBegin, 8 + secondHeader.size());
}

TEST(Safetensors, RejectsOffsetsThatDisagreeWithTheShape) {
  TempDir dir;
  std::string path = dir.file("bad.safetensors");
  writeSafetensors(
      path, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  EXPECT_EQ(errorOf(readSafetensors(path)),
            path + ": error: tensor 'w' [3] F32 needs 12 bytes, its offsets "
                   "span 8");
}

TEST(BindingCheck, ReportsEveryKindOfProblem) {
  ImportedModel model = importOrDie(goldenDir("bamba_tiny"));
  auto golden = readSafetensors(goldenDir("bamba_tiny"));
  ASSERT_TRUE(bool(golden));
  // Rebuild the index with one tensor reshaped, one retyped, one dropped and
  // one stranger added.
  TensorIndex edited;
  edited.setSource("edited.safetensors");
  for (TensorInfo info : golden->tensors()) {
    info.file = "edited.safetensors";
    if (info.name == "model.layers.1.self_attn.k_proj.weight")
      info.shape = {64, 64};
    if (info.name == "model.layers.0.mamba.D")
      info.dtype = "BF16";
    if (info.name == "model.layers.2.mamba.dt_bias")
      continue;
    ASSERT_FALSE(bool(edited.add(info)));
  }
  TensorInfo stranger = *golden->find("model.final_layernorm.weight");
  stranger.name = "model.extra_norm.weight";
  stranger.file = "edited.safetensors";
  ASSERT_FALSE(bool(edited.add(stranger)));

  std::vector<std::string> messages;
  for (const BindingProblem &p : findBindingProblems(model.bindings, edited))
    messages.push_back(p.message());
  std::vector<std::string> expected = {
      "edited.safetensors: error: tensor 'model.layers.0.mamba.D' (for IR "
      "weight 'layers.0.mixer.D'): expected dtype F32, found BF16",
      "edited.safetensors: error: tensor "
      "'model.layers.1.self_attn.k_proj.weight' (for IR weight "
      "'layers.1.mixer.k_proj'): expected shape [32, 64], found [64, 64]",
      "edited.safetensors: error: missing tensor "
      "'model.layers.2.mamba.dt_bias' (for IR weight "
      "'layers.2.mixer.dt_bias'), expected [8] F32",
      "edited.safetensors: error: tensor 'model.extra_norm.weight' [64] F32 "
      "is not bound to any IR weight"};
  EXPECT_EQ(messages, expected);
  // checkBindings reports the same problems, one line each.
  std::string all = errorOf(checkBindings(model.bindings, edited));
  EXPECT_EQ(all, llvm::join(expected, "\n"));
}

} // namespace
