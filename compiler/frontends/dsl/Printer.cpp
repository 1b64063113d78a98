//===- Printer.cpp - ModelSpec -> Braid model DSL -------------------------===//
//
// Identical blocks share one template; the stack becomes a pattern of layer
// groups, compressed with `(...){n}` where a run repeats. Optional fields are
// printed only when they differ from their default, so the text stays short
// and parses back to the same spec.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontends/dsl/DSL.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace llvm;

namespace braid {
namespace frontend {

std::string formatNumber(double value) {
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  char text[64];
  // Whole numbers read best without an exponent (10000, not 1e+04).
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    snprintf(text, sizeof(text), "%.0f", value);
    return text;
  }
  // Otherwise the shortest %g form that reads back as the same double.
  for (int precision = 1; precision <= 17; ++precision) {
    snprintf(text, sizeof(text), "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value)
      break;
  }
  return text;
}

namespace {

std::string boolText(bool b) { return b ? "true" : "false"; }

std::string normText(const NormSpec &norm) {
  switch (norm.kind) {
  case NormKind::None:
    return "none";
  case NormKind::RMS:
    return "rms " + formatNumber(norm.eps);
  case NormKind::Layer:
    return "layer " + formatNumber(norm.eps) + (norm.bias ? " bias" : "");
  }
  return "none";
}

StringRef baseName(BlockKind kind) {
  switch (kind) {
  case BlockKind::Mamba:
    return "mamba";
  case BlockKind::Mamba2:
    return "ssm";
  case BlockKind::Attention:
    return "attn";
  case BlockKind::MLP:
    return "mlp";
  case BlockKind::MoE:
    return "moe";
  case BlockKind::Parallel:
    return "par";
  case BlockKind::Shared:
    return "shared";
  }
  return "block";
}

/// Writes the fields of one template.
class FieldWriter {
public:
  FieldWriter(std::string &out, int64_t hidden) : out(out), hidden(hidden) {}

  void field(StringRef key, const std::string &value) {
    out += "  " + key.str() + " " + value + "\n";
  }
  void number(StringRef key, double value, double fallback) {
    if (value != fallback)
      field(key, formatNumber(value));
  }
  void integer(StringRef key, int64_t value) {
    field(key, std::to_string(value));
  }
  void integer(StringRef key, int64_t value, int64_t fallback) {
    if (value != fallback)
      integer(key, value);
  }
  void flag(StringRef key, bool value, bool fallback) {
    if (value != fallback)
      field(key, boolText(value));
  }
  void activation(StringRef key, Activation value, Activation fallback) {
    if (value != fallback)
      field(key, toString(value).str());
  }

  void common(const Block &b) {
    field("norm", normText(b.norm));
    number("input_multiplier", b.inputMultiplier, 1.0);
    number("residual_multiplier", b.residualMultiplier, 1.0);
    flag("residual", b.residual, true);
  }

  void body(const MambaSpec &m) {
    MambaSpec d;
    integer("d_inner", m.dInner);
    integer("state", m.stateSize);
    integer("conv", m.convKernel, d.convKernel);
    integer("dt_rank", m.dtRank);
    flag("conv_bias", m.convBias, d.convBias);
    flag("in_proj_bias", m.inProjBias, d.inProjBias);
    flag("out_proj_bias", m.outProjBias, d.outProjBias);
    flag("dt_proj_bias", m.dtProjBias, d.dtProjBias);
    activation("activation", m.activation, d.activation);
    if (m.dtBCNorm)
      field("dt_bc_norm", formatNumber(m.dtBCNormEps));
    flag("skip", m.skip, d.skip);
  }

  void body(const Mamba2Spec &m) {
    Mamba2Spec d;
    integer("heads", m.numHeads);
    integer("head_dim", m.headDim);
    integer("groups", m.numGroups, d.numGroups);
    integer("state", m.stateSize);
    integer("chunk", m.chunkSize, d.chunkSize);
    integer("conv", m.convKernel, d.convKernel);
    flag("conv_bias", m.convBias, d.convBias);
    flag("in_proj_bias", m.inProjBias, d.inProjBias);
    flag("out_proj_bias", m.outProjBias, d.outProjBias);
    activation("activation", m.activation, d.activation);
    if (m.dtMin != d.dtMin || m.dtMax != d.dtMax)
      field("dt_limit", formatNumber(m.dtMin) + " " + formatNumber(m.dtMax));
    if (!m.gateNorm) {
      field("gate_norm", "none");
    } else {
      std::string text = formatNumber(m.gateNormEps);
      if (m.gateNormGroupSize != m.dInner() / m.numGroups)
        text += " group " + std::to_string(m.gateNormGroupSize);
      if (m.normBeforeGate)
        text += " before_gate";
      field("gate_norm", text);
    }
    flag("skip", m.skip, d.skip);
    if (m.inProjMultipliers != d.inProjMultipliers) {
      std::string text;
      for (double x : m.inProjMultipliers)
        text += (text.empty() ? "" : " ") + formatNumber(x);
      field("in_proj_multipliers", text);
    }
  }

  void body(const AttentionSpec &a) {
    integer("heads", a.numHeads);
    integer("kv_heads", a.numKVHeads, a.numHeads);
    integer("head_dim", a.headDim);
    integer("input_dim", a.inputDim, hidden);
    integer("output_dim", a.outputDim, hidden);
    if (!a.rope.enabled) {
      field("rope", "none");
    } else {
      std::string text = formatNumber(a.rope.theta);
      if (a.rope.rotaryDim != a.headDim)
        text += " dim " + std::to_string(a.rope.rotaryDim);
      if (a.rope.interleaved)
        text += " interleaved";
      field("rope", text);
    }
    flag("qkv_bias", a.qkvBias, false);
    flag("o_bias", a.oBias, false);
    number("scale", a.scale, 1.0 / std::sqrt(static_cast<double>(a.headDim)));
    if (a.slidingWindow)
      integer("sliding_window", *a.slidingWindow);
    if (a.softcap)
      field("softcap", formatNumber(*a.softcap));
    number("key_multiplier", a.keyMultiplier, 1.0);
  }

  void body(const MLPSpec &m) {
    MLPSpec d;
    integer("intermediate", m.intermediate);
    activation("activation", m.activation, d.activation);
    flag("gated", m.gated, d.gated);
    flag("bias", m.bias, d.bias);
    number("gate_multiplier", m.gateMultiplier, d.gateMultiplier);
    number("down_multiplier", m.downMultiplier, d.downMultiplier);
  }

  void body(const MoESpec &m) {
    MoESpec d;
    integer("experts", m.numExperts);
    integer("top_k", m.topK);
    integer("intermediate", m.expertIntermediate);
    if (m.routing != d.routing)
      field("routing", toString(m.routing).str());
    flag("normalize", m.normalizeTopK, d.normalizeTopK);
    number("routed_scaling", m.routedScaling, d.routedScaling);
    flag("router_bias", m.routerBias, d.routerBias);
    flag("selection_bias", m.selectionBias, d.selectionBias);
    integer("groups", m.numGroups, d.numGroups);
    integer("topk_groups", m.topKGroups, d.topKGroups);
    activation("activation", m.activation, d.activation);
    flag("gated", m.gatedExperts, d.gatedExperts);
    if (m.sharedIntermediate > 0) {
      integer("shared_expert", m.sharedIntermediate);
      flag("shared_gated", m.sharedGated, d.sharedGated);
      flag("shared_bias", m.sharedBias, d.sharedBias);
    }
    if (m.latentDim > 0) {
      integer("latent", m.latentDim);
      flag("latent_bias", m.latentBias, d.latentBias);
    }
  }

private:
  std::string &out;
  int64_t hidden;
};

class Printer {
public:
  explicit Printer(const ModelSpec &spec) : spec(spec) {}

  std::string run() {
    std::string text = "# Braid model description\n\n";
    text += modelText() + "\n";
    for (auto [index, definition] : enumerate(spec.sharedDefinitions))
      sharedBlockName(index);
    std::vector<std::vector<std::string>> layers;
    for (const Block &block : spec.blocks) {
      if (layers.empty() || block.layer != lastLayer) {
        layers.emplace_back();
        lastLayer = block.layer;
      }
      layers.back().push_back(templateName(block, /*asBranch=*/false));
    }
    text += templates;
    std::vector<std::string> groups;
    for (const std::vector<std::string> &layer : layers)
      groups.push_back(join(layer, "+"));
    for (const std::string &line : wrap(compress(groups)))
      text += "pattern \"" + line + "\"\n";
    return text;
  }

private:
  std::string modelText() {
    std::string text = "model \"" + spec.name + "\" {\n";
    FieldWriter w(text, spec.hiddenSize);
    w.integer("vocab", spec.vocabSize);
    w.integer("hidden", spec.hiddenSize);
    if (spec.dtype != DType::F32)
      w.field("dtype", toString(spec.dtype).str());
    w.flag("tie_embeddings", spec.tieWordEmbeddings, false);
    w.field("final_norm", normText(spec.finalNorm));
    w.number("embedding_multiplier", spec.embeddingMultiplier, 1.0);
    w.number("logits_multiplier", spec.logitsMultiplier, 1.0);
    return text + "}\n";
  }

  /// What identifies a template: the block without its place in the stack.
  /// A branch's residual is set by its use, so it is not part of it.
  static Block templateKey(const Block &block, bool asBranch) {
    Block key = block;
    key.prefix.clear();
    key.layer = -1;
    if (asBranch)
      key.residual = true;
    if (key.is<ParallelSpec>())
      for (Block &branch : key.as<ParallelSpec>().branches)
        branch = templateKey(branch, true);
    return key;
  }

  std::string templateName(const Block &block, bool asBranch) {
    Block key = templateKey(block, asBranch);
    for (const auto &[name, known] : named)
      if (known == key)
        return name;
    // Templates a block refers to are written before it.
    std::vector<std::string> refs;
    if (key.is<ParallelSpec>())
      for (const Block &branch : block.as<ParallelSpec>().branches)
        refs.push_back(templateName(branch, /*asBranch=*/true));
    std::string name = freshName(baseName(key.kind()));
    named.push_back({name, key});
    writeTemplate(name, key, refs);
    return name;
  }

  std::string freshName(StringRef base) {
    unsigned count = ++nameCounts[base];
    return count == 1 ? base.str() : base.str() + std::to_string(count);
  }

  std::string sharedBlockName(unsigned index) {
    if (index < sharedBlockNames.size())
      return sharedBlockNames[index];
    std::vector<std::string> members;
    for (const Block &block : spec.sharedDefinitions[index].blocks)
      members.push_back(templateName(block, /*asBranch=*/false));
    std::string name = "sblock" + std::to_string(index);
    templates += "shared_block " + name + " {\n  blocks " + join(members, " ") +
                 "\n}\n\n";
    sharedBlockNames.push_back(name);
    sharedMembers.push_back(members);
    return name;
  }

  void writeTemplate(const std::string &name, const Block &block,
                     const std::vector<std::string> &refs) {
    std::string text = toString(block.kind()).str() + " " + name + " {\n";
    FieldWriter w(text, spec.hiddenSize);
    w.common(block);
    if (block.is<ParallelSpec>()) {
      const ParallelSpec &p = block.as<ParallelSpec>();
      w.field("branches", join(refs, " "));
      std::string merge = toString(p.merge).str();
      bool allOnes =
          llvm::all_of(p.multipliers, [](double m) { return m == 1.0; });
      if (!allOnes)
        for (double m : p.multipliers)
          merge += " " + formatNumber(m);
      w.field("merge", merge);
    } else if (block.is<SharedSpec>()) {
      writeShared(w, block.as<SharedSpec>());
    } else {
      std::visit(
          [&](const auto &body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (!std::is_same_v<T, ParallelSpec> &&
                          !std::is_same_v<T, SharedSpec>)
              w.body(body);
          },
          block.body);
    }
    templates += text + "}\n\n";
  }

  void writeShared(FieldWriter &w, const SharedSpec &s) {
    w.field("block", sharedBlockName(s.definition));
    w.flag("concat_embeddings", s.concatEmbeddings, false);
    w.flag("output_linear", s.outputLinear, false);
    for (const LoRAAdapter &a : s.adapters)
      w.field("lora", sharedMembers[s.definition][a.block] + " " +
                          a.projection + " " + std::to_string(a.rank));
    if (s.output == SharedSpec::Output::NextInput)
      w.field("output", "next_input");
  }

  /// Pattern items with runs folded into `(...){n}`: at each position, the
  /// period whose repetition covers the most layers wins.
  static std::vector<std::string> compress(ArrayRef<std::string> groups) {
    std::vector<std::string> items;
    size_t i = 0;
    while (i < groups.size()) {
      size_t bestPeriod = 1, bestCount = 1;
      for (size_t period = 1; i + 2 * period <= groups.size(); ++period) {
        size_t count = 1;
        while (i + (count + 1) * period <= groups.size() &&
               std::equal(groups.begin() + i, groups.begin() + i + period,
                          groups.begin() + i + count * period))
          ++count;
        if (count > 1 && period * count > bestPeriod * bestCount)
          bestPeriod = period, bestCount = count;
      }
      ArrayRef<std::string> unit = groups.slice(i, bestPeriod);
      if (bestCount == 1) {
        items.push_back(unit.front());
      } else {
        std::string inner = join(compress(unit), " ");
        bool bare =
            bestPeriod == 1 && unit.front().find('+') == std::string::npos;
        items.push_back((bare ? inner : "(" + inner + ")") + "{" +
                        std::to_string(bestCount) + "}");
      }
      i += bestPeriod * bestCount;
    }
    return items;
  }

  /// Long stacks become several `pattern` lines (they concatenate).
  static std::vector<std::string> wrap(ArrayRef<std::string> items) {
    std::vector<std::string> lines(1);
    for (const std::string &item : items) {
      if (!lines.back().empty() && lines.back().size() + item.size() > 68)
        lines.emplace_back();
      lines.back() += (lines.back().empty() ? "" : " ") + item;
    }
    return lines;
  }

  const ModelSpec &spec;
  std::string templates;
  std::vector<std::pair<std::string, Block>> named;
  StringMap<unsigned> nameCounts;
  std::vector<std::string> sharedBlockNames;
  std::vector<std::vector<std::string>> sharedMembers;
  int64_t lastLayer = -1;
};

} // namespace

std::string printDSL(const ModelSpec &spec) { return Printer(spec).run(); }

} // namespace frontend
} // namespace braid
