//===- OnnxOps.cpp - one import handler per ONNX op family ----------------===//
//
// Each handler reads its node's operands (runtime values in a layout, or
// constants), checks what braid can express, and defines the node's outputs;
// errors name the node and op type. docs/onnx.md is the reference table.
// Here: constants, casts, embedding, projections, element-wise ops; the
// shape ops are in OnnxShapeOps.cpp, norms and attention in
// OnnxLayerOps.cpp, the braid custom domain in OnnxCustomOps.cpp.
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
// Constants, casts, folding
//===----------------------------------------------------------------------===//

llvm::Error Importer::importConstant(const Node &node) {
  const Attribute *value = node.attr("value");
  if (value && value->kind == Attribute::Tensor) {
    defineConst(node, 0, *value->t);
    return llvm::Error::success();
  }
  Tensor t;
  if (const Attribute *f = node.attr("value_float")) {
    t.type = ElemType::Float;
    float value = float(f->f); // attributes hold floats as doubles
    t.bytes.assign(reinterpret_cast<const char *>(&value), 4);
  } else if (const Attribute *i = node.attr("value_int")) {
    t.type = ElemType::Int64;
    t.bytes.assign(reinterpret_cast<const char *>(&i->i), 8);
  } else if (const Attribute *is = node.attr("value_ints")) {
    t.type = ElemType::Int64;
    t.shape = {int64_t(is->ints.size())};
    t.bytes.assign(reinterpret_cast<const char *>(is->ints.data()),
                   8 * is->ints.size());
  } else if (const Attribute *fs = node.attr("value_floats")) {
    t.type = ElemType::Float;
    t.shape = {int64_t(fs->floats.size())};
    t.bytes.assign(reinterpret_cast<const char *>(fs->floats.data()),
                   4 * fs->floats.size());
  } else {
    return fail(node, "has no value attribute Braid reads (value, "
                      "value_float(s), value_int(s))");
  }
  defineConst(node, 0, std::move(t));
  return llvm::Error::success();
}

Tensor floatTensor(std::vector<int64_t> shape, const std::vector<float> &data) {
  Tensor t;
  t.type = ElemType::Float;
  t.shape = std::move(shape);
  t.bytes.assign(reinterpret_cast<const char *>(data.data()),
                 data.size() * sizeof(float));
  return t;
}

llvm::Error Importer::importIdentity(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  values[node.outputs[0]] = *val;
  return llvm::Error::success();
}

llvm::Error Importer::importCast(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  const Attribute *to = node.attr("to");
  auto target = static_cast<ElemType>(to ? to->i : 0);
  bool toFloat = target == ElemType::Float || target == ElemType::Float16 ||
                 target == ElemType::BFloat16;
  bool toInt = target == ElemType::Int64 || target == ElemType::Int32;
  if (val->kind == Val::Const) {
    const Tensor &t = *val->constant;
    if (toFloat && t.isFloat()) {
      defineConst(node, 0, floatTensor(t.shape, t.toFloats()));
      return llvm::Error::success();
    }
    if (toInt && t.isInt()) {
      Tensor out = t;
      std::vector<int64_t> ints = t.toInts();
      out.type = ElemType::Int64;
      out.bytes.assign(reinterpret_cast<const char *>(ints.data()),
                       8 * ints.size());
      defineConst(node, 0, std::move(out));
      return llvm::Error::success();
    }
  } else if (val->kind == Val::Runtime && toFloat &&
             isa<FloatType>(cast<RankedTensorType>(val->value.getType())
                                .getElementType())) {
    // Braid computes in one float type; precision casts are no-ops.
    values[node.outputs[0]] = *val;
    return llvm::Error::success();
  }
  return fail(node, "cast to " + elemTypeName(target) +
                        " is not supported on '" + node.inputs[0] + "'");
}

/// Element-wise a OP b on constants of the same shape or with a scalar.
llvm::Error Importer::foldBinary(const Node &node, const Tensor &a,
                                 const Tensor &b) {
  if (!a.isFloat() || !b.isFloat())
    return fail(node, "folding integer constants is not supported");
  std::vector<float> x = a.toFloats(), y = b.toFloats();
  if (x.size() != y.size() && x.size() != 1 && y.size() != 1)
    return fail(node, "shape conflict: constants " + dimsToString(a.shape) +
                          " and " + dimsToString(b.shape) +
                          " do not broadcast element-wise");
  size_t n = std::max(x.size(), y.size());
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    float l = x[x.size() == 1 ? 0 : i], r = y[y.size() == 1 ? 0 : i];
    const std::string &op = node.opType;
    out[i] = op == "Add"   ? l + r
             : op == "Sub" ? l - r
             : op == "Mul" ? l * r
                           : l / r;
  }
  defineConst(node, 0,
              floatTensor(x.size() >= y.size() ? a.shape : b.shape, out));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Embedding and projections
//===----------------------------------------------------------------------===//

llvm::Error Importer::importGather(const Node &node) {
  llvm::Expected<Val> data = input(node, 0);
  if (!data)
    return data.takeError();
  const Attribute *axis = node.attr("axis");
  if (data->kind != Val::Const || (axis && axis->i != 0) ||
      data->constant->shape.size() != 2)
    return fail(node, "only a Gather of rows of a 2-D initializer (an "
                      "embedding table) is supported");
  llvm::Expected<Value> ids = runtime(node, 1);
  if (!ids)
    return ids.takeError();
  if (features(*ids).size() != 0 || *ids != builder.getBlock()->getArgument(0))
    return fail(node, "an embedding lookup must read the token ids '" +
                          idsName + "'");
  const Tensor &table = *data->constant;
  if (!table.isFloat())
    return fail(node, "embedding table '" + table.name +
                          "' has unsupported data type " +
                          elemTypeName(table.type));
  hiddenSize = table.shape[1];
  Value w = weight(table, WeightForm::AsIs, table.shape);
  Value h =
      EmbeddingOp::create(builder, loc, activation({table.shape[1]}), *ids, w);
  return define(node, 0, h);
}

bool isTokenLayout(Layout layout) {
  return layout == Layout::Natural || layout == Layout::FlatTokens;
}

llvm::Error Importer::importMatMul(const Node &node) {
  llvm::Expected<Val> a = input(node, 0);
  llvm::Expected<Val> b = input(node, 1);
  if (!a)
    return a.takeError();
  if (!b)
    return b.takeError();
  if (a->kind == Val::Const && b->kind == Val::Const)
    return fail(node, "MatMul of two constants is not supported");
  if (b->kind != Val::Const)
    return fail(node, "MatMul of two activations ('" + node.inputs[0] + "', '" +
                          node.inputs[1] +
                          "') is not a direct op: decomposed attention "
                          "needs raising; use Attention or "
                          "GroupQueryAttention");
  if (a->kind != Val::Runtime || !isTokenLayout(a->layout))
    return fail(node, "input '" + node.inputs[0] +
                          "' must be an activation [batch, seq, in]");
  const Tensor &w = *b->constant;
  if (w.shape.size() != 2)
    return fail(node, "weight '" + w.name + "' is " + dimsToString(w.shape) +
                          "; expected [in, out]");
  if (!w.isFloat())
    return fail(node, "weight '" + w.name + "' has unsupported data type " +
                          elemTypeName(w.type));
  ArrayRef<int64_t> in = features(a->value);
  if (in.size() != 1 || in[0] != w.shape[0])
    return fail(node, "shape conflict: input '" + node.inputs[0] + "' is " +
                          onnxShape(*a) + " but weight '" + w.name + "' is " +
                          dimsToString(w.shape) + " ([in, out])");
  // ONNX multiplies by [in, out]; braid.linear takes [out, in].
  Value weightValue =
      weight(w, WeightForm::Transposed, {w.shape[1], w.shape[0]});
  Value y = LinearOp::create(builder, loc, activation({w.shape[1]}), a->value,
                             weightValue, Value());
  return define(node, 0, y, a->layout);
}

llvm::Error Importer::importGemm(const Node &node) {
  auto intAttr = [&](StringRef key, int64_t dflt) {
    const Attribute *a = node.attr(key);
    return a ? a->i : dflt;
  };
  auto floatAttr = [&](StringRef key, float dflt) {
    const Attribute *a = node.attr(key);
    return a ? a->f : dflt;
  };
  if (intAttr("transA", 0))
    return fail(node, "transA = 1 is not supported (the activation must be "
                      "[tokens, in])");
  llvm::Expected<Val> a = input(node, 0);
  if (!a)
    return a.takeError();
  if (a->kind != Val::Runtime || !isTokenLayout(a->layout))
    return fail(node, "input '" + node.inputs[0] +
                          "' must be an activation [tokens, in]");
  llvm::Expected<const Tensor *> b = constant(node, 1);
  if (!b)
    return b.takeError();
  const Tensor &w = **b;
  bool transB = intAttr("transB", 0);
  if (w.shape.size() != 2 || !w.isFloat())
    return fail(node, "weight '" + w.name +
                          "' must be a 2-D float "
                          "initializer, got " +
                          dimsToString(w.shape) + " " + elemTypeName(w.type));
  int64_t inDim = transB ? w.shape[1] : w.shape[0];
  int64_t outDim = transB ? w.shape[0] : w.shape[1];
  ArrayRef<int64_t> in = features(a->value);
  if (in.size() != 1 || in[0] != inDim)
    return fail(node, "shape conflict: input '" + node.inputs[0] + "' is " +
                          onnxShape(*a) + " but weight '" + w.name + "' is " +
                          dimsToString(w.shape) +
                          (transB ? " ([out, in])" : " ([in, out])"));
  Value weightValue = transB
                          ? weight(w, WeightForm::AsIs, w.shape)
                          : weight(w, WeightForm::Transposed, {outDim, inDim});
  Value bias;
  if (has(node, 2)) {
    llvm::Expected<const Tensor *> c = constant(node, 2);
    if (!c)
      return c.takeError();
    if ((*c)->numel() != outDim || !(*c)->isFloat())
      return fail(node, "bias '" + (*c)->name + "' is " +
                            dimsToString((*c)->shape) + "; expected a float [" +
                            std::to_string(outDim) +
                            "] (broadcast over tokens)");
    float beta = floatAttr("beta", 1.0f);
    if (beta == 1.0f) {
      bias = weight(**c, WeightForm::AsIs, {outDim});
    } else {
      std::vector<float> scaled = (*c)->toFloats();
      for (float &v : scaled)
        v *= beta;
      folded.push_back(floatTensor({outDim}, scaled));
      folded.back().name = (*c)->name + ".beta";
      bias = weight(folded.back(), WeightForm::AsIs, {outDim});
    }
  }
  float alpha = floatAttr("alpha", 1.0f);
  if (alpha != 1.0f && bias)
    return fail(node, "alpha != 1 together with a bias is not supported");
  Value y = LinearOp::create(builder, loc, activation({outDim}), a->value,
                             weightValue, bias);
  if (alpha != 1.0f)
    y = ScaleOp::create(builder, loc, y, builder.getF64FloatAttr(alpha));
  return define(node, 0, y, a->layout);
}

//===----------------------------------------------------------------------===//
// Element-wise ops
//===----------------------------------------------------------------------===//

llvm::Error Importer::importBinary(const Node &node) {
  llvm::Expected<Val> lhs = input(node, 0);
  if (!lhs)
    return lhs.takeError();
  llvm::Expected<Val> rhs = input(node, 1);
  if (!rhs)
    return rhs.takeError();
  if (lhs->kind == Val::Const && rhs->kind == Val::Const)
    return foldBinary(node, *lhs->constant, *rhs->constant);
  if (fusesWithGeneric({&*lhs, &*rhs}) && succeededGeneric(node))
    return llvm::Error::success();
  for (const Val *v : {&*lhs, &*rhs})
    if (v->kind != Val::Runtime && v->kind != Val::Const)
      return fail(node, "an input is a graph input Braid does not take");
  Val x = *lhs, y = *rhs;
  if (x.kind == Val::Const) {
    if (node.opType == "Sub" || node.opType == "Div")
      // A constant minus or divided by an activation has no braid op.
      return genericOr(node, fail(node, "a constant minus or divided by an "
                                        "activation is not expressible"));
    std::swap(x, y); // Add and Mul commute
  }
  llvm::Error error = y.kind == Val::Runtime
                          ? binaryOfActivations(node, x, y)
                          : binaryWithConstant(node, x, *y.constant);
  // What braid's add/mul/scale cannot express (broadcasts between
  // activations, division, scalar offsets) goes the generic way.
  if (error && x.layout == Layout::Natural &&
      (y.kind == Val::Const || y.layout == Layout::Natural))
    return genericOr(node, std::move(error));
  return error;
}

bool Importer::fusesWithGeneric(std::initializer_list<const Val *> operands) {
  bool generic = false;
  for (const Val *v : operands) {
    if (v->kind == Val::Runtime && v->layout != Layout::Natural)
      return false;
    if (v->kind == Val::Runtime)
      generic |= isa_and_nonnull<linalg::GenericOp>(v->value.getDefiningOp());
  }
  return generic;
}

bool Importer::succeededGeneric(const Node &node) {
  if (llvm::Error error = importGeneric(node)) {
    llvm::consumeError(std::move(error));
    return false;
  }
  return true;
}

llvm::Error Importer::genericOr(const Node &node, llvm::Error original) {
  llvm::Error generic = importGeneric(node);
  if (!generic) {
    llvm::consumeError(std::move(original));
    return llvm::Error::success();
  }
  // The braid path's message says what braid lacks; keep it.
  llvm::consumeError(std::move(generic));
  return original;
}

/// The operand of a Sigmoid node that produced `v`, if any.
Value Importer::sigmoidInput(const Val &v) {
  const Node *p = v.producer;
  if (!p || p->opType != "Sigmoid" || !p->domain.empty())
    return Value();
  auto it = values.find(p->inputs[0]);
  return it == values.end() ? Value() : it->second.value;
}

llvm::Error Importer::binaryOfActivations(const Node &node, const Val &x,
                                          const Val &y) {
  const std::string &op = node.opType;
  // SiLU exported as x * Sigmoid(x): one operand is the Sigmoid of the other.
  if (op == "Mul")
    for (auto [a, b] : {std::pair(&x, &y), std::pair(&y, &x)})
      if (sigmoidInput(*b) == a->value)
        return define(
            node, 0,
            ActivationOp::create(builder, loc, ActivationKind::silu, a->value),
            a->layout);
  if (x.layout != y.layout || x.value.getType() != y.value.getType())
    return fail(node, "shape conflict: " + onnxShape(x) + " and " +
                          onnxShape(y) +
                          " (activations combine only when equal in shape)");
  Type type = x.value.getType();
  Value result;
  if (op == "Add")
    result = AddOp::create(builder, loc, type, x.value, y.value);
  else if (op == "Mul")
    result = MulOp::create(builder, loc, type, x.value, y.value);
  else if (op == "Sub")
    result = AddOp::create(
        builder, loc, type, x.value,
        ScaleOp::create(builder, loc, y.value, builder.getF64FloatAttr(-1)));
  else
    return fail(node, "division of two activations is not supported");
  return define(node, 0, result, x.layout);
}

llvm::Error Importer::binaryWithConstant(const Node &node, const Val &x,
                                         const Tensor &c) {
  const std::string &op = node.opType;
  if (!c.isFloat())
    return fail(node, "constant '" + c.name + "' has unsupported data type " +
                          elemTypeName(c.type));
  std::vector<float> data = c.toFloats();
  if (data.size() == 1) {
    double factor = data[0];
    if (op == "Add" || op == "Sub") {
      if (factor != 0)
        return fail(node, "adding a scalar constant to an activation is not "
                          "expressible in braid");
      values[node.outputs[0]] = x;
      return llvm::Error::success();
    }
    if (op == "Div")
      factor = 1.0 / factor;
    Value s =
        ScaleOp::create(builder, loc, x.value, builder.getF64FloatAttr(factor));
    return define(node, 0, s, x.layout);
  }
  // A per-channel constant: its dims after leading 1s must be the trailing
  // dims of the activation (in ONNX and in IR order alike).
  std::vector<int64_t> dims = c.shape;
  while (!dims.empty() && dims.front() == 1)
    dims.erase(dims.begin());
  ArrayRef<int64_t> fx = features(x.value);
  bool sameOrder = x.layout != Layout::HeadsMajor || dims.size() <= 1;
  if (!sameOrder || dims.size() > fx.size() ||
      ArrayRef<int64_t>(dims) != fx.take_back(dims.size()))
    return fail(node, "shape conflict: constant '" + c.name + "' is " +
                          dimsToString(c.shape) +
                          " and does not broadcast over the trailing dims "
                          "of " +
                          onnxShape(x));
  const Tensor *t = &c;
  if (op == "Sub" || op == "Div") {
    // x - c = x + (-c), x / c = x * (1 / c): braid has add and mul only.
    for (float &v : data)
      v = op == "Sub" ? -v : 1.0f / v;
    folded.push_back(floatTensor(dims, data));
    folded.back().name = c.name + (op == "Sub" ? ".neg" : ".recip");
    t = &folded.back();
  }
  Value w = weight(*t, WeightForm::AsIs, dims);
  Type type = x.value.getType();
  Value result = op == "Add" || op == "Sub"
                     ? Value(AddOp::create(builder, loc, type, x.value, w))
                     : Value(MulOp::create(builder, loc, type, x.value, w));
  return define(node, 0, result, x.layout);
}

llvm::Error Importer::importUnary(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  const std::string &op = node.opType;
  if (val->kind == Val::Const) {
    if (op != "Neg" && op != "Exp")
      return importGeneric(node); // folds Sigmoid, Tanh, ... of constants
    if (!val->constant->isFloat())
      return fail(node, "folding " + op + " of a constant is not supported");
    std::vector<float> data = val->constant->toFloats();
    for (float &v : data)
      v = op == "Neg" ? -v : std::exp(v);
    defineConst(node, 0, floatTensor(val->constant->shape, data));
    return llvm::Error::success();
  }
  if (op != "Gelu" && fusesWithGeneric({&*val}) && succeededGeneric(node))
    return llvm::Error::success();
  std::optional<ActivationKind> kind;
  if (op == "Sigmoid")
    kind = ActivationKind::sigmoid;
  else if (op == "Softplus")
    kind = ActivationKind::softplus;
  else if (op == "Tanh")
    kind = ActivationKind::tanh;
  else if (op == "Relu")
    kind = ActivationKind::relu;
  else if (op == "ReluSquared") // braid domain, raised from Pow(Relu(x), 2)
    kind = ActivationKind::relu2;
  else if (op == "Gelu") {
    const Attribute *approx = node.attr("approximate");
    kind = approx && approx->s == "tanh" ? ActivationKind::gelu_tanh
                                         : ActivationKind::gelu;
  }
  if (op == "Neg") {
    llvm::Expected<Value> x = runtime(node, 0, val->layout);
    if (!x)
      return x.takeError();
    Value s = ScaleOp::create(builder, loc, *x, builder.getF64FloatAttr(-1));
    return define(node, 0, s, val->layout);
  }
  if (!kind)
    return genericOr(node, fail(node, op + " of an activation is not "
                                           "expressible in braid"));
  llvm::Expected<Value> x = runtime(node, 0, val->layout);
  if (!x)
    return x.takeError();
  Value y = ActivationOp::create(builder, loc, *kind, *x);
  return define(node, 0, y, val->layout);
}

} // namespace detail
} // namespace onnx
} // namespace braid
