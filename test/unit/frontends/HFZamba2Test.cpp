//===- HFZamba2Test.cpp - Zamba2 import: shared blocks and adapters -------===//

#include "FrontendTestUtils.h"

#include <algorithm>
#include <cmath>

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

TEST(HFZamba2, GoldenHybridLayersInvokeSharedBlocks) {
  ImportedModel model = importOrDie(goldenDir("zamba2_tiny"));
  const ModelSpec &spec = model.spec;
  std::vector<BlockKind> expected = {BlockKind::Mamba2, BlockKind::Shared,
                                     BlockKind::Mamba2, BlockKind::Mamba2,
                                     BlockKind::Shared, BlockKind::Mamba2};
  EXPECT_EQ(kindsOf(spec), expected);
  // num_mem_blocks 2: the two hybrid layers use definitions 0 and 1.
  ASSERT_EQ(spec.sharedDefinitions.size(), 2u);
  const SharedSpec &first = spec.blocks[1].as<SharedSpec>();
  const SharedSpec &second = spec.blocks[4].as<SharedSpec>();
  EXPECT_EQ(first.definition, 0u);
  EXPECT_EQ(second.definition, 1u);
  EXPECT_TRUE(first.concatEmbeddings);
  EXPECT_TRUE(first.outputLinear);
  EXPECT_EQ(first.output, SharedSpec::Output::NextInput);
  EXPECT_FALSE(spec.blocks[1].residual);
  ASSERT_EQ(first.adapters.size(), 1u);
  EXPECT_EQ(first.adapters[0].projection, "gate_up_proj");
  EXPECT_EQ(first.adapters[0].rank, 8);
  EXPECT_EQ(spec.blocks[1].prefix, "layers.1.shared");
  EXPECT_EQ(spec.blocks[2].prefix, "layers.1.mixer");
}

TEST(HFZamba2, GoldenSharedTransformerSemantics) {
  ImportedModel model = importOrDie(goldenDir("zamba2_tiny"));
  const SharedDefinition &d = model.spec.sharedDefinitions[0];
  ASSERT_EQ(d.blocks.size(), 2u);
  const AttentionSpec &a = d.blocks[0].as<AttentionSpec>();
  EXPECT_EQ(a.inputDim, 128); // concat(hidden, embeddings)
  EXPECT_EQ(a.outputDim, 64);
  EXPECT_EQ(a.headDim, 32);    // 2 * hidden / heads
  EXPECT_EQ(a.scale, 0.25);    // (head_dim / 2)^-0.5
  EXPECT_TRUE(a.rope.enabled); // use_mem_rope
  EXPECT_FALSE(d.blocks[0].residual);
  EXPECT_FALSE(d.blocks[1].residual);
  EXPECT_EQ(d.blocks[1].as<MLPSpec>().activation, Activation::Gelu);
  EXPECT_EQ(d.blocks[0].prefix, "shared.0.mixer");
  EXPECT_EQ(weightShape(model.spec, "shared.0.mixer.norm"),
            (std::vector<int64_t>{128}));
  EXPECT_EQ(weightShape(model.spec, "layers.1.shared.ffn.gate_up_proj.lora_b"),
            (std::vector<int64_t>{256, 8}));
  const Mamba2Spec &m = model.spec.blocks[0].as<Mamba2Spec>();
  EXPECT_EQ(m.dtMin, 0.001);
  EXPECT_TRUE(m.convBias);
}

TEST(HFZamba2, GoldenBindsEveryTensor) {
  ImportedModel model = importOrDie(goldenDir("zamba2_tiny"));
  EXPECT_EQ(bindingProblems(model, goldenDir("zamba2_tiny")),
            std::vector<std::string>());
  EXPECT_EQ(model.bindings.find("layers.3.shared.ffn.gate_up_proj.lora_a")
                ->describe(),
            "model.layers.3.shared_transformer.feed_forward."
            "gate_up_proj_adapter_list.1.0.weight");
  EXPECT_EQ(model.bindings.find("shared.1.mixer.q_proj")->describe(),
            "model.layers.3.shared_transformer.self_attn.q_proj.weight");
  EXPECT_EQ(model.bindings.find("layers.1.mixer.in_proj")->describe(),
            "model.layers.1.mamba_decoder.mamba.in_proj.weight");
}

TEST(HFZamba2, OneSharedBlockForThreeLayers) {
  // num_mem_blocks 1: every hybrid layer runs definition 0, whose weights
  // transformers stores once, under the first hybrid layer.
  ImportedModel model = importOrDie(variantDir("zamba2_shared"));
  const ModelSpec &spec = model.spec;
  ASSERT_EQ(spec.sharedDefinitions.size(), 1u);
  int invocations = 0;
  for (const Block &b : spec.blocks)
    if (b.is<SharedSpec>()) {
      ++invocations;
      EXPECT_EQ(b.as<SharedSpec>().definition, 0u);
      EXPECT_EQ(b.as<SharedSpec>().adapters.size(), 4u); // mlp + q, k, v
    }
  EXPECT_EQ(invocations, 3);
  EXPECT_TRUE(spec.tieWordEmbeddings);
  EXPECT_EQ(weightShape(spec, "lm_head"), std::vector<int64_t>());
  EXPECT_EQ(bindingProblems(model, variantDir("zamba2_shared")),
            std::vector<std::string>());
  // The third invocation's adapters live in the first layer's module list.
  EXPECT_EQ(
      model.bindings.find("layers.4.shared.mixer.k_proj.lora_a")->describe(),
      "model.layers.1.shared_transformer.self_attn."
      "linear_k_adapter_list.2.0.weight");
  const WeightBinding *q = model.bindings.find("shared.0.mixer.q_proj");
  EXPECT_EQ(q->tiedAliases,
            (std::vector<std::string>{
                "model.layers.3.shared_transformer.self_attn.q_proj.weight",
                "model.layers.4.shared_transformer.self_attn.q_proj.weight"}));
}

TEST(HFZamba2, TiedAliasesMayBePresent) {
  // A checkpoint that also stores the tied copies still binds: aliases are
  // accepted when their shape and dtype match.
  ImportedModel model = importOrDie(variantDir("zamba2_shared"));
  auto index = readSafetensors(variantDir("zamba2_shared"));
  ASSERT_TRUE(bool(index));
  TensorIndex withCopies = *index;
  TensorInfo copy =
      *index->find("model.layers.1.shared_transformer.self_attn.q_proj.weight");
  copy.name = "model.layers.4.shared_transformer.self_attn.q_proj.weight";
  ASSERT_FALSE(bool(withCopies.add(copy)));
  EXPECT_TRUE(findBindingProblems(model.bindings, withCopies).empty());
}

// test/data/variants/zamba2_adapters (tie_word_embeddings false): transformers
// 5.17 ties the hybrid layers' shared_transformer modules only when
// tie_word_embeddings is set, so here each of the three hybrid layers runs
// (and the checkpoint stores) its own copy of the block, with different
// values. Binding them all to layer 1's copy put logits off by rel-L2 ~0.7.
TEST(HFZamba2, UntiedCheckpointGivesEachHybridLayerItsOwnBlock) {
  std::string dir = sourcePath("test/data/variants/zamba2_adapters");
  ImportedModel model = importOrDie(dir);
  const ModelSpec &spec = model.spec;
  EXPECT_FALSE(spec.tieWordEmbeddings);
  ASSERT_EQ(spec.sharedDefinitions.size(), 3u); // num_mem_blocks is 1
  std::vector<unsigned> definitions;
  for (const Block &b : spec.blocks)
    if (b.is<SharedSpec>())
      definitions.push_back(b.as<SharedSpec>().definition);
  EXPECT_EQ(definitions, (std::vector<unsigned>{0, 1, 2}));
  // Shared attention: head_dim = 2 * hidden / heads = 24, all of it rotated
  // (transformers' rotary uses config.head_dim = 24), scale (24 / 2)^-0.5.
  const AttentionSpec &a =
      spec.sharedDefinitions[2].blocks[0].as<AttentionSpec>();
  EXPECT_EQ(a.headDim, 24);
  EXPECT_EQ(a.rope.rotaryDim, 24);
  EXPECT_DOUBLE_EQ(a.scale, 1.0 / std::sqrt(12.0));
  EXPECT_EQ(spec.blocks[0].as<Mamba2Spec>().gateNormGroupSize, 48);

  // Each definition reads its own layer's module, with no aliases.
  const WeightBinding *q = model.bindings.find("shared.2.mixer.q_proj");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->describe(),
            "model.layers.4.shared_transformer.self_attn.q_proj.weight");
  EXPECT_TRUE(q->tiedAliases.empty());
  // Invocation 2 reads adapter slot 2 of its own module.
  EXPECT_EQ(
      model.bindings.find("layers.4.shared.mixer.k_proj.lora_a")->describe(),
      "model.layers.4.shared_transformer.self_attn."
      "linear_k_adapter_list.2.0.weight");
  EXPECT_EQ(model.bindings.find("layers.3.shared.ffn.gate_up_proj.lora_b")
                ->describe(),
            "model.layers.3.shared_transformer.feed_forward."
            "gate_up_proj_adapter_list.1.1.weight");
  // The other slots of each module are never read, but the checkpoint has
  // them: they are listed as unused and the check accepts them.
  const std::vector<std::string> &unused = model.bindings.unusedTensors;
  EXPECT_NE(std::find(unused.begin(), unused.end(),
                      "model.layers.3.shared_transformer.self_attn."
                      "linear_q_adapter_list.0.0.weight"),
            unused.end());
  EXPECT_EQ(bindingProblems(model, dir), std::vector<std::string>());
}

TEST(HFZamba2, TiedEmbeddingsCycleNumMemBlocksDefinitions) {
  // The same config with tie_word_embeddings: the blocks are tied again, so
  // num_mem_blocks (1) definitions serve the three hybrid layers.
  auto buffer = llvm::MemoryBuffer::getFile(
      sourcePath("test/data/variants/zamba2_adapters/config.json"));
  ASSERT_TRUE(bool(buffer));
  std::string text = (*buffer)->getBuffer().str();
  std::string key = "\"tie_word_embeddings\": false";
  size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, key.size(), "\"tie_word_embeddings\": true");
  auto model = importText(text);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->spec.sharedDefinitions.size(), 1u);
  EXPECT_EQ(model->bindings.find("shared.0.mixer.q_proj")->tiedAliases,
            (std::vector<std::string>{
                "model.layers.3.shared_transformer.self_attn.q_proj.weight",
                "model.layers.4.shared_transformer.self_attn.q_proj.weight"}));
}

TEST(HFZamba2, DefaultConfigCyclesOneDefinition) {
  ImportedModel model = importOrDie(fullConfig("zamba2-default"));
  EXPECT_EQ(model.spec.sharedDefinitions.size(), 1u);
  int hybrid = 0;
  for (const Block &b : model.spec.blocks)
    hybrid += b.is<SharedSpec>();
  EXPECT_EQ(hybrid, 9);
  EXPECT_EQ(model.spec.blocks[0].as<Mamba2Spec>().headDim, 640);
}

} // namespace
