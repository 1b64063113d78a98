//===- MoE.cuh - mixture of experts: routing and grouped expert GEMMs -----===//
//
// One `moe` launch runs, in order (workspace layout: MoELayout.h):
//
//   1. router logits  = x @ router^T (+ bias), fp32, with the plain GEMM;
//   2. moeTopK        : one warp per token: scores (softmax / sigmoid / raw),
//                       top-k (ties to the lower expert, as torch.topk),
//                       weights (renormalized / softmaxed), * routed_scaling;
//   3. moePlan        : one block: tokens per expert (shared-memory
//                       histogram), offsets, the tile table of the grouped
//                       GEMMs, and the rows sorted by expert;
//   4. grouped gate_up: per tile (expert, BM sorted rows): gathered x rows
//                       times the expert's gate and up rows, interleaved so
//                       that every thread holds (gate_j, up_j) pairs, epilogue
//                       act(gate) * up -> mid;
//   5. grouped down   : mid rows times down[e], epilogue weight * value ->
//                       the token's slot row (fp32);
//   6.-7. shared expert (optional): the same dense gated MLP on all tokens;
//   8. moeCombine     : y = shared + sum of the token's k slot rows.
//
// Every output row is computed by the same sequence of operations wherever
// it lands in the sorted order, so the result does not depend on the order
// of the scatter's atomics.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_MOE_CUH
#define BRAID_TARGETS_COMMON_KERNELS_MOE_CUH

#include "targets/common/kernels/Gemm.cuh"
#include "targets/common/kernels/MoELayout.h"

namespace braid {
namespace dev {

enum class Routing : int { SoftmaxTopk = 0, TopkSoftmax, SigmoidTopk };

template <typename P> BRAID_DEVICE P *wsAt(void *ws, int64_t offset) {
  return reinterpret_cast<P *>(static_cast<char *>(ws) + offset);
}

//===----------------------------------------------------------------------===//
// 2. Top-k routing
//===----------------------------------------------------------------------===//

/// One warp per token; block of any multiple of the warp size.
template <int E, int TOPK, Routing R, bool Normalize>
BRAID_DEVICE void moeTopK(const float *logits, int *topIdx, float *topW,
                          int tokens, float scaling) {
  constexpr int PER = ceilDiv(E, kWarpSize);
  static_assert(TOPK <= E, "top_k exceeds the experts");
  const int lane = laneId();
  const int warpsPerBlock = warpCount();
  for (int t = blockIdX() * warpsPerBlock + warpId(); t < tokens;
       t += gridDimX() * warpsPerBlock) {
    const float *l = logits + static_cast<int64_t>(t) * E;
    float s[PER];
    bool taken[PER];
#pragma unroll
    for (int j = 0; j < PER; ++j) {
      const int e = lane + j * kWarpSize;
      s[j] = e < E ? l[e] : -INFINITY;
      taken[j] = e >= E;
    }
    if constexpr (R == Routing::SoftmaxTopk) {
      float top = -INFINITY;
#pragma unroll
      for (int j = 0; j < PER; ++j)
        top = fmaxf(top, s[j]);
      top = warpMax(top);
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < PER; ++j) {
        s[j] = taken[j] ? 0.0f : expf(s[j] - top);
        sum += s[j];
      }
      const float inv = 1.0f / warpSum(sum);
#pragma unroll
      for (int j = 0; j < PER; ++j)
        s[j] = taken[j] ? -INFINITY : s[j] * inv;
    } else if constexpr (R == Routing::SigmoidTopk) {
#pragma unroll
      for (int j = 0; j < PER; ++j)
        if (!taken[j])
          s[j] = sigmoidF(s[j]);
    }
    // Top-k by repeated warp argmax.
    float w[TOPK];
    int idx[TOPK];
#pragma unroll
    for (int i = 0; i < TOPK; ++i) {
      float bv = -INFINITY;
      int bi = 0x7fffffff;
#pragma unroll
      for (int j = 0; j < PER; ++j) {
        const int e = lane + j * kWarpSize;
        if (!taken[j] && (s[j] > bv || (s[j] == bv && e < bi))) {
          bv = s[j];
          bi = e;
        }
      }
      warpArgMax(bv, bi);
      w[i] = bv;
      idx[i] = bi;
#pragma unroll
      for (int j = 0; j < PER; ++j)
        if (lane + j * kWarpSize == bi)
          taken[j] = true;
    }
    if constexpr (R == Routing::TopkSoftmax) {
      float sum = 0.0f;
      const float top = w[0];
#pragma unroll
      for (int i = 0; i < TOPK; ++i) {
        w[i] = expf(w[i] - top);
        sum += w[i];
      }
      const float inv = 1.0f / sum;
#pragma unroll
      for (int i = 0; i < TOPK; ++i)
        w[i] *= inv;
    } else if constexpr (Normalize) {
      float sum = 0.0f;
#pragma unroll
      for (int i = 0; i < TOPK; ++i)
        sum += w[i];
#pragma unroll
      for (int i = 0; i < TOPK; ++i)
        w[i] = w[i] / sum;
    }
    if (lane < TOPK) {
      // Constant-index select of this lane's entry.
      float wl = w[0];
      int il = idx[0];
#pragma unroll
      for (int i = 1; i < TOPK; ++i)
        if (lane == i) {
          wl = w[i];
          il = idx[i];
        }
      topIdx[static_cast<int64_t>(t) * TOPK + lane] = il;
      topW[static_cast<int64_t>(t) * TOPK + lane] = wl * scaling;
    }
  }
}

//===----------------------------------------------------------------------===//
// 3. Planning (one block)
//===----------------------------------------------------------------------===//

/// Shared memory: 3 * (E + 1) ints. Block: any size (1024 is best).
template <int E, int TOPK, int BM>
BRAID_DEVICE void moePlan(const int *topIdx, const float *topW, int tokens,
                          int *offsets, int *tiles, int *sortedTok,
                          int *sortedSlot, float *sortedW) {
  __shared__ int counts[E + 1], cursor[E + 1], tileStart[E + 1];
  const int tid = threadId(), threads = blockSize();
  const int rows = tokens * TOPK;
  for (int e = tid; e <= E; e += threads)
    counts[e] = 0;
  syncThreads();
  for (int j = tid; j < rows; j += threads)
    atomicAdd(&counts[topIdx[j]], 1);
  syncThreads();
  if (tid == 0) {
    int off = 0, ts = 0;
    for (int e = 0; e < E; ++e) {
      cursor[e] = off;
      tileStart[e] = ts;
      offsets[e] = off;
      off += counts[e];
      ts += (counts[e] + BM - 1) / BM;
    }
    offsets[E] = off;
    tileStart[E] = ts;
    tiles[0] = ts;
  }
  syncThreads();
  for (int e = 0; e < E; ++e) {
    const int first = tileStart[e], n = tileStart[e + 1] - first;
    for (int j = tid; j < n; j += threads) {
      tiles[1 + 2 * (first + j)] = e;
      tiles[2 + 2 * (first + j)] = cursor[e] + j * BM;
    }
  }
  syncThreads(); // cursor is read above before the scatter moves it
  for (int j = tid; j < rows; j += threads) {
    const int e = topIdx[j];
    const int pos = atomicAdd(&cursor[e], 1);
    sortedTok[pos] = j / TOPK;
    sortedSlot[pos] = j;
    sortedW[pos] = topW[j];
  }
}

//===----------------------------------------------------------------------===//
// 4.-7. Expert GEMMs
//===----------------------------------------------------------------------===//

/// Virtual weight row v of a gated MLP's [gate; up] projection: even rows are
/// gate rows, odd rows the matching up rows, so that output columns (2j,
/// 2j + 1) are (gate_j, up_j).
template <int FF> BRAID_DEVICE int gatedRow(int v) {
  return (v & 1) ? FF + (v >> 1) : (v >> 1);
}

/// mid[m, j] = act(x[rowOf(m)] . gate_j) * (x[rowOf(m)] . up_j). Gathered
/// rows (sortedTok) when `Gather`, else row m of x.
template <typename T_, int H, int FF, Act A, bool Gather> struct GatedUpOps {
  using T = T_;
  static constexpr int N = 2 * FF, K = H;
  static constexpr bool kVecA = (H % Vec16<T>::N) == 0;
  static constexpr bool kVecB = kVecA;
  using ARef = const T *;

  const T *x;
  const int *sortedTok; // Gather only
  const T *w;           // [2 * FF, H] of this expert
  T *mid;               // [rows, FF]

  BRAID_DEVICE ARef aRow(int m) const {
    const int row = Gather ? sortedTok[m] : m;
    return x + static_cast<int64_t>(row) * H;
  }
  BRAID_DEVICE const T *aAt(ARef r, int k) const { return r + k; }
  BRAID_DEVICE const T *bRow(int v) const {
    return w + static_cast<int64_t>(gatedRow<FF>(v)) * H;
  }
  BRAID_DEVICE void store(int, int, float) const {} // N is even: unused
  BRAID_DEVICE void store2(int m, int n, float g, float u) const {
    mid[static_cast<int64_t>(m) * FF + (n >> 1)] =
        fromFloat<T>(activate<A>(g) * u);
  }
};

/// slotOut[sortedSlot[m], n] = sortedW[m] * (mid[m] . down_n).
template <typename T_, int H, int FF> struct DownScatterOps {
  using T = T_;
  static constexpr int N = H, K = FF;
  static constexpr bool kVecA = (FF % Vec16<T>::N) == 0;
  static constexpr bool kVecB = kVecA;
  using ARef = const T *;

  const T *mid;
  const T *w; // [H, FF] of this expert
  const int *sortedSlot;
  const float *sortedW;
  float *slotOut;

  BRAID_DEVICE ARef aRow(int m) const {
    return mid + static_cast<int64_t>(m) * FF;
  }
  BRAID_DEVICE const T *aAt(ARef r, int k) const { return r + k; }
  BRAID_DEVICE const T *bRow(int n) const {
    return w + static_cast<int64_t>(n) * FF;
  }
  BRAID_DEVICE void store(int m, int n, float v) const {
    slotOut[static_cast<int64_t>(sortedSlot[m]) * H + n] = sortedW[m] * v;
  }
  BRAID_DEVICE void store2(int m, int n, float a, float b) const {
    const float s = sortedW[m];
    storePair(slotOut + static_cast<int64_t>(sortedSlot[m]) * H + n, s * a,
              s * b, H % 2 == 0);
  }
};

/// Dispatch to the engine of the tile configuration.
template <class Cfg> struct EngineOf;
#if defined(BRAID_HIP)
template <int BM, int BN, int BK, int WM, int WN>
struct EngineOf<MfmaConfig<BM, BN, BK, WM, WN>> {
  template <class Ops>
  static BRAID_DEVICE void tile(const Ops &ops, int m0, int mEnd, int n0,
                                char *smem) {
    mfmaGemmTile<MfmaConfig<BM, BN, BK, WM, WN>>(ops, m0, mEnd, n0, smem);
  }
};
#else
template <int BM, int BN, int BK, int WM, int WN, int S>
struct EngineOf<TcConfig<BM, BN, BK, WM, WN, S>> {
  template <class Ops>
  static BRAID_DEVICE void tile(const Ops &ops, int m0, int mEnd, int n0,
                                char *smem) {
    tcGemmTile<TcConfig<BM, BN, BK, WM, WN, S>>(ops, m0, mEnd, n0, smem);
  }
};
#endif
template <int BM, int BN, int BK, int TM, int TN>
struct EngineOf<SimtConfig<BM, BN, BK, TM, TN>> {
  template <class Ops>
  static BRAID_DEVICE void tile(const Ops &ops, int m0, int mEnd, int n0,
                                char *smem) {
    simtGemmTile<SimtConfig<BM, BN, BK, TM, TN>>(ops, m0, mEnd, n0, smem);
  }
};

/// Grouped gate_up: grid (ceil(2 FF / BN), maxTiles). Block y is a tile of
/// the plan's table; blocks past the table's count exit.
template <class Cfg, typename T, int H, int FF, Act A>
BRAID_DEVICE void moeGateUp(const T *x, const T *gateUp, const int *offsets,
                            const int *tiles, const int *sortedTok, T *mid) {
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int tile = blockIdY();
  if (tile >= tiles[0])
    return;
  const int e = tiles[1 + 2 * tile], m0 = tiles[2 + 2 * tile];
  GatedUpOps<T, H, FF, A, true> ops{
      x, sortedTok, gateUp + static_cast<int64_t>(e) * 2 * FF * H, mid};
  EngineOf<Cfg>::tile(ops, m0, offsets[e + 1], blockIdX() * Cfg::BN,
                      braidGemmSmem);
}

/// Grouped down: grid (ceil(H / BN), maxTiles).
template <class Cfg, typename T, int H, int FF>
BRAID_DEVICE void moeDown(const T *mid, const T *down, const int *offsets,
                          const int *tiles, const int *sortedSlot,
                          const float *sortedW, float *slotOut) {
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int tile = blockIdY();
  if (tile >= tiles[0])
    return;
  const int e = tiles[1 + 2 * tile], m0 = tiles[2 + 2 * tile];
  DownScatterOps<T, H, FF> ops{mid, down + static_cast<int64_t>(e) * H * FF,
                               sortedSlot, sortedW, slotOut};
  EngineOf<Cfg>::tile(ops, m0, offsets[e + 1], blockIdX() * Cfg::BN,
                      braidGemmSmem);
}

/// Dense gated up-projection (shared expert), grid (ceil(2 SFF / BN),
/// ceil(tokens / BM)).
template <class Cfg, typename T, int H, int SFF, Act A>
BRAID_DEVICE void moeSharedGateUp(const T *x, const T *gateUp, T *smid,
                                  int tokens) {
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int m0 = blockIdY() * Cfg::BM;
  if (m0 >= tokens)
    return;
  GatedUpOps<T, H, SFF, A, false> ops{x, nullptr, gateUp, smid};
  EngineOf<Cfg>::tile(ops, m0, tokens, blockIdX() * Cfg::BN, braidGemmSmem);
}

/// Dense gemm of any Ops on a plain (N tiles, M tiles) grid.
template <class Cfg, class Ops>
BRAID_DEVICE void gemmGrid(const Ops &ops, int M) {
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int m0 = blockIdY() * Cfg::BM;
  if (m0 >= M)
    return;
  EngineOf<Cfg>::tile(ops, m0, M, blockIdX() * Cfg::BN, braidGemmSmem);
}

//===----------------------------------------------------------------------===//
// 8. Combine
//===----------------------------------------------------------------------===//

/// y[t, :] = (shared ? sharedOut[t, :] : 0) + sum_i slotOut[t * k + i, :].
/// Grid-stride over tokens * H / V.
template <typename TOut, int H, int TOPK, bool Shared>
BRAID_DEVICE void moeCombine(const float *slotOut, const float *sharedOut,
                             TOut *y, int tokens) {
  constexpr int V = (H % 4 == 0) ? 4 : 1;
  const int64_t total = static_cast<int64_t>(tokens) * (H / V);
  for (int64_t i = globalThreadId(); i < total; i += globalThreadCount()) {
    const int64_t t = i / (H / V);
    const int h = static_cast<int>(i - t * (H / V)) * V;
    float acc[V];
    if constexpr (Shared) {
      loadVec<V>(sharedOut + t * H + h, acc);
    } else {
#pragma unroll
      for (int v = 0; v < V; ++v)
        acc[v] = 0.0f;
    }
#pragma unroll
    for (int s = 0; s < TOPK; ++s) {
      float o[V];
      loadVec<V>(slotOut + (t * TOPK + s) * H + h, o);
#pragma unroll
      for (int v = 0; v < V; ++v)
        acc[v] += o[v];
    }
    storeVec<V>(y + t * H + h, acc);
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_MOE_CUH
