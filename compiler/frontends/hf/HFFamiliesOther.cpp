//===- HFFamiliesOther.cpp - Llama, Jamba and Zamba2 ----------------------===//
//
// llama   attention (full rotary) + gated MLP per layer.
// jamba   Mamba1 (dt rank, RMS norms on dt/B/C) or attention without rope,
//         chosen by attn_layer_period/offset; MoE (softmax over all experts,
//         top k, no renormalization) or gated MLP, chosen by
//         expert_layer_period/offset.
// zamba2  Mamba2 backbone; each "hybrid" layer first runs a shared
//         transformer block (attention on concat(hidden, embeddings) with
//         scale (head_dim/2)^-0.5, then a gated MLP with a per-invocation LoRA
//         adapter), passes it through a per-layer linear and adds the result
//         to the input of the layer's Mamba2 norm (not to the residual).
//         Shared blocks cycle over num_mem_blocks definitions when
//         tie_word_embeddings is set; otherwise every hybrid layer has its
//         own (see buildZamba2).
//
//===----------------------------------------------------------------------===//

#include "compiler/frontends/hf/ImportHelpers.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <map>
#include <set>

using namespace llvm;

namespace braid {
namespace frontend {

namespace {

//===----------------------------------------------------------------------===//
// Llama
//===----------------------------------------------------------------------===//

Error buildLlama(ConfigReader &r, ModelSpec &spec) {
  readBasicsInto(r, spec, false);
  int64_t layers = r.positive("num_hidden_layers");
  NormSpec norm = rmsNorm(r.number("rms_norm_eps", 1e-6));
  AttentionSpec attention =
      readAttentionShape(r, spec.hiddenSize, -1, "head_dim");
  // Llama's default rope ignores partial_rotary_factor.
  attention.rope = readRope(r, attention.headDim, false);
  attention.qkvBias = attention.oBias = r.flag("attention_bias", false);
  MLPSpec mlp = readGatedMLP(r, r.positive("intermediate_size"));
  if (!r.ok())
    return r.takeError();
  for (int64_t layer = 0; layer < layers; ++layer) {
    appendBlock(spec, layer, attention, norm);
    appendBlock(spec, layer, mlp, norm);
  }
  spec.finalNorm = norm;
  return Error::success();
}

void bindLlama(const ModelSpec &spec, Binder &b) {
  b.direct("embed", "model.embed_tokens.weight");
  for (const Block &block : spec.blocks) {
    std::string layer = layerModule("model", block.layer);
    if (block.is<AttentionSpec>()) {
      b.norm(block, layer + ".input_layernorm");
      b.attention(block, layer + ".self_attn");
    } else {
      b.norm(block, layer + ".post_attention_layernorm");
      b.splitGatedMLP(block.prefix, layer + ".mlp", "gate_proj", "up_proj",
                      "down_proj");
    }
  }
  bindHead(spec, b, "model.norm.weight");
}

//===----------------------------------------------------------------------===//
// Jamba
//===----------------------------------------------------------------------===//

/// A (period, offset) pair with offset < period, as JambaConfig validates.
std::pair<int64_t, int64_t> readPeriod(ConfigReader &r, StringRef periodKey,
                                       int64_t period, StringRef offsetKey,
                                       int64_t offset) {
  int64_t p = r.positive(periodKey, period);
  int64_t o = r.integer(offsetKey, offset);
  r.require(!r.ok() || (o >= 0 && o < p), offsetKey,
            formatv("{0} ({1}) must be in [0, {2} = {3})", offsetKey, o,
                    periodKey, p));
  return {p, o};
}

MambaSpec readJambaMamba(ConfigReader &r, int64_t hidden, double eps) {
  MambaSpec m;
  m.dInner = r.positive("mamba_expand", 2) * hidden;
  m.stateSize = r.positive("mamba_d_state", 16);
  m.convKernel = r.positive("mamba_d_conv", 4);
  const json::Value *rank = r.config.get("mamba_dt_rank");
  if (rank && rank->getAsString() && *rank->getAsString() == "auto")
    rank = nullptr;
  // "auto": ceil(hidden / 16).
  m.dtRank = rank ? r.positive("mamba_dt_rank") : (hidden + 15) / 16;
  m.convBias = r.flag("mamba_conv_bias", true);
  m.inProjBias = m.outProjBias = r.flag("mamba_proj_bias", false);
  m.dtProjBias = true;
  m.activation = r.activation("hidden_act", "silu");
  m.dtBCNorm = true;
  m.dtBCNormEps = eps;
  m.skip = true;
  return m;
}

Error buildJamba(ConfigReader &r, ModelSpec &spec) {
  readBasicsInto(r, spec, false);
  int64_t hidden = spec.hiddenSize;
  int64_t layers = r.positive("num_hidden_layers");
  NormSpec norm = rmsNorm(r.number("rms_norm_eps", 1e-6));
  auto [attnPeriod, attnOffset] =
      readPeriod(r, "attn_layer_period", 8, "attn_layer_offset", 4);
  auto [expertPeriod, expertOffset] =
      readPeriod(r, "expert_layer_period", 2, "expert_layer_offset", 1);

  MambaSpec mamba = readJambaMamba(r, hidden, norm.eps);
  AttentionSpec attention = readAttentionShape(r, hidden, 8, "head_dim");
  int64_t intermediate = r.positive("intermediate_size");
  MLPSpec mlp = readGatedMLP(r, intermediate);
  mlp.bias = false; // JambaMLP has no bias, whatever mlp_bias says
  MoESpec moe;
  moe.numExperts = r.positive("num_experts", 16);
  moe.topK = r.positive("num_experts_per_tok", 2);
  r.require(!r.ok() || moe.topK <= moe.numExperts, "num_experts_per_tok",
            formatv("num_experts_per_tok ({0}) exceeds num_experts ({1})",
                    moe.topK, moe.numExperts));
  moe.expertIntermediate = intermediate;
  moe.routing = MoERouting::SoftmaxTopK;
  moe.activation = mlp.activation;
  if (!r.ok())
    return r.takeError();

  for (int64_t layer = 0; layer < layers; ++layer) {
    bool isAttention = layer % attnPeriod == attnOffset;
    // A layer "with one expert" is a plain MLP.
    bool isMoE = moe.numExperts > 1 && layer % expertPeriod == expertOffset;
    appendBlock(spec, layer,
                isAttention ? BlockBody(attention) : BlockBody(mamba), norm);
    appendBlock(spec, layer, isMoE ? BlockBody(moe) : BlockBody(mlp), norm);
  }
  spec.finalNorm = norm;
  return Error::success();
}

void bindJambaMoE(const Block &block, const std::string &module, Binder &b) {
  const MoESpec &moe = block.as<MoESpec>();
  const std::string &p = block.prefix;
  int64_t hidden = b.shapeOf("embed")[1], inner = moe.expertIntermediate;
  b.direct(p + ".router", module + ".router.weight");
  // Checkpoints keep one module per expert; the IR stacks them, gate rows
  // before up rows for each expert.
  std::vector<std::string> gateUp, down;
  std::vector<std::vector<int64_t>> gateUpShapes;
  for (int64_t e = 0; e < moe.numExperts; ++e) {
    std::string expert = module + ".experts." + std::to_string(e);
    gateUp.push_back(expert + ".gate_proj.weight");
    gateUp.push_back(expert + ".up_proj.weight");
    gateUpShapes.push_back({inner, hidden});
    gateUpShapes.push_back({inner, hidden});
    down.push_back(expert + ".down_proj.weight");
  }
  b.stackOfConcat(p + ".experts.gate_up_proj", gateUp, gateUpShapes, 2, 0);
  b.stack(p + ".experts.down_proj", down, {hidden, inner});
}

void bindJamba(const ModelSpec &spec, Binder &b) {
  b.direct("embed", "model.embed_tokens.weight");
  for (const Block &block : spec.blocks) {
    std::string layer = layerModule("model", block.layer);
    switch (block.kind()) {
    case BlockKind::Mamba:
      b.norm(block, layer + ".input_layernorm");
      b.mamba1(block, layer + ".mamba");
      break;
    case BlockKind::Attention:
      b.norm(block, layer + ".input_layernorm");
      b.attention(block, layer + ".self_attn");
      break;
    case BlockKind::MoE:
      b.norm(block, layer + ".pre_ff_layernorm");
      bindJambaMoE(block, layer + ".feed_forward", b);
      break;
    default:
      b.norm(block, layer + ".pre_ff_layernorm");
      b.splitGatedMLP(block.prefix, layer + ".feed_forward", "gate_proj",
                      "up_proj", "down_proj");
      break;
    }
  }
  bindHead(spec, b, "model.final_layernorm.weight");
}

//===----------------------------------------------------------------------===//
// Zamba2
//===----------------------------------------------------------------------===//

/// Zamba2Config's default stack when layers_block_type is absent.
std::vector<bool> zamba2DefaultHybridLayers() {
  std::vector<bool> hybrid(1, false);
  for (int i = 0; i < 7; ++i) {
    hybrid.insert(hybrid.end(), 5, false);
    hybrid.push_back(true);
  }
  hybrid.insert(hybrid.end(), 4, false);
  hybrid.push_back(true);
  hybrid.insert(hybrid.end(), 3, false);
  hybrid.push_back(true);
  hybrid.insert(hybrid.end(), 2, false);
  return hybrid;
}

std::vector<bool> readZamba2HybridLayers(ConfigReader &r) {
  if (!r.has("layers_block_type"))
    return zamba2DefaultHybridLayers();
  std::vector<std::string> types = r.stringList("layers_block_type");
  std::vector<bool> hybrid;
  for (auto [i, type] : enumerate(types)) {
    bool isHybrid = type == "hybrid";
    if (!isHybrid && type != "mamba" && type != "linear_attention") {
      r.fail(r.config.errorAtElement(
          "layers_block_type", i,
          "unknown layer type '" + type +
              "' (expected linear_attention or hybrid)"));
      return {};
    }
    hybrid.push_back(isHybrid);
  }
  r.require(!hybrid.empty(), "layers_block_type", "layers_block_type is empty");
  return hybrid;
}

Mamba2Spec readZamba2Mamba2(ConfigReader &r, int64_t hidden) {
  Mamba2Spec m;
  int64_t dInner = r.positive("mamba_expand", 2) * hidden;
  m.numHeads = r.positive("n_mamba_heads", 8);
  r.require(!r.ok() || dInner % m.numHeads == 0, "n_mamba_heads",
            formatv("mamba_expand x hidden_size ({0}) is not divisible by "
                    "n_mamba_heads ({1})",
                    dInner, m.numHeads));
  m.headDim = dInner / std::max<int64_t>(m.numHeads, 1);
  m.numGroups = r.positive("mamba_ngroups", 1);
  r.require(!r.ok() || m.numHeads % m.numGroups == 0, "mamba_ngroups",
            formatv("n_mamba_heads ({0}) is not divisible by mamba_ngroups "
                    "({1})",
                    m.numHeads, m.numGroups));
  m.stateSize = r.positive("mamba_d_state", 64);
  m.convKernel = r.positive("mamba_d_conv", 4);
  m.chunkSize = r.positive("chunk_size", 256);
  m.convBias = true; // Zamba2's conv1d always has a bias
  m.inProjBias = m.outProjBias = r.flag("add_bias_linear", false);
  m.activation = Activation::Silu;
  m.dtMin = r.number("time_step_min", 0.001);
  m.dtMax = kInfinity;
  m.gateNorm = true;
  m.normBeforeGate = false;
  m.gateNormEps = 1e-5; // fixed in Zamba2MambaMixer
  m.gateNormGroupSize = dInner / std::max<int64_t>(m.numGroups, 1);
  return m;
}

/// The shared transformer: attention on concat(hidden, embeddings), then a
/// gated MLP; no residuals inside (the hybrid layer consumes the output).
SharedDefinition readZamba2Shared(ConfigReader &r, int64_t hidden,
                                  NormSpec norm) {
  AttentionSpec attention;
  attention.numHeads = r.positive("num_attention_heads", 32);
  int64_t heads = attention.numHeads, width = 2 * hidden;
  r.require(!r.ok() || width % heads == 0, "num_attention_heads",
            formatv("2 x hidden_size ({0}) is not divisible by "
                    "num_attention_heads ({1})",
                    width, heads));
  attention.headDim = width / std::max<int64_t>(heads, 1);
  attention.numKVHeads = r.positive("num_key_value_heads", heads);
  r.require(!r.ok() || heads % attention.numKVHeads == 0, "num_key_value_heads",
            formatv("num_attention_heads ({0}) is not divisible by "
                    "num_key_value_heads ({1})",
                    heads, attention.numKVHeads));
  attention.inputDim = width;
  attention.outputDim = hidden;
  attention.scale = 1.0 / std::sqrt(attention.headDim / 2.0);
  if (r.flag("use_mem_rope", false))
    attention.rope = readRope(r, attention.headDim, false);

  MLPSpec mlp = readGatedMLP(r, r.positive("intermediate_size", 4 * hidden));
  mlp.bias = r.flag("add_bias_linear", false);

  SharedDefinition definition;
  for (BlockBody body : {BlockBody(attention), BlockBody(mlp)}) {
    Block block;
    block.body = std::move(body);
    block.norm = norm;
    block.residual = false;
    definition.blocks.push_back(std::move(block));
  }
  return definition;
}

Error buildZamba2(ConfigReader &r, ModelSpec &spec) {
  readBasicsInto(r, spec, true);
  int64_t hidden = spec.hiddenSize;
  NormSpec norm = rmsNorm(r.number("rms_norm_eps", 1e-5));
  std::vector<bool> hybrid = readZamba2HybridLayers(r);
  Mamba2Spec mamba = readZamba2Mamba2(r, hidden);
  int64_t memBlocks = r.positive("num_mem_blocks", 1);
  int64_t rank = r.positive("adapter_rank", 128);
  bool attentionAdapters = r.flag("use_shared_attention_adapter", false);
  SharedDefinition definition = readZamba2Shared(r, hidden, norm);
  if (!r.ok())
    return r.takeError();

  // transformers (5.17) gives every hybrid layer its own shared_transformer
  // module and ties hybrid layer k's to the (k mod num_mem_blocks)-th one
  // only through _tied_weights_keys, which tie_weights applies only when
  // tie_word_embeddings is set. Without it nothing is tied: each hybrid layer
  // runs (and save_pretrained writes) its own copy of the block, so each gets
  // its own definition here.
  int64_t hybridCount = llvm::count(hybrid, true);
  int64_t definitions =
      spec.tieWordEmbeddings ? std::min(memBlocks, hybridCount) : hybridCount;
  for (int64_t d = 0; d < definitions; ++d)
    spec.sharedDefinitions.push_back(definition);

  int64_t ordinal = 0;
  for (auto [layer, isHybrid] : enumerate(hybrid)) {
    if (isHybrid) {
      SharedSpec shared;
      shared.definition = ordinal++ % definitions;
      shared.concatEmbeddings = true;
      shared.outputLinear = true;
      shared.adapters.push_back({1, "gate_up_proj", rank});
      if (attentionAdapters)
        for (const char *proj : {"q_proj", "k_proj", "v_proj"})
          shared.adapters.push_back({0, proj, rank});
      shared.output = SharedSpec::Output::NextInput;
      appendBlock(spec, layer, shared, NormSpec()).residual = false;
    }
    appendBlock(spec, layer, mamba, norm);
  }
  spec.finalNorm = norm;
  return Error::success();
}

/// Where HF stores the adapter `adapter` of hybrid invocation `ordinal`,
/// below a shared_transformer module.
std::string zamba2AdapterModule(const LoRAAdapter &adapter, int64_t ordinal) {
  std::string index = std::to_string(ordinal);
  if (adapter.projection == "gate_up_proj")
    return "feed_forward.gate_up_proj_adapter_list." + index;
  // q_proj -> self_attn.linear_q_adapter_list.<i>
  return "self_attn.linear_" + adapter.projection.substr(0, 1) +
         "_adapter_list." + index;
}

class Zamba2Binder {
public:
  Zamba2Binder(const ModelSpec &spec, Binder &b) : spec(spec), b(b) {
    // HF ties every use of definition d to the modules of the first hybrid
    // layer that uses it; the others may appear as aliases.
    int64_t ordinal = 0;
    for (const Block &block : spec.blocks)
      if (block.is<SharedSpec>()) {
        unsigned d = block.as<SharedSpec>().definition;
        layersOf[d].push_back(block.layer);
        ordinalsOf[d].insert(ordinal++);
        adaptersOf[d] = &block.as<SharedSpec>().adapters;
      }
    hybridCount = ordinal;
  }

  void run() {
    b.direct("embed", "model.embed_tokens.weight");
    std::set<int64_t> hybridLayers;
    for (const Block &block : spec.blocks)
      if (block.is<SharedSpec>())
        hybridLayers.insert(block.layer);
    int64_t ordinal = 0;
    for (const Block &block : spec.blocks) {
      if (block.is<SharedSpec>())
        invocation(block, ordinal++);
      else
        mamba(block, hybridLayers.count(block.layer) != 0);
    }
    for (auto [d, definition] : enumerate(spec.sharedDefinitions)) {
      shared(d, definition);
      unusedAdapterSlots(d);
    }
    bindHead(spec, b, "model.final_layernorm.weight");
  }

private:
  static std::string storage(int64_t layer) {
    return layerModule("model", layer) + ".shared_transformer";
  }

  /// Binds `ir` to `<first layer's shared_transformer>.<suffix>` and adds the
  /// same suffix below the other layers using `definition` as aliases.
  void bindTied(const std::string &ir, unsigned definition,
                const std::string &suffix) {
    const std::vector<int64_t> &layers = layersOf[definition];
    b.direct(ir, storage(layers.front()) + "." + suffix);
    for (int64_t layer : ArrayRef<int64_t>(layers).drop_front())
      b.alias(ir, storage(layer) + "." + suffix);
  }

  void invocation(const Block &block, int64_t ordinal) {
    const SharedSpec &shared = block.as<SharedSpec>();
    b.direct(block.prefix + ".linear",
             layerModule("model", block.layer) + ".linear.weight");
    for (const LoRAAdapter &adapter : shared.adapters) {
      const Block &target =
          spec.sharedDefinitions[shared.definition].blocks[adapter.block];
      // "shared.<d>.ffn" -> "ffn"
      StringRef role =
          StringRef(target.prefix).split('.').second.split('.').second;
      std::string ir =
          block.prefix + "." + role.str() + "." + adapter.projection;
      std::string module = zamba2AdapterModule(adapter, ordinal);
      bindTied(ir + ".lora_a", shared.definition, module + ".0.weight");
      bindTied(ir + ".lora_b", shared.definition, module + ".1.weight");
    }
  }

  /// A block module holds an adapter slot for every hybrid invocation i
  /// with i mod num_mem_blocks == its block_id, and invocation i reads only
  /// slot i. Untied (one definition per hybrid layer, see buildZamba2), the
  /// slots of the other invocations are never read; where tied, the slots
  /// not listed here are Identity and hold no tensor.
  void unusedAdapterSlots(unsigned d) {
    std::string module = storage(layersOf[d].front());
    for (int64_t slot = 0; slot < hybridCount; ++slot) {
      if (ordinalsOf[d].count(slot))
        continue;
      for (const LoRAAdapter &adapter : *adaptersOf[d])
        for (const char *linear : {".0.weight", ".1.weight"})
          b.unused(module + "." + zamba2AdapterModule(adapter, slot) + linear);
    }
  }

  void mamba(const Block &block, bool inHybridLayer) {
    std::string layer = layerModule("model", block.layer);
    if (inHybridLayer)
      layer += ".mamba_decoder";
    b.norm(block, layer + ".input_layernorm");
    b.mamba2(block, layer + ".mamba");
  }

  void shared(unsigned d, const SharedDefinition &definition) {
    for (const Block &block : definition.blocks) {
      const std::string &p = block.prefix;
      if (block.is<AttentionSpec>()) {
        bindTied(p + ".norm", d, "input_layernorm.weight");
        for (const char *proj : {"q_proj", "k_proj", "v_proj", "o_proj"})
          bindTied(p + "." + proj, d,
                   std::string("self_attn.") + proj + ".weight");
        continue;
      }
      bindTied(p + ".norm", d, "pre_ff_layernorm.weight");
      for (const char *proj : {"gate_up_proj", "down_proj"}) {
        std::string module = std::string("feed_forward.") + proj;
        bindTied(p + "." + proj, d, module + ".weight");
        if (b.has(p + "." + proj + "_bias"))
          bindTied(p + "." + proj + "_bias", d, module + ".bias");
      }
    }
  }

  const ModelSpec &spec;
  Binder &b;
  std::map<unsigned, std::vector<int64_t>> layersOf;
  std::map<unsigned, std::set<int64_t>> ordinalsOf;
  std::map<unsigned, const std::vector<LoRAAdapter> *> adaptersOf;
  int64_t hybridCount = 0;
};

void bindZamba2(const ModelSpec &spec, Binder &b) {
  Zamba2Binder(spec, b).run();
}

} // namespace

const FamilyImporter kLlamaImporter = {"llama", buildLlama, bindLlama};
const FamilyImporter kJambaImporter = {"jamba", buildJamba, bindJamba};
const FamilyImporter kZamba2Importer = {"zamba2", buildZamba2, bindZamba2};

} // namespace frontend
} // namespace braid
