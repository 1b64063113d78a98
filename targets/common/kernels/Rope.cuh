//===- Rope.cuh - rotary position embedding --------------------------------===//
//
// x [tokens, H, D] with positions [tokens] (int64): the first ROT channels
// of every head rotate in pairs (halves, or neighbours when interleaved) by
// position * invFreq[i]; the rest pass through.
//
// One thread per token, group of HG heads and vector of V channels (one
// 16-byte access where D and the rotary halves allow): it computes the
// V angles once for its HG heads, loads the HG vectors (and, in a rotated
// half, the partner vectors from the other half: the same cache lines as
// the neighbouring threads' loads, so DRAM sees every input once) before
// it stores any. A warp covers whole rows: 16 vectors of a bf16 row of 128.
//
// invFreq[i] = 1 / theta^(2i / ROT) comes from the specializer as a table of
// fp32 constants computed on the host exactly as the CPU reference does, so
// the angle position * invFreq[i] is bit-identical to the reference and
// only cosf/sinf (full-range, not the fast intrinsics) differ by an ulp.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_ROPE_CUH
#define BRAID_TARGETS_COMMON_KERNELS_ROPE_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

template <typename TI, typename TO, int H, int D, int ROT, bool Interleaved,
          int V, int HG>
BRAID_DEVICE void ropeMap(const TI *x, const int64_t *positions, TO *y,
                          int64_t tokens, const float *invFreq) {
  static_assert(ROT % 2 == 0 && ROT <= D, "rotary_dim must be even, <= D");
  constexpr int HALF = ROT / 2;
  static_assert(D % V == 0 && H % HG == 0, "V must divide D, HG divide H");
  static_assert(Interleaved ? ROT % V == 0 : HALF % V == 0,
                "a vector must not straddle a rotary half");
  constexpr int NV = D / V, NG = H / HG;
  const int64_t item =
      static_cast<int64_t>(blockIdX()) * blockSize() + threadId();
  if (item >= tokens * NG * NV)
    return;
  const int c0 = static_cast<int>(item % NV) * V;
  const int64_t rest = item / NV;
  const int64_t t = rest / NG;
  const int64_t base = (t * H + (rest - t * NG) * HG) * D + c0;

  float v[HG][V];
  if (c0 >= ROT) { // pass-through channels
#pragma unroll
    for (int h = 0; h < HG; ++h)
      loadVec<V>(x + base + h * D, v[h]);
#pragma unroll
    for (int h = 0; h < HG; ++h)
      storeVec<V>(y + base + h * D, v[h]);
    return;
  }

  // Element e pairs with the partner value p (the other of its pair):
  // out = x * cos - p * sin for the first of a pair, x * cos + p * sin for
  // the second. Partners sit in the other half (non-interleaved), in the
  // same vector (interleaved, V >= 2) or the neighbouring element (V == 1).
  constexpr bool OwnVector = Interleaved && V >= 2;
  const bool second = Interleaved ? (V == 1 && (c0 & 1)) : c0 >= HALF;
  const int partner = Interleaved ? (c0 ^ 1) : (second ? c0 - HALF : c0 + HALF);
  float p[OwnVector ? 1 : HG][V];
#pragma unroll
  for (int h = 0; h < HG; ++h) {
    loadVec<V>(x + base + h * D, v[h]);
    if constexpr (!OwnVector)
      loadVec<V>(x + base - c0 + partner + h * D, p[h]);
  }
  const float pos = static_cast<float>(positions[t]);
  float cs[V], sn[V];
  bool first[V];
#pragma unroll
  for (int e = 0; e < V; ++e) {
    const int ch = c0 + e;
    const int i = Interleaved ? ch / 2 : (second ? ch - HALF : ch);
    first[e] = Interleaved ? (ch & 1) == 0 : !second;
    sincosf(pos * invFreq[i], &sn[e], &cs[e]);
  }
#pragma unroll
  for (int h = 0; h < HG; ++h) {
    float out[V];
#pragma unroll
    for (int e = 0; e < V; ++e) {
      const float pe = OwnVector ? v[h][e ^ 1] : p[OwnVector ? 0 : h][e];
      out[e] = first[e] ? v[h][e] * cs[e] - pe * sn[e]
                        : v[h][e] * cs[e] + pe * sn[e];
    }
    storeVec<V>(y + base + h * D, out);
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_ROPE_CUH
