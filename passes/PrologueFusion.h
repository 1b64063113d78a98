//===- PrologueFusion.h - norms a decode GEMM launch absorbs ----*- C++ -*-===//
//
// Part of braid-lower-to-launch (option fuse-decode-norms): which
// braid.rms_norm ops of the decode entry are done by the braid.linear
// launches that read their result, so the norm gets no launch and its
// result no buffer. At decode (one token per sequence) a norm is a few KB
// of work behind a fixed launch cost (about 4.5 us on an H100, more than
// the norm itself); the GEMM after it reads the same row anyway. Prefill
// keeps rms_norm + linear: there the fold would only move the same work
// into the GEMM's launch. Like EpilogueFusion, this is a decision about
// launches and buffers; the braid IR keeps plain rms_norm / linear.
//
// A norm is folded when every reader of its result is a linear that reads
// it as its input (not as weight or bias) and the result is not the entry
// output; each such linear normalizes its rows itself.
//
// The launch contract (docs/bundle.md, family `linear`, with every
// epilogue form of EpilogueFusion.h), with the attribute `norm_eps`:
//   operands: input x (un-normalized), weight, bias or unit, residual or
//             unit, norm_weight g [K]
//   h = rmsnorm(x) @ w^T (+ bias), then the epilogue as without the norm,
//   rmsnorm(x)[m, k] = g[k] * (x[m, k] * rsqrt(mean_j(x[m, j]^2) + eps))
//   computed in f32. Backends may round rmsnorm(x) to the activation type
//   (as the separate rms_norm launch stored it) or keep it in f32; the CPU
//   reference (f32 only) gives the unfused bits.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_PASSES_PROLOGUEFUSION_H
#define BRAID_PASSES_PROLOGUEFUSION_H

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

/// Decides the folds over the flattened ops (in launch order) of the decode
/// entry. `resolve` maps a layer's block arguments and results to the values
/// they forward; `returned` is the logits value (never folded away).
PrologueFusion
planPrologueFusion(llvm::ArrayRef<mlir::Operation *> ops,
                   llvm::function_ref<mlir::Value(mlir::Value)> resolve,
                   mlir::Value returned);

} // namespace braid

#endif // BRAID_PASSES_PROLOGUEFUSION_H
