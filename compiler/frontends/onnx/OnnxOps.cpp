//===- OnnxOps.cpp - one import handler per ONNX op family ----------------===//
//
// Each handler reads its node's operands (runtime values in a layout, or
// constants), checks what braid can express, and defines the node's outputs;
// errors name the node and op type. docs/onnx.md is the reference table.
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

/// The activation operand of MatMul/Gemm: Natural or FlatTokens.
static bool isTokenLayout(Layout layout) {
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

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

llvm::Error Importer::importReshape(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  llvm::Expected<std::vector<int64_t>> target = intConstant(node, 1);
  if (!target)
    return target.takeError();
  if (val->kind == Val::Const) {
    Tensor t = *val->constant;
    int64_t known = 1, infer = -1;
    for (auto [i, d] : llvm::enumerate(*target)) {
      if (d == 0)
        d = t.shape[i];
      if (d == -1)
        infer = int64_t(i);
      else
        known *= d;
    }
    if (infer >= 0)
      (*target)[infer] = known ? t.numel() / known : 0;
    if (product(*target) != t.numel())
      return fail(node, "shape conflict: cannot reshape constant " +
                            dimsToString(t.shape) + " to " +
                            dimsToString(*target));
    t.shape = *target;
    defineConst(node, 0, std::move(t));
    return llvm::Error::success();
  }
  if (val->kind != Val::Runtime || !isTokenLayout(val->layout))
    return fail(node, "input '" + node.inputs[0] +
                          "' must be an activation "
                          "[batch, seq, ...] or [batch * seq, ...]");
  // Classify each target dim: batch, seq, batch*seq, infer, or a feature.
  enum Sym : int64_t { Batch = -10, Seq = -11, BatchSeq = -12, Infer = -1 };
  bool natural = val->layout == Layout::Natural;
  // The input's ONNX dims, for targets that copy them (0).
  std::vector<int64_t> inDims = natural ? std::vector<int64_t>{Batch, Seq}
                                        : std::vector<int64_t>{BatchSeq};
  llvm::append_range(inDims, features(val->value));
  std::vector<int64_t> dims = *target;
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (d == 0) {
      if (i >= inDims.size())
        return fail(node, "target " + dimsToString(*target) + " copies dim " +
                              std::to_string(i) + " of " + onnxShape(*val) +
                              ", which it does not have");
      d = inDims[i];
    } else if (i == 0 && staticBatch && d == *staticBatch) {
      d = Batch;
    } else if (i == 0 && staticBatch && staticSeq &&
               d == *staticBatch * *staticSeq) {
      d = BatchSeq;
    } else if (i == 1 && dims[0] == Batch && staticSeq && d == *staticSeq) {
      d = Seq;
    }
  }
  Layout layout;
  size_t first;
  if (dims.size() >= 2 && dims[0] == Batch &&
      (dims[1] == Seq || dims[1] == Infer)) {
    layout = Layout::Natural;
    first = 2;
  } else if (!dims.empty() && (dims[0] == BatchSeq || dims[0] == Infer)) {
    layout = Layout::FlatTokens;
    first = 1;
  } else {
    return fail(node, "reshape of " + onnxShape(*val) + " to " +
                          dimsToString(*target) +
                          " moves the batch or sequence dimension, which "
                          "braid cannot express");
  }
  std::vector<int64_t> out(dims.begin() + first, dims.end());
  int64_t inCount = product(features(val->value));
  auto inferAt = llvm::find(out, int64_t(Infer));
  if (inferAt != out.end()) {
    *inferAt = 1;
    int64_t rest = product(out);
    *inferAt = rest ? inCount / rest : 0;
  }
  if (llvm::any_of(out, [](int64_t d) { return d < 0; }) ||
      product(out) != inCount)
    return fail(node, "shape conflict: cannot reshape " + onnxShape(*val) +
                          " to " + dimsToString(*target));
  return define(node, 0, reshape(val->value, out), layout);
}

llvm::Error Importer::importUnsqueeze(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  std::vector<int64_t> axes;
  if (has(node, 1)) {
    llvm::Expected<std::vector<int64_t>> a = intConstant(node, 1);
    if (!a)
      return a.takeError();
    axes = *a;
  } else if (const Attribute *a = node.attr("axes")) {
    axes = a->ints;
  }
  bool squeeze = node.opType == "Squeeze";
  if (val->kind == Val::Const) {
    Tensor t = *val->constant;
    int64_t rank = int64_t(t.shape.size()) + (squeeze ? 0 : axes.size());
    for (int64_t &a : axes)
      if (a < 0)
        a += rank;
    llvm::sort(axes);
    if (squeeze) {
      for (auto it = axes.rbegin(); it != axes.rend(); ++it)
        t.shape.erase(t.shape.begin() + *it);
      if (axes.empty())
        llvm::erase(t.shape, 1);
    } else {
      for (int64_t a : axes)
        t.shape.insert(t.shape.begin() + std::min<int64_t>(a, t.shape.size()),
                       1);
    }
    defineConst(node, 0, std::move(t));
    return llvm::Error::success();
  }
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  std::vector<int64_t> dims = {-1, -1};
  llvm::append_range(dims, features(*x));
  int64_t rank = int64_t(dims.size()) + (squeeze ? 0 : axes.size());
  for (int64_t &a : axes) {
    if (a < 0)
      a += rank;
    if (a < 2)
      return fail(node, "axis " + std::to_string(a) +
                            " touches the batch or sequence dimension");
  }
  llvm::sort(axes);
  if (squeeze) {
    for (auto it = axes.rbegin(); it != axes.rend(); ++it) {
      if (*it >= int64_t(dims.size()) || dims[*it] != 1)
        return fail(node, "cannot squeeze axis " + std::to_string(*it));
      dims.erase(dims.begin() + *it);
    }
  } else {
    for (int64_t a : axes)
      dims.insert(dims.begin() + std::min<int64_t>(a, dims.size()), 1);
  }
  return define(node, 0, reshape(*x, ArrayRef<int64_t>(dims).drop_front(2)));
}

llvm::Error Importer::importTranspose(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  const Attribute *permAttr = node.attr("perm");
  if (val->kind == Val::Const) {
    const Tensor &t = *val->constant;
    std::vector<int64_t> perm =
        permAttr ? permAttr->ints : std::vector<int64_t>{1, 0};
    if (t.shape.size() != 2 || perm != std::vector<int64_t>{1, 0} ||
        !t.isFloat())
      return fail(node, "only 2-D float constants are transposed at import");
    std::vector<float> in = t.toFloats(), out(in.size());
    int64_t rows = t.shape[0], cols = t.shape[1];
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        out[c * rows + r] = in[r * cols + c];
    defineConst(node, 0, floatTensor({cols, rows}, out));
    return llvm::Error::success();
  }
  if (val->kind != Val::Runtime)
    return fail(node, "input must be an activation");
  std::vector<int64_t> perm =
      permAttr ? permAttr->ints : std::vector<int64_t>{};
  size_t rank = 2 + features(val->value).size();
  bool identity = perm.size() == rank;
  for (size_t i = 0; identity && i < rank; ++i)
    identity = perm[i] == int64_t(i);
  if (identity) {
    values[node.outputs[0]] = *val;
    return llvm::Error::success();
  }
  // [B, T, H, D] <-> [B, H, T, D]: the same IR value in the other layout.
  if (rank == 4 && perm == std::vector<int64_t>{0, 2, 1, 3} &&
      val->layout != Layout::FlatTokens)
    return define(node, 0, val->value,
                  val->layout == Layout::Natural ? Layout::HeadsMajor
                                                 : Layout::Natural);
  // Other permutations of feature dims move data: a copy generic.
  if (perm.size() == rank && perm[0] == 0 && perm[1] == 1 &&
      val->layout == Layout::Natural) {
    std::vector<int64_t> sorted = perm;
    llvm::sort(sorted);
    bool valid = true;
    for (size_t i = 0; i < rank; ++i)
      valid &= sorted[i] == int64_t(i);
    if (valid)
      return transposeFeatures(node, val->value, perm);
  }
  return fail(node, "permutation [" +
                        llvm::join(llvm::map_range(perm,
                                                   [](int64_t p) {
                                                     return std::to_string(p);
                                                   }),
                                   ", ") +
                        "] of " + onnxShape(*val) +
                        " is not expressible in braid (only swapping heads "
                        "and sequence of [B, T, H, D])");
}

llvm::Error Importer::importSplit(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  if (val->kind != Val::Runtime)
    return fail(node, "splitting constants is not supported");
  const Attribute *axisAttr = node.attr("axis");
  int64_t axis = axisAttr ? axisAttr->i : 0;
  int64_t rank = val->layout == Layout::FlatTokens
                     ? 1 + features(val->value).size()
                     : 2 + features(val->value).size();
  if (axis < 0)
    axis += rank;
  int64_t ir = irAxis(val->layout, axis);
  if (ir < 0)
    return fail(node, "axis " + std::to_string(axis) + " of " +
                          onnxShape(*val) +
                          " is the batch or sequence dimension");
  auto shape = cast<RankedTensorType>(val->value.getType()).getShape();
  std::vector<int64_t> sizes;
  if (has(node, 1)) {
    llvm::Expected<std::vector<int64_t>> s = intConstant(node, 1);
    if (!s)
      return s.takeError();
    sizes = *s;
  } else if (const Attribute *s = node.attr("split")) {
    sizes = s->ints;
  } else {
    size_t parts = node.outputs.size();
    if (shape[ir] % int64_t(parts))
      return fail(node, "cannot split " + std::to_string(shape[ir]) +
                            " evenly into " + std::to_string(parts));
    sizes.assign(parts, shape[ir] / int64_t(parts));
  }
  if (sizes.size() != node.outputs.size() || product(sizes) == 0 ||
      std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != shape[ir])
    return fail(node, "shape conflict: split sizes " + dimsToString(sizes) +
                          " do not cover dimension " + std::to_string(axis) +
                          " of " + onnxShape(*val) + " with " +
                          std::to_string(node.outputs.size()) + " outputs");
  SmallVector<Type> types;
  for (int64_t size : sizes) {
    SmallVector<int64_t> dims(shape);
    dims[ir] = size;
    types.push_back(RankedTensorType::get(dims, f32));
  }
  auto op = SplitOp::create(builder, loc, types, val->value, ir,
                            builder.getDenseI64ArrayAttr(sizes));
  for (unsigned i = 0; i < sizes.size(); ++i)
    if (llvm::Error error = define(node, i, op.getResult(i), val->layout))
      return error;
  return llvm::Error::success();
}

llvm::Error Importer::importConcat(const Node &node) {
  SmallVector<Value> inputs;
  std::optional<Layout> layout;
  for (unsigned i = 0; i < node.inputs.size(); ++i) {
    llvm::Expected<Val> val = input(node, i);
    if (!val)
      return val.takeError();
    if (val->kind != Val::Runtime)
      return fail(node, "concatenating constants or graph inputs is not "
                        "supported");
    if (layout && *layout != val->layout)
      return fail(node, "inputs come in different layouts");
    layout = val->layout;
    inputs.push_back(val->value);
  }
  const Attribute *axisAttr = node.attr("axis");
  int64_t axis = axisAttr ? axisAttr->i : 0;
  auto shape = cast<RankedTensorType>(inputs[0].getType()).getShape();
  int64_t rank =
      *layout == Layout::FlatTokens ? shape.size() - 1 : shape.size();
  if (axis < 0)
    axis += rank;
  int64_t ir = irAxis(*layout, axis);
  if (ir < 0)
    return fail(node, "axis " + std::to_string(axis) +
                          " is the batch or sequence dimension");
  SmallVector<int64_t> dims(shape);
  dims[ir] = 0;
  for (Value v : inputs) {
    auto s = cast<RankedTensorType>(v.getType()).getShape();
    if (s.size() != shape.size())
      return fail(node, "shape conflict: inputs of different ranks");
    dims[ir] += s[ir];
  }
  Value c = ConcatOp::create(builder, loc, RankedTensorType::get(dims, f32),
                             inputs, ir);
  return define(node, 0, c, *layout);
}

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
    operands.push_back({5, {2 * shared, hidden}, "shared_gate_up", &sharedGateUp});
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
  Value y = MoEOp::create(builder, loc, x->getType(), *routing, *x, router2,
                          gateUp, down2, routerBias, sharedGateUp, sharedDown,
                          experts, topK, intAttr("normalize_topk", 0) != 0,
                          llvm::APFloat(scaling ? double(scaling->f) : 1.0),
                          *act);
  return define(node, 0, y);
}

} // namespace detail
} // namespace onnx
} // namespace braid
