//===- KernelSupport.h - helpers shared by the CPU kernel families -*- C++
//-*-===//
//
// Private to the CPU backend: operand access, shape validation with one-line
// messages, parallel loops, scalar activation functions matching PyTorch's
// fp32 definitions, and lane-split dot products that vectorize without
// -ffast-math.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CPU_KERNELSUPPORT_H
#define BRAID_RUNTIME_BACKENDS_CPU_KERNELSUPPORT_H

#include "runtime/backends/cpu/CpuKernels.h"

#include <cmath>
#include <cstring>
#include <string>

namespace braid::rt::cpu {

//===----------------------------------------------------------------------===//
// Operands and validation
//===----------------------------------------------------------------------===//

/// Operand `i` of the call, or an empty view when the launch passed fewer
/// operands (trailing absent optionals may be left out) or a null one.
const TensorView &operandAt(const KernelCall &call, size_t i);
/// Result `i`, or an empty view.
const TensorView &resultAt(const KernelCall &call, size_t i);

/// "[2, 7, 64]"
std::string shapeString(const std::vector<int64_t> &shape);

/// Checks operands, results and attributes of one launch and keeps the first
/// problem as a one-line message that starts with the family (and the launch
/// location when known), e.g.
///   linear (layers.0.mlp): 'weight' dim 1 (in_features) is 32 but 'input'
///   dim 2 is 64
/// Every check is a no-op once one has failed, so they chain.
class Check {
public:
  Check(const KernelCall &call, std::string_view family);

  /// The launch passes between `min` and `max` operands.
  Check &operandCount(size_t min, size_t max);
  /// The launch passes exactly `n` results.
  Check &resultCount(size_t n);
  /// `view` is present and holds fp32 (or int64) data.
  Check &f32(std::string_view name, const TensorView &view);
  Check &i64(std::string_view name, const TensorView &view);
  Check &rank(std::string_view name, const TensorView &view, int64_t rank);
  Check &minRank(std::string_view name, const TensorView &view, int64_t rank);
  /// Dimension `dim` of `view` equals `expected` (`meaning` says what it is).
  Check &dimIs(std::string_view name, const TensorView &view, int64_t dim,
               int64_t expected, std::string_view meaning);
  Check &dimsMatch(std::string_view aName, const TensorView &a, int64_t aDim,
                   std::string_view bName, const TensorView &b, int64_t bDim,
                   std::string_view meaning);
  /// `a` has exactly the shape of `b`.
  Check &sameShape(std::string_view aName, const TensorView &a,
                   std::string_view bName, const TensorView &b);
  /// `view` has exactly `shape`.
  Check &shapeIs(std::string_view name, const TensorView &view,
                 const std::vector<int64_t> &shape);
  Check &attrAtLeast(std::string_view attr, int64_t value, int64_t minimum);
  Check &attrPositive(std::string_view attr, double value);
  /// Records the attribute lookup error of the call, if any.
  Check &attrsOk();
  Check &require(bool condition, const std::string &message);

  bool ok() const { return error.empty(); }
  /// "" when every check passed.
  const std::string &message() const { return error; }

private:
  void fail(const std::string &what);
  const KernelCall &call;
  std::string prefix;
  std::string error;
};

//===----------------------------------------------------------------------===//
// Parallel loops
//===----------------------------------------------------------------------===//

/// pool->parallelFor when there is a pool, otherwise inline.
void parallelFor(ThreadPool *pool, int64_t n,
                 const std::function<void(int64_t, int64_t)> &fn,
                 int64_t grain = 1);

/// A grain (rows per chunk) such that a chunk holds about `work` elements.
inline int64_t grainFor(int64_t elementsPerRow, int64_t work = 16384) {
  return elementsPerRow >= work
             ? 1
             : work / (elementsPerRow > 0 ? elementsPerRow : 1);
}

/// A default-valued attribute (ODS DefaultValuedAttr): launches always carry
/// them, but the default is unambiguous, so an absent one reads as it.
inline bool boolOr(const AttrMap &attrs, std::string_view name, bool dflt) {
  return attrs.has(name) ? attrs.getBool(name, dflt) : dflt;
}

/// Copies a state operand into its result buffer unless they alias, so a
/// kernel can update the result in place either way.
inline void copyStateIfDistinct(const TensorView &from, const TensorView &to) {
  if (from.data != to.data)
    std::memcpy(to.data, from.data, sizeof(float) * from.numel());
}

//===----------------------------------------------------------------------===//
// Scalar math, as PyTorch defines it in fp32
//===----------------------------------------------------------------------===//

enum class Activation {
  Identity,
  Silu,
  Gelu,
  GeluTanh,
  Relu,
  Relu2,
  Sigmoid,
  Softplus,
  Tanh
};

/// Parses an activation keyword ("silu"); false when unknown.
bool parseActivation(std::string_view name, Activation &out);

inline float sigmoidf(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float siluf(float x) { return x / (1.0f + std::exp(-x)); }
/// torch.nn.functional.softplus with beta 1 and threshold 20.
inline float softplusf(float x) {
  return x > 20.0f ? x : std::log1p(std::exp(x));
}

inline float activate(Activation kind, float x) {
  switch (kind) {
  case Activation::Identity:
    return x;
  case Activation::Silu:
    return siluf(x);
  case Activation::Gelu: // exact: x * Phi(x)
    return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
  case Activation::GeluTanh: {
    float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + std::tanh(inner));
  }
  case Activation::Relu:
    return x > 0.0f ? x : 0.0f;
  case Activation::Relu2:
    return x > 0.0f ? x * x : 0.0f;
  case Activation::Sigmoid:
    return sigmoidf(x);
  case Activation::Softplus:
    return softplusf(x);
  case Activation::Tanh:
    return std::tanh(x);
  }
  return x;
}

/// Applies `kind` to n contiguous values in place.
void activateInPlace(Activation kind, float *x, int64_t n);

//===----------------------------------------------------------------------===//
// Reductions that vectorize
//===----------------------------------------------------------------------===//

/// Hot loops outside the GEMM get one clone per x86-64 level (AVX-512,
/// AVX2, baseline) that the loader picks for the running CPU, so the binary
/// stays portable while the loops use the widest vectors available. The
/// loader runs the clone resolvers before ThreadSanitizer's runtime is up,
/// so TSan builds go without.
#if defined(__SANITIZE_THREAD__)
#define BRAID_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BRAID_TSAN 1
#endif
#endif
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) &&        \
    defined(__linux__) && !defined(BRAID_TSAN)
#define BRAID_VECTOR_CLONES                                                    \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BRAID_VECTOR_CLONES
#endif

/// sum_i a[i] * b[i] with 16 independent partial sums: the inner loop has no
/// loop-carried dependence between lanes, so -O3 vectorizes it without
/// reassociation flags, and the result is deterministic.
inline float dot(const float *a, const float *b, int64_t n) {
  constexpr int L = 16;
  float lanes[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l)
      lanes[l] += a[i + l] * b[i + l];
  for (int l = 0; i < n; ++i, ++l)
    lanes[l] += a[i] * b[i];
  for (int w = L / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l)
      lanes[l] += lanes[l + w];
  return lanes[0];
}

/// sum_i x[i]^2 in double (norms are cheap; the extra precision is free).
inline double sumSquares(const float *x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i)
    s += static_cast<double>(x[i]) * x[i];
  return s;
}

/// y[r, :] = w * (x[r, :] * rsqrt(mean(x[r, :]^2) + eps)) over `rows` rows
/// of `h`: rms_norm's arithmetic, shared with the linear launches that fold
/// a norm (passes/PrologueFusion.h) so that both give the same bits. A null
/// `w` is a weight of ones (folded into the next GEMM's columns).
void rmsNormRows(ThreadPool *pool, const float *x, const float *w, float *y,
                 int64_t rows, int64_t h, double eps);

//===----------------------------------------------------------------------===//
// The kernel families (one function per braid op)
//===----------------------------------------------------------------------===//

std::string embeddingKernel(const KernelCall &call);
std::string rmsNormKernel(const KernelCall &call);
std::string layerNormKernel(const KernelCall &call);
std::string gatedRmsNormKernel(const KernelCall &call);
std::string linearKernel(const KernelCall &call);
std::string ropeKernel(const KernelCall &call);
std::string activationKernel(const KernelCall &call);
std::string addKernel(const KernelCall &call);
std::string mulKernel(const KernelCall &call);
std::string scaleKernel(const KernelCall &call);
std::string concatKernel(const KernelCall &call);
std::string splitKernel(const KernelCall &call);
std::string gatherLastKernel(const KernelCall &call);
std::string greedyNextKernel(const KernelCall &call);
std::string attentionKernel(const KernelCall &call);
std::string mlaKernel(const KernelCall &call);
std::string causalConv1dKernel(const KernelCall &call);
std::string selectiveScanKernel(const KernelCall &call);
std::string ssdScanKernel(const KernelCall &call);
std::string mamba2StepKernel(const KernelCall &call);
std::string moeKernel(const KernelCall &call);
std::string mergeKernel(const KernelCall &call);
std::string fusedElementwiseKernel(const KernelCall &call);

} // namespace braid::rt::cpu

#endif // BRAID_RUNTIME_BACKENDS_CPU_KERNELSUPPORT_H
