//===- BraidCanonicalize.cpp - folds and canonical forms of braid ops -----===//
//
// Folds remove ops that do nothing (identity activation, scale by one,
// one-input concat, same-type reshape, one-branch merge). Patterns put
// multiplier chains into one canonical form so fusion passes see a single
// constant to fold into a weight or an epilogue.
//
//===----------------------------------------------------------------------===//
#include "dialects/Braid/BraidOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace braid;

//===----------------------------------------------------------------------===//
// Folds
//===----------------------------------------------------------------------===//

OpFoldResult ActivationOp::fold(FoldAdaptor) {
  if (getKind() == ActivationKind::identity)
    return getInput();
  return {};
}

OpFoldResult ScaleOp::fold(FoldAdaptor) {
  if (getFactor().isExactlyValue(1.0))
    return getInput();
  return {};
}

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  return {};
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

/// The multiplier of branch `i`, 1 when the attribute is absent.
static double multiplierOf(MergeOp op, size_t i) {
  if (auto multipliers = op.getMultipliers())
    return (*multipliers)[i];
  return 1.0;
}

OpFoldResult MergeOp::fold(FoldAdaptor) {
  bool scales = getMode() == MergeMode::sum || getMode() == MergeMode::mean;
  if (scales && getBranches().size() == 1 && multiplierOf(*this, 0) == 1.0)
    return getBranches()[0];
  return {};
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {

/// scale(scale(x, a), b) -> scale(x, a * b)
struct CombineNestedScales : OpRewritePattern<ScaleOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScaleOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<ScaleOp>();
    if (!inner)
      return failure();
    double factor =
        op.getFactor().convertToDouble() * inner.getFactor().convertToDouble();
    rewriter.replaceOpWithNewOp<ScaleOp>(op, inner.getInput(),
                                         rewriter.getF64FloatAttr(factor));
    return success();
  }
};

/// reshape(reshape(x)) -> reshape(x)
struct CombineNestedReshapes : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<ReshapeOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), inner.getInput());
    return success();
  }
};

/// A sum/mean merge whose multipliers are all one drops the attribute.
struct DropUnitMultipliers : OpRewritePattern<MergeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MergeOp op,
                                PatternRewriter &rewriter) const override {
    auto multipliers = op.getMultipliers();
    if (!multipliers ||
        !llvm::all_of(*multipliers, [](double m) { return m == 1.0; }))
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.removeMultipliersAttr(); });
    return success();
  }
};

/// A one-branch sum/mean merge with multiplier m becomes scale(branch, m).
struct SingleBranchMergeToScale : OpRewritePattern<MergeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MergeOp op,
                                PatternRewriter &rewriter) const override {
    bool scales =
        op.getMode() == MergeMode::sum || op.getMode() == MergeMode::mean;
    if (!scales || op.getBranches().size() != 1)
      return failure();
    double factor = multiplierOf(op, 0);
    if (factor == 1.0)
      return failure();
    rewriter.replaceOpWithNewOp<ScaleOp>(op, op.getBranches()[0],
                                         rewriter.getF64FloatAttr(factor));
    return success();
  }
};

} // namespace

void ScaleOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                          MLIRContext *context) {
  patterns.add<CombineNestedScales>(context);
}

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                            MLIRContext *context) {
  patterns.add<CombineNestedReshapes>(context);
}

void MergeOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                          MLIRContext *context) {
  patterns.add<DropUnitMultipliers, SingleBranchMergeToScale>(context);
}

void braid::populateBraidCanonicalizationPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  for (RegisteredOperationName name : context->getRegisteredOperations())
    if (name.getDialectNamespace() == BraidDialect::getDialectNamespace())
      name.getCanonicalizationPatterns(patterns, context);
}
