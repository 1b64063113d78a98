//===- Embedding.cuh - token embedding gather -------------------------------===//
//
// y[t, :] = table[ids[t], :] with 16-byte copies: one thread per V-element
// chunk of an output row, grid-stride over tokens * HIDDEN / V. An id
// outside [0, VOCAB) yields a zero row (the runtime validates ids on the
// host; the kernel never reads out of bounds).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_EMBEDDING_CUH
#define BRAID_TARGETS_COMMON_KERNELS_EMBEDDING_CUH

#include "targets/common/kernels/DenseCommon.cuh"

namespace braid {
namespace dev {

template <typename TT, typename TO, int VOCAB, int HIDDEN, int V>
BRAID_DEVICE void embeddingGather(const int64_t *ids, const TT *table, TO *y,
                                  int64_t tokens) {
  static_assert(HIDDEN % V == 0, "hidden must be a multiple of V");
  constexpr int CPR = HIDDEN / V;
  const int64_t total = tokens * CPR;
  for (int64_t i = globalThreadId(); i < total; i += globalThreadCount()) {
    const int64_t t = i / CPR;
    const int c = static_cast<int>(i - t * CPR) * V;
    const int64_t id = ids[t];
    float v[V];
    if (id >= 0 && id < VOCAB) {
      loadVec<V>(table + id * HIDDEN + c, v);
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j)
        v[j] = 0.0f;
    }
    storeVec<V>(y + t * HIDDEN + c, v);
  }
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_EMBEDDING_CUH
