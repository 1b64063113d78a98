//===- OnnxGeneric.cpp - ONNX ops without a braid op, as linalg -----------===//
//
// Element-wise ops (numpy broadcasting), reductions and Softmax that no
// braid op expresses are imported as `linalg.generic` ops on tensors whose
// bodies use arith and math. `linalg-fuse-elementwise-ops` then merges
// chains of them and `braid-lower-linalg` turns each remaining generic into
// one `braid.fused_elementwise` launch (docs/onnx.md, "Generic ops").
//
// Conventions of this file:
//   * every runtime operand is an activation in the Natural layout, so its
//     ONNX rank is its IR rank and dims 0 and 1 are batch and sequence;
//   * loops follow the ONNX output's dims; loops 0 and 1 are batch and
//     sequence, which broadcasting may never move;
//   * booleans are f32 0 or 1 (a comparison yields uitofp(cmpf)); Where
//     tests its condition against 0. Buffers stay f32, so the launch
//     planner's byte counts hold;
//   * a constant of one element is inlined into the body; other constants
//     become weights read with broadcast maps.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/ImporterImpl.h"

#include "dialects/Braid/BraidOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace braid {
namespace onnx {
namespace detail {

namespace {
/// The float values of a constant: FLOAT, FLOAT16, BFLOAT16, BOOL (0 / 1)
/// or integers (converted).
std::optional<std::vector<float>> constantFloats(const Tensor &t) {
  if (t.isFloat())
    return t.toFloats();
  if (t.isInt()) {
    std::vector<float> out;
    for (int64_t v : t.toInts())
      out.push_back(float(v));
    return out;
  }
  if (t.type == ElemType::Bool && int64_t(t.bytes.size()) == t.numel()) {
    std::vector<float> out;
    for (char c : t.bytes)
      out.push_back(c ? 1.0f : 0.0f);
    return out;
  }
  return std::nullopt;
}

std::string joinDims(ArrayRef<int64_t> dims) {
  return llvm::join(llvm::map_range(dims,
                                    [](int64_t d) {
                                      return ShapedType::isDynamic(d)
                                                 ? std::string("?")
                                                 : std::to_string(d);
                                    }),
                    ", ");
}
} // namespace

llvm::Expected<Importer::GenericOperands>
Importer::broadcastOperands(const Node &node, ArrayRef<unsigned> indices) {
  GenericOperands result;
  struct Item {
    Value value; // runtime tensor
    const Tensor *constant = nullptr;
    std::vector<float> data;    // constant values
    std::vector<int64_t> shape; // ONNX shape (runtime: IR shape)
  };
  std::vector<Item> items;
  size_t rank = 0;
  for (unsigned i : indices) {
    llvm::Expected<Val> val = input(node, i);
    if (!val)
      return val.takeError();
    Item item;
    if (val->kind == Val::Const) {
      std::optional<std::vector<float>> data = constantFloats(*val->constant);
      if (!data)
        return fail(node, "constant '" + node.inputs[i] +
                              "' has unsupported data type " +
                              elemTypeName(val->constant->type));
      item.constant = val->constant;
      item.data = std::move(*data);
      item.shape = val->constant->shape;
    } else {
      llvm::Expected<Value> x = runtime(node, i);
      if (!x)
        return x.takeError();
      item.value = *x;
      auto shape = cast<RankedTensorType>(x->getType()).getShape();
      item.shape.assign(shape.begin(), shape.end());
      if (!result.anchor)
        result.anchor = *x;
    }
    rank = std::max(rank, item.shape.size());
    items.push_back(std::move(item));
  }
  if (!result.anchor)
    return fail(node, "every input is a constant; folding " + node.opType +
                          " at import is not supported");

  // The broadcast output shape, ONNX rules, aligned at the trailing dims.
  std::vector<int64_t> out(rank, 1);
  out[0] = out[1] = ShapedType::kDynamic;
  for (const Item &item : items) {
    size_t offset = rank - item.shape.size();
    if (item.value && offset != 0)
      return fail(node, "shape conflict: activation '" + std::string("[") +
                            joinDims(item.shape) + "]' has rank " +
                            std::to_string(item.shape.size()) +
                            " but the result has rank " + std::to_string(rank) +
                            "; broadcasting would move batch or sequence");
    for (size_t k = 0; k < item.shape.size(); ++k) {
      size_t p = offset + k;
      int64_t s = item.shape[k];
      if (p < 2) {
        if (!item.value && s != 1)
          return fail(node, "constant '" + item.constant->name + "' is [" +
                                joinDims(item.shape) +
                                "] and varies over the batch or sequence "
                                "dimension");
        continue;
      }
      if (s == 1 || s == out[p])
        continue;
      if (out[p] != 1)
        return fail(node, "shape conflict: dim " + std::to_string(p) + " is " +
                              std::to_string(out[p]) + " and " +
                              std::to_string(s) + ", which do not broadcast");
      out[p] = s;
    }
  }
  result.shape = SmallVector<int64_t>(out.begin(), out.end());

  for (Item &item : items) {
    GenericOperand operand;
    if (item.constant && item.data.size() == 1) {
      operand.scalar = true;
      operand.value = item.data[0];
      result.operands.push_back(operand);
      continue;
    }
    std::vector<int64_t> dims = item.shape;
    if (item.constant) {
      // Leading 1s go; the rest are trailing dims of the result (p >= 2).
      while (!dims.empty() && dims.front() == 1)
        dims.erase(dims.begin());
      const Tensor *t = item.constant;
      if (!t->isFloat()) {
        folded.push_back(floatTensor(dims, item.data));
        folded.back().name = t->name + ".f32";
        t = &folded.back();
      }
      operand.tensor = weight(*t, WeightForm::AsIs, dims);
    } else {
      operand.tensor = item.value;
    }
    size_t offset = rank - dims.size();
    for (size_t k = 0; k < dims.size(); ++k) {
      size_t p = offset + k;
      operand.map.push_back(p >= 2 && dims[k] == 1 && out[p] != 1 ? -1
                                                                  : int64_t(p));
    }
    result.operands.push_back(operand);
  }
  return result;
}

Value Importer::buildGeneric(const GenericOperands &operands,
                             ArrayRef<int64_t> loopSizes,
                             ArrayRef<int64_t> reductionLoops, StringRef reduce,
                             ElementFn element) {
  MLIRContext *ctx = &context;
  int64_t numLoops = loopSizes.size();
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (const GenericOperand &operand : operands.operands) {
    if (operand.scalar)
      continue;
    SmallVector<AffineExpr> exprs;
    for (int64_t loop : operand.map)
      exprs.push_back(loop < 0 ? getAffineConstantExpr(0, ctx)
                               : getAffineDimExpr(loop, ctx));
    inputs.push_back(operand.tensor);
    maps.push_back(AffineMap::get(numLoops, 0, exprs, ctx));
  }
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  SmallVector<AffineExpr> outExprs;
  SmallVector<int64_t> outShape;
  SmallVector<Value> dynamicSizes;
  for (int64_t loop = 0; loop < numLoops; ++loop) {
    if (llvm::is_contained(reductionLoops, loop)) {
      iterators[loop] = utils::IteratorType::reduction;
      continue;
    }
    outExprs.push_back(getAffineDimExpr(loop, ctx));
    outShape.push_back(loopSizes[loop]);
    if (ShapedType::isDynamic(loopSizes[loop]))
      dynamicSizes.push_back(
          tensor::DimOp::create(builder, loc, operands.anchor, loop));
  }
  maps.push_back(AffineMap::get(numLoops, 0, outExprs, ctx));
  Value init =
      tensor::EmptyOp::create(builder, loc, outShape, f32, dynamicSizes);
  if (reduce != "none") {
    float identity = reduce == "sum"   ? 0.0f
                     : reduce == "max" ? -std::numeric_limits<float>::infinity()
                                       : std::numeric_limits<float>::infinity();
    Value cst = arith::ConstantOp::create(builder, loc,
                                          builder.getF32FloatAttr(identity));
    init = linalg::FillOp::create(builder, loc, cst, init).getResult(0);
  }
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        SmallVector<Value> values;
        size_t next = 0;
        for (const GenericOperand &operand : operands.operands)
          values.push_back(operand.scalar
                               ? Value(arith::ConstantOp::create(
                                     b, l, b.getF32FloatAttr(operand.value)))
                               : args[next++]);
        Value v = element(b, l, values);
        if (reduce == "sum")
          v = arith::AddFOp::create(b, l, args.back(), v);
        else if (reduce == "max")
          v = arith::MaximumFOp::create(b, l, args.back(), v);
        else if (reduce == "min")
          v = arith::MinimumFOp::create(b, l, args.back(), v);
        linalg::YieldOp::create(b, l, v);
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Element-wise ops
//===----------------------------------------------------------------------===//

/// A boolean (i1) as the f32 0 / 1 that generic values carry.
static Value boolToFloat(OpBuilder &b, Location l, Value flag) {
  return arith::UIToFPOp::create(b, l, b.getF32Type(), flag);
}

static Value cst(OpBuilder &b, Location l, float v) {
  return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
}

/// The element-wise ops on constants, with the semantics of their generic
/// bodies (and of the fused_elementwise kernels), for folding at import.
static std::optional<float> foldScalar(llvm::StringRef op, ArrayRef<float> v,
                                       const Importer::ClipBounds &clip) {
  auto nanMax = [](float a, float b) {
    return std::isnan(a) || std::isnan(b) ? a + b : (a > b ? a : b);
  };
  auto nanMin = [](float a, float b) {
    return std::isnan(a) || std::isnan(b) ? a + b : (a < b ? a : b);
  };
  auto flag = [](bool c) { return c ? 1.0f : 0.0f; };
  float x = v[0];
  if (op == "Add" || op == "Sum" || op == "Max" || op == "Min") {
    float acc = x;
    for (float y : v.drop_front())
      acc = op == "Max"   ? nanMax(acc, y)
            : op == "Min" ? nanMin(acc, y)
                          : acc + y;
    return acc;
  }
  if (op == "Sub")
    return x - v[1];
  if (op == "Mul")
    return x * v[1];
  if (op == "Div")
    return x / v[1];
  if (op == "Pow")
    return std::pow(x, v[1]);
  if (op == "Sqrt")
    return std::sqrt(x);
  if (op == "Reciprocal")
    return 1.0f / x;
  if (op == "Exp")
    return std::exp(x);
  if (op == "Log")
    return std::log(x);
  if (op == "Neg")
    return -x;
  if (op == "Abs")
    return std::fabs(x);
  if (op == "Tanh")
    return std::tanh(x);
  if (op == "Erf")
    return std::erf(x);
  if (op == "Sigmoid")
    return 1.0f / (1.0f + std::exp(-x));
  if (op == "Relu")
    return nanMax(x, 0.0f);
  if (op == "Softplus")
    return (x > 0.0f ? x : 0.0f) + std::log1p(std::exp(-std::fabs(x)));
  if (op == "Where")
    return x != 0.0f ? v[1] : v[2];
  if (op == "Clip") {
    size_t next = 1;
    if (clip.loInput)
      x = nanMax(x, v[next++]);
    else if (clip.lo)
      x = nanMax(x, *clip.lo);
    if (clip.hiInput)
      x = nanMin(x, v[next++]);
    else if (clip.hi)
      x = nanMin(x, *clip.hi);
    return x;
  }
  if (op == "Less")
    return flag(x < v[1]);
  if (op == "LessOrEqual")
    return flag(x <= v[1]);
  if (op == "Greater")
    return flag(x > v[1]);
  if (op == "GreaterOrEqual")
    return flag(x >= v[1]);
  if (op == "Equal")
    return flag(x == v[1]);
  if (op == "Not")
    return flag(x == 0.0f);
  if (op == "IsNaN")
    return flag(std::isnan(x));
  return std::nullopt;
}

llvm::Error Importer::foldGeneric(const Node &node, ArrayRef<unsigned> indices,
                                  const ClipBounds &clip) {
  std::vector<std::vector<float>> data;
  std::vector<std::vector<int64_t>> shapes;
  size_t rank = 0;
  for (unsigned i : indices) {
    llvm::Expected<const Tensor *> t = constant(node, i);
    if (!t)
      return t.takeError();
    std::optional<std::vector<float>> values = constantFloats(**t);
    if (!values)
      return fail(node, "constant '" + node.inputs[i] +
                            "' has unsupported data type " +
                            elemTypeName((*t)->type));
    data.push_back(std::move(*values));
    shapes.push_back((*t)->shape);
    rank = std::max(rank, shapes.back().size());
  }
  // numpy broadcasting, aligned at the trailing dims.
  std::vector<int64_t> out(rank, 1);
  for (const std::vector<int64_t> &shape : shapes)
    for (size_t k = 0; k < shape.size(); ++k) {
      int64_t &o = out[rank - shape.size() + k];
      if (shape[k] != 1 && o != 1 && shape[k] != o)
        return fail(node, "shape conflict: constants [" + joinDims(shape) +
                              "] and [" + joinDims(out) + "] do not broadcast");
      if (shape[k] != 1)
        o = shape[k];
    }
  int64_t count = product(out);
  std::vector<float> result(count), args(indices.size());
  for (int64_t e = 0; e < count; ++e) {
    for (size_t a = 0; a < shapes.size(); ++a) {
      // The element of input a that broadcasts to output element e.
      int64_t rest = e, offset = 0, stride = 1;
      for (size_t k = rank; k-- > 0;) {
        int64_t index = rest % out[k];
        rest /= out[k];
        size_t dims = shapes[a].size();
        if (k + dims < rank)
          continue;
        int64_t size = shapes[a][k + dims - rank];
        offset += (size == 1 ? 0 : index) * stride;
        stride *= size;
      }
      args[a] = data[a][offset];
    }
    std::optional<float> value = foldScalar(node.opType, args, clip);
    if (!value)
      return fail(node,
                  "folding " + node.opType + " of constants is not supported");
    result[e] = *value;
  }
  defineConst(node, 0, floatTensor(out, result));
  return llvm::Error::success();
}

llvm::Error Importer::importGeneric(const Node &node) {
  const std::string &op = node.opType;
  SmallVector<unsigned> indices;
  for (unsigned i = 0; i < node.inputs.size(); ++i)
    if (has(node, i))
      indices.push_back(i);
  // Clip's bounds may be attributes (opset < 11) or absent inputs.
  std::optional<float> clipLo, clipHi;
  bool clipLoInput = false, clipHiInput = false;
  if (op == "Clip") {
    indices = {0};
    if (has(node, 1)) {
      indices.push_back(1);
      clipLoInput = true;
    } else if (const Attribute *a = node.attr("min")) {
      clipLo = float(a->f);
    }
    if (has(node, 2)) {
      indices.push_back(2);
      clipHiInput = true;
    } else if (const Attribute *a = node.attr("max")) {
      clipHi = float(a->f);
    }
  }
  // Only constants: fold (A = -exp(A_log)-style arithmetic on initializers,
  // a Sqrt of a head size).
  bool allConstant = true;
  for (unsigned i : indices) {
    llvm::Expected<Val> val = input(node, i);
    if (!val)
      return val.takeError();
    allConstant &= val->kind == Val::Const;
  }
  if (allConstant)
    return foldGeneric(node, indices,
                       {clipLo, clipHi, clipLoInput, clipHiInput});
  llvm::Expected<GenericOperands> operands = broadcastOperands(node, indices);
  if (!operands)
    return operands.takeError();

  using Fn = std::function<Value(OpBuilder &, Location, ArrayRef<Value>)>;
  auto unary = [](auto make) -> Fn {
    return [make](OpBuilder &b, Location l, ArrayRef<Value> v) {
      return make(b, l, v[0]);
    };
  };
  auto cmp = [](arith::CmpFPredicate pred) -> Fn {
    return [pred](OpBuilder &b, Location l, ArrayRef<Value> v) {
      return boolToFloat(b, l, arith::CmpFOp::create(b, l, pred, v[0], v[1]));
    };
  };
  Fn element;
  if (op == "Add" || op == "Sum")
    element = [](OpBuilder &b, Location l, ArrayRef<Value> v) {
      Value acc = v[0];
      for (Value x : v.drop_front())
        acc = arith::AddFOp::create(b, l, acc, x);
      return acc;
    };
  else if (op == "Sub")
    element = [](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return arith::SubFOp::create(b, l, v[0], v[1]);
    };
  else if (op == "Mul")
    element = [](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return arith::MulFOp::create(b, l, v[0], v[1]);
    };
  else if (op == "Div")
    element = [](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return arith::DivFOp::create(b, l, v[0], v[1]);
    };
  else if (op == "Pow")
    element = [](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return math::PowFOp::create(b, l, v[0], v[1]);
    };
  else if (op == "Max" || op == "Min") {
    bool isMax = op == "Max";
    element = [isMax](OpBuilder &b, Location l, ArrayRef<Value> v) {
      Value acc = v[0];
      for (Value x : v.drop_front())
        acc = isMax ? Value(arith::MaximumFOp::create(b, l, acc, x))
                    : Value(arith::MinimumFOp::create(b, l, acc, x));
      return acc;
    };
  } else if (op == "Sqrt")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return math::SqrtOp::create(b, l, x);
    });
  else if (op == "Reciprocal")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return arith::DivFOp::create(b, l, cst(b, l, 1.0f), x);
    });
  else if (op == "Exp")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return math::ExpOp::create(b, l, x);
    });
  else if (op == "Log")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return math::LogOp::create(b, l, x);
    });
  else if (op == "Neg")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return arith::NegFOp::create(b, l, x);
    });
  else if (op == "Abs")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return math::AbsFOp::create(b, l, x);
    });
  else if (op == "Tanh")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return math::TanhOp::create(b, l, x);
    });
  else if (op == "Erf")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return math::ErfOp::create(b, l, x);
    });
  else if (op == "Sigmoid")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
      Value d = arith::AddFOp::create(b, l, cst(b, l, 1.0f), e);
      return arith::DivFOp::create(b, l, cst(b, l, 1.0f), d);
    });
  else if (op == "Relu")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return arith::MaximumFOp::create(b, l, x, cst(b, l, 0.0f));
    });
  else if (op == "Softplus")
    // log(1 + exp(x)) without overflow: x + log1p(exp(-x)) for x > 0.
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x,
                                        cst(b, l, 0.0f));
      Value negAbs = arith::NegFOp::create(b, l, math::AbsFOp::create(b, l, x));
      Value tail =
          math::Log1pOp::create(b, l, math::ExpOp::create(b, l, negAbs));
      Value lead = arith::SelectOp::create(b, l, pos, x, cst(b, l, 0.0f));
      return arith::AddFOp::create(b, l, lead, tail);
    });
  else if (op == "Where")
    element = [](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      Value c = arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, v[0],
                                      cst(b, l, 0.0f));
      return arith::SelectOp::create(b, l, c, v[1], v[2]);
    };
  else if (op == "Clip")
    element = [=](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      Value x = v[0];
      size_t next = 1;
      if (clipLoInput)
        x = arith::MaximumFOp::create(b, l, x, v[next++]);
      else if (clipLo)
        x = arith::MaximumFOp::create(b, l, x, cst(b, l, *clipLo));
      if (clipHiInput)
        x = arith::MinimumFOp::create(b, l, x, v[next++]);
      else if (clipHi)
        x = arith::MinimumFOp::create(b, l, x, cst(b, l, *clipHi));
      return x;
    };
  else if (op == "Less")
    element = cmp(arith::CmpFPredicate::OLT);
  else if (op == "LessOrEqual")
    element = cmp(arith::CmpFPredicate::OLE);
  else if (op == "Greater")
    element = cmp(arith::CmpFPredicate::OGT);
  else if (op == "GreaterOrEqual")
    element = cmp(arith::CmpFPredicate::OGE);
  else if (op == "Equal")
    element = cmp(arith::CmpFPredicate::OEQ);
  else if (op == "IsNaN")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return boolToFloat(
          b, l, arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, x, x));
    });
  else if (op == "Not")
    element = unary([](OpBuilder &b, Location l, Value x) -> Value {
      return boolToFloat(b, l,
                         arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ,
                                               x, cst(b, l, 0.0f)));
    });
  else
    return fail(node, "internal: no generic form for " + op);

  SmallVector<int64_t> loops = operands->shape;
  Value result = buildGeneric(*operands, loops, {}, "none", element);
  return define(node, 0, result);
}

//===----------------------------------------------------------------------===//
// Reductions and Softmax
//===----------------------------------------------------------------------===//

/// The operand that reads `x` with the identity map of its rank.
static Importer::GenericOperand identityOperand(Value x) {
  Importer::GenericOperand operand;
  operand.tensor = x;
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  for (int64_t d = 0; d < rank; ++d)
    operand.map.push_back(d);
  return operand;
}

/// The operand that reads a reduced value (loops `axes` dropped) of a
/// rank-`rank` iteration space.
static Importer::GenericOperand reducedOperand(Value r, int64_t rank,
                                               ArrayRef<int64_t> axes) {
  Importer::GenericOperand operand;
  operand.tensor = r;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      operand.map.push_back(d);
  return operand;
}

llvm::Error Importer::importReduce(const Node &node) {
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  llvm::Expected<std::optional<std::vector<int64_t>>> given =
      intsInputOrAttr(node, 1, "axes");
  if (!given)
    return given.takeError();
  std::vector<int64_t> axes = given->value_or(std::vector<int64_t>());
  const Attribute *noop = node.attr("noop_with_empty_axes");
  if (axes.empty()) {
    if (noop && noop->i) {
      values[node.outputs[0]] = values[node.inputs[0]];
      return llvm::Error::success();
    }
    return fail(node, "reducing over every axis includes batch and sequence, "
                      "which is not supported");
  }
  for (int64_t &a : axes) {
    if (a < 0)
      a += rank;
    if (a < 0 || a >= rank)
      return fail(node, "axis " + std::to_string(a) +
                            " is out of range for "
                            "rank " +
                            std::to_string(rank));
    if (a < 2)
      return fail(node, "reducing over axis " + std::to_string(a) +
                            " (batch or sequence) is not supported");
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  const Attribute *keep = node.attr("keepdims");
  bool keepdims = !keep || keep->i != 0;

  const std::string &op = node.opType;
  StringRef reduce = op == "ReduceMax"   ? "max"
                     : op == "ReduceMin" ? "min"
                                         : "sum";
  int64_t count = 1;
  for (int64_t a : axes)
    count *= type.getDimSize(a);
  GenericOperands operands;
  operands.anchor = *x;
  operands.operands.push_back(identityOperand(*x));
  ElementFn element;
  if (op == "ReduceMean") {
    // Scaled before summing, so the mean stays one launch.
    float inv = 1.0f / float(count);
    element = [inv](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return arith::MulFOp::create(b, l, v[0], cst(b, l, inv));
    };
  } else if (op == "ReduceSumSquare") {
    element = [](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return arith::MulFOp::create(b, l, v[0], v[0]);
    };
  } else {
    element = [](OpBuilder &, Location, ArrayRef<Value> v) { return v[0]; };
  }
  Value r = buildGeneric(operands, type.getShape(), axes, reduce, element);
  if (keepdims) {
    SmallVector<int64_t> kept(type.getShape().drop_front(2));
    for (int64_t a : axes)
      kept[a - 2] = 1;
    r = reshape(r, kept);
  }
  return define(node, 0, r);
}

llvm::Error Importer::importSoftmax(const Node &node) {
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  auto type = cast<RankedTensorType>(x->getType());
  int64_t rank = type.getRank();
  const Attribute *axisAttr = node.attr("axis");
  int64_t axis = axisAttr ? axisAttr->i : -1;
  if (axis < 0)
    axis += rank;
  if (axis < 2 || axis >= rank)
    return fail(node, "softmax over axis " + std::to_string(axis) +
                          " is not supported (only feature axes of " +
                          std::to_string(rank) + "-D activations)");
  if (node.opType == "Softmax" && model.opsets.count("") &&
      model.opsets.at("") < 13 && axis != rank - 1)
    return fail(node, "opset < 13 Softmax flattens the trailing axes; only "
                      "the last axis is supported");
  ArrayRef<int64_t> shape = type.getShape();
  int64_t axes[] = {axis};
  GenericOperands in;
  in.anchor = *x;
  in.operands.push_back(identityOperand(*x));
  auto first = [](OpBuilder &, Location, ArrayRef<Value> v) { return v[0]; };
  // max, then sum(exp(x - max)), then exp(x - max) / sum: upstream fusion
  // folds the subtraction and exp into the second and third generics.
  Value m = buildGeneric(in, shape, axes, "max", first);
  GenericOperands shifted = in;
  shifted.operands.push_back(reducedOperand(m, rank, axes));
  auto expDiff = [](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
    return math::ExpOp::create(b, l, arith::SubFOp::create(b, l, v[0], v[1]));
  };
  Value s = buildGeneric(shifted, shape, axes, "sum", expDiff);
  GenericOperands last = shifted;
  last.operands.push_back(reducedOperand(s, rank, axes));
  bool logSoftmax = node.opType == "LogSoftmax";
  Value y = buildGeneric(
      last, shape, {}, "none",
      [&](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
        Value d = arith::SubFOp::create(b, l, v[0], v[1]);
        if (logSoftmax)
          return arith::SubFOp::create(b, l, d,
                                       math::LogOp::create(b, l, v[2]));
        return arith::DivFOp::create(b, l, math::ExpOp::create(b, l, d), v[2]);
      });
  return define(node, 0, y);
}

//===----------------------------------------------------------------------===//
// Layout ops that move data
//===----------------------------------------------------------------------===//

llvm::Error Importer::transposeFeatures(const Node &node, Value x,
                                        ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  // Output dim d reads input dim perm[d]: the input's dim k is loop
  // inverse[k].
  SmallVector<int64_t> loops(rank), inverse(rank);
  for (int64_t d = 0; d < rank; ++d) {
    loops[d] = type.getDimSize(perm[d]);
    inverse[perm[d]] = d;
  }
  GenericOperands operands;
  operands.anchor = x;
  GenericOperand operand;
  operand.tensor = x;
  operand.map.assign(inverse.begin(), inverse.end());
  operands.operands.push_back(operand);
  Value y = buildGeneric(
      operands, loops, {}, "none",
      [](OpBuilder &, Location, ArrayRef<Value> v) { return v[0]; });
  return define(node, 0, y);
}

llvm::Error Importer::importExpand(const Node &node) {
  llvm::Expected<Val> val = input(node, 0);
  if (!val)
    return val.takeError();
  llvm::Expected<std::vector<int64_t>> target = intConstant(node, 1);
  if (!target)
    return target.takeError();
  if (val->kind != Val::Runtime)
    return fail(node, "expanding a constant is not supported");
  llvm::Expected<Value> x = runtime(node, 0);
  if (!x)
    return x.takeError();
  auto shape = cast<RankedTensorType>(x->getType()).getShape();
  int64_t rank = shape.size();
  if (int64_t(target->size()) > rank)
    return fail(node, "expanding to rank " + std::to_string(target->size()) +
                          " would move batch or sequence");
  // Bidirectional broadcast against the target, aligned at the end; the
  // target may give batch and sequence as 1 or as their static sizes.
  SmallVector<int64_t> loops(shape.begin(), shape.end());
  GenericOperand operand;
  operand.tensor = *x;
  size_t offset = rank - target->size();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t want = d >= int64_t(offset) ? (*target)[d - offset] : 1;
    if (d >= 2 && want != 1 && shape[d] != want) {
      if (shape[d] != 1)
        return fail(node, "shape conflict: dim " + std::to_string(d) + " is " +
                              std::to_string(shape[d]) +
                              " and the target asks for " +
                              std::to_string(want));
      loops[d] = want;
      operand.map.push_back(-1);
      continue;
    }
    operand.map.push_back(d);
  }
  if (llvm::equal(loops, shape)) {
    values[node.outputs[0]] = *val;
    return llvm::Error::success();
  }
  GenericOperands operands;
  operands.anchor = *x;
  operands.operands.push_back(operand);
  Value y = buildGeneric(
      operands, loops, {}, "none",
      [](OpBuilder &, Location, ArrayRef<Value> v) { return v[0]; });
  return define(node, 0, y);
}

} // namespace detail
} // namespace onnx
} // namespace braid
