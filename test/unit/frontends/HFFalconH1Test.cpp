//===- HFFalconH1Test.cpp - Falcon-H1 import: structure and bindings ------===//

#include "FrontendTestUtils.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

TEST(HFFalconH1, GoldenIsParallelAttentionAndMamba2) {
  ImportedModel model = importOrDie(goldenDir("falconh1_tiny"));
  std::vector<BlockKind> expected = {BlockKind::Parallel, BlockKind::MLP,
                                     BlockKind::Parallel, BlockKind::MLP,
                                     BlockKind::Parallel, BlockKind::MLP};
  EXPECT_EQ(kindsOf(model.spec), expected);
  const Block &parallel = model.spec.blocks[0];
  EXPECT_EQ(parallel.norm.kind, NormKind::RMS);
  const ParallelSpec &p = parallel.as<ParallelSpec>();
  ASSERT_EQ(p.branches.size(), 2u);
  EXPECT_TRUE(p.branches[0].is<AttentionSpec>());
  EXPECT_TRUE(p.branches[1].is<Mamba2Spec>());
  EXPECT_EQ(p.branches[0].prefix, "layers.0.mixer.attention");
  EXPECT_EQ(p.branches[1].prefix, "layers.0.mixer.mamba2");
  EXPECT_EQ(p.merge, MergeMode::Sum);
  EXPECT_EQ(p.multipliers, (std::vector<double>{1.0, 1.0}));
  // Without mamba_rms_norm the scan output is gated by silu(z) only.
  EXPECT_FALSE(p.branches[1].as<Mamba2Spec>().gateNorm);
  EXPECT_EQ(p.branches[0].as<AttentionSpec>().rope.rotaryDim, 16);
}

TEST(HFFalconH1, GoldenBindsEveryTensor) {
  ImportedModel model = importOrDie(goldenDir("falconh1_tiny"));
  EXPECT_EQ(bindingProblems(model, goldenDir("falconh1_tiny")),
            std::vector<std::string>());
  EXPECT_EQ(model.bindings.find("layers.2.mixer.mamba2.A")->describe(),
            "-exp(model.layers.2.mamba.A_log)");
  EXPECT_EQ(model.bindings.find("layers.2.mixer.attention.q_proj")->describe(),
            "model.layers.2.self_attn.q_proj.weight");
  EXPECT_EQ(model.bindings.find("layers.2.mixer.norm")->describe(),
            "model.layers.2.input_layernorm.weight");
}

TEST(HFFalconH1, VariantCarriesEveryMultiplier) {
  ImportedModel model = importOrDie(variantDir("falconh1_norm"));
  const ModelSpec &spec = model.spec;
  EXPECT_EQ(spec.embeddingMultiplier, 3.0);
  EXPECT_EQ(spec.logitsMultiplier, 0.125);
  const ParallelSpec &p = spec.blocks[0].as<ParallelSpec>();
  EXPECT_EQ(p.multipliers, (std::vector<double>{0.9, 1.3}));
  const Block &attention = p.branches[0], &mamba = p.branches[1];
  EXPECT_EQ(attention.inputMultiplier, 0.7);
  EXPECT_EQ(attention.as<AttentionSpec>().keyMultiplier, 0.5);
  EXPECT_EQ(mamba.inputMultiplier, 1.1);
  const Mamba2Spec &m = mamba.as<Mamba2Spec>();
  EXPECT_EQ(m.inProjMultipliers,
            (std::array<double, 5>{0.5, 0.6, 0.7, 0.8, 0.9}));
  EXPECT_EQ(m.dInner(), 48); // mamba_d_ssm, not expand * hidden
  EXPECT_TRUE(m.gateNorm);
  EXPECT_FALSE(m.normBeforeGate);
  EXPECT_EQ(m.gateNormGroupSize, 24); // per group of d_ssm / n_groups
  EXPECT_TRUE(m.inProjBias);
  EXPECT_TRUE(m.outProjBias); // projectors_bias
  const MLPSpec &mlp = spec.blocks[1].as<MLPSpec>();
  EXPECT_EQ(mlp.gateMultiplier, 1.5);
  EXPECT_EQ(mlp.downMultiplier, 0.25);
  EXPECT_EQ(bindingProblems(model, variantDir("falconh1_norm")),
            std::vector<std::string>());
}

TEST(HFFalconH1, DefaultConfigShapes) {
  ImportedModel model = importOrDie(fullConfig("falcon_h1-default"));
  EXPECT_EQ(model.spec.blocks.size(), 64u);
  const ParallelSpec &p = model.spec.blocks[0].as<ParallelSpec>();
  const Mamba2Spec &m = p.branches[1].as<Mamba2Spec>();
  EXPECT_EQ(m.dInner(), 1024); // mamba_d_ssm
  EXPECT_EQ(m.headDim, 8);
  EXPECT_EQ(p.branches[0].as<AttentionSpec>().headDim, 128);
}

} // namespace
