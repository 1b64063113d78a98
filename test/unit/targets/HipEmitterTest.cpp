//===- HipEmitterTest.cpp - the HIP target: flags, metadata, clang builds -===//
//
// The AMD side of CudaEmitterTest.cpp with its own small specializers: the
// toolchain's flags and cache folder, the parsing of llvm-readelf --notes
// (AMDGPU metadata), the manifest's "hip" objects and, where clang 22, the
// HIP headers and the device libraries are present, a cached build of code
// objects with its error, scratch, LDS and missing-function reports. No AMD
// GPU runs anything here.
//
//===----------------------------------------------------------------------===//
#include "targets/common/CodeArchive.h"
#include "targets/common/GpuCode.h"
#include "targets/hip/Emitter.h"
#include "targets/hip/Toolchain.h"

#include "GpuEmitterTestUtil.h"

#include "dialects/Launch/LaunchDialect.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Regex.h"

#include <gtest/gtest.h>

using namespace braid;
using namespace braid::gpu;
using namespace llvm;

namespace {

//===----------------------------------------------------------------------===//
// Test specializers
//===----------------------------------------------------------------------===//

/// out = 2 * in, one thread per element, 256 threads (4 waves).
Expected<KernelPlan> specializeScale(launch::KernelOp, const Target &target,
                                     StringRef name) {
  EXPECT_EQ(target.vendor, "hip");
  EXPECT_EQ(target.warpSize(), 64);
  KernelPlan plan;
  plan.source = formatv(R"(#include <hip/hip_runtime.h>
#include "runtime/include/braid/kernel_abi.h"
extern "C" __global__ void __launch_bounds__(256) {0}_main(BraidKernelParams p) {{
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < p.batch * p.tokens * 64)
    static_cast<float *>(p.buffers[1])[i] =
        2.0f * static_cast<const float *>(p.buffers[0])[i];
}
)",
                        name)
                    .str();
  KernelInvocation k;
  k.function = name.str() + "_main";
  k.grid = {DimExpr{0, 0, 0, 64, 256}, DimExpr::fixed(1), DimExpr::fixed(1)};
  k.block = {256, 1, 1};
  plan.invocations.push_back(k);
  return plan;
}

Expected<KernelPlan> specializeBroken(launch::KernelOp op, const Target &t,
                                      StringRef name) {
  return targettest::breakSource(specializeScale(op, t, name));
}

/// A hot kernel with a dynamically indexed local array: private segment.
Expected<KernelPlan> specializeScratch(launch::KernelOp op, const Target &t,
                                       StringRef name) {
  Expected<KernelPlan> plan = specializeScale(op, t, name);
  if (!plan)
    return plan;
  plan->hot = true;
  plan->source = formatv(R"(#include <hip/hip_runtime.h>
#include "runtime/include/braid/kernel_abi.h"
extern "C" __global__ void __launch_bounds__(256) {0}_main(BraidKernelParams p) {{
  volatile float local[256];
  float *x = static_cast<float *>(p.buffers[0]);
  for (int i = 0; i < 256; ++i) local[i] = x[i * 256 + threadIdx.x];
  x[threadIdx.x] = local[int(x[0]) & 255];
}
)",
                         name)
                     .str();
  return plan;
}

/// Asks for more dynamic LDS than a gfx942 workgroup has.
Expected<KernelPlan> specializeBigLds(launch::KernelOp op, const Target &t,
                                      StringRef name) {
  Expected<KernelPlan> plan = specializeScale(op, t, name);
  if (plan)
    plan->invocations[0].sharedBytes = 80 * 1024;
  return plan;
}

Expected<KernelPlan> specializeGhost(launch::KernelOp op, const Target &t,
                                     StringRef name) {
  return targettest::launchOther(specializeScale(op, t, name), "braid_ghost");
}

Specializer testLookup(StringRef family) {
  return StringSwitch<Specializer>(family)
      .Case("scale", &specializeScale)
      .Case("broken", &specializeBroken)
      .Case("scratch", &specializeScratch)
      .Case("biglds", &specializeBigLds)
      .Case("ghost", &specializeGhost)
      .Default(nullptr);
}

/// A launch module with one launch of `family` at `source` in prefill.
std::string moduleText(StringRef family, StringRef source) {
  return targettest::moduleText(
      formatv("    launch.kernel \"{0}\" \"{1}\" "
              "[#launch.buffer<arena 0 : [B, T, 64] x f32>] -> "
              "[#launch.buffer<output \"logits\" : [B, T, 64] x f32>] "
              "attrs {{}\n",
              family, source)
          .str());
}

//===----------------------------------------------------------------------===//
// Flags, metadata, planning
//===----------------------------------------------------------------------===//

TEST(HipToolchainTest, FlagsArchsAndCacheFolder) {
  EXPECT_EQ(hip::knownArchs().size(), 3u);
  EXPECT_EQ(hip::knownArchs()[1], "gfx942");
  std::vector<std::string> common = hip::commonFlags();
  for (StringRef flag :
       {"-x", "hip", "--offload-device-only", "--no-gpu-bundle-output",
        "-D__AMDGCN_WAVEFRONT_SIZE=64"})
    EXPECT_TRUE(llvm::is_contained(common, flag)) << flag.str();
  EXPECT_FALSE(llvm::is_contained(common, "-ffast-math"));
  EXPECT_FALSE(llvm::is_contained(common, "-nogpuinc"));
  EXPECT_EQ(hip::archFlags("gfx950"),
            (std::vector<std::string>{"--offload-arch=gfx950"}));
  hip::Toolchain toolchain;
  toolchain.version = "22.1.8";
  EXPECT_EQ(hip::toolchainDir("/cache", toolchain), "/cache/clang-hip-22.1.8");
  EXPECT_EQ(hip::archLimits("gfx942").ldsBytesPerWorkgroup, 64 * 1024);
  EXPECT_EQ(hip::archLimits("gfx950").ldsBytesPerWorkgroup, 160 * 1024);
}

TEST(HipMetadataTest, ParsesKernelsAndIgnoresArguments) {
  const char *notes = R"(Displaying notes found in: .note
  Owner                Data size 	Description
  AMDGPU               0x00000224	NT_AMDGPU_METADATA (AMDGPU Metadata)
    AMDGPU Metadata:
        ---
amdhsa.kernels:
  - .agpr_count:     4
    .args:
      - .address_space:  global
        .name:           ignored_argument
        .offset:         0
    .group_segment_fixed_size: 1024
    .max_flat_workgroup_size: 256
    .name:           braid_linear_main
    .private_segment_fixed_size: 16
    .sgpr_count:     30
    .sgpr_spill_count: 1
    .uses_dynamic_stack: false
    .vgpr_count:     130
    .vgpr_spill_count: 2
    .wavefront_size: 64
  - .agpr_count:     0
    .name:           braid_norm_main
    .vgpr_count:     34
    .wavefront_size: 64
amdhsa.target:   amdgcn-amd-amdhsa--gfx942
amdhsa.version:
  - 1
  - 2
...
)";
  std::vector<hip::KernelResources> kernels = hip::parseMetadataNotes(notes);
  ASSERT_EQ(kernels.size(), 2u);
  const hip::KernelResources &k = kernels[0];
  EXPECT_EQ(k.function, "braid_linear_main");
  EXPECT_EQ(k.vgprs, 130);
  EXPECT_EQ(k.agprs, 4);
  EXPECT_EQ(k.sgprs, 30);
  EXPECT_EQ(k.ldsBytes, 1024);
  EXPECT_EQ(k.scratchBytes, 16);
  EXPECT_EQ(k.vgprSpills, 2);
  EXPECT_EQ(k.sgprSpills, 1);
  EXPECT_EQ(k.wavefrontSize, 64);
  EXPECT_EQ(k.maxWorkgroupSize, 256);
  EXPECT_EQ(kernels[1].function, "braid_norm_main");
  EXPECT_EQ(kernels[1].vgprs, 34);
}

class HipEmitterTest : public targettest::GpuEmitterTest {
protected:
  hip::EmitterOptions options(std::vector<std::string> archs) {
    hip::EmitterOptions o;
    o.archs = std::move(archs);
    o.cacheDir = cacheDir;
    o.lookup = &testLookup;
    return o;
  }
};

TEST_F(HipEmitterTest, PlansForHipWithTheHipManifestKey) {
  mlir::ModuleOp m = parse(moduleText("scale", "layers.0"));
  Expected<GpuCode> code = hip::planHip(m, options({"gfx90a", "gfx942"}));
  ASSERT_TRUE(bool(code)) << toString(code.takeError());
  EXPECT_EQ(code->vendor, "hip");
  ASSERT_EQ(code->units.size(), 1u);
  EXPECT_EQ(code->units[0].archs,
            (std::vector<std::string>{"gfx90a", "gfx942"}));
  Expected<GpuCode> bad = hip::planHip(m, options({"gfx908"}));
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(toString(bad.takeError()).find("unknown HIP architecture 'gfx908'"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Building with clang -x hip
//===----------------------------------------------------------------------===//

class HipBuildTest : public HipEmitterTest {
protected:
  void SetUp() override {
    Expected<hip::Toolchain> toolchain = hip::findToolchain();
    if (!toolchain) {
      GTEST_SKIP() << toString(toolchain.takeError());
    }
    useTemporaryCache("braid-hip-cache");
  }
  std::string log;
};

TEST_F(HipBuildTest, CompilesPacksAndCaches) {
  mlir::ModuleOp m = parse(moduleText("scale", "a"));
  raw_string_ostream os(log);
  Expected<hip::HipBuild> build =
      hip::buildHip(m, options({"gfx90a", "gfx942"}), os);
  ASSERT_TRUE(bool(build)) << toString(build.takeError()) << log;
  EXPECT_EQ(build->compiled, 2u);
  EXPECT_NE(log.find("compiling 2 HIP code objects of 1 kernel source"),
            std::string::npos)
      << log;
  ASSERT_EQ(build->sections.size(), 2u);
  EXPECT_EQ(build->sections[1].first, "code.gfx942");
  Expected<std::vector<CodeArchiveMember>> objects =
      readCodeArchive(build->sections[1].second);
  ASSERT_TRUE(bool(objects)) << toString(objects.takeError());
  ASSERT_EQ(objects->size(), 1u);
  const std::string &elf = (*objects)[0].payload;
  EXPECT_EQ(elf.substr(0, 4), "\x7f"
                              "ELF");
  EXPECT_EQ(static_cast<unsigned char>(elf[18]), 0xe0u); // EM_AMDGPU
  ASSERT_EQ(build->objects[1].resources.size(), 1u);
  EXPECT_EQ(build->objects[1].resources[0].function, "braid_scale_main");
  EXPECT_EQ(build->objects[1].resources[0].wavefrontSize, 64);
  EXPECT_EQ(build->objects[1].resources[0].scratchBytes, 0);

  targettest::expectCachedRebuild(*build, [&](raw_ostream &againStream) {
    return hip::buildHip(m, options({"gfx90a", "gfx942"}), againStream);
  });
}

TEST_F(HipBuildTest, CompileErrorsShowClangAndTheSource) {
  mlir::ModuleOp m = parse(moduleText("broken", "layers.7"));
  raw_string_ostream os(log);
  Expected<hip::HipBuild> build = hip::buildHip(m, options({"gfx942"}), os);
  ASSERT_FALSE(bool(build));
  std::string message = toString(build.takeError());
  EXPECT_TRUE(Regex("clang failed to compile .*/k[0-9a-f]{16}\\.cu for gfx942 "
                    "\\(broken at 'layers.7' \\(prefill #0\\); 1 launch\\):")
                  .match(message))
      << message;
  EXPECT_NE(message.find("this is not C++"), std::string::npos) << message;
}

TEST_F(HipBuildTest, ScratchLdsAndMissingFunctionsAreCaught) {
  raw_string_ostream os(log);
  mlir::ModuleOp m = parse(moduleText("scratch", "layers.1"));
  ASSERT_TRUE(bool(hip::buildHip(m, options({"gfx942"}), os)));
  hip::EmitterOptions strict = options({"gfx942"});
  strict.checkSpills = true;
  Expected<hip::HipBuild> checked = hip::buildHip(m, strict, os);
  ASSERT_FALSE(bool(checked));
  std::string message = toString(checked.takeError());
  EXPECT_TRUE(Regex("hot kernel 'braid_scratch_main' of k[0-9a-f]{16}\\.cu "
                    "uses scratch on gfx942: [1-9][0-9]* bytes private segment")
                  .match(message))
      << message;

  mlir::ModuleOp lds = parse(moduleText("biglds", "layers.2"));
  Expected<hip::HipBuild> big = hip::buildHip(lds, options({"gfx942"}), os);
  ASSERT_FALSE(bool(big));
  message = toString(big.takeError());
  EXPECT_NE(
      message.find("exceed the 65536 bytes a workgroup may use on gfx942"),
      std::string::npos)
      << message;

  mlir::ModuleOp ghost = parse(moduleText("ghost", "layers.0"));
  Expected<hip::HipBuild> missing =
      hip::buildHip(ghost, options({"gfx90a"}), os);
  ASSERT_FALSE(bool(missing));
  message = toString(missing.takeError());
  EXPECT_NE(message.find("kernel 'braid_ghost' of "), std::string::npos);
  EXPECT_NE(message.find("the code object has no such kernel"),
            std::string::npos)
      << message;
}

} // namespace
