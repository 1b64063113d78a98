//===- ModelLoaderTest.cpp - one entry point for every kind of input ------===//

#include "FrontendTestUtils.h"

#include "compiler/frontends/ModelLoader.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

TEST(ModelLoader, ClassifiesByPath) {
  EXPECT_EQ(classifyInput(goldenDir("bamba_tiny")), InputKind::HFConfig);
  EXPECT_EQ(classifyInput("x/config.json"), InputKind::HFConfig);
  EXPECT_EQ(classifyInput("m.braid"), InputKind::BraidDSL);
  EXPECT_EQ(classifyInput("m.onnx"), InputKind::ONNX);
  EXPECT_EQ(classifyInput("m.txt"), InputKind::Unknown);
}

TEST(ModelLoader, FolderAndConfigFileGiveTheSameModel) {
  auto folder = loadModel(goldenDir("zamba2_tiny"));
  auto file = loadModel(goldenDir("zamba2_tiny") + "/config.json");
  ASSERT_TRUE(bool(folder)) << llvm::toString(folder.takeError());
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ(firstDifference(folder->spec, file->spec), "");
  EXPECT_EQ(folder->spec.name, "zamba2_tiny");
  EXPECT_EQ(folder->bindings.bindings.size(), file->bindings.bindings.size());
  EXPECT_FALSE(folder->bindings.bindings.empty());
}

TEST(ModelLoader, DSLHasNoBindings) {
  auto model = loadModel(sourcePath("examples/jamba_style.braid"));
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->kind, InputKind::BraidDSL);
  EXPECT_EQ(model->spec.name, "jamba_style");
  EXPECT_TRUE(model->bindings.bindings.empty());
}

TEST(ModelLoader, UnsupportedInputsSayWhy) {
  EXPECT_EQ(errorOf(loadModel("model.onnx")),
            "model.onnx: error: an ONNX model has no architecture spec: it is "
            "imported straight to braid IR (braidc, compiler/frontends/onnx/)");
  EXPECT_EQ(errorOf(loadModel("model.txt")),
            "model.txt: error: unknown kind of input: expected a .braid file, "
            "a config.json (or other .json config), a folder holding a "
            "config.json, or an .onnx file");
}

} // namespace
