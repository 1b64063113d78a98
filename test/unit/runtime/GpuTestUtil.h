//===- GpuTestUtil.h - helpers of the GPU backend tests ---------*- C++ -*-===//
//
// Shared by CudaPlanTest.cpp, CudaBackendTest.cpp and HipBackendTest.cpp:
// code archives and launch-plan JSON as docs/cuda.md lays them out, the
// tiny model's manifest with "cuda" objects, braid-run as a child process,
// error capture.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TEST_UNIT_RUNTIME_GPUTESTUTIL_H
#define BRAID_TEST_UNIT_RUNTIME_GPUTESTUTIL_H

#include "runtime/src/GpuPlan.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace braid::rt::test {

/// A code archive (docs/cuda.md "Code sections").
std::string
gpuArchive(const std::vector<std::pair<std::string, std::string>> &modules,
           uint32_t magic = gpu::kCodeArchiveMagic, uint32_t version = 1);

/// A DimExpr object of the manifest.
nlohmann::json dimExpr(int64_t constant, int64_t perBatch = 0,
                       int64_t perToken = 0, int64_t perBatchToken = 0,
                       int64_t divisor = 1);

struct Result {
  int status = -1;
  std::string output; ///< stdout and stderr
};

/// braid-run with extra environment assignments ("A=b C=d", or "-u NAME").
Result braidRun(const std::string &env, const std::string &args);

/// Adds decode_greedy to a manifest of the tiny model: its decode launches,
/// then greedy_next with `code` as its `vendor` ("cuda", "hip") object.
nlohmann::json withGreedyEntry(nlohmann::json manifest,
                               const std::string &vendor, nlohmann::json code);

/// A "cuda" launch object: one kernel `function` with a grid of B * T
/// blocks of 32 threads.
nlohmann::json cudaCode(const std::string &function, int64_t shared = 0,
                        nlohmann::json workspace = dimExpr(0));

/// The tiny model (TestUtil.h) compiled "for CUDA": every launch runs the
/// fake driver's kernel of its family. `edit` may change the launch objects.
nlohmann::json
gpuManifest(bool withState,
            const std::function<void(nlohmann::json &launch)> &edit = {});

/// Gives the decode entry's linear of a gpuManifest two variants by rows:
/// fake_linear_few for B * T in [1, 1], fake_linear_many from 2 rows.
nlohmann::json withRowVariants(nlohmann::json m);

/// How often `what` occurs in `text`.
int count(const std::string &text, const std::string &what);

/// The message of the Error `fn` throws, or "".
std::string errorOf(const std::function<void()> &fn);

#define EXPECT_CONTAINS(text, part)                                            \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

} // namespace braid::rt::test

#endif // BRAID_TEST_UNIT_RUNTIME_GPUTESTUTIL_H
