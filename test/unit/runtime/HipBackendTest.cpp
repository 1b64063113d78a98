//===- HipBackendTest.cpp - the HIP backend without an AMD GPU ------------===//
//
// What can be checked on a machine without an AMD GPU:
//   * the loader: no library, a library lacking a required symbol, one
//     without the optional graph symbols, hipInit failing, no device — each
//     one clean line — and the real libamdhip64 of this machine (when
//     installed) reporting that it finds no GPU, through braid-run too;
//   * the driver-free logic (HipPlan.h): gcnArchName normalization and
//     discovery in a device-properties buffer, the choice of a code
//     section, the manifest's "hip" launch objects with by_arch;
//   * the whole backend on a fake libamdhip64 (FakeHipDriver.cpp): prefill
//     against the reference, decode as a HIP graph, a device whose
//     architecture the bundle lacks, a bundle without AMD code.
//
//===----------------------------------------------------------------------===//

#include "GpuTestUtil.h"
#include "TestUtil.h"

#include "braid/bundle_writer.h"
#include "runtime/backends/hip/HipBackend.h"
#include "runtime/backends/hip/HipDriver.h"
#include "runtime/backends/hip/HipPlan.h"
#include "runtime/src/Error.h"
#include "runtime/src/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

using json = nlohmann::json;
using namespace braid::rt;
using namespace braid::rt::test;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

json hipCode(const std::string &function, const std::string &module = "kfake") {
  return {{"module", module},
          {"workspace", dimExpr(0)},
          {"kernels",
           {{{"function", function},
             {"grid", {dimExpr(0, 0, 0, 1, 1), dimExpr(1), dimExpr(1)}},
             {"block", {64, 1, 1}},
             {"shared_bytes", 0}}}}};
}

/// The tiny model (TestUtil.h) compiled "for AMD": every launch runs the
/// fake library's kernel of its family.
json hipManifest(bool withState, const std::vector<std::string> &archs) {
  json m = tinyManifest(withState);
  m["targets"] = {"hip"};
  for (const std::string &a : archs)
    m["targets"].push_back(a);
  for (json &entry : m["entries"])
    for (json &launch : entry["launches"]) {
      launch["hip"] = hipCode("fake_" + launch["kernel"].get<std::string>());
      if (launch["kernel"] == "accumulate")
        launch["hip"]["workspace"] = dimExpr(0, 0, 0, 64);
    }
  return m;
}

std::string fakeModule() {
  return "FAKE\nfake_embedding\nfake_rms_norm\nfake_accumulate\nfake_linear\n"
         "fake_greedy_next\n" +
         std::string(1, '\0');
}

struct FakeRun {
  std::string dir, bundle, weights, trace;
};

FakeRun fakeSetup(const std::string &name, const json &manifest,
                  const std::vector<std::string> &archs) {
  FakeRun f;
  f.dir = freshDir(name);
  f.bundle = f.dir + "/tiny-hip.bundle";
  std::vector<BundleSection> sections;
  for (const std::string &a : archs)
    sections.push_back({"code." + a, gpuArchive({{"kfake", fakeModule()}})});
  EXPECT_EQ(writeBundle(f.bundle, manifest.dump(2), sections), "");
  f.weights = writeTinyCheckpoint(f.dir);
  f.trace = f.dir + "/trace.txt";
  return f;
}

std::string fakeEnv(const std::string &extra = "") {
  return std::string("BRAID_HIP_DRIVER=") + BRAID_FAKE_HIP_DRIVER + " " + extra;
}

/// Sets an environment variable for one scope (the fake reads it per call).
struct ScopedEnv {
  std::string name;
  ScopedEnv(const char *n, const char *v) : name(n) { setenv(n, v, 1); }
  ~ScopedEnv() { unsetenv(name.c_str()); }
};

//===----------------------------------------------------------------------===//
// The loader
//===----------------------------------------------------------------------===//

TEST(HipDriver, NoLibraryIsOneCleanLine) {
  std::string error = errorOf([] {
    hip::loadHipDriver(
        {"libbraid-absent-amdhip64.so", "/nowhere/libamdhip64.so"});
  });
  EXPECT_EQ(error.rfind("no HIP runtime: libamdhip64 not found (tried "
                        "libbraid-absent-amdhip64.so, /nowhere/libamdhip64.so)",
                        0),
            0u)
      << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST(HipDriver, AMissingRequiredSymbolIsNamed) {
  EXPECT_EQ(errorOf([] { hip::loadHipDriver({BRAID_FAKE_HIP_BROKEN}); }),
            std::string("the HIP runtime ") + BRAID_FAKE_HIP_BROKEN +
                " lacks hipModuleLaunchKernel (ROCm 5.2 or newer is needed)");
  EXPECT_CONTAINS(errorOf([] { hip::loadHipDriver({"libm.so.6"}); }),
                  "the HIP runtime libm.so.6 lacks hipInit");
}

TEST(HipDriver, TheFakeLoads) {
  auto d = hip::loadHipDriver({BRAID_FAKE_HIP_DRIVER});
  EXPECT_EQ(d->versionText(), "HIP 6.2");
  EXPECT_EQ(d->deviceCount, 1);
  EXPECT_EQ(d->graphSupport(), "");
  EXPECT_EQ(d->errorText(719),
            "hipErrorLaunchFailure (unspecified launch failure)");
}

TEST(HipDriver, WithoutGraphSymbolsGraphsAreRefusedTheRestWorks) {
  auto d = hip::loadHipDriver({BRAID_FAKE_HIP_NOGRAPHS});
  EXPECT_EQ(d->graphSupport(), std::string(BRAID_FAKE_HIP_NOGRAPHS) +
                                   " lacks hipStreamBeginCapture");
  EXPECT_EQ(errorOf([&] { HipBackend(*d, /*graphs=*/true); }),
            "decode as a HIP graph is not available: " +
                std::string(BRAID_FAKE_HIP_NOGRAPHS) +
                " lacks hipStreamBeginCapture; run without --cuda-graph");
  HipBackend backend(*d, /*graphs=*/false);
  EXPECT_EQ(backend.arch(), "gfx942");
}

TEST(HipDriver, InitFailureAndNoDeviceSayTheLibraryWasFound) {
  std::string lib = BRAID_FAKE_HIP_DRIVER;
  {
    ScopedEnv e("FAKE_HIP_INIT", "fail");
    EXPECT_EQ(errorOf([&] { hip::loadHipDriver({lib}); }),
              "libamdhip64 found (" + lib +
                  ", HIP 6.2) but no AMD GPU: hipInit failed: "
                  "hipErrorNoDevice (no ROCm-capable device is detected)");
  }
  ScopedEnv e("FAKE_HIP_DEVICES", "0");
  EXPECT_EQ(errorOf([&] { hip::loadHipDriver({lib}); }),
            "libamdhip64 found (" + lib +
                ", HIP 6.2) but no AMD GPU: hipGetDeviceCount returned "
                "hipErrorNoDevice (no ROCm-capable device is detected)");
}

/// The real libamdhip64 where it is installed (Debian's libamdhip64-dev
/// here) and no AMD GPU: one line, through createBackend and braid-run.
TEST(HipDriver, RealLibraryWithoutAGpu) {
  if (const char *env = std::getenv("BRAID_HIP_DRIVER"); env && *env)
    GTEST_SKIP() << "BRAID_HIP_DRIVER is set";
  BackendOptions options;
  options.name = "hip";
  std::string error = errorOf([&] { createBackend(options); });
  if (error.empty())
    GTEST_SKIP() << "this machine has an AMD GPU";
  if (void *h = dlopen("libamdhip64.so", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(h);
    EXPECT_EQ(error.rfind("libamdhip64 found (libamdhip64.so, HIP ", 0), 0u)
        << error;
    EXPECT_CONTAINS(error, ") but no AMD GPU: hip");
  } else {
    EXPECT_EQ(error.rfind("no HIP runtime: libamdhip64 not found", 0), 0u)
        << error;
  }
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(errorOf([&] { createBackend(options); }), error); // remembered

  FakeRun f = fakeSetup("hip-real", hipManifest(false, {"gfx942"}), {"gfx942"});
  Result r =
      braidRun("-u BRAID_HIP_DRIVER", "run " + f.bundle +
                                          " --backend hip --random-weights 1 "
                                          "--ids 1,2,3");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output, "braid-run: error: " + error + "\n");
}

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

TEST(HipArch, NormalizesTargetIds) {
  EXPECT_EQ(gpu::normalizeGcnArch("gfx942:sramecc+:xnack-"), "gfx942");
  EXPECT_EQ(gpu::normalizeGcnArch("gfx90a:xnack+"), "gfx90a");
  EXPECT_EQ(gpu::normalizeGcnArch("gfx950"), "gfx950");
  EXPECT_EQ(gpu::normalizeGcnArch("gfx1100"), "gfx1100");
  EXPECT_FALSE(gpu::normalizeGcnArch("sm_90a"));
  EXPECT_FALSE(gpu::normalizeGcnArch("gfx"));
  EXPECT_FALSE(gpu::normalizeGcnArch("gfx94z"));
  EXPECT_FALSE(gpu::normalizeGcnArch("AMD Instinct MI300X"));
}

TEST(HipArch, FindsGcnArchNameAnywhereInTheProperties) {
  std::vector<char> props(2048, 0);
  std::strcpy(props.data(), "AMD Instinct MI300X");
  std::strcpy(props.data() + 300, "xgfx000"); // not at a field start
  std::strcpy(props.data() + 1160, "gfx942:sramecc+:xnack-");
  EXPECT_EQ(gpu::findGcnArchName(props.data(), props.size()), "gfx942");
  std::vector<char> none(512, 0);
  std::strcpy(none.data(), "Device 740f");
  EXPECT_FALSE(gpu::findGcnArchName(none.data(), none.size()));
}

TEST(HipArch, ChoosesOnlyTheExactArchitecture) {
  std::vector<std::string> s = {"manifest", "code.sm_90a", "code.gfx90a",
                                "code.gfx942", "weights"};
  EXPECT_EQ(gpu::amdArchs(s), (std::vector<std::string>{"gfx90a", "gfx942"}));
  auto c = gpu::chooseHipArch("gfx942", s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->section, "code.gfx942");
  EXPECT_FALSE(c->ptx);
  EXPECT_FALSE(gpu::chooseHipArch("gfx950", s)); // no JIT on AMD
  EXPECT_FALSE(gpu::chooseHipArch("sm_90a", s));
}

TEST(HipLaunchPlans, ReadsHipObjectsWithPerArchOverrides) {
  json m = hipManifest(false, {"gfx90a", "gfx942"});
  json over = hipCode("fake_linear_mfma", "kmi300");
  over["kernels"][0]["shared_bytes"] = 65536;
  m["entries"][0]["launches"][2]["hip"]["by_arch"] = {{"gfx942", over}};
  Manifest parsed = parseManifest(m.dump());
  auto mi200 = gpu::parseLaunchPlans(m.dump(), parsed, "hip", "gfx90a");
  auto mi300 = gpu::parseLaunchPlans(m.dump(), parsed, "hip", "gfx942");
  EXPECT_EQ(mi200[0][2].kernels[0].function, "fake_linear");
  EXPECT_EQ(mi300[0][2].module, "kmi300");
  EXPECT_EQ(mi300[0][2].kernels[0].function, "fake_linear_mfma");
  EXPECT_EQ(mi300[0][2].kernels[0].sharedBytes, 65536);
  EXPECT_EQ(mi300[0][2].kernels[0].block[0], 64);
  EXPECT_EQ(mi300[1][2].kernels[0].function, "fake_linear"); // decode
  m["entries"][1]["launches"][0]["hip"]["kernels"][0].erase("grid");
  EXPECT_EQ(errorOf([&] {
              gpu::parseLaunchPlans(m.dump(), parsed, "hip", "gfx942");
            }),
            "manifest: entries[1] (decode).launches[0] (embedding at "
            "embed).hip.kernels[0] ('fake_embedding'): missing field 'grid'");
}

//===----------------------------------------------------------------------===//
// The backend on the fake library
//===----------------------------------------------------------------------===//

TEST(HipBackendFake, PrefillMatchesTheReference) {
  FakeRun f =
      fakeSetup("hip-fake-prefill", hipManifest(true, {"gfx90a", "gfx942"}),
                {"gfx90a", "gfx942"});
  std::string out = f.dir + "/logits.safetensors";
  Result r =
      braidRun(fakeEnv("FAKE_HIP_TRACE=" + f.trace),
               "run " + f.bundle + " --backend hip --weights " + f.weights +
                   " --ids '1,2,3;4,5,15' --max-seq 9 --save-logits " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(r.output, "session   hip: Braid Fake AMD GPU (gfx942, 8 CUs, "
                            "HIP 6.2), code code.gfx942");
  auto file = SafetensorsFile::open(out);
  std::vector<float> logits = readF32(*file->find("logits"));
  std::vector<float> want =
      referenceLogits(tinyWeights(), {1, 2, 3, 4, 5, 15}, 2, 3, true);
  ASSERT_EQ(logits.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(logits[i], want[i], 1e-4) << i;
  std::string trace = readFile(f.trace);
  EXPECT_EQ(count(trace, "load"), 1) << trace; // one module, once
  EXPECT_CONTAINS(trace, "launch fake_embedding grid 6,1,1 block 64,1,1");
}

TEST(HipBackendFake, DecodeAsAGraphMatchesLaunchesOneByOne) {
  FakeRun f =
      fakeSetup("hip-fake-graph", hipManifest(true, {"gfx942"}), {"gfx942"});
  std::string args = "generate " + f.bundle + " --backend hip --weights " +
                     f.weights + " --ids '1,2,3;4,5,15' -n 6";
  Result plain = braidRun(fakeEnv("BRAID_HIP_STATS=1"), args);
  ASSERT_EQ(plain.status, 0) << plain.output;
  Result graph =
      braidRun(fakeEnv("BRAID_HIP_STATS=1 FAKE_HIP_TRACE=" + f.trace),
               args + " --graph");
  ASSERT_EQ(graph.status, 0) << graph.output;
  auto tokens = [](const std::string &out) {
    return out.substr(out.find("generated:"));
  };
  EXPECT_EQ(tokens(plain.output).substr(0, 40),
            tokens(graph.output).substr(0, 40));
  EXPECT_CONTAINS(graph.output, "decode as a HIP graph");
  EXPECT_CONTAINS(graph.output, "1 decode graph capture, 5 replays");
  EXPECT_EQ(count(readFile(f.trace), "capture begin"), 1);
}

// generate through decode_greedy on HIP: the host loop's tokens, the steps
// (graph replays, each followed by a copy of the ids on the stream) with no
// synchronization between them.
TEST(HipBackendFake, GreedyDecodeRunsOnTheDeviceWithoutWaiting) {
  json m = withGreedyEntry(hipManifest(true, {"gfx942"}), "hip",
                           hipCode("fake_greedy_next"));
  FakeRun f = fakeSetup("hip-fake-greedy", m, {"gfx942"});
  std::string args = "generate " + f.bundle + " --backend hip --weights " +
                     f.weights + " --ids '1,2,3;4,5,15' -n 6 --graph";
  Result host = braidRun(fakeEnv("BRAID_HOST_SAMPLING=1"), args);
  ASSERT_EQ(host.status, 0) << host.output;
  Result device = braidRun(fakeEnv("FAKE_HIP_TRACE=" + f.trace), args);
  ASSERT_EQ(device.status, 0) << device.output;
  auto tokens = [](const std::string &out) {
    return out.substr(out.find("generated:"));
  };
  EXPECT_EQ(tokens(host.output).substr(0, 60),
            tokens(device.output).substr(0, 60));
  EXPECT_CONTAINS(device.output, "sampling  greedy, on the device");
  std::string trace = readFile(f.trace);
  EXPECT_EQ(count(trace, "copy on stream 16"), 5) << trace;
  size_t first = trace.find("graph launch");
  size_t last = trace.rfind("copy on stream 16");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(last, std::string::npos);
  EXPECT_EQ(trace.substr(first, last - first).find("sync"), std::string::npos)
      << trace;
}

TEST(HipBackendFake, AnArchitectureTheBundleLacksIsNamed) {
  FakeRun f =
      fakeSetup("hip-fake-arch", hipManifest(false, {"gfx90a", "gfx942"}),
                {"gfx90a", "gfx942"});
  Result r = braidRun(fakeEnv("FAKE_HIP_ARCH=gfx950:sramecc+:xnack-"),
                      "run " + f.bundle + " --backend hip --weights " +
                          f.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output, "braid-run: error: " + f.bundle +
                          ": no AMD code for this GPU: Braid Fake AMD GPU is "
                          "gfx950, the bundle holds code for gfx90a, gfx942; "
                          "compile it with braidc --target=hip:gfx950\n");
}

TEST(HipBackendFake, ABundleWithoutAmdCodeIsRefused) {
  // Listed for "hip" but carrying only CUDA code.
  json m = hipManifest(false, {});
  FakeRun f = fakeSetup("hip-fake-nocode", m, {"sm_90a"});
  Result r = braidRun(fakeEnv(), "run " + f.bundle +
                                     " --backend hip "
                                     "--weights " +
                                     f.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output, "no AMD code for this GPU: Braid Fake AMD GPU is "
                            "gfx942, the bundle holds no AMD code (compile it "
                            "with braidc --target=hip)");
  // A bundle not compiled for hip at all: the session's target check.
  FakeRun cpu = fakeSetup("hip-fake-cpu", tinyManifest(false), {});
  r = braidRun(fakeEnv(), "run " + cpu.bundle + " --backend hip --weights " +
                              cpu.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output, "'hip'");
}

TEST(HipBackendFake, Bf16LogitsAreRefusedNamingTheLaunch) {
  json m = hipManifest(false, {"gfx942"});
  m["entries"][1]["launches"][2]["results"][0]["dtype"] = "bf16";
  FakeRun f = fakeSetup("hip-fake-bf16", m, {"gfx942"});
  Result r =
      braidRun(fakeEnv(), "run " + f.bundle + " --backend hip --weights " +
                              f.weights + " --ids 1,2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_CONTAINS(r.output, "entries[1] (decode).launches[2] (linear at "
                            "lm_head).results[0]: the kernel writes output "
                            "'logits' as bf16, but entry outputs are f32");
}

} // namespace
