//===- RaiseNorms.cpp - decomposed RMSNorm and gated RMSNorm --------------===//
//
// torch.onnx writes `x * rsqrt(mean(x^2, -1, keepdim) + eps) * w` as
//   Pow(x, 2) -> ReduceMean(axes [-1], keepdims 1) -> Add(eps) -> Sqrt
//   -> Reciprocal -> Mul(x, .) -> Mul(w, .)
// and raises to RMSNormalization(x, w, epsilon, axis -1). Mamba2's gated
// norm (x * silu(gate) normalized, in groups of C / n_groups channels
// behind a Reshape [B, T, G, C/G] and back) raises to braid.GatedRMSNorm
// with norm_before_gate = 0.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/RaisePatterns.h"

namespace braid {
namespace onnx {
namespace raise {

/// The operand of binary `node` that is not `value` (or "").
static std::string otherInput(const Node &node, const std::string &value) {
  if (node.inputs.size() != 2)
    return "";
  return node.inputs[0] == value   ? node.inputs[1]
         : node.inputs[1] == value ? node.inputs[0]
                                   : "";
}

/// Reduce axes from the input (opset 18) or the attribute (older).
static std::optional<std::vector<int64_t>> reduceAxes(Matcher &m,
                                                      const Node &mean) {
  if (mean.inputs.size() > 1 && !mean.inputs[1].empty())
    return m.intsInput(mean, 1);
  return m.intsAttr(mean, "axes");
}

/// A Reshape whose target is [B, T, dims...] for static B and T (or 0, 0);
/// returns the feature dims, or nullopt.
static std::optional<std::vector<int64_t>> tokenReshape(Graph &g,
                                                        const Node *reshape) {
  if (!reshape || reshape->opType != "Reshape")
    return std::nullopt;
  auto dims = g.ints(reshape->inputs[1]);
  if (!dims || dims->size() < 3)
    return std::nullopt;
  bool batch = (*dims)[0] == 0 || (*dims)[0] == g.staticBatch.value_or(-2);
  bool seq = (*dims)[1] == 0 || (*dims)[1] == g.staticSeq.value_or(-2);
  if (!batch || !seq)
    return std::nullopt;
  return std::vector<int64_t>(dims->begin() + 2, dims->end());
}

static void raiseRMSNorm(Graph &g, const Node &pow) {
  if (pow.inputs.size() != 2 || !g.scalar(pow.inputs[1]) ||
      *g.scalar(pow.inputs[1]) != 2.0)
    return; // only x^2 anchors a norm
  Matcher m(g, "rms-norm", pow);
  std::string x = pow.inputs[0];
  const Node *mean = m.onlyUser(pow, "ReduceMean");
  if (mean) {
    auto axes = reduceAxes(m, *mean);
    if (axes && *axes != std::vector<int64_t>{-1})
      m.fail(*mean, "reduces axes other than [-1]");
    if (m.intAttr(*mean, "keepdims", 1) != 1)
      m.fail(*mean, "keepdims must be 1");
  }
  const Node *add = mean ? m.onlyUser(*mean, "Add") : nullptr;
  std::optional<double> eps;
  if (add) {
    eps = g.scalar(otherInput(*add, mean->outputs[0]));
    if (!eps || *eps <= 0 || *eps > 1e-2)
      m.fail(*add, "does not add a small positive epsilon");
  }
  const Node *sqrt = add ? m.onlyUser(*add, "Sqrt") : nullptr;
  const Node *rec = sqrt ? m.onlyUser(*sqrt, "Reciprocal") : nullptr;
  const Node *norm = rec ? m.onlyUser(*rec, "Mul") : nullptr;
  if (norm && otherInput(*norm, rec->outputs[0]) != x)
    m.fail(*norm, "does not scale the Pow input '" + x + "'");
  if (!m.ok())
    return;

  // Grouped form: Reshape [B, T, G, S] before, Reshape [B, T, G*S] after.
  const Node *cur = norm;
  std::string input = x;
  int64_t groupSize = 0;
  const Node *split = g.producer(x);
  if (auto dims = tokenReshape(g, split); dims && dims->size() == 2) {
    const Node *merge = m.onlyUser(*norm, "Reshape");
    auto back = tokenReshape(g, merge);
    if (!back || back->size() != 1 || (*back)[0] != (*dims)[0] * (*dims)[1])
      return void(m.fail(merge ? *merge : *norm,
                         "grouped norm is not reshaped back to [B, T, C]"));
    m.take(*split);
    groupSize = (*dims)[1];
    input = split->inputs[0];
    cur = merge;
  }
  const Node *scale = m.onlyUser(*cur, "Mul");
  if (!scale)
    return;
  std::string w = otherInput(*scale, cur->outputs[0]);
  const Tensor *weight = g.constant(w);
  if (!weight || !weight->isFloat() || weight->shape.size() != 1)
    return void(
        m.fail(*scale, "the scale '" + w + "' is not a 1-D float constant"));

  // Gated: the normalized input is Mul(y, silu(gate)) used only here.
  std::string y, gate;
  const Node *gateMul = g.producer(input);
  if (gateMul && gateMul->opType == "Mul" &&
      g.users(input).size() == (groupSize ? 1u : 2u)) {
    for (unsigned s : {0u, 1u}) {
      const Node *silu = g.producer(gateMul->inputs[s]);
      std::string gx;
      if (silu && g.users(silu->outputs[0]).size() == 1 &&
          m.siluInput(*silu, gx)) {
        y = gateMul->inputs[1 - s];
        gate = gx;
        m.take(*gateMul);
        break;
      }
    }
  }
  std::string name =
      scale->name.empty() ? g.freshName("raised_norm") : scale->name;
  if (!gate.empty()) {
    Node n = makeNode(name, "GatedRMSNorm", "braid", {y, gate, w},
                      {scale->outputs[0]});
    setFloat(n, "epsilon", *eps);
    setInt(n, "group_size", groupSize ? groupSize : weight->shape[0]);
    setInt(n, "norm_before_gate", 0);
    m.replace({n});
    return;
  }
  if (groupSize)
    return void(m.fail(*scale, "a grouped norm without a silu gate has no "
                               "braid op"));
  Node n = makeNode(name, "RMSNormalization", "", {x, w}, {scale->outputs[0]});
  setFloat(n, "epsilon", *eps);
  setInt(n, "axis", -1);
  m.replace({n});
}

void raiseRMSNorms(Graph &g) {
  for (const Node &node : g.nodes())
    if (node.domain.empty() && node.opType == "Pow")
      raiseRMSNorm(g, node);
}

} // namespace raise
} // namespace onnx
} // namespace braid
