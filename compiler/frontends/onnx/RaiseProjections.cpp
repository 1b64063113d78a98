//===- RaiseProjections.cpp - shared-input projections into one GEMM ------===//
//
// The HF path fuses linears that read the same activation (q/k/v; gate/up;
// a parallel layer's Mamba2 in_proj with q/k/v) into one GEMM and a split
// (passes/FuseProjections.cpp). braidc skips that pass for ONNX models,
// whose weights are packed already transformed, so the ONNX front end does
// the same here: MatMuls of one activation by constant [in, out_i] weights
// become one MatMul by their concatenation [in, sum out_i] and a Split on
// the last axis whose outputs keep the original names. The merged nodes go
// where the first MatMul was: they read only the shared input and
// constants, which are defined before it.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/RaisePatterns.h"

namespace braid {
namespace onnx {
namespace raise {

/// The constant [in, out] float weight of `node` if it is a projection.
static const Tensor *projectionWeight(Graph &g, const Node &node) {
  if (!node.domain.empty() || node.opType != "MatMul" ||
      node.inputs.size() != 2 || g.constant(node.inputs[0]))
    return nullptr;
  const Tensor *w = g.constant(node.inputs[1]);
  return w && w->isFloat() && w->shape.size() == 2 ? w : nullptr;
}

static void mergeGroup(Graph &g, const std::vector<const Node *> &group) {
  Matcher m(g, "merge-projections", *group.front());
  int64_t in = projectionWeight(g, *group.front())->shape[0], total = 0;
  std::vector<int64_t> sizes;
  for (const Node *node : group) {
    const Tensor *w = projectionWeight(g, *node);
    if (w->shape[0] != in)
      return void(m.fail(*node, "weight rows differ from the group's"));
    sizes.push_back(w->shape[1]);
    total += w->shape[1];
    m.take(*node);
  }
  std::vector<float> merged(size_t(in * total));
  int64_t col = 0;
  for (const Node *node : group) {
    const Tensor *w = projectionWeight(g, *node);
    std::vector<float> data = w->toFloats();
    int64_t out = w->shape[1];
    for (int64_t r = 0; r < in; ++r)
      for (int64_t c = 0; c < out; ++c)
        merged[r * total + col + c] = data[r * out + c];
    col += out;
  }
  const Node &first = *group.front();
  // "l0.q+l0.k+l0.v": the packed weight says what it concatenates.
  std::string joined;
  for (const Node *node : group)
    joined += (joined.empty() ? "" : "+") + node->inputs[1];
  std::string weight = g.freshName(joined);
  std::string product = g.freshName(first.outputs[0] + ".merged");
  std::string sizesName = g.freshName(first.outputs[0] + ".merged_sizes");
  Node matmul = makeNode(g.freshName(product), "MatMul", "",
                         {first.inputs[0], weight}, {product});
  std::vector<std::string> outputs;
  for (const Node *node : group)
    outputs.push_back(node->outputs[0]);
  Node split = makeNode(g.freshName(product + ".split"), "Split", "",
                        {product, sizesName}, outputs);
  setInt(split, "axis", -1);
  m.replace({matmul, split},
            {{weight, f32Tensor({in, total}, merged)},
             {sizesName, intTensor({int64_t(sizes.size())}, sizes)}},
            /*atFirst=*/true);
}

void mergeProjections(Graph &g) {
  std::map<std::string, std::vector<const Node *>> byInput;
  std::vector<std::string> order;
  for (const Node &node : g.nodes())
    if (projectionWeight(g, node)) {
      auto &group = byInput[node.inputs[0]];
      if (group.empty())
        order.push_back(node.inputs[0]);
      group.push_back(&node);
    }
  for (const std::string &input : order)
    if (byInput[input].size() > 1)
      mergeGroup(g, byInput[input]);
}

} // namespace raise
} // namespace onnx
} // namespace braid
