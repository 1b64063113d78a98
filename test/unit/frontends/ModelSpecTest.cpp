//===- ModelSpecTest.cpp - names, weights, checks and bindings of a spec --===//

#include "FrontendTestUtils.h"

using namespace braid::frontend;
using namespace braid::frontend::testing;

namespace {

/// hidden 16: layer 0 = attention + mlp, layer 1 = parallel(mamba2, mlp).
ModelSpec smallSpec() {
  ModelSpec spec;
  spec.name = "small";
  spec.vocabSize = 10;
  spec.hiddenSize = 16;
  spec.finalNorm = {NormKind::RMS, 1e-6, false};
  NormSpec rms{NormKind::RMS, 1e-5, false};

  AttentionSpec attention;
  attention.numHeads = 4;
  attention.numKVHeads = 2;
  attention.headDim = 4;
  attention.inputDim = attention.outputDim = 16;
  attention.scale = 0.5;
  attention.qkvBias = true;
  MLPSpec mlp;
  mlp.intermediate = 32;

  Block a;
  a.body = attention;
  a.layer = 0;
  a.norm = rms;
  Block f;
  f.body = mlp;
  f.layer = 0;
  f.norm = {NormKind::Layer, 1e-5, true};

  Mamba2Spec mamba;
  mamba.numHeads = 2;
  mamba.headDim = 8;
  mamba.stateSize = 4;
  mamba.gateNormGroupSize = 16;
  Block branch1, branch2;
  branch1.body = mamba;
  branch1.residual = false;
  branch2.body = mlp;
  branch2.residual = false;
  ParallelSpec parallel;
  parallel.branches = {branch1, branch2};
  parallel.merge = MergeMode::ConcatProj;
  Block p;
  p.body = parallel;
  p.layer = 1;
  p.norm = rms;

  spec.blocks = {a, f, p};
  assignPrefixes(spec);
  return spec;
}

TEST(ModelSpec, PrefixesFollowLayersRolesAndBranchKinds) {
  ModelSpec spec = smallSpec();
  EXPECT_EQ(spec.blocks[0].prefix, "layers.0.mixer");
  EXPECT_EQ(spec.blocks[1].prefix, "layers.0.ffn");
  EXPECT_EQ(spec.blocks[2].prefix, "layers.1.mixer");
  const ParallelSpec &p = spec.blocks[2].as<ParallelSpec>();
  EXPECT_EQ(p.branches[0].prefix, "layers.1.mixer.mamba2");
  EXPECT_EQ(p.branches[1].prefix, "layers.1.mixer.mlp");
  // A second mixer in one layer group is numbered.
  spec.blocks[1] = spec.blocks[0];
  assignPrefixes(spec);
  EXPECT_EQ(spec.blocks[1].prefix, "layers.0.mixer1");
}

TEST(ModelSpec, EnumerateWeightsNamesAndShapes) {
  std::vector<std::string> names;
  for (const WeightDesc &w : enumerateWeights(smallSpec()))
    names.push_back(w.name);
  std::vector<std::string> expected = {"embed",
                                       "layers.0.mixer.norm",
                                       "layers.0.mixer.q_proj",
                                       "layers.0.mixer.q_proj_bias",
                                       "layers.0.mixer.k_proj",
                                       "layers.0.mixer.k_proj_bias",
                                       "layers.0.mixer.v_proj",
                                       "layers.0.mixer.v_proj_bias",
                                       "layers.0.mixer.o_proj",
                                       "layers.0.ffn.norm",
                                       "layers.0.ffn.norm_bias",
                                       "layers.0.ffn.gate_up_proj",
                                       "layers.0.ffn.down_proj",
                                       "layers.1.mixer.norm",
                                       "layers.1.mixer.mamba2.in_proj",
                                       "layers.1.mixer.mamba2.conv",
                                       "layers.1.mixer.mamba2.conv_bias",
                                       "layers.1.mixer.mamba2.dt_bias",
                                       "layers.1.mixer.mamba2.A",
                                       "layers.1.mixer.mamba2.D",
                                       "layers.1.mixer.mamba2.gate_norm",
                                       "layers.1.mixer.mamba2.out_proj",
                                       "layers.1.mixer.mlp.gate_up_proj",
                                       "layers.1.mixer.mlp.down_proj",
                                       "layers.1.mixer.merge",
                                       "final_norm",
                                       "lm_head"};
  EXPECT_EQ(names, expected);
  ModelSpec spec = smallSpec();
  EXPECT_EQ(weightShape(spec, "layers.0.mixer.k_proj"),
            (std::vector<int64_t>{8, 16}));
  // z (16) + x (16) + B (4) + C (4) + dt (2).
  EXPECT_EQ(weightShape(spec, "layers.1.mixer.mamba2.in_proj"),
            (std::vector<int64_t>{42, 16}));
  EXPECT_EQ(weightShape(spec, "layers.1.mixer.mamba2.conv"),
            (std::vector<int64_t>{24, 4}));
  EXPECT_EQ(weightShape(spec, "layers.1.mixer.merge"),
            (std::vector<int64_t>{16, 32}));
}

TEST(ModelSpec, VerifyAcceptsAGoodSpec) {
  EXPECT_FALSE(bool(verifySpec(smallSpec())));
}

TEST(ModelSpec, VerifyNamesTheFieldAtFault) {
  ModelSpec spec = smallSpec();
  spec.blocks[0].as<AttentionSpec>().numKVHeads = 3;
  EXPECT_EQ(errorOf(verifySpec(spec)),
            "invalid model spec: layers.0.mixer: heads (4) must be divisible "
            "by kv_heads (3)");

  spec = smallSpec();
  spec.blocks[2].as<ParallelSpec>().branches[0].residual = true;
  EXPECT_EQ(errorOf(verifySpec(spec)),
            "invalid model spec: layers.1.mixer.mamba2: a parallel branch "
            "has no residual");

  spec = smallSpec();
  spec.blocks[0].prefix = "layer0";
  EXPECT_NE(errorOf(verifySpec(spec)).find("naming convention"),
            std::string::npos);

  spec = smallSpec();
  spec.blocks[2].layer = 3;
  assignPrefixes(spec);
  EXPECT_EQ(errorOf(verifySpec(spec)),
            "invalid model spec: layers.3.mixer: layer groups must be "
            "numbered 0, 1, 2... in stack order, found 3 after 0");
}

TEST(ModelSpec, EqualityIgnoresSettingsOfDisabledFeatures) {
  ModelSpec a = smallSpec(), b = smallSpec();
  Mamba2Spec &ma = a.blocks[2].as<ParallelSpec>().branches[0].as<Mamba2Spec>();
  Mamba2Spec &mb = b.blocks[2].as<ParallelSpec>().branches[0].as<Mamba2Spec>();
  ma.gateNorm = mb.gateNorm = false;
  ma.gateNormEps = 1e-3;
  EXPECT_EQ(a, b);
  EXPECT_EQ(firstDifference(a, b), "");
  mb.gateNorm = true;
  EXPECT_NE(a, b);
}

TEST(ModelSpec, FirstDifferenceNamesThePath) {
  ModelSpec a = smallSpec(), b = smallSpec();
  b.blocks[0].as<AttentionSpec>().numHeads = 8;
  EXPECT_EQ(firstDifference(a, b), "spec.blocks[0].body.heads: 4 vs 8");
  b = smallSpec();
  b.hiddenSize = 32;
  EXPECT_EQ(firstDifference(a, b), "spec.hidden: 16 vs 32");
}

TEST(ModelSpec, BindingDescriptions) {
  WeightBinding conv;
  conv.irName = "x.conv";
  conv.sources = {{"m.conv1d.weight", {8, 1, 4}}};
  conv.shape = {8, 4};
  EXPECT_EQ(conv.describe(), "reshape(m.conv1d.weight, [8, 4])");

  WeightBinding a;
  a.sources = {{"m.A_log", {8}}};
  a.shape = {8};
  a.transform.elementwise = WeightTransform::Elementwise::NegExp;
  EXPECT_EQ(a.describe(), "-exp(m.A_log)");

  WeightBinding experts;
  experts.sources = {
      {"g0", {2, 3}}, {"u0", {2, 3}}, {"g1", {2, 3}}, {"u1", {2, 3}}};
  experts.shape = {2, 4, 3};
  experts.transform.combine = WeightTransform::Combine::StackOfConcat;
  experts.transform.groupSize = 2;
  EXPECT_EQ(experts.describe(), "stack(concat0(g0, u0), concat0(g1, u1))");
}

/// A complete binding table for `spec`, one source per weight.
BindingTable trivialBindings(const ModelSpec &spec) {
  BindingTable table;
  for (const WeightDesc &w : enumerateWeights(spec)) {
    WeightBinding b;
    b.irName = w.name;
    b.shape = w.shape;
    b.sources = {{"hf." + w.name, w.shape}};
    table.bindings.push_back(b);
  }
  return table;
}

TEST(ModelSpec, BindingTableMustCoverTheSpec) {
  ModelSpec spec = smallSpec();
  BindingTable table = trivialBindings(spec);
  EXPECT_FALSE(bool(verifyBindingsAgainstSpec(spec, table)));

  BindingTable missing = table;
  missing.bindings.erase(missing.bindings.begin() + 2);
  EXPECT_EQ(errorOf(verifyBindingsAgainstSpec(spec, missing)),
            "inconsistent binding table: IR weight 'layers.0.mixer.q_proj' "
            "has no binding");

  BindingTable wrongTransform = table;
  wrongTransform.bindings[2].sources[0].shape = {16, 17};
  EXPECT_EQ(errorOf(verifyBindingsAgainstSpec(spec, wrongTransform)),
            "inconsistent binding table: IR weight 'layers.0.mixer.q_proj': "
            "the transform reshape(hf.layers.0.mixer.q_proj, [16, 16]) does "
            "not give [16, 16]");

  BindingTable extra = table;
  extra.bindings.push_back(table.bindings[0]);
  extra.bindings.back().irName = "layers.9.mixer.q_proj";
  EXPECT_EQ(errorOf(verifyBindingsAgainstSpec(spec, extra)),
            "inconsistent binding table: binding for 'layers.9.mixer.q_proj', "
            "which is not a weight of the spec");
}

TEST(ModelSpec, EveryImportedBindingTableMatchesItsSpec) {
  // importHFConfig checks this itself; keep it pinned for every input.
  for (const char *name :
       {"bamba_tiny", "nemotronh_tiny", "jamba_tiny", "falconh1_tiny",
        "granitehybrid_tiny", "zamba2_tiny"}) {
    ImportedModel model = importOrDie(goldenDir(name));
    EXPECT_FALSE(bool(verifyBindingsAgainstSpec(model.spec, model.bindings)))
        << name;
    EXPECT_EQ(model.bindings.bindings.size(),
              enumerateWeights(model.spec).size())
        << name;
  }
}

} // namespace
