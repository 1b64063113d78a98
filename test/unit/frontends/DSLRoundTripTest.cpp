//===- DSLRoundTripTest.cpp - print/parse round trips and DSL features ----===//

#include "FrontendTestUtils.h"

#include "llvm/ADT/StringExtras.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

ModelSpec parseOrDie(llvm::StringRef text) {
  auto spec = parseDSL(text, "test.braid");
  if (!spec) {
    ADD_FAILURE() << llvm::toString(spec.takeError());
    return {};
  }
  return std::move(*spec);
}

//===----------------------------------------------------------------------===//
// HF -> DSL -> spec
//===----------------------------------------------------------------------===//

class GoldenRoundTrip : public ::testing::TestWithParam<const char *> {};

TEST_P(GoldenRoundTrip, PrintedDSLParsesToTheSameSpec) {
  ImportedModel model = importOrDie(goldenDir(GetParam()));
  EXPECT_EQ(roundTripDifference(model.spec), "");
}

TEST_P(GoldenRoundTrip, PrintingIsAFixedPoint) {
  ImportedModel model = importOrDie(goldenDir(GetParam()));
  std::string once = printDSL(model.spec);
  EXPECT_EQ(printDSL(parseOrDie(once)), once);
}

INSTANTIATE_TEST_SUITE_P(Goldens, GoldenRoundTrip,
                         ::testing::Values("bamba_tiny", "nemotronh_tiny",
                                           "jamba_tiny", "falconh1_tiny",
                                           "granitehybrid_tiny",
                                           "zamba2_tiny"));

TEST(DSLRoundTrip, VariantsAndFullSizeConfigs) {
  for (const char *name :
       {"llama_tiny", "llama_tied", "nemotronh_moe", "zamba2_shared",
        "granite_dense_rope", "falconh1_norm", "jamba_periods"})
    EXPECT_EQ(roundTripDifference(importOrDie(variantDir(name)).spec), "")
        << name;
  for (const char *name :
       {"bamba-1.5b", "bamba-default", "falcon_h1-default",
        "granitemoehybrid-default", "jamba-default", "llama-default",
        "nemotron_h-default", "zamba2-default"})
    EXPECT_EQ(roundTripDifference(importOrDie(fullConfig(name)).spec), "")
        << name;
}

TEST(DSLRoundTrip, PatternsAreCompressed) {
  ImportedModel jamba = importOrDie(fullConfig("jamba-default"));
  EXPECT_NE(printDSL(jamba.spec)
                .find("pattern \"((mamba+mlp mamba+moe){2} attn+mlp mamba+moe "
                      "mamba+mlp mamba+moe){4}\""),
            std::string::npos);
  ImportedModel falcon = importOrDie(goldenDir("falconh1_tiny"));
  EXPECT_NE(printDSL(falcon.spec).find("pattern \"(par+mlp){3}\""),
            std::string::npos);
}

TEST(DSLRoundTrip, HandWrittenNemotronEqualsTheImport) {
  // The same model written by hand, with a Nemotron-style pattern string:
  // DSL -> spec gives what HF -> spec gives, weight names included.
  const char *text = R"(
model "nemotronh_tiny" {
  vocab 256; hidden 64; final_norm rms 1e-5
}
mamba2 M {
  norm rms 1e-5
  heads 8; head_dim 16; groups 2; state 16; chunk 16
  dt_limit 0.001 inf
  gate_norm 1e-5          # groups of 128 / 2 channels
}
mlp - { norm rms 1e-5; intermediate 128; activation relu2; gated false }
attention * { norm rms 1e-5; heads 4; kv_heads 2; head_dim 16; rope none }
pattern chars "M-M*-M"
)";
  ModelSpec written = parseOrDie(text);
  ImportedModel imported = importOrDie(goldenDir("nemotronh_tiny"));
  EXPECT_EQ(firstDifference(imported.spec, written), "");
  std::vector<std::string> names;
  for (const WeightDesc &w : enumerateWeights(written))
    names.push_back(w.name);
  std::vector<std::string> bound;
  for (const WeightBinding &b : imported.bindings.bindings)
    bound.push_back(b.irName);
  EXPECT_EQ(names, bound);
}

//===----------------------------------------------------------------------===//
// Examples and docs
//===----------------------------------------------------------------------===//

TEST(DSLExamples, TurboSStyleInterleavesAttentionMamba2AndFFN) {
  auto spec = parseDSLFile(sourcePath("examples/turbos_style.braid"));
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  ASSERT_EQ(spec->blocks.size(), 40u); // 8 x (3 + 2)
  std::vector<BlockKind> period = {BlockKind::Attention, BlockKind::Mamba2,
                                   BlockKind::MoE, BlockKind::Mamba2,
                                   BlockKind::MoE};
  for (size_t i = 0; i < spec->blocks.size(); ++i)
    EXPECT_EQ(spec->blocks[i].kind(), period[i % 5]) << i;
  EXPECT_EQ(spec->blocks[1].prefix, "layers.0.mixer1");
  EXPECT_EQ(spec->blocks[2].prefix, "layers.0.ffn");
  EXPECT_EQ(spec->blocks[3].prefix, "layers.1.mixer");
  EXPECT_EQ(spec->blocks[2].as<MoESpec>().sharedIntermediate, 2048);
  EXPECT_EQ(spec->blocks[1].as<Mamba2Spec>().gateNormGroupSize, 512);
  EXPECT_EQ(roundTripDifference(*spec), "");
}

TEST(DSLExamples, JambaStyleIsOneToSevenWithMoEEveryOtherLayer) {
  auto spec = parseDSLFile(sourcePath("examples/jamba_style.braid"));
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  ASSERT_EQ(spec->blocks.size(), 64u);
  for (int64_t layer = 0; layer < 32; ++layer) {
    const Block &mixer = spec->blocks[2 * layer];
    const Block &ffn = spec->blocks[2 * layer + 1];
    EXPECT_EQ(mixer.is<AttentionSpec>(), layer % 8 == 4) << layer;
    EXPECT_EQ(mixer.is<MambaSpec>(), layer % 8 != 4) << layer;
    EXPECT_EQ(ffn.is<MoESpec>(), layer % 2 == 1) << layer;
  }
  // The same structure as the Jamba default config.
  ImportedModel jamba = importOrDie(fullConfig("jamba-default"));
  EXPECT_EQ(kindsOf(*spec), kindsOf(jamba.spec));
  EXPECT_EQ(roundTripDifference(*spec), "");
}

TEST(DSLExamples, FalconH1StyleIsAParallelHybrid) {
  auto spec = parseDSLFile(sourcePath("examples/falcon_h1_style.braid"));
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  ASSERT_EQ(spec->blocks.size(), 48u);
  const ParallelSpec &p = spec->blocks[0].as<ParallelSpec>();
  EXPECT_EQ(p.merge, MergeMode::Sum);
  EXPECT_EQ(p.multipliers, (std::vector<double>{0.5, 0.234375}));
  EXPECT_TRUE(p.branches[0].is<AttentionSpec>());
  EXPECT_FALSE(p.branches[0].residual);
  EXPECT_EQ(p.branches[0].inputMultiplier, 0.9375);
  EXPECT_EQ(p.branches[1].as<Mamba2Spec>().inProjMultipliers[3], 0.5);
  EXPECT_EQ(spec->embeddingMultiplier, 5.656854);
  EXPECT_EQ(spec->blocks[1].as<MLPSpec>().downMultiplier, 0.5);
  EXPECT_EQ(roundTripDifference(*spec), "");
}

/// The ``` blocks of docs/dsl.md.
std::vector<std::string> docBlocks() {
  auto doc = llvm::MemoryBuffer::getFile(sourcePath("docs/dsl.md"));
  EXPECT_TRUE(bool(doc));
  std::vector<std::string> blocks;
  if (!doc)
    return blocks;
  llvm::StringRef rest = (*doc)->getBuffer();
  while (true) {
    size_t open = rest.find("```\n");
    if (open == llvm::StringRef::npos)
      break;
    rest = rest.drop_front(open + 4);
    size_t close = rest.find("```");
    blocks.push_back(rest.take_front(close).str());
    rest = rest.drop_front(close + 3);
  }
  return blocks;
}

TEST(DSLExamples, DocsExamplesParseAndMatchThePrinter) {
  int complete = 0;
  for (const std::string &block : docBlocks()) {
    if (block.find("pattern \"") == std::string::npos)
      continue; // fragments, error samples
    ++complete;
    ModelSpec spec = parseOrDie(block);
    if (spec.name == "nemotronh_tiny") {
      // The printed sample is what the printer writes today.
      ImportedModel model = importOrDie(goldenDir("nemotronh_tiny"));
      EXPECT_EQ("# Braid model description\n\n" + block, printDSL(model.spec));
    }
  }
  EXPECT_EQ(complete, 2);
}

//===----------------------------------------------------------------------===//
// Language features
//===----------------------------------------------------------------------===//

const char *kHeader = R"(
model "m" { vocab 16; hidden 8; final_norm rms 1e-6 }
mlp F { norm rms 1e-6; intermediate 16 }
attention A { norm rms 1e-6; heads 2; head_dim 4; rope 10000 }
mamba2 M { norm rms 1e-6; heads 2; head_dim 8; state 4; gate_norm 1e-5 }
)";

std::vector<int64_t> layersOf(const ModelSpec &spec) {
  std::vector<int64_t> layers;
  for (const Block &b : spec.blocks)
    layers.push_back(b.layer);
  return layers;
}

TEST(DSLFeatures, NestedRepetitionAndGroups) {
  ModelSpec spec =
      parseOrDie(std::string(kHeader) + "pattern \"((A+F){2} M){2} F\"\n");
  std::vector<BlockKind> expected = {
      BlockKind::Attention, BlockKind::MLP,       BlockKind::Attention,
      BlockKind::MLP,       BlockKind::Mamba2,    BlockKind::Attention,
      BlockKind::MLP,       BlockKind::Attention, BlockKind::MLP,
      BlockKind::Mamba2,    BlockKind::MLP};
  EXPECT_EQ(kindsOf(spec), expected);
  EXPECT_EQ(layersOf(spec),
            (std::vector<int64_t>{0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 6}));
}

TEST(DSLFeatures, PatternsConcatenate) {
  ModelSpec spec =
      parseOrDie(std::string(kHeader) + "pattern \"M{2}\"\npattern \"A+F\"\n");
  EXPECT_EQ(layersOf(spec), (std::vector<int64_t>{0, 1, 2, 2}));
  EXPECT_EQ(spec.blocks[3].prefix, "layers.2.ffn");
}

TEST(DSLFeatures, DefaultsDependOnOtherFields) {
  ModelSpec spec = parseOrDie(std::string(kHeader) + "pattern \"A M\"\n");
  const AttentionSpec &a = spec.blocks[0].as<AttentionSpec>();
  EXPECT_EQ(a.numKVHeads, 2);     // kv_heads defaults to heads
  EXPECT_EQ(a.scale, 0.5);        // head_dim^-0.5
  EXPECT_EQ(a.rope.rotaryDim, 4); // the whole head
  EXPECT_EQ(a.inputDim, 8);       // hidden
  const Mamba2Spec &m = spec.blocks[1].as<Mamba2Spec>();
  EXPECT_EQ(m.gateNormGroupSize, 16); // d_inner / groups
  EXPECT_EQ(m.dtMax, kInfinity);
}

TEST(DSLFeatures, ParallelMergeModes) {
  ModelSpec spec = parseOrDie(std::string(kHeader) + R"(
parallel P { norm rms 1e-6; branches A M F; merge concat_proj }
parallel Q { norm none; branches A F; merge mean }
pattern "P Q"
)");
  const ParallelSpec &p = spec.blocks[0].as<ParallelSpec>();
  EXPECT_EQ(p.merge, MergeMode::ConcatProj);
  EXPECT_TRUE(p.multipliers.empty());
  EXPECT_EQ(weightShape(spec, "layers.0.mixer.merge"),
            (std::vector<int64_t>{8, 24}));
  EXPECT_EQ(spec.blocks[1].as<ParallelSpec>().multipliers,
            (std::vector<double>{1.0, 1.0}));
  EXPECT_EQ(roundTripDifference(spec), "");
}

TEST(DSLFeatures, SharedBlocksWithAdapters) {
  ModelSpec spec = parseOrDie(std::string(kHeader) + R"(
attention SA { norm rms 1e-6; residual false; heads 2; head_dim 8
               input_dim 16; rope none }
mlp SF { norm rms 1e-6; residual false; intermediate 16 }
shared_block T { blocks SA SF }
shared H {
  norm none
  residual false
  block T
  concat_embeddings true
  output_linear true
  lora SF gate_up_proj 2
  lora SA q_proj 3
  output next_input
}
pattern "M H+M M H+M"
)");
  ASSERT_EQ(spec.sharedDefinitions.size(), 1u);
  EXPECT_EQ(spec.sharedDefinitions[0].blocks[0].prefix, "shared.0.mixer");
  const SharedSpec &h = spec.blocks[1].as<SharedSpec>();
  ASSERT_EQ(h.adapters.size(), 2u);
  EXPECT_EQ(h.adapters[0].block, 1u);
  EXPECT_EQ(h.adapters[1].block, 0u);
  EXPECT_EQ(weightShape(spec, "layers.1.shared.ffn.gate_up_proj.lora_a"),
            (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(weightShape(spec, "layers.1.shared.mixer.q_proj.lora_b"),
            (std::vector<int64_t>{16, 3}));
  EXPECT_EQ(weightShape(spec, "shared.0.mixer.q_proj"),
            (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(roundTripDifference(spec), "");
}

TEST(DSLFeatures, NumbersPrintShortAndExact) {
  EXPECT_EQ(formatNumber(1e-5), "1e-05");
  EXPECT_EQ(formatNumber(10000), "10000");
  EXPECT_EQ(formatNumber(0.1), "0.1");
  EXPECT_EQ(formatNumber(kInfinity), "inf");
  EXPECT_EQ(formatNumber(-kInfinity), "-inf");
  double third = 1.0 / 3.0;
  EXPECT_EQ(std::strtod(formatNumber(third).c_str(), nullptr), third);
}

} // namespace
