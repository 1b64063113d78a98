//===- Passes.h - Braid passes ----------------------------------*- C++ -*-===//
#ifndef BRAID_PASSES_PASSES_H
#define BRAID_PASSES_PASSES_H

#include "dialects/Braid/BraidDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace braid {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// braid-fold-weight-scales' clean-up: concat(split(x)) of all pieces in
/// order is x.
void populateFoldWeightScalesPatterns(mlir::RewritePatternSet &patterns);
/// braid-fuse-projections' clean-up: a split of a split's only-read piece
/// along the same axis becomes one split.
void populateFuseProjectionsPatterns(mlir::RewritePatternSet &patterns);

} // namespace braid

#endif // BRAID_PASSES_PASSES_H
