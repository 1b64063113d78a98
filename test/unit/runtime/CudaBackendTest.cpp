//===- CudaBackendTest.cpp - the CUDA backend without a GPU ---------------===//
//
// What can be checked on a machine without an NVIDIA driver:
//   * the driver loader: an absent libcuda is one clean error, through
//     createBackend, sessions and braid-run;
//   * the driver-free logic (CudaPlan.h): code archives, the choice of a code
//     section for a device, launch plans in the manifest, DimExprs, and the
//     packing of BraidKernelParams, checked against a manifest through the
//     real executor;
//   * the whole backend on a fake driver (FakeCudaDriver.cpp, a shared
//     library exporting the same symbols): weights, states, workspace,
//     kernel parameters, graph capture and replay, error messages, the
//     choice of cubin or PTX, dynamic shared memory above 48 KiB.
//
//===----------------------------------------------------------------------===//

#include "GpuTestUtil.h"
#include "TestUtil.h"

#include "braid/bundle_writer.h"
#include "runtime/backends/cuda/CudaBackend.h"
#include "runtime/backends/cuda/CudaDriver.h"
#include "runtime/backends/cuda/CudaPlan.h"
#include "runtime/src/Error.h"
#include "runtime/src/Executor.h"
#include "runtime/src/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <dlfcn.h>
#include <sys/wait.h>

using json = nlohmann::json;
using namespace braid::rt;
using namespace braid::rt::test;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

json cudaCode(const std::string &function, int64_t shared = 0,
              json workspace = dimExpr(0)) {
  return {{"module", "kfake"},
          {"workspace", std::move(workspace)},
          {"kernels",
           {{{"function", function},
             {"grid", {dimExpr(0, 0, 0, 1, 1), dimExpr(1), dimExpr(1)}},
             {"block", {32, 1, 1}},
             {"shared_bytes", shared}}}}};
}

/// The tiny model (TestUtil.h) compiled "for CUDA": every launch runs the
/// fake driver's kernel of its family. `edit` may change the launch objects.
json gpuManifest(bool withState,
                 const std::function<void(json &launch)> &edit = {}) {
  json m = tinyManifest(withState);
  m["targets"] = {"cuda", "sm_90a"};
  for (json &entry : m["entries"])
    for (json &launch : entry["launches"]) {
      std::string kernel = launch["kernel"];
      launch["cuda"] =
          cudaCode("fake_" + kernel, 0,
                   kernel == "accumulate" ? dimExpr(0, 0, 0, 64) : dimExpr(0));
      if (edit)
        edit(launch);
    }
  return m;
}

const char *kFakeFunctions = "FAKE\nfake_embedding\nfake_rms_norm\n"
                             "fake_accumulate\nfake_linear\nfake_fail\n"
                             "fake_linear_few\nfake_linear_many\n"
                             "fake_greedy_next\n";

/// Gives the decode entry's linear two variants by rows: fake_linear_few
/// for B * T in [1, 1], fake_linear_many from 2 rows.
json withRowVariants(json m) {
  for (json &launch : m["entries"][1]["launches"])
    if (launch["kernel"] == "linear") {
      json &kernels = launch["cuda"]["kernels"];
      kernels.push_back(kernels[0]);
      kernels[0]["function"] = "fake_linear_few";
      kernels[0]["rows"] = {1, 1};
      kernels[1]["function"] = "fake_linear_many";
      kernels[1]["rows"] = {2, INT64_MAX};
    }
  return m;
}

/// The "generated:" lines of a braid-run generate output.
std::string generatedLines(const std::string &out) {
  std::string lines;
  for (size_t at = out.find("generated:"); at != std::string::npos;
       at = out.find("generated:", at + 1))
    lines += out.substr(at, out.find('\n', at) - at) + "\n";
  return lines;
}

std::string fakeModule() { return std::string(kFakeFunctions) + '\0'; }

std::string writeGpuBundle(const std::string &dir, const json &manifest,
                           const std::string &section = "code.sm_90a") {
  std::string path = dir + "/tiny-cuda.bundle";
  std::string error =
      writeBundle(path, manifest.dump(2),
                  {{section, gpuArchive({{"kfake", fakeModule()}})}});
  EXPECT_EQ(error, "");
  return path;
}

std::string fakeEnv(const std::string &trace = "", const std::string &cc = "") {
  std::string env = std::string("BRAID_CUDA_DRIVER=") + BRAID_FAKE_CUDA_DRIVER;
  if (!trace.empty())
    env += " FAKE_CUDA_TRACE=" + trace;
  if (!cc.empty())
    env += " FAKE_CUDA_CC=" + cc;
  return env;
}

//===----------------------------------------------------------------------===//
// The driver loader
//===----------------------------------------------------------------------===//

TEST(CudaDriver, AnAbsentLibraryIsACleanError) {
  try {
    cu::loadCudaDriver("libbraid-absent-driver.so.1");
    FAIL() << "loaded a driver that does not exist";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
    EXPECT_EQ(std::string(e.what()).rfind(
                  "no CUDA driver: libbraid-absent-driver.so.1 not found", 0),
              0u)
        << e.what();
  }
}

TEST(CudaDriver, ALibraryWithoutTheSymbolsIsRefused) {
  std::string error = errorOf([] { cu::loadCudaDriver("libm.so.6"); });
  EXPECT_CONTAINS(error, "the CUDA driver libm.so.6 lacks cuInit");
}

TEST(CudaDriver, TheFakeDriverLoads) {
  auto driver = cu::loadCudaDriver(BRAID_FAKE_CUDA_DRIVER);
  EXPECT_EQ(driver->version, 13000);
  EXPECT_EQ(driver->versionText(), "CUDA 13.0");
  EXPECT_EQ(driver->errorText(719),
            "CUDA_ERROR_LAUNCH_FAILED (unspecified launch failure)");
  EXPECT_NE(driver->launchKernelEx, nullptr);
  // cuLaunchKernelEx is optional: a driver without it still loads.
  auto old = cu::loadCudaDriver(BRAID_FAKE_CUDA_NOLAUNCHEX);
  EXPECT_EQ(old->launchKernelEx, nullptr);
  EXPECT_NE(old->launchKernel, nullptr);
  EXPECT_TRUE(old->hasEvents());
}

/// On this machine (no NVIDIA driver) the cuda backend must say so, once,
/// through every layer.
TEST(CudaDriver, NoDriverThroughSessionsAndBraidRun) {
  if (const char *env = std::getenv("BRAID_CUDA_DRIVER"); env && *env)
    GTEST_SKIP() << "BRAID_CUDA_DRIVER is set";
  if (void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(h);
    GTEST_SKIP() << "this machine has a CUDA driver";
  }
  BackendOptions options;
  options.name = "cuda";
  std::string error = errorOf([&] { createBackend(options); });
  EXPECT_EQ(error.rfind("no CUDA driver: libcuda.so.1 not found", 0), 0u)
      << error;
  // Remembered, not retried differently.
  EXPECT_EQ(errorOf([&] { createBackend(options); }), error);

  std::string dir = freshDir("cuda-absent");
  std::string bundle = writeGpuBundle(dir, gpuManifest(false));
  Result r =
      braidRun("-u BRAID_CUDA_DRIVER", "run " + bundle +
                                           " --backend cuda --random-weights 1 "
                                           "--ids 1,2,3");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output,
                  "braid-run: error: no CUDA driver: libcuda.so.1 not found");
  EXPECT_EQ(count(r.output, "\n"), 1) << r.output; // one line
}

//===----------------------------------------------------------------------===//
// Code archives
//===----------------------------------------------------------------------===//

TEST(CodeArchive, ReadsModulesInOrder) {
  std::string bytes = gpuArchive({{"k1", "cubin-bytes"}, {"k22", "ptx\0"}});
  auto modules = gpu::parseCodeArchive(bytes, "test");
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[0].name, "k1");
  EXPECT_EQ(modules[0].payload, "cubin-bytes");
  EXPECT_EQ(modules[1].name, "k22");
  EXPECT_EQ(modules[1].payload, "ptx");
  EXPECT_TRUE(gpu::parseCodeArchive(gpuArchive({}), "test").empty());
}

TEST(CodeArchive, ErrorsSayWhatAndWhere) {
  auto error = [](const std::string &bytes) {
    return errorOf([&] { gpu::parseCodeArchive(bytes, "b.bundle (x)"); });
  };
  EXPECT_EQ(error(gpuArchive({}, 0x12345678)),
            "b.bundle (x): not a code archive (the magic is not \"BKAR\")");
  EXPECT_EQ(error(gpuArchive({}, gpu::kCodeArchiveMagic, 2)),
            "b.bundle (x): code archive version 2 is not one this runtime "
            "reads (1)");
  EXPECT_EQ(error("BKA"), "b.bundle (x): truncated code archive: the magic at "
                          "byte 0 needs 4 bytes, only 3 left");
  std::string full = gpuArchive({{"k1", "payload"}});
  EXPECT_EQ(error(full.substr(0, full.size() - 2)),
            "b.bundle (x): truncated code archive: module 'k1' at byte 26 "
            "needs 7 bytes, only 5 left");
  EXPECT_EQ(error(gpuArchive({{"k1", "a"}, {"k1", "b"}})),
            "b.bundle (x): module 1 at byte 27: duplicate module 'k1'");
  EXPECT_EQ(error(gpuArchive({{"", "a"}})),
            "b.bundle (x): module 0 at byte 12 has an empty name");
  EXPECT_EQ(error(gpuArchive({{"k1", ""}})),
            "b.bundle (x): module 'k1' is empty");
  EXPECT_EQ(error(full + "xx"), "b.bundle (x): 2 unexpected bytes after the 1 "
                                "modules, at byte 33");
}

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

TEST(Arch, ParsesNames) {
  auto a = gpu::parseArchName("sm_90a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->number, 90);
  EXPECT_EQ(a->suffix, 'a');
  EXPECT_FALSE(a->ptx);
  auto p = gpu::parseArchName("compute_90");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->number, 90);
  EXPECT_TRUE(p->ptx);
  EXPECT_EQ(gpu::parseArchName("sm_100")->number, 100);
  EXPECT_EQ(gpu::parseArchName("sm_100f")->suffix, 'f');
  EXPECT_FALSE(gpu::parseArchName("gfx942"));
  EXPECT_FALSE(gpu::parseArchName("sm_9"));
  EXPECT_FALSE(gpu::parseArchName("sm_90b"));
  EXPECT_FALSE(gpu::parseArchName("sm_"));
  EXPECT_EQ(gpu::deviceArch(9, 0), "sm_90");
  EXPECT_EQ(gpu::deviceArch(12, 0), "sm_120");
}

TEST(Arch, ChoosesTheBestSectionForTheDevice) {
  std::vector<std::string> braidc = {"manifest", "code.sm_80", "code.sm_90a",
                                     "code.compute_90", "weights"};
  auto pick = [](int major, int minor, const std::vector<std::string> &s) {
    auto c = gpu::chooseArch(major, minor, s);
    return c ? c->section + (c->ptx ? " ptx" : "") : std::string("none");
  };
  EXPECT_EQ(pick(9, 0, braidc), "code.sm_90a");          // H100, H200
  EXPECT_EQ(pick(8, 0, braidc), "code.sm_80");           // A100
  EXPECT_EQ(pick(8, 6, braidc), "code.sm_80");           // binary compatible
  EXPECT_EQ(pick(8, 9, braidc), "code.sm_80");           // L4, L40
  EXPECT_EQ(pick(10, 0, braidc), "code.compute_90 ptx"); // B200: JIT
  EXPECT_EQ(pick(12, 0, braidc), "code.compute_90 ptx");
  EXPECT_EQ(pick(7, 5, braidc), "none"); // older than every object
  // sm_90a runs only on 9.0; PTX compute_90a likewise.
  EXPECT_EQ(pick(10, 0, {"code.sm_90a"}), "none");
  EXPECT_EQ(pick(10, 0, {"code.compute_90a"}), "none");
  EXPECT_EQ(pick(9, 0, {"code.compute_90a"}), "code.compute_90a ptx");
  // The architecture-specific cubin before the plain one, a cubin before PTX.
  EXPECT_EQ(pick(9, 0, {"code.sm_90", "code.sm_90a"}), "code.sm_90a");
  EXPECT_EQ(pick(9, 0, {"code.compute_90", "code.sm_90"}), "code.sm_90");
  // The highest compatible one.
  EXPECT_EQ(pick(8, 9, {"code.sm_80", "code.sm_86", "code.sm_89"}),
            "code.sm_89");
  EXPECT_EQ(pick(8, 7, {"code.sm_80", "code.sm_86", "code.sm_89"}),
            "code.sm_86");
  EXPECT_EQ(pick(9, 0, {"code.compute_80", "code.compute_86"}),
            "code.compute_86 ptx");
  // Other vendors' sections are not candidates.
  EXPECT_EQ(pick(9, 0, {"code.gfx942", "manifest"}), "none");
}

//===----------------------------------------------------------------------===//
// DimExpr
//===----------------------------------------------------------------------===//

TEST(DimExpr, EvaluatesTheCeiling) {
  gpu::DimExpr fixed{296, 0, 0, 0, 64};
  EXPECT_EQ(*fixed.evaluate(1, 1), 5); // ceil(296 / 64)
  gpu::DimExpr rows{0, 0, 0, 1, 128};
  EXPECT_EQ(*rows.evaluate(2, 37), 1);
  EXPECT_EQ(*rows.evaluate(4, 1024), 32);
  EXPECT_EQ(*rows.evaluate(1, 129), 2);
  gpu::DimExpr all{3, 5, 7, 11, 2};
  EXPECT_EQ(*all.evaluate(2, 3), (3 + 10 + 21 + 66 + 1) / 2);
  EXPECT_EQ(*gpu::DimExpr{}.evaluate(8, 8), 0);
  // A negative term is fine while the value is not.
  EXPECT_EQ(*gpu::DimExpr({-1, 0, 0, 1, 1}).evaluate(2, 3), 5);
  EXPECT_FALSE(gpu::DimExpr({-7, 0, 0, 1, 1}).evaluate(2, 3));
  EXPECT_FALSE(gpu::DimExpr({0, 0, 0, INT64_MAX / 2, 1}).evaluate(4, 4));
  EXPECT_FALSE(gpu::DimExpr({1, 0, 0, 0, 0}).evaluate(1, 1)); // divisor 0
  EXPECT_EQ(fixed.str(), "ceil((296) / 64)");
  EXPECT_EQ(rows.str(), "ceil((1*B*T) / 128)");
  EXPECT_EQ(gpu::DimExpr({4, 2, 0, 0, 1}).str(), "4 + 2*B");
  EXPECT_EQ(gpu::DimExpr{}.str(), "0");
}

TEST(DimExpr, CapsAPersistentGridPerMultiprocessor) {
  // ceil(34 * B * T / 128) work items, at most two blocks an SM.
  gpu::DimExpr items{0, 0, 0, 34, 128, 2};
  EXPECT_EQ(*items.evaluate(1, 4096, 132), 264); // 1088 items
  EXPECT_EQ(*items.evaluate(1, 512, 132), 136);  // fewer items than blocks
  EXPECT_EQ(*items.evaluate(1, 4096, 1), 2);     // the smallest device
  EXPECT_FALSE(items.evaluate(1, 4096));         // the count is unknown
  EXPECT_FALSE(items.evaluate(1, 4096, 0));
  EXPECT_FALSE(gpu::DimExpr({1, 0, 0, 0, 1, 2}).evaluate(1, 1, INT64_MAX));
  EXPECT_EQ(items.str(), "min(ceil((34*B*T) / 128), 2*SMs)");
  EXPECT_EQ(gpu::DimExpr({64, 0, 0, 0, 1, 1}).str(), "min(64, 1*SMs)");
}

//===----------------------------------------------------------------------===//
// Launch plans
//===----------------------------------------------------------------------===//

std::vector<std::vector<gpu::LaunchCode>> plansOf(const json &m,
                                                  const std::string &arch) {
  Manifest parsed = parseManifest(m.dump());
  return gpu::parseLaunchPlans(m.dump(), parsed, "cuda", arch);
}

TEST(LaunchPlans, ReadsEveryLaunchWithPerArchOverrides) {
  json m = gpuManifest(true, [](json &launch) {
    if (launch["kernel"] == "linear") {
      json over = cudaCode("fake_linear_sm90", 65536);
      over["kernels"].push_back(over["kernels"][0]);
      over["kernels"][1]["function"] = "fake_linear_combine";
      launch["cuda"]["by_arch"] = {{"sm_90a", over}};
    }
  });
  auto base = plansOf(m, "sm_80");
  ASSERT_EQ(base.size(), 2u);
  ASSERT_EQ(base[0].size(), 4u);
  EXPECT_EQ(base[0][0].module, "kfake");
  EXPECT_EQ(base[0][0].kernels[0].function, "fake_embedding");
  EXPECT_EQ(base[0][2].workspace.perBatchToken, 64);
  EXPECT_EQ(base[0][3].kernels.size(), 1u);
  EXPECT_EQ(base[0][3].kernels[0].function, "fake_linear");
  EXPECT_EQ(base[0][3].kernels[0].block[0], 32);
  EXPECT_EQ(base[0][3].kernels[0].grid[0].perBatchToken, 1);
  auto hopper = plansOf(m, "sm_90a");
  ASSERT_EQ(hopper[1][3].kernels.size(), 2u);
  EXPECT_EQ(hopper[1][3].kernels[0].function, "fake_linear_sm90");
  EXPECT_EQ(hopper[1][3].kernels[0].sharedBytes, 65536);
  EXPECT_EQ(hopper[1][3].kernels[1].function, "fake_linear_combine");
  EXPECT_EQ(hopper[1][0].kernels[0].function, "fake_embedding");
}

TEST(LaunchPlans, ReadsRowRangesOnlyWhereGiven) {
  auto plans = plansOf(withRowVariants(gpuManifest(true)), "sm_90a");
  const gpu::LaunchCode &prefill = plans[0][3], &decode = plans[1][3];
  ASSERT_EQ(prefill.kernels.size(), 1u);
  EXPECT_EQ(prefill.kernels[0].minRows, 0);
  EXPECT_EQ(prefill.kernels[0].maxRows, INT64_MAX);
  EXPECT_TRUE(prefill.kernels[0].runsFor(1 << 20));
  ASSERT_EQ(decode.kernels.size(), 2u);
  EXPECT_EQ(decode.kernels[0].function, "fake_linear_few");
  EXPECT_EQ(decode.kernels[0].minRows, 1);
  EXPECT_EQ(decode.kernels[0].maxRows, 1);
  EXPECT_EQ(decode.kernels[1].minRows, 2);
  EXPECT_EQ(decode.kernels[1].maxRows, INT64_MAX);
  EXPECT_TRUE(decode.kernels[0].runsFor(1));
  EXPECT_FALSE(decode.kernels[0].runsFor(2));
  EXPECT_FALSE(decode.kernels[1].runsFor(1));
  EXPECT_TRUE(decode.kernels[1].runsFor(2));
}

TEST(LaunchPlans, ErrorsNameTheJsonPath) {
  auto error = [](const std::function<void(json &)> &edit) {
    json m = gpuManifest(false);
    edit(m);
    return errorOf([&] { plansOf(m, "sm_90a"); });
  };
  EXPECT_EQ(
      error([](json &m) { m["entries"][0]["launches"][1].erase("cuda"); }),
      "manifest: entries[0] (prefill).launches[1] (rms_norm at "
      "final_norm): no 'cuda' object: the bundle has no cuda code for "
      "this launch");
  EXPECT_EQ(error([](json &m) {
              m["entries"][1]["launches"][2]["cuda"]["kernels"][0].erase(
                  "function");
            }),
            "manifest: entries[1] (decode).launches[2] (linear at "
            "lm_head).cuda.kernels[0]: missing field 'function'");
  EXPECT_EQ(error([](json &m) {
              m["entries"][0]["launches"][0]["cuda"]["kernels"][0]["grid"][1]
               ["divisor"] = 0;
            }),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).cuda.kernels[0] ('fake_embedding').grid[1].divisor: 0 is "
            "outside [1, 9223372036854775807]");
  EXPECT_EQ(error([](json &m) {
              m["entries"][0]["launches"][0]["cuda"]["kernels"][0]["block"] = {
                  64, 32, 1};
            }),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).cuda.kernels[0] ('fake_embedding').block: 2048 threads "
            "per block (at most 1024)");
  EXPECT_EQ(error([](json &m) {
              m["entries"][0]["launches"][0]["cuda"]["kernels"][0]["rows"] = {
                  17};
            }),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).cuda.kernels[0] ('fake_embedding').rows: expected 2 "
            "integers (min, max rows)");
  EXPECT_EQ(error([](json &m) {
              m["entries"][0]["launches"][0]["cuda"]["kernels"][0]["rows"] = {
                  1, "16"};
            }),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).cuda.kernels[0] ('fake_embedding').rows[1]: expected an "
            "integer");
  EXPECT_EQ(
      error([](json &m) {
        m["entries"][0]["launches"][0]["cuda"]["kernels"][0]["rows"] = {17, 16};
      }),
      "manifest: entries[0] (prefill).launches[0] (embedding at "
      "embed).cuda.kernels[0] ('fake_embedding').rows: the range [17, "
      "16] is empty");
  EXPECT_EQ(error([](json &m) {
              m["entries"][0]["launches"][0]["cuda"]["kernels"] = json::array();
            }),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).cuda.kernels: expected a non-empty array of kernels");
  EXPECT_EQ(error([](json &m) {
              m["entries"][0]["launches"][0]["cuda"]["by_arch"]["sm_90a"] = {
                  {"module", "k2"}};
            }),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).cuda.by_arch.sm_90a: missing field 'workspace'");
  EXPECT_EQ(error([](json &m) {
              m["entries"][1]["launches"][2]["results"][0]["dtype"] = "f16";
            }),
            "manifest: entries[1] (decode).launches[2] (linear at "
            "lm_head).results[0]: the kernel writes output 'logits' as f16, "
            "but entry outputs are f32 (docs/bundle.md)");
  EXPECT_EQ(error([](json &m) {
              json &ops = m["entries"][0]["launches"][2]["operands"];
              while (ops.size() < 24)
                ops.push_back(nullptr);
            }),
            "manifest: entries[0] (prefill).launches[2] (linear at lm_head): "
            "25 operands and results, more than a kernel takes (24)");
  // Only a grid dimension may be capped per multiprocessor.
  EXPECT_EQ(error([](json &m) {
              m["entries"][0]["launches"][0]["cuda"]["workspace"]["per_sm"] = 1;
            }),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).cuda.workspace.per_sm: only a grid dimension may be "
            "capped per multiprocessor");
  EXPECT_EQ(error([](json &m) {
              m["entries"][0]["launches"][0]["cuda"]["kernels"][0]["grid"][0]
               ["per_sm"] = -1;
            }),
            "manifest: entries[0] (prefill).launches[0] (embedding at "
            "embed).cuda.kernels[0] ('fake_embedding').grid[0].per_sm: -1 is "
            "outside [0, 1024]");
}

TEST(LaunchPlans, ReadsAGridCappedPerMultiprocessor) {
  json m = gpuManifest(false);
  m["entries"][0]["launches"][0]["cuda"]["kernels"][0]["grid"][0]["per_sm"] = 2;
  auto plans = plansOf(m, "sm_90a");
  EXPECT_EQ(plans[0][0].kernels[0].grid[0].perSm, 2);
  EXPECT_EQ(plans[0][0].kernels[0].grid[1].perSm, 0);
}

//===----------------------------------------------------------------------===//
// BraidKernelParams against a manifest, through the real executor
//===----------------------------------------------------------------------===//

/// Host memory; records what a GPU backend would pack for each launch.
class RecordingBackend final : public Backend {
public:
  std::string name() const override { return "recording"; }
  std::string describe() const override { return "recording"; }
  std::string target() const override { return "cuda"; }
  bool hostAddressable() const override { return true; }
  DeviceBuffer allocate(size_t bytes) override {
    return {std::calloc(bytes, 1), bytes};
  }
  void release(DeviceBuffer &b) override {
    std::free(b.data);
    b = {};
  }
  void upload(const DeviceBuffer &, size_t, const void *, size_t) override {}
  void download(void *, const DeviceBuffer &, size_t, size_t) override {}
  void fillZero(const DeviceBuffer &, size_t, size_t) override {}
  void prepare(const Manifest &m, const Bundle *) override {
    for (const Entry &e : m.entries) {
      symbols.emplace_back();
      for (const Launch &l : e.launches)
        symbols.back().push_back(gpu::findLaunchSymbols(l));
    }
  }
  std::string launch(size_t e, size_t l, KernelCall &call) override {
    if (l == 0)
      callSymbols = {};
    callSymbols.noteLaunch(symbols[e][l], call);
    BraidKernelParams p;
    gpu::packBuffers(call, p);
    packed.push_back(p);
    return "";
  }
  std::string synchronize() override { return ""; }
  bool hasKernel(std::string_view) const override { return true; }

  std::vector<std::vector<gpu::LaunchSymbols>> symbols;
  std::vector<BraidKernelParams> packed;
  gpu::CallSymbols callSymbols;
};

TEST(KernelParams, OperandsThenResultsInManifestOrder) {
  Manifest m = parseManifest(gpuManifest(true).dump());
  RecordingBackend backend;
  backend.prepare(m, nullptr);
  Executor executor(m, backend);
  const int64_t B = 2, T = 3, S = 9;
  std::vector<char> arena(size_t(m.arenaBytesPerToken * B * T));
  int64_t ids[6] = {}, positions[6] = {}, cachePosition[2] = {};
  float weights[3][1], state[1], logits[1];
  ExecBindings b;
  b.dims = {B, T, S};
  b.arena = arena.data();
  b.weights = {weights[0], weights[1], weights[2]};
  b.states = {state};
  b.inputs = {ids, positions, cachePosition};
  b.outputs = {logits};
  executor.run(0, b);
  ASSERT_EQ(backend.packed.size(), 4u);
  const BraidKernelParams *p = backend.packed.data();
  // embedding: input_ids, embed -> arena 0
  EXPECT_EQ(p[0].buffers[0], ids);
  EXPECT_EQ(p[0].buffers[1], weights[0]);
  EXPECT_EQ(p[0].buffers[2], arena.data());
  EXPECT_EQ(p[0].buffers[3], nullptr);
  // rms_norm: arena 0, final_norm -> arena 32 (x B x T)
  EXPECT_EQ(p[1].buffers[0], arena.data());
  EXPECT_EQ(p[1].buffers[1], weights[1]);
  EXPECT_EQ(p[1].buffers[2], arena.data() + 32 * B * T);
  // accumulate: arena 32, acc, positions, cache_position -> acc, arena 64
  EXPECT_EQ(p[2].buffers[0], arena.data() + 32 * B * T);
  EXPECT_EQ(p[2].buffers[1], state);
  EXPECT_EQ(p[2].buffers[2], positions);
  EXPECT_EQ(p[2].buffers[3], cachePosition);
  EXPECT_EQ(p[2].buffers[4], state); // the state again, as a result
  EXPECT_EQ(p[2].buffers[5], arena.data() + 64 * B * T);
  // linear: arena 64, lm_head, absent bias -> logits
  EXPECT_EQ(p[3].buffers[0], arena.data() + 64 * B * T);
  EXPECT_EQ(p[3].buffers[1], weights[2]);
  EXPECT_EQ(p[3].buffers[2], nullptr);
  EXPECT_EQ(p[3].buffers[3], logits);
  for (int i = 4; i < BRAID_MAX_KERNEL_BUFFERS; ++i)
    EXPECT_EQ(p[3].buffers[i], nullptr);
  // B, T, S and cache_position as the call bound them.
  const gpu::CallSymbols &s = backend.callSymbols;
  EXPECT_EQ(s.dims[0], B);
  EXPECT_EQ(s.dims[1], T);
  EXPECT_EQ(s.dims[2], S);
  EXPECT_EQ(s.cachePosition, cachePosition);
  int workspace;
  KernelCall call;
  call.operands.resize(2);
  call.results.resize(1);
  call.operands[0].data = ids;
  BraidKernelParams full = gpu::packParams(call, s, &workspace);
  EXPECT_EQ(full.buffers[0], ids);
  EXPECT_EQ(full.workspace, &workspace);
  EXPECT_EQ(full.cache_position, cachePosition);
  EXPECT_EQ(full.batch, B);
  EXPECT_EQ(full.tokens, T);
  EXPECT_EQ(full.max_seq, S);
  // Decode: T = 1.
  backend.packed.clear();
  b.dims = {B, 1, S};
  executor.run(1, b);
  EXPECT_EQ(backend.callSymbols.dims[1], 1);
  EXPECT_EQ(backend.packed[1].buffers[2], arena.data() + 32 * B);

  KernelCall tooMany;
  tooMany.operands.resize(20);
  tooMany.results.resize(5);
  BraidKernelParams q;
  EXPECT_EQ(errorOf([&] { gpu::packBuffers(tooMany, q); }),
            "25 operands and results, more than a kernel takes (24)");
}

//===----------------------------------------------------------------------===//
// The backend on the fake driver
//===----------------------------------------------------------------------===//

TEST(CudaBackendFake, WeightsAreStoredInTheirManifestDtype) {
  auto driver = cu::loadCudaDriver(BRAID_FAKE_CUDA_DRIVER);
  CudaBackend backend(*driver, /*cudaGraph=*/false);
  EXPECT_EQ(backend.name(), "cuda");
  EXPECT_EQ(backend.target(), "cuda");
  EXPECT_FALSE(backend.hostAddressable());
  EXPECT_EQ(backend.availableMemory(), uint64_t(8) << 30);
  EXPECT_CONTAINS(backend.describe(),
                  "cuda: Braid Fake GPU (sm_90, 4 SMs, CUDA 13.0 driver)");
  WeightDecl w;
  w.name = "w";
  w.shape = {5};
  std::vector<float> values = {1.0f, -2.5f, 3.14159f, 1e-3f, 65504.0f};
  for (ValueType t : {ValueType::F32, ValueType::BF16, ValueType::F16}) {
    w.dtype = t;
    size_t bytes = backend.weightBytes(w);
    EXPECT_EQ(bytes, 5 * byteWidth(t));
    DeviceBuffer buf = backend.allocate(bytes);
    std::vector<uint8_t> zero(bytes, 0xFF);
    backend.download(zero.data(), buf, 0, bytes);
    EXPECT_EQ(zero, std::vector<uint8_t>(bytes, 0)) << "allocate zeroes";
    backend.uploadWeight(buf, w, values.data());
    std::vector<uint8_t> back(bytes);
    backend.download(back.data(), buf, 0, bytes);
    for (size_t i = 0; i < values.size(); ++i) {
      float got;
      if (t == ValueType::F32)
        std::memcpy(&got, &back[i * 4], 4);
      else {
        uint16_t h;
        std::memcpy(&h, &back[i * 2], 2);
        got = t == ValueType::BF16 ? bf16ToF32(h) : f16ToF32(h);
        EXPECT_EQ(h, t == ValueType::BF16 ? f32ToBf16(values[i])
                                          : f32ToF16(values[i]));
      }
      EXPECT_NEAR(got, values[i], std::fabs(values[i]) * 1e-2);
    }
    backend.release(buf);
    EXPECT_EQ(buf.data, nullptr);
  }
}

struct FakeRun {
  std::string dir, bundle, weights, trace;
};

FakeRun fakeSetup(const std::string &name, const json &manifest,
                  const std::string &section = "code.sm_90a") {
  FakeRun f;
  f.dir = freshDir(name);
  f.bundle = writeGpuBundle(f.dir, manifest, section);
  f.weights = writeTinyCheckpoint(f.dir);
  f.trace = f.dir + "/trace.txt";
  return f;
}

TEST(CudaBackendFake, PrefillMatchesTheReference) {
  FakeRun f = fakeSetup("cuda-fake-prefill", gpuManifest(true));
  std::string out = f.dir + "/logits.safetensors";
  Result r =
      braidRun(fakeEnv(f.trace), "run " + f.bundle +
                                     " --backend cuda --weights " + f.weights +
                                     " --ids '1,2,3;4,5,15' --max-seq 9 "
                                     "--save-logits " +
                                     out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(r.output, "session   cuda: Braid Fake GPU (sm_90, 4 SMs, "
                            "CUDA 13.0 driver), code code.sm_90a");
  auto file = SafetensorsFile::open(out);
  std::vector<float> logits = readF32(*file->find("logits"));
  std::vector<float> want =
      referenceLogits(tinyWeights(), {1, 2, 3, 4, 5, 15}, 2, 3, true);
  ASSERT_EQ(logits.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(logits[i], want[i], 1e-4) << i;
  std::string trace = readFile(f.trace);
  EXPECT_EQ(count(trace, "load cubin"), 1) << trace; // one module, once
  EXPECT_CONTAINS(trace, "launch fake_embedding grid 6,1,1 block 32,1,1 "
                         "shared 0 B 2 T 3 S 9");
  EXPECT_CONTAINS(trace, "launch fake_linear grid 6,1,1");
}

TEST(CudaBackendFake, DecodeGraphReplaysWhatLaunchesOneByOneWouldDo) {
  FakeRun f = fakeSetup("cuda-fake-graph", gpuManifest(true));
  std::string args = "generate " + f.bundle + " --backend cuda --weights " +
                     f.weights + " --ids '1,2,3;4,5,15' -n 6";
  Result plain = braidRun(fakeEnv() + " BRAID_CUDA_STATS=1", args);
  ASSERT_EQ(plain.status, 0) << plain.output;
  Result graph = braidRun(fakeEnv(f.trace) + " BRAID_CUDA_STATS=1",
                          args + " --cuda-graph");
  ASSERT_EQ(graph.status, 0) << graph.output;
  EXPECT_EQ(count(generatedLines(plain.output), "generated:"), 2)
      << plain.output;
  EXPECT_EQ(generatedLines(plain.output), generatedLines(graph.output));
  EXPECT_CONTAINS(graph.output, "decode as a CUDA graph");
  // 5 decodes: captured once, replayed 5 times (the first run included).
  EXPECT_CONTAINS(graph.output, "1 decode graph capture, 5 replays");
  EXPECT_CONTAINS(plain.output, "0 decode graph captures, 0 replays");
  std::string trace = readFile(f.trace);
  EXPECT_EQ(count(trace, "capture begin"), 1) << trace;
  EXPECT_EQ(count(trace, "capture end 4"), 1) << trace;
  EXPECT_EQ(count(trace, "graph launch 4"), 5) << trace;
}

// Timing attribution: BRAID_SKIP_KERNELS leaves out the launches whose
// label contains one of its strings, in launches one by one and in the
// captured graph, warns once that the results are wrong and counts them;
// BRAID_LIST_KERNELS prints each entry's labels at its first call.
TEST(CudaBackendFake, SkipKernelsLeavesOutMatchingLaunches) {
  FakeRun f = fakeSetup("cuda-fake-skip", gpuManifest(true));
  std::string args = "generate " + f.bundle + " --backend cuda --weights " +
                     f.weights + " --ids '1,2,3;4,5,15' -n 4 --cuda-graph";
  Result r = braidRun(fakeEnv(f.trace) + " BRAID_CUDA_STATS=1 "
                                         "BRAID_SKIP_KERNELS=,fake_rms_norm, "
                                         "BRAID_LIST_KERNELS=1",
                      args);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(count(r.output, "BRAID_SKIP_KERNELS leaves out every launch"), 1)
      << r.output;
  // Listed once per entry: prefill and decode, 4 launches each.
  EXPECT_EQ(count(r.output, "braid cuda: prefill: launch "), 4) << r.output;
  EXPECT_EQ(count(r.output, "braid cuda: decode: launch "), 4) << r.output;
  EXPECT_CONTAINS(r.output, "kernel 'fake_rms_norm' of module kfake, grid");
  // Prefill: 3 of 4 launched; decode: 3 captured, replayed 3 times.
  EXPECT_CONTAINS(r.output, "3 kernels launched one by one, 1 decode graph "
                            "capture, 3 replays, 2 launches left out");
  std::string trace = readFile(f.trace);
  EXPECT_EQ(count(trace, "launch fake_rms_norm"), 0) << trace;
  EXPECT_EQ(count(trace, "capture node fake_rms_norm"), 0) << trace;
  EXPECT_EQ(count(trace, "capture end 3"), 1) << trace;
  // Without the variables nothing is left out or listed.
  Result plain = braidRun(fakeEnv() + " BRAID_CUDA_STATS=1", args);
  ASSERT_EQ(plain.status, 0) << plain.output;
  EXPECT_EQ(count(plain.output, "BRAID_SKIP_KERNELS"), 0) << plain.output;
  EXPECT_EQ(count(plain.output, ": launch "), 0) << plain.output;
  EXPECT_CONTAINS(plain.output, "4 kernels launched one by one, 1 decode "
                                "graph capture, 3 replays\n");
}

// generate through decode_greedy: the same tokens as the host loop, with
// the decode steps, each followed by a copy of the ids on the stream,
// enqueued without one synchronization between them.
TEST(CudaBackendFake, GreedyDecodeRunsOnTheDeviceWithoutWaiting) {
  FakeRun f = fakeSetup(
      "cuda-fake-greedy",
      withGreedyEntry(gpuManifest(true), "cuda", cudaCode("fake_greedy_next")));
  std::string args = "generate " + f.bundle + " --backend cuda --weights " +
                     f.weights + " --ids '1,2,3;4,5,15' -n 6 --cuda-graph";
  Result host = braidRun(fakeEnv() + " BRAID_HOST_SAMPLING=1", args);
  ASSERT_EQ(host.status, 0) << host.output;
  Result device = braidRun(fakeEnv(f.trace), args);
  ASSERT_EQ(device.status, 0) << device.output;
  EXPECT_EQ(count(generatedLines(host.output), "generated:"), 2) << host.output;
  EXPECT_EQ(generatedLines(host.output), generatedLines(device.output));
  EXPECT_CONTAINS(host.output, "sampling  greedy, on the host");
  EXPECT_CONTAINS(device.output, "sampling  greedy, on the device");
  std::string trace = readFile(f.trace);
  // 5 steps of 2 ids: one capture of the 5-launch entry, 5 replays, each
  // followed by a 16-byte copy, and no wait until after the last copy.
  EXPECT_EQ(count(trace, "capture end 5"), 1) << trace;
  EXPECT_EQ(count(trace, "graph launch 5"), 5) << trace;
  EXPECT_EQ(count(trace, "copy on stream 16"), 5) << trace;
  size_t first = trace.find("graph launch 5");
  size_t last = trace.rfind("copy on stream 16");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(last, std::string::npos);
  EXPECT_EQ(trace.substr(first, last - first).find("sync"), std::string::npos)
      << trace;
}

// Sampled generation keeps the host loop even where the bundle has
// decode_greedy (the logits come back every step, decode_greedy never runs);
// temperature 0 is the device's greedy run, token for token.
TEST(CudaBackendFake, SampledGenerationRunsTheHostLoop) {
  FakeRun f = fakeSetup(
      "cuda-fake-sampled",
      withGreedyEntry(gpuManifest(true), "cuda", cudaCode("fake_greedy_next")));
  std::string args = "generate " + f.bundle + " --backend cuda --weights " +
                     f.weights + " --ids '1,2,3;4,5,15' -n 6";
  Result greedy = braidRun(fakeEnv(), args);
  ASSERT_EQ(greedy.status, 0) << greedy.output;
  Result zero = braidRun(fakeEnv(), args + " --temperature 0 --seed 4");
  ASSERT_EQ(zero.status, 0) << zero.output;
  EXPECT_EQ(generatedLines(zero.output), generatedLines(greedy.output));
  EXPECT_CONTAINS(zero.output, "sampling  greedy, on the device");
  Result sampled = braidRun(fakeEnv(f.trace),
                            args + " --temperature 0.7 --top-k 5 --seed 4");
  ASSERT_EQ(sampled.status, 0) << sampled.output;
  EXPECT_CONTAINS(sampled.output, "sampling  temperature 0.7, top-k 5, seed 4, "
                                  "on the host (logits copied back every "
                                  "step)");
  EXPECT_EQ(count(generatedLines(sampled.output), "generated:"), 2)
      << sampled.output;
  Result again = braidRun(fakeEnv(), args + " --temperature 0.7 --top-k 5 "
                                            "--seed 4");
  EXPECT_EQ(generatedLines(again.output), generatedLines(sampled.output));
  // No decode_greedy step (its 5 launches) and no copy of the ids aside.
  std::string trace = readFile(f.trace);
  EXPECT_EQ(count(trace, "copy on stream 16"), 0) << trace;
  EXPECT_EQ(count(trace, "launch fake_greedy_next"), 0) << trace;
  EXPECT_NE(count(trace, "launch "), 0) << trace;
}

// A launch with variants by rows runs exactly one of them per call, the one
// whose range holds B * T, also inside a captured decode graph; the tokens
// equal those of the single-kernel plan.
TEST(CudaBackendFake, RowVariantsRunTheOneWhoseRangeHoldsTheRows) {
  for (const char *ids : {"1,2,3", "1,2,3;4,5,15"}) {
    SCOPED_TRACE(ids);
    const bool one = std::string(ids).find(';') == std::string::npos;
    FakeRun single = fakeSetup("cuda-fake-rows-single", gpuManifest(true));
    FakeRun rows =
        fakeSetup("cuda-fake-rows", withRowVariants(gpuManifest(true)));
    auto args = [&](const FakeRun &f) {
      return "generate " + f.bundle + " --backend cuda --weights " + f.weights +
             " --ids '" + ids + "' -n 4";
    };
    Result want = braidRun(fakeEnv(), args(single));
    Result got = braidRun(fakeEnv(rows.trace), args(rows));
    ASSERT_EQ(want.status, 0) << want.output;
    ASSERT_EQ(got.status, 0) << got.output;
    EXPECT_NE(generatedLines(want.output), "");
    EXPECT_EQ(generatedLines(got.output), generatedLines(want.output));
    // 3 decodes, each launching one variant of the linear; prefill keeps
    // its single kernel.
    std::string trace = readFile(rows.trace);
    EXPECT_EQ(count(trace, "launch fake_linear_few"), one ? 3 : 0) << trace;
    EXPECT_EQ(count(trace, "launch fake_linear_many"), one ? 0 : 3) << trace;
    EXPECT_EQ(count(trace, "launch fake_linear grid"), 1) << trace;
    // The captured graph holds the 4 launches' kernels, one linear variant.
    std::remove(rows.trace.c_str());
    Result graph = braidRun(fakeEnv(rows.trace), args(rows) + " --cuda-graph");
    ASSERT_EQ(graph.status, 0) << graph.output;
    EXPECT_EQ(generatedLines(graph.output), generatedLines(want.output));
    trace = readFile(rows.trace);
    EXPECT_EQ(count(trace, "capture end 4"), 1) << trace;
    EXPECT_EQ(count(trace, "graph launch 4"), 3) << trace;
  }
}

// Prompts of different lengths in their own slots on the GPU backend: the
// slot prefills reach each state's rows through offset device pointers, the
// decode graph is captured once and replayed while the lengths (device
// buffers) grow, and each row equals the row run alone at batch 1.
TEST(CudaBackendFake, RaggedDecodeGraphEqualsEachRowAlone) {
  FakeRun f = fakeSetup("cuda-fake-ragged", gpuManifest(true));
  Result r = braidRun(fakeEnv(f.trace) + " BRAID_CUDA_STATS=1",
                      "generate " + f.bundle + " --backend cuda --weights " +
                          f.weights +
                          " --ids '1,2,3,4;5,15;9' -n 4 --cuda-graph "
                          "--compare-alone --tolerance 1e-6");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(r.output, "prefill   3 prompts of 1..4 tokens in");
  EXPECT_CONTAINS(r.output, "PASS: every row's logits over 4 steps match "
                            "those of the row alone (rel-L2 <= 1.0e-06)");
  // The batch session: 3 decodes of generate, then 3 more of the comparison,
  // one capture. The single session: 3 decodes per row, one capture.
  EXPECT_CONTAINS(r.output, "1 decode graph capture, 6 replays");
  EXPECT_CONTAINS(r.output, "1 decode graph capture, 9 replays");
  std::string trace = readFile(f.trace);
  EXPECT_EQ(count(trace, "capture begin"), 2) << trace;
}

TEST(CudaBackendFake, Bf16LogitsAreRefusedNamingTheLaunch) {
  // Entry outputs are f32 in every bundle (braidc writes them so): a launch
  // that writes the logits as bf16 is refused when the session is created.
  json m = gpuManifest(false);
  m["entries"][1]["launches"][2]["results"][0]["dtype"] = "bf16";
  FakeRun f = fakeSetup("cuda-fake-bf16-out", m);
  Result r =
      braidRun(fakeEnv(), "run " + f.bundle + " --backend cuda --weights " +
                              f.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output, "entries[1] (decode).launches[2] (linear at "
                            "lm_head).results[0]: the kernel writes output "
                            "'logits' as bf16, but entry outputs are f32");
}

TEST(CudaBackendFake, ErrorsNameTheLaunchAndTheKernel) {
  // A function the module lacks: refused when the session is created.
  FakeRun missing =
      fakeSetup("cuda-fake-missing", gpuManifest(false, [](json &l) {
                  if (l["kernel"] == "rms_norm")
                    l["cuda"]["kernels"][0]["function"] = "fake_missing";
                }));
  Result r = braidRun(fakeEnv(), "run " + missing.bundle +
                                     " --backend cuda --weights " +
                                     missing.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output,
                  "(section 'code.sm_90a'): kernel 'fake_missing' of module "
                  "'kfake' (prefill: launch 1 (rms_norm at final_norm)): "
                  "cuModuleGetFunction: CUDA_ERROR_NOT_FOUND (named symbol not "
                  "found)");
  // A kernel whose launch fails: named with its geometry.
  FakeRun failing = fakeSetup("cuda-fake-fail", gpuManifest(false, [](json &l) {
                                if (l["kernel"] == "linear")
                                  l["cuda"]["kernels"][0]["function"] =
                                      "fake_fail";
                              }));
  r = braidRun(fakeEnv(), "run " + failing.bundle +
                              " --backend cuda --weights " + failing.weights +
                              " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output,
                  "braid-run: error: prefill: launch 2 (linear at lm_head), "
                  "kernel 'fake_fail' of module kfake, grid [2, 1, 1], block "
                  "[32, 1, 1], 0 bytes of shared memory: cuLaunchKernelEx: "
                  "CUDA_ERROR_LAUNCH_FAILED (unspecified launch failure)");
  // A module the code section lacks.
  json noModule = gpuManifest(false, [](json &l) {
    if (l["kernel"] == "embedding")
      l["cuda"]["module"] = "kgone";
  });
  FakeRun gone = fakeSetup("cuda-fake-gone", noModule);
  r = braidRun(fakeEnv(), "run " + gone.bundle + " --backend cuda --weights " +
                              gone.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output, "(section 'code.sm_90a') has no module 'kgone' "
                            "(needed by prefill: launch 0 (embedding at "
                            "embed))");
}

TEST(CudaBackendFake, ChoosesCubinOrPtxForTheDevice) {
  // Only sm_90a on an 8.0 device: refused, saying what the bundle holds.
  FakeRun f = fakeSetup("cuda-fake-arch", gpuManifest(false));
  Result r = braidRun(fakeEnv("", "8.0"), "run " + f.bundle +
                                              " --backend cuda --weights " +
                                              f.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output,
                  "no CUDA code for this GPU: Braid Fake GPU is sm_80 "
                  "(compute capability 8.0), the bundle holds code.sm_90a");
  // PTX for compute_90 on a 10.0 device: JIT-compiled.
  json m = gpuManifest(false);
  m["targets"] = {"cuda", "compute_90"};
  FakeRun ptx = fakeSetup("cuda-fake-ptx", m, "code.compute_90");
  r = braidRun(fakeEnv(ptx.trace, "10.0"), "run " + ptx.bundle +
                                               " --backend cuda --weights " +
                                               ptx.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(r.output, "code code.compute_90 (PTX, JIT)");
  EXPECT_CONTAINS(readFile(ptx.trace), "load ptx");
  // braid-run info lists the code sections.
  r = braidRun("", "info " + ptx.bundle);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(r.output, "code      code.compute_90          1 module (PTX, "
                            "compiled by the driver at load)");
}

// Programmatic dependent launch: every kernel, launched one by one or
// captured into the decode graph, goes through cuLaunchKernelEx with
// programmatic stream serialization where it is safe (a 9.0+ device, code
// for sm_90+ whose kernels wait in their prologue, a CUDA 12.3+ driver that
// has the entry point, no BRAID_NO_PDL), and through cuLaunchKernel
// otherwise; the tokens are the same either way.
TEST(CudaBackendFake, ProgrammaticDependentLaunchOnlyWhereItIsSafe) {
  struct Case {
    const char *what;
    std::string env, arch;
    bool pdl;
  };
  const std::string fake = BRAID_FAKE_CUDA_DRIVER;
  const std::string old = BRAID_FAKE_CUDA_NOLAUNCHEX;
  const Case cases[] = {
      {"9.0 device, sm_90a", "", "sm_90a", true},
      {"10.0 device, compute_90 PTX", "FAKE_CUDA_CC=10.0", "compute_90", true},
      {"BRAID_NO_PDL=0", "BRAID_NO_PDL=0", "sm_90a", true},
      {"8.0 device, sm_80", "FAKE_CUDA_CC=8.0", "sm_80", false},
      {"9.0 device, compute_80 PTX", "", "compute_80", false},
      {"BRAID_NO_PDL=1", "BRAID_NO_PDL=1", "sm_90a", false},
      {"CUDA 12.2 driver", "FAKE_CUDA_VERSION=12020", "sm_90a", false},
      {"no cuLaunchKernelEx", "BRAID_CUDA_DRIVER=" + old, "sm_90a", false},
  };
  std::string want;
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    json m = gpuManifest(true);
    m["targets"] = {"cuda", c.arch};
    FakeRun f = fakeSetup("cuda-fake-pdl", m, "code." + c.arch);
    Result r = braidRun(fakeEnv(f.trace) + " " + c.env,
                        "generate " + f.bundle + " --backend cuda --weights " +
                            f.weights + " --ids '1,2,3;4,5,15' -n 4 " +
                            "--cuda-graph");
    ASSERT_EQ(r.status, 0) << r.output;
    std::string generated;
    for (size_t at = r.output.find("generated:"); at != std::string::npos;
         at = r.output.find("generated:", at + 1))
      generated += r.output.substr(at, r.output.find('\n', at) - at) + "\n";
    EXPECT_EQ(count(generated, "generated:"), 2) << r.output;
    if (want.empty())
      want = generated;
    EXPECT_EQ(generated, want);
    EXPECT_EQ(count(r.output, "decode as a CUDA graph, programmatic dependent "
                              "launch"),
              c.pdl ? 1 : 0)
        << r.output;
    // 4 prefill kernels launched, 4 decode kernels captured (3 replays).
    std::string trace = readFile(f.trace);
    EXPECT_EQ(count(trace, "launch fake_"), 4) << trace;
    EXPECT_EQ(count(trace, "capture node fake_"), 4) << trace;
    EXPECT_EQ(count(trace, "(cuLaunchKernelEx, programmatic)"), c.pdl ? 8 : 0)
        << trace;
    EXPECT_EQ(count(trace, "(cuLaunchKernel)"), c.pdl ? 0 : 8) << trace;
  }
}

TEST(CudaBackendFake, RaisesTheDynamicSharedMemoryLimitAbove48KiB) {
  FakeRun f = fakeSetup("cuda-fake-smem", gpuManifest(false, [](json &l) {
                          if (l["kernel"] == "rms_norm")
                            l["cuda"]["kernels"][0]["shared_bytes"] = 100000;
                          if (l["kernel"] == "embedding")
                            l["cuda"]["kernels"][0]["shared_bytes"] = 49152;
                        }));
  Result r = braidRun(fakeEnv(f.trace), "run " + f.bundle +
                                            " --backend cuda --weights " +
                                            f.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 0) << r.output;
  std::string trace = readFile(f.trace);
  EXPECT_EQ(count(trace, "set-attribute fake_rms_norm 8 100000"), 1) << trace;
  EXPECT_EQ(count(trace, "set-attribute fake_embedding"), 0) << trace;
  // More than the device allows: refused when the session is created.
  FakeRun big = fakeSetup("cuda-fake-smem-big", gpuManifest(false, [](json &l) {
                            if (l["kernel"] == "rms_norm")
                              l["cuda"]["kernels"][0]["shared_bytes"] = 300000;
                          }));
  r = braidRun(fakeEnv(), "run " + big.bundle + " --backend cuda --weights " +
                              big.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output, "kernel 'fake_rms_norm' of module 'kfake' "
                            "(prefill: launch 1 (rms_norm at final_norm)): 0 "
                            "bytes of static and 300000 of dynamic shared "
                            "memory exceed the 232448 a block may use");
}

TEST(CudaBackendFake, CapsPersistentGridsAtTheMultiprocessorCount) {
  // The embedding's grid: a block per row (B * T = 6), at most one per SM
  // of the fake device (4); the fake kernels run on the host whatever the
  // grid, so the logits stay the reference's.
  FakeRun f = fakeSetup("cuda-fake-per-sm", gpuManifest(false, [](json &l) {
                          if (l["kernel"] == "embedding") {
                            json g = dimExpr(0, 0, 0, 1);
                            g["per_sm"] = 1;
                            l["cuda"]["kernels"][0]["grid"][0] = g;
                          }
                        }));
  Result r = braidRun(fakeEnv(f.trace),
                      "run " + f.bundle + " --backend cuda --weights " +
                          f.weights + " --ids '1,2,3;4,5,15'");
  ASSERT_EQ(r.status, 0) << r.output;
  std::string trace = readFile(f.trace);
  EXPECT_CONTAINS(trace, "launch fake_embedding grid 4,1,1");
  // Fewer rows than SMs: the rows.
  r = braidRun(fakeEnv(f.trace), "run " + f.bundle +
                                     " --backend cuda --weights " + f.weights +
                                     " --ids '1,2'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(readFile(f.trace), "launch fake_embedding grid 2,1,1");
}

/// A tensor map of the launch's first operand as [B*T, 8] elements of 2
/// bytes in boxes of 8 x 2 (the tiny model's linear: the fake driver only
/// checks the rules and traces the numbers).
json tinyTensorMap(json swizzle = 0) {
  return {{"buffer", 0},   {"rows", dimExpr(0, 0, 0, 1, 1)},
          {"cols", 8},     {"element_bytes", 2},
          {"box", {8, 2}}, {"swizzle", std::move(swizzle)}};
}

TEST(CudaBackendFake, EncodesTensorMapsForEachCall) {
  FakeRun f =
      fakeSetup("cuda-fake-tma", gpuManifest(false, [](json &l) {
                  if (l["kernel"] == "linear")
                    l["cuda"]["kernels"][0]["tensor_maps"] = {tinyTensorMap()};
                }));
  // The prompt (2 tokens) and a decode step (1): the map follows the
  // call's rows.
  Result r = braidRun(fakeEnv(f.trace), "generate " + f.bundle +
                                            " --backend cuda --weights " +
                                            f.weights + " --ids 1,2 -n 2");
  EXPECT_EQ(r.status, 0) << r.output;
  std::string trace = readFile(f.trace);
  EXPECT_CONTAINS(trace, "tensor-map rows 2 cols 8 stride 16 box 8,2 swizzle 0 "
                         "type 1");
  EXPECT_CONTAINS(trace, "tensor-map rows 1 cols 8 stride 16 box 8,2 swizzle 0 "
                         "type 1");
  // Only the linear's kernel gets maps.
  EXPECT_GE(count(trace, ", maps 1)"), 2) << trace;
  EXPECT_EQ(count(trace, ", maps 1)"),
            count(trace, "fake_linear (") + count(trace, "fake_linear grid"))
      << trace;
}

TEST(CudaBackendFake, RejectsMalformedTensorMaps) {
  struct Case {
    json map;
    const char *message;
  } cases[] = {
      {tinyTensorMap(100), "tensor_maps[0].swizzle: 100 is not 0, 32, 64 or "
                           "128 (bytes)"},
      {tinyTensorMap(8), "tensor_maps[0].swizzle: 8 is not 0, 32, 64 or 128"},
      {[] {
         json m = tinyTensorMap(32);
         m["box"] = {64, 2};
         return m;
       }(),
       "tensor_maps[0].box[0]: a row of the box is 128 bytes, more than the "
       "32-byte swizzle"},
      {[] {
         json m = tinyTensorMap();
         m["box"] = {8, 512};
         return m;
       }(),
       "tensor_maps[0].box[1]: 512 is outside [1, 256]"},
      {[] {
         json m = tinyTensorMap();
         m["buffer"] = 24;
         return m;
       }(),
       "tensor_maps[0].buffer: 24 is outside [-1, 23]"},
      {[] {
         json m = tinyTensorMap();
         m.erase("cols");
         return m;
       }(),
       "tensor_maps[0]: missing field 'cols'"},
  };
  for (const Case &c : cases) {
    FakeRun f = fakeSetup("cuda-fake-tma-bad", gpuManifest(false, [&](json &l) {
                            if (l["kernel"] == "linear")
                              l["cuda"]["kernels"][0]["tensor_maps"] = {c.map};
                          }));
    Result r = braidRun(fakeEnv(), "run " + f.bundle +
                                       " --backend cuda "
                                       "--weights " +
                                       f.weights + " --ids 1,2");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_CONTAINS(r.output, "('fake_linear')." + std::string(c.message));
  }
  // The driver refuses a row stride that is not a multiple of 16 bytes: the
  // error names the kernel, the map and what was asked.
  FakeRun f = fakeSetup("cuda-fake-tma-stride", gpuManifest(false, [](json &l) {
                          if (l["kernel"] == "linear") {
                            json m = tinyTensorMap();
                            m["cols"] = 7;
                            m["box"] = {7, 2};
                            l["cuda"]["kernels"][0]["tensor_maps"] = {m};
                          }
                        }));
  Result r = braidRun(fakeEnv(), "run " + f.bundle +
                                     " --backend cuda "
                                     "--weights " +
                                     f.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output, "kernel 'fake_linear'");
  EXPECT_CONTAINS(r.output, "tensor map 0 (buffer 0): cuTensorMapEncodeTiled "
                            "failed");
  EXPECT_CONTAINS(r.output, "for 2 x 7 elements of 2 bytes");
}

//===----------------------------------------------------------------------===//
// braid-run check: the margin rule and saved decode logits (CPU backend)
//===----------------------------------------------------------------------===//

TEST(BraidRunCheck, MarginRuleAndSavedDecodeLogits) {
  std::string dir = freshDir("check-margin");
  std::string bundle = writeTinyBundle(dir, false);
  std::string weights = writeTinyCheckpoint(dir);
  std::vector<int64_t> ids = {1, 2, 3, 4, 5, 15};
  std::vector<float> logits = referenceLogits(tinyWeights(), ids, 2, 3);
  auto golden = [&](const std::vector<int64_t> &newTokens) {
    std::vector<int64_t> generated;
    for (int b = 0; b < 2; ++b) {
      generated.insert(generated.end(), ids.begin() + 3 * b,
                       ids.begin() + 3 * b + 3);
      generated.insert(generated.end(), newTokens.begin() + 4 * b,
                       newTokens.begin() + 4 * b + 4);
    }
    std::string path = freshDir("check-margin-golden") + "/golden.safetensors";
    writeSafetensors(path,
                     {{"input_ids", StDType::I64, {2, 3}, ids.data()},
                      {"logits", StDType::F32, {2, 3, kVocab}, logits.data()},
                      {"generated", StDType::I64, {2, 7}, generated.data()}});
    return path;
  };
  std::string base = "check " + bundle + " --weights " + weights;
  // Braid's own continuation, from a golden with placeholder tokens.
  std::string saved = dir + "/saved.safetensors";
  Result r =
      braidRun("", base + " --golden " + golden(std::vector<int64_t>(8, 0)) +
                       " --save-logits " + saved);
  EXPECT_CONTAINS(r.output, "(input_ids, logits, tokens, generated, decode_logits)");
  auto file = SafetensorsFile::open(saved);
  ASSERT_TRUE(file->find("tokens") && file->find("decode_logits"));
  EXPECT_EQ(file->find("decode_logits")->shape,
            (std::vector<int64_t>{3, 2, kVocab}));
  std::vector<int64_t> tokens = readI64(*file->find("tokens"));
  ASSERT_EQ(tokens.size(), 8u);
  r = braidRun("", base + " --golden " + golden(tokens));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(r.output, "4/4        ok");
  // A golden that continues differently at row 1's second new token.
  std::vector<int64_t> other = tokens;
  other[5] = (other[5] + 1) % kVocab;
  std::string diverging = golden(other);
  r = braidRun("", base + " --golden " + diverging);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output, "3/4        FAIL (tokens)");
  r = braidRun("", base + " --golden " + diverging + " --margin 1e-12");
  EXPECT_EQ(r.status, 1) << r.output;
  r = braidRun("", base + " --golden " + diverging + " --margin 10");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(r.output, "ok (margin rule)");
  EXPECT_CONTAINS(r.output, "row 1: greedy tokens first differ at new token "
                            "1, where the top-2 margin is");
  EXPECT_CONTAINS(r.output, "match (margin rule: below 10.000000)");
  r = braidRun("", base + " --golden " + diverging + " --margin -1");
  EXPECT_EQ(r.status, 2) << r.output;
}

} // namespace
