//===- Rope.cuh - rotary position embedding --------------------------------===//
//
// x [tokens, H, D] with positions [tokens] (int64): the first ROT channels
// of every head rotate in pairs (halves, or neighbours when interleaved) by
// position * invFreq[i]; the rest pass through. One thread per work item
// (a rotated pair, or a passed-through channel), grid-stride.
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

template <typename TI, typename TO, int H, int D, int ROT, bool Interleaved>
BRAID_DEVICE void ropeMap(const TI *x, const int64_t *positions, TO *y,
                          int64_t tokens, const float *invFreq) {
  static_assert(ROT % 2 == 0 && ROT <= D, "rotary_dim must be even, <= D");
  constexpr int HALF = ROT / 2;
  constexpr int P = HALF + (D - ROT); // work items per head
  const int64_t total = tokens * H * P;
  for (int64_t item = globalThreadId(); item < total;
       item += globalThreadCount()) {
    const int64_t row = item / P; // token * H + head
    const int i = static_cast<int>(item - row * P);
    const int64_t base = row * D;
    if (i < HALF) {
      const int64_t t = row / H;
      const float angle = static_cast<float>(positions[t]) * invFreq[i];
      float s, c;
      sincosf(angle, &s, &c);
      const int ia = Interleaved ? 2 * i : i;
      const int ib = Interleaved ? 2 * i + 1 : i + HALF;
      const float a = toFloat(x[base + ia]), b = toFloat(x[base + ib]);
      y[base + ia] = fromFloat<TO>(a * c - b * s);
      y[base + ib] = fromFloat<TO>(b * c + a * s);
    } else {
      const int ch = ROT + (i - HALF);
      y[base + ch] = fromFloat<TO>(toFloat(x[base + ch]));
    }
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_ROPE_CUH
