//===- HFBambaTest.cpp - Bamba import: structure and bindings -------------===//

#include "FrontendTestUtils.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

TEST(HFBamba, GoldenStackAlternatesMixersAndMLPs) {
  ImportedModel model = importOrDie(goldenDir("bamba_tiny"));
  const ModelSpec &spec = model.spec;
  EXPECT_EQ(spec.name, "bamba_tiny");
  EXPECT_EQ(spec.vocabSize, 256);
  EXPECT_EQ(spec.hiddenSize, 64);
  EXPECT_FALSE(spec.tieWordEmbeddings);
  // attn_layer_indices = [1]: layer 1 is attention, every layer has an MLP.
  std::vector<BlockKind> expected = {
      BlockKind::Mamba2, BlockKind::MLP, BlockKind::Attention, BlockKind::MLP,
      BlockKind::Mamba2, BlockKind::MLP, BlockKind::Mamba2,    BlockKind::MLP};
  EXPECT_EQ(kindsOf(spec), expected);
  EXPECT_EQ(spec.blocks[2].prefix, "layers.1.mixer");
  EXPECT_EQ(spec.blocks[3].prefix, "layers.1.ffn");
  EXPECT_EQ(spec.blocks[3].layer, 1);
}

TEST(HFBamba, GoldenAttentionHasHalfRotary) {
  ImportedModel model = importOrDie(goldenDir("bamba_tiny"));
  const AttentionSpec &a = model.spec.blocks[2].as<AttentionSpec>();
  EXPECT_EQ(a.numHeads, 4);
  EXPECT_EQ(a.numKVHeads, 2);
  EXPECT_EQ(a.headDim, 16);
  ASSERT_TRUE(a.rope.enabled);
  EXPECT_EQ(a.rope.rotaryDim, 8); // partial_rotary_factor 0.5 of 16
  EXPECT_EQ(a.rope.theta, 10000.0);
  EXPECT_DOUBLE_EQ(a.scale, 0.25);
  EXPECT_EQ(model.spec.blocks[2].norm.kind, NormKind::RMS);
  EXPECT_EQ(model.spec.blocks[2].norm.eps, 1e-5);
}

TEST(HFBamba, GoldenMamba2Settings) {
  ImportedModel model = importOrDie(goldenDir("bamba_tiny"));
  const Mamba2Spec &m = model.spec.blocks[0].as<Mamba2Spec>();
  EXPECT_EQ(m.numHeads, 8);
  EXPECT_EQ(m.headDim, 16);
  EXPECT_EQ(m.numGroups, 1);
  EXPECT_EQ(m.stateSize, 16);
  EXPECT_EQ(m.chunkSize, 16);
  EXPECT_EQ(m.convKernel, 4);
  EXPECT_TRUE(m.convBias);
  EXPECT_FALSE(m.inProjBias);
  EXPECT_EQ(m.dtMin, 0.0);
  EXPECT_EQ(m.dtMax, kInfinity); // {"__float__": "Infinity"}
  EXPECT_TRUE(m.gateNorm);
  EXPECT_FALSE(m.normBeforeGate);
  EXPECT_EQ(m.gateNormGroupSize, 128); // Bamba normalizes all of d_inner
  // [z, x, B, C, dt] = 128 + 128 + 16 + 16 + 8.
  EXPECT_EQ(weightShape(model.spec, "layers.0.mixer.in_proj"),
            (std::vector<int64_t>{296, 64}));
}

TEST(HFBamba, GoldenBindsEveryTensor) {
  ImportedModel model = importOrDie(goldenDir("bamba_tiny"));
  EXPECT_EQ(bindingProblems(model, goldenDir("bamba_tiny")),
            std::vector<std::string>());
  auto index = readSafetensors(goldenDir("bamba_tiny"));
  ASSERT_TRUE(bool(index)) << llvm::toString(index.takeError());
  EXPECT_EQ(boundTensorCount(model.bindings), index->tensors().size());
}

TEST(HFBamba, GoldenTransforms) {
  ImportedModel model = importOrDie(goldenDir("bamba_tiny"));
  const BindingTable &t = model.bindings;
  ASSERT_NE(t.find("layers.0.mixer.A"), nullptr);
  EXPECT_EQ(t.find("layers.0.mixer.A")->describe(),
            "-exp(model.layers.0.mamba.A_log)");
  EXPECT_EQ(t.find("layers.0.mixer.conv")->describe(),
            "reshape(model.layers.0.mamba.conv1d.weight, [160, 4])");
  EXPECT_EQ(t.find("layers.0.ffn.gate_up_proj")->describe(),
            "concat0(model.layers.0.feed_forward.gate_proj.weight, "
            "model.layers.0.feed_forward.up_proj.weight)");
  EXPECT_EQ(t.find("layers.1.mixer.norm")->describe(),
            "model.layers.1.input_layernorm.weight");
  EXPECT_EQ(t.find("final_norm")->describe(), "model.final_layernorm.weight");
}

TEST(HFBamba, ReferenceModelPutsAttentionAtFourLayers) {
  ImportedModel model = importOrDie(fullConfig("bamba-1.5b"));
  std::vector<int64_t> attentionLayers;
  for (const Block &b : model.spec.blocks)
    if (b.is<AttentionSpec>())
      attentionLayers.push_back(b.layer);
  EXPECT_EQ(attentionLayers, (std::vector<int64_t>{5, 11, 17, 23}));
  EXPECT_EQ(model.spec.blocks.size(), 48u);
  const Mamba2Spec &m = model.spec.blocks[0].as<Mamba2Spec>();
  EXPECT_EQ(m.numHeads, 64);
  EXPECT_EQ(m.headDim, 64);
  EXPECT_EQ(m.stateSize, 128);
  EXPECT_EQ(m.chunkSize, 256);
  // 2 * 4096 + 2 * 1 * 128 + 64 rows.
  EXPECT_EQ(weightShape(model.spec, "layers.0.mixer.in_proj"),
            (std::vector<int64_t>{8512, 2048}));
  EXPECT_EQ(weightShape(model.spec, "layers.5.mixer.k_proj"),
            (std::vector<int64_t>{8 * 128, 2048}));
  EXPECT_EQ(weightShape(model.spec, "layers.0.ffn.gate_up_proj"),
            (std::vector<int64_t>{2 * 5632, 2048}));
}

TEST(HFBamba, DefaultConfigHasNoAttention) {
  // attn_layer_indices is null in BambaConfig's defaults.
  ImportedModel model = importOrDie(fullConfig("bamba-default"));
  for (const Block &b : model.spec.blocks)
    EXPECT_FALSE(b.is<AttentionSpec>()) << b.prefix;
}

} // namespace
