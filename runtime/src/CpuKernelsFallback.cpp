//===- CpuKernelsFallback.cpp - stand-in while the CPU kernels are absent -===//
//
// Built only when the BraidCpuBackend library (runtime/backends/cpu/, the CPU
// kernel families) is not part of the build. It supplies the pieces of
// CpuKernels.h the runtime links against: a ThreadPool that runs chunks on
// the calling thread, AttrMap lookups, and a findCpuKernel that knows no
// family, so every launch reports "kernel family '...' is not implemented by
// the cpu backend". Bundles open, weights load and check, and tests run the
// executor on their own kernels through the KernelLookup hook.
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/cpu/CpuKernels.h"

namespace braid::rt {

struct ThreadPool::Impl {};

ThreadPool::ThreadPool(unsigned) : impl(nullptr) {}
ThreadPool::~ThreadPool() = default;
unsigned ThreadPool::size() const { return 1; }
void ThreadPool::parallelFor(int64_t n,
                             const std::function<void(int64_t, int64_t)> &fn,
                             int64_t) {
  if (n > 0)
    fn(0, n);
}

const AttrValue *AttrMap::lookup(std::string_view name,
                                 const char *want) const {
  auto it = values.find(std::string(name));
  if (it == values.end()) {
    if (error.empty())
      error = "attribute '" + std::string(name) + "' is missing";
    return nullptr;
  }
  (void)want;
  return &it->second;
}

int64_t AttrMap::getInt(std::string_view name, int64_t fallback) const {
  const AttrValue *v = lookup(name, "an integer");
  if (v && std::holds_alternative<int64_t>(*v))
    return std::get<int64_t>(*v);
  if (v && error.empty())
    error = "attribute '" + std::string(name) + "' is not an integer";
  return fallback;
}

double AttrMap::getFloat(std::string_view name, double fallback) const {
  const AttrValue *v = lookup(name, "a number");
  if (v && std::holds_alternative<double>(*v))
    return std::get<double>(*v);
  if (v && std::holds_alternative<int64_t>(*v))
    return static_cast<double>(std::get<int64_t>(*v));
  if (v && error.empty())
    error = "attribute '" + std::string(name) + "' is not a number";
  return fallback;
}

bool AttrMap::getBool(std::string_view name, bool fallback) const {
  const AttrValue *v = lookup(name, "a boolean");
  if (v && std::holds_alternative<bool>(*v))
    return std::get<bool>(*v);
  if (v && error.empty())
    error = "attribute '" + std::string(name) + "' is not a boolean";
  return fallback;
}

std::string AttrMap::getString(std::string_view name,
                               std::string fallback) const {
  const AttrValue *v = lookup(name, "a string");
  if (v && std::holds_alternative<std::string>(*v))
    return std::get<std::string>(*v);
  if (v && error.empty())
    error = "attribute '" + std::string(name) + "' is not a string";
  return fallback;
}

std::vector<int64_t> AttrMap::getInts(std::string_view name) const {
  const AttrValue *v = lookup(name, "an integer array");
  if (v && std::holds_alternative<std::vector<int64_t>>(*v))
    return std::get<std::vector<int64_t>>(*v);
  if (v && error.empty())
    error = "attribute '" + std::string(name) + "' is not an integer array";
  return {};
}

std::vector<double> AttrMap::getFloats(std::string_view name) const {
  const AttrValue *v = lookup(name, "a number array");
  if (v && std::holds_alternative<std::vector<double>>(*v))
    return std::get<std::vector<double>>(*v);
  if (v && std::holds_alternative<std::vector<int64_t>>(*v)) {
    const auto &ints = std::get<std::vector<int64_t>>(*v);
    return std::vector<double>(ints.begin(), ints.end());
  }
  if (v && error.empty())
    error = "attribute '" + std::string(name) + "' is not a number array";
  return {};
}

double AttrMap::getFloatOr(std::string_view name, double fallback) const {
  return has(name) ? getFloat(name, fallback) : fallback;
}

int64_t AttrMap::getIntOr(std::string_view name, int64_t fallback) const {
  return has(name) ? getInt(name, fallback) : fallback;
}

KernelFn findCpuKernel(std::string_view) { return nullptr; }

std::vector<std::string_view> cpuKernelFamilies() { return {}; }

} // namespace braid::rt
