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
// returned GpuCode. Mirrors the CUDA emitter; see docs/amd.md.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_HIP_EMITTER_H
#define BRAID_TARGETS_HIP_EMITTER_H

#include "targets/common/GpuCode.h"
#include "targets/hip/Toolchain.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <utility>
#include <vector>

namespace braid::hip {

struct EmitterOptions {
  /// Code section architectures in order (knownArchs()); the first one's
  /// plan is the manifest's default for a launch.
  std::vector<std::string> archs = {"gfx90a", "gfx942", "gfx950"};
  /// Kernel cache; "" = defaultCacheDir().
  std::string cacheDir;
  /// Folder the sources' #includes resolve from (the Braid source tree);
  /// "" = $BRAID_SOURCE_DIR, else the tree braidc was built from.
  std::string sourceRoot;
  unsigned jobs = 0; // parallel clang processes; 0 = Ninja's default
  /// Fail when a kernel of a hot plan (KernelPlan::hot) spills registers or
  /// uses scratch (private segment) memory.
  bool checkSpills = false;
  /// Skip launches whose family has no specializer (GpuCode::missing).
  bool allowMissing = false;
  /// The specializer registry; null = findSpecializer (for tests).
  gpu::Specializer (*lookup)(llvm::StringRef family) = nullptr;
};

/// Specializes every launch without compiling (`--emit=source`).
llvm::Expected<gpu::GpuCode> planHip(mlir::ModuleOp module,
                                     const EmitterOptions &options);

/// One code object and its kernels' metadata.
struct CompiledObject {
  std::string module;
  std::string arch;
  std::string path;
  std::vector<KernelResources> resources;
};

struct HipBuild {
  gpu::GpuCode code;
  std::string buildDir;  // the cache folder of this clang
  unsigned compiled = 0; // objects compiled now (the rest came cached)
  std::vector<CompiledObject> objects;
  /// ("code.gfx942", archive bytes) per architecture, in `archs` order.
  std::vector<std::pair<std::string, std::string>> sections;
};

/// planHip, then compile (progress and notes on `log`), check every launch
/// against its kernel's metadata, and pack the sections. Errors name the
/// translation unit, the architecture, the launch, and show clang's output.
llvm::Expected<HipBuild> buildHip(mlir::ModuleOp module,
                                  const EmitterOptions &options,
                                  llvm::raw_ostream &log);

/// Every translation unit, each after a banner comment naming its module,
/// architectures and first launch (`--emit=source`).
void printSources(const gpu::GpuCode &code, llvm::raw_ostream &os);
/// Writes every translation unit as <dir>/<module>.cu.
llvm::Error writeSources(const gpu::GpuCode &code, llvm::StringRef dir);

/// A table of VGPRs, AGPRs, SGPRs, LDS, scratch and spills per kernel
/// function and architecture (`--emit=kernels`, `--stats`).
void printResources(const HipBuild &build, llvm::raw_ostream &os);

} // namespace braid::hip

#endif // BRAID_TARGETS_HIP_EMITTER_H
