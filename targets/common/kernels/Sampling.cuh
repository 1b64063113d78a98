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
// pairs, the larger value winning and the lower index on ties. NaN entries
// are never chosen, as in the host's comparisons; a NaN at index 0 wins, as
// it does there, because nothing compares greater than it.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SAMPLING_CUH
#define BRAID_TARGETS_COMMON_KERNELS_SAMPLING_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

/// A candidate of the argmax: `index` < 0 for none yet.
struct ArgmaxPair {
  float value;
  int index;
};

/// Whether `a` wins over `b`: a larger value, or the same value at a lower
/// index. A NaN never wins (its comparisons are false).
BRAID_DEVICE bool argmaxWins(const ArgmaxPair &a, const ArgmaxPair &b) {
  if (a.index < 0)
    return false;
  if (b.index < 0)
    return true;
  return a.value > b.value || (a.value == b.value && a.index < b.index);
}

BRAID_DEVICE ArgmaxPair warpArgmax(ArgmaxPair p) {
  for (int m = kWarpSize / 2; m > 0; m >>= 1) {
    ArgmaxPair o{shflXor(p.value, m), shflXor(p.index, m)};
    if (argmaxWins(o, p))
      p = o;
  }
  return p;
}

/// Grid (B), THREADS threads. Row b of `logits` ([B, VOCAB], VOCAB a
/// multiple of VEC, rows 16-byte aligned when VEC > 1).
template <int VOCAB, int VEC, int THREADS, typename TL>
BRAID_DEVICE void greedyNext(const TL *logits, int64_t *ids, int64_t *positions,
                             int64_t *cachePosition) {
  static_assert(VOCAB % VEC == 0, "the vocabulary must be a multiple of VEC");
  static_assert(THREADS % kWarpSize == 0, "whole warps");
  constexpr int WARPS = THREADS / kWarpSize;
  __shared__ ArgmaxPair warpBest[WARPS];
  const int b = blockIdX(), tid = threadId();
  const TL *row = logits + static_cast<int64_t>(b) * VOCAB;

  ArgmaxPair best{0.0f, -1};
  for (int v0 = tid * VEC; v0 < VOCAB; v0 += THREADS * VEC) {
    float x[VEC];
    loadVec<VEC>(row + v0, x);
#pragma unroll
    for (int j = 0; j < VEC; ++j) {
      ArgmaxPair c{x[j], x[j] == x[j] ? v0 + j : -1}; // NaN: no candidate
      if (argmaxWins(c, best))
        best = c;
    }
  }
  best = warpArgmax(best);
  if (laneId() == 0)
    warpBest[warpId()] = best;
  syncThreads();
  if (warpId() != 0)
    return;
  best = laneId() < WARPS ? warpBest[laneId()] : ArgmaxPair{0.0f, -1};
  best = warpArgmax(best);
  if (laneId() == 0) {
    const float first = toFloat(row[0]);
    // Index 0 when it holds a NaN (nothing is greater) or nothing is a
    // candidate (an all-NaN row).
    ids[b] = first != first || best.index < 0 ? 0 : best.index;
    positions[b] += 1;
    cachePosition[b] += 1;
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_SAMPLING_CUH
