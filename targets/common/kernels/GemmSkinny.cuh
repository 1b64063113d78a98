//===- GemmSkinny.cuh - few-row GEMM of decode ----------------------------===//
//
// skinnyGemm: few rows (decode, M = B up to 16): one warp per COLS output
// columns streams its rows of B once with 16-byte loads and dots them with
// every row of A, the rows ROWS at a time; warp-shuffle reductions;
// memory-bound by design. Its input goes through a policy: as it is
// (SkinnyInput), or normalized as it streams (SkinnyRmsNormInput, the
// decode linear that folds its rms_norm). It takes the Ops policy of
// Gemm.cuh, which includes this file.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_GEMMSKINNY_CUH
#define BRAID_TARGETS_COMMON_KERNELS_GEMMSKINNY_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

template <int WARPS_, int COLS_, int ROWS_> struct SkinnyConfig {
  static constexpr int WARPS = WARPS_, COLS = COLS_, ROWS = ROWS_;
  static constexpr int kThreads = WARPS * kWarpSize;
  static constexpr int kColsPerBlock = WARPS * COLS;
  static_assert(COLS % 2 == 0, "columns come in pairs");
};

/// skinnyGemm's input as it is (the plain linear).
struct SkinnyInput {
  static constexpr bool kNorm = false, kWeighted = false;
};
/// rmsnorm(A) as skinnyGemm's input, for a decode linear that folds its
/// input's rms_norm (passes/PrologueFusion.h): rmsnorm(A)[m, k] = g[k] *
/// A[m, k] * rsqrt(mean_k(A[m, k]^2) + eps). Each warp already streams whole
/// rows of A, so it gathers their sums of squares in the same loop, dots
/// them with the columns times g[k] and scales the sums by the rows' rsqrt
/// at the end: no extra pass, no normalized copy. The normalized row is
/// never rounded to T (the separate rms_norm launch stored it in T): in
/// bf16 the result differs from the unfused launches by that rounding.
/// WEIGHTED = false: g is already folded into the weight's columns (the
/// launch has no norm weight), the rows are only scaled.
template <typename TG, bool WEIGHTED = true> struct SkinnyRmsNormInput {
  static constexpr bool kNorm = true, kWeighted = WEIGHTED;
  const TG *g;
  float eps;
};

/// One pass of skinnyGemm over the rows [m0, m0 + ROWS) of A (all < M) for
/// the COLS columns from n0 of this warp.
template <class Cfg, int ROWS, class Ops, class In>
BRAID_DEVICE void skinnyPass(const Ops &ops, int m0, int n0, const In &in) {
  using T = typename Ops::T;
  constexpr int N = Ops::N, K = Ops::K;
  constexpr int COLS = Cfg::COLS;
  constexpr int V = Ops::kVecA && Ops::kVecB ? Vec16<T>::N : 1;
  constexpr int STEP = kWarpSize * V;
  const int lane = laneId();
  const T *wRow[COLS];
#pragma unroll
  for (int c = 0; c < COLS; ++c)
    wRow[c] = ops.bRow(min(n0 + c, N - 1));
  typename Ops::ARef aRef[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; ++r)
    aRef[r] = ops.aRow(m0 + r);
  float acc[ROWS][COLS], ss[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    ss[r] = 0.0f;
#pragma unroll
    for (int c = 0; c < COLS; ++c)
      acc[r][c] = 0.0f;
  }

#pragma unroll 4
  for (int k = lane * V; k < K; k += STEP) {
    float wv[COLS][V];
#pragma unroll
    for (int c = 0; c < COLS; ++c)
      loadVec<V>(wRow[c] + k, wv[c]);
    if constexpr (In::kNorm && In::kWeighted) {
      // g on the COLS weight vectors, not on the ROWS input rows.
      float gv[V];
      loadVec<V>(in.g + k, gv);
#pragma unroll
      for (int c = 0; c < COLS; ++c)
#pragma unroll
        for (int v = 0; v < V; ++v)
          wv[c][v] *= gv[v];
    }
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      float xv[V];
      loadVec<V>(ops.aAt(aRef[r], k), xv);
      if constexpr (In::kNorm) {
#pragma unroll
        for (int v = 0; v < V; ++v)
          ss[r] = fmaf(xv[v], xv[v], ss[r]);
      }
#pragma unroll
      for (int c = 0; c < COLS; ++c)
#pragma unroll
        for (int v = 0; v < V; ++v)
          acc[r][c] = fmaf(xv[v], wv[c][v], acc[r][c]);
    }
  }
#pragma unroll
  for (int r = 0; r < ROWS; ++r) {
    // As rowNorm computes it: 1 / sqrtf(sum * (1 / K) + eps).
    float inv = 1.0f;
    if constexpr (In::kNorm)
      inv = 1.0f /
            sqrtf(warpSum(ss[r]) * (1.0f / static_cast<float>(K)) + in.eps);
#pragma unroll
    for (int c = 0; c < COLS; ++c)
      acc[r][c] = warpSum(acc[r][c]) * inv;
  }
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < ROWS; ++r)
#pragma unroll
      for (int c = 0; c < COLS; c += 2) {
        const int n = n0 + c;
        if (n + 1 < N)
          ops.store2(m0 + r, n, acc[r][c], acc[r][c + 1]);
        else if (n < N)
          ops.store(m0 + r, n, acc[r][c]);
      }
  }
}

/// The last M - m0 < R rows of skinnyGemm in one pass of their own size.
template <class Cfg, int R, class Ops, class In>
BRAID_DEVICE void skinnyTail(const Ops &ops, int m0, int M, int n0,
                             const In &in) {
  if constexpr (R > 0) {
    if (M - m0 == R)
      skinnyPass<Cfg, R>(ops, m0, n0, in);
    else
      skinnyTail<Cfg, R - 1>(ops, m0, M, n0, in);
  }
}

/// Grid (ceil(N / (WARPS * COLS))), WARPS warps. Each warp owns COLS
/// consecutive columns and loops over the rows ROWS at a time, the last
/// M % ROWS rows in a pass of that size: the FMAs and x loads of a pass grow
/// with its rows, and a pass of ROWS rows for one sequence (decode at B = 1)
/// made the kernel issue-bound below the copy rate (Nsight Compute on an
/// H100: 3.2-8 cycles per issued instruction, 7-14 warps per SM). `in`:
/// SkinnyInput, or SkinnyRmsNormInput for a folded rms_norm.
template <class Cfg, class Ops, class In = SkinnyInput>
BRAID_DEVICE void skinnyGemm(const Ops &ops, int M, const In &in = {}) {
  constexpr int ROWS = Cfg::ROWS;
  const int n0 = (blockIdX() * Cfg::WARPS + warpId()) * Cfg::COLS;
  if (n0 >= Ops::N)
    return;
  int m0 = 0;
#pragma unroll 1
  for (; m0 + ROWS <= M; m0 += ROWS)
    skinnyPass<Cfg, ROWS>(ops, m0, n0, in);
  skinnyTail<Cfg, ROWS - 1>(ops, m0, M, n0, in);
}

/// skinnyGemm of rmsnorm(A) with the norm weight g (SkinnyRmsNormInput).
template <class Cfg, class Ops, typename TG>
BRAID_DEVICE void skinnyNormGemm(const Ops &ops, int M, const TG *g,
                                 float eps) {
  skinnyGemm<Cfg>(ops, M, SkinnyRmsNormInput<TG>{g, eps});
}
/// skinnyNormGemm whose norm weight is folded into the weight's columns.
template <class Cfg, class Ops>
BRAID_DEVICE void skinnyNormGemm(const Ops &ops, int M, decltype(nullptr),
                                 float eps) {
  skinnyGemm<Cfg>(ops, M, SkinnyRmsNormInput<float, false>{nullptr, eps});
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_GEMMSKINNY_CUH
