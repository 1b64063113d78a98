//===- HFFamiliesMamba2.cpp - Mamba2 hybrids: Bamba, Nemotron-H, ... ------===//
//
// The four Mamba2-based families, each following its transformers 5.17
// modeling code:
//
// bamba             decoder layer = (mamba2 | attention) + gated MLP, both
//                   pre-normed with residuals; attention at
//                   attn_layer_indices with partial rotary (default 0.5); the
//                   gated norm spans all d_inner channels (one group).
// nemotron_h        one block per layer (pattern M * - E): mamba2, attention
//                   without rope, squared-ReLU MLP, sigmoid-routed MoE with
//                   a selection-only bias; dt clamped at time_step_min; gated
//                   norm per group of d_inner / n_groups.
// granitemoehybrid  (mamba2 | attention) + (MoE with shared expert | shared
//                   MLP), residual_multiplier on both; attention scale is
//                   attention_multiplier; rope only when position_embedding_
//                   type is "rope"; logits divided by logits_scaling.
// falcon_h1         parallel (attention, mamba2) on one norm, summed with
//                   their output multipliers, then a gated MLP with its
//                   multipliers; muP multipliers on the mamba2 in_proj
//                   sections; key multiplier; gated norm optional.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontends/hf/ImportHelpers.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace llvm;

namespace braid {
namespace frontend {

namespace {

/// `mamba_d_head` is an integer or "auto" (d_inner / heads).
int64_t readMambaHeadDim(ConfigReader &r, int64_t dInner, int64_t heads) {
  const json::Value *value = r.config.get("mamba_d_head");
  if (value && value->getAsString() && *value->getAsString() == "auto")
    value = nullptr;
  int64_t headDim = value ? r.positive("mamba_d_head") : 0;
  if (!value && heads > 0)
    headDim = dInner / heads;
  r.require(!r.ok() || heads * headDim == dInner, "mamba_d_head",
            formatv("mamba_n_heads ({0}) x mamba_d_head ({1}) must equal the "
                    "Mamba2 inner size {2}",
                    heads, headDim, dInner));
  return headDim;
}

/// The `mamba_*` keys shared by Bamba, GraniteMoeHybrid and Falcon-H1.
Mamba2Spec readPrefixedMamba2(ConfigReader &r, int64_t dInner, double normEps) {
  Mamba2Spec m;
  m.numHeads = r.positive("mamba_n_heads", 128);
  m.headDim = readMambaHeadDim(r, dInner, m.numHeads);
  m.numGroups = r.positive("mamba_n_groups", 1);
  r.require(!r.ok() || m.numHeads % m.numGroups == 0, "mamba_n_groups",
            formatv("mamba_n_heads ({0}) is not divisible by mamba_n_groups "
                    "({1})",
                    m.numHeads, m.numGroups));
  m.stateSize = r.positive("mamba_d_state", 256);
  m.convKernel = r.positive("mamba_d_conv", 4);
  m.chunkSize = r.positive("mamba_chunk_size", 256);
  m.convBias = r.flag("mamba_conv_bias", true);
  m.inProjBias = m.outProjBias = r.flag("mamba_proj_bias", false);
  m.activation = r.activation("hidden_act", "silu");
  std::tie(m.dtMin, m.dtMax) = readTimeStepLimit(r, "time_step_limit");
  m.gateNorm = true;
  m.normBeforeGate = false;
  m.gateNormEps = normEps;
  m.gateNormGroupSize = dInner; // one group unless a family says otherwise
  return m;
}

//===----------------------------------------------------------------------===//
// Bamba
//===----------------------------------------------------------------------===//

Error buildBamba(ConfigReader &r, ModelSpec &spec) {
  readBasicsInto(r, spec, false);
  int64_t hidden = spec.hiddenSize;
  int64_t layers = r.positive("num_hidden_layers");
  NormSpec norm = rmsNorm(r.number("rms_norm_eps", 1e-5));
  int64_t dInner = r.positive("mamba_expand", 2) * hidden;
  Mamba2Spec mamba = readPrefixedMamba2(r, dInner, norm.eps);

  AttentionSpec attention = readAttentionShape(r, hidden, 8, "head_dim");
  // BambaConfig forces partial_rotary_factor 0.5 unless rope_parameters
  // names another fraction.
  attention.rope = readRope(r, attention.headDim, true, 0.5);
  attention.qkvBias = attention.oBias = r.flag("attention_bias", false);
  MLPSpec mlp = readGatedMLP(r, r.positive("intermediate_size"));

  std::vector<int64_t> attentionLayers = r.intList("attn_layer_indices");
  for (auto [i, index] : enumerate(attentionLayers))
    if (r.ok() && (index < 0 || index >= layers))
      r.fail(r.config.errorAtElement(
          "attn_layer_indices", i,
          formatv("attention layer index {0} is outside [0, {1})", index,
                  layers)));
  if (!r.ok())
    return r.takeError();

  for (int64_t layer = 0; layer < layers; ++layer) {
    bool isAttention = is_contained(attentionLayers, layer);
    appendBlock(spec, layer,
                isAttention ? BlockBody(attention) : BlockBody(mamba), norm);
    appendBlock(spec, layer, mlp, norm);
  }
  spec.finalNorm = norm;
  return Error::success();
}

void bindBamba(const ModelSpec &spec, Binder &b) {
  b.direct("embed", "model.embed_tokens.weight");
  for (const Block &block : spec.blocks) {
    std::string layer = layerModule("model", block.layer);
    if (block.is<MLPSpec>()) {
      b.norm(block, layer + ".pre_ff_layernorm");
      b.splitGatedMLP(block.prefix, layer + ".feed_forward", "gate_proj",
                      "up_proj", "down_proj");
      continue;
    }
    b.norm(block, layer + ".input_layernorm");
    if (block.is<AttentionSpec>())
      b.attention(block, layer + ".self_attn");
    else
      b.mamba2(block, layer + ".mamba");
  }
  bindHead(spec, b, "model.final_layernorm.weight");
}

//===----------------------------------------------------------------------===//
// Nemotron-H
//===----------------------------------------------------------------------===//

enum class NemotronLayer { Mamba, Attention, MLP, MoE };

/// layers_block_type (transformers 5) or the older hybrid_override_pattern.
std::vector<NemotronLayer> readNemotronLayers(ConfigReader &r) {
  std::vector<NemotronLayer> layers;
  if (r.has("layers_block_type")) {
    std::vector<std::string> types = r.stringList("layers_block_type");
    for (auto [i, type] : enumerate(types)) {
      std::optional<NemotronLayer> layer =
          StringSwitch<std::optional<NemotronLayer>>(type)
              .Cases({"linear_attention", "mamba"}, NemotronLayer::Mamba)
              .Cases({"full_attention", "attention"}, NemotronLayer::Attention)
              .Case("mlp", NemotronLayer::MLP)
              .Case("moe", NemotronLayer::MoE)
              .Default(std::nullopt);
      if (!layer) {
        r.fail(r.config.errorAtElement(
            "layers_block_type", i,
            "unknown layer type '" + type +
                "' (expected linear_attention, full_attention, mlp or moe)"));
        return {};
      }
      layers.push_back(*layer);
    }
    return layers;
  }
  if (!r.has("hybrid_override_pattern"))
    return {NemotronLayer::Mamba, NemotronLayer::MoE, NemotronLayer::Attention,
            NemotronLayer::MLP};
  std::string pattern = r.string("hybrid_override_pattern", "");
  for (auto [i, c] : enumerate(pattern)) {
    switch (c) {
    case 'M':
      layers.push_back(NemotronLayer::Mamba);
      break;
    case '*':
      layers.push_back(NemotronLayer::Attention);
      break;
    case '-':
      layers.push_back(NemotronLayer::MLP);
      break;
    case 'E':
      layers.push_back(NemotronLayer::MoE);
      break;
    default:
      r.fail(r.config.errorAtElement(
          "hybrid_override_pattern", i,
          formatv("bad character '{0}' at index {1} of "
                  "hybrid_override_pattern (expected M, *, - or E)",
                  c, i)));
      return {};
    }
  }
  r.require(!layers.empty(), "hybrid_override_pattern",
            "hybrid_override_pattern is empty");
  return layers;
}

/// NemotronHConfig renames a few legacy keys: the old name wins if present.
StringRef legacyOr(ConfigReader &r, StringRef legacy, StringRef modern) {
  return r.has(legacy) ? legacy : modern;
}

Mamba2Spec readNemotronMamba2(ConfigReader &r, double eps) {
  Mamba2Spec m;
  m.numHeads = r.positive("mamba_num_heads", 128);
  m.headDim = r.positive("mamba_head_dim", 64);
  StringRef groupsKey = legacyOr(r, "mamba_n_groups", "n_groups");
  m.numGroups = r.positive(groupsKey, 8);
  r.require(!r.ok() || m.numHeads % m.numGroups == 0, groupsKey,
            formatv("mamba_num_heads ({0}) is not divisible by {1} ({2})",
                    m.numHeads, groupsKey, m.numGroups));
  m.stateSize = r.positive("ssm_state_size", 128);
  m.convKernel = r.positive(legacyOr(r, "mamba_d_conv", "conv_kernel"), 4);
  m.chunkSize = r.positive(legacyOr(r, "mamba_chunk_size", "chunk_size"), 128);
  m.convBias = r.flag(legacyOr(r, "mamba_conv_bias", "use_conv_bias"), true);
  m.inProjBias = m.outProjBias = r.flag("use_bias", false);
  m.activation = r.activation("mamba_hidden_act", "silu");
  // The mixer clamps dt to (time_step_min, inf), not to time_step_limit.
  m.dtMin = r.number(legacyOr(r, "mamba_dt_min", "time_step_min"), 0.001);
  m.dtMax = kInfinity;
  m.gateNorm = true;
  m.normBeforeGate = false;
  m.gateNormEps = eps;
  if (m.numGroups > 0)
    m.gateNormGroupSize = m.dInner() / m.numGroups;
  return m;
}

MoESpec readNemotronMoE(ConfigReader &r, Activation act, bool bias) {
  MoESpec moe;
  moe.numExperts = r.positive("n_routed_experts", 8);
  moe.topK = r.positive("num_experts_per_tok", 2);
  moe.expertIntermediate = r.positive("moe_intermediate_size", 7688);
  moe.routing = MoERouting::SigmoidTopK;
  moe.normalizeTopK = r.flag("norm_topk_prob", true);
  moe.routedScaling = r.number("routed_scaling_factor", 1.0);
  moe.selectionBias = true; // e_score_correction_bias
  moe.numGroups = r.positive("n_group", 1);
  moe.topKGroups = r.positive("topk_group", 1);
  moe.activation = act;
  moe.gatedExperts = false;
  moe.sharedIntermediate =
      r.positive("moe_shared_expert_intermediate_size", 7688);
  moe.sharedGated = false;
  moe.sharedBias = bias;
  moe.latentDim = r.integer("moe_latent_size", 0);
  moe.latentBias = bias;
  r.require(!r.ok() || moe.topK <= moe.numExperts, "num_experts_per_tok",
            formatv("num_experts_per_tok ({0}) exceeds n_routed_experts ({1})",
                    moe.topK, moe.numExperts));
  r.require(!r.ok() || moe.numExperts % moe.numGroups == 0, "n_group",
            formatv("n_routed_experts ({0}) is not divisible by n_group ({1})",
                    moe.numExperts, moe.numGroups));
  return moe;
}

Error buildNemotronH(ConfigReader &r, ModelSpec &spec) {
  readBasicsInto(r, spec, false);
  // NemotronHForCausalLM declares no tied weights: lm_head is always its own.
  spec.tieWordEmbeddings = false;
  int64_t hidden = spec.hiddenSize;
  NormSpec norm = rmsNorm(r.number("layer_norm_epsilon", 1e-5));
  std::vector<NemotronLayer> layers = readNemotronLayers(r);
  if (!r.ok())
    return r.takeError();

  // head_dim is a config field with a default of 128, not hidden / heads.
  AttentionSpec attention =
      readAttentionShape(r, hidden, 8, "head_dim", /*headDimFallback=*/128);
  attention.rope.enabled = false;

  Mamba2Spec mamba = readNemotronMamba2(r, norm.eps);
  Activation mlpAct = r.activation("mlp_hidden_act", "relu2");
  bool mlpBias = r.flag("mlp_bias", false);
  MLPSpec mlp;
  mlp.intermediate = r.positive("intermediate_size");
  mlp.activation = mlpAct;
  mlp.gated = false;
  mlp.bias = mlpBias;
  bool hasMoE = is_contained(layers, NemotronLayer::MoE);
  MoESpec moe = hasMoE ? readNemotronMoE(r, mlpAct, mlpBias) : MoESpec();
  if (!r.ok())
    return r.takeError();

  for (auto [index, layer] : enumerate(layers)) {
    BlockBody body = mamba;
    if (layer == NemotronLayer::Attention)
      body = attention;
    else if (layer == NemotronLayer::MLP)
      body = mlp;
    else if (layer == NemotronLayer::MoE)
      body = moe;
    appendBlock(spec, index, std::move(body), norm);
  }
  spec.finalNorm = norm;
  return Error::success();
}

void bindNemotronMoE(const Block &block, const std::string &mixer, Binder &b) {
  const MoESpec &moe = block.as<MoESpec>();
  const std::string &p = block.prefix;
  b.direct(p + ".router", mixer + ".gate.weight");
  b.direct(p + ".selection_bias", mixer + ".gate.e_score_correction_bias");
  // transformers keeps this buffer in float32 whatever the model dtype.
  b.setDType(p + ".selection_bias", DType::F32);
  std::vector<std::string> ups, downs;
  for (int64_t e = 0; e < moe.numExperts; ++e) {
    std::string expert = mixer + ".experts." + std::to_string(e);
    ups.push_back(expert + ".up_proj.weight");
    downs.push_back(expert + ".down_proj.weight");
  }
  int64_t width = moe.latentDim > 0 ? moe.latentDim : b.shapeOf("embed")[1];
  b.stack(p + ".experts.up_proj", ups, {moe.expertIntermediate, width});
  b.stack(p + ".experts.down_proj", downs, {width, moe.expertIntermediate});
  b.linear(p + ".shared_expert", "up_proj", mixer + ".shared_experts.up_proj");
  b.linear(p + ".shared_expert", "down_proj",
           mixer + ".shared_experts.down_proj");
  if (moe.latentDim > 0) {
    b.linear(p, "latent_in", mixer + ".fc1_latent_proj");
    b.linear(p, "latent_out", mixer + ".fc2_latent_proj");
  }
}

void bindNemotronH(const ModelSpec &spec, Binder &b) {
  b.direct("embed", "backbone.embeddings.weight");
  for (const Block &block : spec.blocks) {
    std::string layer = layerModule("backbone", block.layer);
    std::string mixer = layer + ".mixer";
    b.norm(block, layer + ".norm");
    switch (block.kind()) {
    case BlockKind::Mamba2:
      b.mamba2(block, mixer);
      break;
    case BlockKind::Attention:
      b.attention(block, mixer);
      break;
    case BlockKind::MLP:
      b.linear(block.prefix, "up_proj", mixer + ".up_proj");
      b.linear(block.prefix, "down_proj", mixer + ".down_proj");
      break;
    default:
      bindNemotronMoE(block, mixer, b);
      break;
    }
  }
  bindHead(spec, b, "backbone.norm_f.weight");
}

//===----------------------------------------------------------------------===//
// GraniteMoeHybrid
//===----------------------------------------------------------------------===//

/// layer_types: "mamba"/"linear_attention" or "attention"/"full_attention".
std::vector<bool> readGraniteAttentionLayers(ConfigReader &r, int64_t layers) {
  std::vector<bool> isAttention(layers, false);
  if (!r.has("layer_types"))
    return isAttention; // transformers' default: all Mamba2
  std::vector<std::string> types = r.stringList("layer_types");
  r.require(!r.ok() || static_cast<int64_t>(types.size()) == layers,
            "layer_types",
            formatv("layer_types lists {0} layers, num_hidden_layers is {1}",
                    types.size(), layers));
  for (auto [i, type] : enumerate(types)) {
    if (!r.ok())
      break;
    bool attention = type == "full_attention" || type == "attention";
    bool mamba = type == "linear_attention" || type == "mamba";
    if (!attention && !mamba)
      r.fail(r.config.errorAtElement(
          "layer_types", i,
          "unknown layer type '" + type +
              "' (expected linear_attention or full_attention)"));
    isAttention[i] = attention;
  }
  return isAttention;
}

Error buildGraniteMoeHybrid(ConfigReader &r, ModelSpec &spec) {
  readBasicsInto(r, spec, false);
  int64_t hidden = spec.hiddenSize;
  int64_t layers = r.positive("num_hidden_layers");
  NormSpec norm = rmsNorm(r.number("rms_norm_eps", 1e-6));
  spec.embeddingMultiplier = r.number("embedding_multiplier", 1.0);
  double logitsScaling = r.number("logits_scaling", 1.0);
  r.require(logitsScaling != 0, "logits_scaling", "logits_scaling is zero");
  spec.logitsMultiplier = 1.0 / logitsScaling;
  double residualMultiplier = r.number("residual_multiplier", 1.0);

  Mamba2Spec mamba =
      readPrefixedMamba2(r, r.positive("mamba_expand", 2) * hidden, norm.eps);
  AttentionSpec attention = readAttentionShape(r, hidden, -1, "head_dim");
  attention.scale = r.number("attention_multiplier", 1.0);
  attention.qkvBias = attention.oBias = r.flag("attention_bias", false);
  if (r.string("position_embedding_type", "") == "rope")
    attention.rope = readRope(r, attention.headDim, false);

  int64_t experts = r.integer("num_local_experts", 8);
  int64_t sharedSize = r.positive("shared_intermediate_size", 1024);
  Activation act = r.activation("hidden_act", "silu");
  BlockBody ffn;
  if (experts > 0) {
    MoESpec moe;
    moe.numExperts = experts;
    moe.topK = r.positive("num_experts_per_tok", 2);
    r.require(!r.ok() || moe.topK <= experts, "num_experts_per_tok",
              formatv("num_experts_per_tok ({0}) exceeds num_local_experts "
                      "({1})",
                      moe.topK, experts));
    moe.expertIntermediate = r.positive("intermediate_size");
    moe.routing = MoERouting::TopKSoftmax;
    moe.activation = act;
    moe.sharedIntermediate = sharedSize;
    ffn = moe;
  } else {
    // Without experts the layer keeps only its shared MLP.
    MLPSpec mlp;
    mlp.intermediate = sharedSize;
    mlp.activation = act;
    ffn = mlp;
  }
  std::vector<bool> isAttention = readGraniteAttentionLayers(r, layers);
  if (!r.ok())
    return r.takeError();

  for (int64_t layer = 0; layer < layers; ++layer) {
    Block &mixer = appendBlock(
        spec, layer,
        isAttention[layer] ? BlockBody(attention) : BlockBody(mamba), norm);
    mixer.residualMultiplier = residualMultiplier;
    appendBlock(spec, layer, ffn, norm).residualMultiplier = residualMultiplier;
  }
  spec.finalNorm = norm;
  return Error::success();
}

void bindGraniteMoeHybrid(const ModelSpec &spec, Binder &b) {
  b.direct("embed", "model.embed_tokens.weight");
  for (const Block &block : spec.blocks) {
    std::string layer = layerModule("model", block.layer);
    const std::string &p = block.prefix;
    switch (block.kind()) {
    case BlockKind::Mamba2:
      b.norm(block, layer + ".input_layernorm");
      b.mamba2(block, layer + ".mamba");
      break;
    case BlockKind::Attention:
      b.norm(block, layer + ".input_layernorm");
      b.attention(block, layer + ".self_attn");
      break;
    case BlockKind::MoE: {
      b.norm(block, layer + ".post_attention_layernorm");
      std::string moe = layer + ".block_sparse_moe";
      b.direct(p + ".router", moe + ".router.layer.weight");
      b.direct(p + ".experts.gate_up_proj", moe + ".input_linear.weight");
      b.direct(p + ".experts.down_proj", moe + ".output_linear.weight");
      b.direct(p + ".shared_expert.gate_up_proj",
               layer + ".shared_mlp.input_linear.weight");
      b.direct(p + ".shared_expert.down_proj",
               layer + ".shared_mlp.output_linear.weight");
      break;
    }
    default: // dense: the shared MLP alone
      b.norm(block, layer + ".post_attention_layernorm");
      b.direct(p + ".gate_up_proj", layer + ".shared_mlp.input_linear.weight");
      b.direct(p + ".down_proj", layer + ".shared_mlp.output_linear.weight");
      break;
    }
  }
  bindHead(spec, b, "model.norm.weight");
}

//===----------------------------------------------------------------------===//
// Falcon-H1
//===----------------------------------------------------------------------===//

/// A list of exactly `count` multipliers, all ones when absent.
std::vector<double> readMultipliers(ConfigReader &r, StringRef key,
                                    size_t count) {
  if (!r.has(key))
    return std::vector<double>(count, 1.0);
  std::vector<double> values = r.numberList(key);
  r.require(!r.ok() || values.size() == count, key,
            formatv("'{0}' must hold {1} numbers, found {2}", key, count,
                    values.size()));
  values.resize(count, 1.0);
  return values;
}

Mamba2Spec readFalconMamba2(ConfigReader &r, int64_t hidden, double eps) {
  int64_t dInner = r.has("mamba_d_ssm")
                       ? r.positive("mamba_d_ssm")
                       : r.positive("mamba_expand", 2) * hidden;
  Mamba2Spec m = readPrefixedMamba2(r, dInner, eps);
  m.outProjBias = r.flag("projectors_bias", false);
  m.gateNorm = r.flag("mamba_rms_norm", false);
  m.normBeforeGate = r.flag("mamba_norm_before_gate", true);
  if (m.numGroups > 0)
    m.gateNormGroupSize = dInner / m.numGroups;
  std::vector<double> mup = readMultipliers(r, "ssm_multipliers", 5);
  std::copy(mup.begin(), mup.end(), m.inProjMultipliers.begin());
  return m;
}

Error buildFalconH1(ConfigReader &r, ModelSpec &spec) {
  readBasicsInto(r, spec, false);
  int64_t hidden = spec.hiddenSize;
  int64_t layers = r.positive("num_hidden_layers");
  NormSpec norm = rmsNorm(r.number("rms_norm_eps", 1e-5));
  spec.embeddingMultiplier = r.number("embedding_multiplier", 1.0);
  spec.logitsMultiplier = r.number("lm_head_multiplier", 1.0);

  Block attention;
  AttentionSpec attn = readAttentionShape(r, hidden, 8, "head_dim");
  attn.rope = readRope(r, attn.headDim, false);
  attn.qkvBias = attn.oBias = r.flag("attention_bias", false);
  attn.keyMultiplier = r.number("key_multiplier", 1.0);
  attention.body = attn;
  attention.inputMultiplier = r.number("attention_in_multiplier", 1.0);
  attention.residual = false;

  Block mamba;
  mamba.body = readFalconMamba2(r, hidden, norm.eps);
  mamba.inputMultiplier = r.number("ssm_in_multiplier", 1.0);
  mamba.residual = false;

  ParallelSpec parallel;
  parallel.branches = {attention, mamba};
  parallel.merge = MergeMode::Sum;
  parallel.multipliers = {r.number("attention_out_multiplier", 1.0),
                          r.number("ssm_out_multiplier", 1.0)};

  MLPSpec mlp = readGatedMLP(r, r.positive("intermediate_size"));
  std::vector<double> mlpMultipliers = readMultipliers(r, "mlp_multipliers", 2);
  mlp.gateMultiplier = mlpMultipliers[0];
  mlp.downMultiplier = mlpMultipliers[1];
  if (!r.ok())
    return r.takeError();

  for (int64_t layer = 0; layer < layers; ++layer) {
    appendBlock(spec, layer, parallel, norm);
    appendBlock(spec, layer, mlp, norm);
  }
  spec.finalNorm = norm;
  return Error::success();
}

void bindFalconH1(const ModelSpec &spec, Binder &b) {
  b.direct("embed", "model.embed_tokens.weight");
  for (const Block &block : spec.blocks) {
    std::string layer = layerModule("model", block.layer);
    if (block.is<MLPSpec>()) {
      b.norm(block, layer + ".pre_ff_layernorm");
      b.splitGatedMLP(block.prefix, layer + ".feed_forward", "gate_proj",
                      "up_proj", "down_proj");
      continue;
    }
    b.norm(block, layer + ".input_layernorm");
    for (const Block &branch : block.as<ParallelSpec>().branches) {
      if (branch.is<AttentionSpec>())
        b.attention(branch, layer + ".self_attn");
      else
        b.mamba2(branch, layer + ".mamba");
    }
  }
  bindHead(spec, b, "model.final_layernorm.weight");
}

} // namespace

const FamilyImporter kBambaImporter = {"bamba", buildBamba, bindBamba};
const FamilyImporter kNemotronHImporter = {"nemotron_h", buildNemotronH,
                                           bindNemotronH};
const FamilyImporter kGraniteMoeHybridImporter = {
    "granitemoehybrid", buildGraniteMoeHybrid, bindGraniteMoeHybrid};
const FamilyImporter kFalconH1Importer = {"falcon_h1", buildFalconH1,
                                          bindFalconH1};

} // namespace frontend
} // namespace braid
