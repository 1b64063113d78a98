//===- TestUtil.h - helpers shared by the runtime unit tests ----*- C++ -*-===//
//
// A tiny model written by hand (embedding -> rms_norm -> linear, vocab 16,
// hidden 8, lm_head concatenated from two checkpoint tensors), its checkpoint,
// a reference implementation of its logits, and fake kernels that the
// executor runs through the KernelLookup hook.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TEST_UNIT_RUNTIME_TESTUTIL_H
#define BRAID_TEST_UNIT_RUNTIME_TESTUTIL_H

#include "runtime/backends/cpu/CpuKernels.h"
#include "runtime/src/Backend.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace braid::rt::test {

constexpr int64_t kVocab = 16;
constexpr int64_t kHidden = 8;
constexpr double kEpsilon = 1e-5;

/// A fresh directory under the test temp dir (one per call).
std::string freshDir(const std::string &name);
void writeFile(const std::string &path, const std::string &bytes);
std::string readFile(const std::string &path);

/// The tiny model's manifest: prefill and decode entries.
/// With `withState`, an "accumulate" launch between rms_norm and linear adds
/// a state "acc" [B, S, H] (running sums over the sequence): see
/// accumulateKernel.
nlohmann::json tinyManifest(bool withState = false);
/// Writes the manifest as a bundle; returns its path.
std::string writeTinyBundle(const std::string &dir, bool withState = false);

/// Checkpoint values of the tiny model.
struct TinyWeights {
  std::vector<float> embed;   // [V, H]     "model.embed_tokens.weight"
  std::vector<float> norm;    // [H]        "model.norm.weight"
  std::vector<float> lmHeadA; // [10, H]    "lm_head.a"
  std::vector<float> lmHeadB; // [6, H]     "lm_head.b"
};
TinyWeights tinyWeights();
/// Writes them as a safetensors file; returns its path.
std::string writeTinyCheckpoint(const std::string &dir,
                                const TinyWeights &w = tinyWeights());

/// Reference logits [B, T, V] of the tiny model (withState: with the running
/// sum over positions 0..t of the normed hidden states).
std::vector<float> referenceLogits(const TinyWeights &w,
                                   const std::vector<int64_t> &ids,
                                   int64_t batch, int64_t tokens,
                                   bool withState = false);

/// Fake kernels: "embedding", "rms_norm", "linear", "accumulate".
KernelFn fakeKernel(std::string_view family);
KernelLookup fakeLookup();

/// What the accumulate kernel saw on its last calls (positions and
/// cache_position per sequence), for the state tests.
struct AccumulateLog {
  std::vector<int64_t> positions;
  std::vector<int64_t> cachePosition;
  int64_t calls = 0;
};
AccumulateLog &accumulateLog();

/// True when the real CPU kernels are linked (findCpuKernel knows
/// "embedding").
bool realCpuKernelsPresent();

} // namespace braid::rt::test

#endif // BRAID_TEST_UNIT_RUNTIME_TESTUTIL_H
