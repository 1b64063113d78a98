//===- Emitter.h - the HIP target: launch module to code sections -*- C++
//-*-===//
//
// Turns a module in the launch dialect into AMD code objects: every launch
// is specialized for Target{"hip", gfx..} (GpuCode.h; wave64, MFMA tiles),
// each distinct translation unit is compiled by clang -x hip for each
// architecture (Toolchain.h; cached), every launch is checked against its
// kernel's AMDGPU metadata (VGPRs, LDS, scratch, wavefront size), and the
// objects of each architecture are packed into one `code.<arch>` section
// (CodeArchive.h). The manifest's per-launch "hip" objects come from the
// returned GpuCode. The steps shared with CUDA are in GpuBuild.h; see
// docs/amd.md.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_HIP_EMITTER_H
#define BRAID_TARGETS_HIP_EMITTER_H

#include "targets/common/GpuBuild.h"
#include "targets/common/GpuCode.h"
#include "targets/hip/Toolchain.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <utility>
#include <vector>

namespace braid::hip {

/// The shared options (GpuBuild.h) and the code section architectures in
/// order (knownArchs()); the first one's plan is the manifest's default for
/// a launch.
struct EmitterOptions : gpu::EmitterOptions {
  std::vector<std::string> archs = {"gfx90a", "gfx942", "gfx950"};
};

/// Specializes every launch without compiling (`--emit=source`).
llvm::Expected<gpu::GpuCode> planHip(mlir::ModuleOp module,
                                     const EmitterOptions &options);

/// One code object and its kernels' metadata.
using CompiledObject = gpu::CompiledObject<KernelResources>;
/// The plan, the cache folder of this compiler, the objects and the
/// ("code.gfx942", archive bytes) per architecture, in `archs` order.
using HipBuild = gpu::GpuBuild<KernelResources>;

/// planHip, then compile (progress and notes on `log`), check every launch
/// against its kernel's metadata, and pack the sections. Errors name the
/// translation unit, the architecture, the launch, and show clang's output.
llvm::Expected<HipBuild> buildHip(mlir::ModuleOp module,
                                  const EmitterOptions &options,
                                  llvm::raw_ostream &log);

/// `--emit=source` and its files (GpuBuild.h): the same for every target.
using gpu::printSources;
using gpu::writeSources;

/// A table of VGPRs, AGPRs, SGPRs, LDS, scratch and spills per kernel
/// function and architecture (`--emit=kernels`, `--stats`).
void printResources(const HipBuild &build, llvm::raw_ostream &os);

} // namespace braid::hip

#endif // BRAID_TARGETS_HIP_EMITTER_H
