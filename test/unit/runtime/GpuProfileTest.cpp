//===- GpuProfileTest.cpp - BRAID_PROFILE on the fake drivers -------------===//
//
// The opt-in kernel profile of the GPU backends (runtime/src/GpuBackend.h),
// through braid-run on the fake libcuda and libamdhip64: one record per
// kernel launched one by one, one per entry call, graph replays timed whole,
// family sums that add up, and a driver without events running unprofiled
// with one warning.
//
//===----------------------------------------------------------------------===//

#include "GpuTestUtil.h"
#include "TestUtil.h"

#include "braid/bundle_writer.h"

#include <gtest/gtest.h>

#include <map>

using json = nlohmann::json;
using namespace braid::rt;
using namespace braid::rt::test;

namespace {

/// The tiny model (TestUtil.h, with its state: 4 launches per entry) with a
/// `vendor` object on every launch running the fake kernel of its family.
json profiledManifest(const std::string &vendor, const std::string &arch) {
  json m = tinyManifest(/*withState=*/true);
  m["targets"] = {vendor, arch};
  for (json &entry : m["entries"])
    for (json &launch : entry["launches"]) {
      std::string kernel = launch["kernel"];
      launch[vendor] = {
          {"module", "kfake"},
          {"workspace",
           kernel == "accumulate" ? dimExpr(0, 0, 0, 64) : dimExpr(0)},
          {"kernels",
           {{{"function", "fake_" + kernel},
             {"grid", {dimExpr(0, 0, 0, 1, 1), dimExpr(1), dimExpr(1)}},
             {"block", {vendor == "hip" ? 64 : 32, 1, 1}},
             {"shared_bytes", 0}}}}};
    }
  return m;
}

struct ProfileRun {
  std::string dir, bundle, weights, profile;
};

ProfileRun setup(const std::string &name, const std::string &vendor,
                 const std::string &arch) {
  ProfileRun s;
  s.dir = freshDir(name);
  s.bundle = s.dir + "/tiny.bundle";
  std::string functions = "FAKE\nfake_embedding\nfake_rms_norm\n"
                          "fake_accumulate\nfake_linear\n" +
                          std::string(1, '\0');
  EXPECT_EQ(writeBundle(s.bundle, profiledManifest(vendor, arch).dump(),
                        {{"code." + arch, gpuArchive({{"kfake", functions}})}}),
            "");
  s.weights = writeTinyCheckpoint(s.dir);
  s.profile = s.dir + "/profile.json";
  return s;
}

json readProfile(const std::string &path) {
  return json::parse(readFile(path));
}

/// Checks what every profile must satisfy: kernel records point at calls
/// of their entry, and each family's summary is the sum of its records.
void expectConsistent(const json &p) {
  std::map<std::pair<std::string, std::string>, std::pair<size_t, double>> sum;
  for (const json &k : p["kernels"]) {
    const json &call = p["calls"][k["call"].get<size_t>()];
    EXPECT_EQ(k["entry"], call["entry"]);
    EXPECT_FALSE(call["graph"].get<bool>()) << "a graph's kernels are untimed";
    EXPECT_GE(k["ms"].get<double>(), 0.0);
    auto &s = sum[{k["entry"], k["family"]}];
    s.first += 1;
    s.second += k["ms"].get<double>();
  }
  ASSERT_EQ(p["families"].size(), sum.size());
  for (const json &f : p["families"]) {
    auto &s = sum[{f["entry"], f["family"]}];
    EXPECT_EQ(f["kernels"].get<size_t>(), s.first) << f.dump();
    EXPECT_NEAR(f["ms"].get<double>(), s.second, 1e-6 + 1e-9 * s.second);
  }
}

TEST(GpuProfile, CudaPrefillHasOneRecordPerKernelAndFamiliesAddUp) {
  ProfileRun s = setup("profile-cuda-prefill", "cuda", "sm_90a");
  Result r =
      braidRun(std::string("BRAID_CUDA_DRIVER=") + BRAID_FAKE_CUDA_DRIVER +
                   " BRAID_PROFILE=" + s.profile,
               "run " + s.bundle + " --backend cuda --weights " + s.weights +
                   " --ids '1,2,3;4,5,15' --repeat 3");
  ASSERT_EQ(r.status, 0) << r.output;
  json p = readProfile(s.profile);
  EXPECT_EQ(p["backend"], "cuda");
  ASSERT_EQ(p["calls"].size(), 3u);
  for (const json &c : p["calls"]) {
    EXPECT_EQ(c["entry"], "prefill");
    EXPECT_EQ(c["batch"], 2);
    EXPECT_EQ(c["tokens"], 3);
  }
  // 4 launches (embedding, rms_norm, accumulate, linear) per call.
  ASSERT_EQ(p["kernels"].size(), 12u);
  const json &first = p["kernels"][0];
  EXPECT_EQ(first["launch"], 0);
  EXPECT_EQ(first["family"], "embedding");
  EXPECT_EQ(first["function"], "fake_embedding");
  EXPECT_EQ(first["location"], "embed");
  EXPECT_EQ(first["grid"], json({6, 1, 1}));
  EXPECT_EQ(first["block"], json({32, 1, 1}));
  EXPECT_EQ(p["kernels"][3]["family"], "linear");
  EXPECT_EQ(p["kernels"][3]["location"], "lm_head");
  EXPECT_EQ(p["kernels"][11]["call"], 2);
  expectConsistent(p);
  ASSERT_EQ(p["families"].size(), 4u);
  for (const json &f : p["families"]) {
    EXPECT_EQ(f["kernels"], 3);
    EXPECT_NEAR(f["ms_per_call"].get<double>(), f["ms"].get<double>() / 3,
                1e-9);
  }
  ASSERT_EQ(p["entries"].size(), 1u);
  EXPECT_EQ(p["entries"][0]["calls"], 3);
  EXPECT_EQ(p["entries"][0]["graph_calls"], 0);
}

TEST(GpuProfile, CudaGraphReplaysAreTimedWhole) {
  ProfileRun s = setup("profile-cuda-graph", "cuda", "sm_90a");
  std::string env = std::string("BRAID_CUDA_DRIVER=") + BRAID_FAKE_CUDA_DRIVER +
                    " BRAID_PROFILE=" + s.profile;
  std::string args = "generate " + s.bundle + " --backend cuda --weights " +
                     s.weights + " --ids '1,2,3;4,5,15' -n 4";
  // One by one: a prefill and 3 decodes, each with its 4 kernels.
  Result plain = braidRun(env, args);
  ASSERT_EQ(plain.status, 0) << plain.output;
  json p = readProfile(s.profile);
  ASSERT_EQ(p["calls"].size(), 4u);
  EXPECT_EQ(p["calls"][1]["entry"], "decode");
  EXPECT_EQ(p["calls"][1]["tokens"], 1);
  EXPECT_EQ(p["kernels"].size(), 16u);
  expectConsistent(p);
  // As a graph: the decodes are replays, each one call record, no kernels.
  Result graph = braidRun(env, args + " --cuda-graph");
  ASSERT_EQ(graph.status, 0) << graph.output;
  EXPECT_EQ(graph.output.find("ignored"), std::string::npos) << graph.output;
  p = readProfile(s.profile);
  ASSERT_EQ(p["calls"].size(), 4u);
  EXPECT_FALSE(p["calls"][0]["graph"].get<bool>());
  for (size_t i = 1; i < 4; ++i)
    EXPECT_TRUE(p["calls"][i]["graph"].get<bool>());
  EXPECT_EQ(p["kernels"].size(), 4u); // the prefill's
  expectConsistent(p);
  const json &decode = p["entries"][1];
  EXPECT_EQ(decode["entry"], "decode");
  EXPECT_EQ(decode["calls"], 0);
  EXPECT_EQ(decode["graph_calls"], 3);
}

TEST(GpuProfile, WithoutEventsTheRunGoesOnUnprofiled) {
  ProfileRun s = setup("profile-cuda-noevents", "cuda", "sm_90a");
  Result r =
      braidRun(std::string("BRAID_CUDA_DRIVER=") + BRAID_FAKE_CUDA_DRIVER +
                   " FAKE_CUDA_EVENTS=fail BRAID_PROFILE=" + s.profile,
               "run " + s.bundle + " --backend cuda --weights " + s.weights +
                   " --ids '1,2,3'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_CONTAINS(r.output, "braid cuda: BRAID_PROFILE=" + s.profile +
                                " ignored: creating an event");
  EXPECT_EQ(count(r.output, "ignored"), 1) << r.output;
  EXPECT_EQ(readFile(s.profile), "") << "no profile written";
}

#ifdef BRAID_FAKE_HIP_DRIVER
TEST(GpuProfile, HipRecordsTheSame) {
  ProfileRun s = setup("profile-hip", "hip", "gfx942");
  Result r = braidRun(std::string("BRAID_HIP_DRIVER=") + BRAID_FAKE_HIP_DRIVER +
                          " BRAID_PROFILE=" + s.profile,
                      "generate " + s.bundle + " --backend hip --weights " +
                          s.weights + " --ids '1,2,3' -n 3");
  ASSERT_EQ(r.status, 0) << r.output;
  json p = readProfile(s.profile);
  EXPECT_EQ(p["backend"], "hip");
  ASSERT_EQ(p["calls"].size(), 3u);
  EXPECT_EQ(p["kernels"].size(), 12u);
  EXPECT_EQ(p["kernels"][0]["block"], json({64, 1, 1}));
  expectConsistent(p);

  Result old =
      braidRun(std::string("BRAID_HIP_DRIVER=") + BRAID_FAKE_HIP_NOGRAPHS +
                   " BRAID_PROFILE=" + s.profile + ".old",
               "run " + s.bundle + " --backend hip --weights " + s.weights +
                   " --ids '1,2,3'");
  ASSERT_EQ(old.status, 0) << old.output;
  EXPECT_CONTAINS(old.output, "ignored: finding the driver's event functions");
}
#endif

} // namespace
