//===- CudaBackendTest.cpp - the CUDA backend without a GPU ---------------===//
//
// What can be checked on a machine without an NVIDIA driver (the
// driver-free plan logic, CudaPlan.h, is CudaPlanTest.cpp's):
//   * the driver loader: an absent libcuda is one clean error, through
//     createBackend, sessions and braid-run;
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

const char *kFakeFunctions = "FAKE\nfake_embedding\nfake_rms_norm\n"
                             "fake_accumulate\nfake_linear\nfake_fail\n"
                             "fake_linear_few\nfake_linear_many\n"
                             "fake_greedy_next\n";

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
