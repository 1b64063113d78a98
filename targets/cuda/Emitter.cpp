//===- Emitter.cpp - the CUDA target: launch module to code sections ------===//
#include "targets/cuda/Emitter.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <optional>

using namespace mlir;
using namespace llvm;

namespace braid::cuda {

Expected<gpu::GpuCode> planCuda(ModuleOp module,
                                const EmitterOptions &options) {
  return gpu::planForVendor(module, vendor(), options, options.archs,
                            flagsKey());
}

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

/// Every launch checked against what ptxas reported for its kernels.
static Error checkLaunches(const CudaBuild &build) {
  return gpu::checkLaunches(
      build, [](const CompiledObject &object,
                const gpu::KernelInvocation &kernel, const std::string &arch,
                const std::string &where, gpu::Problems &problems) {
        if (isPTXArch(arch)) {
          std::string ptx = gpu::readFileOr(object.path, "");
          if (StringRef(ptx).find(".entry " + kernel.function + "(") ==
              StringRef::npos)
            problems.add(where + ": the PTX has no such entry; is it extern "
                                 "\"C\" __global__?");
          return;
        }
        const FunctionResources *resources = nullptr;
        for (const FunctionResources &f : object.resources)
          if (f.entry && f.function == kernel.function)
            resources = &f;
        if (!resources) {
          problems.add(where + ": ptxas compiled no such entry function; is it "
                               "extern \"C\" __global__?");
          return;
        }
        int64_t threads = kernel.block[0] * kernel.block[1] * kernel.block[2];
        int64_t warps = (threads + 31) / 32;
        int64_t perWarp = alignTo(resources->registers * 32, 256);
        ArchLimits limits = archLimits(arch);
        if (warps * perWarp > limits.registersPerBlock)
          problems.add(formatv(
              "{0}: {1} registers per thread x {2} threads need {3} registers "
              "per block, more than the {4} a block may have; the launch would "
              "fail (add __launch_bounds__ or use fewer threads)",
              where, resources->registers, threads, warps * perWarp,
              limits.registersPerBlock));
        int64_t shared = resources->sharedBytes + kernel.sharedBytes;
        if (shared > limits.sharedBytesPerBlock)
          problems.add(
              formatv("{0}: {1} bytes of shared memory ({2} static + {3} "
                      "dynamic) exceed the {4} bytes a block may use on "
                      "{5}",
                      where, shared, resources->sharedBytes, kernel.sharedBytes,
                      limits.sharedBytesPerBlock, arch));
      });
}

static Error checkSpills(const CudaBuild &build) {
  return gpu::checkSpills(
      build,
      [](const CompiledObject &object, const gpu::TranslationUnit &unit,
         const FunctionResources &f,
         const std::string &report) -> std::optional<std::string> {
        if (!f.spillStores && !f.spillLoads)
          return std::nullopt;
        return formatv("hot kernel '{0}' of {1}.cu spills on {2}: {3} bytes "
                       "spill stores, {4} bytes spill loads ({5} registers; "
                       "first use: {6}); see {7}",
                       f.function, object.module, object.arch, f.spillStores,
                       f.spillLoads, f.registers, unit.firstUse, report)
            .str();
      });
}

/// The ptxas report of a cubin; a PTX object goes into its section as a
/// C string (the driver's JIT takes it so).
static std::vector<FunctionResources>
readObject(const CompileJob &job, StringRef logPath, std::string &bytes) {
  if (isPTXArch(job.arch)) {
    bytes.push_back('\0');
    return {};
  }
  return parsePtxasReport(gpu::readFileOr(logPath, ""));
}

Expected<CudaBuild> buildCuda(ModuleOp module, const EmitterOptions &options,
                              raw_ostream &log) {
  static const gpu::TargetSteps<FunctionResources, Toolchain> steps = {
      &findToolchain, &toolchainDir,  &buildObjects,
      &readObject,    &checkLaunches, &checkSpills};
  return gpu::buildTarget(vendor(), steps, options, planCuda(module, options),
                          log);
}

void printResources(const CudaBuild &build, raw_ostream &os) {
  gpu::printSummary(build.code, build.objects.size(), build.compiled,
                    build.buildDir, os);
  os << formatv("{0,-18} {1,-10} {2,-32} {3,5} {4,7} {5,6} {6,6} {7,6} {8,4} "
                "{9}\n",
                "module", "arch", "function", "regs", "smem", "stack",
                "spillS", "spillL", "hot", "first use");
  for (const CompiledObject &object : build.objects) {
    const gpu::TranslationUnit *unit = build.code.findUnit(object.module);
    if (isPTXArch(object.arch)) {
      os << formatv("{0,-18} {1,-10} {2,-32} {3,5} {4,7} {5,6} {6,6} {7,6} "
                    "{8,4} {9}\n",
                    object.module, object.arch,
                    join(unit->functions, ","), "-", "-", "-", "-", "-",
                    unit->hot ? "hot" : "-", unit->firstUse);
      continue;
    }
    for (const FunctionResources &f : object.resources)
      os << formatv("{0,-18} {1,-10} {2,-32} {3,5} {4,7} {5,6} {6,6} {7,6} "
                    "{8,4} {9}\n",
                    object.module, object.arch,
                    f.entry ? f.function : "(device) " + f.function,
                    f.registers, f.sharedBytes, f.stackFrame, f.spillStores,
                    f.spillLoads, unit->hot ? "hot" : "-", unit->firstUse);
  }
}

} // namespace braid::cuda
