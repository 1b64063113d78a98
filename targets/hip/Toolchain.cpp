//===- Toolchain.cpp - clang -x hip, ninja and the kernel cache -----------===//
#include "targets/hip/Toolchain.h"

#include "targets/common/GpuBuild.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"

#include <map>

using namespace llvm;

namespace braid::hip {

ArrayRef<StringRef> knownArchs() {
  static constexpr StringRef archs[] = {"gfx90a", "gfx942", "gfx950"};
  return archs;
}

StringRef objectExtension(StringRef) { return "hsaco"; }

//===----------------------------------------------------------------------===//
// Finding the tools
//===----------------------------------------------------------------------===//

/// The device library folder this build generated (CMake: the Debian
/// bitcode plus oclc_isa_version_942/950 and oclc_abi_version_600).
#ifndef BRAID_HIP_DEVICE_LIBS
#define BRAID_HIP_DEVICE_LIBS ""
#endif

/// The denormal-mode constant Debian's ocml.bc reads (see compileScript).
static constexpr const char *kDazFile = "oclc_daz_opt_off.bc";

static constexpr const char *kInstallHint =
    "scripts/setup.sh installs clang-22, llvm-22-tools, libamdhip64-dev and "
    "rocm-device-libs";

static Error missing(const Twine &what) {
  return createStringError("the HIP target needs " + what + "; " +
                           kInstallHint + ". --emit=source works without it");
}

/// clang from $BRAID_HIP_CLANG, the LLVM 22 folder, then PATH.
static std::string findClang() {
  if (std::optional<std::string> env = sys::Process::GetEnv("BRAID_HIP_CLANG");
      env && sys::fs::can_execute(*env))
    return *env;
  if (sys::fs::can_execute("/usr/lib/llvm-22/bin/clang"))
    return "/usr/lib/llvm-22/bin/clang";
  if (ErrorOr<std::string> found = sys::findProgramByName("clang-22"))
    return *found;
  return "";
}

/// The device libraries: $BRAID_HIP_DEVICE_LIBS, else the build's folder.
/// Both must hold the generated gfx942/gfx950/ABI-6 files.
static Expected<std::string> findDeviceLibs() {
  std::string dir = BRAID_HIP_DEVICE_LIBS;
  if (std::optional<std::string> env =
          sys::Process::GetEnv("BRAID_HIP_DEVICE_LIBS");
      env && !env->empty())
    dir = *env;
  for (StringRef file : {"ocml.bc", kDazFile, "oclc_isa_version_90a.bc",
                         "oclc_isa_version_942.bc", "oclc_isa_version_950.bc",
                         "oclc_abi_version_600.bc"}) {
    SmallString<256> path(dir);
    sys::path::append(path, file);
    if (dir.empty() || !sys::fs::exists(path))
      return missing("the ROCm device libraries with the generated gfx942 / "
                     "gfx950 / ABI 6 files, and '" +
                     path +
                     "' does not exist (rebuild braidc, or set "
                     "BRAID_HIP_DEVICE_LIBS)");
  }
  return dir;
}

Expected<Toolchain> findToolchain() {
  Toolchain toolchain;
  toolchain.clang = findClang();
  if (toolchain.clang.empty())
    return missing("clang 22 and found none (looked at $BRAID_HIP_CLANG, "
                   "/usr/lib/llvm-22/bin/clang, clang-22 on PATH)");
  SmallString<256> readelf(sys::path::parent_path(toolchain.clang));
  sys::path::append(readelf, "llvm-readelf");
  if (sys::fs::can_execute(readelf))
    toolchain.readelf = readelf.str().str();
  else if (ErrorOr<std::string> found =
               sys::findProgramByName("llvm-readelf-22"))
    toolchain.readelf = *found;
  else
    return missing("llvm-readelf (LLVM 22) to read code object metadata");
  if (!sys::fs::exists("/usr/include/hip/hip_runtime.h"))
    return missing("the HIP headers (/usr/include/hip/hip_runtime.h)");
  toolchain.hipInclude = "/usr/include";
  Expected<std::string> libs = findDeviceLibs();
  if (!libs)
    return libs.takeError();
  toolchain.deviceLibs = *libs;

  Expected<std::string> version =
      gpu::capture(toolchain.clang, {"--version"}, "braidc-hip");
  if (!version)
    return version.takeError();
  // "Debian clang version 22.1.8 (++20251202...)"
  SmallVector<StringRef> match;
  if (Regex("clang version ([0-9][0-9.]*)").match(*version, &match))
    toolchain.version = match[1].str();
  else
    toolchain.version = StringRef(*version).trim().split('\n').first.str();
  if (ErrorOr<std::string> ninja = sys::findProgramByName("ninja"))
    toolchain.ninja = *ninja;
  return toolchain;
}

//===----------------------------------------------------------------------===//
// Flags and the cache
//===----------------------------------------------------------------------===//

std::vector<std::string> commonFlags() {
  // Device-only code objects (ELF, not an offload bundle) with Debian's HIP
  // 5.2 headers under --rocm-path=/usr. The old headers predate clang's
  // removal of __AMDGCN_WAVEFRONT_SIZE, so it is given (CDNA is wave64).
  // No -ffast-math: DESIGN.md's tolerances assume IEEE division and sqrt.
  return {"-x",
          "hip",
          "-std=c++17",
          "-O3",
          "--offload-device-only",
          "--no-gpu-bundle-output",
          "--rocm-path=/usr",
          "-D__AMDGCN_WAVEFRONT_SIZE=64",
          "-Wno-unused-command-line-argument",
          "-c"};
}

std::vector<std::string> archFlags(StringRef arch) {
  return {("--offload-arch=" + arch).str()};
}

std::string flagsKey() {
  return gpu::flagsKey(vendor(), std::string(" +") + kDazFile);
}

std::string toolchainDir(StringRef cacheDir, const Toolchain &toolchain) {
  return gpu::toolchainDir(cacheDir, "clang-hip-", toolchain.version);
}

const gpu::GpuVendor &vendor() {
  static const gpu::GpuVendor hip = {
      "hip",      "HIP",           "HIP code object", "clang",
      "hipcc",    "clang -x hip",  &knownArchs,       &commonFlags,
      &archFlags, &objectExtension};
  return hip;
}

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

/// <dir>/hipcc.sh ARCH MODULE compiles <MODULE>.cu for ARCH inside the
/// build folder: the object is renamed into place only when clang succeeds
/// and its metadata could be read; clang's output and then llvm-readelf
/// --notes go to <MODULE>.<ARCH>.resources.
static std::string compileScript(const Toolchain &toolchain,
                                 const BuildOptions &options) {
  // clang 22 no longer links an oclc_daz_opt file, but Debian's older
  // ocml.bc still reads __oclc_daz_opt on gfx94x/gfx950: link the "off"
  // variant (denormals kept, IEEE) explicitly. Its global is linkonce_odr.
  SmallString<256> daz(toolchain.deviceLibs);
  sys::path::append(daz, kDazFile);
  std::string clang = gpu::compileCommand(
      vendor(), toolchain.clang,
      " --rocm-device-lib-path=" + gpu::shellQuote(toolchain.deviceLibs) +
          " -Xclang -mlink-builtin-bitcode -Xclang " + gpu::shellQuote(daz),
      options.includeDirs);
  return gpu::compileScript(
      vendor(),
      "# Written by braidc (targets/hip/Toolchain.cpp): hipcc.sh ARCH MODULE "
      "compiles\n# MODULE.cu in this folder for ARCH and appends the "
      "object's metadata notes.\n",
      "log=\"$module.$arch.resources\"\nif " + clang +
          " $flags -o \"$out.tmp\" \"$module.cu\" > \"$log\" 2>&1 && " +
          gpu::shellQuote(toolchain.readelf) +
          " --notes \"$out.tmp\" >> \"$log\" 2>&1; then\n");
}

Expected<std::vector<size_t>> buildObjects(const Toolchain &toolchain,
                                           const BuildOptions &options,
                                           ArrayRef<CompileJob> jobs,
                                           raw_ostream &progress) {
  return gpu::runCompileJobs(vendor(), toolchain.ninja,
                             compileScript(toolchain, options), options, jobs,
                             progress);
}

//===----------------------------------------------------------------------===//
// Code object metadata
//===----------------------------------------------------------------------===//

std::vector<KernelResources> parseMetadataNotes(StringRef text) {
  // llvm-readelf --notes prints the NT_AMDGPU_METADATA msgpack as YAML:
  //   amdhsa.kernels:
  //     - .agpr_count:     0
  //       .args: ...            (nested, deeper indentation)
  //       .name:           braid_linear_main
  //       .private_segment_fixed_size: 0
  // One kernel per item at indentation 2; its keys at indentation 4.
  std::vector<KernelResources> kernels;
  bool inKernels = false;
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (StringRef line : lines) {
    line = line.rtrim();
    if (line.starts_with("amdhsa.kernels:")) {
      inKernels = true;
      continue;
    }
    if (!inKernels)
      continue;
    if (!line.empty() && line.front() != ' ' && line.front() != '-') {
      inKernels = false; // the next top-level key (amdhsa.target, ...)
      continue;
    }
    StringRef entry;
    if (line.starts_with("  - .")) {
      kernels.emplace_back();
      entry = line.drop_front(4);
    } else if (line.starts_with("    .") && !kernels.empty()) {
      entry = line.drop_front(4);
    } else {
      continue;
    }
    auto [key, value] = entry.split(':');
    value = value.trim();
    KernelResources &k = kernels.back();
    auto integer = [&](int64_t &field) { value.getAsInteger(10, field); };
    if (key == ".name")
      k.function = value.str();
    else if (key == ".vgpr_count")
      integer(k.vgprs);
    else if (key == ".agpr_count")
      integer(k.agprs);
    else if (key == ".sgpr_count")
      integer(k.sgprs);
    else if (key == ".group_segment_fixed_size")
      integer(k.ldsBytes);
    else if (key == ".private_segment_fixed_size")
      integer(k.scratchBytes);
    else if (key == ".vgpr_spill_count")
      integer(k.vgprSpills);
    else if (key == ".sgpr_spill_count")
      integer(k.sgprSpills);
    else if (key == ".wavefront_size")
      integer(k.wavefrontSize);
    else if (key == ".max_flat_workgroup_size")
      integer(k.maxWorkgroupSize);
    else if (key == ".uses_dynamic_stack")
      k.dynamicStack = value == "true";
  }
  return kernels;
}

ArchLimits archLimits(StringRef arch) {
  ArchLimits limits;
  // LDS per workgroup: 64 KiB on CDNA2/CDNA3, 160 KiB on CDNA4 (gfx950).
  limits.ldsBytesPerWorkgroup = arch == "gfx950" ? 160 * 1024 : 64 * 1024;
  return limits;
}

} // namespace braid::hip
