//===- OnnxLayerOps.cpp - ONNX norms, attention, rotary -------------------===//
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
// Norms
//===----------------------------------------------------------------------===//

/// Reads `epsilon` (default 1e-5) and checks `axis` is the last one.
static std::optional<std::string> normAttrs(const Node &node, int64_t rank,
                                            double &epsilon) {
  const Attribute *eps = node.attr("epsilon");
  epsilon = eps ? double(eps->f) : 1e-5;
  const Attribute *axis = node.attr("axis");
  int64_t a = axis ? axis->i : -1;
  if (a != -1 && a != rank - 1)
    return "normalizes from axis " + std::to_string(a) +
           "; braid norms run over the last dimension only";
  return std::nullopt;
}

llvm::Error Importer::importRMSNorm(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  llvm::Expected<Value> x = runtime(node, 0, val->layout);
  if (!x)
    return x.takeError();
  if (isUsed(node.outputs.size() > 1 ? node.outputs[1] : ""))
    return fail(node, "its inv_std_var output is used; Braid does not "
                      "compute it");
  ArrayRef<int64_t> f = features(*x);
  double epsilon;
  int64_t rank = f.size() + (val->layout == Layout::FlatTokens ? 1 : 2);
  if (auto problem = normAttrs(node, rank, epsilon))
    return fail(node, *problem);
  llvm::Expected<Value> w = weightOperand(node, 1, {f.back()}, "scale");
  if (!w)
    return w.takeError();
  Value y = RMSNormOp::create(builder, loc, x->getType(), *x, *w,
                              builder.getF64FloatAttr(epsilon));
  return define(node, 0, y, val->layout);
}

llvm::Error Importer::importSkipRMSNorm(const Node &node) {
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  llvm::Expected<Value> skip = runtime(node, 1);
  if (!skip)
    return skip.takeError();
  if (x->getType() != skip->getType())
    return fail(node, "shape conflict: input and skip differ");
  for (unsigned i : {1u, 2u})
    if (i < node.outputs.size() && isUsed(node.outputs[i]))
      return fail(node, "its mean / inv_std_var outputs are used; Braid "
                        "does not compute them");
  int64_t channels = features(*x).back();
  Value sum = AddOp::create(builder, loc, x->getType(), *x, *skip);
  if (has(node, 3)) {
    llvm::Expected<Value> bias = weightOperand(node, 3, {channels}, "bias");
    if (!bias)
      return bias.takeError();
    sum = AddOp::create(builder, loc, x->getType(), sum, *bias);
  }
  double epsilon;
  if (auto problem = normAttrs(node, 2 + features(*x).size(), epsilon))
    return fail(node, *problem);
  llvm::Expected<Value> w = weightOperand(node, 2, {channels}, "gamma");
  if (!w)
    return w.takeError();
  Value y = RMSNormOp::create(builder, loc, x->getType(), sum, *w,
                              builder.getF64FloatAttr(epsilon));
  if (llvm::Error error = define(node, 0, y))
    return error;
  return define(node, 3, sum);
}

llvm::Error Importer::importLayerNorm(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  llvm::Expected<Value> x = runtime(node, 0, val->layout);
  if (!x)
    return x.takeError();
  for (unsigned i : {1u, 2u})
    if (i < node.outputs.size() && isUsed(node.outputs[i]))
      return fail(node, "its Mean / InvStdDev outputs are used; Braid does "
                        "not compute them");
  ArrayRef<int64_t> f = features(*x);
  double epsilon;
  int64_t rank = f.size() + (val->layout == Layout::FlatTokens ? 1 : 2);
  if (auto problem = normAttrs(node, rank, epsilon))
    return fail(node, *problem);
  llvm::Expected<Value> w = weightOperand(node, 1, {f.back()}, "scale");
  if (!w)
    return w.takeError();
  Value bias;
  if (has(node, 2)) {
    llvm::Expected<Value> b = weightOperand(node, 2, {f.back()}, "bias");
    if (!b)
      return b.takeError();
    bias = *b;
  }
  Value y = LayerNormOp::create(builder, loc, x->getType(), *x, *w, bias,
                                builder.getF64FloatAttr(epsilon));
  return define(node, 0, y, val->layout);
}

//===----------------------------------------------------------------------===//
// Attention and rotary embeddings
//===----------------------------------------------------------------------===//

/// q/k/v of an attention node as IR [B, T, heads, head_dim]: 4-D operands
/// must be [B, heads, T, D] (HeadsMajor); 3-D ones are split into `heads`.
llvm::Expected<Value> Importer::headsOperand(const Node &node, const Val &val,
                                             int64_t heads) {
  auto shape = cast<RankedTensorType>(val.value.getType()).getShape();
  if (val.layout == Layout::HeadsMajor)
    return val.value;
  if (val.layout != Layout::Natural || shape.size() != 3)
    return fail(node, "q, k and v must be [batch, seq, heads * head_dim] or "
                      "[batch, heads, seq, head_dim]");
  if (heads <= 0 || shape[2] % heads)
    return fail(node, "cannot split " + std::to_string(shape[2]) +
                          " channels into " + std::to_string(heads) +
                          " heads (set q_num_heads / kv_num_heads)");
  return reshape(val.value, {heads, shape[2] / heads});
}

llvm::Error Importer::importAttention(const Node &node) {
  for (unsigned i = 3; i < node.inputs.size(); ++i)
    if (has(node, i))
      return fail(node, i == 3 ? "attn_mask is not supported: Braid masks "
                                 "causally (is_causal = 1)"
                               : "past key/value inputs are not supported: "
                                 "braid manages the KV cache itself");
  for (unsigned i = 1; i < node.outputs.size(); ++i)
    if (isUsed(node.outputs[i]))
      return fail(node, "output '" + node.outputs[i] +
                            "' (present key/value or qk output) is used; "
                            "braid keeps the KV cache inside the bundle");
  auto intAttr = [&](StringRef key, int64_t dflt) {
    const Attribute *a = node.attr(key);
    return a ? a->i : dflt;
  };
  int64_t qHeads = intAttr("q_num_heads", 0);
  int64_t kvHeads = intAttr("kv_num_heads", 0);
  Value qkv[3];
  Layout layout = Layout::Natural;
  for (unsigned i = 0; i < 3; ++i) {
    llvm::Expected<Val> val = input(node, i);
    if (!val)
      return val.takeError();
    if (val->kind != Val::Runtime)
      return fail(node, "q, k and v must be activations");
    layout = val->layout;
    llvm::Expected<Value> v =
        headsOperand(node, *val, i == 0 ? qHeads : kvHeads);
    if (!v)
      return v.takeError();
    qkv[i] = *v;
  }
  auto qShape = cast<RankedTensorType>(qkv[0].getType()).getShape();
  auto kShape = cast<RankedTensorType>(qkv[1].getType()).getShape();
  auto vShape = cast<RankedTensorType>(qkv[2].getType()).getShape();
  if (kShape[2] != vShape[2] || qShape[3] != kShape[3] || qShape[2] % kShape[2])
    return fail(node, "shape conflict: q " + dimsToString(qShape) + ", k " +
                          dimsToString(kShape) + ", v " + dimsToString(vShape) +
                          " (IR [batch, seq, heads, head_dim])");
  const Attribute *scaleAttr = node.attr("scale");
  double scale = scaleAttr ? scaleAttr->f : 1.0 / std::sqrt(double(qShape[3]));
  const Attribute *softcapAttr = node.attr("softcap");
  FloatAttr softcap = softcapAttr && softcapAttr->f != 0
                          ? builder.getF64FloatAttr(softcapAttr->f)
                          : FloatAttr();
  auto outType = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic, qShape[2], vShape[3]}, f32);
  Value o = AttentionOp::create(
                builder, loc, outType, TypeRange{}, qkv[0], qkv[1], qkv[2],
                Value(), Value(), Value(), builder.getI64IntegerAttr(qShape[2]),
                builder.getI64IntegerAttr(kShape[2]),
                builder.getBoolAttr(intAttr("is_causal", 0) != 0),
                builder.getF64FloatAttr(scale), IntegerAttr(), softcap)
                .getOutput();
  if (layout == Layout::HeadsMajor)
    return define(node, 0, o, Layout::HeadsMajor);
  return define(node, 0, reshape(o, {qShape[2] * vShape[3]}));
}

llvm::Expected<Value> Importer::positionsOperand(const Node &node, unsigned i) {
  llvm::Expected<Value> pos = runtime(node, i);
  if (!pos)
    return pos.takeError();
  if (!positions || *pos != positions)
    return fail(node, "position_ids must be the graph's position input");
  return *pos;
}

/// theta of a standard RoPE table: cos[p, i] = cos(p * theta^(-2i/d)).
llvm::Expected<double> Importer::ropeTheta(const Node &node, const Tensor &cos,
                                           const Tensor &sin,
                                           int64_t rotaryDim) {
  if (cos.shape.size() != 2 || cos.shape != sin.shape || !cos.isFloat() ||
      !sin.isFloat())
    return fail(node, "cos_cache and sin_cache must be float constants "
                      "[max_position, rotary_dim / 2]");
  int64_t half = cos.shape[1];
  if (rotaryDim != 2 * half || half < 2 || cos.shape[0] < 2)
    return fail(node, "cos_cache " + dimsToString(cos.shape) +
                          " does not fit rotary_dim " +
                          std::to_string(rotaryDim));
  std::vector<float> c = cos.toFloats(), s = sin.toFloats();
  // Position 1, pair 1: angle = theta^(-2 / rotary_dim).
  double angle = std::atan2(double(s[half + 1]), double(c[half + 1]));
  double theta = std::pow(angle, -double(rotaryDim) / 2.0);
  // The table is f32, so the fit is off in the 7th digit; bases are
  // integers in practice (1e4, 5e5, 1e6).
  if (std::abs(theta - std::round(theta)) < 1e-5 * theta)
    theta = std::round(theta);
  int64_t rows = std::min<int64_t>(cos.shape[0], 64);
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t i = 0; i < half; ++i) {
      double a = p * std::pow(theta, -2.0 * i / rotaryDim);
      if (std::abs(std::cos(a) - c[p * half + i]) > 1e-4 ||
          std::abs(std::sin(a) - s[p * half + i]) > 1e-4)
        return fail(node,
                    llvm::formatv("cos_cache/sin_cache are not a standard RoPE "
                                  "table (position {0}, pair {1}; fitted theta "
                                  "{2}); scaled RoPE is not supported",
                                  p, i, theta));
    }
  return theta;
}

llvm::Error Importer::importRotary(const Node &node) {
  bool microsoft = node.domain == "com.microsoft";
  // ai.onnx: X, cos, sin, position_ids; com.microsoft: X, position_ids,
  // cos, sin.
  unsigned cosIndex = microsoft ? 2 : 1, posIndex = microsoft ? 1 : 3;
  if (!has(node, posIndex))
    return fail(node, "needs position_ids (a cos/sin cache per token is not "
                      "supported)");
  llvm::Expected<Value> pos = positionsOperand(node, posIndex);
  if (!pos)
    return pos.takeError();
  llvm::Expected<const Tensor *> cos = constant(node, cosIndex);
  if (!cos)
    return cos.takeError();
  llvm::Expected<const Tensor *> sin = constant(node, cosIndex + 1);
  if (!sin)
    return sin.takeError();
  auto intAttr = [&](StringRef key, int64_t dflt) {
    const Attribute *a = node.attr(key);
    return a ? a->i : dflt;
  };
  if (const Attribute *scale = node.attr("scale"); scale && scale->f != 1.0f)
    return fail(node, "scale != 1 is not supported");
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  if (val->kind != Val::Runtime)
    return fail(node, "input must be an activation");
  llvm::Expected<Value> x = headsOperand(node, *val, intAttr("num_heads", 0));
  if (!x)
    return x.takeError();
  int64_t headDim = features(*x)[1];
  int64_t rotaryDim = intAttr("rotary_embedding_dim", 0);
  if (rotaryDim == 0)
    rotaryDim = 2 * (*cos)->shape.back();
  if (rotaryDim > headDim || rotaryDim % 2)
    return fail(node, "rotary_embedding_dim " + std::to_string(rotaryDim) +
                          " does not fit head_dim " + std::to_string(headDim));
  llvm::Expected<double> theta = ropeTheta(node, **cos, **sin, rotaryDim);
  if (!theta)
    return theta.takeError();
  Value y = RopeOp::create(
      builder, loc, x->getType(), *x, *pos,
      builder.getI64IntegerAttr(rotaryDim), builder.getF64FloatAttr(*theta),
      intAttr("interleaved", 0) ? builder.getUnitAttr() : UnitAttr());
  if (val->layout == Layout::HeadsMajor)
    return define(node, 0, y, Layout::HeadsMajor);
  return define(node, 0, reshape(y, {product(features(y))}));
}

llvm::Error Importer::importGQA(const Node &node) {
  // Inputs 3-6 (past_key, past_value, seqlens_k, total_sequence_length) are
  // KV-cache bookkeeping: braid keeps its own cache, prefill semantics.
  if (has(node, 10))
    return fail(node, "attention_bias is not supported");
  for (unsigned i = 1; i < node.outputs.size(); ++i)
    if (isUsed(node.outputs[i]))
      return fail(node, "output '" + node.outputs[i] +
                            "' (present key/value) is used; braid keeps "
                            "the KV cache inside the bundle");
  auto intAttr = [&](StringRef key, int64_t dflt) {
    const Attribute *a = node.attr(key);
    return a ? a->i : dflt;
  };
  int64_t heads = intAttr("num_heads", 0), kvHeads = intAttr("kv_num_heads", 0);
  if (!has(node, 1) || !has(node, 2))
    return fail(node, "packed QKV (no key/value inputs) is not supported");
  Value qkv[3];
  for (unsigned i = 0; i < 3; ++i) {
    llvm::Expected<Value> v = runtime(node, i);
    if (!v)
      return v.takeError();
    Val val;
    val.kind = Val::Runtime;
    val.value = *v;
    llvm::Expected<Value> h = headsOperand(node, val, i == 0 ? heads : kvHeads);
    if (!h)
      return h.takeError();
    qkv[i] = *h;
  }
  int64_t headDim = features(qkv[0])[1];
  if (intAttr("do_rotary", 0)) {
    if (!has(node, 7) || !has(node, 8))
      return fail(node, "do_rotary needs cos_cache and sin_cache");
    llvm::Expected<const Tensor *> cos = constant(node, 7);
    if (!cos)
      return cos.takeError();
    llvm::Expected<const Tensor *> sin = constant(node, 8);
    if (!sin)
      return sin.takeError();
    int64_t rotaryDim = 2 * (*cos)->shape.back();
    llvm::Expected<double> theta = ropeTheta(node, **cos, **sin, rotaryDim);
    if (!theta)
      return theta.takeError();
    if (!positions)
      return fail(node, "do_rotary needs the graph to take position_ids");
    for (unsigned i = 0; i < 2; ++i)
      qkv[i] = RopeOp::create(
          builder, loc, qkv[i].getType(), qkv[i], positions,
          builder.getI64IntegerAttr(rotaryDim), builder.getF64FloatAttr(*theta),
          intAttr("rotary_interleaved", 0) ? builder.getUnitAttr()
                                           : UnitAttr());
  }
  const Attribute *scaleAttr = node.attr("scale");
  double scale = scaleAttr && scaleAttr->f != 0
                     ? scaleAttr->f
                     : 1.0 / std::sqrt(double(headDim));
  const Attribute *softcapAttr = node.attr("softcap");
  FloatAttr softcap = softcapAttr && softcapAttr->f != 0
                          ? builder.getF64FloatAttr(softcapAttr->f)
                          : FloatAttr();
  int64_t window = intAttr("local_window_size", -1);
  // Same count of visible keys in both (checked against onnxruntime by
  // test/data/onnx/microsoft.onnx).
  IntegerAttr sliding =
      window >= 0 ? builder.getI64IntegerAttr(window) : IntegerAttr();
  Value o =
      AttentionOp::create(
          builder, loc, qkv[0].getType(), TypeRange{}, qkv[0], qkv[1], qkv[2],
          Value(), Value(), Value(), builder.getI64IntegerAttr(heads),
          builder.getI64IntegerAttr(kvHeads), builder.getBoolAttr(true),
          builder.getF64FloatAttr(scale), sliding, softcap)
          .getOutput();
  return define(node, 0, reshape(o, {heads * headDim}));
}

} // namespace detail
} // namespace onnx
} // namespace braid
