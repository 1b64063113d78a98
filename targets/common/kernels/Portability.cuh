//===- Portability.cuh - the vendor layer under Braid's kernel templates --===//
//
// Every device template in targets/common/kernels/ is written against this
// header only: thread/warp ids, the warp (wavefront) size, shuffles and warp
// reductions, barriers, asynchronous global->shared copies, 16-bit float
// conversions and the matrix instructions, for both vendors behind the same
// names: NVIDIA (warp 32, shfl.sync, cp.async, mma.sync / wgmma) and AMD
// CDNA (wave 64, __shfl_xor lowered to ds_bpermute / DPP, plain loads into
// LDS, MFMA). Outside this file no kernel hard-codes the warp size: it is
// kWarpSize, and templates whose layout depends on it read it from here.
//
// Namespace braid::dev. All functions are __device__ __forceinline__.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_PORTABILITY_CUH
#define BRAID_TARGETS_COMMON_KERNELS_PORTABILITY_CUH

#include "runtime/include/braid/kernel_abi.h"

#include <stdint.h>
#include <type_traits>

#if defined(__HIP__)
#define BRAID_HIP 1
#include <hip/hip_runtime.h>
#elif defined(__CUDACC__)
#define BRAID_CUDA 1
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#else
#error "Portability.cuh: compile with nvcc (CUDA) or clang -x hip (HIP)"
#endif
#ifndef __align__
#define __align__(n) __attribute__((aligned(n)))
#endif

#define BRAID_DEVICE __device__ __forceinline__
#define BRAID_HOST_DEVICE __host__ __device__ __forceinline__

#if defined(__CUDA_ARCH__)
#define BRAID_ARCH __CUDA_ARCH__
#else
#define BRAID_ARCH 0
#endif

#if defined(BRAID_HIP)
// CDNA generations: gfx90a (CDNA2), gfx942 (CDNA3), gfx950 (CDNA4). All run
// wave64; the device pass defines exactly one of these macros.
#if defined(__gfx950__)
#define BRAID_CDNA 4
#elif defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__)
#define BRAID_CDNA 3
#else
#define BRAID_CDNA 2
#endif
#endif

// cp.async (global->shared without registers) exists from sm_80 on.
#if defined(BRAID_CUDA) && (BRAID_ARCH >= 800 || BRAID_ARCH == 0)
#define BRAID_HAS_CP_ASYNC 1
#endif
// wgmma needs the arch-specific sm_90a target.
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define BRAID_HAS_WGMMA 1
#endif

namespace braid {
namespace dev {

//===----------------------------------------------------------------------===//
// Warp size and ids
//===----------------------------------------------------------------------===//

/// Threads that run in lock step and share registers through shuffles:
/// 32 on NVIDIA, 64 on AMD CDNA (wave64; the HIP build passes
/// -D__AMDGCN_WAVEFRONT_SIZE=64 for the old headers).
#if defined(BRAID_HIP)
constexpr int kWarpSize = 64;
#else
constexpr int kWarpSize = 32;
#endif
/// Full-warp lane mask for the *_sync intrinsics (NVIDIA only).
constexpr unsigned kFullMask = 0xffffffffu;

BRAID_DEVICE int threadId() { return threadIdx.x; }
BRAID_DEVICE int blockSize() { return blockDim.x; }
BRAID_DEVICE int laneId() { return threadIdx.x % kWarpSize; }
BRAID_DEVICE int warpId() { return threadIdx.x / kWarpSize; }
BRAID_DEVICE int warpCount() { return blockDim.x / kWarpSize; }
BRAID_DEVICE int blockIdX() { return blockIdx.x; }
BRAID_DEVICE int blockIdY() { return blockIdx.y; }
BRAID_DEVICE int blockIdZ() { return blockIdx.z; }
BRAID_DEVICE int gridDimX() { return gridDim.x; }
BRAID_DEVICE int gridDimY() { return gridDim.y; }

//===----------------------------------------------------------------------===//
// Barriers and fences
//===----------------------------------------------------------------------===//

#if defined(BRAID_HIP)
// HIP 5.2's __syncthreads calls an OpenCL fence that the Debian device
// libraries do not define; these are the same workgroup fences and
// s_barrier through the compiler's builtins.
BRAID_DEVICE void syncThreads() {
  __builtin_amdgcn_fence(__ATOMIC_RELEASE, "workgroup");
  __builtin_amdgcn_s_barrier();
  __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "workgroup");
}
BRAID_DEVICE void threadFence() {
  __builtin_amdgcn_fence(__ATOMIC_SEQ_CST, "agent");
}
// A wavefront executes in lock step; only the compiler must not reorder.
BRAID_DEVICE void syncWarp() { __builtin_amdgcn_wave_barrier(); }
#else
BRAID_DEVICE void syncThreads() { __syncthreads(); }
BRAID_DEVICE void syncWarp() { __syncwarp(); }
BRAID_DEVICE void threadFence() { __threadfence(); }
#endif

/// A load of data other blocks of the running grid wrote (after their
/// threadFence() and an atomic this block saw, then its own threadFence()):
/// from L2 on CUDA, where an SM's L1 may hold a line read before the writes;
/// on AMD the agent-scope fence already invalidated the L1.
template <typename T> BRAID_DEVICE T loadFromL2(const T *p) {
#if defined(BRAID_HIP)
  return *p;
#else
  return __ldcg(p);
#endif
}

//===----------------------------------------------------------------------===//
// Programmatic dependent launch (CUDA sm_90+)
//===----------------------------------------------------------------------===//

// On sm_90+ the CUDA runtime launches every kernel with programmatic stream
// serialization (runtime/backends/cuda/CudaBackend.cpp): a kernel may be
// scheduled once every block of the previous kernel on the stream has called
// allowDependentLaunch(), i.e. while that kernel still runs. Without a launch
// of that kind (sm_80, BRAID_NO_PDL=1, a test harness) both are no-ops.

/// Waits until the previous kernel of the stream has completed and its
/// memory operations are visible. No global read or write may come before:
/// the previous kernel may still be writing what this one reads, or reading
/// what it overwrites.
BRAID_DEVICE void waitForPrerequisiteGrids() {
#if defined(BRAID_CUDA) && BRAID_ARCH >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
/// Lets the next kernel of the stream be scheduled (it still waits in its
/// own waitForPrerequisiteGrids() until this one has completed).
BRAID_DEVICE void allowDependentLaunch() {
#if defined(BRAID_CUDA) && BRAID_ARCH >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

//===----------------------------------------------------------------------===//
// Shuffles and warp reductions
//===----------------------------------------------------------------------===//

#if defined(BRAID_HIP)
// HIP's shuffles take no mask (the whole wave is active) and lower to
// ds_bpermute_b32 / ds_swizzle / DPP; the width is the wave.
template <typename V> BRAID_DEVICE V shflXor(V v, int laneMask) {
  return __shfl_xor(v, laneMask, kWarpSize);
}
template <typename V> BRAID_DEVICE V shflDown(V v, int delta) {
  return __shfl_down(v, delta, kWarpSize);
}
template <typename V> BRAID_DEVICE V shflUp(V v, int delta) {
  return __shfl_up(v, delta, kWarpSize);
}
template <typename V> BRAID_DEVICE V shflIdx(V v, int srcLane) {
  return __shfl(v, srcLane, kWarpSize);
}
#else
template <typename V> BRAID_DEVICE V shflXor(V v, int laneMask) {
  return __shfl_xor_sync(kFullMask, v, laneMask, kWarpSize);
}
template <typename V> BRAID_DEVICE V shflDown(V v, int delta) {
  return __shfl_down_sync(kFullMask, v, delta, kWarpSize);
}
template <typename V> BRAID_DEVICE V shflUp(V v, int delta) {
  return __shfl_up_sync(kFullMask, v, delta, kWarpSize);
}
template <typename V> BRAID_DEVICE V shflIdx(V v, int srcLane) {
  return __shfl_sync(kFullMask, v, srcLane, kWarpSize);
}
#endif

/// Butterfly sum: every lane gets the warp's total.
BRAID_DEVICE float warpSum(float v) {
#pragma unroll
  for (int m = kWarpSize / 2; m > 0; m >>= 1)
    v += shflXor(v, m);
  return v;
}
BRAID_DEVICE float warpMax(float v) {
#pragma unroll
  for (int m = kWarpSize / 2; m > 0; m >>= 1)
    v = fmaxf(v, shflXor(v, m));
  return v;
}
/// Warp-wide argmax with ties to the lower index (MoE routing, greedy_next).
BRAID_DEVICE void warpArgMax(float &v, int &i) {
#pragma unroll
  for (int m = kWarpSize / 2; m > 0; m >>= 1) {
    float ov = shflXor(v, m);
    int oi = shflXor(i, m);
    if (ov > v || (ov == v && oi < i)) {
      v = ov;
      i = oi;
    }
  }
}
/// Sum of `Width` consecutive lanes (a power of two dividing the warp).
template <int Width> BRAID_DEVICE float groupSum(float v) {
  static_assert(Width > 0 && Width <= kWarpSize && (Width & (Width - 1)) == 0,
                "groupSum: width must be a power of two <= warp size");
#pragma unroll
  for (int m = Width / 2; m > 0; m >>= 1)
    v += shflXor(v, m);
  return v;
}

/// Block-wide sum of one float per thread; every thread gets the total.
/// `scratch` holds at least kWarpSize floats of shared memory. Contains two
/// barriers; all threads of the block must call it.
BRAID_DEVICE float blockSum(float v, float *scratch) {
  v = warpSum(v);
  const int warps = warpCount();
  if (warps == 1)
    return v;
  if (laneId() == 0)
    scratch[warpId()] = v;
  syncThreads();
  float t = laneId() < warps ? scratch[laneId()] : 0.f;
  t = warpSum(t);
  syncThreads(); // scratch may be reused right after
  return t;
}
BRAID_DEVICE float blockMax(float v, float *scratch) {
  v = warpMax(v);
  const int warps = warpCount();
  if (warps == 1)
    return v;
  if (laneId() == 0)
    scratch[warpId()] = v;
  syncThreads();
  float t = laneId() < warps ? scratch[laneId()] : -INFINITY;
  t = warpMax(t);
  syncThreads();
  return t;
}

//===----------------------------------------------------------------------===//
// Element types: bf16 / f16 / f32 storage, fp32 arithmetic
//===----------------------------------------------------------------------===//

#if defined(BRAID_HIP)
// bf16 as storage only (all arithmetic is fp32): a 16-bit pattern with
// round-to-nearest-even conversion, so that the same bits come out as on
// NVIDIA. Debian's HIP 5.2 headers predate a usable device bf16 type.
struct bf16 {
  uint16_t bits;
};
struct bf16x2 {
  uint32_t bits;
};
using f16 = _Float16;

BRAID_DEVICE float toFloat(float v) { return v; }
BRAID_DEVICE float toFloat(bf16 v) {
  return __uint_as_float(uint32_t(v.bits) << 16);
}
BRAID_DEVICE float toFloat(f16 v) { return float(v); }

BRAID_DEVICE uint16_t bf16Bits(float v) {
  const uint32_t u = __float_as_uint(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN stays a quiet NaN
    return uint16_t((u >> 16) | 0x40u);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

template <typename T> BRAID_DEVICE T fromFloat(float v);
template <> BRAID_DEVICE float fromFloat<float>(float v) { return v; }
template <> BRAID_DEVICE bf16 fromFloat<bf16>(float v) {
  return bf16{bf16Bits(v)};
}
template <> BRAID_DEVICE f16 fromFloat<f16>(float v) { return f16(v); }

/// Two floats packed into one 32-bit bf16 pair (low half = a).
BRAID_DEVICE uint32_t packBf16x2(float a, float b) {
  return uint32_t(bf16Bits(a)) | (uint32_t(bf16Bits(b)) << 16);
}
BRAID_DEVICE float2 unpackBf16x2(uint32_t p) {
  return make_float2(__uint_as_float(p << 16),
                     __uint_as_float(p & 0xffff0000u));
}
/// The lane-wise product of two bf16 pairs, rounded to bf16.
BRAID_DEVICE uint32_t mulBf16x2(uint32_t a, uint32_t b) {
  const float2 x = unpackBf16x2(a), y = unpackBf16x2(b);
  return packBf16x2(x.x * y.x, x.y * y.y);
}

/// Fast transcendental helpers (fp32).
BRAID_DEVICE float expf_(float x) { return __expf(x); }
BRAID_DEVICE float rsqrtf_(float x) { return rsqrtf(x); }
/// 2^x on the hardware unit (v_exp_f32, about 1 ulp; exact 0 for -inf).
BRAID_DEVICE float exp2Fast(float x) { return __builtin_amdgcn_exp2f(x); }
/// CDNA has no tanh instruction: the accurate library tanhf.
BRAID_DEVICE float tanhFast(float x) { return tanhf(x); }

//===----------------------------------------------------------------------===//
// Global -> LDS copies (AMD: plain loads and stores)
//===----------------------------------------------------------------------===//

// CDNA has no cp.async: a copy is a 16-byte global load and an LDS store
// issued at once. The commit/wait calls stay as no-ops so the templates
// keep one structure; the barrier after a wait publishes the tile as on
// NVIDIA.
BRAID_DEVICE void cpAsync16(void *dst, const void *src, bool valid) {
  *reinterpret_cast<uint4 *>(dst) =
      valid ? *reinterpret_cast<const uint4 *>(src) : make_uint4(0, 0, 0, 0);
}
BRAID_DEVICE void cpAsync4(void *dst, const void *src, bool valid) {
  *reinterpret_cast<uint32_t *>(dst) =
      valid ? *reinterpret_cast<const uint32_t *>(src) : 0u;
}
BRAID_DEVICE void cpAsyncCommit() {}
template <int Pending> BRAID_DEVICE void cpAsyncWait() {}
BRAID_DEVICE void fenceProxyAsyncShared() {}

//===----------------------------------------------------------------------===//
// Matrix instructions (MFMA, CDNA2+)
//===----------------------------------------------------------------------===//

/// Operand and accumulator registers of the 16x16x16 MFMA forms: four
/// 16-bit values (one 8-byte LDS read) and four fp32 results per lane.
typedef short mfmaBf16x4 __attribute__((ext_vector_type(4)));
typedef _Float16 mfmaF16x4 __attribute__((ext_vector_type(4)));
typedef float mfmaF32x4 __attribute__((ext_vector_type(4)));

/// D = A * B + C for one wave, 16x16x16, fp32 accumulate. Lane l supplies
/// A[l % 16][4 * (l / 16) .. +3] and B[4 * (l / 16) .. +3][l % 16], and
/// holds D[4 * (l / 16) + e][l % 16] for e = 0..3.
BRAID_DEVICE mfmaF32x4 mfmaBf16_16x16x16(mfmaBf16x4 a, mfmaBf16x4 b,
                                         mfmaF32x4 c) {
  return __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(a, b, c, 0, 0, 0);
}
BRAID_DEVICE mfmaF32x4 mfmaF16_16x16x16(mfmaF16x4 a, mfmaF16x4 b,
                                        mfmaF32x4 c) {
  return __builtin_amdgcn_mfma_f32_16x16x16f16(a, b, c, 0, 0, 0);
}

#if BRAID_CDNA >= 4
/// CDNA4 (gfx950) doubles the bf16 MFMA depth: 16x16x32, eight values (one
/// 16-byte LDS read) per lane and operand; lane l supplies k = 8 * (l / 16)
/// .. +7, the result placement is that of 16x16x16.
typedef __bf16 mfmaBf16x8 __attribute__((ext_vector_type(8)));
BRAID_DEVICE mfmaF32x4 mfmaBf16_16x16x32(mfmaBf16x8 a, mfmaBf16x8 b,
                                         mfmaF32x4 c) {
  return __builtin_amdgcn_mfma_f32_16x16x32_bf16(a, b, c, 0, 0, 0);
}
#endif

/// Shape of one wave's matrix instruction.
struct MmaShape {
  static constexpr int M = 16, N = 16, K = 16;
};

/// Accumulator placement (WarpTile.cuh) on AMD: the products are issued
/// transposed (the B tile as MFMA's A operand), so lane l holds row l % 16
/// and the 4 consecutive columns 4 * (l / 16) .. +3 of a 16x16 block; the
/// 4 lanes sharing a row are 16 apart.
constexpr int kMmaGroupLanes = 4;
constexpr int kMmaGroups = kWarpSize / kMmaGroupLanes;
BRAID_DEVICE int mmaGroupId() { return laneId() % 16; }
BRAID_DEVICE int mmaThreadInGroup() { return laneId() / 16; }

#else // BRAID_CUDA

using bf16 = __nv_bfloat16;
using bf16x2 = __nv_bfloat162;
using f16 = __half;

BRAID_DEVICE float toFloat(float v) { return v; }
BRAID_DEVICE float toFloat(bf16 v) { return __bfloat162float(v); }
BRAID_DEVICE float toFloat(f16 v) { return __half2float(v); }

template <typename T> BRAID_DEVICE T fromFloat(float v);
template <> BRAID_DEVICE float fromFloat<float>(float v) { return v; }
template <> BRAID_DEVICE bf16 fromFloat<bf16>(float v) {
  return __float2bfloat16_rn(v);
}
template <> BRAID_DEVICE f16 fromFloat<f16>(float v) {
  return __float2half_rn(v);
}

/// Two floats packed into one 32-bit bf16 pair (low half = a).
BRAID_DEVICE uint32_t packBf16x2(float a, float b) {
  bf16x2 p = __floats2bfloat162_rn(a, b);
  return *reinterpret_cast<uint32_t *>(&p);
}
BRAID_DEVICE float2 unpackBf16x2(uint32_t p) {
  return __bfloat1622float2(*reinterpret_cast<bf16x2 *>(&p));
}
/// The lane-wise product of two bf16 pairs, rounded to bf16 (one HMUL2).
BRAID_DEVICE uint32_t mulBf16x2(uint32_t a, uint32_t b) {
  bf16x2 r =
      __hmul2(*reinterpret_cast<bf16x2 *>(&a), *reinterpret_cast<bf16x2 *>(&b));
  return *reinterpret_cast<uint32_t *>(&r);
}

/// Fast transcendental helpers (fp32).
BRAID_DEVICE float expf_(float x) { return __expf(x); }
BRAID_DEVICE float rsqrtf_(float x) { return rsqrtf(x); }
/// 2^x with the hardware's approximate unit (ex2.approx: relative error
/// about 2^-22, exact 0 for -inf), the workhorse of online softmax.
BRAID_DEVICE float exp2Fast(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
/// tanh with the hardware's approximate unit (sm_75+; about 2^-11 relative
/// error): for bf16 paths only, f32 paths call tanhf.
BRAID_DEVICE float tanhFast(float x) {
#if BRAID_ARCH >= 750
  float y;
  asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#else
  return tanhf(x);
#endif
}

//===----------------------------------------------------------------------===//
// Asynchronous copies global -> shared (cp.async, sm_80+)
//===----------------------------------------------------------------------===//

BRAID_DEVICE uint32_t sharedAddress(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

/// Copies 16 bytes from global `src` to shared `dst` asynchronously. When
/// `valid` is false, writes 16 zero bytes instead (src is not read, but must
/// still be a legal address expression).
BRAID_DEVICE void cpAsync16(void *dst, const void *src, bool valid) {
#if defined(BRAID_HAS_CP_ASYNC)
  const uint32_t s = sharedAddress(dst);
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s),
               "l"(src), "r"(bytes));
#else
  if (valid)
    *reinterpret_cast<uint4 *>(dst) = *reinterpret_cast<const uint4 *>(src);
  else
    *reinterpret_cast<uint4 *>(dst) = make_uint4(0, 0, 0, 0);
#endif
}
/// 4-byte variant (cp.async.ca; for rows whose alignment is only 4 bytes).
BRAID_DEVICE void cpAsync4(void *dst, const void *src, bool valid) {
#if defined(BRAID_HAS_CP_ASYNC)
  const uint32_t s = sharedAddress(dst);
  const int bytes = valid ? 4 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s),
               "l"(src), "r"(bytes));
#else
  *reinterpret_cast<uint32_t *>(dst) =
      valid ? *reinterpret_cast<const uint32_t *>(src) : 0u;
#endif
}
/// Closes the current group of async copies.
BRAID_DEVICE void cpAsyncCommit() {
#if defined(BRAID_HAS_CP_ASYNC)
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
/// Waits until at most `Pending` committed groups are still in flight.
template <int Pending> BRAID_DEVICE void cpAsyncWait() {
#if defined(BRAID_HAS_CP_ASYNC)
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
#endif
}

//===----------------------------------------------------------------------===//
// Matrix instructions (tensor cores)
//===----------------------------------------------------------------------===//

/// ldmatrix: four 8x8 b16 matrices from shared memory; lane l provides the
/// row address of row (l % 8) of matrix (l / 8).
BRAID_DEVICE void ldmatrixX4(uint32_t (&r)[4], const void *smemRow) {
  const uint32_t s = sharedAddress(smemRow);
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
      : "r"(s));
}
BRAID_DEVICE void ldmatrixX2(uint32_t (&r)[2], const void *smemRow) {
  const uint32_t s = sharedAddress(smemRow);
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(s));
}
BRAID_DEVICE void ldmatrixX4Trans(uint32_t (&r)[4], const void *smemRow) {
  const uint32_t s = sharedAddress(smemRow);
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
      : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
      : "r"(s));
}

/// D = A * B + D for one warp, m16n8k16, bf16 inputs, fp32 accumulators.
/// Fragment layouts are those of PTX's mma.m16n8k16 (.row.col):
///   a[4]: bf16x2 of A (16x16, row-major), b[2]: bf16x2 of B (16x8, "col"),
///   d[4]: fp32 of D (16x8).
BRAID_DEVICE void mmaBf16_16816(float (&d)[4], const uint32_t (&a)[4],
                                const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
/// Same with f16 inputs.
BRAID_DEVICE void mmaF16_16816(float (&d)[4], const uint32_t (&a)[4],
                               const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/// Shape of the warp-level matrix tile (for templates that size loops by it).
struct MmaShape {
  static constexpr int M = 16, N = 8, K = 16;
};

/// ldmatrix.x2.trans: two transposed 8x8 b16 matrices; lanes 0-15 provide
/// the row addresses (lanes 16-31 must still hold legal addresses).
BRAID_DEVICE void ldmatrixX2Trans(uint32_t (&r)[2], const void *smemRow) {
  const uint32_t s = sharedAddress(smemRow);
  asm volatile(
      "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
      : "=r"(r[0]), "=r"(r[1])
      : "r"(s));
}

/// Where a lane's accumulator elements sit in the m16n8 tile: the warp is
/// kMmaGroups groups of kMmaGroupLanes lanes; element e (0..3) of lane
/// (group, tig) is at row group + 8 * (e / 2), column 2 * tig + e % 2. The
/// A fragment of m16n8k16 uses the same placement per 16x8 half, which is
/// what lets an accumulator tile be fed back as an A operand (P @ V).
constexpr int kMmaGroupLanes = 4;
constexpr int kMmaGroups = kWarpSize / kMmaGroupLanes;
BRAID_DEVICE int mmaGroupId() { return laneId() / kMmaGroupLanes; }
BRAID_DEVICE int mmaThreadInGroup() { return laneId() % kMmaGroupLanes; }

//===----------------------------------------------------------------------===//
// Hopper warpgroup matrix instructions (sm_90a: wgmma)
//===----------------------------------------------------------------------===//

/// Threads of a warpgroup (4 consecutive warps, starting at a warp index
/// divisible by 4) that issue one wgmma together.
constexpr int kWarpgroupSize = 4 * kWarpSize;

/// This thread's warpgroup, broadcast from lane 0 so that ptxas knows it is
/// warp-uniform: whatever derives from it (ring positions, wgmma
/// descriptors) then stays in uniform registers. Derived from a plain
/// threadIdx.x / 128, every descriptor is built per lane and moved over by
/// R2UR before each wgmma (docs/cuda.md). Call with the whole warp active.
BRAID_DEVICE int warpgroupId() {
  return shflIdx(threadId() / kWarpgroupSize, 0);
}

/// A shared-memory matrix descriptor for wgmma: K-major tile of rows of
/// 128 bytes in the 128-byte swizzle layout (16-byte chunk c of row r at
/// r * 128 + ((c ^ (r % 8)) * 16), atoms of 8 rows = 1024 bytes, the tile
/// 1024-byte aligned). Advancing K by 16 bf16 inside the atom adds 32 bytes
/// to the start address.
BRAID_DEVICE uint64_t wgmmaDescSw128(const void *smem) {
  const uint64_t addr = sharedAddress(smem);
  uint64_t desc = (addr & 0x3FFFFull) >> 4; // start address
  desc |= 1ull << 16;                       // leading byte offset (unused)
  desc |= (1024ull >> 4) << 32;             // stride byte offset: 8 rows
  desc |= 1ull << 62;                       // 128-byte swizzle
  return desc;
}

/// `desc` (wgmmaDescSw128 or wgmmaDescSw128Mn) moved on by `bytes` (a
/// multiple of 16). Only the start-address field changes, and it cannot
/// carry out: shared memory ends below 2^18 bytes. So the add is a 32-bit
/// one on the low word (a 64-bit add costs ptxas a carry chain and register
/// moves before every wgmma), where a fresh descriptor costs five
/// operations.
BRAID_DEVICE uint64_t wgmmaDescAdd(uint64_t desc, uint32_t bytes) {
  const uint32_t lo = uint32_t(desc) + (bytes >> 4);
  return (desc & 0xFFFFFFFF00000000ull) | lo;
}

/// Element offset (bf16) of 16-byte chunk c of row r in a tile of ROWS rows
/// stored as 64-column blocks in the 128-byte swizzle layout (the layout of
/// wgmmaDescSw128 and wgmmaDescSw128Mn; block c / 8 holds chunks 8 (c / 8)
/// .. + 7 of every row).
template <int ROWS> BRAID_DEVICE int sw128Offset(int r, int c) {
  return (c >> 3) * ROWS * 64 + r * 64 + (((c & 7) ^ (r & 7)) << 3);
}

/// Byte offset of k-step kk (16 columns) in a K-major bf16 tile of `rows`
/// rows stored as 64-column blocks in the 128-byte swizzle layout: block
/// kk / 4, 32 bytes per step inside it. What wgmmaDescAdd moves a
/// wgmmaDescSw128 descriptor of the tile on by.
BRAID_DEVICE constexpr uint32_t sw128KStepBytes(int rows, int kk) {
  return uint32_t(((kk / 4) * rows * 64 + (kk % 4) * 16) * 2);
}

/// `smem` (a dynamic shared array) advanced to the next 1024-byte boundary
/// of the shared window (the 128-byte swizzle atom). An offset from the
/// array, not a rounded integer, so the result stays a shared-space pointer
/// (plain shared loads, not generic ones).
BRAID_DEVICE unsigned char *alignShared1024(unsigned char *smem) {
  return smem + ((1024u - (sharedAddress(smem) & 1023u)) & 1023u);
}

/// Pins registers at this point of the program (an empty asm that reads
/// and writes them): around the wgmma fence and wait, so that the compiler
/// neither moves their definitions into a burst (ptxas would then
/// serialize it, C7513) nor their uses above the wait.
template <int N> BRAID_DEVICE void wgmmaPin(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
    asm volatile("" : "+f"(r[i])::"memory");
}
template <int N, int M> BRAID_DEVICE void wgmmaPin(uint32_t (&r)[N][M]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int j = 0; j < M; ++j)
      asm volatile("" : "+r"(r[i][j])::"memory");
}

/// Orders register accesses before the following wgmma ops.
BRAID_DEVICE void wgmmaFence() {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
BRAID_DEVICE void wgmmaCommit() {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
/// Waits until at most `Pending` committed wgmma groups are in flight.
template <int Pending> BRAID_DEVICE void wgmmaWait() {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(Pending) : "memory");
#endif
}
/// Makes this thread's generic-proxy shared-memory writes (stores,
/// cp.async) visible to the async proxy (wgmma, bulk copies); call before
/// the barrier that publishes them.
BRAID_DEVICE void fenceProxyAsyncShared() {
#if BRAID_ARCH >= 900
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

/// The accumulator operands of a wgmma (d[i] .. d[i + 7], read and
/// written), for the wrappers below.
#define BRAID_WGMMA_D8(d, i)                                                   \
  "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]),                  \
      "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define BRAID_WGMMA_D32(d, i)                                                  \
  BRAID_WGMMA_D8(d, i), BRAID_WGMMA_D8(d, i + 8), BRAID_WGMMA_D8(d, i + 16),   \
      BRAID_WGMMA_D8(d, i + 24)
#define BRAID_WGMMA_D64(d) BRAID_WGMMA_D32(d, 0), BRAID_WGMMA_D32(d, 32)

/// D (64 x 256, fp32, per warpgroup) += A (64 x 16, smem) * B (256 x 16,
/// smem, K-major): wgmma m64n256k16 bf16. `scaleD` = 0 ignores D's old value.
BRAID_DEVICE void wgmmaBf16_m64n256k16(float (&d)[128], uint64_t descA,
                                      uint64_t descB, int scaleD) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, %128, %129, p, 1, 1, 0, 0;\n}\n"
      : BRAID_WGMMA_D64(d), BRAID_WGMMA_D32(d, 64), BRAID_WGMMA_D32(d, 96)
      : "l"(descA), "l"(descB), "r"(scaleD));
#else
  __trap();
#endif
}

/// D (64 x 128, fp32, per warpgroup) += A (64 x 16, smem) * B (128 x 16,
/// smem): wgmma m64n128k16 bf16, both operands K-major (descriptor
/// wgmmaDescSw128), or MN-major where TransA / TransB is 1 (descriptor
/// wgmmaDescSw128Mn: A stored [K][M], B [K][N]). `scaleD` = 0 ignores D's
/// old value.
template <int TransA = 0, int TransB = 0>
BRAID_DEVICE void wgmmaBf16_m64n128k16(float (&d)[64], uint64_t descA,
                                       uint64_t descB, int scaleD) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, "
      "%30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, "
      "%44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, "
      "%58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, %67, %68;\n}\n"
      : BRAID_WGMMA_D64(d)
      : "l"(descA), "l"(descB), "r"(scaleD), "n"(TransA), "n"(TransB));
#else
  __trap();
#endif
}

/// Named barrier `id` (1..15; 0 is __syncthreads) of `count` threads (a
/// multiple of 32): waits for the count's other arrivals.
BRAID_DEVICE void namedBarrierSync(int id, int count) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}
/// Arrives at named barrier `id` of `count` threads without waiting.
BRAID_DEVICE void namedBarrierArrive(int id, int count) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}

/// Bytes of dynamic shared memory the block was launched with.
BRAID_DEVICE uint32_t dynamicSharedBytes() {
  uint32_t bytes;
  asm volatile("mov.u32 %0, %%dynamic_smem_size;\n" : "=r"(bytes));
  return bytes;
}

/// Initializes the mbarrier at `bar` (shared) for `count` arrivals a phase.
BRAID_DEVICE void mbarInit(uint64_t *bar, int count) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile(
      "mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(sharedAddress(bar)),
      "r"(count)
      : "memory");
#endif
}
/// One arrival on `bar` (release semantics, CTA scope).
BRAID_DEVICE void mbarArrive(uint64_t *bar) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}"
               "\n" ::"r"(sharedAddress(bar))
               : "memory");
#endif
}
/// Waits until the phase of parity `parity` of `bar` has completed
/// (acquire). A fresh barrier is in its phase 0: parity 1 passes at once.
BRAID_DEVICE void mbarWait(uint64_t *bar, uint32_t parity) {
#if defined(BRAID_HAS_WGMMA)
  const uint32_t a = sharedAddress(bar);
  uint32_t done;
  do {
    asm volatile("{\n.reg .pred p;\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                 "selp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(a), "r"(parity)
                 : "memory");
  } while (!done);
#endif
}
/// Arrives on `bar` once every cp.async this thread has issued so far has
/// completed; the arrival is one of the barrier's expected count (.noinc).
BRAID_DEVICE void cpAsyncArriveNoinc(uint64_t *bar) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(
                   sharedAddress(bar))
               : "memory");
#endif
}

/// A shared-memory matrix descriptor for wgmma's B operand stored MN-major
/// (N contiguous: a [K][N] tile such as attention's V, [keys][head dim])
/// in the 128-byte swizzle layout: 64-column blocks of rows of 128 bytes
/// (one k each), 16-byte chunk c of row k at k * 128 + ((c ^ (k % 8)) * 16),
/// each block 1024-byte aligned. The descriptor's leading byte offset is
/// the distance between 64-column blocks (`blockBytes`), its stride byte
/// offset the distance between groups of 8 k rows (1024 bytes). Used with
/// the instruction's transpose-B bit set.
BRAID_DEVICE uint64_t wgmmaDescSw128Mn(const void *smem, uint32_t blockBytes) {
  const uint64_t addr = sharedAddress(smem);
  uint64_t desc = (addr & 0x3FFFFull) >> 4;           // start address
  desc |= uint64_t((blockBytes >> 4) & 0x3FFF) << 16; // leading byte offset
  desc |= (1024ull >> 4) << 32;                       // stride byte offset
  desc |= 1ull << 62;                                 // 128-byte swizzle
  return desc;
}

/// D (64 x 128, fp32, per warpgroup) += A (64 x 16, bf16 in registers, the
/// m16n8k16 A fragment of each warp's 16 rows) * B (16 x 128, smem,
/// MN-major: descriptor wgmmaDescSw128Mn): wgmma m64n128k16 with A from
/// registers and B transposed. `scaleD` = 0 ignores D's old value.
BRAID_DEVICE void wgmmaBf16_m64n128k16_rsT(float (&d)[64],
                                           const uint32_t (&a)[4],
                                           uint64_t descB, int scaleD) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, "
      "%30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, "
      "%44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, "
      "%58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, "
      "1;\n}\n"
      : BRAID_WGMMA_D64(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
#else
  __trap();
#endif
}

/// D (64 x 64, fp32, per warpgroup) += A (64 x 16, smem) * B (64 x 16,
/// smem): wgmma m64n64k16 bf16; operand layouts as wgmmaBf16_m64n128k16's.
/// `scaleD` = 0 ignores D's old value.
template <int TransA = 0, int TransB = 0>
BRAID_DEVICE void wgmmaBf16_m64n64k16(float (&d)[32], uint64_t descA,
                                      uint64_t descB, int scaleD) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, "
      "%14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, "
      "%26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, %35, %36;\n}\n"
      : BRAID_WGMMA_D32(d, 0)
      : "l"(descA), "l"(descB), "r"(scaleD), "n"(TransA), "n"(TransB));
#else
  __trap();
#endif
}

/// D (64 x 64, fp32, per warpgroup) += A (64 x 16, bf16 in registers, the
/// m16n8k16 A fragment of each warp's 16 rows) * B (16 x 64, smem,
/// MN-major: descriptor wgmmaDescSw128Mn): wgmma m64n64k16 with A from
/// registers and B transposed. `scaleD` = 0 ignores D's old value.
BRAID_DEVICE void wgmmaBf16_m64n64k16_rsT(float (&d)[32],
                                          const uint32_t (&a)[4],
                                          uint64_t descB, int scaleD) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, "
      "%30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
      : BRAID_WGMMA_D32(d, 0)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(descB), "r"(scaleD));
#else
  __trap();
#endif
}

#endif // BRAID_HIP

//===----------------------------------------------------------------------===//
// Kernel parameters
//===----------------------------------------------------------------------===//

/// Typed view of buffer `i` of the launch.
template <typename T>
BRAID_DEVICE T *buffer(const BraidKernelParams &p, int i) {
  return reinterpret_cast<T *>(p.buffers[i]);
}

//===----------------------------------------------------------------------===//
// Thread-block clusters (CUDA sm_90+; no-ops elsewhere)
//===----------------------------------------------------------------------===//

/// Rank of this block in its cluster.
BRAID_DEVICE int clusterRank() {
  uint32_t r = 0;
#if BRAID_ARCH >= 900
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
#endif
  return static_cast<int>(r);
}
/// Barrier of every thread of the cluster; shared-memory writes before it
/// are visible to the whole cluster after it.
BRAID_DEVICE void clusterSync() {
#if BRAID_ARCH >= 900
  asm volatile("barrier.cluster.arrive.release.aligned;\n"
               "barrier.cluster.wait.acquire.aligned;\n" ::
                   : "memory");
#endif
}
/// The two floats at `p` (8-byte aligned, this block's shared memory) in
/// the shared memory of block `rank` of the cluster.
BRAID_DEVICE float2 loadClusterShared2(const float *p, int rank) {
  float2 v = make_float2(0.0f, 0.0f);
#if BRAID_ARCH >= 900
  uint32_t remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n"
               : "=r"(remote)
               : "r"(sharedAddress(p)), "r"(rank));
  asm volatile("ld.shared::cluster.v2.f32 {%0, %1}, [%2];\n"
               : "=f"(v.x), "=f"(v.y)
               : "r"(remote)
               : "memory");
#endif
  return v;
}

} // namespace dev
} // namespace braid

/// The first statement of every extern "C" __global__ entry (docs/cuda.md).
/// The wait must precede every global memory access of the kernel: under
/// programmatic dependent launch the previous kernel may still be running.
/// Waiting for the previous kernel's completion orders this kernel after all
/// earlier ones too, since that kernel itself waited for its predecessor
/// before touching memory; one entry without the prologue breaks the chain.
/// Allowing dependents right away lets the next kernel's blocks be scheduled
/// while this one runs; they do nothing but wait until it has finished.
#define BRAID_KERNEL_PROLOGUE()                                                \
  do {                                                                         \
    braid::dev::waitForPrerequisiteGrids();                                    \
    braid::dev::allowDependentLaunch();                                        \
  } while (0)

/// The other first statement: an entry that reads some of its inputs before
/// it waits for the previous kernel, so that they stream in while that
/// kernel finishes. It only lets dependents launch; the entry's body then
/// calls waitForPrerequisiteGrids() itself, in every thread, before any
/// global write and before any read other than
///   - weights, which no kernel writes (decode's split-K GEMMs,
///     tcGemmSplitK<Cfg, true>, request their first weight tiles);
///   - data whose last writer is followed, still before this kernel, by a
///     kernel that begins with BRAID_KERNEL_PROLOGUE() (mamba2_step's
///     `_update_tile` copies its SSM state rows: only the same launch a
///     decode step earlier wrote them, and its finishing kernel has the
///     plain prologue).
/// Why the second is safe: a kernel starts only once every block of the
/// previous one has allowed dependents (or exited); a kernel with the plain
/// prologue allows them only after its wait, i.e. once its own predecessor
/// has completed; and every kernel waits before it completes. So when any
/// kernel starts, every kernel before the last plain-prologue one ahead of
/// it has completed and its writes are visible; only the kernels from there
/// on may still run (docs/cuda.md).
#define BRAID_KERNEL_PROLOGUE_READS_FIRST() braid::dev::allowDependentLaunch()

#endif // BRAID_TARGETS_COMMON_KERNELS_PORTABILITY_CUH
