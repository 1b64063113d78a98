//===- RaiseActivations.cpp - softplus with threshold, exact GELU ---------===//
//
// torch.nn.functional.softplus has a threshold (20 by default) above which
// it returns x; torch.onnx writes that as Where(Greater(x, 20), x,
// Softplus(x)). The difference is below f32 rounding (log1p(exp(-20)) is
// 2e-9), so the triple is raised to one Softplus; the SSD scan pattern
// then finds Softplus(dt + dt_bias) directly.
//
// nn.GELU() (exact) is exported as x * 0.5 * (1 + Erf(x / sqrt(2))):
// raised to Gelu (approximate = "none").
//
// Nemotron-H's squared ReLU, Pow(Relu(x), 2), is raised to
// braid.ReluSquared (the activation relu2), one kernel instead of two.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/RaisePatterns.h"

#include <cmath>

namespace braid {
namespace onnx {
namespace raise {

/// Where(Greater(x, t), x, Softplus(x)), t >= 15: below that the two
/// branches differ by more than f32 rounding.
static void raiseSoftplus(Graph &g, const Node &where) {
  if (where.inputs.size() != 3)
    return;
  const Node *greater = g.producer(where.inputs[0]);
  const Node *softplus = g.producer(where.inputs[2]);
  if (!greater || greater->opType != "Greater" || !softplus ||
      softplus->opType != "Softplus")
    return; // not this pattern's anchor
  Matcher m(g, "softplus", where);
  m.take(*greater);
  m.take(*softplus);
  const std::string &x = softplus->inputs[0];
  if (greater->inputs[0] != x || where.inputs[1] != x)
    m.fail(where, "the threshold branch does not compare and return the "
                  "Softplus input '" +
                      x + "'");
  std::optional<double> threshold = m.scalarInput(*greater, 1);
  if (threshold && *threshold < 15)
    m.fail(*greater, "threshold " + std::to_string(*threshold) +
                         " is below 15, where softplus(x) != x in f32");
  if (m.ok() && (g.users(greater->outputs[0]).size() != 1 ||
                 g.users(softplus->outputs[0]).size() != 1))
    m.fail(*greater, "the comparison or the Softplus has other users");
  m.replace({makeNode(where.name.empty() ? g.freshName("raised_softplus")
                                         : where.name,
                      "Softplus", "", {x}, {where.outputs[0]})});
}

static bool isConst(Graph &g, const std::string &value, double expected) {
  std::optional<double> v = g.scalar(value);
  return v && std::abs(*v - expected) <= 1e-6 * std::abs(expected);
}

/// The operand of binary `node` that is not `value` (or "").
static std::string other(const Node &node, const std::string &value) {
  if (node.inputs.size() != 2)
    return "";
  return node.inputs[0] == value   ? node.inputs[1]
         : node.inputs[1] == value ? node.inputs[0]
                                   : "";
}

/// x * (0.5 * (1 + Erf(x / sqrt(2)))), the Muls in either order.
static void raiseExactGelu(Graph &g, const Node &erf) {
  Matcher m(g, "gelu", erf);
  const Node *div = m.input(erf, 0, "Div");
  if (!div)
    return;
  const std::string x = div->inputs[0];
  if (!isConst(g, div->inputs[1], std::sqrt(2.0)))
    m.fail(*div, "divisor is not sqrt(2)");
  const Node *add = m.onlyUser(erf, "Add");
  if (add && !isConst(g, other(*add, erf.outputs[0]), 1.0))
    m.fail(*add, "does not add 1");
  const Node *half = add ? m.onlyUser(*add, "Mul") : nullptr;
  if (half && !isConst(g, other(*half, add->outputs[0]), 0.5))
    m.fail(*half, "does not multiply by 0.5");
  const Node *root = half ? m.onlyUser(*half, "Mul") : nullptr;
  if (root && other(*root, half->outputs[0]) != x)
    m.fail(*root, "does not multiply by the GELU input '" + x + "'");
  if (!m.ok())
    return;
  if (g.users(div->outputs[0]).size() != 1)
    m.fail(*div, "has other users");
  Node gelu = makeNode(root->name, "Gelu", "", {x}, {root->outputs[0]});
  setString(gelu, "approximate", "none");
  m.replace({gelu});
}

/// Pow(Relu(x), 2) with the Relu used only here.
static void raiseReluSquared(Graph &g, const Node &pow) {
  const Node *relu = g.producer(pow.inputs[0]);
  if (!relu || relu->opType != "Relu" || !isConst(g, pow.inputs[1], 2.0))
    return; // not this pattern's anchor (RMSNorm's Pow(x, 2) comes later)
  Matcher m(g, "relu2", pow);
  m.take(*relu);
  m.replace({makeNode(pow.name, "ReluSquared", "braid", {relu->inputs[0]},
                      {pow.outputs[0]})});
}

void raiseActivations(Graph &g) {
  for (const Node &node : g.nodes()) {
    if (!node.domain.empty())
      continue;
    if (node.opType == "Where")
      raiseSoftplus(g, node);
    else if (node.opType == "Erf")
      raiseExactGelu(g, node);
    else if (node.opType == "Pow")
      raiseReluSquared(g, node);
  }
}

} // namespace raise
} // namespace onnx
} // namespace braid
