//===- CpuTestUtil.h - tensors, launches and comparisons for CPU tests ----===//
//
// Owning tensors with random contents, a launch builder that mirrors how
// the executor fills a KernelCall, and the relative L2 error against the
// double-precision references written in each test file.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TEST_UNIT_CPU_CPUTESTUTIL_H
#define BRAID_TEST_UNIT_CPU_CPUTESTUTIL_H

#include "runtime/backends/cpu/CpuKernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace braid::rt::test {

/// The tolerance of every kernel against its double reference.
constexpr double kTolerance = 1e-5;

/// A dense fp32 or int64 tensor that owns its data.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> f;
  std::vector<int64_t> i;
  bool isInt = false;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> s, float fill = 0.0f)
      : shape(std::move(s)) {
    f.assign(static_cast<size_t>(numel()), fill);
  }
  static Tensor ints(std::vector<int64_t> s, std::vector<int64_t> values) {
    Tensor t;
    t.shape = std::move(s);
    t.isInt = true;
    t.i = std::move(values);
    return t;
  }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  TensorView view() {
    TensorView v;
    v.shape = shape;
    v.type = isInt ? ElementType::I64 : ElementType::F32;
    v.data =
        isInt ? static_cast<void *>(i.data()) : static_cast<void *>(f.data());
    if (numel() == 0) // an empty tensor is still present
      v.data = this;
    return v;
  }
  float &operator[](int64_t k) { return f[k]; }
  float operator[](int64_t k) const { return f[k]; }
};

/// Deterministic random tensors.
class Rng {
public:
  explicit Rng(uint32_t seed = 1234) : gen(seed) {}
  Tensor uniform(std::vector<int64_t> shape, float lo = -1.0f,
                 float hi = 1.0f) {
    Tensor t(std::move(shape));
    std::uniform_real_distribution<float> dist(lo, hi);
    for (float &v : t.f)
      v = dist(gen);
    return t;
  }
  int64_t integer(int64_t lo, int64_t hi) { // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(gen);
  }

private:
  std::mt19937 gen;
};

/// Relative L2 error of `got` against `want`.
inline double relL2(const std::vector<float> &got,
                    const std::vector<double> &want) {
  EXPECT_EQ(got.size(), want.size());
  double num = 0.0, den = 0.0;
  for (size_t k = 0; k < got.size() && k < want.size(); ++k) {
    num += (got[k] - want[k]) * (got[k] - want[k]);
    den += want[k] * want[k];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}
inline double relL2(const std::vector<float> &got,
                    const std::vector<float> &want) {
  return relL2(got, std::vector<double>(want.begin(), want.end()));
}

#define EXPECT_CLOSE(got, want)                                                \
  EXPECT_LE(::braid::rt::test::relL2(got, want), ::braid::rt::test::kTolerance)

/// Builds one launch: operands and results in op order, attributes by name.
class Launch {
public:
  explicit Launch(std::string family) : family(std::move(family)) {}
  Launch &in(Tensor &t) {
    call.operands.push_back(t.view());
    return *this;
  }
  /// An absent optional operand.
  Launch &none() {
    call.operands.push_back(TensorView());
    return *this;
  }
  Launch &out(Tensor &t) {
    call.results.push_back(t.view());
    return *this;
  }
  Launch &attr(const std::string &name, AttrValue value) {
    call.attrs.set(name, std::move(value));
    return *this;
  }
  Launch &attr(const std::string &name, int value) {
    return attr(name, AttrValue(static_cast<int64_t>(value)));
  }
  Launch &attr(const std::string &name, int64_t value) {
    return attr(name, AttrValue(value));
  }
  Launch &attr(const std::string &name, bool value) {
    return attr(name, AttrValue(value));
  }
  Launch &attr(const std::string &name, double value) {
    return attr(name, AttrValue(value));
  }
  Launch &attr(const std::string &name, const char *value) {
    return attr(name, AttrValue(std::string(value)));
  }
  /// Runs the kernel; returns its message ("" on success).
  std::string run(ThreadPool *pool) {
    KernelFn fn = findCpuKernel(family);
    if (!fn)
      return "no kernel for " + family;
    call.pool = pool;
    return fn(call);
  }
  KernelCall call;

private:
  std::string family;
};

/// A pool shared by the tests: more threads than this machine's cores, so
/// chunk scheduling and joins are exercised.
inline ThreadPool *testPool() {
  static ThreadPool pool(4);
  return &pool;
}

/// Pools the family tests run under: none (inline) and the shared pool.
inline std::vector<ThreadPool *> pools() { return {nullptr, testPool()}; }

inline std::vector<double> toDouble(const Tensor &t) {
  return std::vector<double>(t.f.begin(), t.f.end());
}

inline double sigmoidRef(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double siluRef(double x) { return x * sigmoidRef(x); }
inline double softplusRef(double x) {
  return x > 20.0 ? x : std::log1p(std::exp(x));
}

} // namespace braid::rt::test

#endif // BRAID_TEST_UNIT_CPU_CPUTESTUTIL_H
