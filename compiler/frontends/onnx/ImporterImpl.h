//===- ImporterImpl.h - the ONNX importer's state, shared by its files ----===//
//
// Private to compiler/frontends/onnx: OnnxImporter.cpp holds the driver (op
// table, checks, operands, results, weights), OnnxOps.cpp one handler per op
// family. See OnnxImporter.cpp for how ONNX values map to braid values.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_FRONTENDS_ONNX_IMPORTERIMPL_H
#define BRAID_FRONTENDS_ONNX_IMPORTERIMPL_H

#include "compiler/frontends/Diagnostics.h"
#include "compiler/frontends/onnx/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace braid {
namespace onnx {
namespace detail {

using braid::frontend::errorIn;
using llvm::cast;
using mlir::ArrayRef;
using mlir::Block;
using mlir::FloatAttr;
using mlir::IntegerAttr;
using mlir::Location;
using mlir::MLIRContext;
using mlir::OpBuilder;
using mlir::RankedTensorType;
using mlir::ShapedType;
using mlir::SmallVector;
using mlir::Type;
using mlir::TypeRange;
using mlir::UnitAttr;
using mlir::UnknownLoc;
using mlir::Value;

enum class Layout { Natural, FlatTokens, HeadsMajor };

struct Val {
  enum Kind { Missing, Runtime, Const, Foreign };
  Kind kind = Missing;
  Value value;
  Layout layout = Layout::Natural;
  const Tensor *constant = nullptr;
  /// The ONNX node that produced it (null for graph inputs, initializers).
  const Node *producer = nullptr;
};

/// How an initializer is stored as an IR weight.
enum class WeightForm { AsIs, Transposed };

struct PackedWeight {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

inline std::string dimsToString(llvm::ArrayRef<int64_t> dims) {
  std::string text = "[";
  for (auto [i, d] : llvm::enumerate(dims))
    text += (i ? ", " : "") +
            (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
  return text + "]";
}

class Importer;
using Handler = llvm::Error (Importer::*)(const Node &);

/// Arity and handler of one supported op.
struct OpRule {
  const char *domain;
  const char *opType;
  unsigned minInputs, maxInputs, minOutputs, maxOutputs;
  Handler handler;
};

class Importer {
public:
  Importer(const Model &model, MLIRContext &context)
      : model(model), context(context), builder(&context),
        f32(builder.getF32Type()) {}

  llvm::Expected<ImportedOnnx> run();

  // Handlers, one per op family (see the table in rules()).
  llvm::Error importConstant(const Node &node);
  llvm::Error importIdentity(const Node &node);
  llvm::Error importCast(const Node &node);
  llvm::Error importGather(const Node &node);
  llvm::Error importMatMul(const Node &node);
  llvm::Error importGemm(const Node &node);
  llvm::Error importBinary(const Node &node);
  llvm::Error importUnary(const Node &node);
  llvm::Error importReshape(const Node &node);
  llvm::Error importUnsqueeze(const Node &node);
  llvm::Error importTranspose(const Node &node);
  llvm::Error importSplit(const Node &node);
  llvm::Error importConcat(const Node &node);
  llvm::Error importRMSNorm(const Node &node);
  llvm::Error importSkipRMSNorm(const Node &node);
  llvm::Error importLayerNorm(const Node &node);
  llvm::Error importAttention(const Node &node);
  llvm::Error importGQA(const Node &node);
  llvm::Error importRotary(const Node &node);
  llvm::Error importCausalConv(const Node &node);
  llvm::Error importSSDScan(const Node &node);
  llvm::Error importSelectiveScan(const Node &node);
  llvm::Error importGatedRMSNorm(const Node &node);
  llvm::Error importMoE(const Node &node);
  // OnnxGeneric.cpp: ops without a braid op, as linalg.generic.
  llvm::Error importGeneric(const Node &node);
  llvm::Error importReduce(const Node &node);
  llvm::Error importSoftmax(const Node &node);
  llvm::Error importExpand(const Node &node);

  static llvm::ArrayRef<OpRule> rules();

  /// One operand of a generic region: a tensor read through `map` (per
  /// tensor dim, the loop it follows or -1 for a broadcast size-1 dim), or a
  /// scalar constant inlined into the body.
  struct GenericOperand {
    Value tensor;
    SmallVector<int64_t> map;
    bool scalar = false;
    float value = 0.0f;
  };
  struct GenericOperands {
    SmallVector<GenericOperand> operands;
    /// The broadcast result shape (IR, [?, ?, ...]).
    SmallVector<int64_t> shape;
    /// A runtime operand whose dims 0 and 1 are batch and sequence.
    Value anchor;
  };
  /// Clip's bounds: attributes (opset < 11) or inputs 1 and 2.
  struct ClipBounds {
    std::optional<float> lo, hi;
    bool loInput = false, hiInput = false;
  };
  /// The body's element value from one value per operand.
  using ElementFn =
      std::function<Value(OpBuilder &, Location, ArrayRef<Value>)>;

private:
  //===--- errors --------------------------------------------------------===//
  llvm::Error fail(const llvm::Twine &message) const {
    return errorIn(model.path, message);
  }
  llvm::Error fail(const Node &node, const llvm::Twine &message) const {
    return errorIn(model.path, "node '" + node.label() + "' (" +
                                   qualifiedOp(node) + "): " + message);
  }
  static std::string qualifiedOp(const Node &node) {
    return node.domain.empty() ? node.opType : node.domain + "." + node.opType;
  }

  //===--- set-up and checks ---------------------------------------------===//
  llvm::Error checkSupportedOps();
  llvm::Error checkArity(const Node &node, const OpRule &rule);
  llvm::Error bindGraphInputs(Block &entry);
  llvm::Error checkDeclaredShape(const Node &node, const std::string &name);
  llvm::Error finish(mlir::func::FuncOp func);

  //===--- operands ------------------------------------------------------===//
  bool has(const Node &node, unsigned i) const {
    return i < node.inputs.size() && !node.inputs[i].empty();
  }
  llvm::Expected<Val> input(const Node &node, unsigned i);
  /// A runtime operand in `layout` (Natural by default).
  llvm::Expected<Value> runtime(const Node &node, unsigned i,
                                Layout layout = Layout::Natural);
  llvm::Expected<const Tensor *> constant(const Node &node, unsigned i);
  llvm::Expected<std::vector<int64_t>> intConstant(const Node &node,
                                                   unsigned i);
  /// Integers that newer opsets pass as constant input `i` and older ones
  /// as attribute `attr` (Squeeze/Unsqueeze axes, Split sizes): the input's
  /// when present, else the attribute's, else none.
  llvm::Expected<std::optional<std::vector<int64_t>>>
  intsInputOrAttr(const Node &node, unsigned i, llvm::StringRef attr);
  /// A constant float operand as a weight of exactly `shape`.
  llvm::Expected<Value> weightOperand(const Node &node, unsigned i,
                                      ArrayRef<int64_t> shape,
                                      llvm::StringRef role);
  bool isUsed(const std::string &name) const {
    return !name.empty() && usedNames.count(name);
  }

  //===--- results -------------------------------------------------------===//
  llvm::Error define(const Node &node, unsigned i, Value value,
                     Layout layout = Layout::Natural);
  void defineConst(const Node &node, unsigned i, Tensor tensor);

  //===--- IR helpers ----------------------------------------------------===//
  RankedTensorType activation(ArrayRef<int64_t> features) const;
  static ArrayRef<int64_t> features(Value value) {
    return cast<RankedTensorType>(value.getType()).getShape().drop_front(2);
  }
  Value reshape(Value input, ArrayRef<int64_t> featureDims);
  Value weight(const Tensor &tensor, WeightForm form,
               ArrayRef<int64_t> irShape);
  /// "[B, T, 64]" and the like: a runtime value's shape as ONNX sees it.
  std::string onnxShape(const Val &val) const;
  /// The IR axis of ONNX `axis` (already non-negative) in `layout`, or -1.
  static int64_t irAxis(Layout layout, int64_t axis);
  llvm::Expected<double> ropeTheta(const Node &node, const Tensor &cos,
                                   const Tensor &sin, int64_t rotaryDim);
  llvm::Expected<Value> positionsOperand(const Node &node, unsigned i);
  llvm::Expected<Value> headsOperand(const Node &node, const Val &val,
                                     int64_t heads);
  /// Element-wise Add/Sub/Mul/Div of constants (same shape or a scalar).
  llvm::Error foldBinary(const Node &node, const Tensor &a, const Tensor &b);
  /// Add/Sub/Mul/Div of two activations, or an activation and a constant.
  llvm::Error binaryOfActivations(const Node &node, const Val &x, const Val &y);
  llvm::Error binaryWithConstant(const Node &node, const Val &x,
                                 const Tensor &c);
  Value sigmoidInput(const Val &v);
  /// Whether an element-wise op on `operands` should stay generic so that
  /// upstream fusion can merge it: some operand is a generic's result.
  bool fusesWithGeneric(std::initializer_list<const Val *> operands);
  /// Imports `node` the generic way; false (nothing defined) on failure.
  bool succeededGeneric(const Node &node);
  /// The generic import of `node` if it succeeds, else `original`.
  llvm::Error genericOr(const Node &node, llvm::Error original);
  /// The operands `indices` of `node` with ONNX broadcasting applied.
  llvm::Expected<GenericOperands> broadcastOperands(const Node &node,
                                                    ArrayRef<unsigned> indices);
  /// A linalg.generic over `loopSizes` ([?, ?, ...]) whose output drops
  /// `reductionLoops`, reduced with `reduce` ("none", "sum", "max", "min").
  Value buildGeneric(const GenericOperands &operands,
                     ArrayRef<int64_t> loopSizes,
                     ArrayRef<int64_t> reductionLoops, llvm::StringRef reduce,
                     ElementFn element);
  /// An element-wise op whose inputs are all constants, folded at import.
  llvm::Error foldGeneric(const Node &node, ArrayRef<unsigned> indices,
                          const ClipBounds &clip);
  /// Transpose of feature dims (perm keeps 0 and 1) as a copy generic.
  llvm::Error transposeFeatures(const Node &node, Value x,
                                ArrayRef<int64_t> perm);

  const Model &model;
  MLIRContext &context;
  OpBuilder builder;
  Type f32;
  Location loc = UnknownLoc::get(&context);

  std::map<std::string, Val> values;
  std::set<std::string> usedNames;
  std::deque<Tensor> folded; // constants made by Constant nodes and folding
  Value positions;           // the graph's position_ids, if it has them
  std::optional<int64_t> staticBatch, staticSeq;
  std::string idsName;

  std::map<std::string, PackedWeight> weights;
  std::vector<std::string> weightOrder;
  /// (tensor, form, IR shape) -> IR weight name.
  std::map<std::tuple<std::string, WeightForm, std::string>, std::string>
      weightNames;
  int64_t vocabSize = 0, hiddenSize = 0;
};

/// Product of `dims` (1 for none).
inline int64_t product(ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

/// A float32 tensor holding `data`.
Tensor floatTensor(std::vector<int64_t> shape, const std::vector<float> &data);

/// Whether a runtime value's layout is a MatMul/Gemm activation operand
/// (Natural or FlatTokens).
bool isTokenLayout(Layout layout);

} // namespace detail
} // namespace onnx
} // namespace braid

#endif // BRAID_FRONTENDS_ONNX_IMPORTERIMPL_H
