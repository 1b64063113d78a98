//===- Toolchain.h - clang -x hip, ninja and the kernel cache ---*- C++ -*-===//
//
// The AMD side of targets/cuda/Toolchain.h: finds clang 22, Debian's HIP
// headers and the ROCm device libraries (with the bitcode files the build
// generates for gfx942 / gfx950 and ABI 6), writes the build.ninja that
// compiles each translation unit to one code object per architecture, runs
// it, and reads each object's AMDGPU metadata (llvm-readelf --notes).
// Objects live in the same kernel cache, in a folder per clang version
// (docs/amd.md).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_HIP_TOOLCHAIN_H
#define BRAID_TARGETS_HIP_TOOLCHAIN_H

#include "targets/common/GpuBuild.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace braid::hip {

/// The code section architectures braidc knows: gfx90a (MI200, CDNA2),
/// gfx942 (MI300, CDNA3), gfx950 (MI350, CDNA4).
llvm::ArrayRef<llvm::StringRef> knownArchs();
/// "hsaco" (an AMDGPU ELF code object).
llvm::StringRef objectExtension(llvm::StringRef arch);

struct Toolchain {
  std::string clang;      // absolute path
  std::string version;    // "22.1.8"
  std::string readelf;    // llvm-readelf next to clang (metadata notes)
  std::string hipInclude; // the folder holding hip/hip_runtime.h
  std::string deviceLibs; // oclc_*.bc, ocml.bc, ockl.bc (with generated ones)
  std::string ninja;      // absolute path; empty when Ninja is not installed
};

/// clang from $BRAID_HIP_CLANG, /usr/lib/llvm-22/bin, then clang-22 on PATH;
/// HIP headers from /usr/include; device libraries from
/// $BRAID_HIP_DEVICE_LIBS, else the folder this build generated. Each error
/// is one line naming what is missing and what to install.
llvm::Expected<Toolchain> findToolchain();

/// The clang flags of every object (include folders and the device library
/// folder come on top), then those of one architecture. Every flag is part
/// of the hash that names the objects.
std::vector<std::string> commonFlags();
std::vector<std::string> archFlags(llvm::StringRef arch);
std::string flagsKey();

using gpu::defaultCacheDir; // shared with the CUDA target

/// The folder of `cacheDir` that holds the objects of `toolchain` (one per
/// clang version).
std::string toolchainDir(llvm::StringRef cacheDir, const Toolchain &toolchain);

/// The clang jobs' objects are k<hash>.<arch>.hsaco; their log
/// (k<hash>.<arch>.resources) is clang's output, then llvm-readelf --notes
/// of the object.
using gpu::BuildOptions;
using gpu::CompileJob;

/// How the shared build steps (GpuBuild.h) name and run clang.
const gpu::GpuVendor &vendor();

/// Writes <dir>/build.ninja (rule `hipcc`, script hipcc.sh) for `jobs` and
/// brings their objects up to date under <dir>/.lock. Returns the indices
/// of the jobs whose object is missing afterwards.
llvm::Expected<std::vector<size_t>>
buildObjects(const Toolchain &toolchain, const BuildOptions &options,
             llvm::ArrayRef<CompileJob> jobs, llvm::raw_ostream &progress);

/// One kernel's entry of the AMDGPU metadata (amdhsa.kernels).
struct KernelResources {
  std::string function;
  int64_t vgprs = 0;        // .vgpr_count (arch VGPRs, unified with AGPRs)
  int64_t agprs = 0;        // .agpr_count
  int64_t sgprs = 0;        // .sgpr_count
  int64_t ldsBytes = 0;     // .group_segment_fixed_size (static LDS)
  int64_t scratchBytes = 0; // .private_segment_fixed_size (per lane)
  int64_t vgprSpills = 0;   // .vgpr_spill_count
  int64_t sgprSpills = 0;   // .sgpr_spill_count
  int64_t wavefrontSize = 0;
  int64_t maxWorkgroupSize = 0; // .max_flat_workgroup_size
  bool dynamicStack = false;    // .uses_dynamic_stack
};

/// Parses `llvm-readelf --notes` output (the metadata msgpack shown as
/// YAML); other text around it is ignored.
std::vector<KernelResources> parseMetadataNotes(llvm::StringRef text);

/// Per-workgroup limits of an architecture.
struct ArchLimits {
  int64_t ldsBytesPerWorkgroup = 64 * 1024; // 160 KiB on gfx950
  int64_t vgprsPerSimdLane = 512;           // unified VGPR + AGPR file
  int64_t maxWorkgroupSize = 1024;
};
ArchLimits archLimits(llvm::StringRef arch);

} // namespace braid::hip

#endif // BRAID_TARGETS_HIP_TOOLCHAIN_H
