//===- HFNemotronHTest.cpp - Nemotron-H import: structure and bindings ----===//

#include "FrontendTestUtils.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

TEST(HFNemotronH, GoldenPatternIsOneBlockPerLayer) {
  // layers_block_type spells the pattern "M-M*-M".
  ImportedModel model = importOrDie(goldenDir("nemotronh_tiny"));
  std::vector<BlockKind> expected = {BlockKind::Mamba2, BlockKind::MLP,
                                     BlockKind::Mamba2, BlockKind::Attention,
                                     BlockKind::MLP,    BlockKind::Mamba2};
  EXPECT_EQ(kindsOf(model.spec), expected);
  for (auto [i, b] : llvm::enumerate(model.spec.blocks))
    EXPECT_EQ(b.layer, static_cast<int64_t>(i));
  EXPECT_EQ(model.spec.blocks[1].prefix, "layers.1.ffn");
  EXPECT_EQ(model.spec.blocks[3].prefix, "layers.3.mixer");
}

TEST(HFNemotronH, GoldenFamilySemantics) {
  ImportedModel model = importOrDie(goldenDir("nemotronh_tiny"));
  const Mamba2Spec &m = model.spec.blocks[0].as<Mamba2Spec>();
  EXPECT_EQ(m.numGroups, 2);
  EXPECT_EQ(m.gateNormGroupSize, 64); // d_inner 128 / n_groups 2
  EXPECT_EQ(m.dtMin, 0.001);          // clamped at time_step_min
  EXPECT_EQ(m.dtMax, kInfinity);
  EXPECT_EQ(weightShape(model.spec, "layers.0.mixer.conv"),
            (std::vector<int64_t>{192, 4})); // 128 + 2 * 2 * 16
  const AttentionSpec &a = model.spec.blocks[3].as<AttentionSpec>();
  EXPECT_FALSE(a.rope.enabled); // Nemotron-H attention has no rope
  EXPECT_EQ(a.headDim, 16);
  const MLPSpec &mlp = model.spec.blocks[1].as<MLPSpec>();
  EXPECT_FALSE(mlp.gated);
  EXPECT_EQ(mlp.activation, Activation::Relu2);
  EXPECT_EQ(model.spec.finalNorm.eps, 1e-5);
}

TEST(HFNemotronH, GoldenBindsEveryTensor) {
  ImportedModel model = importOrDie(goldenDir("nemotronh_tiny"));
  EXPECT_EQ(bindingProblems(model, goldenDir("nemotronh_tiny")),
            std::vector<std::string>());
  EXPECT_EQ(model.bindings.find("embed")->describe(),
            "backbone.embeddings.weight");
  EXPECT_EQ(model.bindings.find("layers.1.ffn.up_proj")->describe(),
            "backbone.layers.1.mixer.up_proj.weight");
  EXPECT_EQ(model.bindings.find("final_norm")->describe(),
            "backbone.norm_f.weight");
}

TEST(HFNemotronH, MoEVariantStacksExperts) {
  ImportedModel model = importOrDie(variantDir("nemotronh_moe"));
  ASSERT_EQ(model.spec.blocks.size(), 4u);
  const MoESpec &moe = model.spec.blocks[1].as<MoESpec>();
  EXPECT_EQ(moe.routing, MoERouting::SigmoidTopK);
  EXPECT_TRUE(moe.selectionBias);
  EXPECT_TRUE(moe.normalizeTopK);
  EXPECT_FALSE(moe.gatedExperts);
  EXPECT_EQ(moe.numGroups, 2);
  EXPECT_EQ(moe.topKGroups, 1);
  EXPECT_EQ(moe.sharedIntermediate, 40);
  EXPECT_FALSE(moe.sharedGated);
  EXPECT_EQ(model.spec.blocks[2].as<AttentionSpec>().headDim, 8);
  EXPECT_EQ(weightShape(model.spec, "layers.1.ffn.experts.up_proj"),
            (std::vector<int64_t>{4, 24, 32}));
  EXPECT_EQ(bindingProblems(model, variantDir("nemotronh_moe")),
            std::vector<std::string>());
  EXPECT_EQ(model.bindings.find("layers.1.ffn.selection_bias")->describe(),
            "backbone.layers.1.mixer.gate.e_score_correction_bias");
}

TEST(HFNemotronH, LegacyPatternStringGivesTheSameSpec) {
  // Older configs spell the stack as hybrid_override_pattern.
  ImportedModel fromList = importOrDie(goldenDir("nemotronh_tiny"));
  auto buffer =
      llvm::MemoryBuffer::getFile(goldenDir("nemotronh_tiny") + "/config.json");
  ASSERT_TRUE(bool(buffer));
  std::string text = (*buffer)->getBuffer().str();
  size_t start = text.find("\"layers_block_type\"");
  size_t end = text.find(']', start);
  text.replace(start, end + 1 - start,
               "\"hybrid_override_pattern\": \"M-M*-M\"");
  auto fromPattern = importText(text);
  ASSERT_TRUE(bool(fromPattern)) << llvm::toString(fromPattern.takeError());
  fromPattern->spec.name = fromList.spec.name;
  EXPECT_EQ(firstDifference(fromList.spec, fromPattern->spec), "");
}

TEST(HFNemotronH, DefaultConfigHasEveryBlockKind) {
  ImportedModel model = importOrDie(fullConfig("nemotron_h-default"));
  std::vector<BlockKind> expected = {BlockKind::Mamba2, BlockKind::MoE,
                                     BlockKind::Attention, BlockKind::MLP};
  EXPECT_EQ(kindsOf(model.spec), expected);
  EXPECT_EQ(model.spec.blocks[2].as<AttentionSpec>().headDim, 128);
  EXPECT_EQ(model.spec.blocks[0].as<Mamba2Spec>().gateNormGroupSize,
            128 * 64 / 8);
}

} // namespace
