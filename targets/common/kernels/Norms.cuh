//===- Norms.cuh - rms_norm, layer_norm, gated_rms_norm -------------------===//
//
// One "team" of TEAM threads per normalized row (a group of G channels:
// the whole last dimension, or one group of gated_rms_norm), TEAM a power of
// two: a part of a warp for short rows, whole warps for long ones. The row
// is read once into registers with 16-byte loads (V elements per access,
// PER accesses per thread), reduced in fp32 with warp shuffles (and, across
// the warps of a team, through shared memory in a fixed order), scaled and
// written once. Block: TEAMS teams; grid-stride over rows.
//
// Rows are [rows, G] contiguous; the weight (and bias) index is
// (row % GROUPS) * G + i, so a gated norm over groups of G channels of an
// [M, GROUPS * G] tensor is the same kernel with rows = M * GROUPS.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_NORMS_CUH
#define BRAID_TARGETS_COMMON_KERNELS_NORMS_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

enum class NormKind : int {
  Rms = 0,    // w * (x * inv)
  Layer,      // ((x - mean) * inv) * w + b
  GatedAfter, // w * (u * inv), u = x * silu(gate), inv over u
  GatedFirst  // w * (x * inv) * silu(gate)
};

/// Sum over the TEAM consecutive threads of a team; every member gets it.
/// `scratch`: one float per warp of the block. All threads of the block
/// must call it when TEAM > warp size (it synchronizes).
template <int TEAM> BRAID_DEVICE float teamSum(float v, float *scratch) {
  if constexpr (TEAM <= kWarpSize) {
    return groupSum<TEAM>(v);
  } else {
    constexpr int W = TEAM / kWarpSize;
    v = warpSum(v);
    const int firstWarp = (threadId() / TEAM) * W;
    if (laneId() == 0)
      scratch[warpId()] = v;
    syncThreads();
    float t = 0.0f;
#pragma unroll
    for (int i = 0; i < W; ++i)
      t += scratch[firstWarp + i];
    syncThreads();
    return t;
  }
}

template <NormKind KIND, typename TX, typename TW, typename TO, int G,
          int GROUPS, int TEAM, int V, bool HasW, bool HasB>
BRAID_DEVICE void rowNorm(const TX *x, const TX *gate, const TW *w,
                          const TW *b, TO *y, int64_t rows, float eps) {
  static_assert(G % V == 0, "row length must be a multiple of the vector");
  constexpr int CHUNKS = G / V;
  constexpr int PER = ceilDiv(CHUNKS, TEAM);
  __shared__ float scratch[1024 / kWarpSize];
  const int teams = blockSize() / TEAM;
  const int team = threadId() / TEAM, member = threadId() % TEAM;
  const float invG = 1.0f / static_cast<float>(G);

  // The loop bound is uniform over the block (teamSum synchronizes).
  for (int64_t base = static_cast<int64_t>(blockIdX()) * teams; base < rows;
       base += static_cast<int64_t>(gridDimX()) * teams) {
    const int64_t row = base + team;
    const bool live = row < rows;
    const int64_t off = (live ? row : 0) * G;
    const int wOff = static_cast<int>((live ? row : 0) % GROUPS) * G;

    float v[PER][V];
    float ss = 0.0f, sum = 0.0f;
#pragma unroll
    for (int p = 0; p < PER; ++p) {
      const int c = p * TEAM + member;
      if (live && c < CHUNKS) {
        loadVec<V>(x + off + c * V, v[p]);
        if constexpr (KIND == NormKind::GatedAfter) {
          float g[V];
          loadVec<V>(gate + off + c * V, g);
#pragma unroll
          for (int i = 0; i < V; ++i)
            v[p][i] = v[p][i] * siluF(g[i]);
        }
      } else {
#pragma unroll
        for (int i = 0; i < V; ++i)
          v[p][i] = 0.0f;
      }
#pragma unroll
      for (int i = 0; i < V; ++i) {
        ss = fmaf(v[p][i], v[p][i], ss);
        sum += v[p][i];
      }
    }

    float mean = 0.0f, inv;
    if constexpr (KIND == NormKind::Layer) {
      mean = teamSum<TEAM>(sum, scratch) * invG;
      float sq = 0.0f;
#pragma unroll
      for (int p = 0; p < PER; ++p) {
        const int c = p * TEAM + member;
        if (live && c < CHUNKS)
#pragma unroll
          for (int i = 0; i < V; ++i) {
            const float d = v[p][i] - mean;
            sq = fmaf(d, d, sq);
          }
      }
      inv = 1.0f / sqrtf(teamSum<TEAM>(sq, scratch) * invG + eps);
    } else {
      inv = 1.0f / sqrtf(teamSum<TEAM>(ss, scratch) * invG + eps);
    }

#pragma unroll
    for (int p = 0; p < PER; ++p) {
      const int c = p * TEAM + member;
      if (!live || c >= CHUNKS)
        continue;
      float o[V], wv[V];
      if constexpr (HasW)
        loadVec<V>(w + wOff + c * V, wv);
      if constexpr (KIND == NormKind::Layer) {
        float bv[V];
        if constexpr (HasB)
          loadVec<V>(b + wOff + c * V, bv);
#pragma unroll
        for (int i = 0; i < V; ++i) {
          float t = (v[p][i] - mean) * inv;
          if constexpr (HasW)
            t *= wv[i];
          if constexpr (HasB)
            t += bv[i];
          o[i] = t;
        }
      } else if constexpr (KIND == NormKind::GatedFirst) {
        float g[V];
        loadVec<V>(gate + off + c * V, g);
#pragma unroll
        for (int i = 0; i < V; ++i)
          o[i] = wv[i] * (v[p][i] * inv) * siluF(g[i]);
      } else if constexpr (HasW) {
#pragma unroll
        for (int i = 0; i < V; ++i)
          o[i] = wv[i] * (v[p][i] * inv);
      } else { // the weight is folded into the next GEMM's columns
#pragma unroll
        for (int i = 0; i < V; ++i)
          o[i] = v[p][i] * inv;
      }
      storeVec<V>(y + off + c * V, o);
    }
  }
}

/// rowSums[m][g] = the sum of y[m][n]^2 over the 128 columns n of group g
/// (the last group may be short): the row statistics a launch writes for a
/// next launch that folds an rms_norm (attribute `row_sumsq`; its GEMM
/// engine could not sum them in its epilogue). A half warp takes one (row,
/// group), 8 columns a lane; a warp (wave) takes kWarpSize / 16 of them
/// together, so that its shuffles stay converged.
template <typename T, int N>
BRAID_DEVICE void rowSumSq(const T *y, float *rowSums, int64_t rows) {
  constexpr int G = ceilDiv(N, 128), PER = kWarpSize / 16;
  const int lane = laneId();
  const int64_t items = rows * G;
  const int64_t warps =
      static_cast<int64_t>(gridDimX()) * (blockSize() / kWarpSize);
  for (int64_t w =
           static_cast<int64_t>(blockIdX()) * (blockSize() / kWarpSize) +
           threadId() / kWarpSize;
       PER * w < items; w += warps) {
    const int64_t item = PER * w + (lane >> 4);
    const int64_t m = item / G;
    const int n0 = static_cast<int>(item % G) * 128 + (lane & 15) * 8;
    float sum = 0.0f;
    if (item < items)
#pragma unroll
      for (int i = 0; i < 8; ++i)
        if (n0 + i < N) {
          const float v = toFloat(y[m * N + n0 + i]);
          sum = fmaf(v, v, sum);
        }
#pragma unroll
    for (int d = 1; d < 16; d *= 2)
      sum += shflXor(sum, d);
    if ((lane & 15) == 0 && item < items)
      rowSums[item] = sum;
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_NORMS_CUH
