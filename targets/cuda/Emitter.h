//===- Emitter.h - the CUDA target: launch module to code sections -*- C++ -*-===//
//
// Turns a module in the launch dialect into CUDA code objects: every launch
// is specialized (GpuCode.h), each distinct translation unit is compiled by
// nvcc for each architecture (Toolchain.h; cached), the results are checked
// against ptxas's resource report, and the objects of each architecture are
// packed into one `code.<arch>` bundle section (CodeArchive.h). The
// manifest's per-launch "cuda" objects come from the returned GpuCode.
// See docs/cuda.md. The steps shared with HIP are in GpuBuild.h.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_CUDA_EMITTER_H
#define BRAID_TARGETS_CUDA_EMITTER_H

#include "targets/common/GpuBuild.h"
#include "targets/common/GpuCode.h"
#include "targets/cuda/Toolchain.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <utility>
#include <vector>

namespace braid::cuda {

/// The shared options (GpuBuild.h) and the code section architectures in
/// order (knownArchs()); the first one's plan is the manifest's default for
/// a launch.
struct EmitterOptions : gpu::EmitterOptions {
  std::vector<std::string> archs = {"sm_80", "sm_90a", "compute_90"};
};

/// Specializes every launch without compiling (`--emit=source`).
llvm::Expected<gpu::GpuCode> planCuda(mlir::ModuleOp module,
                                      const EmitterOptions &options);

/// One object and what ptxas reported for it (nothing for PTX).
using CompiledObject = gpu::CompiledObject<FunctionResources>;
/// The plan, the cache folder of this compiler, the objects and the
/// ("code.sm_90a", archive bytes) per architecture, in `archs` order.
using CudaBuild = gpu::GpuBuild<FunctionResources>;

/// planCuda, then compile (progress and notes on `log`), check every launch
/// against its kernel's resources, and pack the sections. Errors name the
/// translation unit, the architecture, the launch, and show nvcc's output.
llvm::Expected<CudaBuild> buildCuda(mlir::ModuleOp module,
                                    const EmitterOptions &options,
                                    llvm::raw_ostream &log);

/// `--emit=source` and its files (GpuBuild.h): the same for every target.
using gpu::printSources;
using gpu::writeSources;

/// A table of registers, shared memory and spills per kernel function and
/// architecture (`--emit=kernels`, `--stats`).
void printResources(const CudaBuild &build, llvm::raw_ostream &os);

} // namespace braid::cuda

#endif // BRAID_TARGETS_CUDA_EMITTER_H
