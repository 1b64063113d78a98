//===- LowerLinalg.cpp - linalg.generic to braid.fused_elementwise --------===//
//
// See Passes.td. Each generic is translated on its own: the body, in block
// order, becomes the program (block arguments become `in K`, constants
// `cst`), the maps become `input_maps`, the iterator kinds and the output
// init become the reduction. Nothing is rewritten until the whole generic
// has a program form, so a failure leaves the IR as it was.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/Braid/BraidOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdio>

#define DEBUG_TYPE "braid-lower-linalg"

namespace braid {
#define GEN_PASS_DEF_BRAIDLOWERLINALG
#include "passes/Passes.h.inc"
} // namespace braid

using namespace mlir;
using namespace braid;

namespace {

/// What one generic becomes.
struct Translation {
  std::string program;
  SmallVector<int64_t> loopSizes, inputMaps, reductionDims;
  /// The distinct (tensor, map) inputs: fusion repeats an operand that
  /// several fused ops read, and each costs a kernel buffer.
  SmallVector<Value> inputs;
  std::string reduce = "none";
  double init = 0.0;
};

/// The program mnemonic of a body op, or "" when it has none.
static StringRef mnemonicOf(Operation *op) {
  if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
    switch (cmp.getPredicate()) {
    case arith::CmpFPredicate::OLT:
      return "lt";
    case arith::CmpFPredicate::OLE:
      return "le";
    case arith::CmpFPredicate::OGT:
      return "gt";
    case arith::CmpFPredicate::OGE:
      return "ge";
    case arith::CmpFPredicate::OEQ:
      return "eq";
    case arith::CmpFPredicate::UNE:
      return "ne";
    default:
      return "";
    }
  }
  return TypeSwitch<Operation *, StringRef>(op)
      .Case([](arith::AddFOp) { return "add"; })
      .Case([](arith::SubFOp) { return "sub"; })
      .Case([](arith::MulFOp) { return "mul"; })
      .Case([](arith::DivFOp) { return "div"; })
      .Case([](arith::NegFOp) { return "neg"; })
      .Case([](arith::MaximumFOp) { return "max"; })
      .Case([](arith::MinimumFOp) { return "min"; })
      .Case([](arith::MaxNumFOp) { return "maxnum"; })
      .Case([](arith::MinNumFOp) { return "minnum"; })
      .Case([](arith::SelectOp) { return "select"; })
      .Case([](math::ExpOp) { return "exp"; })
      .Case([](math::LogOp) { return "log"; })
      .Case([](math::Log1pOp) { return "log1p"; })
      .Case([](math::SqrtOp) { return "sqrt"; })
      .Case([](math::RsqrtOp) { return "rsqrt"; })
      .Case([](math::TanhOp) { return "tanh"; })
      .Case([](math::ErfOp) { return "erf"; })
      .Case([](math::AbsFOp) { return "abs"; })
      .Case([](math::PowFOp) { return "pow"; })
      .Default([](Operation *) { return ""; });
}

/// `x OP y` where one side is `acc`: the reduction kind and the other side.
static std::optional<std::pair<StringRef, Value>> combiner(Operation *op,
                                                           Value acc) {
  StringRef kind = TypeSwitch<Operation *, StringRef>(op)
                       .Case([](arith::AddFOp) { return "sum"; })
                       .Case([](arith::MulFOp) { return "prod"; })
                       .Case([](arith::MaximumFOp) { return "max"; })
                       .Case([](arith::MinimumFOp) { return "min"; })
                       .Default([](Operation *) { return ""; });
  if (kind.empty() || op->getNumOperands() != 2)
    return std::nullopt;
  if (op->getOperand(0) == acc && op->getOperand(1) != acc)
    return std::make_pair(kind, op->getOperand(1));
  if (op->getOperand(1) == acc && op->getOperand(0) != acc)
    return std::make_pair(kind, op->getOperand(0));
  return std::nullopt;
}

static std::string floatText(double v) {
  // Nine significant digits read back as the same f32.
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", v);
  return text;
}

FailureOr<Translation> translate(linalg::GenericOp generic) {
  auto fail = [&](const Twine &what) {
    generic.emitOpError("has no fused_elementwise form: ") << what;
    return failure();
  };
  if (generic.getNumDpsInits() != 1 || generic.getNumResults() != 1)
    return fail("it has " + Twine(generic.getNumResults()) +
                " results; only single-result generics lower");
  if (!generic.hasPureTensorSemantics())
    return fail("it works on buffers, not tensors");
  Translation t;
  unsigned numLoops = generic.getNumLoops();
  SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
  for (int64_t r : ranges)
    t.loopSizes.push_back(ShapedType::isDynamic(r) ? -1 : r);

  // Input maps: each result a loop or the constant 0 (a size-1 broadcast).
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  SmallVector<unsigned> slot; // generic input -> index in t.inputs
  SmallVector<std::pair<Value, AffineMap>> seen;
  for (auto [i, input] : llvm::enumerate(generic.getDpsInputOperands())) {
    if (!isa<RankedTensorType>(input->get().getType()))
      return fail("input " + Twine(i) + " is not a ranked tensor");
    auto key = std::make_pair(input->get(), maps[i]);
    auto *it = llvm::find(seen, key);
    slot.push_back(it - seen.begin());
    if (it != seen.end())
      continue;
    seen.push_back(key);
    t.inputs.push_back(input->get());
    for (AffineExpr e : maps[i].getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(e))
        t.inputMaps.push_back(dim.getPosition());
      else if (auto c = dyn_cast<AffineConstantExpr>(e); c && c.getValue() == 0)
        t.inputMaps.push_back(-1);
      else
        return fail("input " + Twine(i) + " reads '" +
                    llvm::formatv("{0}", e).str() +
                    "', neither a loop nor the constant 0");
    }
  }
  // The output: the parallel loops in order.
  AffineMap outMap = maps.back();
  SmallVector<utils::IteratorType> iterators = generic.getIteratorTypesArray();
  unsigned next = 0;
  for (unsigned loop = 0; loop < numLoops; ++loop) {
    if (iterators[loop] == utils::IteratorType::reduction) {
      t.reductionDims.push_back(loop);
      continue;
    }
    if (next >= outMap.getNumResults() ||
        outMap.getResult(next) != getAffineDimExpr(loop, generic.getContext()))
      return fail("the output map is not the identity on the parallel loops");
    ++next;
  }
  if (next != outMap.getNumResults())
    return fail("the output map is not the identity on the parallel loops");

  Block &body = generic.getRegion().front();
  unsigned numInputs = generic.getNumDpsInputs();
  Value acc = body.getArgument(numInputs);
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Value yielded = yield.getOperand(0);
  Operation *combine = nullptr;
  if (!t.reductionDims.empty()) {
    Operation *last = yielded.getDefiningOp();
    auto found = last ? combiner(last, acc) : std::nullopt;
    if (!found || last->getBlock() != &body)
      return fail("the reduction is not acc (+, *, max, min) value");
    t.reduce = found->first.str();
    yielded = found->second;
    combine = last;
    // The init: a fill of a constant.
    Value init = generic.getDpsInitOperand(0)->get();
    auto fill = init.getDefiningOp<linalg::FillOp>();
    FloatAttr value;
    if (!fill || !matchPattern(fill.getInputs()[0], m_Constant(&value)))
      return fail("the reduction's init is not a linalg.fill of a constant");
    t.init = value.getValueAsDouble();
  }
  if (llvm::any_of(acc.getUsers(),
                   [&](Operation *user) { return user != combine; }))
    return fail(t.reductionDims.empty()
                    ? "the body reads the output element"
                    : "the body reads the accumulator beyond the reduction");

  // The body, in order. Values: block arguments and constants on demand.
  llvm::DenseMap<Value, int> ids;
  std::vector<std::string> code;
  auto idOf = [&](Value v) -> FailureOr<int> {
    if (auto it = ids.find(v); it != ids.end())
      return it->second;
    if (auto arg = dyn_cast<BlockArgument>(v); arg && arg.getOwner() == &body) {
      if (arg.getArgNumber() >= numInputs)
        return failure();
      code.push_back("in " + std::to_string(slot[arg.getArgNumber()]));
    } else {
      FloatAttr value;
      if (!matchPattern(v, m_Constant(&value)))
        return failure();
      code.push_back("cst " + floatText(value.getValueAsDouble()));
    }
    return ids[v] = int(code.size()) - 1;
  };
  for (Operation &op : body.without_terminator()) {
    if (&op == combine || isa<arith::ConstantOp>(op))
      continue;
    // i1 -> f32 of a comparison: the program's comparisons already give 1/0.
    if (auto cast = dyn_cast<arith::UIToFPOp>(op);
        cast && cast.getIn().getType().isInteger(1)) {
      FailureOr<int> in = idOf(cast.getIn());
      if (failed(in))
        return fail("operand of '" + op.getName().getStringRef() +
                    "' is not in the program");
      ids[cast.getResult()] = *in;
      continue;
    }
    // isnan(x) arrives as cmpf uno x, x.
    if (auto cmp = dyn_cast<arith::CmpFOp>(op);
        cmp && cmp.getPredicate() == arith::CmpFPredicate::UNO &&
        cmp.getLhs() == cmp.getRhs()) {
      FailureOr<int> in = idOf(cmp.getLhs());
      if (failed(in))
        return fail("operand of 'arith.cmpf' is not in the program");
      code.push_back("isnan %" + std::to_string(*in));
      ids[cmp.getResult()] = int(code.size()) - 1;
      continue;
    }
    StringRef mnemonic = mnemonicOf(&op);
    if (mnemonic.empty())
      return fail("'" + op.getName().getStringRef() +
                  "' in the body has no program form");
    for (Type type : op.getResultTypes())
      if (!type.isF32() && !type.isInteger(1))
        return fail("'" + op.getName().getStringRef() + "' produces " +
                    llvm::formatv("{0}", type).str() +
                    "; programs compute in f32");
    std::string text = mnemonic.str();
    for (Value operand : op.getOperands()) {
      FailureOr<int> id = idOf(operand);
      if (failed(id))
        return fail("operand of '" + op.getName().getStringRef() +
                    "' is defined outside the body or is the output");
      text += " %" + std::to_string(*id);
    }
    code.push_back(text);
    ids[op.getResult(0)] = int(code.size()) - 1;
  }
  FailureOr<int> result = idOf(yielded);
  if (failed(result))
    return fail("the yielded value is not computed in the body");
  // The program's value is its last instruction; max(x, x) is x exactly
  // (NaN included) when the yielded value was computed earlier.
  if (*result != int(code.size()) - 1)
    code.push_back(llvm::formatv("max %{0} %{0}", *result).str());
  t.program = llvm::join(code, "; ");
  return t;
}

class LowerLinalgPass
    : public braid::impl::BraidLowerLinalgBase<LowerLinalgPass> {
public:
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    bool failedAny = false;
    for (linalg::GenericOp generic : generics) {
      FailureOr<Translation> t = translate(generic);
      if (failed(t)) {
        failedAny = true;
        continue;
      }
      LLVM_DEBUG(llvm::dbgs() << "program: " << t->program << "\n");
      OpBuilder builder(generic);
      auto fused = FusedElementwiseOp::create(
          builder, generic.getLoc(), generic.getResult(0).getType(), t->inputs,
          builder.getStringAttr(t->program),
          builder.getDenseI64ArrayAttr(t->loopSizes),
          builder.getDenseI64ArrayAttr(t->inputMaps),
          builder.getDenseI64ArrayAttr(t->reductionDims),
          builder.getStringAttr(t->reduce), builder.getF64FloatAttr(t->init));
      generic.getResult(0).replaceAllUsesWith(fused.getResult());
      generic.erase();
    }
    if (failedAny)
      return signalPassFailure();
    // What the generics left: empties, dims, fills and constants.
    bool changed = true;
    while (changed) {
      changed = false;
      SmallVector<Operation *> dead;
      getOperation().walk([&](Operation *op) {
        if (isa<tensor::EmptyOp, tensor::DimOp, linalg::FillOp,
                arith::ConstantOp>(op) &&
            op->use_empty())
          dead.push_back(op);
      });
      for (Operation *op : dead)
        op->erase();
      changed = !dead.empty();
    }
  }
};

} // namespace
