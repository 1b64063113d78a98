//===- Toolchain.h - nvcc, ninja and the kernel cache -----------*- C++ -*-===//
//
// Finds nvcc, writes the build.ninja that compiles the translation units of
// a bundle for each architecture, runs it (Ninja when present, else the same
// commands one after another), and reads ptxas's resource reports. Objects
// live in a cache folder, named by the hash of their source and flags
// (docs/cuda.md, "Kernel cache"); the vendor-neutral part is GpuBuild.h.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_CUDA_TOOLCHAIN_H
#define BRAID_TARGETS_CUDA_TOOLCHAIN_H

#include "targets/common/GpuBuild.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace braid::cuda {

/// The code section architectures braidc knows: cubins for sm_80 and
/// sm_90a, PTX for compute_90.
llvm::ArrayRef<llvm::StringRef> knownArchs();
bool isPTXArch(llvm::StringRef arch);
/// "cubin" or "ptx".
llvm::StringRef objectExtension(llvm::StringRef arch);

struct Toolchain {
  std::string nvcc;    // absolute path
  std::string version; // "V13.0.88" (or nvcc's last --version line)
  std::string ninja;   // absolute path; empty when Ninja is not installed
};

/// nvcc from $CUDA_HOME/bin, /usr/local/cuda/bin, then PATH; the error says
/// where it looked. Ninja from PATH (optional).
llvm::Expected<Toolchain> findToolchain();

/// The nvcc flags of every object (the include folders come on top), then
/// those of one architecture. These are the knobs; every flag is part of
/// the hash that names the objects.
std::vector<std::string> commonFlags();
std::vector<std::string> archFlags(llvm::StringRef arch);
/// All flags of all architectures, as hashed into module names.
std::string flagsKey();

using gpu::defaultCacheDir; // shared with the HIP target

/// The folder of `cacheDir` that holds the objects of `toolchain`
/// (one per nvcc version, so that an upgrade never reuses old objects).
std::string toolchainDir(llvm::StringRef cacheDir, const Toolchain &toolchain);

/// The nvcc jobs' objects are k<hash>.<arch>.cubin | .ptx; their log
/// (k<hash>.<arch>.resources) is nvcc's output with ptxas -v, also when it
/// failed.
using gpu::BuildOptions;
using gpu::CompileJob;

/// How the shared build steps (GpuBuild.h) name and run nvcc.
const gpu::GpuVendor &vendor();

/// Writes <dir>/build.ninja for `jobs` and brings their objects up to date,
/// holding <dir>/.lock meanwhile (braidc processes sharing a cache take
/// turns). Progress goes to `progress`. Returns the indices of the jobs
/// whose object is missing afterwards (their log says why).
llvm::Expected<std::vector<size_t>>
buildObjects(const Toolchain &toolchain, const BuildOptions &options,
             llvm::ArrayRef<CompileJob> jobs, llvm::raw_ostream &progress);

/// What ptxas -v reports for one function.
struct FunctionResources {
  std::string function;
  bool entry = false; // a __global__ function ("Compiling entry function")
  int64_t registers = 0;
  int64_t barriers = 0;
  int64_t sharedBytes = 0; // static shared memory
  int64_t stackFrame = 0;
  int64_t spillStores = 0;
  int64_t spillLoads = 0;
};

/// Parses the ptxas -v lines of one compile (one architecture).
std::vector<FunctionResources> parsePtxasReport(llvm::StringRef text);

/// Per-block limits of an architecture, for checking launches.
struct ArchLimits {
  int64_t registersPerBlock = 65536;
  int64_t sharedBytesPerBlock = 0; // with the opt-in for large allocations
};
ArchLimits archLimits(llvm::StringRef arch);

} // namespace braid::cuda

#endif // BRAID_TARGETS_CUDA_TOOLCHAIN_H
