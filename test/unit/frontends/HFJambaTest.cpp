//===- HFJambaTest.cpp - Jamba import: structure and bindings -------------===//

#include "FrontendTestUtils.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

TEST(HFJamba, GoldenPeriodsPlaceAttentionAndExperts) {
  // attn period 2 offset 1, expert period 2 offset 1.
  ImportedModel model = importOrDie(goldenDir("jamba_tiny"));
  std::vector<BlockKind> expected = {
      BlockKind::Mamba, BlockKind::MLP, BlockKind::Attention, BlockKind::MoE,
      BlockKind::Mamba, BlockKind::MLP, BlockKind::Attention, BlockKind::MoE};
  EXPECT_EQ(kindsOf(model.spec), expected);
}

TEST(HFJamba, GoldenMamba1HasDtRankAndNorms) {
  ImportedModel model = importOrDie(goldenDir("jamba_tiny"));
  const MambaSpec &m = model.spec.blocks[0].as<MambaSpec>();
  EXPECT_EQ(m.dInner, 128);
  EXPECT_EQ(m.stateSize, 8);
  EXPECT_EQ(m.dtRank, 8);
  EXPECT_TRUE(m.dtBCNorm);
  EXPECT_EQ(m.dtBCNormEps, 1e-6);
  EXPECT_EQ(weightShape(model.spec, "layers.0.mixer.x_proj"),
            (std::vector<int64_t>{8 + 2 * 8, 128}));
  EXPECT_EQ(weightShape(model.spec, "layers.0.mixer.A"),
            (std::vector<int64_t>{128, 8}));
  const AttentionSpec &a = model.spec.blocks[2].as<AttentionSpec>();
  EXPECT_FALSE(a.rope.enabled);
  const MoESpec &moe = model.spec.blocks[3].as<MoESpec>();
  EXPECT_EQ(moe.numExperts, 4);
  EXPECT_EQ(moe.topK, 2);
  EXPECT_EQ(moe.routing, MoERouting::SoftmaxTopK);
  EXPECT_FALSE(moe.normalizeTopK);
  EXPECT_EQ(moe.sharedIntermediate, 0);
}

TEST(HFJamba, GoldenBindsEveryTensor) {
  ImportedModel model = importOrDie(goldenDir("jamba_tiny"));
  EXPECT_EQ(bindingProblems(model, goldenDir("jamba_tiny")),
            std::vector<std::string>());
  const WeightBinding *experts =
      model.bindings.find("layers.1.ffn.experts.gate_up_proj");
  ASSERT_NE(experts, nullptr);
  EXPECT_EQ(experts->shape, (std::vector<int64_t>{4, 256, 64}));
  EXPECT_EQ(experts->transform.combine,
            WeightTransform::Combine::StackOfConcat);
  EXPECT_EQ(experts->sources.size(), 8u);
  EXPECT_EQ(experts->sources[0].tensor,
            "model.layers.1.feed_forward.experts.0.gate_proj.weight");
  EXPECT_EQ(experts->sources[1].tensor,
            "model.layers.1.feed_forward.experts.0.up_proj.weight");
  EXPECT_EQ(model.bindings.find("layers.0.mixer.dt_bias")->describe(),
            "model.layers.0.mamba.dt_proj.bias");
}

TEST(HFJamba, OtherPeriodsAndAutoDtRank) {
  // attn period 4 offset 2, experts on even layers, 3 experts.
  ImportedModel model = importOrDie(variantDir("jamba_periods"));
  ASSERT_EQ(model.spec.blocks.size(), 16u);
  for (int64_t layer = 0; layer < 8; ++layer) {
    const Block &mixer = model.spec.blocks[2 * layer];
    const Block &ffn = model.spec.blocks[2 * layer + 1];
    EXPECT_EQ(mixer.is<AttentionSpec>(), layer % 4 == 2) << layer;
    EXPECT_EQ(ffn.is<MoESpec>(), layer % 2 == 0) << layer;
  }
  EXPECT_EQ(model.spec.blocks[0].as<MambaSpec>().dtRank, 2); // ceil(32/16)
  EXPECT_EQ(bindingProblems(model, variantDir("jamba_periods")),
            std::vector<std::string>());
}

TEST(HFJamba, DefaultConfigIsOneToSeven) {
  ImportedModel model = importOrDie(fullConfig("jamba-default"));
  int attention = 0, mamba = 0, moe = 0;
  for (const Block &b : model.spec.blocks) {
    attention += b.is<AttentionSpec>();
    mamba += b.is<MambaSpec>();
    moe += b.is<MoESpec>();
  }
  EXPECT_EQ(attention, 4);
  EXPECT_EQ(mamba, 28);
  EXPECT_EQ(moe, 16);
  EXPECT_EQ(model.spec.blocks[8].layer, 4);
  EXPECT_TRUE(model.spec.blocks[8].is<AttentionSpec>());
}

} // namespace
