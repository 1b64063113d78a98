//===- CudaPlan.h - NVIDIA architectures and code sections ------*- C++ -*-===//
//
// NVIDIA architecture names and the choice of a code section for a device,
// driver-free so that it can be tested without a GPU. The vendor-neutral
// rest (code archives, launch plans, kernel parameters) is in GpuPlan.h.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CUDA_CUDAPLAN_H
#define BRAID_RUNTIME_BACKENDS_CUDA_CUDAPLAN_H

#include "runtime/src/GpuPlan.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace braid::rt::gpu {

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

/// A code section's architecture: "sm_90a" -> {90, 'a', false}, "compute_90"
/// -> {90, 0, true}.
struct ArchName {
  int number = 0;   ///< major * 10 + minor (sm_100: 100)
  char suffix = 0;  ///< 'a' (architecture-specific), 'f' (family), or 0
  bool ptx = false; ///< compute_XY: PTX for the driver to compile
};
std::optional<ArchName> parseArchName(std::string_view arch);

/// The best code section for a device of compute capability major.minor
/// among `sections` (all section names of the bundle; others than code.*
/// are ignored), in this order: a cubin for exactly the device
/// (sm_XYa, then sm_XY); a cubin of the same major version and a lower minor
/// (binary compatible, no 'a'/'f' suffix), the highest; PTX (compute_XY with
/// XY <= the device, compute_XYa only for exactly the device), the highest.
/// nullopt when none fits.
std::optional<ArchChoice> chooseArch(int major, int minor,
                                     const std::vector<std::string> &sections);

/// "sm_90" for 9.0.
std::string deviceArch(int major, int minor);

} // namespace braid::rt::gpu

#endif // BRAID_RUNTIME_BACKENDS_CUDA_CUDAPLAN_H
