//===- CudaPlanTest.cpp - the CUDA backend's driver-free logic ------------===//
//
// What GpuPlan.h and CudaPlan.h decide without a driver: code archives, the
// choice of a code section for a device, launch plans in the manifest,
// DimExprs (per_sm caps included), and the packing of BraidKernelParams,
// checked against a manifest through the real executor. The backend itself
// on a fake driver is CudaBackendTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "GpuTestUtil.h"
#include "TestUtil.h"

#include "runtime/backends/cuda/CudaPlan.h"
#include "runtime/src/Error.h"
#include "runtime/src/Executor.h"

#include <gtest/gtest.h>

#include <cstdlib>

using json = nlohmann::json;
using namespace braid::rt;
using namespace braid::rt::test;

namespace {

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

} // namespace
