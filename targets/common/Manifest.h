//===- Manifest.h - launch IR to the bundle manifest ------------*- C++ -*-===//
//
// Serializes a module in the launch dialect into the manifest JSON that
// docs/bundle.md specifies, and writes bundles through the runtime's writer.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_MANIFEST_H
#define BRAID_TARGETS_COMMON_MANIFEST_H

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
  std::vector<std::string> targets; // "cpu", "sm_90a", ...
};

/// The manifest of `module` (launch dialect); errors name the op at fault.
llvm::Expected<llvm::json::Value> buildManifest(mlir::ModuleOp module,
                                                const ManifestInfo &info);

/// Counts for `braidc --stats`: launches per entry and per kernel family,
/// arena bytes per token (planned and without reuse), state bytes.
void printLaunchStats(mlir::ModuleOp module, llvm::raw_ostream &os);

} // namespace braid

#endif // BRAID_TARGETS_COMMON_MANIFEST_H
