/*===- kernel_abi.h - how GPU kernels of a bundle receive a launch ---------===*
 *
 * Shared by the device kernel templates (targets/common/kernels/), the CUDA
 * and HIP emitters (which instantiate them) and the GPU runtime backends
 * (which launch them). Plain C so that device and host code of both vendors
 * include it.
 *
 * Every generated kernel has the signature
 *
 *   extern "C" __global__ void <name>(BraidKernelParams params);
 *
 * and begins with BRAID_KERNEL_PROLOGUE(); (targets/common/kernels/
 * Portability.cuh), before any global memory access: on sm_90+ the next
 * kernel may start while the previous one runs (docs/cuda.md).
 *
 * `buffers` holds the launch's operands then its results, in the order of
 * the manifest's "operands" and "results" (docs/bundle.md), as device
 * pointers; an absent optional operand is NULL. A state that is both operand
 * and result appears twice with the same pointer. Shapes are compile-time
 * constants of the specialized kernel except the symbolic dimensions, which
 * come at run time: `batch` (B), `tokens` (T) and `max_seq` (S).
 * `cache_position` mirrors the entry input of that name (int64 [B]) for the
 * kernels that need it without an explicit operand; `workspace` is scratch
 * memory of the size the manifest asks for (docs/cuda.md), valid for the
 * duration of the launch only.
 *
 * A kernel whose manifest entry lists "tensor_maps" (NVIDIA sm_90+: loads
 * through the tensor memory accelerator) takes a second parameter,
 *
 *   extern "C" __global__ void <name>(BraidKernelParams params,
 *       const __grid_constant__ BraidTensorMaps maps);
 *
 * whose maps[i] the runtime encodes (cuTensorMapEncodeTiled) for the i-th
 * entry of that list, on the buffer and extents it names, before each
 * launch (docs/cuda.md, "Tensor maps").
 *===----------------------------------------------------------------------===*/
#ifndef BRAID_KERNEL_ABI_H
#define BRAID_KERNEL_ABI_H

#include <stdint.h>

#define BRAID_MAX_KERNEL_BUFFERS 24

typedef struct BraidKernelParams {
  void *buffers[BRAID_MAX_KERNEL_BUFFERS];
  void *workspace;
  const int64_t *cache_position;
  int64_t batch;   /* B */
  int64_t tokens;  /* T */
  int64_t max_seq; /* S */
} BraidKernelParams;

#define BRAID_MAX_TENSOR_MAPS 4

/* One CUtensorMap: 128 opaque bytes (aligned to 128 as cuda.h 13 declares
 * it; the TMA unit needs 64). */
typedef struct BraidTensorMap {
#if defined(__cplusplus)
  alignas(128)
#else
  _Alignas(128)
#endif
      uint64_t words[16];
} BraidTensorMap;

typedef struct BraidTensorMaps {
  BraidTensorMap maps[BRAID_MAX_TENSOR_MAPS];
} BraidTensorMaps;

#endif /* BRAID_KERNEL_ABI_H */
