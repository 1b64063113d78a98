//===- HFGraniteMoeHybridTest.cpp - GraniteMoeHybrid import ---------------===//

#include "FrontendTestUtils.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

TEST(HFGraniteMoeHybrid, GoldenLayerTypesAndSharedExperts) {
  ImportedModel model = importOrDie(goldenDir("granitehybrid_tiny"));
  std::vector<BlockKind> expected = {
      BlockKind::Mamba2, BlockKind::MoE, BlockKind::Attention, BlockKind::MoE,
      BlockKind::Mamba2, BlockKind::MoE, BlockKind::Mamba2,    BlockKind::MoE};
  EXPECT_EQ(kindsOf(model.spec), expected);
  const MoESpec &moe = model.spec.blocks[1].as<MoESpec>();
  EXPECT_EQ(moe.numExperts, 4);
  EXPECT_EQ(moe.topK, 2);
  EXPECT_EQ(moe.routing, MoERouting::TopKSoftmax);
  EXPECT_EQ(moe.sharedIntermediate, 64);
  EXPECT_TRUE(moe.sharedGated);
  // position_embedding_type is null: no rope; scale is attention_multiplier.
  const AttentionSpec &a = model.spec.blocks[2].as<AttentionSpec>();
  EXPECT_FALSE(a.rope.enabled);
  EXPECT_EQ(a.scale, 1.0);
  EXPECT_EQ(model.spec.finalNorm.eps, 1e-6);
}

TEST(HFGraniteMoeHybrid, GoldenBindsEveryTensor) {
  ImportedModel model = importOrDie(goldenDir("granitehybrid_tiny"));
  EXPECT_EQ(bindingProblems(model, goldenDir("granitehybrid_tiny")),
            std::vector<std::string>());
  EXPECT_EQ(
      model.bindings.find("layers.0.ffn.experts.gate_up_proj")->describe(),
      "model.layers.0.block_sparse_moe.input_linear.weight");
  EXPECT_EQ(
      model.bindings.find("layers.0.ffn.shared_expert.down_proj")->describe(),
      "model.layers.0.shared_mlp.output_linear.weight");
  EXPECT_EQ(model.bindings.find("layers.0.ffn.norm")->describe(),
            "model.layers.0.post_attention_layernorm.weight");
}

TEST(HFGraniteMoeHybrid, DenseVariantWithRopeAndMultipliers) {
  ImportedModel model = importOrDie(variantDir("granite_dense_rope"));
  const ModelSpec &spec = model.spec;
  std::vector<BlockKind> expected = {BlockKind::Mamba2,    BlockKind::MLP,
                                     BlockKind::Attention, BlockKind::MLP,
                                     BlockKind::Mamba2,    BlockKind::MLP};
  EXPECT_EQ(kindsOf(spec), expected);
  EXPECT_EQ(spec.embeddingMultiplier, 2.0);
  EXPECT_EQ(spec.logitsMultiplier, 0.25); // 1 / logits_scaling
  for (const Block &b : spec.blocks)
    EXPECT_EQ(b.residualMultiplier, 0.5) << b.prefix;
  const AttentionSpec &a = spec.blocks[2].as<AttentionSpec>();
  EXPECT_TRUE(a.rope.enabled);
  EXPECT_EQ(a.rope.rotaryDim, 8);
  EXPECT_EQ(a.scale, 0.3);
  EXPECT_EQ(spec.blocks[1].as<MLPSpec>().intermediate, 48);
  EXPECT_EQ(spec.blocks[0].as<Mamba2Spec>().gateNormGroupSize, 64);
  EXPECT_EQ(bindingProblems(model, variantDir("granite_dense_rope")),
            std::vector<std::string>());
}

TEST(HFGraniteMoeHybrid, DefaultConfigIsAllMamba2) {
  ImportedModel model = importOrDie(fullConfig("granitemoehybrid-default"));
  EXPECT_EQ(model.spec.blocks.size(), 64u);
  for (size_t i = 0; i < model.spec.blocks.size(); i += 2)
    EXPECT_TRUE(model.spec.blocks[i].is<Mamba2Spec>());
}

} // namespace
