//===- CudaEmitterTest.cpp - GPU code planning, archives, nvcc builds -----===//
//
// Uses its own small specializers (a scale kernel, one that differs per
// architecture, broken and spilling ones), so that the emitter and the
// toolchain are tested apart from the kernel families. The build tests run
// nvcc and are skipped where it is not installed.
//
//===----------------------------------------------------------------------===//
#include "targets/common/CodeArchive.h"
#include "targets/common/GpuCode.h"
#include "targets/common/Manifest.h"
#include "targets/cuda/Emitter.h"
#include "targets/cuda/Toolchain.h"

#include "GpuEmitterTestUtil.h"

#include "dialects/Launch/LaunchDialect.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"

#include <gtest/gtest.h>

using namespace braid;
using namespace braid::gpu;
using targettest::moduleText;
using namespace llvm;

namespace {

//===----------------------------------------------------------------------===//
// Test specializers
//===----------------------------------------------------------------------===//

int64_t lastDim(launch::KernelOp kernel) {
  auto buffer = cast<launch::BufferAttr>(kernel.getOperands()[0]);
  return buffer.getShape().back();
}

/// out = factor * in over [B, T, D]; one thread per element.
Expected<KernelPlan> specializeScale(launch::KernelOp kernel,
                                     const Target &target, StringRef name) {
  int64_t d = lastDim(kernel);
  double factor = 1.0;
  if (auto attr = kernel.getAttrs().getAs<mlir::FloatAttr>("factor"))
    factor = attr.getValueAsDouble();
  KernelPlan plan;
  plan.source = formatv(R"(#include "runtime/include/braid/kernel_abi.h"
extern "C" __global__ void {0}_main(BraidKernelParams p) {{
  const int64_t n = p.batch * p.tokens * {1};
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n)
    static_cast<{3} *>(p.buffers[1])[i] =
        {2} * static_cast<const {3} *>(p.buffers[0])[i];
}
)",
                        name, d, factor, "float")
                    .str();
  KernelInvocation invocation;
  invocation.function = name.str() + "_main";
  invocation.grid = {DimExpr{0, 0, 0, d, 256}, DimExpr::fixed(1),
                     DimExpr::fixed(1)};
  invocation.block = {256, 1, 1};
  plan.invocations.push_back(invocation);
  return plan;
}

/// Like scale, with a smaller block and another source on sm_90a.
Expected<KernelPlan> specializePerArch(launch::KernelOp kernel,
                                       const Target &target, StringRef name) {
  Expected<KernelPlan> plan = specializeScale(kernel, target, name);
  if (plan && target.arch == "sm_90a") {
    plan->source = "// sm_90a variant\n" + plan->source;
    plan->invocations[0].block = {128, 1, 1};
    plan->invocations[0].grid[0].divisor = 128;
  }
  return plan;
}

Expected<KernelPlan> specializeBroken(launch::KernelOp kernel,
                                      const Target &target, StringRef name) {
  return targettest::breakSource(specializeScale(kernel, target, name));
}

Expected<KernelPlan> specializeFailing(launch::KernelOp, const Target &,
                                       StringRef) {
  return createStringError("unsupported shape for this test");
}

Expected<KernelPlan> specializeWrongName(launch::KernelOp kernel,
                                         const Target &target,
                                         StringRef name) {
  return targettest::launchOther(specializeScale(kernel, target, name),
                                 "no such function");
}

/// A hot kernel that spills: 96 live floats under a 32-register bound.
Expected<KernelPlan> specializeSpill(launch::KernelOp kernel,
                                     const Target &target, StringRef name) {
  KernelPlan plan;
  plan.hot = true;
  plan.source = formatv(R"(#include "runtime/include/braid/kernel_abi.h"
extern "C" __global__ void __launch_bounds__(1024, 2)
{0}_main(BraidKernelParams p) {{
  float *x = static_cast<float *>(p.buffers[0]);
  float acc[96];
#pragma unroll
  for (int i = 0; i < 96; ++i) acc[i] = x[threadIdx.x + i * 1024];
#pragma unroll
  for (int k = 0; k < 8; ++k)
#pragma unroll
    for (int i = 0; i < 96; ++i) acc[i] = acc[i] * acc[(i + k + 1) % 96] + 1.0f;
  float s = 0;
#pragma unroll
  for (int i = 0; i < 96; ++i) s += acc[i];
  x[threadIdx.x] = s;
}
)",
                        name)
                    .str();
  KernelInvocation invocation;
  invocation.function = name.str() + "_main";
  invocation.grid = {DimExpr::fixed(1), DimExpr::fixed(1), DimExpr::fixed(1)};
  invocation.block = {1024, 1, 1};
  plan.invocations.push_back(invocation);
  return plan;
}

/// Launches 1024 threads of a kernel without launch bounds that needs far
/// more than 64 registers: the block cannot be resident.
Expected<KernelPlan> specializeTooBig(launch::KernelOp kernel,
                                      const Target &target, StringRef name) {
  Expected<KernelPlan> plan = specializeSpill(kernel, target, name);
  if (plan) {
    plan->hot = false;
    StringRef source = plan->source;
    plan->source = source.str();
    size_t at = plan->source.find("__launch_bounds__(1024, 2)");
    plan->source.erase(at, strlen("__launch_bounds__(1024, 2)"));
  }
  return plan;
}

/// Launches a function that the source does not define.
Expected<KernelPlan> specializeGhost(launch::KernelOp kernel,
                                     const Target &target, StringRef name) {
  return targettest::launchOther(specializeScale(kernel, target, name),
                                 "braid_ghost");
}

Specializer testLookup(StringRef family) {
  return StringSwitch<Specializer>(family)
      .Case("scale", &specializeScale)
      .Case("perarch", &specializePerArch)
      .Case("broken", &specializeBroken)
      .Case("failing", &specializeFailing)
      .Case("wrongname", &specializeWrongName)
      .Case("spill", &specializeSpill)
      .Case("toobig", &specializeTooBig)
      .Case("ghost", &specializeGhost)
      .Default(nullptr);
}

//===----------------------------------------------------------------------===//
// Fixtures
//===----------------------------------------------------------------------===//

std::string kernelLine(StringRef family, StringRef source, int64_t d,
                       double factor = 2.0) {
  return formatv("    launch.kernel \"{0}\" \"{1}\" "
                 "[#launch.buffer<arena 0 : [B, T, {2}] x f32>] -> "
                 "[#launch.buffer<output \"logits\" : [B, T, {2}] x f32>] "
                 "attrs {{factor = {3:f1} : f64}\n",
                 family, source, d, factor)
      .str();
}

class CudaEmitterTest : public targettest::GpuEmitterTest {
protected:
  GpuCodeOptions planOptions(std::vector<std::string> archs = {"sm_80",
                                                               "sm_90a"}) {
    GpuCodeOptions options;
    options.vendor = "cuda";
    options.vendorTitle = "CUDA";
    options.archs = std::move(archs);
    options.hashSalt = "test";
    options.lookup = &testLookup;
    return options;
  }
};

std::vector<launch::KernelOp> kernelsOf(mlir::ModuleOp module) {
  std::vector<launch::KernelOp> kernels;
  module.walk([&](launch::KernelOp op) { kernels.push_back(op); });
  return kernels;
}

//===----------------------------------------------------------------------===//
// Planning
//===----------------------------------------------------------------------===//

TEST_F(CudaEmitterTest, IdenticalLaunchesShareOneTranslationUnit) {
  mlir::ModuleOp m = parse(moduleText(
      kernelLine("scale", "layers.0", 64) + kernelLine("scale", "layers.1", 64) +
          kernelLine("scale", "layers.2", 32),
      kernelLine("scale", "layers.0", 64)));
  Expected<GpuCode> code = planGpuCode(m, planOptions());
  ASSERT_TRUE(bool(code)) << toString(code.takeError());
  ASSERT_EQ(code->units.size(), 2u);
  EXPECT_TRUE(Regex("^k[0-9a-f]{16}$").match(code->units[0].module));
  EXPECT_EQ(code->units[0].launches, 3u); // for both architectures
  EXPECT_EQ(code->units[1].launches, 1u);
  EXPECT_EQ(code->units[0].archs,
            (std::vector<std::string>{"sm_80", "sm_90a"}));
  EXPECT_EQ(code->units[0].functions,
            (std::vector<std::string>{"braid_scale_main"}));
  EXPECT_EQ(code->units[0].firstUse, "scale at 'layers.0' (prefill #0)");
  std::vector<launch::KernelOp> kernels = kernelsOf(m);
  ASSERT_EQ(kernels.size(), 4u);
  EXPECT_EQ(code->launches[kernels[0]][0].module, code->units[0].module);
  EXPECT_EQ(code->launches[kernels[3]][1].module, code->units[0].module);
  EXPECT_EQ(code->launches[kernels[2]][0].module, code->units[1].module);
}

TEST_F(CudaEmitterTest, HashCoversSaltAndSource) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("scale", "a", 64)));
  GpuCodeOptions options = planOptions({"sm_80"});
  Expected<GpuCode> first = planGpuCode(m, options);
  options.hashSalt = "other flags";
  Expected<GpuCode> second = planGpuCode(m, options);
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->units[0].module, second->units[0].module);
  Expected<GpuCode> again = planGpuCode(m, planOptions({"sm_80"}));
  ASSERT_TRUE(bool(again));
  EXPECT_EQ(first->units[0].module, again->units[0].module);
}

TEST_F(CudaEmitterTest, MissingFamiliesAreListedOnce) {
  mlir::ModuleOp m = parse(
      moduleText(kernelLine("nonesuch", "layers.3", 8) +
                     kernelLine("scale", "layers.4", 8),
                 kernelLine("nonesuch", "layers.3", 8)));
  Expected<GpuCode> code = planGpuCode(m, planOptions());
  ASSERT_FALSE(bool(code));
  std::string message = toString(code.takeError());
  EXPECT_NE(message.find("no CUDA kernel for family 'nonesuch' (2 launches; "
                         "first: nonesuch at 'layers.3' (prefill #0))"),
            std::string::npos)
      << message;

  GpuCodeOptions options = planOptions();
  options.allowMissing = true;
  Expected<GpuCode> partial = planGpuCode(m, options);
  ASSERT_TRUE(bool(partial)) << toString(partial.takeError());
  EXPECT_EQ(partial->missing,
            (std::vector<std::string>{"nonesuch (2 launches)"}));
  EXPECT_EQ(partial->units.size(), 1u);
  EXPECT_EQ(partial->launches.size(), 1u);
}

TEST_F(CudaEmitterTest, SpecializerErrorsNameFamilyArchAndLaunch) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("failing", "layers.0", 8) +
                                      kernelLine("failing", "layers.1", 8)));
  Expected<GpuCode> code = planGpuCode(m, planOptions());
  ASSERT_FALSE(bool(code));
  std::string message = toString(code.takeError());
  EXPECT_EQ(message, "cannot specialize failing for sm_80 (2 launches; first: "
                     "failing at 'layers.0' (prefill #0)): unsupported shape "
                     "for this test");
}

TEST_F(CudaEmitterTest, PlansAreChecked) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("wrongname", "x", 8)));
  Expected<GpuCode> code = planGpuCode(m, planOptions({"sm_80"}));
  ASSERT_FALSE(bool(code));
  std::string message = toString(code.takeError());
  EXPECT_NE(message.find("kernel function 'no such function' is not a C "
                         "identifier"),
            std::string::npos)
      << message;
}

TEST_F(CudaEmitterTest, LaunchJSONOverridesDifferingArchitectures) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("perarch", "x", 64) +
                                      kernelLine("scale", "y", 64)));
  Expected<GpuCode> code =
      planGpuCode(m, planOptions({"sm_80", "sm_90a", "compute_90"}));
  ASSERT_TRUE(bool(code)) << toString(code.takeError());
  std::vector<launch::KernelOp> kernels = kernelsOf(m);
  ASSERT_EQ(code->units.size(), 3u); // perarch twice, then scale
  EXPECT_EQ(code->units[0].archs,
            (std::vector<std::string>{"sm_80", "compute_90"}));
  EXPECT_EQ(code->units[1].archs, (std::vector<std::string>{"sm_90a"}));

  json::Value perArch = code->launchToJSON(kernels[0]);
  std::string text = formatv("{0}", perArch).str();
  json::Object *object = perArch.getAsObject();
  ASSERT_TRUE(object);
  EXPECT_EQ(*object->getString("module"), code->units[0].module);
  json::Object *byArch = object->getObject("by_arch");
  ASSERT_TRUE(byArch) << text;
  EXPECT_EQ(byArch->size(), 1u) << text;
  json::Object *sm90 = byArch->getObject("sm_90a");
  ASSERT_TRUE(sm90) << text;
  EXPECT_EQ(*sm90->getString("module"), code->units[1].module);
  EXPECT_EQ(formatv("{0}", *(*sm90->getArray("kernels"))[0]
                                .getAsObject()
                                ->get("block"))
                .str(),
            "[128,1,1]");

  std::string same = formatv("{0}", code->launchToJSON(kernels[1])).str();
  EXPECT_EQ(same.find("by_arch"), std::string::npos) << same;
  EXPECT_NE(same.find("\"grid\":[{\"constant\":0,\"divisor\":256,"
                      "\"per_batch\":0,\"per_batch_token\":64,\"per_token\":0}"),
            std::string::npos)
      << same;
}

// The bf16 prefill linears of sm_90a load through TMA (GemmHopper.cuh
// tmaGemm): the launch lists the input as [B*T, K] in 64 x 128 boxes and the
// weight as [N, K] in 64 x 256 boxes (a gated MLP's in two 64 x 128 halves);
// sm_80's plan has no maps, so sm_90a's is a by_arch override.
TEST_F(CudaEmitterTest, PrefillLinearsListTheirTensorMaps) {
  mlir::ModuleOp m = parse(moduleText(
      "    launch.kernel \"linear\" \"layers.0.ffn\" "
      "[#launch.buffer<arena 0 : [B, T, 2048] x bf16>, "
      "#launch.buffer<weight \"w\" : [11264, 2048] x bf16>, unit] -> "
      "[#launch.buffer<arena 8192 : [B, T, 5632] x bf16>] attrs {glu = "
      "\"silu\"}\n"
      "    launch.kernel \"linear\" \"layers.0.mixer\" "
      "[#launch.buffer<arena 0 : [B, T, 2048] x bf16>, "
      "#launch.buffer<weight \"w\" : [4096, 2048] x bf16>, unit] -> "
      "[#launch.buffer<arena 8192 : [B, T, 4096] x bf16>] attrs {}\n"
      "    launch.kernel \"linear\" \"layers.0.attn\" "
      "[#launch.buffer<arena 0 : [B, T, 2048] x bf16>, "
      "#launch.buffer<weight \"w\" : [2048, 2048] x bf16>, unit] -> "
      "[#launch.buffer<arena 8192 : [B, T, 2048] x bf16>] attrs {}\n"));
  GpuCodeOptions options = planOptions();
  options.lookup = nullptr; // the real specializers
  options.bf16 = true;
  Expected<GpuCode> code = planGpuCode(m, options);
  ASSERT_TRUE(bool(code)) << toString(code.takeError());
  std::vector<launch::KernelOp> kernels = kernelsOf(m);
  ASSERT_EQ(kernels.size(), 3u);
  auto mapsOf = [&](launch::KernelOp k, StringRef arch) -> std::string {
    json::Value v = code->launchToJSON(k);
    json::Object *o = v.getAsObject();
    if (arch != "sm_80")
      o = o->getObject("by_arch")->getObject(arch);
    json::Value *maps =
        (*o->getArray("kernels"))[0].getAsObject()->get("tensor_maps");
    return maps ? formatv("{0}", *maps).str() : "none";
  };
  const std::string rowsBT = "\"rows\":{\"constant\":0,\"divisor\":1,"
                             "\"per_batch\":0,\"per_batch_token\":1,"
                             "\"per_token\":0}";
  auto weightRows = [](int64_t n) {
    return "\"rows\":{\"constant\":" + std::to_string(n) +
           ",\"divisor\":1,\"per_batch\":0,\"per_batch_token\":0,"
           "\"per_token\":0}";
  };
  EXPECT_EQ(mapsOf(kernels[0], "sm_80"), "none");
  EXPECT_EQ(mapsOf(kernels[0], "sm_90a"),
            "[{\"box\":[64,128],\"buffer\":0,\"cols\":2048,\"element_bytes\":"
            "2," +
                rowsBT +
                ",\"swizzle\":128},{\"box\":[64,64],\"buffer\":1,"
                "\"cols\":2048,\"element_bytes\":2," +
                weightRows(11264) + ",\"swizzle\":128}]");
  EXPECT_EQ(mapsOf(kernels[1], "sm_90a"),
            "[{\"box\":[64,128],\"buffer\":0,\"cols\":2048,\"element_bytes\":"
            "2," +
                rowsBT +
                ",\"swizzle\":128},{\"box\":[64,128],\"buffer\":1,"
                "\"cols\":2048,\"element_bytes\":2," +
                weightRows(4096) + ",\"swizzle\":128}]");
  EXPECT_EQ(mapsOf(kernels[2], "sm_90a"),
            "[{\"box\":[64,128],\"buffer\":0,\"cols\":2048,\"element_bytes\":"
            "2," +
                rowsBT +
                ",\"swizzle\":128},{\"box\":[64,256],\"buffer\":1,"
                "\"cols\":2048,\"element_bytes\":2," +
                weightRows(2048) + ",\"swizzle\":128}]");
  // The entry takes the maps as its second parameter.
  auto sourceOf = [&](launch::KernelOp k) {
    const TranslationUnit *unit = code->findUnit(code->launches[k][1].module);
    return unit ? unit->source : std::string("no unit");
  };
  EXPECT_NE(sourceOf(kernels[1])
                .find("braid_linear_main(BraidKernelParams p, const "
                      "__grid_constant__ BraidTensorMaps maps)"),
            std::string::npos)
      << sourceOf(kernels[1]);
  // Outputs of 4096 and more: ping-pong 128 x 128 tiles on a persistent
  // grid of ceil((M + 127) * 32 / 128) blocks, at most one an SM; bf16
  // results finish into two output slots past the ring (5 x 32 KiB) and a
  // 1 KiB block of barriers, a gated MLP stores from its registers.
  EXPECT_NE(sourceOf(kernels[1])
                .find("tmaGemm<WsConfig<128, 128, 5, true, false, true, 1, "
                      "false, true>>(ops, M, maps);"),
            std::string::npos)
      << sourceOf(kernels[1]);
  EXPECT_NE(
      sourceOf(kernels[0])
          .find("tmaGemm<WsConfig<128, 128, 5, true, false, true>>(ops, M, "
                "maps);"),
      std::string::npos)
      << sourceOf(kernels[0]);
  auto sharedOf = [&](launch::KernelOp k) {
    json::Value v = code->launchToJSON(k);
    json::Object *o =
        v.getAsObject()->getObject("by_arch")->getObject("sm_90a");
    return (*o->getArray("kernels"))[0].getAsObject()->getInteger(
        "shared_bytes");
  };
  EXPECT_EQ(sharedOf(kernels[1]), 5 * 32768 + 1024 + 1024 + 2 * 32768);
  EXPECT_EQ(sharedOf(kernels[0]), 5 * 32768 + 1024 + 16 * 5 + 16);
  auto gridOf = [&](launch::KernelOp k) {
    json::Value v = code->launchToJSON(k);
    json::Object *o =
        v.getAsObject()->getObject("by_arch")->getObject("sm_90a");
    return formatv("{0}",
                   *(*o->getArray("kernels"))[0].getAsObject()->get("grid"))
        .str();
  };
  EXPECT_EQ(gridOf(kernels[1]),
            "[{\"constant\":4064,\"divisor\":128,\"per_batch\":0,"
            "\"per_batch_token\":32,\"per_sm\":1,\"per_token\":0},"
            "{\"constant\":1,\"divisor\":1,\"per_batch\":0,"
            "\"per_batch_token\":0,\"per_token\":0},"
            "{\"constant\":1,\"divisor\":1,\"per_batch\":0,"
            "\"per_batch_token\":0,\"per_token\":0}]");
  // 2048-wide outputs keep one 128 x 256 tile a block (staged epilogue).
  EXPECT_NE(
      sourceOf(kernels[2]).find("tmaGemm<TmaConfig<256, 4>>(ops, M, maps);"),
      std::string::npos)
      << sourceOf(kernels[2]);
  EXPECT_EQ(gridOf(kernels[2]),
            "[{\"constant\":8,\"divisor\":1,\"per_batch\":0,"
            "\"per_batch_token\":0,\"per_token\":0},"
            "{\"constant\":0,\"divisor\":128,\"per_batch\":0,"
            "\"per_batch_token\":1,\"per_token\":0},"
            "{\"constant\":1,\"divisor\":1,\"per_batch\":0,"
            "\"per_batch_token\":0,\"per_token\":0}]");
}

TEST_F(CudaEmitterTest, ManifestCarriesTheCudaObject) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("scale", "layers.0", 64),
                                      kernelLine("scale", "layers.0", 64)));
  Expected<GpuCode> code = planGpuCode(m, planOptions());
  ASSERT_TRUE(bool(code)) << toString(code.takeError());
  ManifestInfo info;
  info.model = "test";
  info.vocabSize = 64;
  info.targets = {"cuda", "sm_80", "sm_90a"};
  info.gpuCode = {&*code};
  Expected<json::Value> manifest = buildManifest(m, info);
  ASSERT_TRUE(bool(manifest)) << toString(manifest.takeError());
  json::Object *root = manifest->getAsObject();
  json::Array *entries = root->getArray("entries");
  ASSERT_EQ(entries->size(), 2u);
  for (json::Value &entry : *entries) {
    json::Object *launch =
        (*entry.getAsObject()->getArray("launches"))[0].getAsObject();
    EXPECT_EQ(*launch->getString("kernel"), "scale");
    json::Object *cuda = launch->getObject("cuda");
    ASSERT_TRUE(cuda);
    EXPECT_EQ(*cuda->getString("module"), code->units[0].module);
    EXPECT_TRUE(cuda->getObject("workspace"));
    json::Object *kernel = (*cuda->getArray("kernels"))[0].getAsObject();
    EXPECT_EQ(*kernel->getString("function"), "braid_scale_main");
    EXPECT_EQ(kernel->getArray("grid")->size(), 3u);
    EXPECT_EQ(*kernel->getInteger("shared_bytes"), 0);
  }

  // Without GPU code the launches stay as they were.
  info.gpuCode.clear();
  Expected<json::Value> plain = buildManifest(m, info);
  ASSERT_TRUE(bool(plain));
  EXPECT_EQ(formatv("{0}", *plain).str().find("\"cuda\":{"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Archive and reports
//===----------------------------------------------------------------------===//

TEST(CodeArchiveTest, RoundTripAndLayout) {
  std::vector<CodeArchiveMember> members = {{"k01", std::string("\0ab", 3)},
                                            {"k02", "ptx\0"}};
  Expected<std::string> bytes = writeCodeArchive(members);
  ASSERT_TRUE(bool(bytes));
  EXPECT_EQ(bytes->substr(0, 4), "BKAR");
  EXPECT_EQ(bytes->size(), 12u + (4 + 3 + 8 + 3) + (4 + 3 + 8 + 3));
  Expected<std::vector<CodeArchiveMember>> back = readCodeArchive(*bytes);
  ASSERT_TRUE(bool(back)) << toString(back.takeError());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].name, "k01");
  EXPECT_EQ((*back)[0].payload, std::string("\0ab", 3));
  EXPECT_EQ((*back)[1].name, "k02");

  std::string truncated = bytes->substr(0, bytes->size() - 1);
  Expected<std::vector<CodeArchiveMember>> bad = readCodeArchive(truncated);
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(toString(bad.takeError()).find("truncated payload"),
            std::string::npos);
  Expected<std::vector<CodeArchiveMember>> notArchive =
      readCodeArchive("ELF.....");
  ASSERT_FALSE(bool(notArchive));
  EXPECT_NE(toString(notArchive.takeError()).find("magic"), std::string::npos);
  Expected<std::string> duplicate =
      writeCodeArchive({{"k1", "a"}, {"k1", "b"}});
  ASSERT_FALSE(bool(duplicate));
  EXPECT_NE(toString(duplicate.takeError()).find("appears twice"),
            std::string::npos);
}

TEST(PtxasReportTest, ParsesEntriesDeviceFunctionsAndSpills) {
  const char *report = R"(ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'braid_other' for 'sm_80'
ptxas info    : Function properties for braid_other
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 8 registers, used 0 barriers, 584 bytes cmem[0]
ptxas info    : Compile time = 2.144 ms
ptxas info    : Function properties for _Z6helperf
    16 bytes stack frame, 4 bytes spill stores, 8 bytes spill loads
ptxas info    : Compiling entry function 'braid_spill_main' for 'sm_80'
ptxas info    : Function properties for braid_spill_main
    1320 bytes stack frame, 3124 bytes spill stores, 3224 bytes spill loads
ptxas info    : Used 32 registers, used 1 barriers, 4096 bytes smem, 1320 bytes cumulative stack size, 584 bytes cmem[0]
)";
  std::vector<cuda::FunctionResources> functions =
      cuda::parsePtxasReport(report);
  ASSERT_EQ(functions.size(), 3u);
  EXPECT_EQ(functions[0].function, "braid_other");
  EXPECT_TRUE(functions[0].entry);
  EXPECT_EQ(functions[0].registers, 8);
  EXPECT_EQ(functions[0].spillStores, 0);
  EXPECT_EQ(functions[1].function, "_Z6helperf");
  EXPECT_FALSE(functions[1].entry);
  EXPECT_EQ(functions[1].spillStores, 4);
  EXPECT_EQ(functions[1].spillLoads, 8);
  EXPECT_EQ(functions[2].function, "braid_spill_main");
  EXPECT_EQ(functions[2].registers, 32);
  EXPECT_EQ(functions[2].barriers, 1);
  EXPECT_EQ(functions[2].sharedBytes, 4096);
  EXPECT_EQ(functions[2].stackFrame, 1320);
  EXPECT_EQ(functions[2].spillStores, 3124);
  EXPECT_EQ(functions[2].spillLoads, 3224);
}

TEST(ToolchainTest, FlagsAndCacheFolder) {
  std::vector<std::string> flags = cuda::commonFlags();
  EXPECT_TRUE(llvm::is_contained(flags, "-O3"));
  EXPECT_FALSE(llvm::is_contained(flags, "--use_fast_math"));
  EXPECT_EQ(cuda::archFlags("sm_90a"),
            (std::vector<std::string>{"-cubin", "-arch=sm_90a", "-Xptxas",
                                      "-v"}));
  EXPECT_EQ(cuda::archFlags("compute_90"),
            (std::vector<std::string>{"-ptx", "-arch=compute_90"}));
  EXPECT_EQ(cuda::objectExtension("compute_90"), "ptx");
  EXPECT_TRUE(StringRef(cuda::defaultCacheDir()).ends_with("braid/kernels"));
  cuda::Toolchain toolchain{"/x/nvcc", "V13.0.88", ""};
  EXPECT_EQ(cuda::toolchainDir("/cache", toolchain), "/cache/nvcc-V13.0.88");
}

//===----------------------------------------------------------------------===//
// Building with nvcc
//===----------------------------------------------------------------------===//

class CudaBuildTest : public CudaEmitterTest {
protected:
  void SetUp() override {
    Expected<cuda::Toolchain> toolchain = cuda::findToolchain();
    if (!toolchain) {
      consumeError(toolchain.takeError());
      GTEST_SKIP() << "nvcc is not installed";
    }
    useTemporaryCache("braid-kernel-cache");
  }

  cuda::EmitterOptions emitterOptions(std::vector<std::string> archs) {
    cuda::EmitterOptions options;
    options.archs = std::move(archs);
    options.cacheDir = cacheDir;
    options.lookup = &testLookup;
    return options;
  }
};

TEST_F(CudaBuildTest, CompilesPacksAndCaches) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("scale", "a", 64) +
                                      kernelLine("scale", "b", 64)));
  std::string log;
  raw_string_ostream logStream(log);
  Expected<cuda::CudaBuild> build =
      cuda::buildCuda(m, emitterOptions({"sm_80", "compute_90"}), logStream);
  ASSERT_TRUE(bool(build)) << toString(build.takeError()) << log;
  EXPECT_EQ(build->compiled, 2u);
  EXPECT_NE(log.find("compiling 2 CUDA objects of 1 kernel source"),
            std::string::npos)
      << log;
  ASSERT_EQ(build->sections.size(), 2u);
  EXPECT_EQ(build->sections[0].first, "code.sm_80");
  EXPECT_EQ(build->sections[1].first, "code.compute_90");
  Expected<std::vector<CodeArchiveMember>> cubins =
      readCodeArchive(build->sections[0].second);
  ASSERT_TRUE(bool(cubins)) << toString(cubins.takeError());
  ASSERT_EQ(cubins->size(), 1u);
  EXPECT_EQ((*cubins)[0].name, build->code.units[0].module);
  EXPECT_EQ((*cubins)[0].payload.substr(0, 4), "\x7f" "ELF");
  Expected<std::vector<CodeArchiveMember>> ptx =
      readCodeArchive(build->sections[1].second);
  ASSERT_TRUE(bool(ptx));
  ASSERT_EQ(ptx->size(), 1u);
  EXPECT_EQ((*ptx)[0].payload.back(), '\0');
  EXPECT_NE((*ptx)[0].payload.find(".entry braid_scale_main("),
            std::string::npos);

  ASSERT_EQ(build->objects.size(), 2u);
  ASSERT_FALSE(build->objects[0].resources.empty());
  EXPECT_EQ(build->objects[0].resources[0].function, "braid_scale_main");
  EXPECT_GT(build->objects[0].resources[0].registers, 0);
  SmallString<256> ninja(build->buildDir);
  sys::path::append(ninja, "build.ninja");
  EXPECT_TRUE(sys::fs::exists(ninja));

  // Everything comes from the cache the second time.
  std::optional<cuda::CudaBuild> cached =
      targettest::expectCachedRebuild(*build, [&](raw_ostream &againStream) {
        return cuda::buildCuda(m, emitterOptions({"sm_80", "compute_90"}),
                               againStream);
      });
  ASSERT_TRUE(cached);

  std::string table;
  raw_string_ostream tableStream(table);
  cuda::printResources(*cached, tableStream);
  EXPECT_NE(table.find("braid_scale_main"), std::string::npos) << table;
}

TEST_F(CudaBuildTest, CompileErrorsShowNvccAndTheSource) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("broken", "layers.7", 16)));
  std::string log;
  raw_string_ostream logStream(log);
  Expected<cuda::CudaBuild> build =
      cuda::buildCuda(m, emitterOptions({"sm_80"}), logStream);
  ASSERT_FALSE(bool(build));
  std::string message = toString(build.takeError());
  EXPECT_TRUE(Regex("nvcc failed to compile .*/k[0-9a-f]{16}\\.cu for sm_80 "
                    "\\(broken at 'layers.7' \\(prefill #0\\); 1 launch\\):")
                  .match(message))
      << message;
  EXPECT_NE(message.find("error"), message.rfind("nvcc failed")) << message;
  EXPECT_NE(message.find("this is not C++"), std::string::npos) << message;
}

TEST_F(CudaBuildTest, SpillsAndOversizedBlocksAreCaught) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("spill", "layers.1", 16)));
  std::string log;
  raw_string_ostream logStream(log);
  Expected<cuda::CudaBuild> relaxed =
      cuda::buildCuda(m, emitterOptions({"sm_80"}), logStream);
  ASSERT_TRUE(bool(relaxed)) << toString(relaxed.takeError());

  cuda::EmitterOptions strict = emitterOptions({"sm_80"});
  strict.checkSpills = true;
  Expected<cuda::CudaBuild> checked = cuda::buildCuda(m, strict, logStream);
  ASSERT_FALSE(bool(checked));
  std::string message = toString(checked.takeError());
  EXPECT_TRUE(Regex("hot kernel 'braid_spill_main' of k[0-9a-f]{16}\\.cu "
                    "spills on sm_80: [1-9][0-9]* bytes spill stores")
                  .match(message))
      << message;

  mlir::ModuleOp big = parse(moduleText(kernelLine("toobig", "layers.2", 16)));
  Expected<cuda::CudaBuild> tooBig =
      cuda::buildCuda(big, emitterOptions({"sm_80"}), logStream);
  ASSERT_FALSE(bool(tooBig));
  message = toString(tooBig.takeError());
  EXPECT_NE(message.find("registers per block, more than the 65536"),
            std::string::npos)
      << message;
}

TEST_F(CudaBuildTest, LaunchedFunctionsMustExist) {
  mlir::ModuleOp m = parse(moduleText(kernelLine("ghost", "layers.0", 8)));
  std::string log;
  raw_string_ostream logStream(log);
  Expected<cuda::CudaBuild> build =
      cuda::buildCuda(m, emitterOptions({"sm_80", "compute_90"}), logStream);
  ASSERT_FALSE(bool(build));
  std::string message = toString(build.takeError());
  EXPECT_NE(message.find("kernel 'braid_ghost' of "), std::string::npos)
      << message;
  EXPECT_NE(message.find("for sm_80 (ghost at 'layers.0' (prefill #0)): "
                         "ptxas compiled no such entry function"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("for compute_90 (ghost at 'layers.0' (prefill #0)): "
                         "the PTX has no such entry"),
            std::string::npos)
      << message;
}

} // namespace
