//===- DenseCommon.cuh - helpers shared by the dense kernel families ------===//
//
// 16-byte vector loads/stores that convert to and from fp32 registers, the
// activation functions exactly as the CPU reference (and PyTorch's fp32
// path) defines them, and small integer helpers. Device code only; every
// vendor-specific detail comes from Portability.cuh.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_DENSECOMMON_CUH
#define BRAID_TARGETS_COMMON_KERNELS_DENSECOMMON_CUH

#include "targets/common/kernels/Portability.cuh"

namespace braid {
namespace dev {

//===----------------------------------------------------------------------===//
// Vectors of 16 bytes
//===----------------------------------------------------------------------===//

/// Elements of T in one 16-byte access (4 floats, 8 bf16).
template <typename T> struct Vec16 {
  static constexpr int N = 16 / static_cast<int>(sizeof(T));
};

/// True when every pointer is 16-byte aligned.
BRAID_DEVICE bool aligned16(const void *p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

template <typename T, int N> struct VecIo;

template <> struct VecIo<float, 4> {
  static BRAID_DEVICE void load(const float *p, float (&v)[4]) {
    float4 q = *reinterpret_cast<const float4 *>(p);
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
  }
  static BRAID_DEVICE void store(float *p, const float (&v)[4]) {
    *reinterpret_cast<float4 *>(p) = make_float4(v[0], v[1], v[2], v[3]);
  }
};
template <> struct VecIo<bf16, 8> {
  static BRAID_DEVICE void load(const bf16 *p, float (&v)[8]) {
    uint4 q = *reinterpret_cast<const uint4 *>(p);
    float2 a = unpackBf16x2(q.x), b = unpackBf16x2(q.y),
           c = unpackBf16x2(q.z), d = unpackBf16x2(q.w);
    v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
    v[4] = c.x, v[5] = c.y, v[6] = d.x, v[7] = d.y;
  }
  static BRAID_DEVICE void store(bf16 *p, const float (&v)[8]) {
    uint4 q;
    q.x = packBf16x2(v[0], v[1]);
    q.y = packBf16x2(v[2], v[3]);
    q.z = packBf16x2(v[4], v[5]);
    q.w = packBf16x2(v[6], v[7]);
    *reinterpret_cast<uint4 *>(p) = q;
  }
};
/// One element (the scalar fallback of every vector loop).
template <typename T> struct VecIo<T, 1> {
  static BRAID_DEVICE void load(const T *p, float (&v)[1]) { v[0] = toFloat(*p); }
  static BRAID_DEVICE void store(T *p, const float (&v)[1]) {
    *p = fromFloat<T>(v[0]);
  }
};
/// Loads of fewer than 16 bytes (e.g. 4 bf16) through the generic path.
template <typename T, int N> struct VecIo {
  static BRAID_DEVICE void load(const T *p, float (&v)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i)
      v[i] = toFloat(p[i]);
  }
  static BRAID_DEVICE void store(T *p, const float (&v)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i)
      p[i] = fromFloat<T>(v[i]);
  }
};

template <int N, typename T> BRAID_DEVICE void loadVec(const T *p, float (&v)[N]) {
  VecIo<T, N>::load(p, v);
}
template <int N, typename T> BRAID_DEVICE void storeVec(T *p, const float (&v)[N]) {
  VecIo<T, N>::store(p, v);
}

/// Stores two consecutive values; `pairOk` says the address of the pair is
/// aligned to its size (else two scalar stores).
template <typename T>
BRAID_DEVICE void storePair(T *p, float a, float b, bool pairOk) {
  if (pairOk) {
    if constexpr (sizeof(T) == 2) {
      *reinterpret_cast<uint32_t *>(p) = packBf16x2(a, b);
    } else {
      *reinterpret_cast<float2 *>(p) = make_float2(a, b);
    }
  } else {
    p[0] = fromFloat<T>(a);
    p[1] = fromFloat<T>(b);
  }
}

//===----------------------------------------------------------------------===//
// Activations (fp32, as runtime/backends/cpu/KernelSupport.h defines them)
//===----------------------------------------------------------------------===//

enum class Act : int {
  Identity = 0,
  Silu,
  Gelu,
  GeluTanh,
  Relu,
  Relu2,
  Sigmoid,
  Softplus,
  Tanh
};

// SiLU and the sigmoid with the hardware exponential and a reciprocal
// (__expf, __fdividef: a few ulp of fp32 from the CPU's definitions, far
// below a bf16 step): the IEEE division and accurate expf cost about 25
// instructions a value, which made a gated MLP's epilogue the longest part
// of its tile after the main loop. 1 + e^-x overflows to inf for x < -88,
// where x * (1 / inf) gives the right -0.
BRAID_DEVICE float siluF(float x) { return __fdividef(x, 1.0f + __expf(-x)); }
BRAID_DEVICE float sigmoidF(float x) {
  return __fdividef(1.0f, 1.0f + __expf(-x));
}

template <Act A> BRAID_DEVICE float activate(float x) {
  if constexpr (A == Act::Identity) {
    return x;
  } else if constexpr (A == Act::Silu) {
    return siluF(x);
  } else if constexpr (A == Act::Gelu) {
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
  } else if constexpr (A == Act::GeluTanh) {
    float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
  } else if constexpr (A == Act::Relu) {
    return x > 0.0f ? x : 0.0f;
  } else if constexpr (A == Act::Relu2) {
    return x > 0.0f ? x * x : 0.0f;
  } else if constexpr (A == Act::Sigmoid) {
    return sigmoidF(x);
  } else if constexpr (A == Act::Softplus) {
    return x > 20.0f ? x : log1pf(expf(x));
  } else {
    return tanhf(x);
  }
}

//===----------------------------------------------------------------------===//
// Integers
//===----------------------------------------------------------------------===//

template <typename I> BRAID_HOST_DEVICE constexpr I ceilDiv(I a, I b) {
  return (a + b - 1) / b;
}

/// Grid-stride loop bounds over [0, n) for the whole launch.
BRAID_DEVICE int64_t globalThreadId() {
  return static_cast<int64_t>(blockIdX()) * blockSize() + threadId();
}
BRAID_DEVICE int64_t globalThreadCount() {
  return static_cast<int64_t>(gridDimX()) * blockSize();
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_DENSECOMMON_CUH
