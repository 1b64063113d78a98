//===- Structure.cuh - split, concat, gather_last, merge --------------------===//
//
// split / concat move V-element chunks along one axis of a row-major tensor
// viewed as [outer, AXIS * INNER]: one thread per chunk, grid-stride; the
// piece a chunk belongs to is found by comparisons against compile-time
// offsets, so piece pointers are only ever indexed by constants (the
// specializer emits one splitPiece / concatPiece call per piece in a
// lambda). V divides every piece's run (size * INNER).
//
// gather_last copies each sequence's last row (prefill_last's tail input).
//
// merge: sum / mean of branches with compile-time multipliers is a map;
// `attention` is a per-row softmax over the branches' scores against a
// weight vector, one team of threads per row as in Norms.cuh; concat_proj
// is a GEMM (ConcatProjOps in Gemm.cuh).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_STRUCTURE_CUH
#define BRAID_TARGETS_COMMON_KERNELS_STRUCTURE_CUH

#include "targets/common/kernels/Norms.cuh"

namespace braid {
namespace dev {

/// Calls f(o, r) for every chunk (row o of the outer dims, element r of the
/// ROW = AXIS * INNER elements of that row, r a multiple of V).
template <int V, int ROW, class F>
BRAID_DEVICE void chunkMap(int64_t outer, F f) {
  static_assert(ROW % V == 0, "row must be a multiple of V");
  constexpr int CPR = ROW / V;
  const int64_t total = outer * CPR;
  for (int64_t i = globalThreadId(); i < total; i += globalThreadCount()) {
    const int64_t o = i / CPR;
    f(o, static_cast<int>(i - o * CPR) * V);
  }
}

/// Split: the chunk at (o, r) of the input goes to piece [OFF, OFF + SIZE)
/// (in units of the axis) when it lies there.
template <int V, int INNER, int OFF, int SIZE, typename TO>
BRAID_DEVICE void splitPiece(TO *out, int64_t o, int r, const float (&v)[V]) {
  constexpr int lo = OFF * INNER, hi = (OFF + SIZE) * INNER;
  if (r >= lo && r < hi)
    storeVec<V>(out + o * (SIZE * INNER) + (r - lo), v);
}

/// Concat: the output chunk at (o, r) comes from this input when it lies in
/// [OFF, OFF + SIZE).
template <int V, int INNER, int OFF, int SIZE, typename TI>
BRAID_DEVICE void concatPiece(const TI *in, int64_t o, int r, float (&v)[V]) {
  constexpr int lo = OFF * INNER, hi = (OFF + SIZE) * INNER;
  if (r >= lo && r < hi)
    loadVec<V>(in + o * (SIZE * INNER) + (r - lo), v);
}

/// gather_last: y[b, 0, :] = x[b, tokens - 1, :] for each of the `batch`
/// sequences of a [batch, tokens, H] input, V elements per thread and chunk.
template <int V, int H, typename T>
BRAID_DEVICE void gatherLast(const T *x, T *y, int64_t batch, int64_t tokens) {
  chunkMap<V, H>(batch, [&](int64_t b, int r) {
    float v[V];
    loadVec<V>(x + (b * tokens + tokens - 1) * H + r, v);
    storeVec<V>(y + b * H + r, v);
  });
}

/// Plain map over n elements (n a multiple of V): f(i) for chunk starts i.
template <int V, class F> BRAID_DEVICE void elementMap(int64_t n, F f) {
  for (int64_t i = globalThreadId() * V; i < n; i += globalThreadCount() * V)
    f(i);
}

/// s += m * x[0..V) (merge sum / mean, in the reference's order).
template <int V, typename TI>
BRAID_DEVICE void addScaled(float (&s)[V], const TI *x, float m) {
  float v[V];
  loadVec<V>(x, v);
#pragma unroll
  for (int j = 0; j < V; ++j)
    s[j] += m * v[j];
}

/// merge attention: per row r of H channels, scores s_b = branch_b[r] . w,
/// p = softmax(s), y[r] = sum_b p_b * branch_b[r]. One team per row.
template <int NB, int H, int TEAM, int V, typename TI, typename TW,
          typename TO>
BRAID_DEVICE void mergeAttention(const TI *const (&br)[NB], const TW *w,
                                 TO *y, int64_t rows) {
  static_assert(H % V == 0, "hidden must be a multiple of V");
  constexpr int CHUNKS = H / V;
  constexpr int PER = ceilDiv(CHUNKS, TEAM);
  __shared__ float scratch[1024 / kWarpSize];
  const int teams = blockSize() / TEAM;
  const int team = threadId() / TEAM, member = threadId() % TEAM;
  for (int64_t base = static_cast<int64_t>(blockIdX()) * teams; base < rows;
       base += static_cast<int64_t>(gridDimX()) * teams) {
    const int64_t row = base + team;
    const bool live = row < rows;
    const int64_t off = (live ? row : 0) * H;
    float score[NB];
#pragma unroll
    for (int b = 0; b < NB; ++b) {
      float d = 0.0f;
#pragma unroll
      for (int p = 0; p < PER; ++p) {
        const int c = p * TEAM + member;
        if (live && c < CHUNKS) {
          float xv[V], wv[V];
          loadVec<V>(br[b] + off + c * V, xv);
          loadVec<V>(w + c * V, wv);
#pragma unroll
          for (int i = 0; i < V; ++i)
            d = fmaf(xv[i], wv[i], d);
        }
      }
      score[b] = teamSum<TEAM>(d, scratch);
    }
    float top = score[0];
#pragma unroll
    for (int b = 1; b < NB; ++b)
      top = fmaxf(top, score[b]);
    float sum = 0.0f;
#pragma unroll
    for (int b = 0; b < NB; ++b) {
      score[b] = expf(score[b] - top);
      sum += score[b];
    }
#pragma unroll
    for (int b = 0; b < NB; ++b)
      score[b] = score[b] / sum;
#pragma unroll
    for (int p = 0; p < PER; ++p) {
      const int c = p * TEAM + member;
      if (!live || c >= CHUNKS)
        continue;
      float o[V];
#pragma unroll
      for (int i = 0; i < V; ++i)
        o[i] = 0.0f;
#pragma unroll
      for (int b = 0; b < NB; ++b)
        addScaled<V>(o, br[b] + off + c * V, score[b]);
      storeVec<V>(y + off + c * V, o);
    }
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_STRUCTURE_CUH
