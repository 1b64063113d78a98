//===- Sampling.cuh - greedy_next: the next token of each sequence --------===//
//
// greedy_next ends the decode_greedy entry (docs/bundle.md): for sequence b,
//   input_ids[b]      = argmax_v logits[b, 0, v]
//   positions[b]     += 1
//   cache_position[b] += 1
// so the next replay of the entry decodes the chosen token at the next
// position with no host work in between.
//
// The argmax is the host's (runtime/src/Session.cpp: the first index whose
// value is greater than every earlier one), computed by one block per
// sequence: each thread scans a strided share of the row with vector loads
// keeping its first maximum, then warps and the block reduce (value, index)
// pairs with warpArgMax (Portability.cuh), the larger value winning and the
// lower index on ties. NaN entries are never chosen, as in the host's
// comparisons (a NaN compares false); a NaN at index 0 wins, as it does
// there, because nothing compares greater than it.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SAMPLING_CUH
#define BRAID_TARGETS_COMMON_KERNELS_SAMPLING_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

/// Grid (B), THREADS threads. Row b of `logits` ([B, VOCAB], VOCAB a
/// multiple of VEC, rows 16-byte aligned when VEC > 1).
template <int VOCAB, int VEC, int THREADS, typename TL>
BRAID_DEVICE void greedyNext(const TL *logits, int64_t *ids, int64_t *positions,
                             int64_t *cachePosition) {
  static_assert(VOCAB % VEC == 0, "the vocabulary must be a multiple of VEC");
  static_assert(THREADS % kWarpSize == 0, "whole warps");
  constexpr int WARPS = THREADS / kWarpSize;
  // No candidate yet: (-inf, past every index), which any entry but a NaN
  // beats (NaNs are skipped when read).
  constexpr int kNone = VOCAB;
  __shared__ float warpValue[WARPS];
  __shared__ int warpIndex[WARPS];
  const int b = blockIdX(), tid = threadId();
  const TL *row = logits + static_cast<int64_t>(b) * VOCAB;

  float value = -INFINITY;
  int index = kNone;
  for (int v0 = tid * VEC; v0 < VOCAB; v0 += THREADS * VEC) {
    float x[VEC];
    loadVec<VEC>(row + v0, x);
#pragma unroll
    for (int j = 0; j < VEC; ++j)
      if (x[j] > value || (x[j] == value && v0 + j < index)) {
        value = x[j];
        index = v0 + j;
      }
  }
  warpArgMax(value, index);
  if (laneId() == 0) {
    warpValue[warpId()] = value;
    warpIndex[warpId()] = index;
  }
  syncThreads();
  if (warpId() != 0)
    return;
  value = laneId() < WARPS ? warpValue[laneId()] : -INFINITY;
  index = laneId() < WARPS ? warpIndex[laneId()] : kNone;
  warpArgMax(value, index);
  if (laneId() == 0) {
    const float first = toFloat(row[0]);
    // Index 0 when it holds a NaN (nothing is greater) or nothing is a
    // candidate (an all-NaN row).
    ids[b] = first != first || index == kNone ? 0 : index;
    positions[b] += 1;
    cachePosition[b] += 1;
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_SAMPLING_CUH
