//===- Toolchain.cpp - nvcc, ninja and the kernel cache -------------------===//
#include "targets/cuda/Toolchain.h"

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

namespace braid::cuda {

ArrayRef<StringRef> knownArchs() {
  static constexpr StringRef archs[] = {"sm_80", "sm_90a", "compute_90"};
  return archs;
}

bool isPTXArch(StringRef arch) { return arch.starts_with("compute_"); }

StringRef objectExtension(StringRef arch) {
  return isPTXArch(arch) ? "ptx" : "cubin";
}

//===----------------------------------------------------------------------===//
// Finding the tools
//===----------------------------------------------------------------------===//

Expected<Toolchain> findToolchain() {
  Toolchain toolchain;
  std::vector<std::string> tried;
  auto tryPath = [&](StringRef dir) {
    SmallString<256> path(dir);
    sys::path::append(path, "nvcc");
    tried.push_back(path.str().str());
    if (toolchain.nvcc.empty() && sys::fs::can_execute(path))
      toolchain.nvcc = path.str().str();
  };
  if (std::optional<std::string> home = sys::Process::GetEnv("CUDA_HOME");
      home && !home->empty()) {
    SmallString<256> bin(*home);
    sys::path::append(bin, "bin");
    tryPath(bin);
  }
  tryPath("/usr/local/cuda/bin");
  if (toolchain.nvcc.empty()) {
    tried.push_back("nvcc on PATH");
    if (ErrorOr<std::string> found = sys::findProgramByName("nvcc"))
      toolchain.nvcc = *found;
  }
  if (toolchain.nvcc.empty())
    return createStringError(
        "the CUDA target compiles kernels with nvcc and found none (looked "
        "at " + join(tried, ", ") +
        "); install the CUDA toolkit or set CUDA_HOME to it. --emit=source "
        "works without it");

  Expected<std::string> version =
      gpu::capture(toolchain.nvcc, {"--version"}, "braidc-nvcc");
  if (!version)
    return version.takeError();
  // "Cuda compilation tools, release 13.0, V13.0.88"
  SmallVector<StringRef> match;
  if (Regex(", (V[0-9][0-9.]*)").match(*version, &match))
    toolchain.version = match[1].str();
  else
    toolchain.version = StringRef(*version).trim().rsplit('\n').second.str();
  if (ErrorOr<std::string> ninja = sys::findProgramByName("ninja"))
    toolchain.ninja = *ninja;
  return toolchain;
}

//===----------------------------------------------------------------------===//
// Flags and the cache
//===----------------------------------------------------------------------===//

std::vector<std::string> commonFlags() {
  // No --use_fast_math: the GPU tolerances (DESIGN.md, Numerics) assume
  // IEEE division, square root and exp. -lineinfo costs no speed and lets
  // compute-sanitizer and profilers name source lines.
  return {"-std=c++17", "-O3", "-lineinfo"};
}

std::vector<std::string> archFlags(StringRef arch) {
  if (isPTXArch(arch))
    return {"-ptx", ("-arch=" + arch).str()};
  return {"-cubin", ("-arch=" + arch).str(), "-Xptxas", "-v"};
}

std::string flagsKey() { return gpu::flagsKey(vendor()); }

std::string toolchainDir(StringRef cacheDir, const Toolchain &toolchain) {
  return gpu::toolchainDir(cacheDir, "nvcc-", toolchain.version);
}

const gpu::GpuVendor &vendor() {
  static const gpu::GpuVendor cuda = {
      "cuda", "CUDA",      "CUDA object", "nvcc",     "nvcc",
      "nvcc", &knownArchs, &commonFlags,  &archFlags, &objectExtension};
  return cuda;
}

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

/// <dir>/nvcc.sh ARCH MODULE compiles <MODULE>.cu for ARCH inside the
/// build folder: the object is renamed into place only when nvcc succeeds,
/// and nvcc's output (with ptxas -v) goes to <MODULE>.<ARCH>.resources. One
/// script keeps Ninja's lines short ("sh nvcc.sh sm_80 k..." on a failure).
static std::string compileScript(const Toolchain &toolchain,
                                 const BuildOptions &options) {
  std::string nvcc =
      gpu::compileCommand(vendor(), toolchain.nvcc, "", options.includeDirs);
  return gpu::compileScript(
      vendor(),
      "# Written by braidc (targets/cuda/Toolchain.cpp): nvcc.sh ARCH MODULE "
      "compiles\n# MODULE.cu in this folder for ARCH.\n",
      "if " + nvcc +
          " $flags -o \"$out.tmp\" \"$module.cu\" > "
          "\"$module.$arch.resources\" 2>&1; then\n");
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
// Resource reports
//===----------------------------------------------------------------------===//

std::vector<FunctionResources> parsePtxasReport(StringRef text) {
  std::vector<FunctionResources> functions;
  std::map<std::string, size_t> index;
  auto get = [&](StringRef name) -> FunctionResources & {
    auto [it, inserted] = index.try_emplace(name.str(), functions.size());
    if (inserted) {
      functions.emplace_back();
      functions.back().function = name.str();
    }
    return functions[it->second];
  };
  // ptxas -v, per function:
  //   ptxas info    : Compiling entry function 'NAME' for 'sm_90a'
  //   ptxas info    : Function properties for NAME
  //       0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
  //   ptxas info    : Used 8 registers, used 0 barriers, 512 bytes smem, ...
  Regex entryRe("Compiling entry function '([^']+)'");
  Regex propertiesRe("Function properties for ([^ ]+)");
  Regex frameRe("([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, "
                "([0-9]+) bytes spill loads");
  Regex usedRe("Used ([0-9]+) registers");
  Regex barriersRe("used ([0-9]+) barriers");
  Regex smemRe("([0-9]+) bytes smem");
  std::string current, properties;
  SmallVector<StringRef> line;
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (StringRef row : lines) {
    if (entryRe.match(row, &line)) {
      current = line[1].str();
      get(current).entry = true;
      properties.clear();
    } else if (propertiesRe.match(row, &line)) {
      properties = line[1].str();
      get(properties);
    } else if (frameRe.match(row, &line)) {
      if (properties.empty())
        continue;
      FunctionResources &f = get(properties);
      line[1].getAsInteger(10, f.stackFrame);
      line[2].getAsInteger(10, f.spillStores);
      line[3].getAsInteger(10, f.spillLoads);
    } else if (usedRe.match(row, &line)) {
      if (current.empty())
        continue;
      FunctionResources &f = get(current);
      line[1].getAsInteger(10, f.registers);
      if (barriersRe.match(row, &line))
        line[1].getAsInteger(10, f.barriers);
      if (smemRe.match(row, &line))
        line[1].getAsInteger(10, f.sharedBytes);
    }
  }
  return functions;
}

ArchLimits archLimits(StringRef arch) {
  ArchLimits limits;
  // The largest dynamic + static shared memory one block may opt into:
  // 163 KiB on sm_80 (A100), 227 KiB on sm_90 (H100).
  limits.sharedBytesPerBlock = arch.starts_with("sm_9") ? 227 * 1024
                                                        : 163 * 1024;
  return limits;
}

} // namespace braid::cuda
