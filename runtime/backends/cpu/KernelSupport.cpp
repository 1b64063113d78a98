//===- KernelSupport.cpp - validation and helpers of the CPU kernels ------===//
//
// The wording of the messages follows the braid verifiers
// (dialects/Braid/BraidVerifyUtils.h) so that a launch-time shape error
// reads like the compile-time one: operand, dimension index, meaning,
// expected and found values.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/KernelSupport.h"

namespace braid::rt::cpu {

static const TensorView &emptyView() {
  static const TensorView empty;
  return empty;
}

const TensorView &operandAt(const KernelCall &call, size_t i) {
  return i < call.operands.size() ? call.operands[i] : emptyView();
}

const TensorView &resultAt(const KernelCall &call, size_t i) {
  return i < call.results.size() ? call.results[i] : emptyView();
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

static std::string quoted(std::string_view name) {
  return "'" + std::string(name) + "'";
}

Check::Check(const KernelCall &call, std::string_view family) : call(call) {
  prefix = std::string(family);
  if (!call.location.empty())
    prefix += " (" + call.location + ")";
  prefix += ": ";
}

void Check::fail(const std::string &what) {
  if (error.empty())
    error = prefix + what;
}

Check &Check::operandCount(size_t min, size_t max) {
  size_t n = call.operands.size();
  if (ok() && (n < min || n > max))
    fail("expects " +
         (min == max ? std::to_string(min)
                     : std::to_string(min) + " to " + std::to_string(max)) +
         " operands, got " + std::to_string(n));
  return *this;
}

Check &Check::resultCount(size_t n) {
  if (ok() && call.results.size() != n)
    fail("expects " + std::to_string(n) + " results, got " +
         std::to_string(call.results.size()));
  return *this;
}

Check &Check::f32(std::string_view name, const TensorView &view) {
  if (!ok())
    return *this;
  if (!view.present())
    fail(quoted(name) + " is missing");
  else if (view.type != ElementType::F32)
    fail(quoted(name) + " must be f32, got i64");
  return *this;
}

Check &Check::i64(std::string_view name, const TensorView &view) {
  if (!ok())
    return *this;
  if (!view.present())
    fail(quoted(name) + " is missing");
  else if (view.type != ElementType::I64)
    fail(quoted(name) + " must be i64, got f32");
  return *this;
}

Check &Check::rank(std::string_view name, const TensorView &view,
                   int64_t rank) {
  if (ok() && view.rank() != rank)
    fail(quoted(name) + " must have rank " + std::to_string(rank) + ", got " +
         shapeString(view.shape));
  return *this;
}

Check &Check::minRank(std::string_view name, const TensorView &view,
                      int64_t rank) {
  if (ok() && view.rank() < rank)
    fail(quoted(name) + " must have rank at least " + std::to_string(rank) +
         ", got " + shapeString(view.shape));
  return *this;
}

Check &Check::dimIs(std::string_view name, const TensorView &view, int64_t dim,
                    int64_t expected, std::string_view meaning) {
  if (!ok())
    return *this;
  int64_t d = dim < 0 ? dim + view.rank() : dim;
  if (d < 0 || d >= view.rank())
    fail(quoted(name) + " has no dim " + std::to_string(dim) + " (shape " +
         shapeString(view.shape) + ")");
  else if (view.shape[d] != expected)
    fail(quoted(name) + " dim " + std::to_string(d) + " (" +
         std::string(meaning) + ") is " + std::to_string(view.shape[d]) +
         ", expected " + std::to_string(expected));
  return *this;
}

Check &Check::dimsMatch(std::string_view aName, const TensorView &a,
                        int64_t aDim, std::string_view bName,
                        const TensorView &b, int64_t bDim,
                        std::string_view meaning) {
  if (!ok())
    return *this;
  int64_t da = aDim < 0 ? aDim + a.rank() : aDim;
  int64_t db = bDim < 0 ? bDim + b.rank() : bDim;
  if (da < 0 || da >= a.rank())
    fail(quoted(aName) + " has no dim " + std::to_string(aDim) + " (shape " +
         shapeString(a.shape) + ")");
  else if (db < 0 || db >= b.rank())
    fail(quoted(bName) + " has no dim " + std::to_string(bDim) + " (shape " +
         shapeString(b.shape) + ")");
  else if (a.shape[da] != b.shape[db])
    fail(quoted(aName) + " dim " + std::to_string(da) + " (" +
         std::string(meaning) + ") is " + std::to_string(a.shape[da]) +
         " but " + quoted(bName) + " dim " + std::to_string(db) + " is " +
         std::to_string(b.shape[db]));
  return *this;
}

Check &Check::sameShape(std::string_view aName, const TensorView &a,
                        std::string_view bName, const TensorView &b) {
  if (ok() && a.shape != b.shape)
    fail(quoted(aName) + " has shape " + shapeString(a.shape) + " but " +
         quoted(bName) + " has " + shapeString(b.shape));
  return *this;
}

Check &Check::shapeIs(std::string_view name, const TensorView &view,
                      const std::vector<int64_t> &shape) {
  if (ok() && view.shape != shape)
    fail(quoted(name) + " has shape " + shapeString(view.shape) +
         ", expected " + shapeString(shape));
  return *this;
}

Check &Check::attrAtLeast(std::string_view attr, int64_t value,
                          int64_t minimum) {
  if (ok() && value < minimum)
    fail("attribute " + quoted(attr) + " is " + std::to_string(value) +
         ", must be at least " + std::to_string(minimum));
  return *this;
}

Check &Check::attrPositive(std::string_view attr, double value) {
  if (ok() && !(value > 0.0))
    fail("attribute " + quoted(attr) + " is " + std::to_string(value) +
         ", must be positive");
  return *this;
}

Check &Check::attrsOk() {
  if (ok() && !call.attrs.firstError().empty())
    fail(call.attrs.firstError());
  return *this;
}

Check &Check::require(bool condition, const std::string &message) {
  if (ok() && !condition)
    fail(message);
  return *this;
}

void parallelFor(ThreadPool *pool, int64_t n,
                 const std::function<void(int64_t, int64_t)> &fn,
                 int64_t grain) {
  if (n <= 0)
    return;
  if (pool)
    pool->parallelFor(n, fn, grain);
  else
    fn(0, n);
}

bool parseActivation(std::string_view name, Activation &out) {
  static const std::pair<std::string_view, Activation> table[] = {
      {"identity", Activation::Identity}, {"silu", Activation::Silu},
      {"gelu", Activation::Gelu},         {"gelu_tanh", Activation::GeluTanh},
      {"relu", Activation::Relu},         {"relu2", Activation::Relu2},
      {"sigmoid", Activation::Sigmoid},   {"softplus", Activation::Softplus},
      {"tanh", Activation::Tanh}};
  for (const auto &[keyword, kind] : table)
    if (keyword == name) {
      out = kind;
      return true;
    }
  return false;
}

void activateInPlace(Activation kind, float *x, int64_t n) {
  // One switch per call, not per element, so each loop is a plain map.
  switch (kind) {
  case Activation::Identity:
    return;
  case Activation::Relu:
    for (int64_t i = 0; i < n; ++i)
      x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return;
  case Activation::Silu:
    for (int64_t i = 0; i < n; ++i)
      x[i] = siluf(x[i]);
    return;
  default:
    for (int64_t i = 0; i < n; ++i)
      x[i] = activate(kind, x[i]);
    return;
  }
}

} // namespace braid::rt::cpu
