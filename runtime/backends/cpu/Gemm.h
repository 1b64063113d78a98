//===- Gemm.h - the fp32 matrix engine of the CPU backend --------*- C++
//-*-===//
//
// y[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n]) (+ y[m, n]): rows of x times
// rows of w, the layout of every braid projection (weights are
// [out_features, in_features]). Used by linear, the scans' projections, MoE
// experts, MLA's key/value reconstruction and concat_proj merges.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CPU_GEMM_H
#define BRAID_RUNTIME_BACKENDS_CPU_GEMM_H

#include "runtime/backends/cpu/CpuKernels.h"

namespace braid::rt::cpu {

struct GemmArgs {
  int64_t M = 0, N = 0, K = 0;
  const float *x = nullptr; // [M, K], row stride ldx
  int64_t ldx = 0;
  const float *w = nullptr; // [N, K], row stride ldw
  int64_t ldw = 0;
  const float *bias = nullptr; // [N] or null
  float *y = nullptr;          // [M, N], row stride ldy
  int64_t ldy = 0;
  bool accumulate = false; // y += x w^T (+ bias) instead of y =
};

/// Runs one GEMM, split over the pool's threads (pool may be null).
void gemm(ThreadPool *pool, const GemmArgs &args);

/// The micro-kernel variant in use: "avx512", "avx2" or "generic".
const char *gemmVariant();
/// Forces a variant (tests and benchmarks compare them); "" restores the
/// automatic choice. False when this CPU cannot run the named variant.
bool selectGemmVariant(std::string_view name);

} // namespace braid::rt::cpu

#endif // BRAID_RUNTIME_BACKENDS_CPU_GEMM_H
