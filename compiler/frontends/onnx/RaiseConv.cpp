//===- RaiseConv.cpp - Mamba's causal depthwise conv ----------------------===//
//
// nn.Conv1d(C, C, K, groups=C, padding=K-1) applied as
// `conv1d(x.transpose(1, 2))[..., :T]`, optionally followed by SiLU and the
// transpose back, is exported as
//   Transpose(0, 2, 1) -> Conv(group C, pads [K-1, K-1]) -> Slice(axis 2,
//   0..T) [-> Mul(s, Sigmoid(s))] -> Transpose(0, 2, 1)
// and raised to braid.CausalConv1d(x, W, bias, activation).
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/RaisePatterns.h"

namespace braid {
namespace onnx {
namespace raise {

static bool isSwapLast2(Matcher &m, const Node &transpose) {
  auto perm = m.intsAttr(transpose, "perm");
  if (perm && *perm != std::vector<int64_t>{0, 2, 1})
    return m.fail(transpose, "perm is not [0, 2, 1]");
  return m.ok();
}

static void raiseConv(Graph &g, const Node &conv) {
  Matcher m(g, "causal-conv1d", conv);
  const Node *in = m.input(conv, 0, "Transpose");
  if (!in || !isSwapLast2(m, *in))
    return;
  const Tensor *w = m.constInput(conv, 1);
  if (!w)
    return;
  if (w->shape.size() != 3 || w->shape[1] != 1)
    return void(m.fail(conv, "weight is not depthwise [C, 1, K]"));
  int64_t channels = w->shape[0], k = w->shape[2];
  if (m.intAttr(conv, "group") != channels)
    m.fail(conv, "group is not the channel count " + std::to_string(channels));
  auto pads = m.intsAttr(conv, "pads");
  if (pads && *pads != std::vector<int64_t>{k - 1, k - 1})
    m.fail(conv, "pads are not [K-1, K-1]");
  for (const char *key : {"strides", "dilations"})
    if (const Attribute *a = conv.attr(key);
        a && a->ints != std::vector<int64_t>{1})
      m.fail(conv, std::string(key) + " are not [1]");
  if (const Attribute *a = conv.attr("auto_pad"); a && a->s != "NOTSET")
    m.fail(conv, "auto_pad is set");
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty() &&
      !g.constant(conv.inputs[2]))
    m.fail(conv, "bias is not a constant");

  // Keep the first T outputs: the causal part.
  const Node *slice = m.onlyUser(conv, "Slice");
  if (slice) {
    auto starts = m.intsInput(*slice, 1), ends = m.intsInput(*slice, 2);
    auto axes = m.intsInput(*slice, 3);
    std::optional<std::vector<int64_t>> steps = std::vector<int64_t>{1};
    if (slice->inputs.size() > 4)
      steps = m.intsInput(*slice, 4);
    if (m.ok() && (*starts != std::vector<int64_t>{0} ||
                   *axes != std::vector<int64_t>{2} ||
                   *steps != std::vector<int64_t>{1} || !g.staticSeq ||
                   *ends != std::vector<int64_t>{*g.staticSeq}))
      m.fail(*slice, "does not keep positions 0..T of axis 2");
  }
  if (!m.ok())
    return;
  const Node *cur = slice;
  std::string act = "identity";
  const auto &users = g.users(slice->outputs[0]);
  if (users.size() == 2) { // SiLU: Sigmoid(s) and Mul(s, .)
    const Node *mul =
        users[0] && users[0]->opType == "Mul" ? users[0] : users[1];
    std::string x;
    if (!mul || !m.siluInput(*mul, x) || x != slice->outputs[0])
      return void(m.fail(*slice, "its two users are not a SiLU"));
    cur = mul;
    act = "silu";
  }
  const Node *out = m.onlyUser(*cur, "Transpose");
  if (!out || !isSwapLast2(m, *out))
    return;
  std::vector<std::string> inputs = {in->inputs[0], conv.inputs[1]};
  if (conv.inputs.size() > 2 && !conv.inputs[2].empty())
    inputs.push_back(conv.inputs[2]);
  Node n =
      makeNode(conv.name, "CausalConv1d", "braid", inputs, {out->outputs[0]});
  setString(n, "activation", act);
  m.replace({n});
}

void raiseCausalConv(Graph &g) {
  for (const Node &node : g.nodes())
    if (node.domain.empty() && node.opType == "Conv")
      raiseConv(g, node);
}

} // namespace raise
} // namespace onnx
} // namespace braid
