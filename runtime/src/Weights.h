//===- Weights.h - weights from a checkpoint or from a seed -----*- C++ -*-===//
//
// Turns checkpoint tensors into the IR weights a bundle declares, following
// each weight's binding transform (docs/bundle.md, "Weights"):
//   1. combine the sources: single; concat along `axis`; stack along a new
//      leading axis; stack_of_concat (groups of `group_size` concatenated
//      along `axis`, then stacked);
//   2. elementwise: identity, or neg_exp (-exp(x), for A = -exp(A_log));
//   3. scale (optional): multiply by one factor, or by one factor per index
//      of the weight's first dimension (multipliers folded at compile time);
//   4. column_scale (optional): multiply every row by another IR weight of
//      the bundle, 1-D over the last dimension (an rms_norm's weight folded
//      into the linears after it), itself prepared the same way;
//   5. reshape to the weight's shape (same element count).
// Sources may be F32, F16 or BF16; the result is fp32.
//
// Or draws them from a seed (randomWeight), for benchmarking without a
// checkpoint. The scheme, deterministic per (seed, weight name), independent
// of the order of the weights and of threads:
//   * neg_exp weights (Mamba's A):   A_log = log(U(1, 16)), so A = -U(1, 16)
//                                    (the Mamba initialization; A < 0);
//   * names ending "dt_bias":        softplus^-1(dt), dt = exp(U(ln 1e-3,
//                                    ln 1e-1)) (the Mamba initialization);
//   * norm weights ("norm" in the last name component, not "_bias"), and
//     "D":                           1 + U(-0.1, 0.1);
//   * other 1-D weights (biases):    U(-0.1, 0.1);
//   * weights of rank >= 2:          U(-1, 1) / sqrt(fan_in), fan_in = the
//                                    last dimension (Linear [out, in], conv
//                                    [C, K], stacked experts [E, out, in],
//                                    embeddings [V, H]).
// U draws from xoshiro256** seeded by SplitMix64(seed ^ FNV-1a(name)).
// The drawn values then go through the weight's `scale` and `column_scale`
// steps, if any (the column factors drawn as their own weight is).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_WEIGHTS_H
#define BRAID_RUNTIME_SRC_WEIGHTS_H

#include "runtime/src/Manifest.h"
#include "runtime/src/Safetensors.h"

#include <cstdint>

namespace braid::rt {

/// Checks every source of `weight` against `store` (present, the declared
/// shape, a float dtype; a tied alias may stand in for a missing single
/// source) and throws Error(Weights) naming the tensor, the weight, the
/// expected and the found shape or dtype.
void checkWeightSources(const WeightDecl &weight, const TensorStore &store);

/// Writes the transformed weight (weight.numel() floats) into `out`. Checks
/// the sources first (checkWeightSources).
void prepareWeight(const WeightDecl &weight, const TensorStore &store,
                   float *out);

/// When the weight is exactly one F32 source used as is (single, identity)
/// and its data is 4-byte aligned, a pointer into the checkpoint that can be
/// used in place; otherwise nullptr. Checks the sources first.
const float *weightInPlace(const WeightDecl &weight, const TensorStore &store);

/// Fills `out` (weight.numel() floats) from the seed, as described above.
void randomWeight(const WeightDecl &weight, uint64_t seed, float *out);

/// The transform steps on host arrays, exposed for tests: combine `sources`
/// (each with its shape) into `out` per `weight`'s combine/axis/group_size.
void combineSources(const WeightDecl &weight,
                    const std::vector<const float *> &sources, float *out);

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_WEIGHTS_H
