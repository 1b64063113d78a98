//===- Backend.cpp - the backends built into this runtime -----------------===//

#include "runtime/src/Backend.h"

#include "runtime/backends/cpu/CpuBackend.h"
#include "runtime/src/Error.h"

namespace braid::rt {

namespace {
KernelLookup &defaultLookup() {
  static KernelLookup lookup;
  return lookup;
}
} // namespace

void setDefaultKernelLookupForTesting(KernelLookup lookup) {
  defaultLookup() = std::move(lookup);
}

std::vector<std::string> availableBackends() { return {"cpu"}; }

std::unique_ptr<Backend> createBackend(const BackendOptions &options) {
  if (options.name == "cpu")
    return std::make_unique<CpuBackend>(
        options.threads,
        options.kernelLookup ? options.kernelLookup : defaultLookup());
  std::string list;
  for (const std::string &b : availableBackends())
    list += (list.empty() ? "" : ", ") + b;
  if (options.name == "cuda" || options.name == "hip")
    fail(ErrorCode::Unsupported, "backend '" + options.name +
                                     "' is not built into this runtime yet "
                                     "(available: " +
                                     list + ")");
  fail(ErrorCode::Unsupported,
       "unknown backend '" + options.name + "' (available: " + list + ")");
}

} // namespace braid::rt
