//===- FoldWeightScales.cpp - constant multipliers into weights -----------===//
//
// See Passes.td for what the pass does. A multiplier is folded only where
// the result is the same function of the inputs (linear maps commute with
// constant scaling); the factors travel to the runtime as the `scale` prep
// step of the weight's binding (WeightBindings.h), so kernels see plain
// weights.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/WeightBindings.h"

#include "dialects/Braid/BraidOps.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "braid-fold-weight-scales"

namespace braid {
#define GEN_PASS_DEF_BRAIDFOLDWEIGHTSCALES
#include "passes/Passes.h.inc"
} // namespace braid

using namespace mlir;
using namespace braid;

namespace {

/// `concat(split(x))` of all the split's results, in order, along the same
/// axis is `x`. Folding the scales between a split and a concat (Falcon-H1's
/// per-channel multipliers on the conv input) leaves this behind.
struct ConcatOfSplit : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp concat,
                                PatternRewriter &rewriter) const override {
    auto split = concat.getInputs().empty()
                     ? SplitOp()
                     : concat.getInputs().front().getDefiningOp<SplitOp>();
    if (!split || split.getAxis() != concat.getAxis() ||
        split.getNumResults() != concat.getInputs().size() ||
        split.getInput().getType() != concat.getType())
      return failure();
    for (auto [input, result] :
         llvm::zip_equal(concat.getInputs(), split.getResults()))
      if (input != result)
        return failure();
    rewriter.replaceOp(concat, split.getInput());
    return success();
  }
};

/// The weight op behind a linear's weight or bias operand, if it is one.
WeightOp weightOf(Value value) {
  return value ? value.getDefiningOp<WeightOp>() : WeightOp();
}

class FoldWeightScalesPass
    : public braid::impl::BraidFoldWeightScalesBase<FoldWeightScalesPass> {
public:
  void runOnOperation() override;

private:
  /// Whether the weight (and bias) of `linear` can take a scale: bound to
  /// nothing else.
  bool canScale(LinearOp linear) const;
  /// Multiplies rows of `linear`'s weight (and bias, unless `weightOnly`).
  void scaleRows(LinearOp linear, ArrayRef<double> rows, bool weightOnly);
  /// Folds the scales that apply to the rows [offset, offset + size) of
  /// `linear`'s output through `value` into `rows`.
  void collectOutputScales(Value value, int64_t offset, int64_t size,
                           MutableArrayRef<double> rows, bool &changed);

  void foldOutputScales(LinearOp linear);
  void foldInputScale(ScaleOp scale);
  void foldEmbeddingScale(ScaleOp scale);
  void foldMergeMultipliers(MergeOp merge);

  std::optional<WeightBindings> bindings;
};

} // namespace

bool FoldWeightScalesPass::canScale(LinearOp linear) const {
  WeightOp weight = weightOf(linear.getWeight());
  if (!weight || !bindings->isExclusive(weight)) {
    LLVM_DEBUG(llvm::dbgs()
               << "not folding into " << linear.getLoc()
               << ": its weight is shared or not a braid.weight\n");
    return false;
  }
  if (linear.getBias()) {
    WeightOp bias = weightOf(linear.getBias());
    if (!bias || !bindings->isExclusive(bias)) {
      LLVM_DEBUG(llvm::dbgs() << "not folding into " << linear.getLoc()
                              << ": its bias is shared or computed\n");
      return false;
    }
  }
  return true;
}

void FoldWeightScalesPass::scaleRows(LinearOp linear, ArrayRef<double> rows,
                                     bool weightOnly) {
  multiplyWeightScale(bindings->getOrCreate(weightOf(linear.getWeight())),
                      rows);
  if (!weightOnly && linear.getBias())
    multiplyWeightScale(bindings->getOrCreate(weightOf(linear.getBias())),
                        rows);
}

void FoldWeightScalesPass::collectOutputScales(Value value, int64_t offset,
                                               int64_t size,
                                               MutableArrayRef<double> rows,
                                               bool &changed) {
  // Only a value with one use can change: any other reader needs it as is.
  while (value.hasOneUse()) {
    Operation *user = *value.user_begin();
    if (auto scale = dyn_cast<ScaleOp>(user)) {
      double factor = scale.getFactor().convertToDouble();
      for (double &row : rows.slice(offset, size))
        row *= factor;
      scale.getResult().replaceAllUsesWith(value);
      scale.erase();
      changed = true;
      continue;
    }
    auto split = dyn_cast<SplitOp>(user);
    auto type = cast<RankedTensorType>(value.getType());
    if (split && static_cast<int64_t>(split.getAxis()) == type.getRank() - 1) {
      int64_t start = offset;
      for (auto [result, piece] :
           llvm::zip_equal(split.getResults(), split.getSizes())) {
        collectOutputScales(result, start, piece, rows, changed);
        start += piece;
      }
    }
    return;
  }
}

void FoldWeightScalesPass::foldOutputScales(LinearOp linear) {
  auto type = cast<RankedTensorType>(linear.getType());
  int64_t outFeatures = type.getShape().back();
  // Look before checking the weight: most linears have nothing to fold.
  Value result = linear.getResult();
  if (!result.hasOneUse() || !isa<ScaleOp, SplitOp>(*result.user_begin()) ||
      !canScale(linear))
    return;
  SmallVector<double> rows(outFeatures, 1.0);
  bool changed = false;
  collectOutputScales(result, 0, outFeatures, rows, changed);
  if (!changed)
    return;
  LLVM_DEBUG(llvm::dbgs() << "folded output scales into "
                          << weightOf(linear.getWeight()).getName() << "\n");
  scaleRows(linear, rows, /*weightOnly=*/false);
}

void FoldWeightScalesPass::foldInputScale(ScaleOp scale) {
  // linear(c x, W, b) = x (c W)^T + b: the factor goes into W, not b. Only
  // when every reader is such a linear, so that the scale disappears.
  SmallVector<LinearOp> linears;
  for (OpOperand &use : scale.getResult().getUses()) {
    auto linear = dyn_cast<LinearOp>(use.getOwner());
    if (!linear || use.getOperandNumber() != 0 ||
        !weightOf(linear.getWeight()) ||
        !bindings->isExclusive(weightOf(linear.getWeight()))) {
      LLVM_DEBUG(llvm::dbgs()
                 << "not folding the input scale at " << scale.getLoc()
                 << ": read by " << use.getOwner()->getName() << "\n");
      return;
    }
    linears.push_back(linear);
  }
  if (linears.empty())
    return;
  double factor = scale.getFactor().convertToDouble();
  for (LinearOp linear : linears) {
    scaleRows(linear, {factor}, /*weightOnly=*/true);
    linear.getInputMutable().assign(scale.getInput());
  }
  LLVM_DEBUG(llvm::dbgs() << "folded an input scale into " << linears.size()
                          << " linears\n");
  scale.erase();
}

void FoldWeightScalesPass::foldEmbeddingScale(ScaleOp scale) {
  // embedding(ids, E) * c = embedding(ids, c E): a gather commutes.
  auto embedding = scale.getInput().getDefiningOp<EmbeddingOp>();
  if (!embedding || !embedding.getResult().hasOneUse())
    return;
  WeightOp table = weightOf(embedding.getTable());
  if (!table || !bindings->isExclusive(table)) {
    LLVM_DEBUG(llvm::dbgs() << "not folding the embedding scale: the table is "
                               "shared (tied to the head?)\n");
    return;
  }
  multiplyWeightScale(bindings->getOrCreate(table),
                      {scale.getFactor().convertToDouble()});
  scale.getResult().replaceAllUsesWith(embedding.getResult());
  scale.erase();
}

void FoldWeightScalesPass::foldMergeMultipliers(MergeOp merge) {
  std::optional<ArrayRef<double>> multipliers = merge.getMultipliers();
  if (!multipliers ||
      (merge.getMode() != MergeMode::sum && merge.getMode() != MergeMode::mean))
    return;
  SmallVector<double> left(*multipliers);
  for (auto [index, branch] : llvm::enumerate(merge.getBranches())) {
    if (left[index] == 1.0 || !branch.hasOneUse())
      continue;
    // The branch is a linear's output, directly or as what a nested layer
    // yields (Falcon-H1's o_proj and out_proj).
    Value produced = branch;
    if (auto layer = branch.getDefiningOp<LayerOp>()) {
      auto yield = cast<YieldOp>(layer.getBody().front().getTerminator());
      produced = yield.getValues()[cast<OpResult>(branch).getResultNumber()];
      if (!produced.hasOneUse())
        continue;
    }
    auto linear = produced.getDefiningOp<LinearOp>();
    if (!linear || !canScale(linear))
      continue;
    scaleRows(linear, {left[index]}, /*weightOnly=*/false);
    left[index] = 1.0;
  }
  if (llvm::all_of(left, [](double m) { return m == 1.0; }))
    merge.removeMultipliersAttr();
  else
    merge.setMultipliers(left);
}

void FoldWeightScalesPass::runOnOperation() {
  ModuleOp module = getOperation();
  bindings.emplace(module);

  // Scales that read an embedding or feed linears, then scales of linear
  // outputs, then merge multipliers. Collected first: folding erases ops.
  SmallVector<ScaleOp> scales;
  module.walk([&](ScaleOp scale) { scales.push_back(scale); });
  for (ScaleOp scale : scales) {
    if (scale.getInput().getDefiningOp<EmbeddingOp>())
      foldEmbeddingScale(scale);
    else
      foldInputScale(scale);
  }
  SmallVector<LinearOp> linears;
  module.walk([&](LinearOp linear) { linears.push_back(linear); });
  for (LinearOp linear : linears)
    foldOutputScales(linear);
  module.walk([&](MergeOp merge) { foldMergeMultipliers(merge); });

  RewritePatternSet patterns(&getContext());
  populateFoldWeightScalesPatterns(patterns);
  if (failed(applyPatternsGreedily(module, std::move(patterns))))
    return signalPassFailure();
}

void braid::populateFoldWeightScalesPatterns(RewritePatternSet &patterns) {
  patterns.add<ConcatOfSplit>(patterns.getContext());
}
