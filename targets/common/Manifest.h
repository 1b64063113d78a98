//===- Manifest.h - launch IR to the bundle manifest ------------*- C++ -*-===//
//
// Serializes a module in the launch dialect into the manifest JSON that
// docs/bundle.md specifies, and writes bundles through the runtime's writer.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_MANIFEST_H
#define BRAID_TARGETS_COMMON_MANIFEST_H

#include "targets/common/GpuCode.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace braid {

struct ManifestInfo {
  std::string model;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  /// "cpu"; "cuda" and each CUDA code section's architecture ("sm_80",
  /// "sm_90a", "compute_90") when the bundle holds CUDA code.
  std::vector<std::string> targets;
  /// GPU code per vendor: each launch gains an object under the vendor's
  /// name ("cuda") saying which kernels to run (docs/cuda.md).
  std::vector<const gpu::GpuCode *> gpuCode;
};

/// The manifest of `module` (launch dialect); errors name the op at fault.
llvm::Expected<llvm::json::Value> buildManifest(mlir::ModuleOp module,
                                                const ManifestInfo &info);

/// Counts for `braidc --stats`: launches per entry and per kernel family,
/// arena bytes per token (planned and without reuse), state bytes.
void printLaunchStats(mlir::ModuleOp module, llvm::raw_ostream &os);

} // namespace braid

#endif // BRAID_TARGETS_COMMON_MANIFEST_H
