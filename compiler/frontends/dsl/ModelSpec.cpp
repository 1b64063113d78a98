//===- ModelSpec.cpp - architecture description shared by the front ends --===//

#include "compiler/frontends/dsl/ModelSpec.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <tuple>

using namespace llvm;

namespace braid {
namespace frontend {

//===----------------------------------------------------------------------===//
// Enum spellings
//===----------------------------------------------------------------------===//

namespace {
template <typename E> struct Spelling {
  E value;
  const char *text;
};

constexpr Spelling<DType> kDTypes[] = {
    {DType::F32, "f32"}, {DType::F16, "f16"}, {DType::BF16, "bf16"}};

constexpr Spelling<Activation> kActivations[] = {
    {Activation::Identity, "identity"}, {Activation::Silu, "silu"},
    {Activation::Gelu, "gelu"},         {Activation::GeluTanh, "gelu_tanh"},
    {Activation::Relu, "relu"},         {Activation::Relu2, "relu2"},
    {Activation::Sigmoid, "sigmoid"},   {Activation::Softplus, "softplus"},
    {Activation::Tanh, "tanh"}};

constexpr Spelling<NormKind> kNormKinds[] = {{NormKind::None, "none"},
                                             {NormKind::RMS, "rms"},
                                             {NormKind::Layer, "layer"}};

constexpr Spelling<BlockKind> kBlockKinds[] = {
    {BlockKind::Mamba, "mamba"},
    {BlockKind::Mamba2, "mamba2"},
    {BlockKind::Attention, "attention"},
    {BlockKind::MLP, "mlp"},
    {BlockKind::MoE, "moe"},
    {BlockKind::Parallel, "parallel"},
    {BlockKind::Shared, "shared"}};

constexpr Spelling<MoERouting> kRoutings[] = {
    {MoERouting::SoftmaxTopK, "softmax_topk"},
    {MoERouting::TopKSoftmax, "topk_softmax"},
    {MoERouting::SigmoidTopK, "sigmoid_topk"}};

constexpr Spelling<MergeMode> kMergeModes[] = {
    {MergeMode::Sum, "sum"},
    {MergeMode::Mean, "mean"},
    {MergeMode::ConcatProj, "concat_proj"},
    {MergeMode::Attention, "attention"}};

template <typename E, size_t N>
StringRef spell(const Spelling<E> (&table)[N], E value) {
  for (const auto &entry : table)
    if (entry.value == value)
      return entry.text;
  return "?";
}

template <typename E, size_t N>
std::optional<E> lookup(const Spelling<E> (&table)[N], StringRef text) {
  for (const auto &entry : table)
    if (text == entry.text)
      return entry.value;
  return std::nullopt;
}
} // namespace

StringRef toString(DType v) { return spell(kDTypes, v); }
StringRef toString(Activation v) { return spell(kActivations, v); }
StringRef toString(NormKind v) { return spell(kNormKinds, v); }
StringRef toString(BlockKind v) { return spell(kBlockKinds, v); }
StringRef toString(MoERouting v) { return spell(kRoutings, v); }
StringRef toString(MergeMode v) { return spell(kMergeModes, v); }

std::optional<DType> parseDType(StringRef t) { return lookup(kDTypes, t); }
std::optional<Activation> parseActivation(StringRef t) {
  return lookup(kActivations, t);
}
std::optional<MoERouting> parseMoERouting(StringRef t) {
  return lookup(kRoutings, t);
}
std::optional<MergeMode> parseMergeMode(StringRef t) {
  return lookup(kMergeModes, t);
}
std::optional<BlockKind> parseBlockKind(StringRef t) {
  return lookup(kBlockKinds, t);
}

unsigned byteWidth(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

//===----------------------------------------------------------------------===//
// Equality
//===----------------------------------------------------------------------===//

bool NormSpec::operator==(const NormSpec &o) const {
  // eps and bias mean nothing without a norm.
  if (kind == NormKind::None || o.kind == NormKind::None)
    return kind == o.kind;
  return std::tie(kind, eps, bias) == std::tie(o.kind, o.eps, o.bias);
}

// Settings that mean nothing while their feature is off (the gate-norm
// epsilon without a gate norm, ...) are reset before comparing and dumping,
// so that two specs that compute the same thing compare equal.
namespace {
MambaSpec canonical(MambaSpec m) {
  if (!m.dtBCNorm)
    m.dtBCNormEps = MambaSpec().dtBCNormEps;
  return m;
}

Mamba2Spec canonical(Mamba2Spec m) {
  if (!m.gateNorm) {
    Mamba2Spec defaults;
    m.normBeforeGate = defaults.normBeforeGate;
    m.gateNormEps = defaults.gateNormEps;
    m.gateNormGroupSize = defaults.gateNormGroupSize;
  }
  return m;
}

MoESpec canonical(MoESpec m) {
  MoESpec defaults;
  if (m.sharedIntermediate == 0) {
    m.sharedGated = defaults.sharedGated;
    m.sharedBias = defaults.sharedBias;
  }
  if (m.latentDim == 0)
    m.latentBias = defaults.latentBias;
  return m;
}
} // namespace

bool MambaSpec::operator==(const MambaSpec &other) const {
  MambaSpec a = canonical(*this), o = canonical(other);
  return std::tie(a.dInner, a.stateSize, a.convKernel, a.dtRank, a.convBias,
                  a.inProjBias, a.outProjBias, a.dtProjBias, a.activation,
                  a.dtBCNorm, a.dtBCNormEps, a.skip) ==
         std::tie(o.dInner, o.stateSize, o.convKernel, o.dtRank, o.convBias,
                  o.inProjBias, o.outProjBias, o.dtProjBias, o.activation,
                  o.dtBCNorm, o.dtBCNormEps, o.skip);
}

bool Mamba2Spec::operator==(const Mamba2Spec &other) const {
  Mamba2Spec a = canonical(*this), o = canonical(other);
  return std::tie(a.numHeads, a.headDim, a.numGroups, a.stateSize, a.chunkSize,
                  a.convKernel, a.convBias, a.inProjBias, a.outProjBias,
                  a.activation, a.dtMin, a.dtMax, a.gateNorm, a.normBeforeGate,
                  a.gateNormEps, a.gateNormGroupSize, a.skip,
                  a.inProjMultipliers) ==
         std::tie(o.numHeads, o.headDim, o.numGroups, o.stateSize, o.chunkSize,
                  o.convKernel, o.convBias, o.inProjBias, o.outProjBias,
                  o.activation, o.dtMin, o.dtMax, o.gateNorm, o.normBeforeGate,
                  o.gateNormEps, o.gateNormGroupSize, o.skip,
                  o.inProjMultipliers);
}

bool RopeSpec::operator==(const RopeSpec &o) const {
  if (!enabled || !o.enabled)
    return enabled == o.enabled;
  return std::tie(theta, rotaryDim, interleaved) ==
         std::tie(o.theta, o.rotaryDim, o.interleaved);
}

bool AttentionSpec::operator==(const AttentionSpec &o) const {
  return std::tie(numHeads, numKVHeads, headDim, inputDim, outputDim, rope,
                  qkvBias, oBias, scale, slidingWindow, softcap,
                  keyMultiplier) ==
         std::tie(o.numHeads, o.numKVHeads, o.headDim, o.inputDim, o.outputDim,
                  o.rope, o.qkvBias, o.oBias, o.scale, o.slidingWindow,
                  o.softcap, o.keyMultiplier);
}

bool MLPSpec::operator==(const MLPSpec &o) const {
  return std::tie(intermediate, activation, gated, bias, gateMultiplier,
                  downMultiplier) == std::tie(o.intermediate, o.activation,
                                              o.gated, o.bias, o.gateMultiplier,
                                              o.downMultiplier);
}

bool MoESpec::operator==(const MoESpec &other) const {
  MoESpec a = canonical(*this), o = canonical(other);
  return std::tie(a.numExperts, a.topK, a.expertIntermediate, a.routing,
                  a.normalizeTopK, a.routedScaling, a.routerBias,
                  a.selectionBias, a.numGroups, a.topKGroups, a.activation,
                  a.gatedExperts, a.sharedIntermediate, a.sharedGated,
                  a.sharedBias, a.latentDim, a.latentBias) ==
         std::tie(o.numExperts, o.topK, o.expertIntermediate, o.routing,
                  o.normalizeTopK, o.routedScaling, o.routerBias,
                  o.selectionBias, o.numGroups, o.topKGroups, o.activation,
                  o.gatedExperts, o.sharedIntermediate, o.sharedGated,
                  o.sharedBias, o.latentDim, o.latentBias);
}

bool ParallelSpec::operator==(const ParallelSpec &o) const {
  return std::tie(branches, merge, multipliers) ==
         std::tie(o.branches, o.merge, o.multipliers);
}

bool LoRAAdapter::operator==(const LoRAAdapter &o) const {
  return std::tie(block, projection, rank) ==
         std::tie(o.block, o.projection, o.rank);
}

bool SharedSpec::operator==(const SharedSpec &o) const {
  return std::tie(definition, concatEmbeddings, outputLinear, adapters,
                  output) == std::tie(o.definition, o.concatEmbeddings,
                                      o.outputLinear, o.adapters, o.output);
}

bool Block::operator==(const Block &o) const {
  return std::tie(body, prefix, layer, norm, inputMultiplier,
                  residualMultiplier, residual) ==
         std::tie(o.body, o.prefix, o.layer, o.norm, o.inputMultiplier,
                  o.residualMultiplier, o.residual);
}

bool SharedDefinition::operator==(const SharedDefinition &o) const {
  return blocks == o.blocks;
}

bool ModelSpec::operator==(const ModelSpec &o) const {
  return std::tie(name, dtype, vocabSize, hiddenSize, tieWordEmbeddings,
                  embeddingMultiplier, logitsMultiplier, finalNorm,
                  sharedDefinitions, blocks) ==
         std::tie(o.name, o.dtype, o.vocabSize, o.hiddenSize,
                  o.tieWordEmbeddings, o.embeddingMultiplier,
                  o.logitsMultiplier, o.finalNorm, o.sharedDefinitions,
                  o.blocks);
}

// Block::kind() relies on the variant listing its alternatives in BlockKind
// order.
template <BlockKind K, typename T> constexpr bool alternativeIs() {
  return std::is_same_v<
      std::variant_alternative_t<static_cast<size_t>(K), BlockBody>, T>;
}
static_assert(alternativeIs<BlockKind::Mamba, MambaSpec>() &&
                  alternativeIs<BlockKind::Mamba2, Mamba2Spec>() &&
                  alternativeIs<BlockKind::Attention, AttentionSpec>() &&
                  alternativeIs<BlockKind::MLP, MLPSpec>() &&
                  alternativeIs<BlockKind::MoE, MoESpec>() &&
                  alternativeIs<BlockKind::Parallel, ParallelSpec>() &&
                  alternativeIs<BlockKind::Shared, SharedSpec>(),
              "BlockBody must list its alternatives in BlockKind order");

BlockKind Block::kind() const { return static_cast<BlockKind>(body.index()); }

//===----------------------------------------------------------------------===//
// Prefixes
//===----------------------------------------------------------------------===//

StringRef roleOf(BlockKind kind) {
  switch (kind) {
  case BlockKind::MLP:
  case BlockKind::MoE:
    return "ffn";
  case BlockKind::Shared:
    return "shared";
  default:
    return "mixer";
  }
}

namespace {
/// "name" for the first use, "name1", "name2"... for repeats.
std::string numbered(StringRef name, StringMap<unsigned> &seen) {
  unsigned count = seen[name]++;
  return count == 0 ? name.str() : (name + Twine(count)).str();
}

void assignBranchPrefixes(Block &block) {
  if (!block.is<ParallelSpec>())
    return;
  StringMap<unsigned> seen;
  for (Block &branch : block.as<ParallelSpec>().branches) {
    branch.layer = -1;
    branch.prefix =
        block.prefix + "." + numbered(toString(branch.kind()), seen);
    assignBranchPrefixes(branch);
  }
}
} // namespace

void assignPrefixes(ModelSpec &spec) {
  StringMap<unsigned> seen;
  int64_t currentLayer = -1;
  for (Block &block : spec.blocks) {
    if (block.layer != currentLayer) {
      seen.clear();
      currentLayer = block.layer;
    }
    block.prefix = "layers." + std::to_string(block.layer) + "." +
                   numbered(roleOf(block.kind()), seen);
    assignBranchPrefixes(block);
  }
  for (auto [index, definition] : enumerate(spec.sharedDefinitions)) {
    StringMap<unsigned> defSeen;
    for (Block &block : definition.blocks) {
      block.layer = -1;
      block.prefix = "shared." + std::to_string(index) + "." +
                     numbered(roleOf(block.kind()), defSeen);
      assignBranchPrefixes(block);
    }
  }
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

namespace {
using Shape = std::vector<int64_t>;

class WeightLister {
public:
  WeightLister(const ModelSpec &spec, std::vector<WeightDesc> &out)
      : spec(spec), out(out) {}

  void block(const Block &b) {
    int64_t width = b.is<AttentionSpec>() ? b.as<AttentionSpec>().inputDim
                                          : spec.hiddenSize;
    norm(b.prefix + ".norm", b.norm, width);
    std::visit([&](const auto &body) { this->body(b.prefix, body); }, b.body);
  }

  void norm(const std::string &name, const NormSpec &n, int64_t width) {
    if (n.kind == NormKind::None)
      return;
    add(name, {width});
    if (n.kind == NormKind::Layer && n.bias)
      add(name + "_bias", {width});
  }

private:
  void add(const std::string &name, Shape shape) {
    out.push_back({name, std::move(shape)});
  }
  void linear(const std::string &p, StringRef leaf, int64_t rows, int64_t cols,
              bool bias) {
    add(p + "." + leaf.str(), {rows, cols});
    if (bias)
      add(p + "." + leaf.str() + "_bias", {rows});
  }

  void body(const std::string &p, const MambaSpec &m) {
    int64_t h = spec.hiddenSize, d = m.dInner, n = m.stateSize;
    linear(p, "in_proj", 2 * d, h, m.inProjBias);
    add(p + ".conv", {d, m.convKernel});
    if (m.convBias)
      add(p + ".conv_bias", {d});
    add(p + ".x_proj", {m.dtRank + 2 * n, d});
    add(p + ".dt_proj", {d, m.dtRank});
    if (m.dtProjBias)
      add(p + ".dt_bias", {d});
    add(p + ".A", {d, n});
    if (m.skip)
      add(p + ".D", {d});
    if (m.dtBCNorm) {
      add(p + ".dt_norm", {m.dtRank});
      add(p + ".b_norm", {n});
      add(p + ".c_norm", {n});
    }
    linear(p, "out_proj", h, d, m.outProjBias);
  }

  void body(const std::string &p, const Mamba2Spec &m) {
    int64_t h = spec.hiddenSize;
    linear(p, "in_proj", m.inProjRows(), h, m.inProjBias);
    add(p + ".conv", {m.convChannels(), m.convKernel});
    if (m.convBias)
      add(p + ".conv_bias", {m.convChannels()});
    add(p + ".dt_bias", {m.numHeads});
    add(p + ".A", {m.numHeads});
    if (m.skip)
      add(p + ".D", {m.numHeads});
    if (m.gateNorm)
      add(p + ".gate_norm", {m.dInner()});
    linear(p, "out_proj", h, m.dInner(), m.outProjBias);
  }

  void body(const std::string &p, const AttentionSpec &a) {
    int64_t q = a.numHeads * a.headDim, kv = a.numKVHeads * a.headDim;
    linear(p, "q_proj", q, a.inputDim, a.qkvBias);
    linear(p, "k_proj", kv, a.inputDim, a.qkvBias);
    linear(p, "v_proj", kv, a.inputDim, a.qkvBias);
    linear(p, "o_proj", a.outputDim, q, a.oBias);
  }

  void mlp(const std::string &p, int64_t inner, bool gated, bool bias,
           int64_t width) {
    if (gated)
      linear(p, "gate_up_proj", 2 * inner, width, bias);
    else
      linear(p, "up_proj", inner, width, bias);
    linear(p, "down_proj", width, inner, bias);
  }

  void body(const std::string &p, const MLPSpec &m) {
    mlp(p, m.intermediate, m.gated, m.bias, spec.hiddenSize);
  }

  void body(const std::string &p, const MoESpec &m) {
    int64_t h = spec.hiddenSize, e = m.numExperts, i = m.expertIntermediate;
    int64_t width = m.latentDim > 0 ? m.latentDim : h;
    add(p + ".router", {e, h});
    if (m.routerBias)
      add(p + ".router_bias", {e});
    if (m.selectionBias)
      add(p + ".selection_bias", {e});
    if (m.gatedExperts)
      add(p + ".experts.gate_up_proj", {e, 2 * i, width});
    else
      add(p + ".experts.up_proj", {e, i, width});
    add(p + ".experts.down_proj", {e, width, i});
    if (m.sharedIntermediate > 0)
      mlp(p + ".shared_expert", m.sharedIntermediate, m.sharedGated,
          m.sharedBias, h);
    if (m.latentDim > 0) {
      linear(p, "latent_in", m.latentDim, h, m.latentBias);
      linear(p, "latent_out", h, m.latentDim, m.latentBias);
    }
  }

  void body(const std::string &p, const ParallelSpec &par) {
    for (const Block &branch : par.branches)
      block(branch);
    int64_t h = spec.hiddenSize, n = par.branches.size();
    if (par.merge == MergeMode::ConcatProj)
      add(p + ".merge", {h, n * h});
    else if (par.merge == MergeMode::Attention)
      add(p + ".merge", {h});
  }

  void body(const std::string &p, const SharedSpec &s) {
    int64_t h = spec.hiddenSize;
    if (s.outputLinear)
      add(p + ".linear", {h, h});
    for (const LoRAAdapter &adapter : s.adapters) {
      std::optional<WeightDesc> target = adapterTarget(s, adapter);
      if (!target)
        continue; // verifySpec reports it
      std::string base = p + "." + target->name;
      add(base + ".lora_a", {adapter.rank, target->shape[1]});
      add(base + ".lora_b", {target->shape[0], adapter.rank});
    }
  }

public:
  /// The target weight of an adapter, its name relative to the definition
  /// ("ffn.gate_up_proj") and its [out, in] shape.
  std::optional<WeightDesc> adapterTarget(const SharedSpec &s,
                                          const LoRAAdapter &adapter) const {
    if (s.definition >= spec.sharedDefinitions.size())
      return std::nullopt;
    const auto &defBlocks = spec.sharedDefinitions[s.definition].blocks;
    if (adapter.block >= defBlocks.size())
      return std::nullopt;
    const Block &target = defBlocks[adapter.block];
    std::vector<WeightDesc> weights;
    WeightLister(spec, weights).block(target);
    std::string full = target.prefix + "." + adapter.projection;
    for (const WeightDesc &w : weights) {
      if (w.name != full || w.shape.size() != 2)
        continue;
      // Strip "shared.<D>." to get the name relative to the definition.
      StringRef relative(w.name);
      relative = relative.drop_front(relative.find('.') + 1);
      relative = relative.drop_front(relative.find('.') + 1);
      return WeightDesc{relative.str(), w.shape};
    }
    return std::nullopt;
  }

private:
  const ModelSpec &spec;
  std::vector<WeightDesc> &out;
};
} // namespace

std::vector<WeightDesc> enumerateWeights(const ModelSpec &spec) {
  std::vector<WeightDesc> out;
  WeightLister lister(spec, out);
  out.push_back({"embed", {spec.vocabSize, spec.hiddenSize}});
  for (const Block &block : spec.blocks)
    lister.block(block);
  for (const SharedDefinition &definition : spec.sharedDefinitions)
    for (const Block &block : definition.blocks)
      lister.block(block);
  lister.norm("final_norm", spec.finalNorm, spec.hiddenSize);
  if (!spec.tieWordEmbeddings)
    out.push_back({"lm_head", {spec.vocabSize, spec.hiddenSize}});
  return out;
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

namespace {
class SpecVerifier {
public:
  explicit SpecVerifier(const ModelSpec &spec) : spec(spec) {}

  Error run() {
    if (spec.vocabSize <= 0)
      return fail("model", "vocab must be positive, got " +
                               std::to_string(spec.vocabSize));
    if (spec.hiddenSize <= 0)
      return fail("model", "hidden must be positive, got " +
                               std::to_string(spec.hiddenSize));
    if (spec.blocks.empty())
      return fail("model", "the stack has no blocks");
    if (Error err = checkPrefixes())
      return err;
    for (auto [index, block] : enumerate(spec.blocks))
      if (Error err = checkTopLevel(block, index))
        return err;
    for (const SharedDefinition &definition : spec.sharedDefinitions) {
      if (definition.blocks.empty())
        return fail("shared definition", "has no blocks");
      for (const Block &block : definition.blocks) {
        if (block.is<SharedSpec>())
          return fail(block.prefix, "a shared definition cannot invoke "
                                    "another shared block");
        if (Error err = checkBlock(block))
          return err;
      }
    }
    return Error::success();
  }

private:
  static Error fail(StringRef where, const Twine &what) {
    return createStringError(inconvertibleErrorCode(),
                             "invalid model spec: " + where + ": " + what);
  }

  static Error positive(StringRef where, StringRef field, int64_t value) {
    if (value > 0)
      return Error::success();
    return fail(where, field + " must be positive, got " + Twine(value));
  }

  Error checkPrefixes() {
    ModelSpec canonical = spec;
    assignPrefixes(canonical);
    std::string diff = firstDifference(spec, canonical);
    if (diff.empty())
      return Error::success();
    return fail("names", "block prefixes do not follow the naming "
                         "convention (" +
                             diff + ")");
  }

  Error checkTopLevel(const Block &block, size_t index) {
    int64_t previous = index == 0 ? -1 : spec.blocks[index - 1].layer;
    if (block.layer != previous && block.layer != previous + 1)
      return fail(block.prefix, "layer groups must be numbered 0, 1, 2... "
                                "in stack order, found " +
                                    Twine(block.layer) + " after " +
                                    Twine(previous));
    if (Error err = checkBlock(block))
      return err;
    if (!block.is<SharedSpec>())
      return Error::success();
    const SharedSpec &shared = block.as<SharedSpec>();
    if (shared.output != SharedSpec::Output::NextInput)
      return Error::success();
    if (block.residual)
      return fail(block.prefix, "an output fed to the next block's input "
                                "cannot also be a residual");
    if (index + 1 >= spec.blocks.size())
      return fail(block.prefix, "output next_input needs a next block");
    return Error::success();
  }

  Error checkBlock(const Block &block) {
    if (block.norm.kind != NormKind::None && !(block.norm.eps > 0))
      return fail(block.prefix, "norm epsilon must be positive");
    return std::visit([&](const auto &body) { return check(block, body); },
                      block.body);
  }

  Error check(const Block &b, const MambaSpec &m) {
    for (auto [field, value] :
         {std::pair<StringRef, int64_t>{"d_inner", m.dInner},
          {"state", m.stateSize},
          {"conv", m.convKernel},
          {"dt_rank", m.dtRank}})
      if (Error err = positive(b.prefix, field, value))
        return err;
    return Error::success();
  }

  Error check(const Block &b, const Mamba2Spec &m) {
    for (auto [field, value] :
         {std::pair<StringRef, int64_t>{"heads", m.numHeads},
          {"head_dim", m.headDim},
          {"groups", m.numGroups},
          {"state", m.stateSize},
          {"chunk", m.chunkSize},
          {"conv", m.convKernel}})
      if (Error err = positive(b.prefix, field, value))
        return err;
    if (m.numHeads % m.numGroups != 0)
      return fail(b.prefix, formatv("heads ({0}) must be divisible by "
                                    "groups ({1})",
                                    m.numHeads, m.numGroups));
    if (m.gateNorm &&
        (m.gateNormGroupSize <= 0 || m.dInner() % m.gateNormGroupSize != 0))
      return fail(b.prefix, formatv("gate norm group size {0} must divide "
                                    "d_inner {1}",
                                    m.gateNormGroupSize, m.dInner()));
    if (!(m.dtMin <= m.dtMax))
      return fail(b.prefix, "dt_limit minimum exceeds its maximum");
    return Error::success();
  }

  Error check(const Block &b, const AttentionSpec &a) {
    for (auto [field, value] :
         {std::pair<StringRef, int64_t>{"heads", a.numHeads},
          {"kv_heads", a.numKVHeads},
          {"head_dim", a.headDim},
          {"input_dim", a.inputDim},
          {"output_dim", a.outputDim}})
      if (Error err = positive(b.prefix, field, value))
        return err;
    if (a.numHeads % a.numKVHeads != 0)
      return fail(b.prefix, formatv("heads ({0}) must be divisible by "
                                    "kv_heads ({1})",
                                    a.numHeads, a.numKVHeads));
    if (a.rope.enabled &&
        (a.rope.rotaryDim <= 0 || a.rope.rotaryDim > a.headDim ||
         a.rope.rotaryDim % 2 != 0))
      return fail(b.prefix,
                  formatv("rotary dim {0} must be even and in (0, head_dim "
                          "{1}]",
                          a.rope.rotaryDim, a.headDim));
    if (!(a.scale > 0))
      return fail(b.prefix, "scale must be positive");
    if (a.slidingWindow && *a.slidingWindow <= 0)
      return fail(b.prefix, "sliding_window must be positive");
    if (a.softcap && !(*a.softcap > 0))
      return fail(b.prefix, "softcap must be positive");
    return Error::success();
  }

  Error check(const Block &b, const MLPSpec &m) {
    return positive(b.prefix, "intermediate", m.intermediate);
  }

  Error check(const Block &b, const MoESpec &m) {
    for (auto [field, value] :
         {std::pair<StringRef, int64_t>{"experts", m.numExperts},
          {"top_k", m.topK},
          {"intermediate", m.expertIntermediate},
          {"groups", m.numGroups},
          {"topk_groups", m.topKGroups}})
      if (Error err = positive(b.prefix, field, value))
        return err;
    if (m.topK > m.numExperts)
      return fail(b.prefix, formatv("top_k ({0}) exceeds experts ({1})", m.topK,
                                    m.numExperts));
    if (m.numExperts % m.numGroups != 0 || m.topKGroups > m.numGroups)
      return fail(b.prefix, formatv("expert groups ({0}, keeping {1}) must "
                                    "divide experts ({2})",
                                    m.numGroups, m.topKGroups, m.numExperts));
    return Error::success();
  }

  Error check(const Block &b, const ParallelSpec &p) {
    if (p.branches.empty())
      return fail(b.prefix, "a parallel block needs branches");
    bool weighted = p.merge == MergeMode::Sum || p.merge == MergeMode::Mean;
    if (weighted && p.multipliers.size() != p.branches.size())
      return fail(b.prefix, formatv("merge {0} needs one multiplier per "
                                    "branch ({1}), got {2}",
                                    toString(p.merge), p.branches.size(),
                                    p.multipliers.size()));
    if (!weighted && !p.multipliers.empty())
      return fail(b.prefix,
                  formatv("merge {0} takes no multipliers", toString(p.merge)));
    for (const Block &branch : p.branches) {
      if (branch.residual || branch.residualMultiplier != 1.0)
        return fail(branch.prefix, "a parallel branch has no residual");
      if (branch.is<SharedSpec>())
        return fail(branch.prefix, "a parallel branch cannot be a shared "
                                   "block");
      if (Error err = checkBlock(branch))
        return err;
    }
    return Error::success();
  }

  Error check(const Block &b, const SharedSpec &s) {
    if (s.definition >= spec.sharedDefinitions.size())
      return fail(b.prefix, formatv("shared definition {0} does not exist",
                                    s.definition));
    std::vector<WeightDesc> unused;
    WeightLister lister(spec, unused);
    for (const LoRAAdapter &adapter : s.adapters) {
      if (Error err = positive(b.prefix, "lora rank", adapter.rank))
        return err;
      if (!lister.adapterTarget(s, adapter))
        return fail(b.prefix,
                    formatv("LoRA target {0}.{1} is not a "
                            "projection of shared definition {2}",
                            adapter.block, adapter.projection, s.definition));
    }
    return Error::success();
  }

  const ModelSpec &spec;
};
} // namespace

Error verifySpec(const ModelSpec &spec) { return SpecVerifier(spec).run(); }

//===----------------------------------------------------------------------===//
// JSON dump and comparison
//===----------------------------------------------------------------------===//

namespace {
/// JSON has no infinity; it is written as the string "inf".
json::Value number(double value) {
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  return value;
}

json::Value toJSON(const NormSpec &n) {
  json::Object o{{"kind", toString(n.kind)}};
  if (n.kind != NormKind::None) {
    o["eps"] = number(n.eps);
    o["bias"] = n.bias;
  }
  return o;
}

json::Value bodyToJSON(const MambaSpec &spec) {
  MambaSpec m = canonical(spec);
  return json::Object{{"d_inner", m.dInner},
                      {"state", m.stateSize},
                      {"conv", m.convKernel},
                      {"dt_rank", m.dtRank},
                      {"conv_bias", m.convBias},
                      {"in_proj_bias", m.inProjBias},
                      {"out_proj_bias", m.outProjBias},
                      {"dt_proj_bias", m.dtProjBias},
                      {"activation", toString(m.activation)},
                      {"dt_bc_norm", m.dtBCNorm},
                      {"dt_bc_norm_eps", number(m.dtBCNormEps)},
                      {"skip", m.skip}};
}

json::Value bodyToJSON(const Mamba2Spec &spec) {
  Mamba2Spec m = canonical(spec);
  json::Array multipliers;
  for (double x : m.inProjMultipliers)
    multipliers.push_back(number(x));
  return json::Object{{"heads", m.numHeads},
                      {"head_dim", m.headDim},
                      {"groups", m.numGroups},
                      {"state", m.stateSize},
                      {"chunk", m.chunkSize},
                      {"conv", m.convKernel},
                      {"conv_bias", m.convBias},
                      {"in_proj_bias", m.inProjBias},
                      {"out_proj_bias", m.outProjBias},
                      {"activation", toString(m.activation)},
                      {"dt_min", number(m.dtMin)},
                      {"dt_max", number(m.dtMax)},
                      {"gate_norm", m.gateNorm},
                      {"norm_before_gate", m.normBeforeGate},
                      {"gate_norm_eps", number(m.gateNormEps)},
                      {"gate_norm_group_size", m.gateNormGroupSize},
                      {"skip", m.skip},
                      {"in_proj_multipliers", std::move(multipliers)}};
}

json::Value bodyToJSON(const AttentionSpec &a) {
  json::Object rope{{"enabled", a.rope.enabled}};
  if (a.rope.enabled) {
    rope["theta"] = number(a.rope.theta);
    rope["rotary_dim"] = a.rope.rotaryDim;
    rope["interleaved"] = a.rope.interleaved;
  }
  json::Object o{
      {"heads", a.numHeads},       {"kv_heads", a.numKVHeads},
      {"head_dim", a.headDim},     {"input_dim", a.inputDim},
      {"output_dim", a.outputDim}, {"rope", std::move(rope)},
      {"qkv_bias", a.qkvBias},     {"o_bias", a.oBias},
      {"scale", number(a.scale)},  {"key_multiplier", number(a.keyMultiplier)}};
  o["sliding_window"] =
      a.slidingWindow ? json::Value(*a.slidingWindow) : json::Value(nullptr);
  o["softcap"] = a.softcap ? number(*a.softcap) : json::Value(nullptr);
  return o;
}

json::Value bodyToJSON(const MLPSpec &m) {
  return json::Object{{"intermediate", m.intermediate},
                      {"activation", toString(m.activation)},
                      {"gated", m.gated},
                      {"bias", m.bias},
                      {"gate_multiplier", number(m.gateMultiplier)},
                      {"down_multiplier", number(m.downMultiplier)}};
}

json::Value bodyToJSON(const MoESpec &spec) {
  MoESpec m = canonical(spec);
  return json::Object{{"experts", m.numExperts},
                      {"top_k", m.topK},
                      {"intermediate", m.expertIntermediate},
                      {"routing", toString(m.routing)},
                      {"normalize", m.normalizeTopK},
                      {"routed_scaling", number(m.routedScaling)},
                      {"router_bias", m.routerBias},
                      {"selection_bias", m.selectionBias},
                      {"groups", m.numGroups},
                      {"topk_groups", m.topKGroups},
                      {"activation", toString(m.activation)},
                      {"gated", m.gatedExperts},
                      {"shared_intermediate", m.sharedIntermediate},
                      {"shared_gated", m.sharedGated},
                      {"shared_bias", m.sharedBias},
                      {"latent", m.latentDim},
                      {"latent_bias", m.latentBias}};
}

json::Value blockToJSON(const Block &b);

json::Value bodyToJSON(const ParallelSpec &p) {
  json::Array branches, multipliers;
  for (const Block &branch : p.branches)
    branches.push_back(blockToJSON(branch));
  for (double m : p.multipliers)
    multipliers.push_back(number(m));
  return json::Object{{"branches", std::move(branches)},
                      {"merge", toString(p.merge)},
                      {"multipliers", std::move(multipliers)}};
}

json::Value bodyToJSON(const SharedSpec &s) {
  json::Array adapters;
  for (const LoRAAdapter &a : s.adapters)
    adapters.push_back(json::Object{{"block", static_cast<int64_t>(a.block)},
                                    {"projection", a.projection},
                                    {"rank", a.rank}});
  return json::Object{{"definition", static_cast<int64_t>(s.definition)},
                      {"concat_embeddings", s.concatEmbeddings},
                      {"output_linear", s.outputLinear},
                      {"adapters", std::move(adapters)},
                      {"output", s.output == SharedSpec::Output::NextInput
                                     ? "next_input"
                                     : "residual"}};
}

json::Value blockToJSON(const Block &b) {
  return json::Object{
      {"kind", toString(b.kind())},
      {"prefix", b.prefix},
      {"layer", b.layer},
      {"norm", toJSON(b.norm)},
      {"input_multiplier", number(b.inputMultiplier)},
      {"residual_multiplier", number(b.residualMultiplier)},
      {"residual", b.residual},
      {"body",
       std::visit([](const auto &x) { return bodyToJSON(x); }, b.body)}};
}

std::string render(const json::Value &v) {
  std::string text;
  raw_string_ostream os(text);
  os << v;
  return text;
}

/// Depth-first search for the first differing leaf; `path` names it.
bool findDifference(const json::Value &a, const json::Value &b,
                    std::string &path) {
  if (a.kind() != b.kind()) {
    path += ": " + render(a) + " vs " + render(b);
    return true;
  }
  if (const json::Object *oa = a.getAsObject()) {
    const json::Object *ob = b.getAsObject();
    std::vector<std::string> keys;
    for (const auto &kv : *oa)
      keys.push_back(kv.first.str());
    for (const auto &kv : *ob)
      if (!oa->get(kv.first))
        keys.push_back(kv.first.str());
    llvm::sort(keys);
    for (const std::string &key : keys) {
      const json::Value *va = oa->get(key), *vb = ob->get(key);
      std::string sub = path + "." + key;
      if (!va || !vb) {
        path = sub + (va ? ": present vs absent" : ": absent vs present");
        return true;
      }
      if (findDifference(*va, *vb, sub)) {
        path = sub;
        return true;
      }
    }
    return false;
  }
  if (const json::Array *aa = a.getAsArray()) {
    const json::Array *ab = b.getAsArray();
    for (size_t i = 0; i < std::min(aa->size(), ab->size()); ++i) {
      std::string sub = path + "[" + std::to_string(i) + "]";
      if (findDifference((*aa)[i], (*ab)[i], sub)) {
        path = sub;
        return true;
      }
    }
    if (aa->size() != ab->size()) {
      path += formatv(": {0} vs {1} elements", aa->size(), ab->size()).str();
      return true;
    }
    return false;
  }
  if (a == b)
    return false;
  path += ": " + render(a) + " vs " + render(b);
  return true;
}
} // namespace

json::Value toJSON(const ModelSpec &spec) {
  json::Array blocks, definitions;
  for (const Block &b : spec.blocks)
    blocks.push_back(blockToJSON(b));
  for (const SharedDefinition &d : spec.sharedDefinitions) {
    json::Array defBlocks;
    for (const Block &b : d.blocks)
      defBlocks.push_back(blockToJSON(b));
    definitions.push_back(std::move(defBlocks));
  }
  return json::Object{
      {"name", spec.name},
      {"dtype", toString(spec.dtype)},
      {"vocab", spec.vocabSize},
      {"hidden", spec.hiddenSize},
      {"tie_embeddings", spec.tieWordEmbeddings},
      {"embedding_multiplier", number(spec.embeddingMultiplier)},
      {"logits_multiplier", number(spec.logitsMultiplier)},
      {"final_norm", toJSON(spec.finalNorm)},
      {"shared_definitions", std::move(definitions)},
      {"blocks", std::move(blocks)}};
}

std::string firstDifference(const ModelSpec &a, const ModelSpec &b) {
  std::string path = "spec";
  if (findDifference(toJSON(a), toJSON(b), path))
    return path;
  // The dump is complete, so equal dumps mean equal specs; keep the two
  // notions tied together.
  assert(a == b && "toJSON misses a field that operator== compares");
  return "";
}

//===----------------------------------------------------------------------===//
// Bindings
//===----------------------------------------------------------------------===//

bool TensorSource::operator==(const TensorSource &o) const {
  return tensor == o.tensor && shape == o.shape;
}

bool WeightTransform::operator==(const WeightTransform &o) const {
  return std::tie(combine, axis, groupSize, elementwise) ==
         std::tie(o.combine, o.axis, o.groupSize, o.elementwise);
}

namespace {
std::string shapeString(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, d] : enumerate(shape))
    text += (i ? ", " : "") + std::to_string(d);
  return text + "]";
}

std::string joinSources(ArrayRef<TensorSource> sources) {
  std::string text;
  for (auto [i, s] : enumerate(sources))
    text += (i ? ", " : "") + s.tensor;
  return text;
}

/// Shape after step 1 (combine) of the transform, or nullopt when the
/// sources do not fit it.
std::optional<Shape> combinedShape(const WeightBinding &b) {
  const WeightTransform &t = b.transform;
  if (b.sources.empty())
    return std::nullopt;
  auto concat = [&](ArrayRef<TensorSource> group) -> std::optional<Shape> {
    Shape result = group.front().shape;
    if (t.axis < 0 || t.axis >= static_cast<int64_t>(result.size()))
      return std::nullopt;
    for (const TensorSource &s : group.drop_front()) {
      if (s.shape.size() != result.size())
        return std::nullopt;
      for (size_t d = 0; d < result.size(); ++d)
        if (static_cast<int64_t>(d) != t.axis && s.shape[d] != result[d])
          return std::nullopt;
      result[t.axis] += s.shape[t.axis];
    }
    return result;
  };
  auto stack = [](ArrayRef<Shape> parts) -> std::optional<Shape> {
    for (const Shape &p : parts)
      if (p != parts.front())
        return std::nullopt;
    Shape result = parts.front();
    result.insert(result.begin(), parts.size());
    return result;
  };
  switch (t.combine) {
  case WeightTransform::Combine::Single:
    if (b.sources.size() != 1)
      return std::nullopt;
    return b.sources.front().shape;
  case WeightTransform::Combine::Concat:
    return concat(b.sources);
  case WeightTransform::Combine::Stack: {
    std::vector<Shape> parts;
    for (const TensorSource &s : b.sources)
      parts.push_back(s.shape);
    return stack(parts);
  }
  case WeightTransform::Combine::StackOfConcat: {
    if (t.groupSize <= 0 || b.sources.size() % t.groupSize != 0)
      return std::nullopt;
    std::vector<Shape> parts;
    ArrayRef<TensorSource> all(b.sources);
    for (size_t i = 0; i < all.size(); i += t.groupSize) {
      std::optional<Shape> part = concat(all.slice(i, t.groupSize));
      if (!part)
        return std::nullopt;
      parts.push_back(*part);
    }
    return stack(parts);
  }
  }
  return std::nullopt;
}

json::Value shapeJSON(ArrayRef<int64_t> shape) {
  json::Array dims;
  for (int64_t d : shape)
    dims.push_back(d);
  return dims;
}

int64_t elementCount(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}
} // namespace

std::string WeightBinding::describe() const {
  std::string inner;
  switch (transform.combine) {
  case WeightTransform::Combine::Single:
    inner = sources.empty() ? "?" : sources.front().tensor;
    break;
  case WeightTransform::Combine::Concat:
    inner = formatv("concat{0}({1})", transform.axis, joinSources(sources));
    break;
  case WeightTransform::Combine::Stack:
    inner = "stack(" + joinSources(sources) + ")";
    break;
  case WeightTransform::Combine::StackOfConcat: {
    std::string groups;
    for (size_t i = 0; transform.groupSize > 0 && i < sources.size();
         i += transform.groupSize) {
      ArrayRef<TensorSource> group =
          ArrayRef<TensorSource>(sources).slice(i, transform.groupSize);
      groups += formatv("{0}concat{1}({2})", i ? ", " : "", transform.axis,
                        joinSources(group))
                    .str();
    }
    inner = "stack(" + groups + ")";
    break;
  }
  }
  if (transform.elementwise == WeightTransform::Elementwise::NegExp)
    inner = "-exp(" + inner + ")";
  std::optional<Shape> combined = combinedShape(*this);
  if (combined && *combined != shape)
    inner = "reshape(" + inner + ", " + shapeString(shape) + ")";
  return inner;
}

const WeightBinding *BindingTable::find(StringRef irName) const {
  for (const WeightBinding &b : bindings)
    if (b.irName == irName)
      return &b;
  return nullptr;
}

Error verifyBindingsAgainstSpec(const ModelSpec &spec,
                                const BindingTable &table) {
  auto fail = [](const Twine &msg) {
    return createStringError(inconvertibleErrorCode(),
                             "inconsistent binding table: " + msg);
  };
  StringMap<const WeightBinding *> byName;
  for (const WeightBinding &b : table.bindings)
    if (!byName.try_emplace(b.irName, &b).second)
      return fail("IR weight '" + b.irName + "' is bound twice");
  StringSet<> expected;
  for (const WeightDesc &w : enumerateWeights(spec)) {
    expected.insert(w.name);
    const WeightBinding *b = byName.lookup(w.name);
    if (!b)
      return fail("IR weight '" + w.name + "' has no binding");
    if (b->shape != w.shape)
      return fail("IR weight '" + w.name + "': the spec says " +
                  shapeString(w.shape) + ", the binding " +
                  shapeString(b->shape));
    std::optional<Shape> combined = combinedShape(*b);
    if (!combined || elementCount(*combined) != elementCount(b->shape))
      return fail("IR weight '" + w.name + "': the transform " + b->describe() +
                  " does not give " + shapeString(b->shape));
  }
  for (const WeightBinding &b : table.bindings)
    if (!expected.contains(b.irName))
      return fail("binding for '" + b.irName +
                  "', which is not a weight of the spec");
  return Error::success();
}

json::Value toJSON(const BindingTable &table) {
  json::Array out;
  for (const WeightBinding &b : table.bindings) {
    json::Array sources, aliases;
    for (const TensorSource &s : b.sources)
      sources.push_back(
          json::Object{{"tensor", s.tensor}, {"shape", shapeJSON(s.shape)}});
    for (const std::string &alias : b.tiedAliases)
      aliases.push_back(alias);
    out.push_back(json::Object{{"name", b.irName},
                               {"shape", shapeJSON(b.shape)},
                               {"dtype", toString(b.dtype)},
                               {"transform", b.describe()},
                               {"sources", std::move(sources)},
                               {"tied_aliases", std::move(aliases)}});
  }
  return out;
}

} // namespace frontend
} // namespace braid
