//===- EpilogueFusion.h - consumers a GEMM launch absorbs -------*- C++ -*-===//
//
// Part of braid-lower-to-launch (option fuse-epilogues): which braid.linear
// launches also do the work of the op that reads their result, so that op
// gets no launch and the linear's result no buffer. It lives in the lowering
// because what it decides is about buffers, not values: a linear "writing
// the split's parts" means one launch with one output buffer per part (each
// its own row stride), and "the residual add in the epilogue" means one
// launch that reads the residual and writes the add's buffer. The braid IR
// keeps plain linear / split / add, so every braid pass sees them as before.
//
// A third form absorbs a gated MLP: the linear's only reader splits it into
// two halves of width I, one of them (the gate: the first, or the second as
// ONNX exports that concatenate [up, gate] have it) is read only by an
// activation and `mul(act(gate), up)` reads both: one launch writes only the
// product.
//
// A causal_conv1d whose output's only reader is a split along the features
// (a Mamba2 mixer's x, B and C) also writes the pieces itself: its launch's
// results are one buffer per piece, in column order, then the updated conv
// state (the lowering appends it); y_p[..., j] = y[..., offset_p + j].
//
// The launch contract (docs/bundle.md, family `linear`), h = x @ w^T + bias:
//   operands: input, weight, bias or unit[, residual]
//   results:  one buffer per part, in column order; their last dims add up
//             to out_features (one result: the plain linear)
//   y_p[..., j] = h[..., offset_p + j] (+ residual[..., j] when there is one
//   result and a residual);
//   with the attribute `glu = "<activation>"` (no residual, one result of
//   width I = out_features / 2): y[..., j] = act(h[..., j]) * h[..., I + j];
//   with also `glu_gate = 1` the gate is the second half:
//   y[..., j] = act(h[..., I + j]) * h[..., j].
// In the decode entry a launch may also normalize its input rows first
// (PrologueFusion.h: attribute `norm_eps`, operands 3 and 4).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_PASSES_EPILOGUEFUSION_H
#define BRAID_PASSES_EPILOGUEFUSION_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>
#include <string>

namespace braid {

/// What one linear (or causal_conv1d) launch absorbs.
struct AbsorbedEpilogue {
  /// The ops done by the linear's launch, in order: the split whose pieces
  /// it writes, or the add whose result it writes, or the split, activation
  /// and mul of a gated MLP. The launch writes the last one's results.
  llvm::SmallVector<mlir::Operation *, 3> consumers;
  /// For an add: the other operand, read in the epilogue.
  mlir::Value residual;
  /// For a gated MLP: the activation kind (`silu`, ...), and which half
  /// (0 or 1) is the gate.
  std::string glu;
  int gluGate = 0;
};

struct EpilogueFusion {
  /// The absorbing launches: linears, and causal convs writing a split's
  /// pieces.
  llvm::DenseMap<mlir::Operation *, AbsorbedEpilogue> absorbing;
  /// Consumers done by their linear: they get no launch.
  llvm::DenseSet<mlir::Operation *> absorbed;

  /// The values a launch of `op` writes: the consumer's results for an
  /// absorbing launch (linear or conv), else the op's own.
  llvm::SmallVector<mlir::Value> launchResults(mlir::Operation *op) const;
  /// The residual `op`'s launch reads after its own operands, if any.
  mlir::Value residualOf(mlir::Operation *op) const;
  /// The gated-MLP activation of `op`'s launch, or "".
  llvm::StringRef gluOf(mlir::Operation *op) const;
  /// Which half of `op`'s GEMM output is the gate (0 unless gated second).
  int gluGateOf(mlir::Operation *op) const;
};

/// Decides the fusions over the flattened ops (in launch order). `resolve`
/// maps a layer's block arguments and results to the values they forward;
/// `returned` is the logits value (never absorbed: it is the entry output);
/// ops at or after `tailStart` run on the last rows only in prefill_last, so
/// a linear and its consumer must sit on the same side of it.
EpilogueFusion
planEpilogueFusion(llvm::ArrayRef<mlir::Operation *> ops,
                   llvm::function_ref<mlir::Value(mlir::Value)> resolve,
                   mlir::Value returned, std::optional<size_t> tailStart);

} // namespace braid

#endif // BRAID_PASSES_EPILOGUEFUSION_H
