//===- Conv.cuh - causal depthwise conv1d: prefill and state update ---------===//
//
// x [B, T, C], weight [C, W], bias [C], conv_state [B, C, W - 1] (the last
// W - 1 inputs of the previous call, oldest first).
//
// One thread per channel and chunk of TT tokens (grid: C / block, T / TT,
// B): loads are coalesced across the channels of a warp; the thread keeps
// the last W - 1 inputs in registers and slides along its tokens, so every
// input is read once per chunk plus W - 1 halo reads. TT >= W - 1, so only
// the first chunk ever reads the old state, and the same threads write the
// new state after reading it: the in-place update (conv_state and
// updated_state alias) needs no barrier between blocks. Decode (T = 1) is
// the same kernel with one chunk.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_CONV_CUH
#define BRAID_TARGETS_COMMON_KERNELS_CONV_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

template <typename TX, typename TW, typename TS, typename TO, int C, int W,
          int TT, bool HasBias, bool HasState, Act A>
BRAID_DEVICE void causalConv1d(const TX *x, const TW *weight, const TW *bias,
                               const TS *stateIn, TS *stateOut, TO *y,
                               int seq) {
  constexpr int HIST = W - 1;
  static_assert(TT >= HIST, "a chunk must cover the state");
  const int c = blockIdX() * blockSize() + threadId();
  if (c >= C)
    return;
  const int64_t b = blockIdZ();
  const int t0 = blockIdY() * TT;
  const int t1 = min(seq, t0 + TT);
  if (t0 >= seq)
    return;

  float w[W];
#pragma unroll
  for (int j = 0; j < W; ++j)
    w[j] = toFloat(weight[c * W + j]);
  const float bv = HasBias ? toFloat(bias[c]) : 0.0f;

  const TX *xc = x + b * seq * C + c; // x[b, t, c] = xc[t * C]
  float old[HIST > 0 ? HIST : 1];
  float win[HIST > 0 ? HIST : 1]; // inputs t - HIST .. t - 1
#pragma unroll
  for (int j = 0; j < HIST; ++j) {
    old[j] = 0.0f;
    if constexpr (HasState)
      if (t0 == 0)
        old[j] = toFloat(stateIn[(b * C + c) * HIST + j]);
    const int src = t0 - HIST + j;
    win[j] = src >= 0 ? toFloat(xc[static_cast<int64_t>(src) * C]) : old[j];
  }

#pragma unroll 4
  for (int t = t0; t < t1; ++t) {
    const float xt = toFloat(xc[static_cast<int64_t>(t) * C]);
    float acc = bv;
#pragma unroll
    for (int j = 0; j < HIST; ++j)
      acc += w[j] * win[j];
    acc += w[HIST] * xt;
    y[(b * seq + t) * C + c] = fromFloat<TO>(activate<A>(acc));
#pragma unroll
    for (int j = 0; j + 1 < HIST; ++j)
      win[j] = win[j + 1];
    if (HIST > 0)
      win[HIST > 0 ? HIST - 1 : 0] = xt;
  }

  if constexpr (HasState) {
    if (t0 == 0) {
      // New state: the last HIST inputs of [old state, x].
#pragma unroll
      for (int k = 0; k < HIST; ++k) {
        const int src = seq - HIST + k;
        float v = 0.0f;
        if (src >= 0) {
          v = toFloat(xc[static_cast<int64_t>(src) * C]);
        } else {
#pragma unroll
          for (int j = 0; j < HIST; ++j) // old[seq + k], constant indices
            if (j == seq + k)
              v = old[j];
        }
        stateOut[(b * C + c) * HIST + k] = fromFloat<TS>(v);
      }
    }
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_CONV_CUH
