//===- Conv.cuh - causal depthwise conv1d: prefill and state update -----===//
//
// x [B, T, C], weight [C, W], bias [C], conv_state [B, C, W - 1] (the last
// W - 1 inputs of the previous call, oldest first).
//
// One thread per group of V adjacent channels (one 16-byte access: 8 bf16
// or 4 floats when C allows) and chunk of TT tokens (grid: C / V / block,
// T / TT, B). A warp's loads of one token are 32 consecutive vectors; the
// thread loads U tokens at a time before it computes them (U loads in
// flight per thread), keeps the last W - 1 inputs in registers and slides
// along its tokens, so every input is read once per chunk plus W - 1 halo
// rows (from L2: the neighbouring chunk reads them too). TT >= W - 1, so
// only the first chunk ever reads the old state, and the same threads
// write the new state after reading it: the in-place update (conv_state
// and updated_state alias) needs no barrier between blocks. Decode (T = 1)
// is the same kernel with one chunk.
//
// The output goes to ConvPieces: one [B, T, C] buffer, or the column pieces
// of the split that reads it (passes/EpilogueFusion.h), each its own
// [B, T, width] buffer; a thread's V channels lie in one piece.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_CONV_CUH
#define BRAID_TARGETS_COMMON_KERNELS_CONV_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

/// Where the conv's output channels go: piece p holds channels [offset_p,
/// offset_p + WIDTHS[p]) as its own rows of WIDTHS[p] elements.
template <typename TO, int... WIDTHS> struct ConvPieces {
  using T = TO;
  static constexpr int kPieces = sizeof...(WIDTHS);
  TO *out[kPieces];

  /// The row of channel c0 of sequence b (seq tokens): `base[t * stride]`
  /// is token t's value of channel c0 (V channels from there lie in the
  /// same piece: every width is a multiple of V). A fold over the pack:
  /// device code could not index an array of the widths. (The token loop
  /// compiled once per width, each with its stride a constant, ran slower:
  /// 0.83-0.98 against 0.74 ms over the bamba-1.5b prefill's 20 convs,
  /// H200, before the six-block bound of SpecializersDense.cpp.)
  BRAID_DEVICE void locate(int c0, int64_t b, int seq, TO *&base,
                           int &stride) const {
    int offset = 0, p = 0;
    auto piece = [&](int width) {
      if (c0 >= offset && c0 < offset + width) {
        base = out[p] + b * seq * width + (c0 - offset);
        stride = width;
      }
      offset += width;
      ++p;
    };
    (piece(WIDTHS), ...);
  }
};

/// V inputs as stored (one access of V * sizeof(T) bytes, a power of two):
/// the window holds inputs unconverted, half the registers of fp32 for bf16.
template <typename T, int V> struct alignas(sizeof(T) * V) ConvVec { T e[V]; };

/// Input t - HIST + k of the sliding window: win (fp32) below HIST, then
/// the U loaded vectors (k and v are constants after unrolling).
template <int HIST, int U, int V, typename TX>
BRAID_DEVICE float convInput(const float (&win)[HIST > 0 ? HIST : 1][V],
                             const ConvVec<TX, V> (&raw)[U], int k, int v) {
  return k < HIST ? win[k][v] : toFloat(raw[k - HIST].e[v]);
}

/// The conv of x into `y` (ConvPieces: the output, or its split's pieces):
/// grid (ceil(C / V / block), ceil(T / TT), B).
template <typename TX, typename TW, typename TS, typename Out, int C, int W,
          int V, int TT, int U, bool HasBias, bool HasState, Act A>
BRAID_DEVICE void causalConv1d(const TX *x, const TW *weight, const TW *bias,
                               const TS *stateIn, TS *stateOut, const Out &y,
                               int seq) {
  using TO = typename Out::T;
  constexpr int HIST = W - 1;
  static_assert(TT >= HIST, "a chunk must cover the state");
  static_assert(C % V == 0 && TT % U == 0, "V must divide C, U divide TT");
  const int g = blockIdX() * blockSize() + threadId();
  if (g >= C / V)
    return;
  const int c0 = g * V;
  const int64_t b = blockIdZ();
  const int t0 = blockIdY() * TT;
  const int t1 = min(seq, t0 + TT);
  if (t0 >= seq)
    return;

  float w[W][V], bv[V];
#pragma unroll
  for (int v = 0; v < V; ++v) {
#pragma unroll
    for (int j = 0; j < W; ++j)
      w[j][v] = toFloat(weight[(c0 + v) * W + j]);
    bv[v] = HasBias ? toFloat(bias[c0 + v]) : 0.0f;
  }

  const TX *xb = x + b * seq * C + c0; // x[b, t, c0 + v] = xb[t * C + v]
  // y[b, t, c0 + v] = yb[t * ys + v]
  TO *yb = nullptr;
  int ys = C;
  y.locate(c0, b, seq, yb, ys);
  using In = ConvVec<TX, V>;
  // win: inputs t - HIST .. t - 1 in fp32 (the old state may not be
  // representable in TX); raw: the U inputs t .. t + U - 1 as stored.
  float win[HIST > 0 ? HIST : 1][V];
  In raw[U];
#pragma unroll
  for (int j = 0; j < HIST; ++j) {
    const int src = t0 - HIST + j; // < 0 only in the first chunk
    if (src >= 0) {
      const In r =
          *reinterpret_cast<const In *>(xb + static_cast<int64_t>(src) * C);
#pragma unroll
      for (int v = 0; v < V; ++v)
        win[j][v] = toFloat(r.e[v]);
    } else {
#pragma unroll
      for (int v = 0; v < V; ++v)
        win[j][v] =
            HasState ? toFloat(stateIn[(b * C + c0 + v) * HIST + j]) : 0.0f;
    }
  }

  const TX *xp = xb + static_cast<int64_t>(t0) * C;
  TO *yp = yb + static_cast<int64_t>(t0) * ys;
  for (int t = t0; t < t1; t += U, xp += U * C, yp += U * ys) {
#pragma unroll
    for (int u = 0; u < U; ++u)
      if (t + u < t1)
        raw[u] = *reinterpret_cast<const In *>(xp + u * C);
#pragma unroll
    for (int u = 0; u < U; ++u) {
      float out[V];
#pragma unroll
      for (int v = 0; v < V; ++v) {
        float acc = bv[v];
#pragma unroll
        for (int j = 0; j < W; ++j)
          acc += w[j][v] * convInput<HIST, U>(win, raw, u + j, v);
        out[v] = activate<A>(acc);
      }
      if (t + u < t1)
        storeVec<V>(yp + u * ys, out);
    }
    // Ascending j reads input U + j before anything at or above it changes.
#pragma unroll
    for (int j = 0; j < HIST; ++j)
#pragma unroll
      for (int v = 0; v < V; ++v)
        win[j][v] = convInput<HIST, U>(win, raw, U + j, v);
  }

  if constexpr (HasState) {
    if (t0 == 0) {
      // New state: the last HIST inputs of [old state, x].
#pragma unroll
      for (int k = 0; k < HIST; ++k) {
        const int src = seq - HIST + k;
        float nv[V];
        if (src >= 0) {
          loadVec<V>(xb + static_cast<int64_t>(src) * C, nv);
        } else {
          // old[seq + k]: not yet overwritten, as seq + k > k.
#pragma unroll
          for (int v = 0; v < V; ++v)
            nv[v] = toFloat(stateIn[(b * C + c0 + v) * HIST + seq + k]);
        }
#pragma unroll
        for (int v = 0; v < V; ++v)
          stateOut[(b * C + c0 + v) * HIST + k] = fromFloat<TS>(nv[v]);
      }
    }
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_CONV_CUH
