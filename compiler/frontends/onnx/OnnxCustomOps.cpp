//===- OnnxCustomOps.cpp - the braid custom ONNX domain -------------------===//
//
// ONNX import handlers (see OnnxOps.cpp); errors name the node and op
// type. docs/onnx.md is the reference table.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/ImporterImpl.h"

#include "dialects/Braid/BraidOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <numeric>

using namespace mlir;

namespace braid {
namespace onnx {
namespace detail {

//===----------------------------------------------------------------------===//
// The braid custom domain (docs/onnx.md)
//===----------------------------------------------------------------------===//

llvm::Error Importer::importCausalConv(const Node &node) {
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  if (features(*x).size() != 1)
    return fail(node, "input must be [batch, seq, channels]");
  int64_t channels = features(*x)[0];
  llvm::Expected<const Tensor *> w = constant(node, 1);
  if (!w)
    return w.takeError();
  int64_t kernel = (*w)->shape.empty() ? 0 : (*w)->shape.back();
  if (kernel <= 0 || (*w)->numel() != channels * kernel)
    return fail(node, "shape conflict: weight '" + (*w)->name + "' is " +
                          dimsToString((*w)->shape) + " but input has " +
                          std::to_string(channels) +
                          " channels ([channels, kernel] or [channels, 1, "
                          "kernel])");
  llvm::Expected<Value> weightValue =
      weightOperand(node, 1, {channels, kernel}, "weight");
  if (!weightValue)
    return weightValue.takeError();
  Value bias;
  if (has(node, 2)) {
    llvm::Expected<Value> b = weightOperand(node, 2, {channels}, "bias");
    if (!b)
      return b.takeError();
    bias = *b;
  }
  const Attribute *act = node.attr("activation");
  std::string actName = act ? act->s : "identity";
  if (actName != "identity" && actName != "silu")
    return fail(node,
                "activation '" + actName + "' is not one of identity, silu");
  Value y = CausalConv1dOp::create(builder, loc, x->getType(), Type(), *x,
                                   *weightValue, bias, Value(), kernel,
                                   actName == "silu" ? ActivationKind::silu
                                                     : ActivationKind::identity)
                .getOutput();
  return define(node, 0, y);
}

llvm::Error Importer::importSSDScan(const Node &node) {
  Value ops[5];
  for (unsigned i : {0u, 1u, 3u, 4u}) {
    llvm::Expected<Value> v = runtime(node, i);
    if (!v)
      return v.takeError();
    ops[i] = *v;
  }
  ArrayRef<int64_t> xf = features(ops[0]), bf = features(ops[3]);
  if (xf.size() != 2 || bf.size() != 2)
    return fail(node, "X must be [batch, seq, heads, head_dim] and B, C "
                      "[batch, seq, groups, state]");
  int64_t heads = xf[0];
  llvm::Expected<Value> a = weightOperand(node, 2, {heads}, "A");
  if (!a)
    return a.takeError();
  Value d, dtBias;
  if (has(node, 5)) {
    llvm::Expected<Value> v = weightOperand(node, 5, {heads}, "D");
    if (!v)
      return v.takeError();
    d = *v;
  }
  if (has(node, 6)) {
    llvm::Expected<Value> v = weightOperand(node, 6, {heads}, "dt_bias");
    if (!v)
      return v.takeError();
    dtBias = *v;
  }
  auto intAttr = [&](StringRef key, int64_t dflt) {
    const Attribute *attr = node.attr(key);
    return attr ? attr->i : dflt;
  };
  const Attribute *dtMin = node.attr("dt_min");
  const Attribute *dtMax = node.attr("dt_max");
  FloatAttr maxAttr = dtMax && std::isfinite(dtMax->f)
                          ? builder.getF64FloatAttr(dtMax->f)
                          : FloatAttr();
  Value y =
      SSDScanOp::create(
          builder, loc, ops[0].getType(), Type(), ops[0], ops[1], *a, ops[3],
          ops[4], d, dtBias, Value(), builder.getI64IntegerAttr(heads),
          builder.getI64IntegerAttr(xf[1]), builder.getI64IntegerAttr(bf[0]),
          builder.getI64IntegerAttr(bf[1]),
          builder.getI64IntegerAttr(intAttr("chunk_size", 256)),
          builder.getBoolAttr(intAttr("dt_softplus", 1) != 0),
          builder.getF64FloatAttr(dtMin ? dtMin->f : 0.0), maxAttr)
          .getOutput();
  return define(node, 0, y);
}

llvm::Error Importer::importSelectiveScan(const Node &node) {
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  if (features(*x).size() != 1)
    return fail(node, "X must be [batch, seq, d_inner]");
  int64_t inner = features(*x)[0];
  llvm::Expected<const Tensor *> dtProj = constant(node, 2);
  if (!dtProj)
    return dtProj.takeError();
  llvm::Expected<const Tensor *> aTensor = constant(node, 4);
  if (!aTensor)
    return aTensor.takeError();
  if ((*dtProj)->shape.size() != 2 || (*aTensor)->shape.size() != 2)
    return fail(node, "dt_proj must be [d_inner, dt_rank] and A [d_inner, "
                      "state]");
  int64_t rank = (*dtProj)->shape[1], state = (*aTensor)->shape[1];
  struct Operand {
    unsigned index;
    std::vector<int64_t> shape;
    const char *role;
  };
  const Operand operands[] = {
      {1, {rank + 2 * state, inner}, "x_proj"},
      {2, {inner, rank}, "dt_proj"},
      {3, {inner}, "dt_bias"},
      {4, {inner, state}, "A"},
      {6, {inner}, "D"},
      {7, {rank}, "dt_norm"},
      {8, {state}, "b_norm"},
      {9, {state}, "c_norm"},
  };
  Value w[10];
  for (const Operand &op : operands) {
    if (!has(node, op.index))
      continue;
    llvm::Expected<Value> v = weightOperand(node, op.index, op.shape, op.role);
    if (!v)
      return v.takeError();
    w[op.index] = *v;
  }
  if (bool(w[7]) != bool(w[9]) || bool(w[8]) != bool(w[9]))
    return fail(node, "dt_norm, b_norm and c_norm come together or not at "
                      "all");
  Value gate;
  if (has(node, 5)) {
    llvm::Expected<Value> z = runtime(node, 5);
    if (!z)
      return z.takeError();
    gate = *z;
  }
  const Attribute *eps = node.attr("norm_epsilon");
  Value y = SelectiveScanOp::create(builder, loc, x->getType(), Type(), *x,
                                    w[1], w[2], w[3], w[4], gate, w[6], w[7],
                                    w[8], w[9], Value(), rank, state,
                                    llvm::APFloat(eps ? double(eps->f) : 1e-6))
                .getOutput();
  return define(node, 0, y);
}

llvm::Error Importer::importGatedRMSNorm(const Node &node) {
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  llvm::Expected<Value> gate = runtime(node, 1);
  if (!gate)
    return gate.takeError();
  if (x->getType() != gate->getType())
    return fail(node, "shape conflict: X and gate differ");
  int64_t channels = features(*x).back();
  llvm::Expected<Value> w = weightOperand(node, 2, {channels}, "weight");
  if (!w)
    return w.takeError();
  auto intAttr = [&](StringRef key, int64_t dflt) {
    const Attribute *a = node.attr(key);
    return a ? a->i : dflt;
  };
  const Attribute *eps = node.attr("epsilon");
  int64_t group = intAttr("group_size", channels);
  if (group <= 0 || channels % group)
    return fail(node, "group_size " + std::to_string(group) +
                          " does not divide " + std::to_string(channels));
  Value y =
      GatedRMSNormOp::create(builder, loc, x->getType(), *x, *gate, *w, group,
                             llvm::APFloat(eps ? double(eps->f) : 1e-5),
                             intAttr("norm_before_gate", 0) != 0);
  return define(node, 0, y);
}

llvm::Error Importer::importMoE(const Node &node) {
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  if (features(*x).size() != 1)
    return fail(node, "X must be [batch, seq, hidden]");
  int64_t hidden = features(*x)[0];
  llvm::Expected<const Tensor *> router = constant(node, 1);
  if (!router)
    return router.takeError();
  llvm::Expected<const Tensor *> down = constant(node, 3);
  if (!down)
    return down.takeError();
  if ((*router)->shape.size() != 2 || (*down)->shape.size() != 3)
    return fail(node, "router must be [experts, hidden] and down [experts, "
                      "hidden, expert_dim]");
  int64_t experts = (*router)->shape[0], inner = (*down)->shape[2];
  auto intAttr = [&](StringRef key, int64_t dflt) {
    const Attribute *a = node.attr(key);
    return a ? a->i : dflt;
  };
  int64_t topK = intAttr("top_k", 2);
  if (topK < 1 || topK > experts)
    return fail(node, "top_k " + std::to_string(topK) + " is not in 1.." +
                          std::to_string(experts));
  const Attribute *routingAttr = node.attr("routing");
  std::string routingName = routingAttr ? routingAttr->s : "softmax_topk";
  std::optional<MoERouting> routing = symbolizeMoERouting(routingName);
  if (!routing)
    return fail(node, "routing '" + routingName +
                          "' is not one of softmax_topk, topk_softmax, "
                          "sigmoid_topk");
  const Attribute *actAttr = node.attr("activation");
  std::string actName = actAttr ? actAttr->s : "silu";
  std::optional<ActivationKind> act = symbolizeActivationKind(actName);
  if (!act)
    return fail(node, "activation '" + actName + "' is not a braid activation");

  Value router2 = Value(), gateUp, down2, routerBias, sharedGateUp, sharedDown;
  struct Operand {
    unsigned index;
    std::vector<int64_t> shape;
    const char *role;
    Value *out;
  };
  std::vector<Operand> operands = {
      {1, {experts, hidden}, "router", &router2},
      {2, {experts, 2 * inner, hidden}, "gate_up", &gateUp},
      {3, {experts, hidden, inner}, "down", &down2},
      {4, {experts}, "router_bias", &routerBias},
  };
  if (has(node, 5) != has(node, 6))
    return fail(node, "shared_gate_up and shared_down come together or not "
                      "at all");
  if (has(node, 5)) {
    llvm::Expected<const Tensor *> sd = constant(node, 6);
    if (!sd)
      return sd.takeError();
    if ((*sd)->shape.size() != 2)
      return fail(node, "shared_down must be [hidden, shared_dim]");
    int64_t shared = (*sd)->shape[1];
    operands.push_back(
        {5, {2 * shared, hidden}, "shared_gate_up", &sharedGateUp});
    operands.push_back({6, {hidden, shared}, "shared_down", &sharedDown});
  }
  for (const Operand &op : operands) {
    if (!has(node, op.index))
      continue;
    llvm::Expected<Value> v = weightOperand(node, op.index, op.shape, op.role);
    if (!v)
      return v.takeError();
    *op.out = *v;
  }
  const Attribute *scaling = node.attr("routed_scaling");
  Value y =
      MoEOp::create(builder, loc, x->getType(), *routing, *x, router2, gateUp,
                    down2, routerBias, sharedGateUp, sharedDown, experts, topK,
                    intAttr("normalize_topk", 0) != 0,
                    llvm::APFloat(scaling ? double(scaling->f) : 1.0), *act);
  return define(node, 0, y);
}

} // namespace detail
} // namespace onnx
} // namespace braid
