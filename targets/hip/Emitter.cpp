//===- Emitter.cpp - the HIP target: launch module to code sections -------===//
#include "targets/hip/Emitter.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <optional>
#include <tuple>

using namespace mlir;
using namespace llvm;

namespace braid::hip {

Expected<gpu::GpuCode> planHip(ModuleOp module, const EmitterOptions &options) {
  return gpu::planForVendor(module, vendor(), options, options.archs,
                            flagsKey());
}

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

/// Every launch checked against its kernel's AMDGPU metadata: the function
/// exists, runs wave64, its launch bounds admit the block, its VGPRs fit a
/// SIMD for the block's waves, and static + dynamic LDS fit a workgroup.
static Error checkLaunches(const HipBuild &build) {
  return gpu::checkLaunches(build, [](const CompiledObject &object,
                                      const gpu::KernelInvocation &kernel,
                                      const std::string &arch,
                                      const std::string &where,
                                      gpu::Problems &problems) {
    const KernelResources *k = nullptr;
    for (const KernelResources &f : object.resources)
      if (f.function == kernel.function)
        k = &f;
    if (!k) {
      problems.add(where + ": the code object has no such kernel; is it "
                           "extern \"C\" __global__?");
      return;
    }
    ArchLimits limits = archLimits(arch);
    int64_t threads = kernel.block[0] * kernel.block[1] * kernel.block[2];
    if (k->wavefrontSize != 64)
      problems.add(formatv("{0}: compiled for wavefront size {1}, the kernels "
                           "assume 64",
                           where, k->wavefrontSize));
    if (threads > k->maxWorkgroupSize)
      problems.add(formatv("{0}: {1} threads per block exceed the kernel's "
                           "launch bounds ({2})",
                           where, threads, k->maxWorkgroupSize));
    // A workgroup's waves spread over the 4 SIMDs of a CU; each SIMD
    // lane has 512 VGPRs (arch + accumulation), allocated in 8s.
    int64_t wavesPerSimd = (threads + 255) / 256;
    int64_t perWave = alignTo(k->vgprs, 8);
    if (wavesPerSimd * perWave > limits.vgprsPerSimdLane)
      problems.add(formatv("{0}: {1} VGPRs x {2} waves per SIMD exceed the {3} "
                           "a SIMD has; the launch would fail",
                           where, k->vgprs, wavesPerSimd,
                           limits.vgprsPerSimdLane));
    int64_t lds = k->ldsBytes + kernel.sharedBytes;
    if (lds > limits.ldsBytesPerWorkgroup)
      problems.add(formatv("{0}: {1} bytes of LDS ({2} static + {3} dynamic) "
                           "exceed the {4} bytes a workgroup may use on {5}",
                           where, lds, k->ldsBytes, kernel.sharedBytes,
                           limits.ldsBytesPerWorkgroup, arch));
  });
}

/// Hot kernels must not spill nor touch scratch (the private segment is
/// per-lane memory in HBM: as slow as a spill).
static Error checkSpills(const HipBuild &build) {
  return gpu::checkSpills(
      build,
      [](const CompiledObject &object, const gpu::TranslationUnit &unit,
         const KernelResources &f,
         const std::string &report) -> std::optional<std::string> {
        if (!f.vgprSpills && !f.sgprSpills && !f.scratchBytes &&
            !f.dynamicStack)
          return std::nullopt;
        return formatv("hot kernel '{0}' of {1}.cu uses scratch on {2}: {3} "
                       "bytes private segment, {4} VGPR spills, {5} SGPR "
                       "spills{6} ({7} VGPRs; first use: {8}); see {9}",
                       f.function, object.module, object.arch, f.scratchBytes,
                       f.vgprSpills, f.sgprSpills,
                       f.dynamicStack ? ", dynamic stack" : "", f.vgprs,
                       unit.firstUse, report)
            .str();
      });
}

/// The metadata notes llvm-readelf appended to the object's log.
static std::vector<KernelResources>
readObject(const CompileJob &, StringRef logPath, std::string &) {
  return parseMetadataNotes(gpu::readFileOr(logPath, ""));
}

Expected<HipBuild> buildHip(ModuleOp module, const EmitterOptions &options,
                            raw_ostream &log) {
  static const gpu::TargetSteps<KernelResources, Toolchain> steps = {
      &findToolchain, &toolchainDir,  &buildObjects,
      &readObject,    &checkLaunches, &checkSpills};
  return gpu::buildTarget(vendor(), steps, options, planHip(module, options),
                          log);
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
  gpu::printSummary(build.code, build.objects.size(), build.compiled,
                    build.buildDir, os);
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
