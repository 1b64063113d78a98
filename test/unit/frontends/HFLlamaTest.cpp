//===- HFLlamaTest.cpp - plain Llama import -------------------------------===//

#include "FrontendTestUtils.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

TEST(HFLlama, TinyWithBiases) {
  ImportedModel model = importOrDie(variantDir("llama_tiny"));
  std::vector<BlockKind> expected = {BlockKind::Attention, BlockKind::MLP,
                                     BlockKind::Attention, BlockKind::MLP};
  EXPECT_EQ(kindsOf(model.spec), expected);
  const AttentionSpec &a = model.spec.blocks[0].as<AttentionSpec>();
  EXPECT_TRUE(a.qkvBias);
  EXPECT_TRUE(a.oBias);
  EXPECT_EQ(a.headDim, 8);
  EXPECT_EQ(a.rope.rotaryDim, 8);
  EXPECT_EQ(bindingProblems(model, variantDir("llama_tiny")),
            std::vector<std::string>());
  EXPECT_EQ(model.bindings.find("layers.0.mixer.k_proj_bias")->describe(),
            "model.layers.0.self_attn.k_proj.bias");
  EXPECT_EQ(model.bindings.find("layers.1.ffn.norm")->describe(),
            "model.layers.1.post_attention_layernorm.weight");
}

TEST(HFLlama, TiedEmbeddingsAndExplicitHeadDim) {
  ImportedModel model = importOrDie(variantDir("llama_tied"));
  EXPECT_TRUE(model.spec.tieWordEmbeddings);
  const AttentionSpec &a = model.spec.blocks[0].as<AttentionSpec>();
  EXPECT_EQ(a.headDim, 16); // head_dim, not hidden / heads = 8
  EXPECT_EQ(a.numKVHeads, 1);
  EXPECT_EQ(weightShape(model.spec, "layers.0.mixer.o_proj"),
            (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(model.bindings.find("lm_head"), nullptr);
  EXPECT_EQ(model.bindings.find("embed")->tiedAliases,
            (std::vector<std::string>{"lm_head.weight"}));
  EXPECT_EQ(bindingProblems(model, variantDir("llama_tied")),
            std::vector<std::string>());
}

TEST(HFLlama, DefaultConfig) {
  ImportedModel model = importOrDie(fullConfig("llama-default"));
  EXPECT_EQ(model.spec.blocks.size(), 64u);
  EXPECT_EQ(weightShape(model.spec, "layers.31.ffn.gate_up_proj"),
            (std::vector<int64_t>{2 * 11008, 4096}));
  EXPECT_EQ(model.spec.name, "llama-default");
}

} // namespace
