//===- Emitter.h - the CUDA target: launch module to code sections -*- C++ -*-===//
//
// Turns a module in the launch dialect into CUDA code objects: every launch
// is specialized (GpuCode.h), each distinct translation unit is compiled by
// nvcc for each architecture (Toolchain.h; cached), the results are checked
// against ptxas's resource report, and the objects of each architecture are
// packed into one `code.<arch>` bundle section (CodeArchive.h). The
// manifest's per-launch "cuda" objects come from the returned GpuCode.
// See docs/cuda.md. targets/hip/Emitter.cpp mirrors it.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_CUDA_EMITTER_H
#define BRAID_TARGETS_CUDA_EMITTER_H

#include "targets/common/GpuCode.h"
#include "targets/cuda/Toolchain.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <utility>
#include <vector>

namespace braid::cuda {

struct EmitterOptions {
  /// Code section architectures in order (knownArchs()); the first one's
  /// plan is the manifest's default for a launch.
  std::vector<std::string> archs = {"sm_80", "sm_90a", "compute_90"};
  /// Kernel cache; "" = defaultCacheDir().
  std::string cacheDir;
  /// Folder the sources' #includes resolve from (the Braid source tree);
  /// "" = $BRAID_SOURCE_DIR, else the tree braidc was built from.
  std::string sourceRoot;
  unsigned jobs = 0; // parallel nvcc processes; 0 = Ninja's default
  /// Fail when a kernel of a hot plan (KernelPlan::hot) spills registers.
  bool checkSpills = false;
  /// Skip launches whose family has no specializer (GpuCode::missing).
  bool allowMissing = false;
  /// The specializer registry; null = findSpecializer (for tests).
  gpu::Specializer (*lookup)(llvm::StringRef family) = nullptr;
};

/// Specializes every launch without compiling (`--emit=source`).
llvm::Expected<gpu::GpuCode> planCuda(mlir::ModuleOp module,
                                      const EmitterOptions &options);

/// One object and what ptxas reported for it (nothing for PTX).
struct CompiledObject {
  std::string module;
  std::string arch;
  std::string path;
  std::vector<FunctionResources> resources;
};

struct CudaBuild {
  gpu::GpuCode code;
  std::string buildDir; // the cache folder of this nvcc
  unsigned compiled = 0; // objects compiled now (the rest came cached)
  std::vector<CompiledObject> objects;
  /// ("code.sm_90a", archive bytes) per architecture, in `archs` order.
  std::vector<std::pair<std::string, std::string>> sections;
};

/// planCuda, then compile (progress and notes on `log`), check every launch
/// against its kernel's resources, and pack the sections. Errors name the
/// translation unit, the architecture, the launch, and show nvcc's output.
llvm::Expected<CudaBuild> buildCuda(mlir::ModuleOp module,
                                    const EmitterOptions &options,
                                    llvm::raw_ostream &log);

/// Every translation unit, each after a banner comment naming its module,
/// architectures and first launch (`--emit=source`).
void printSources(const gpu::GpuCode &code, llvm::raw_ostream &os);
/// Writes every translation unit as <dir>/<module>.cu.
llvm::Error writeSources(const gpu::GpuCode &code, llvm::StringRef dir);

/// A table of registers, shared memory and spills per kernel function and
/// architecture (`--emit=kernels`, `--stats`).
void printResources(const CudaBuild &build, llvm::raw_ostream &os);

} // namespace braid::cuda

#endif // BRAID_TARGETS_CUDA_EMITTER_H
