//===- DecodeFusion.h - one launch per Mamba2 mixer step in decode -*- C++
//-*-===//
//
// Part of braid-lower-to-launch (option fuse-decode-steps): which chains of
// a Mamba2 mixer run as one `mamba2_step` launch in the decode entry, where
// every sequence advances by exactly one token (T = 1). The chain is
//
//   causal_conv1d(xBC) -> split [x, B, C] -> (reshape) -> ssd_scan
//     -> (reshape) -> gate
//
// with the gate one of: gated_rms_norm(y, z, w); mul(y, activation silu(z));
// or none (the scan output is the result). In decode the whole chain is a
// per-sequence update of the conv and SSM states, and one kernel does it:
// no conv output, no split pieces and no ungated scan output ever reach
// memory. Prefill and prefill_last keep the separate launches (their chunked
// scan is a different algorithm), so this is decided per entry: the decode
// entry plans its own buffers (LowerToLaunch.cpp).
//
// The launch contract (docs/bundle.md, family `mamba2_step`):
//   operands: xBC [B, T, H*P + 2*G*N], conv weight [H*P + 2*G*N, K],
//             conv bias or unit, conv_state [B, H*P + 2*G*N, K-1] f32,
//             dt [B, T, H], A [H], D or unit, dt_bias or unit,
//             ssm_state [B, H, P, N] f32, z [B, T, H*P] or unit,
//             norm weight [H*P] or unit
//   results:  y [B, T, H*P], conv_state, ssm_state
//   attributes: the conv's (kernel_size, activation), the scan's (num_heads,
//             head_dim, num_groups, state_size, chunk_size, dt_softplus,
//             dt_min[, dt_max]), gate = "norm" | "silu" | "none", and for
//             "norm" the norm's epsilon, group_size and norm_before_gate.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_PASSES_DECODEFUSION_H
#define BRAID_PASSES_DECODEFUSION_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace braid {

/// One Mamba2 mixer step: the ops of the chain and the values the fused
/// launch reads besides the conv's and the scan's own operands.
struct Mamba2Step {
  mlir::Operation *conv = nullptr;  // causal_conv1d: the launch's anchor
  mlir::Operation *split = nullptr; // its [x, B, C] split
  mlir::Operation *scan = nullptr;  // ssd_scan
  /// gated_rms_norm, or the activation and the mul of a SiLU gate; empty
  /// without a gate.
  llvm::SmallVector<mlir::Operation *, 2> gate;
  /// "norm", "silu" or "none".
  llvm::StringRef gateKind = "none";
  mlir::Value z;          // the gate's input (before its activation)
  mlir::Value normWeight; // gated_rms_norm's weight
  /// The value the launch writes: the gate's result, or the scan output.
  mlir::Value result;
};

struct DecodeFusion {
  /// Keyed by the conv.
  llvm::DenseMap<mlir::Operation *, Mamba2Step> steps;
  /// Ops of a step other than its conv: they get no launch in decode.
  llvm::DenseSet<mlir::Operation *> absorbed;

  const Mamba2Step *stepOf(mlir::Operation *conv) const {
    auto it = steps.find(conv);
    return it == steps.end() ? nullptr : &it->second;
  }
};

/// Finds the Mamba2 steps among the flattened ops (in launch order).
/// `resolve` maps a layer's block arguments and results to the values they
/// forward; `returned` is the logits value (never absorbed).
DecodeFusion
planDecodeFusion(llvm::ArrayRef<mlir::Operation *> ops,
                 llvm::function_ref<mlir::Value(mlir::Value)> resolve,
                 mlir::Value returned);

} // namespace braid

#endif // BRAID_PASSES_DECODEFUSION_H
