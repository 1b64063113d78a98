//===- HipPlan.h - AMD architectures and code sections ----------*- C++ -*-===//
//
// AMD architecture names and the choice of a code section for a device,
// driver-free so that it can be tested without a GPU. The vendor-neutral
// rest (code archives, the manifest's per-launch "hip" objects, kernel
// parameters) is in runtime/src/GpuPlan.h, shared with CUDA.
//
// Unlike CUDA there is no JIT fallback: an AMD code object runs only on the
// architecture it was compiled for, so a device needs `code.<its gfx name>`.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_HIP_HIPPLAN_H
#define BRAID_RUNTIME_BACKENDS_HIP_HIPPLAN_H

#include "runtime/src/GpuPlan.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace braid::rt::gpu {

/// The processor of an AMD target ID: "gfx942:sramecc+:xnack-" -> "gfx942",
/// "gfx90a" -> "gfx90a". nullopt unless it is "gfx" and 3 or 4 hex digits
/// (gfx90a, gfx942, gfx1100), optionally followed by ':' features.
std::optional<std::string> normalizeGcnArch(std::string_view targetId);

/// The gcnArchName in the bytes hipGetDeviceProperties wrote: the first
/// NUL-terminated string that starts where a field does (after a NUL) and
/// normalizes. Reading it this way does not depend on the struct's layout,
/// which differs between ROCm versions; the device's marketing name (the
/// struct's first field, "AMD Instinct MI300X") never starts with "gfx".
std::optional<std::string> findGcnArchName(const void *properties,
                                           size_t bytes);

/// The AMD architectures among the bundle's code sections, in order:
/// "code.gfx942" -> "gfx942".
std::vector<std::string> amdArchs(const std::vector<std::string> &sections);

/// `code.<arch>` when the bundle has it (exact match only); nullopt else.
std::optional<ArchChoice>
chooseHipArch(const std::string &arch,
              const std::vector<std::string> &sections);

} // namespace braid::rt::gpu

#endif // BRAID_RUNTIME_BACKENDS_HIP_HIPPLAN_H
