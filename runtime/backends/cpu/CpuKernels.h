//===- CpuKernels.h - the CPU reference kernel families ---------*- C++ -*-===//
//
// The contract between the runtime's executor and the CPU backend.
//
// One kernel family per `braid` op (dialects/Braid/BraidOps.td is the
// specification of what each computes). A launch passes:
//   * operands in the op's operand order, an absent optional operand as an
//     empty TensorView (data == nullptr);
//   * results in the op's result order (absent optional results are simply
//     not there);
//   * the op's attributes under the op's attribute names; enum attributes as
//     their keyword strings ("silu", "softmax_topk", "sum"); absent optional
//     attributes are absent; default-valued attributes are always present.
// Results are written by the kernel; a result may alias an operand of the
// same shape (state updates in place: conv_state, initial_state/final_state,
// k_cache/v_cache), so kernels read what they need before overwriting it.
// All float tensors are fp32, row-major, contiguous; ids, positions and
// cache positions are int64.
//
// No LLVM or MLIR dependency.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CPU_CPUKERNELS_H
#define BRAID_RUNTIME_BACKENDS_CPU_CPUKERNELS_H

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace braid::rt {

enum class ElementType { F32, I64 };

/// A dense row-major tensor the kernel reads or writes. Not owning.
struct TensorView {
  void *data = nullptr;
  ElementType type = ElementType::F32;
  std::vector<int64_t> shape;

  bool present() const { return data != nullptr; }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const { return shape[i < 0 ? i + rank() : i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  float *f32() const { return static_cast<float *>(data); }
  int64_t *i64() const { return static_cast<int64_t *>(data); }
};

using AttrValue = std::variant<int64_t, double, bool, std::string,
                               std::vector<int64_t>, std::vector<double>>;

/// Attributes of one launch, by name. Getters fail (return false / throw
/// nothing) through `AttrMap::error` so kernels can report a clear message.
class AttrMap {
public:
  void set(std::string name, AttrValue value) {
    values[std::move(name)] = std::move(value);
  }
  bool has(std::string_view name) const {
    return values.find(std::string(name)) != values.end();
  }
  /// Typed lookups; a missing or mistyped attribute records an error (see
  /// firstError) and yields the fallback.
  int64_t getInt(std::string_view name, int64_t fallback = 0) const;
  double getFloat(std::string_view name, double fallback = 0.0) const;
  bool getBool(std::string_view name, bool fallback = false) const;
  std::string getString(std::string_view name,
                        std::string fallback = "") const;
  std::vector<int64_t> getInts(std::string_view name) const;
  std::vector<double> getFloats(std::string_view name) const;
  /// Optional attributes: the fallback when absent, no error.
  double getFloatOr(std::string_view name, double fallback) const;
  int64_t getIntOr(std::string_view name, int64_t fallback) const;

  /// The first lookup error ("attribute 'epsilon' is missing"), or "".
  const std::string &firstError() const { return error; }

private:
  const AttrValue *lookup(std::string_view name, const char *want) const;
  std::map<std::string, AttrValue> values;
  mutable std::string error;
};

/// Runs fn(begin, end) over [0, n) split across the backend's threads.
class ThreadPool {
public:
  explicit ThreadPool(unsigned threads = 0); // 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  unsigned size() const;
  /// Blocks until every chunk is done. `grain` is the smallest chunk.
  void parallelFor(int64_t n, const std::function<void(int64_t, int64_t)> &fn,
                   int64_t grain = 1);

private:
  struct Impl;
  Impl *impl;
};

struct KernelCall {
  std::vector<TensorView> operands;
  std::vector<TensorView> results;
  AttrMap attrs;
  ThreadPool *pool = nullptr;
  /// Where the launch came from ("layers.3.mixer"), for messages.
  std::string location;
};

/// Returns "" on success, otherwise a one-line message that names the
/// family, the operand or attribute at fault and the values involved.
using KernelFn = std::string (*)(const KernelCall &call);

/// The kernel of `family` ("linear", "ssd_scan", ...), or nullptr.
KernelFn findCpuKernel(std::string_view family);

/// Every family the CPU backend implements, for `braid-run info` and tests.
std::vector<std::string_view> cpuKernelFamilies();

} // namespace braid::rt

#endif // BRAID_RUNTIME_BACKENDS_CPU_CPUKERNELS_H
