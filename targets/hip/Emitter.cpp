//===- Emitter.cpp - the HIP target: launch module to code sections -------===//
#include "targets/hip/Emitter.h"

#include "targets/common/CodeArchive.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include <map>
#include <set>
#include <tuple>

#ifndef BRAID_SOURCE_DIR
#define BRAID_SOURCE_DIR ""
#endif

using namespace mlir;
using namespace llvm;

namespace braid::hip {

static Expected<std::string> sourceRoot(const EmitterOptions &options) {
  std::string root = options.sourceRoot;
  if (root.empty())
    if (std::optional<std::string> env =
            sys::Process::GetEnv("BRAID_SOURCE_DIR"))
      root = *env;
  if (root.empty())
    root = BRAID_SOURCE_DIR;
  SmallString<256> abi(root);
  sys::path::append(abi, "runtime", "include", "braid", "kernel_abi.h");
  if (root.empty() || !sys::fs::exists(abi))
    return createStringError(
        "cannot find the kernel templates: '" + abi +
        "' does not exist; set BRAID_SOURCE_DIR to the Braid source tree");
  return root;
}

static std::vector<std::string> includeDirs(StringRef root) {
  SmallString<256> runtimeInclude(root);
  sys::path::append(runtimeInclude, "runtime", "include");
  return {root.str(), runtimeInclude.str().str()};
}

Expected<gpu::GpuCode> planHip(ModuleOp module, const EmitterOptions &options) {
  for (const std::string &arch : options.archs)
    if (!llvm::is_contained(knownArchs(), arch))
      return createStringError("unknown HIP architecture '" + arch +
                               "'; expected one of " +
                               join(knownArchs(), ", "));
  Expected<std::string> root = sourceRoot(options);
  if (!root)
    return root.takeError();
  Expected<bool> bf16 = gpu::moduleIsBF16(module, "HIP");
  if (!bf16)
    return bf16.takeError();
  gpu::GpuCodeOptions planOptions;
  planOptions.vendor = "hip";
  planOptions.vendorTitle = "HIP";
  planOptions.archs = options.archs;
  planOptions.bf16 = *bf16;
  planOptions.hashSalt =
      "hip\n" + flagsKey() + "\nheaders " + gpu::digestDeviceHeaders(*root);
  planOptions.allowMissing = options.allowMissing;
  planOptions.lookup = options.lookup;
  return gpu::planGpuCode(module, planOptions);
}

//===----------------------------------------------------------------------===//
// Sources
//===----------------------------------------------------------------------===//

static std::string banner(const gpu::TranslationUnit &unit) {
  return formatv("// ===== {0}.cu: {1}; {2} launch{3}, first {4}{5}\n",
                 unit.module, join(unit.archs, ", "), unit.launches,
                 unit.launches == 1 ? "" : "es", unit.firstUse,
                 unit.hot ? "; hot" : "")
      .str();
}

void printSources(const gpu::GpuCode &code, raw_ostream &os) {
  for (const gpu::TranslationUnit &unit : code.units) {
    os << banner(unit) << unit.source;
    if (!StringRef(unit.source).ends_with("\n"))
      os << "\n";
  }
}

static Error writeIfAbsent(StringRef path, StringRef contents) {
  if (sys::fs::exists(path))
    return Error::success(); // named by its hash: the same contents
  SmallString<256> temp;
  int fd;
  if (std::error_code ec =
          sys::fs::createUniqueFile(path + ".tmp%%%%%%", fd, temp))
    return createStringError(path + ": cannot write: " + ec.message());
  raw_fd_ostream os(fd, /*shouldClose=*/true);
  os << contents;
  os.close();
  if (os.has_error() || sys::fs::rename(temp, path)) {
    sys::fs::remove(temp);
    return createStringError(path + ": cannot write");
  }
  return Error::success();
}

Error writeSources(const gpu::GpuCode &code, StringRef dir) {
  if (std::error_code ec = sys::fs::create_directories(dir))
    return createStringError(dir + ": cannot create: " + ec.message());
  for (const gpu::TranslationUnit &unit : code.units) {
    SmallString<256> path(dir);
    sys::path::append(path, unit.module + ".cu");
    std::string error;
    std::error_code ec;
    raw_fd_ostream os(path, ec);
    if (ec)
      return createStringError(path + ": cannot write: " + ec.message());
    os << banner(unit) << unit.source;
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

static std::string readFileOr(StringRef path, StringRef fallback) {
  if (auto buffer = MemoryBuffer::getFile(path))
    return (*buffer)->getBuffer().str();
  return fallback.str();
}

/// clang's diagnostic, at most `limit` lines.
static std::string excerpt(StringRef text, StringRef logPath,
                           size_t limit = 40) {
  SmallVector<StringRef> lines;
  text.trim().split(lines, '\n');
  if (lines.size() <= limit)
    return text.trim().str();
  std::string out;
  for (size_t i = 0; i < limit; ++i)
    out += lines[i].str() + "\n";
  return out +
         formatv("... ({0} more lines in {1})", lines.size() - limit, logPath)
             .str();
}

/// Every launch checked against its kernel's AMDGPU metadata: the function
/// exists, runs wave64, its launch bounds admit the block, its VGPRs fit a
/// SIMD for the block's waves, and static + dynamic LDS fit a workgroup.
static Error checkLaunches(const HipBuild &build) {
  std::map<std::pair<std::string, std::string>, const CompiledObject *> byKey;
  for (const CompiledObject &object : build.objects)
    byKey[{object.module, object.arch}] = &object;
  std::set<std::string> reported; // sorted: a stable order of errors
  auto add = [&](const std::string &message) { reported.insert(message); };
  for (auto &[op, perArch] : build.code.launches) {
    for (auto [index, launch] : llvm::enumerate(perArch)) {
      const std::string &arch = build.code.archs[index];
      const CompiledObject *object = byKey[{launch.module, arch}];
      if (!object)
        continue;
      for (const gpu::KernelInvocation &kernel : launch.kernels) {
        std::string where =
            formatv("kernel '{0}' of {1}.cu for {2} ({3})", kernel.function,
                    launch.module, arch, gpu::describeLaunch(op))
                .str();
        const KernelResources *k = nullptr;
        for (const KernelResources &f : object->resources)
          if (f.function == kernel.function)
            k = &f;
        if (!k) {
          add(where + ": the code object has no such kernel; is it "
                      "extern \"C\" __global__?");
          continue;
        }
        ArchLimits limits = archLimits(arch);
        int64_t threads = kernel.block[0] * kernel.block[1] * kernel.block[2];
        if (k->wavefrontSize != 64)
          add(formatv("{0}: compiled for wavefront size {1}, the kernels "
                      "assume 64",
                      where, k->wavefrontSize));
        if (threads > k->maxWorkgroupSize)
          add(formatv("{0}: {1} threads per block exceed the kernel's "
                      "launch bounds ({2})",
                      where, threads, k->maxWorkgroupSize));
        // A workgroup's waves spread over the 4 SIMDs of a CU; each SIMD
        // lane has 512 VGPRs (arch + accumulation), allocated in 8s.
        int64_t wavesPerSimd = (threads + 255) / 256;
        int64_t perWave = alignTo(k->vgprs, 8);
        if (wavesPerSimd * perWave > limits.vgprsPerSimdLane)
          add(formatv("{0}: {1} VGPRs x {2} waves per SIMD exceed the {3} a "
                      "SIMD has; the launch would fail",
                      where, k->vgprs, wavesPerSimd, limits.vgprsPerSimdLane));
        int64_t lds = k->ldsBytes + kernel.sharedBytes;
        if (lds > limits.ldsBytesPerWorkgroup)
          add(formatv("{0}: {1} bytes of LDS ({2} static + {3} dynamic) "
                      "exceed the {4} bytes a workgroup may use on {5}",
                      where, lds, k->ldsBytes, kernel.sharedBytes,
                      limits.ldsBytesPerWorkgroup, arch));
      }
    }
  }
  Error all = Error::success();
  for (const std::string &message : reported)
    all = joinErrors(std::move(all), createStringError(message));
  return all;
}

/// Hot kernels must not spill nor touch scratch (the private segment is
/// per-lane memory in HBM: as slow as a spill).
static Error checkSpills(const HipBuild &build) {
  Error all = Error::success();
  for (const CompiledObject &object : build.objects) {
    const gpu::TranslationUnit *unit = build.code.findUnit(object.module);
    if (!unit || !unit->hot)
      continue;
    for (const KernelResources &f : object.resources)
      if (f.vgprSpills || f.sgprSpills || f.scratchBytes || f.dynamicStack)
        all = joinErrors(
            std::move(all),
            createStringError(formatv(
                "hot kernel '{0}' of {1}.cu uses scratch on {2}: {3} bytes "
                "private segment, {4} VGPR spills, {5} SGPR spills{6} ({7} "
                "VGPRs; first use: {8}); see {9}",
                f.function, object.module, object.arch, f.scratchBytes,
                f.vgprSpills, f.sgprSpills,
                f.dynamicStack ? ", dynamic stack" : "", f.vgprs,
                unit->firstUse,
                object.path.substr(0, object.path.rfind('.')) + ".resources")));
  }
  return all;
}

Expected<HipBuild> buildHip(ModuleOp module, const EmitterOptions &options,
                            raw_ostream &log) {
  Expected<gpu::GpuCode> code = planHip(module, options);
  if (!code)
    return code.takeError();
  Expected<Toolchain> toolchain = findToolchain();
  if (!toolchain)
    return toolchain.takeError();
  Expected<std::string> root = sourceRoot(options);
  if (!root)
    return root.takeError();

  HipBuild build;
  build.code = std::move(*code);
  std::string cacheDir =
      options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir;
  build.buildDir = toolchainDir(cacheDir, *toolchain);
  if (std::error_code ec = sys::fs::create_directories(build.buildDir))
    return createStringError("kernel cache " + build.buildDir +
                             ": cannot create: " + ec.message());

  std::vector<CompileJob> jobs;
  for (const gpu::TranslationUnit &unit : build.code.units) {
    SmallString<256> path(build.buildDir);
    sys::path::append(path, unit.module + ".cu");
    if (Error error = writeIfAbsent(path, unit.source))
      return std::move(error);
    for (const std::string &arch : unit.archs)
      jobs.push_back(CompileJob{unit.module, arch});
  }
  auto pathOf = [&](StringRef name) {
    SmallString<256> path(build.buildDir);
    sys::path::append(path, name);
    return path.str().str();
  };

  std::vector<size_t> missing;
  for (auto [index, job] : llvm::enumerate(jobs))
    if (!sys::fs::exists(pathOf(job.object())))
      missing.push_back(index);
  if (!missing.empty()) {
    log << formatv("braidc: compiling {0} HIP code object{1} of {2} kernel "
                   "source{3} with clang {4} in {5}\n",
                   missing.size(), missing.size() == 1 ? "" : "s",
                   build.code.units.size(),
                   build.code.units.size() == 1 ? "" : "s", toolchain->version,
                   build.buildDir);
    log.flush();
    BuildOptions buildOptions;
    buildOptions.dir = build.buildDir;
    buildOptions.includeDirs = includeDirs(*root);
    buildOptions.jobs = options.jobs;
    Expected<std::vector<size_t>> failed =
        buildObjects(*toolchain, buildOptions, jobs, log);
    if (!failed)
      return failed.takeError();
    if (!failed->empty()) {
      Error all = Error::success();
      for (auto [count, index] : llvm::enumerate(*failed)) {
        const CompileJob &job = jobs[index];
        const gpu::TranslationUnit *unit = build.code.findUnit(job.module);
        std::string logPath = pathOf(job.log());
        std::string message;
        if (count < 5)
          message =
              formatv("clang failed to compile {0} for {1} ({2}; {3} "
                      "launch{4}):\n{5}",
                      pathOf(job.module + ".cu"), job.arch, unit->firstUse,
                      unit->launches, unit->launches == 1 ? "" : "es",
                      excerpt(readFileOr(logPath, "(no output)"), logPath))
                  .str();
        else
          message = formatv("clang failed to compile {0} for {1} ({2}); see "
                            "{3}",
                            pathOf(job.module + ".cu"), job.arch,
                            unit->firstUse, logPath)
                        .str();
        all = joinErrors(std::move(all), createStringError(message));
      }
      return std::move(all);
    }
    build.compiled = missing.size();
  }

  // The objects, their reports, and one archive per architecture.
  for (const std::string &arch : build.code.archs) {
    std::vector<gpu::CodeArchiveMember> members;
    for (const gpu::TranslationUnit &unit : build.code.units) {
      if (!llvm::is_contained(unit.archs, arch))
        continue;
      CompileJob job{unit.module, arch};
      CompiledObject object{unit.module, arch, pathOf(job.object()), {}};
      auto payload = MemoryBuffer::getFile(object.path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
      if (!payload)
        return createStringError(
            object.path + ": cannot read: " + payload.getError().message());
      std::string bytes = (*payload)->getBuffer().str();
      object.resources = parseMetadataNotes(readFileOr(pathOf(job.log()), ""));
      members.push_back({unit.module, std::move(bytes)});
      build.objects.push_back(std::move(object));
    }
    Expected<std::string> archive = gpu::writeCodeArchive(members);
    if (!archive)
      return archive.takeError();
    build.sections.emplace_back("code." + arch, std::move(*archive));
  }

  if (Error error = checkLaunches(build))
    return std::move(error);
  if (options.checkSpills)
    if (Error error = checkSpills(build))
      return std::move(error);
  return build;
}

/// The most dynamic LDS any launch asks of `function` in `module` on `arch`.
static std::map<std::tuple<std::string, std::string, std::string>, int64_t>
dynamicLds(const HipBuild &build) {
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> most;
  for (auto &[op, perArch] : build.code.launches)
    for (auto [index, launch] : llvm::enumerate(perArch))
      for (const gpu::KernelInvocation &kernel : launch.kernels) {
        int64_t &bytes = most[{launch.module, build.code.archs[index],
                               kernel.function}];
        bytes = std::max(bytes, kernel.sharedBytes);
      }
  return most;
}

void printResources(const HipBuild &build, raw_ostream &os) {
  os << formatv("{0} kernel sources, {1} objects ({2} compiled now), cache "
                "{3}\n",
                build.code.units.size(), build.objects.size(), build.compiled,
                build.buildDir);
  // lds: static (metadata); dynlds: the largest dynamic size launched.
  os << formatv("{0,-18} {1,-7} {2,-32} {3,5} {4,5} {5,5} {6,6} {7,6} {8,7} "
                "{9,6} {10,6} {11,4} {12,4} {13}\n",
                "module", "arch", "function", "vgpr", "agpr", "sgpr", "lds",
                "dynlds", "scratch", "spillV", "spillS", "wave", "hot",
                "first use");
  auto dynamic = dynamicLds(build);
  for (const CompiledObject &object : build.objects) {
    const gpu::TranslationUnit *unit = build.code.findUnit(object.module);
    for (const KernelResources &f : object.resources)
      os << formatv("{0,-18} {1,-7} {2,-32} {3,5} {4,5} {5,5} {6,6} {7,6} "
                    "{8,7} {9,6} {10,6} {11,4} {12,4} {13}\n",
                    object.module, object.arch, f.function, f.vgprs, f.agprs,
                    f.sgprs, f.ldsBytes,
                    dynamic[{object.module, object.arch, f.function}],
                    f.scratchBytes, f.vgprSpills, f.sgprSpills,
                    f.wavefrontSize, unit->hot ? "hot" : "-", unit->firstUse);
  }
}

} // namespace braid::hip
