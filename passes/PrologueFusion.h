//===- PrologueFusion.h - norms a GEMM launch absorbs -----------*- C++ -*-===//
//
// Part of braid-lower-to-launch: which braid.rms_norm ops are done by the
// braid.linear launches that read their result, so the norm gets no launch
// and its result no buffer. Like EpilogueFusion, this is a decision about
// launches and buffers; the braid IR keeps plain rms_norm / linear.
//
// A norm can be folded when every reader of its result is a linear that
// reads it as its input (not as weight or bias) and the result is not the
// entry output; each such linear normalizes its rows itself. Two forms:
//
//  * fuse-norms (every entry, prefill included): when the norm's weight g
//    is a braid.weight and every linear's weight is a braid.weight used by
//    that linear alone, g moves into the linears' weights at load (their
//    bindings get `column_scale` = g's name: w'[n, k] = w[n, k] * g[k]) and
//    the launches only scale their rows. With row-sums, in prefill the
//    launch that wrote the rows (a linear) also writes their sums of
//    squares per 128 columns (LowerToLaunch.cpp's row sums, attribute
//    `row_sumsq`), which the folding launches read as operand 5: sm_90a's
//    TMA engine scales its accumulators by them (RowNormOps,
//    GemmHopper.cuh), so prefill saves the norm's launch, its write and the
//    GEMM's read of a normalized copy.
//  * fuse-decode-norms (decode only): the other foldable norms; the launch
//    reads g as operand 4. At one token per sequence a norm is a few KB of
//    work behind a fixed launch cost (about 4.5 us on an H100, more than
//    the norm itself); the GEMM after it reads the same row anyway.
//
// The launch contract (docs/bundle.md, family `linear`, with every
// epilogue form of EpilogueFusion.h), with the attribute `norm_eps`:
//   operands: input x (un-normalized), weight, bias or unit, residual or
//             unit, norm_weight g [K] or unit (g folded into weight), and
//             with unit g optionally the row sums of squares of x
//             [.., ceil(K / 128)] f32
//   h = rmsnorm(x) @ w^T (+ bias), then the epilogue as without the norm,
//   rmsnorm(x)[m, k] = g[k] * (x[m, k] * rsqrt(mean_j(x[m, j]^2) + eps))
//   (g = 1 without operand 4) computed in f32. Backends may round rmsnorm(x)
//   to the activation type (as the separate rms_norm launch stored it) or
//   keep it in f32, and may apply the row scale after the GEMM; the CPU
//   reference (f32 only) normalizes the rows first.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_PASSES_PROLOGUEFUSION_H
#define BRAID_PASSES_PROLOGUEFUSION_H

#include "passes/WeightBindings.h"

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace braid {

/// The rms_norm a linear launch does before its GEMM.
struct FoldedNorm {
  mlir::Operation *norm = nullptr;
  mlir::Value input;  // the norm's input: the launch's operand 0
  mlir::Value weight; // the norm's weight: the launch's operand 4
  double epsilon = 0;
  /// fuse-norms: g is folded into the linear's weight (no operand 4), and
  /// every entry folds the norm.
  bool weightFolded = false;
};

struct PrologueFusion {
  /// Linear -> the norm it folds.
  llvm::DenseMap<mlir::Operation *, FoldedNorm> linears;
  /// Norms done by their readers: they get no launch.
  llvm::DenseSet<mlir::Operation *> absorbed;

  /// The norm `op`'s launch does, or null.
  const FoldedNorm *normOf(mlir::Operation *op) const {
    auto it = linears.find(op);
    return it == linears.end() ? nullptr : &it->second;
  }
};

/// Decides the folds over the flattened ops (in launch order) of an entry.
/// `resolve` maps a layer's block arguments and results to the values
/// they forward; `returned` is the logits value (never folded away).
PrologueFusion
planPrologueFusion(llvm::ArrayRef<mlir::Operation *> ops,
                   llvm::function_ref<mlir::Value(mlir::Value)> resolve,
                   mlir::Value returned);

/// fuse-norms: marks the folds whose norm weight can move into the weights
/// of all of the norm's linears (weightFolded) and writes their bindings'
/// `column_scale`; g keeps a binding of its own, which the runtime reads
/// for the factors. Returns the number of norms folded this way.
/// `ops` are the flattened ops in launch order, as for planPrologueFusion.
unsigned foldNormWeights(PrologueFusion &fusion,
                         llvm::ArrayRef<mlir::Operation *> ops,
                         WeightBindings &bindings,
                         llvm::function_ref<mlir::Value(mlir::Value)> resolve);

} // namespace braid

#endif // BRAID_PASSES_PROLOGUEFUSION_H
