//===- OnnxShapeOps.cpp - ONNX shape ops ----------------------------------===//
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
  llvm::Expected<std::optional<std::vector<int64_t>>> given =
      intsInputOrAttr(node, 1, "axes");
  if (!given)
    return given.takeError();
  std::vector<int64_t> axes = given->value_or(std::vector<int64_t>());
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
  llvm::Expected<std::optional<std::vector<int64_t>>> given =
      intsInputOrAttr(node, 1, "split");
  if (!given)
    return given.takeError();
  std::vector<int64_t> sizes;
  if (*given) {
    sizes = **given;
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

} // namespace detail
} // namespace onnx
} // namespace braid
