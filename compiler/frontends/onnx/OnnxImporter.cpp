//===- OnnxImporter.cpp - ONNX graph to the braid dialect -----------------===//
//
// A single pass over the nodes in graph order. Every ONNX value maps to one
// of: a runtime tensor (an MLIR value), a constant (an initializer, a
// Constant node, or the result of folding ops on constants), or a graph
// input that braid does not take (bookkeeping inputs such as GQA's
// seqlens_k, which the ops that ignore them may read).
//
// Runtime tensors are braid activations, [batch, seq, features...]. ONNX
// graphs move these dimensions around in two ways braid can follow without
// data movement, so a runtime value also records its ONNX layout:
//   Natural     ONNX [B, T, F...]    = IR [B, T, F...]
//   FlatTokens  ONNX [B*T, F...]     (a Reshape to [-1, K] before a Gemm)
//   HeadsMajor  ONNX [B, H, T, D]    (a Transpose(0, 2, 1, 3) before a 4-D
//                                     Attention or RotaryEmbedding)
// The IR value keeps the braid form; the layout decides how ONNX axes and
// shapes map onto it.
//
// This file: the op table, the checks before import, operands and results,
// weights and the packed safetensors image. The handlers are in OnnxOps.cpp.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/ImporterImpl.h"
#include "compiler/frontends/onnx/RaisePatterns.h"

#include "dialects/Braid/BraidOps.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <cstdlib>

using namespace mlir;
using braid::frontend::errorIn;

namespace braid {
namespace onnx {
namespace detail {

//===----------------------------------------------------------------------===//
// The op table
//===----------------------------------------------------------------------===//

llvm::ArrayRef<OpRule> Importer::rules() {
  constexpr unsigned N = 1000; // variadic
  static const OpRule table[] = {
      {"", "Constant", 0, 0, 1, 1, &Importer::importConstant},
      {"", "Identity", 1, 1, 1, 1, &Importer::importIdentity},
      {"", "Cast", 1, 1, 1, 1, &Importer::importCast},
      {"", "Gather", 2, 2, 1, 1, &Importer::importGather},
      {"", "MatMul", 2, 2, 1, 1, &Importer::importMatMul},
      {"", "Gemm", 2, 3, 1, 1, &Importer::importGemm},
      {"", "Add", 2, 2, 1, 1, &Importer::importBinary},
      {"", "Sub", 2, 2, 1, 1, &Importer::importBinary},
      {"", "Mul", 2, 2, 1, 1, &Importer::importBinary},
      {"", "Div", 2, 2, 1, 1, &Importer::importBinary},
      {"", "Neg", 1, 1, 1, 1, &Importer::importUnary},
      {"", "Exp", 1, 1, 1, 1, &Importer::importUnary},
      {"", "Sigmoid", 1, 1, 1, 1, &Importer::importUnary},
      {"", "Softplus", 1, 1, 1, 1, &Importer::importUnary},
      {"", "Tanh", 1, 1, 1, 1, &Importer::importUnary},
      {"", "Relu", 1, 1, 1, 1, &Importer::importUnary},
      {"", "Gelu", 1, 1, 1, 1, &Importer::importUnary},
      {"", "Reshape", 2, 2, 1, 1, &Importer::importReshape},
      {"", "Unsqueeze", 1, 2, 1, 1, &Importer::importUnsqueeze},
      {"", "Squeeze", 1, 2, 1, 1, &Importer::importUnsqueeze},
      {"", "Transpose", 1, 1, 1, 1, &Importer::importTranspose},
      {"", "Split", 1, 2, 1, N, &Importer::importSplit},
      {"", "Concat", 1, N, 1, 1, &Importer::importConcat},
      {"", "RMSNormalization", 2, 2, 1, 1, &Importer::importRMSNorm},
      {"", "SimplifiedLayerNormalization", 2, 2, 1, 2,
       &Importer::importRMSNorm},
      {"", "LayerNormalization", 2, 3, 1, 3, &Importer::importLayerNorm},
      {"", "Attention", 3, 7, 1, 4, &Importer::importAttention},
      {"", "RotaryEmbedding", 3, 4, 1, 1, &Importer::importRotary},
      {"com.microsoft", "SimplifiedLayerNormalization", 2, 2, 1, 2,
       &Importer::importRMSNorm},
      {"com.microsoft", "SkipSimplifiedLayerNormalization", 3, 4, 1, 4,
       &Importer::importSkipRMSNorm},
      {"com.microsoft", "GroupQueryAttention", 3, 14, 1, 4,
       &Importer::importGQA},
      {"com.microsoft", "RotaryEmbedding", 4, 4, 1, 1, &Importer::importRotary},
      {"braid", "CausalConv1d", 2, 3, 1, 1, &Importer::importCausalConv},
      {"braid", "SSDScan", 5, 7, 1, 1, &Importer::importSSDScan},
      {"braid", "SelectiveScan", 5, 10, 1, 1, &Importer::importSelectiveScan},
      {"braid", "GatedRMSNorm", 3, 3, 1, 1, &Importer::importGatedRMSNorm},
      {"braid", "MoE", 4, 7, 1, 1, &Importer::importMoE},
      {"braid", "ReluSquared", 1, 1, 1, 1, &Importer::importUnary},
      // Generic ops (OnnxGeneric.cpp): linalg, fused into fused_elementwise.
      {"", "Pow", 2, 2, 1, 1, &Importer::importGeneric},
      {"", "Max", 1, N, 1, 1, &Importer::importGeneric},
      {"", "Min", 1, N, 1, 1, &Importer::importGeneric},
      {"", "Sum", 1, N, 1, 1, &Importer::importGeneric},
      {"", "Sqrt", 1, 1, 1, 1, &Importer::importGeneric},
      {"", "Reciprocal", 1, 1, 1, 1, &Importer::importGeneric},
      {"", "Log", 1, 1, 1, 1, &Importer::importGeneric},
      {"", "Abs", 1, 1, 1, 1, &Importer::importGeneric},
      {"", "Erf", 1, 1, 1, 1, &Importer::importGeneric},
      {"", "Where", 3, 3, 1, 1, &Importer::importGeneric},
      {"", "Clip", 1, 3, 1, 1, &Importer::importGeneric},
      {"", "Less", 2, 2, 1, 1, &Importer::importGeneric},
      {"", "LessOrEqual", 2, 2, 1, 1, &Importer::importGeneric},
      {"", "Greater", 2, 2, 1, 1, &Importer::importGeneric},
      {"", "GreaterOrEqual", 2, 2, 1, 1, &Importer::importGeneric},
      {"", "Equal", 2, 2, 1, 1, &Importer::importGeneric},
      {"", "Not", 1, 1, 1, 1, &Importer::importGeneric},
      {"", "IsNaN", 1, 1, 1, 1, &Importer::importGeneric},
      {"", "ReduceMean", 1, 2, 1, 1, &Importer::importReduce},
      {"", "ReduceSum", 1, 2, 1, 1, &Importer::importReduce},
      {"", "ReduceMax", 1, 2, 1, 1, &Importer::importReduce},
      {"", "ReduceMin", 1, 2, 1, 1, &Importer::importReduce},
      {"", "ReduceSumSquare", 1, 2, 1, 1, &Importer::importReduce},
      {"", "Softmax", 1, 1, 1, 1, &Importer::importSoftmax},
      {"", "LogSoftmax", 1, 1, 1, 1, &Importer::importSoftmax},
      {"", "Expand", 2, 2, 1, 1, &Importer::importExpand},
  };
  return table;
}

static const OpRule *findRule(const Node &node) {
  for (const OpRule &rule : Importer::rules())
    if (node.domain == rule.domain && node.opType == rule.opType)
      return &rule;
  return nullptr;
}

llvm::Error Importer::checkSupportedOps() {
  struct Missing {
    std::string op;
    size_t count = 0;
    std::string first;
  };
  std::vector<Missing> missing;
  for (const Node &node : model.nodes) {
    if (!model.opsets.count(node.domain))
      return fail(node, "its domain '" + node.domain +
                            "' has no opset import in the model");
    if (findRule(node))
      continue;
    std::string op = qualifiedOp(node);
    auto it =
        llvm::find_if(missing, [&](const Missing &m) { return m.op == op; });
    if (it == missing.end())
      missing.push_back({op, 1, node.label()});
    else
      ++it->count;
  }
  if (missing.empty())
    return llvm::Error::success();
  std::string list;
  for (const Missing &m : missing)
    list += (list.empty() ? "" : ", ") + m.op + " x" + std::to_string(m.count) +
            " (first '" + m.first + "')";
  return fail(llvm::formatv("{0} unsupported ONNX op type{1}: {2}; "
                            "docs/onnx.md lists the ops Braid imports",
                            missing.size(), missing.size() == 1 ? "" : "s",
                            list));
}

llvm::Error Importer::checkArity(const Node &node, const OpRule &rule) {
  // Trailing empty names are absent optional inputs/outputs.
  auto count = [](const std::vector<std::string> &names) {
    size_t n = names.size();
    while (n && names[n - 1].empty())
      --n;
    return unsigned(n);
  };
  unsigned inputs = count(node.inputs), outputs = count(node.outputs);
  auto range = [](unsigned lo, unsigned hi) {
    if (lo == hi)
      return std::to_string(lo);
    if (hi >= 1000)
      return "at least " + std::to_string(lo);
    return std::to_string(lo) + " to " + std::to_string(hi);
  };
  auto noun = [](unsigned hi, const char *word) {
    return std::string(" ") + word + (hi == 1 ? "" : "s");
  };
  if (inputs < rule.minInputs || inputs > rule.maxInputs)
    return fail(node, "takes " + range(rule.minInputs, rule.maxInputs) +
                          noun(rule.maxInputs, "input") + ", got " +
                          std::to_string(inputs));
  if (outputs < rule.minOutputs || outputs > rule.maxOutputs)
    return fail(node, "has " + range(rule.minOutputs, rule.maxOutputs) +
                          noun(rule.maxOutputs, "output") + ", got " +
                          std::to_string(outputs));
  for (unsigned i = 0; i < rule.minInputs; ++i)
    if (node.inputs[i].empty())
      return fail(node,
                  "input " + std::to_string(i) + " is required but empty");
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Operands and results
//===----------------------------------------------------------------------===//

llvm::Expected<Val> Importer::input(const Node &node, unsigned i) {
  const std::string &name = node.inputs[i];
  auto it = values.find(name);
  if (it != values.end())
    return it->second;
  auto init = model.initializers.find(name);
  if (init != model.initializers.end()) {
    Val val;
    val.kind = Val::Const;
    val.constant = &init->second;
    return val;
  }
  return fail(node, "input '" + name +
                        "' is not produced by an earlier node, a graph "
                        "input or an initializer");
}

std::string Importer::onnxShape(const Val &val) const {
  auto dims = cast<RankedTensorType>(val.value.getType()).getShape();
  std::vector<std::string> parts;
  auto feature = [&](int64_t i) { return std::to_string(dims[i]); };
  switch (val.layout) {
  case Layout::Natural:
    parts = {"B", "T"};
    for (size_t i = 2; i < dims.size(); ++i)
      parts.push_back(feature(i));
    break;
  case Layout::FlatTokens:
    parts = {"B*T"};
    for (size_t i = 2; i < dims.size(); ++i)
      parts.push_back(feature(i));
    break;
  case Layout::HeadsMajor:
    parts = {"B", feature(2), "T", feature(3)};
    break;
  }
  return "[" + llvm::join(parts, ", ") + "]";
}

llvm::Expected<Value> Importer::runtime(const Node &node, unsigned i,
                                        Layout layout) {
  llvm::Expected<Val> val = input(node, i);
  if (!val)
    return val.takeError();
  const std::string &name = node.inputs[i];
  switch (val->kind) {
  case Val::Runtime:
    break;
  case Val::Const:
    return fail(node, "input " + std::to_string(i) + " '" + name +
                          "' is a constant here; Braid expects an "
                          "activation [batch, seq, ...]");
  case Val::Foreign:
    return fail(node, "input '" + name +
                          "' is a graph input that Braid models do not "
                          "take (only input_ids and position_ids)");
  case Val::Missing:
    return fail(node, "input '" + name + "' is undefined");
  }
  if (val->layout != layout) {
    const char *want = layout == Layout::Natural ? "[batch, seq, ...]"
                       : layout == Layout::FlatTokens
                           ? "[batch * seq, ...]"
                           : "[batch, heads, seq, head_dim]";
    return fail(node, "input '" + name + "' is " + onnxShape(*val) +
                          " here; this op needs it as " + want);
  }
  return val->value;
}

llvm::Expected<const Tensor *> Importer::constant(const Node &node,
                                                  unsigned i) {
  llvm::Expected<Val> val = input(node, i);
  if (!val)
    return val.takeError();
  if (val->kind != Val::Const)
    return fail(node, "input " + std::to_string(i) + " '" + node.inputs[i] +
                          "' must be a constant (an initializer or computed "
                          "from initializers), not an activation");
  return val->constant;
}

llvm::Expected<std::vector<int64_t>> Importer::intConstant(const Node &node,
                                                           unsigned i) {
  llvm::Expected<const Tensor *> t = constant(node, i);
  if (!t)
    return t.takeError();
  if (!(*t)->isInt())
    return fail(node, "input '" + node.inputs[i] + "' has data type " +
                          elemTypeName((*t)->type) + "; expected INT64");
  return (*t)->toInts();
}

llvm::Expected<std::optional<std::vector<int64_t>>>
Importer::intsInputOrAttr(const Node &node, unsigned i, llvm::StringRef attr) {
  if (has(node, i)) {
    llvm::Expected<std::vector<int64_t>> ints = intConstant(node, i);
    if (!ints)
      return ints.takeError();
    return std::optional<std::vector<int64_t>>(std::move(*ints));
  }
  if (const Attribute *a = node.attr(attr))
    return std::optional<std::vector<int64_t>>(a->ints);
  return std::optional<std::vector<int64_t>>();
}

llvm::Expected<Value> Importer::weightOperand(const Node &node, unsigned i,
                                              ArrayRef<int64_t> shape,
                                              llvm::StringRef role) {
  llvm::Expected<const Tensor *> t = constant(node, i);
  if (!t)
    return t.takeError();
  const Tensor &tensor = **t;
  if (!tensor.isFloat())
    return fail(node, std::string(role) + " '" + tensor.name +
                          "' has unsupported data type " +
                          elemTypeName(tensor.type) +
                          " (weights must be FLOAT, FLOAT16 or BFLOAT16)");
  int64_t expected = 1;
  for (int64_t d : shape)
    expected *= d;
  // Leading 1s and a [C, 1, K] conv layout reshape freely; the element
  // count must still agree.
  if (tensor.numel() != expected)
    return fail(node, "shape conflict: " + std::string(role) + " '" +
                          tensor.name + "' is " + dimsToString(tensor.shape) +
                          " but the op needs " + dimsToString(shape));
  return weight(tensor, WeightForm::AsIs, shape);
}

llvm::Error Importer::define(const Node &node, unsigned i, Value value,
                             Layout layout) {
  if (i >= node.outputs.size() || node.outputs[i].empty())
    return llvm::Error::success();
  Val val;
  val.kind = Val::Runtime;
  val.value = value;
  val.layout = layout;
  val.producer = &node;
  values[node.outputs[i]] = val;
  return checkDeclaredShape(node, node.outputs[i]);
}

void Importer::defineConst(const Node &node, unsigned i, Tensor tensor) {
  tensor.name = node.outputs[i];
  folded.push_back(std::move(tensor));
  Val val;
  val.kind = Val::Const;
  val.constant = &folded.back();
  val.producer = &node;
  values[node.outputs[i]] = val;
}

/// Compares a value_info / graph-output shape with what the importer made.
llvm::Error Importer::checkDeclaredShape(const Node &node,
                                         const std::string &name) {
  const ValueInfo *info = nullptr;
  if (auto it = model.valueInfo.find(name); it != model.valueInfo.end())
    info = &it->second;
  for (const ValueInfo &output : model.outputs)
    if (output.name == name)
      info = &output;
  if (!info || !info->shape)
    return llvm::Error::success();
  const Val &val = values[name];
  auto dims = cast<RankedTensorType>(val.value.getType()).getShape();
  // The ONNX-side dims: -1 = batch, -2 = seq, -3 = batch * seq.
  std::vector<int64_t> onnx;
  switch (val.layout) {
  case Layout::Natural:
    onnx = {-1, -2};
    onnx.insert(onnx.end(), dims.begin() + 2, dims.end());
    break;
  case Layout::FlatTokens:
    onnx = {-3};
    onnx.insert(onnx.end(), dims.begin() + 2, dims.end());
    break;
  case Layout::HeadsMajor:
    onnx = {-1, dims[2], -2, dims[3]};
    break;
  }
  const std::vector<Dim> &declared = *info->shape;
  bool conflict = declared.size() != onnx.size();
  for (size_t i = 0; !conflict && i < declared.size(); ++i) {
    if (!declared[i].value)
      continue;
    int64_t d = *declared[i].value;
    if (onnx[i] >= 0)
      conflict = d != onnx[i];
    else if (onnx[i] == -1 && staticBatch)
      conflict = d != *staticBatch;
    else if (onnx[i] == -2 && staticSeq)
      conflict = d != *staticSeq;
    else if (onnx[i] == -3 && staticBatch && staticSeq)
      conflict = d != *staticBatch * *staticSeq;
  }
  if (!conflict)
    return llvm::Error::success();
  std::vector<std::string> text;
  for (const Dim &d : declared)
    text.push_back(d.value            ? std::to_string(*d.value)
                   : d.symbol.empty() ? "?"
                                      : d.symbol);
  return fail(node, "shape conflict for '" + name + "': the model declares [" +
                        llvm::join(text, ", ") + "] but the op produces " +
                        onnxShape(val));
}

//===----------------------------------------------------------------------===//
// IR helpers
//===----------------------------------------------------------------------===//

RankedTensorType Importer::activation(ArrayRef<int64_t> featureDims) const {
  SmallVector<int64_t> shape = {ShapedType::kDynamic, ShapedType::kDynamic};
  shape.append(featureDims.begin(), featureDims.end());
  return RankedTensorType::get(shape, f32);
}

Value Importer::reshape(Value input, ArrayRef<int64_t> featureDims) {
  RankedTensorType type = activation(featureDims);
  if (input.getType() == type)
    return input;
  return ReshapeOp::create(builder, loc, type, input);
}

Value Importer::weight(const Tensor &tensor, WeightForm form,
                       ArrayRef<int64_t> irShape) {
  std::string shapeKey = dimsToString(irShape);
  auto key = std::make_tuple(tensor.name, form, shapeKey);
  auto it = weightNames.find(key);
  if (it == weightNames.end()) {
    // The first use of a tensor gets its plain name; a transposed copy of a
    // tensor also used as is gets ".T", another shape of it ".[dims]".
    std::string name = tensor.name;
    if (weights.count(name))
      name += form == WeightForm::Transposed ? ".T" : "." + shapeKey;
    it = weightNames.emplace(key, name).first;
    PackedWeight packed;
    packed.shape.assign(irShape.begin(), irShape.end());
    packed.data = tensor.toFloats();
    if (form == WeightForm::Transposed) {
      int64_t rows = tensor.shape[0], cols = tensor.shape[1];
      std::vector<float> t(packed.data.size());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          t[c * rows + r] = packed.data[r * cols + c];
      packed.data = std::move(t);
    }
    weights[name] = std::move(packed);
    weightOrder.push_back(name);
  }
  return WeightOp::create(builder, loc, RankedTensorType::get(irShape, f32),
                          builder.getStringAttr(it->second));
}

int64_t Importer::irAxis(Layout layout, int64_t axis) {
  switch (layout) {
  case Layout::Natural:
    return axis >= 2 ? axis : -1;
  case Layout::FlatTokens:
    return axis >= 1 ? axis + 1 : -1;
  case Layout::HeadsMajor:
    return axis == 1 ? 2 : axis == 3 ? 3 : -1;
  }
  return -1;
}

//===----------------------------------------------------------------------===//
// Graph inputs, outputs, weights
//===----------------------------------------------------------------------===//

llvm::Error Importer::bindGraphInputs(Block &entry) {
  // input_ids: by name, else the first integer input of rank 2.
  const ValueInfo *ids = nullptr, *pos = nullptr;
  for (const ValueInfo &in : model.inputs) {
    bool isInt = in.type == ElemType::Int64 || in.type == ElemType::Int32;
    if (in.name == "input_ids" && isInt)
      ids = &in;
    else if (StringRef(in.name).contains("position") && isInt)
      pos = &in;
  }
  if (!ids)
    for (const ValueInfo &in : model.inputs)
      if ((in.type == ElemType::Int64 || in.type == ElemType::Int32) &&
          in.shape && in.shape->size() == 2 && &in != pos) {
        ids = &in;
        break;
      }
  if (!ids)
    return fail("the graph has no token-id input (INT64 [batch, seq], "
                "named input_ids)");
  for (const ValueInfo &in : model.inputs) {
    Val val;
    if (&in == ids || &in == pos) {
      if (in.shape && in.shape->size() != 2)
        return fail("graph input '" + in.name + "' has rank " +
                    std::to_string(in.shape->size()) +
                    "; expected [batch, seq]");
      val.kind = Val::Runtime;
      val.value = entry.getArgument(&in == ids ? 0 : 1);
      if (&in == pos)
        positions = val.value;
    } else {
      if (in.type != ElemType::Float && in.type != ElemType::Int64 &&
          in.type != ElemType::Int32 && in.type != ElemType::Float16 &&
          in.type != ElemType::BFloat16)
        return fail("graph input '" + in.name +
                    "' has unsupported data "
                    "type " +
                    elemTypeName(in.type));
      val.kind = Val::Foreign;
    }
    values[in.name] = val;
  }
  idsName = ids->name;
  if (ids->shape) {
    staticBatch = (*ids->shape)[0].value;
    staticSeq = (*ids->shape)[1].value;
  }
  return llvm::Error::success();
}

llvm::Error Importer::finish(func::FuncOp func) {
  if (model.outputs.size() != 1)
    return fail(llvm::formatv("the graph has {0} outputs; Braid models "
                              "return exactly one, the logits [batch, seq, "
                              "vocab]",
                              model.outputs.size()));
  const std::string &name = model.outputs[0].name;
  auto it = values.find(name);
  if (it == values.end() || it->second.kind != Val::Runtime)
    return fail("graph output '" + name +
                "' is not computed from the "
                "token ids");
  Val &logits = it->second;
  if (logits.layout != Layout::Natural || features(logits.value).size() != 1)
    return fail("graph output '" + name + "' is " + onnxShape(logits) +
                "; expected logits [batch, seq, vocab]");
  vocabSize = features(logits.value)[0];
  func::ReturnOp::create(builder, loc, logits.value);
  func.setType(builder.getFunctionType(func.getArgumentTypes(),
                                       {logits.value.getType()}));
  return llvm::Error::success();
}

/// A safetensors image: 8-byte header length, JSON header padded with
/// spaces so the data starts 8-byte aligned, then the F32 data.
static std::string
packSafetensors(const std::vector<std::string> &order,
                const std::map<std::string, PackedWeight> &weights) {
  llvm::json::Object header;
  size_t offset = 0;
  for (const std::string &name : order) {
    const PackedWeight &w = weights.at(name);
    size_t bytes = w.data.size() * sizeof(float);
    llvm::json::Array shape;
    for (int64_t d : w.shape)
      shape.push_back(d);
    header[name] = llvm::json::Object{
        {"dtype", "F32"},
        {"shape", std::move(shape)},
        {"data_offsets",
         llvm::json::Array{int64_t(offset), int64_t(offset + bytes)}}};
    offset += bytes;
  }
  std::string text = llvm::formatv("{0}", llvm::json::Value(std::move(header)));
  while ((8 + text.size()) % 8)
    text += ' ';
  std::string image(8, '\0');
  uint64_t length = text.size();
  for (int i = 0; i < 8; ++i)
    image[i] = char((length >> (8 * i)) & 0xff);
  image += text;
  for (const std::string &name : order) {
    const PackedWeight &w = weights.at(name);
    image.append(reinterpret_cast<const char *>(w.data.data()),
                 w.data.size() * sizeof(float));
  }
  return image;
}

llvm::Expected<ImportedOnnx> Importer::run() {
  if (llvm::Error error = checkSupportedOps())
    return std::move(error);
  for (const Node &node : model.nodes)
    for (const std::string &name : node.inputs)
      if (!name.empty())
        usedNames.insert(name);
  for (const ValueInfo &output : model.outputs)
    usedNames.insert(output.name);

  context.loadDialect<BraidDialect, launch::LaunchDialect, func::FuncDialect,
                      linalg::LinalgDialect, tensor::TensorDialect,
                      arith::ArithDialect, math::MathDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  std::string name = model.graphName;
  if (name.empty())
    name = llvm::sys::path::stem(model.path).str();
  module->setSymNameAttr(builder.getStringAttr(name));
  builder.setInsertionPointToEnd(module->getBody());
  auto ids = RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                                   builder.getI64Type());
  auto func = func::FuncOp::create(builder, loc, "forward",
                                   builder.getFunctionType({ids, ids}, {}));
  func.setArgAttr(0, "braid.name", builder.getStringAttr("input_ids"));
  func.setArgAttr(1, "braid.name", builder.getStringAttr("positions"));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  if (llvm::Error error = bindGraphInputs(*entry))
    return std::move(error);

  for (const Node &node : model.nodes) {
    // Ops carry their node's name, so IR diagnostics point at the ONNX node.
    loc = NameLoc::get(builder.getStringAttr(node.label()));
    const OpRule *rule = findRule(node);
    if (llvm::Error error = checkArity(node, *rule))
      return std::move(error);
    if (llvm::Error error = (this->*rule->handler)(node))
      return std::move(error);
  }
  loc = UnknownLoc::get(&context);
  if (llvm::Error error = finish(func))
    return std::move(error);

  // One launch.weight per IR weight: its own packed tensor, no transform.
  builder.setInsertionPointToStart(module->getBody());
  for (const std::string &weightName : weightOrder) {
    const PackedWeight &w = weights[weightName];
    NamedAttrList source;
    source.set("tensor", builder.getStringAttr(weightName));
    source.set("shape", builder.getDenseI64ArrayAttr(w.shape));
    source.set("dtype", builder.getStringAttr("f32"));
    launch::WeightOp::create(
        builder, loc, builder.getStringAttr(weightName),
        builder.getDenseI64ArrayAttr(w.shape), TypeAttr::get(f32),
        builder.getArrayAttr({source.getDictionary(&context)}),
        builder.getStringAttr("single"), builder.getI64IntegerAttr(0),
        builder.getI64IntegerAttr(0), builder.getStringAttr("identity"),
        ArrayAttr());
  }
  if (failed(verify(*module)))
    return fail("internal: the imported braid IR does not verify (see the "
                "diagnostics above)");

  ImportedOnnx result;
  result.modelName = name;
  result.vocabSize = vocabSize;
  result.hiddenSize = hiddenSize;
  result.packedWeights = packSafetensors(weightOrder, weights);
  result.module = std::move(module);
  return std::move(result);
}

} // namespace detail

llvm::Expected<ImportedOnnx> importModel(const Model &model,
                                         MLIRContext &context) {
  // Raising rewrites decomposed subgraphs (torch.onnx exports) into the
  // direct forms the handlers import; see RaisePatterns.h.
  // BRAID_ONNX_NO_RAISE=1 imports the decomposed forms as they are (through
  // the generic path where they have no braid op), to compare both forms.
  const char *noRaise = std::getenv("BRAID_ONNX_NO_RAISE");
  if (noRaise && *noRaise && std::string(noRaise) != "0")
    return detail::Importer(model, context).run();
  Model raised = model;
  raiseModel(raised);
  return detail::Importer(raised, context).run();
}

llvm::Expected<ImportedOnnx> importFile(llvm::StringRef path,
                                        MLIRContext &context) {
  llvm::Expected<Model> model = loadModel(path);
  if (!model)
    return model.takeError();
  return importModel(*model, context);
}

} // namespace onnx
} // namespace braid
