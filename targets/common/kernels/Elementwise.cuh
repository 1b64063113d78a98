//===- Elementwise.cuh - activation, add, mul, scale ----------------------===//
//
// Memory-bound maps: each thread handles V consecutive elements per step
// (one 16-byte access per operand when the specializer can prove the
// alignment, V = 1 otherwise) in a grid-stride loop, converting to fp32,
// computing in fp32 and converting back. The element count is n (a
// multiple of V).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_ELEMENTWISE_CUH
#define BRAID_TARGETS_COMMON_KERNELS_ELEMENTWISE_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

/// y = act(x).
template <Act A, int V, typename TI, typename TO>
BRAID_DEVICE void activationMap(const TI *x, TO *y, int64_t n) {
  for (int64_t i = globalThreadId() * V; i < n; i += globalThreadCount() * V) {
    float v[V];
    loadVec<V>(x + i, v);
#pragma unroll
    for (int j = 0; j < V; ++j)
      v[j] = activate<A>(v[j]);
    storeVec<V>(y + i, v);
  }
}

enum class BinaryOp : int { Add = 0, Mul };

/// y = lhs op rhs; rhs has INNER elements repeated over the leading dims
/// (INNER = 0: rhs has the shape of lhs). INNER is a multiple of V.
template <BinaryOp OP, int INNER, int V, typename TA, typename TB, typename TO>
BRAID_DEVICE void binaryMap(const TA *a, const TB *b, TO *y, int64_t n) {
  static_assert(INNER % V == 0, "broadcast period must be a multiple of V");
  for (int64_t i = globalThreadId() * V; i < n; i += globalThreadCount() * V) {
    float va[V], vb[V];
    loadVec<V>(a + i, va);
    const int64_t bi = INNER ? i % (INNER ? INNER : 1) : i;
    loadVec<V>(b + bi, vb);
#pragma unroll
    for (int j = 0; j < V; ++j)
      va[j] = OP == BinaryOp::Add ? va[j] + vb[j] : va[j] * vb[j];
    storeVec<V>(y + i, va);
  }
}

/// y = x * factor (PyTorch multiplies an fp32 tensor by a Python float in
/// fp32).
template <int V, typename TI, typename TO>
BRAID_DEVICE void scaleMap(const TI *x, TO *y, int64_t n, float factor) {
  for (int64_t i = globalThreadId() * V; i < n; i += globalThreadCount() * V) {
    float v[V];
    loadVec<V>(x + i, v);
#pragma unroll
    for (int j = 0; j < V; ++j)
      v[j] = v[j] * factor;
    storeVec<V>(y + i, v);
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_ELEMENTWISE_CUH
