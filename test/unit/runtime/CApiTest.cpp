//===- CApiTest.cpp - the C API and its C++ wrapper -----------------------===//

#include "TestUtil.h"

#include "braid/braid.h"
#include "braid/braid.hpp"
#include "runtime/src/Backend.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace braid::rt::test;

namespace {

/// Routes sessions created through the C API to the fake kernels.
struct FakeKernels {
  FakeKernels() { braid::rt::setDefaultKernelLookupForTesting(fakeLookup()); }
  ~FakeKernels() { braid::rt::setDefaultKernelLookupForTesting({}); }
};

TEST(CApi, OpenFailuresReturnStatusAndMessage) {
  braid_bundle *b = reinterpret_cast<braid_bundle *>(0x1);
  const char *error = nullptr;
  EXPECT_EQ(braid_bundle_open("/nonexistent.bundle", &b, &error),
            BRAID_ERROR_IO);
  EXPECT_EQ(b, nullptr);
  EXPECT_STREQ(error, "cannot open '/nonexistent.bundle': No such file or "
                      "directory");
  EXPECT_STREQ(braid_last_error(), error);

  std::string path = freshDir("capi") + "/bad.bundle";
  writeFile(path, "BRAIDBDL but not much more");
  EXPECT_EQ(braid_bundle_open(path.c_str(), &b, nullptr), BRAID_ERROR_BUNDLE);
  EXPECT_NE(std::string(braid_last_error()).find("bundle is truncated"),
            std::string::npos);
  EXPECT_EQ(braid_bundle_open(nullptr, &b, nullptr),
            BRAID_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(braid_status_name(BRAID_ERROR_LIMIT), "BRAID_ERROR_LIMIT");
  // Closing and destroying null is harmless.
  braid_bundle_close(nullptr);
  braid_session_destroy(nullptr);
}

TEST(CApi, BundleQueries) {
  std::string dir = freshDir("capi-info");
  std::string path = writeTinyBundle(dir, /*withState=*/true);
  braid_bundle *b = nullptr;
  ASSERT_EQ(braid_bundle_open(path.c_str(), &b, nullptr), BRAID_OK);
  braid_bundle_info info;
  ASSERT_EQ(braid_bundle_get_info(b, &info), BRAID_OK);
  EXPECT_STREQ(info.model, "tiny_state");
  EXPECT_EQ(info.format_version, 1u);
  EXPECT_EQ(info.vocab_size, kVocab);
  EXPECT_EQ(info.num_weights, 3u);
  EXPECT_EQ(info.num_states, 1u);
  EXPECT_EQ(info.num_entries, 2u);
  EXPECT_EQ(info.num_kernel_families, 4u);
  EXPECT_EQ(info.arena_bytes_per_token, 96);
  braid_tensor_info t;
  ASSERT_EQ(braid_bundle_state(b, 0, &t), BRAID_OK);
  EXPECT_STREQ(t.name, "acc");
  ASSERT_EQ(t.rank, 3u);
  EXPECT_EQ(t.shape[0], BRAID_DIM_BATCH);
  EXPECT_EQ(t.shape[1], BRAID_DIM_MAX_SEQ);
  EXPECT_EQ(t.shape[2], kHidden);
  ASSERT_EQ(braid_bundle_weight(b, 2, &t), BRAID_OK);
  EXPECT_STREQ(t.name, "lm_head");
  EXPECT_STREQ(t.transform, "concat(axis 0)");
  EXPECT_EQ(t.num_sources, 2u);
  EXPECT_EQ(braid_bundle_weight(b, 3, &t), BRAID_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(braid_last_error(),
               "weight index 3 is out of range (the bundle has 3)");
  const char *name;
  size_t launches;
  ASSERT_EQ(braid_bundle_kernel_family(b, 2, &name, &launches), BRAID_OK);
  EXPECT_STREQ(name, "accumulate");
  EXPECT_EQ(launches, 2u);
  const char *json;
  size_t size;
  ASSERT_EQ(braid_bundle_manifest(b, &json, &size), BRAID_OK);
  EXPECT_EQ(std::string(json, size), tinyManifest(true).dump(2));
  braid_section_info s;
  ASSERT_EQ(braid_bundle_section(b, 0, &s), BRAID_OK);
  EXPECT_STREQ(s.name, "manifest");
  // The C++ wrapper sees the same.
  braid::Bundle wrapped(path);
  EXPECT_EQ(wrapped.targets(), std::vector<std::string>{"cpu"});
  EXPECT_EQ(braid::formatShape(wrapped.states()[0].shape), "[B, S, 8]");
  EXPECT_EQ(wrapped.kernelFamilies().size(), 4u);
  braid_bundle_close(b);
}

TEST(CApi, SessionRunsAndReportsLimits) {
  FakeKernels fake;
  std::string dir = freshDir("capi-run");
  std::string path = writeTinyBundle(dir);
  std::string weights = writeTinyCheckpoint(dir);
  braid_bundle *b = nullptr;
  ASSERT_EQ(braid_bundle_open(path.c_str(), &b, nullptr), BRAID_OK);
  braid_session_options o;
  braid_session_options_init(&o);
  EXPECT_STREQ(o.backend, "cpu");
  EXPECT_EQ(o.max_batch, 1);
  o.max_batch = 2;
  o.max_seq_len = 6;
  o.weights_path = weights.c_str();
  braid_session *s = nullptr;
  ASSERT_EQ(braid_session_create(b, &o, &s), BRAID_OK) << braid_last_error();
  braid_bundle_close(b); // the session keeps the bundle alive

  int64_t ids[4] = {1, 2, 3, 4};
  float logits[4 * kVocab];
  ASSERT_EQ(braid_prefill(s, ids, 2, 2, logits, 4 * kVocab), BRAID_OK);
  std::vector<float> want = referenceLogits(tinyWeights(), {1, 2, 3, 4}, 2, 2);
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(logits[i], want[i], 1e-5);
  EXPECT_EQ(braid_prefill(s, ids, 2, 2, logits, 10),
            BRAID_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(braid_last_error(), "logits buffer holds 10 floats, 64 needed");
  int64_t bad[2] = {1, 40};
  EXPECT_EQ(braid_prefill(s, bad, 1, 2, logits, 4 * kVocab), BRAID_ERROR_LIMIT);
  EXPECT_STREQ(braid_last_error(),
               "input_ids[0][1] = 40 is outside the vocabulary [0, 16) "
               "(sequence 0, position 1)");
  std::vector<int64_t> many(64, 1);
  std::vector<float> big(64 * kVocab);
  EXPECT_EQ(braid_prefill(s, many.data(), 1, 7, big.data(), big.size()),
            BRAID_ERROR_LIMIT);
  EXPECT_EQ(braid_prefill(s, many.data(), 3, 1, big.data(), big.size()),
            BRAID_ERROR_LIMIT);
  EXPECT_EQ(braid_decode(s, ids, 1, logits, kVocab),
            BRAID_ERROR_INVALID_ARGUMENT); // the failed prefills left none
  ASSERT_EQ(braid_prefill(s, ids, 2, 2, logits, 4 * kVocab), BRAID_OK);
  ASSERT_EQ(braid_decode(s, ids, 2, logits, 2 * kVocab), BRAID_OK);
  braid_session_info si;
  ASSERT_EQ(braid_session_get_info(s, &si), BRAID_OK);
  EXPECT_EQ(si.batch, 2);
  EXPECT_EQ(si.length, 3);
  EXPECT_EQ(si.arena_bytes, 64u * 2 * 6);
  int64_t out[2 * 3];
  braid_generate_stats stats;
  ASSERT_EQ(braid_generate_greedy(s, ids, 2, 2, 3, out, &stats), BRAID_OK);
  EXPECT_EQ(stats.decode_steps, 2);
  EXPECT_EQ(braid_generate_greedy(s, ids, 2, 2, 6, out, nullptr),
            BRAID_ERROR_LIMIT);
  braid_session_destroy(s);
}

/// The C++ wrapper's session over a tiny bundle with a state and its
/// checkpoint, two slots of 8 tokens (the caller holds the FakeKernels).
struct TinyStateSession {
  explicit TinyStateSession(const std::string &tag)
      : dir(freshDir(tag)), bundle(writeTinyBundle(dir, /*withState=*/true)),
        options(twoSlots(writeTinyCheckpoint(dir))), session(bundle, options) {}
  static braid::SessionOptions twoSlots(const std::string &weights) {
    braid::SessionOptions o;
    o.maxBatch = 2;
    o.maxSeqLen = 8;
    o.weightsPath = weights;
    return o;
  }
  std::string dir;
  braid::Bundle bundle;
  braid::SessionOptions options;
  braid::Session session;
};

// Batch slots through the C API and its C++ wrapper: a slot prefill leaves
// the other slot alone, ragged generation equals each prompt alone.
TEST(CApi, SlotsAndRaggedGeneration) {
  FakeKernels fake;
  TinyStateSession t("capi-slots");
  braid::Session &s = t.session;
  TinyWeights w = tinyWeights();

  std::vector<float> last = s.prefillSlots(1, {4, 5, 6}, 1, 3);
  std::vector<float> want = referenceLogits(w, {4, 5, 6}, 1, 3, true);
  for (int64_t v = 0; v < kVocab; ++v)
    ASSERT_NEAR(last[size_t(v)], want[size_t(2 * kVocab + v)], 1e-5);
  EXPECT_EQ(s.slotLength(0), 0);
  EXPECT_EQ(s.slotLength(1), 3);
  EXPECT_EQ(s.info().batch, 2);
  // Slot 0 is empty: decode of slots 0..1 is refused.
  int64_t ids[2] = {1, 2};
  float logits[2 * kVocab];
  EXPECT_EQ(braid_decode(s.get(), ids, 2, logits, 2 * kVocab),
            BRAID_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(braid_last_error(),
               "slot 0 holds no sequence, but decode runs slots 0..1 "
               "together: start one there with a slot prefill");
  s.prefillSlots(0, {9}, 1, 1);
  std::vector<float> step = s.decode({3, 7});
  std::vector<float> want0 = referenceLogits(w, {9, 3}, 1, 2, true);
  std::vector<float> want1 = referenceLogits(w, {4, 5, 6, 7}, 1, 4, true);
  for (int64_t v = 0; v < kVocab; ++v) {
    ASSERT_NEAR(step[size_t(v)], want0[size_t(kVocab + v)], 1e-5);
    ASSERT_NEAR(step[size_t(kVocab + v)], want1[size_t(3 * kVocab + v)], 1e-5);
  }
  EXPECT_EQ(braid_prefill_slots(s.get(), 2, ids, 1, 1, logits, kVocab),
            BRAID_ERROR_LIMIT);
  EXPECT_EQ(braid_prefill_slots(s.get(), 0, ids, 1, 1, logits, 3),
            BRAID_ERROR_INVALID_ARGUMENT);
  int64_t n = 0;
  EXPECT_EQ(braid_session_slot_length(s.get(), 2, &n), BRAID_ERROR_LIMIT);
  EXPECT_STREQ(braid_last_error(),
               "slot 2 is outside the session's slots 0..1");

  braid_generate_stats stats{};
  std::vector<int64_t> out = s.generate({{1, 2, 3, 4, 5}, {6, 7}}, 3, &stats);
  EXPECT_EQ(stats.decode_steps, 2);
  braid::SessionOptions one = t.options;
  one.maxBatch = 1;
  braid::Session alone(t.bundle, one);
  EXPECT_EQ(std::vector<int64_t>(out.begin(), out.begin() + 3),
            alone.generate({1, 2, 3, 4, 5}, 1, 5, 3));
  EXPECT_EQ(std::vector<int64_t>(out.begin() + 3, out.end()),
            alone.generate({6, 7}, 1, 2, 3));
  int64_t lens[2] = {5, 0};
  int64_t prompts[5] = {1, 2, 3, 4, 5};
  int64_t tokens[6];
  EXPECT_EQ(braid_generate_greedy_ragged(s.get(), prompts, lens, 2, 3, tokens,
                                         nullptr),
            BRAID_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(braid_last_error(), "prompt 1 is empty");
  EXPECT_EQ(braid_generate_greedy_ragged(s.get(), prompts, nullptr, 2, 3,
                                         tokens, nullptr),
            BRAID_ERROR_INVALID_ARGUMENT);
}

TEST(CApi, SessionCreationErrors) {
  std::string dir = freshDir("capi-create");
  std::string path = writeTinyBundle(dir);
  braid::Bundle bundle(path);
  braid::SessionOptions o;
  o.weightsPath = dir + "/missing.safetensors";
  {
    FakeKernels fake;
    try {
      braid::Session s(bundle, o);
      FAIL();
    } catch (const braid::Error &e) {
      EXPECT_EQ(e.status(), BRAID_ERROR_IO);
      EXPECT_NE(std::string(e.what()).find("missing.safetensors"),
                std::string::npos);
    }
    o.weightsPath.clear();
    o.randomSeed = 5;
    braid::Session s(bundle, o);
    std::vector<float> l = s.prefill({1, 2}, 1, 2);
    EXPECT_EQ(l.size(), size_t(2 * kVocab));
    EXPECT_EQ(s.generate({1, 2}, 1, 2, 1).size(), 1u);
    EXPECT_THROW(s.prefill({1, 2, 3}, 1, 2), braid::Error);
  }
  if (!realCpuKernelsPresent()) {
    // Without the kernel library every family is unknown to the cpu backend.
    try {
      braid::Session s(bundle, o);
      FAIL();
    } catch (const braid::Error &e) {
      EXPECT_EQ(e.status(), BRAID_ERROR_UNSUPPORTED);
      EXPECT_EQ(std::string(e.what()),
                "kernel family 'embedding' is not implemented by the cpu "
                "backend (entry 'prefill', launch 0, loc embed)");
    }
    EXPECT_FALSE(braid::backendHasKernel("cpu", "embedding"));
  } else {
    EXPECT_TRUE(braid::backendHasKernel("cpu", "embedding"));
  }
  int has = 1;
  EXPECT_EQ(braid_backend_has_kernel("hip", "linear", &has),
            BRAID_ERROR_UNSUPPORTED);
}

// braid_generate: NULL and temperature 0 are braid_generate_greedy's tokens,
// a seed gives the same tokens again (and the C++ wrapper's), bad values fail
// with their name, braid_sampling_init fills greedy.
TEST(CApi, SampledGeneration) {
  FakeKernels fake;
  TinyStateSession tiny("capi-sample");
  braid::Session &s = tiny.session;

  braid_sampling init;
  std::memset(&init, 0xff, sizeof init);
  braid_sampling_init(&init);
  EXPECT_EQ(init.temperature, 0.0);
  EXPECT_EQ(init.top_k, 0);
  EXPECT_EQ(init.top_p, 1.0);
  EXPECT_EQ(init.seed, 0u);

  int64_t prompt[4] = {1, 2, 3, 4};
  int64_t greedy[8], none[8], zero[8], a[8], b[8];
  ASSERT_EQ(braid_generate_greedy(s.get(), prompt, 2, 2, 4, greedy, nullptr),
            BRAID_OK);
  ASSERT_EQ(braid_generate(s.get(), prompt, 2, 2, 4, nullptr, none, nullptr),
            BRAID_OK);
  braid_sampling z = init;
  z.top_k = 2;
  z.top_p = 0.5;
  z.seed = 3;
  ASSERT_EQ(braid_generate(s.get(), prompt, 2, 2, 4, &z, zero, nullptr),
            BRAID_OK);
  EXPECT_EQ(std::memcmp(none, greedy, sizeof greedy), 0);
  EXPECT_EQ(std::memcmp(zero, greedy, sizeof greedy), 0);

  braid_sampling t = init;
  t.temperature = 2.0;
  t.seed = 11;
  braid_generate_stats stats{};
  stats.decode_on_device = 1;
  ASSERT_EQ(braid_generate(s.get(), prompt, 2, 2, 4, &t, a, &stats), BRAID_OK);
  EXPECT_EQ(stats.decode_steps, 3);
  EXPECT_EQ(stats.decode_on_device, 0);
  ASSERT_EQ(braid_generate(s.get(), prompt, 2, 2, 4, &t, b, nullptr), BRAID_OK);
  EXPECT_EQ(std::memcmp(a, b, sizeof a), 0);
  braid::Sampling cpp;
  cpp.temperature = 2.0;
  cpp.seed = 11;
  EXPECT_EQ(s.generate({1, 2, 3, 4}, 2, 2, 4, cpp),
            std::vector<int64_t>(a, a + 8));
  // Ragged prompts of one length are the same sequences.
  int64_t lens[2] = {2, 2};
  ASSERT_EQ(braid_generate_ragged(s.get(), prompt, lens, 2, 4, &t, b, nullptr),
            BRAID_OK);
  EXPECT_EQ(std::memcmp(a, b, sizeof a), 0);

  struct Bad {
    braid_sampling value;
    const char *message;
  };
  braid_sampling negT = init, negK = init, zeroP = init, bigP = init;
  negT.temperature = -0.5;
  negK.top_k = -1;
  zeroP.top_p = 0;
  bigP.top_p = 1.25;
  for (const Bad &bad :
       {Bad{negT, "braid_generate: temperature must be a finite number >= 0 "
                  "(0: greedy), got -0.5"},
        Bad{negK, "braid_generate: top_k must be >= 0 (0: off), got -1"},
        Bad{zeroP, "braid_generate: top_p must be in (0, 1] (1: off), got 0"},
        Bad{bigP,
            "braid_generate: top_p must be in (0, 1] (1: off), got 1.25"}}) {
    EXPECT_EQ(braid_generate(s.get(), prompt, 2, 2, 4, &bad.value, a, nullptr),
              BRAID_ERROR_INVALID_ARGUMENT);
    EXPECT_STREQ(braid_last_error(), bad.message);
  }
  EXPECT_EQ(
      braid_generate_ragged(s.get(), prompt, lens, 2, 4, &bigP, a, nullptr),
      BRAID_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(braid_last_error(), "braid_generate_ragged: top_p must be in "
                                   "(0, 1] (1: off), got 1.25");
  EXPECT_EQ(braid_generate(nullptr, prompt, 2, 2, 4, &t, a, nullptr),
            BRAID_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(braid_last_error(), "braid_generate: null session");
}

} // namespace
