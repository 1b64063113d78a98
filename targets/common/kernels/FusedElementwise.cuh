//===- FusedElementwise.cuh - helpers of the fused_elementwise kernels ----===//
//
// The kernels themselves are written by the specializer
// (SpecializersFused.cpp): each launch's expression program becomes
// straight-line code in a kernel specialized to the region's loop sizes,
// maps and reduction. These are the operations the generated code calls,
// with the semantics of targets/common/kernels/ElementwiseProgram.h (the CPU
// interpreter's), and the warp-level combine of the reductions.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_FUSEDELEMENTWISE_CUH
#define BRAID_TARGETS_COMMON_KERNELS_FUSEDELEMENTWISE_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {
namespace ew {

/// max / min that propagate NaN (ONNX Max/Min, arith.maximumf); a + b is
/// NaN when either is.
BRAID_DEVICE float maxNan(float a, float b) {
  return (a != a || b != b) ? a + b : (a > b ? a : b);
}
BRAID_DEVICE float minNan(float a, float b) {
  return (a != a || b != b) ? a + b : (a < b ? a : b);
}
BRAID_DEVICE float flag(bool c) { return c ? 1.0f : 0.0f; }

enum class Reduce : int { Sum = 0, Max, Min, Prod };

template <Reduce R> BRAID_DEVICE float combine(float acc, float v) {
  if constexpr (R == Reduce::Sum)
    return acc + v;
  else if constexpr (R == Reduce::Prod)
    return acc * v;
  else if constexpr (R == Reduce::Max)
    return maxNan(acc, v);
  else
    return minNan(acc, v);
}

/// Butterfly combine across the warp (wave on AMD); every lane gets the
/// result. All lanes of the warp must call it.
template <Reduce R> BRAID_DEVICE float warpCombine(float v) {
#pragma unroll
  for (int m = kWarpSize / 2; m > 0; m >>= 1)
    v = combine<R>(v, shflXor(v, m));
  return v;
}

} // namespace ew
} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_FUSEDELEMENTWISE_CUH
