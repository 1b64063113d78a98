//===- SessionTest.cpp - executor, states and limits on fake kernels ------===//

#include "TestUtil.h"

#include "braid/bundle_writer.h"
#include "runtime/src/Error.h"
#include "runtime/src/Session.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace braid::rt;
using namespace braid::rt::test;
using json = nlohmann::json;

namespace {

struct Fixture {
  std::string dir;
  std::string bundlePath;
  std::string weightsPath;
  TinyWeights weights = tinyWeights();
  std::shared_ptr<const Bundle> bundle;

  explicit Fixture(bool withState = false, const char *name = "tiny") {
    dir = freshDir(name);
    bundlePath = writeTinyBundle(dir, withState);
    weightsPath = writeTinyCheckpoint(dir, weights);
    bundle = Bundle::open(bundlePath);
  }

  std::unique_ptr<Session> session(int64_t maxBatch = 2, int64_t maxSeq = 8,
                                   KernelLookup lookup = fakeLookup()) {
    SessionOptions o;
    o.maxBatch = maxBatch;
    o.maxSeq = maxSeq;
    o.threads = 2;
    o.weightsPath = weightsPath;
    o.kernelLookup = std::move(lookup);
    return std::make_unique<Session>(bundle, o);
  }
};

void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "at " << i;
}

template <typename Fn> std::string errorOf(Fn fn, ErrorCode *code = nullptr) {
  try {
    fn();
    return "";
  } catch (const Error &e) {
    if (code)
      *code = e.code();
    return e.what();
  }
}

TEST(Executor, PrefillMatchesHandComputedLogits) {
  Fixture f;
  auto s = f.session();
  std::vector<int64_t> ids{1, 5, 9, 3, 0, 15, 7, 2};
  std::vector<float> logits(2 * 4 * kVocab);
  s->prefill(ids.data(), 2, 4, logits.data());
  expectNear(logits, referenceLogits(f.weights, ids, 2, 4));
  // A smaller call in the same session lays the arena out for its own B, T.
  std::vector<int64_t> one{4, 4, 11};
  std::vector<float> small(3 * kVocab);
  s->prefill(one.data(), 1, 3, small.data());
  expectNear(small, referenceLogits(f.weights, one, 1, 3));
  EXPECT_EQ(s->batch(), 1);
  EXPECT_EQ(s->length(0), 3);
  EXPECT_EQ(s->weightsDescription(), f.weightsPath);
}

TEST(Executor, DecodeContinuesTheSequence) {
  Fixture f;
  auto s = f.session(2, 8);
  std::vector<int64_t> ids{1, 2, 3, 4, 5, 6}; // [2, 3]
  std::vector<float> logits(2 * 3 * kVocab), step(2 * kVocab);
  s->prefill(ids.data(), 2, 3, logits.data());
  std::vector<int64_t> next{7, 8};
  s->decode(next.data(), 2, step.data());
  // Without state, decode of one token equals prefill of that token alone.
  expectNear(step, referenceLogits(f.weights, next, 2, 1));
  EXPECT_EQ(s->length(0), 4);
  EXPECT_EQ(s->length(1), 4);
}

TEST(Executor, KernelErrorsNameEntryLaunchFamilyAndLoc) {
  Fixture f;
  auto failing = [](std::string_view family) -> KernelFn {
    if (family == "rms_norm")
      return [](const KernelCall &) -> std::string {
        return "rms_norm: operand 1 has 7 elements, expected 8";
      };
    return fakeKernel(family);
  };
  auto s = f.session(1, 4, failing);
  std::vector<int64_t> ids{1, 2};
  std::vector<float> logits(2 * kVocab);
  ErrorCode code{};
  EXPECT_EQ(
      errorOf([&] { s->prefill(ids.data(), 1, 2, logits.data()); }, &code),
      "prefill: launch 1 (rms_norm at final_norm): rms_norm: operand 1 "
      "has 7 elements, expected 8");
  EXPECT_EQ(code, ErrorCode::Kernel);
  // An exception inside a kernel is reported, not propagated raw.
  auto throwing = [](std::string_view family) -> KernelFn {
    if (family == "linear")
      return [](const KernelCall &) -> std::string {
        throw std::runtime_error("boom");
      };
    return fakeKernel(family);
  };
  auto t = f.session(1, 4, throwing);
  EXPECT_EQ(errorOf([&] { t->prefill(ids.data(), 1, 2, logits.data()); }),
            "prefill: launch 2 (linear at lm_head): exception: boom");
}

TEST(Executor, UnknownKernelFamilyRefusedAtSessionCreation) {
  Fixture f;
  auto none = [](std::string_view family) -> KernelFn {
    return family == "linear" ? nullptr : fakeKernel(family);
  };
  ErrorCode code{};
  EXPECT_EQ(errorOf([&] { f.session(1, 4, none); }, &code),
            "kernel family 'linear' is not implemented by the cpu backend "
            "(entry 'prefill', launch 2, loc lm_head)");
  EXPECT_EQ(code, ErrorCode::Unsupported);
}

TEST(Executor, ArenaOutsideThePlanIsCaught) {
  json m = tinyManifest();
  m["arena"]["bytes_per_token"] = 40; // rms_norm's result needs 32 + 32
  std::string dir = freshDir("arena");
  ASSERT_EQ(writeBundle(dir + "/a.bundle", m.dump()), "");
  std::string weights = writeTinyCheckpoint(dir);
  SessionOptions o;
  o.weightsPath = weights;
  o.maxSeq = 4;
  o.kernelLookup = fakeLookup();
  Session s(Bundle::open(dir + "/a.bundle"), o);
  std::vector<int64_t> ids{1, 2};
  std::vector<float> logits(2 * kVocab);
  EXPECT_EQ(errorOf([&] { s.prefill(ids.data(), 1, 2, logits.data()); }),
            "prefill: launch 1 (rms_norm at final_norm): arena result 0 [1, 2, "
            "8] at offset 32 per token ends at byte 128, beyond the arena's 80 "
            "bytes (bytes_per_token 40 x B x T): the bundle's plan is "
            "inconsistent");
}

TEST(States, DecodeStepsEqualOnePrefill) {
  Fixture f(/*withState=*/true, "state");
  auto s = f.session(2, 8);
  std::vector<int64_t> full{3, 1, 4, 1, 5, 9, 2, 6, 5, 3}; // [2, 5]
  std::vector<float> want = referenceLogits(f.weights, full, 2, 5, true);
  // Prefill the first 2 tokens, then decode 3 more, one at a time.
  std::vector<int64_t> prompt{3, 1, 9, 2};
  std::vector<float> logits(2 * 2 * kVocab), step(2 * kVocab);
  s->prefill(prompt.data(), 2, 2, logits.data());
  EXPECT_EQ(accumulateLog().positions, (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(accumulateLog().cachePosition, (std::vector<int64_t>{0, 0}));
  for (int64_t t = 2; t < 5; ++t) {
    std::vector<int64_t> next{full[size_t(t)], full[size_t(5 + t)]};
    s->decode(next.data(), 2, step.data());
    // Positions and cache positions advance with the tokens held.
    EXPECT_EQ(accumulateLog().positions, (std::vector<int64_t>{t, t}));
    EXPECT_EQ(accumulateLog().cachePosition, (std::vector<int64_t>{t, t}));
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t v = 0; v < kVocab; ++v)
        ASSERT_NEAR(step[size_t(b * kVocab + v)],
                    want[size_t((b * 5 + t) * kVocab + v)], 1e-4)
            << "step " << t << " row " << b;
  }
  EXPECT_EQ(s->length(0), 5);
}

TEST(States, PrefillZeroesStates) {
  Fixture f(/*withState=*/true, "zero");
  auto s = f.session(1, 8);
  std::vector<float> a(6 * kVocab), b(2 * kVocab), fresh(2 * kVocab);
  std::vector<int64_t> longIds{1, 2, 3, 4, 5, 6}, shortIds{7, 8};
  s->prefill(longIds.data(), 1, 6, a.data());
  std::vector<int64_t> next{9};
  std::vector<float> step(kVocab);
  s->decode(next.data(), 1, step.data());
  // A new prefill must not see the 7 rows the previous sequence left.
  s->prefill(shortIds.data(), 1, 2, b.data());
  auto other = f.session(1, 8);
  other->prefill(shortIds.data(), 1, 2, fresh.data());
  expectNear(b, fresh, 0);
  expectNear(b, referenceLogits(f.weights, shortIds, 1, 2, true));
}

TEST(Limits, IdsBatchAndLength) {
  Fixture f(/*withState=*/true, "limits");
  auto s = f.session(2, 4);
  std::vector<float> logits(64 * kVocab);
  ErrorCode code{};
  std::vector<int64_t> bad{1, 2, 3, 4, 16, 5}; // [2, 3]
  EXPECT_EQ(
      errorOf([&] { s->prefill(bad.data(), 2, 3, logits.data()); }, &code),
      "input_ids[1][1] = 16 is outside the vocabulary [0, 16) (sequence "
      "1, position 1)");
  EXPECT_EQ(code, ErrorCode::Limit);
  bad = {-1};
  EXPECT_EQ(errorOf([&] { s->prefill(bad.data(), 1, 1, logits.data()); }),
            "input_ids[0][0] = -1 is outside the vocabulary [0, 16) (sequence "
            "0, position 0)");
  std::vector<int64_t> ids(64, 1);
  EXPECT_EQ(
      errorOf([&] { s->prefill(ids.data(), 1, 5, logits.data()); }, &code),
      "a sequence of 5 tokens exceeds the session's maximum length of 4 "
      "tokens");
  EXPECT_EQ(code, ErrorCode::Limit);
  EXPECT_EQ(
      errorOf([&] { s->prefill(ids.data(), 3, 2, logits.data()); }, &code),
      "a batch of 3 sequences exceeds the session's maximum batch of 2");
  EXPECT_EQ(code, ErrorCode::Limit);
  EXPECT_EQ(
      errorOf([&] { s->prefill(ids.data(), 0, 2, logits.data()); }, &code),
      "prefill needs at least one sequence of at least one token (got 0 "
      "x 2)");
  EXPECT_EQ(code, ErrorCode::InvalidArgument);

  // Decode: before prefill, another batch, out of vocabulary, past the end.
  EXPECT_EQ(errorOf([&] { s->decode(ids.data(), 1, logits.data()); }, &code),
            "decode before prefill: the session holds no sequences");
  EXPECT_EQ(code, ErrorCode::InvalidArgument);
  s->prefill(ids.data(), 2, 3, logits.data());
  EXPECT_EQ(errorOf([&] { s->decode(ids.data(), 1, logits.data()); }),
            "decode of 1 sequence, but the session holds 2 (from the last "
            "prefill)");
  std::vector<int64_t> next{2, 99};
  EXPECT_EQ(errorOf([&] { s->decode(next.data(), 2, logits.data()); }, &code),
            "input_ids[1] = 99 is outside the vocabulary [0, 16) (sequence 1, "
            "position 3)");
  EXPECT_EQ(code, ErrorCode::Limit);
  next = {2, 3};
  s->decode(next.data(), 2, logits.data()); // 4 tokens: the maximum
  EXPECT_EQ(errorOf([&] { s->decode(next.data(), 2, logits.data()); }, &code),
            "sequence 0 already holds 4 tokens, the session's maximum length; "
            "decode cannot add another");
  EXPECT_EQ(code, ErrorCode::Limit);
  // Generation checks its whole length up front.
  EXPECT_EQ(errorOf([&] {
              std::vector<int64_t> out(8);
              s->generate(ids.data(), 1, 3, 3, out.data());
            }),
            "a prompt of 3 tokens and 3 new tokens need 5 positions, more than "
            "the session's maximum length of 4");
}

TEST(Limits, SessionOptions) {
  Fixture f;
  EXPECT_EQ(errorOf([&] { f.session(0, 4); }),
            "max batch must be at least 1, found 0");
  EXPECT_EQ(errorOf([&] { f.session(1, 0); }),
            "max sequence length must be at least 1, found 0");
  SessionOptions o;
  o.backend = "tpu";
  EXPECT_EQ(errorOf([&] { Session(f.bundle, o); }),
            "unknown backend 'tpu' (available: cpu, cuda, hip)");
  o.backend = "cpu";
  o.kernelLookup = fakeLookup();
  EXPECT_EQ(errorOf([&] { Session(f.bundle, o); }),
            "no weights: give a safetensors file or folder, or a random seed "
            "(the bundle packs no weights)");
  o.weightsPath = f.weightsPath;
  o.randomSeed = 1;
  EXPECT_EQ(errorOf([&] { Session(f.bundle, o); }),
            "give either a weights path or a random seed, not both");
}

TEST(Limits, MoreMemoryThanTheMachineHas) {
  Fixture f(/*withState=*/true, "memory");
  ErrorCode code{};
  // acc is [B, S, 8] f32: 32 bytes per position, here 3.2 TB.
  std::string e = errorOf([&] { f.session(1, int64_t(100) << 30); }, &code);
  EXPECT_EQ(code, ErrorCode::OutOfMemory);
  EXPECT_EQ(e.rfind("the session needs ", 0), 0u) << e;
  EXPECT_NE(e.find("for max batch 1 and max length 107374182400), but cpu "
                   "has "),
            std::string::npos)
      << e;
}

TEST(States, LargeStatesAreMappedAndZeroed) {
  // 1.3 MB of state: above the CPU backend's threshold for mapped memory.
  Fixture f(/*withState=*/true, "large");
  auto s = f.session(1, 40000);
  std::vector<int64_t> ids{5, 6, 7};
  std::vector<float> logits(3 * kVocab), again(3 * kVocab), step(kVocab);
  s->prefill(ids.data(), 1, 3, logits.data());
  s->decode(ids.data(), 1, step.data());
  s->prefill(ids.data(), 1, 3, again.data());
  expectNear(logits, referenceLogits(f.weights, ids, 1, 3, true));
  expectNear(again, logits, 0);
}

TEST(Limits, BundleForAnotherTarget) {
  json m = tinyManifest();
  m["targets"] = {"sm_90a", "gfx942"};
  std::string path = freshDir("target") + "/t.bundle";
  ASSERT_EQ(writeBundle(path, m.dump()), "");
  SessionOptions o;
  o.randomSeed = 1;
  o.kernelLookup = fakeLookup();
  ErrorCode code{};
  EXPECT_EQ(errorOf([&] { Session(Bundle::open(path), o); }, &code),
            path + ": the bundle was compiled for [sm_90a, gfx942], not for "
                   "target 'cpu' of the cpu backend");
  EXPECT_EQ(code, ErrorCode::Unsupported);
}

TEST(Weights, SessionRefusesBadCheckpoints) {
  Fixture f;
  auto sessionWith = [&](const std::vector<StOutTensor> &tensors) {
    std::string path = freshDir("bad") + "/model.safetensors";
    writeSafetensors(path, tensors);
    SessionOptions o;
    o.weightsPath = path;
    o.kernelLookup = fakeLookup();
    ErrorCode code{};
    std::string e = errorOf([&] { Session(f.bundle, o); }, &code);
    EXPECT_EQ(code, ErrorCode::Weights) << e;
    return std::make_pair(path, e);
  };
  TinyWeights &w = f.weights;
  std::vector<int64_t> ints(16 * 8, 1);
  // Missing tensor.
  auto [p1, e1] = sessionWith(
      {{"model.embed_tokens.weight", StDType::F32, {16, 8}, w.embed.data()},
       {"lm_head.a", StDType::F32, {10, 8}, w.lmHeadA.data()},
       {"lm_head.b", StDType::F32, {6, 8}, w.lmHeadB.data()}});
  EXPECT_EQ(e1, p1 + ": missing tensor 'model.norm.weight' (for weight "
                     "'final_norm'), expected shape [8]");
  // Wrong shape.
  auto [p2, e2] = sessionWith(
      {{"model.embed_tokens.weight", StDType::F32, {8, 16}, w.embed.data()},
       {"model.norm.weight", StDType::F32, {8}, w.norm.data()},
       {"lm_head.a", StDType::F32, {10, 8}, w.lmHeadA.data()},
       {"lm_head.b", StDType::F32, {6, 8}, w.lmHeadB.data()}});
  EXPECT_EQ(e2, p2 + ": tensor 'model.embed_tokens.weight' (for weight "
                     "'embed'): expected shape [16, 8], found [8, 16]");
  // Wrong dtype.
  auto [p3, e3] = sessionWith(
      {{"model.embed_tokens.weight", StDType::I64, {16, 8}, ints.data()},
       {"model.norm.weight", StDType::F32, {8}, w.norm.data()},
       {"lm_head.a", StDType::F32, {10, 8}, w.lmHeadA.data()},
       {"lm_head.b", StDType::F32, {6, 8}, w.lmHeadB.data()}});
  EXPECT_EQ(e3, p3 + ": tensor 'model.embed_tokens.weight' (for weight "
                     "'embed'): expected dtype F32, F16 or BF16 (the weight "
                     "is f32), found I64");
  // A file that is not safetensors.
  std::string junk = freshDir("junk") + "/model.safetensors";
  writeFile(junk, "this is not a checkpoint");
  SessionOptions o;
  o.weightsPath = junk;
  o.kernelLookup = fakeLookup();
  EXPECT_NE(errorOf([&] { Session(f.bundle, o); })
                .find("not a safetensors "
                      "file (or truncated)"),
            std::string::npos);
}

TEST(Weights, HalfPrecisionCheckpointGivesTheSameModel) {
  Fixture f;
  // bf16 copies of the weights; the reference uses the rounded values.
  TinyWeights rounded = f.weights;
  std::vector<std::vector<uint16_t>> bits;
  for (std::vector<float> *v :
       {&rounded.embed, &rounded.norm, &rounded.lmHeadA, &rounded.lmHeadB}) {
    bits.emplace_back();
    for (float &x : *v) {
      bits.back().push_back(f32ToBf16(x));
      x = bf16ToF32(bits.back().back());
    }
  }
  std::string path = freshDir("bf16") + "/model.safetensors";
  writeSafetensors(
      path,
      {{"model.embed_tokens.weight", StDType::BF16, {16, 8}, bits[0].data()},
       {"model.norm.weight", StDType::BF16, {8}, bits[1].data()},
       {"lm_head.a", StDType::BF16, {10, 8}, bits[2].data()},
       {"lm_head.b", StDType::BF16, {6, 8}, bits[3].data()}});
  SessionOptions o;
  o.weightsPath = path;
  o.kernelLookup = fakeLookup();
  Session s(f.bundle, o);
  std::vector<int64_t> ids{0, 3, 6, 9};
  std::vector<float> logits(4 * kVocab);
  s.prefill(ids.data(), 1, 4, logits.data());
  expectNear(logits, referenceLogits(rounded, ids, 1, 4));
}

TEST(Weights, RandomAndPackedWeights) {
  Fixture f;
  SessionOptions o;
  o.randomSeed = 42;
  o.kernelLookup = fakeLookup();
  o.maxSeq = 4;
  Session a(f.bundle, o), b(f.bundle, o);
  EXPECT_EQ(a.weightsDescription(), "random (seed 42)");
  std::vector<int64_t> ids{1, 2, 3};
  std::vector<float> la(3 * kVocab), lb(3 * kVocab);
  a.prefill(ids.data(), 1, 3, la.data());
  b.prefill(ids.data(), 1, 3, lb.data());
  EXPECT_EQ(la, lb);
  for (float x : la)
    EXPECT_TRUE(std::isfinite(x));

  // Packed: a "weights" section holding the IR weights by IR name.
  std::vector<float> head = f.weights.lmHeadA;
  head.insert(head.end(), f.weights.lmHeadB.begin(), f.weights.lmHeadB.end());
  std::string section = serializeSafetensors(
      {{"embed", StDType::F32, {16, 8}, f.weights.embed.data()},
       {"final_norm", StDType::F32, {8}, f.weights.norm.data()},
       {"lm_head", StDType::F32, {16, 8}, head.data()}});
  std::string path = freshDir("packed") + "/p.bundle";
  ASSERT_EQ(writeBundle(path, tinyManifest().dump(), {{"weights", section}}),
            "");
  SessionOptions p;
  p.kernelLookup = fakeLookup();
  p.maxSeq = 4;
  Session packed(Bundle::open(path), p);
  EXPECT_EQ(packed.weightsDescription(), "packed in the bundle");
  std::vector<float> lp(3 * kVocab);
  packed.prefill(ids.data(), 1, 3, lp.data());
  expectNear(lp, referenceLogits(f.weights, ids, 1, 3));
}

TEST(Generate, GreedyTokensFollowTheArgmax) {
  Fixture f(/*withState=*/true, "generate");
  auto s = f.session(2, 8);
  std::vector<int64_t> prompt{1, 2, 3, 4, 5, 6}; // [2, 3]
  std::vector<int64_t> out(2 * 4);
  GenerateStats stats = s->generate(prompt.data(), 2, 3, 4, out.data());
  EXPECT_EQ(stats.decodeSteps, 3);
  // Recompute greedily with the reference: each step a prefill of the whole
  // sequence so far.
  for (int64_t b = 0; b < 2; ++b) {
    std::vector<int64_t> seq(prompt.begin() + b * 3,
                             prompt.begin() + b * 3 + 3);
    for (int64_t i = 0; i < 4; ++i) {
      std::vector<float> l =
          referenceLogits(f.weights, seq, 1, int64_t(seq.size()), true);
      int64_t tok = argmax(l.data() + (seq.size() - 1) * kVocab, kVocab);
      EXPECT_EQ(out[size_t(b * 4 + i)], tok) << "row " << b << " token " << i;
      seq.push_back(tok);
    }
  }
  EXPECT_EQ(s->length(0), 6); // 3 prompt + 3 decoded
}

TEST(Generate, ArgmaxTakesTheFirstOfEqualValues) {
  std::vector<float> v{1, 3, 3, 2};
  EXPECT_EQ(argmax(v.data(), 4), 1);
  v = {-5};
  EXPECT_EQ(argmax(v.data(), 1), 0);
}

/// Each sequence's last row of [B, T, V] logits.
std::vector<float> lastRows(const std::vector<float> &all, int64_t batch,
                            int64_t tokens) {
  std::vector<float> rows;
  for (int64_t b = 0; b < batch; ++b) {
    auto first = all.begin() + (b * tokens + tokens - 1) * kVocab;
    rows.insert(rows.end(), first, first + kVocab);
  }
  return rows;
}

// A bundle without prefill_last (written before the entry existed) still
// generates: prefillLast runs prefill and keeps the last rows, and the
// sequences it starts continue with decode.
TEST(PrefillLast, FallsBackToPrefillWithoutTheEntry) {
  Fixture f(/*withState=*/true, "prefill_last_fallback");
  auto s = f.session(2, 8);
  EXPECT_FALSE(s->hasPrefillLast());
  std::vector<int64_t> ids{1, 2, 3, 4, 5, 6}; // [2, 3]
  std::vector<float> last(2 * kVocab);
  s->prefillLast(ids.data(), 2, 3, last.data());
  expectNear(last, lastRows(referenceLogits(f.weights, ids, 2, 3, true), 2, 3));
  EXPECT_EQ(s->batch(), 2);
  EXPECT_EQ(s->length(1), 3);
  // The state it left is prefill's: decode continues the sequences.
  std::vector<int64_t> next{7, 8}, whole{1, 2, 3, 7, 4, 5, 6, 8};
  std::vector<float> step(2 * kVocab);
  s->decode(next.data(), 2, step.data());
  expectNear(step,
             lastRows(referenceLogits(f.weights, whole, 2, 4, true), 2, 4));
  // The same checks as prefill.
  EXPECT_NE(errorOf([&] { s->prefillLast(ids.data(), 3, 2, last.data()); })
                .find("exceeds the session's maximum batch"),
            std::string::npos);
}

// With the entry (gather_last, then the tail on [B, 1, H]) the manifest is
// accepted, the session finds it, and on the real CPU kernels its logits are
// prefill's last rows.
TEST(PrefillLast, UsesTheEntryWhenPresent) {
  json m = tinyManifest();
  json entry = m["entries"][0];
  entry["name"] = "prefill_last";
  entry["outputs"][0]["shape"] = {"B", 1, kVocab};
  json rows = {{"kind", "arena"}, {"offset", 32}, {"shape", {"B", 1, kHidden}}};
  json normed = rows;
  normed["offset"] = 0;
  json &launches = entry["launches"];
  // embedding -> arena 0; gather_last 0 -> 32; rms_norm 32 -> 0; lm_head.
  launches[1]["operands"][0] = rows;
  launches[1]["results"][0] = normed;
  launches[2]["operands"][0] = normed;
  json gather = {{"kernel", "gather_last"},
                {"loc", ""},
                {"operands",
                 {{{"kind", "arena"},
                   {"offset", 0},
                   {"shape", {"B", "T", kHidden}}}}},
                {"results", {rows}}};
  launches.insert(launches.begin() + 1, gather);
  m["entries"].push_back(entry);
  std::string dir = freshDir("prefill_last_entry");
  std::string path = dir + "/tiny.bundle";
  ASSERT_EQ(braid::rt::writeBundle(path, m.dump(2)), "");
  // logits [B, T, V] would not be what the runtime reads from this entry.
  json bad = m;
  bad["entries"][2]["outputs"][0]["shape"] = {"B", "T", kVocab};
  EXPECT_NE(braid::rt::writeBundle(dir + "/bad.bundle", bad.dump(2))
                .find("vocab_size logits per sequence"),
            std::string::npos);
  if (!realCpuKernelsPresent())
    GTEST_SKIP() << "the CPU kernel library is not linked into this build";
  TinyWeights w = tinyWeights();
  SessionOptions o;
  o.weightsPath = writeTinyCheckpoint(dir, w);
  o.maxBatch = 2;
  o.maxSeq = 8;
  Session s(Bundle::open(path), o);
  EXPECT_TRUE(s.hasPrefillLast());
  std::vector<int64_t> ids{1, 5, 9, 3, 0, 15, 7, 2};
  std::vector<float> last(2 * kVocab);
  s.prefillLast(ids.data(), 2, 4, last.data());
  expectNear(last, lastRows(referenceLogits(w, ids, 2, 4), 2, 4), 1e-4f);
}

/// The same tiny model on the real CPU kernels, once they are linked.
TEST(RealCpuKernels, TinyModelMatchesTheReference) {
  if (!realCpuKernelsPresent())
    GTEST_SKIP() << "the CPU kernel library is not linked into this build";
  Fixture f;
  SessionOptions o;
  o.weightsPath = f.weightsPath;
  o.maxBatch = 2;
  o.maxSeq = 8;
  Session s(f.bundle, o);
  std::vector<int64_t> ids{1, 5, 9, 3, 0, 15, 7, 2};
  std::vector<float> logits(2 * 4 * kVocab);
  s.prefill(ids.data(), 2, 4, logits.data());
  expectNear(logits, referenceLogits(f.weights, ids, 2, 4), 1e-4f);
}

/// Logits of position t of one sequence `seq` (reference, with state).
std::vector<float> referenceAt(const TinyWeights &w,
                               const std::vector<int64_t> &seq, int64_t t) {
  std::vector<int64_t> prefix(seq.begin(), seq.begin() + t + 1);
  std::vector<float> all = referenceLogits(w, prefix, 1, t + 1, true);
  return std::vector<float>(all.end() - kVocab, all.end());
}

// Sequences of different lengths in their own slots decode together, each
// at its own position, and give each sequence's logits alone.
TEST(Slots, RaggedDecodeEqualsEachSequenceAlone) {
  Fixture f(/*withState=*/true, "ragged");
  auto s = f.session(3, 8);
  std::vector<std::vector<int64_t>> seqs{
      {3, 1, 4, 1, 5, 9, 2, 6}, {9, 2, 6, 5, 3}, {7, 7, 8, 1, 2, 3}};
  std::vector<int64_t> prompt{5, 2, 3};
  std::vector<float> last(kVocab);
  // Slots out of order: each start leaves the others' states alone.
  for (int64_t b : {1, 0, 2}) {
    const std::vector<int64_t> &q = seqs[size_t(b)];
    std::vector<int64_t> ids(q.begin(), q.begin() + prompt[size_t(b)]);
    s->prefillSlots(b, ids.data(), 1, prompt[size_t(b)], last.data());
    EXPECT_EQ(accumulateLog().cachePosition, (std::vector<int64_t>{0}));
    expectNear(last, referenceAt(f.weights, q, prompt[size_t(b)] - 1));
  }
  EXPECT_EQ(s->batch(), 3);
  std::vector<float> step(3 * kVocab);
  for (int64_t k = 0; k < 3; ++k) {
    std::vector<int64_t> next, want;
    for (int64_t b = 0; b < 3; ++b) {
      next.push_back(seqs[size_t(b)][size_t(prompt[size_t(b)] + k)]);
      want.push_back(prompt[size_t(b)] + k);
    }
    s->decode(next.data(), 3, step.data());
    EXPECT_EQ(accumulateLog().positions, want);
    EXPECT_EQ(accumulateLog().cachePosition, want);
    for (int64_t b = 0; b < 3; ++b) {
      std::vector<float> got(step.begin() + b * kVocab,
                             step.begin() + (b + 1) * kVocab);
      expectNear(got, referenceAt(f.weights, seqs[size_t(b)], want[size_t(b)]));
    }
  }
  EXPECT_EQ(s->length(0), 8);
  EXPECT_EQ(s->length(1), 5);
  EXPECT_EQ(s->length(2), 6);
}

// Starting a new sequence in one slot zeroes that slot's rows only: the
// other slot continues, and the new one does not see the old one's rows.
TEST(Slots, RestartingOneSlotLeavesTheOthers) {
  Fixture f(/*withState=*/true, "restart");
  auto s = f.session(2, 8);
  std::vector<int64_t> a{1, 2, 3, 4, 5, 6}, b{8, 9, 10, 11, 12}, c{13, 14};
  std::vector<float> two(2 * kVocab), step(2 * kVocab);
  // Both at once (prefillSlots of two slots), then one decode.
  std::vector<int64_t> ab{1, 2, 3, 8, 9, 10};
  s->prefillSlots(0, ab.data(), 2, 3, two.data());
  std::vector<int64_t> next{4, 11};
  s->decode(next.data(), 2, step.data());
  // Slot 0 starts over with c; slot 1 keeps b.
  std::vector<float> one(kVocab);
  s->prefillSlots(0, c.data(), 1, 1, one.data());
  expectNear(one, referenceAt(f.weights, c, 0));
  EXPECT_EQ(s->length(0), 1);
  EXPECT_EQ(s->length(1), 4);
  next = {14, 12};
  s->decode(next.data(), 2, step.data());
  EXPECT_EQ(accumulateLog().cachePosition, (std::vector<int64_t>{1, 4}));
  std::vector<float> got0(step.begin(), step.begin() + kVocab),
      got1(step.begin() + kVocab, step.end());
  expectNear(got0, referenceAt(f.weights, c, 1));
  expectNear(got1, referenceAt(f.weights, b, 4));
}

TEST(Slots, Limits) {
  Fixture f(/*withState=*/true, "slotlimits");
  auto s = f.session(3, 4);
  std::vector<int64_t> ids(16, 1);
  std::vector<float> logits(16 * kVocab);
  ErrorCode code{};
  EXPECT_EQ(
      errorOf([&] { s->prefillSlots(2, ids.data(), 2, 2, logits.data()); },
              &code),
      "slots 2..3 are outside the session's maximum batch of 3 (slots "
      "0..2)");
  EXPECT_EQ(code, ErrorCode::Limit);
  EXPECT_EQ(
      errorOf([&] { s->prefillSlots(-1, ids.data(), 1, 2, logits.data()); }),
      "slots -1..-1 are outside the session's maximum batch of 3 (slots "
      "0..2)");
  // A slot left empty below a held one: decode would run it.
  s->prefillSlots(1, ids.data(), 1, 2, logits.data());
  EXPECT_EQ(s->batch(), 2);
  EXPECT_EQ(s->length(0), 0);
  EXPECT_EQ(errorOf([&] { s->decode(ids.data(), 2, logits.data()); }, &code),
            "slot 0 holds no sequence, but decode runs slots 0..1 together: "
            "start one there with a slot prefill");
  EXPECT_EQ(code, ErrorCode::InvalidArgument);
  // prefill starts slots [0, B) and forgets the rest.
  s->prefillSlots(2, ids.data(), 1, 3, logits.data());
  EXPECT_EQ(s->batch(), 3);
  s->prefill(ids.data(), 1, 2, logits.data());
  EXPECT_EQ(s->batch(), 1);
  EXPECT_EQ(s->length(2), 0);
  // Per-slot limits: slot 1 at the maximum length stops the decode.
  s->prefillSlots(1, ids.data(), 1, 4, logits.data());
  EXPECT_EQ(errorOf([&] { s->decode(ids.data(), 2, logits.data()); }, &code),
            "sequence 1 already holds 4 tokens, the session's maximum length; "
            "decode cannot add another");
  EXPECT_EQ(code, ErrorCode::Limit);
}

// A state whose rows are not per sequence cannot start one slot alone.
TEST(Slots, StateWithoutLeadingBatchIsRefused) {
  json m = tinyManifest(true);
  m["states"][0]["shape"] = {"S", "B", 8};
  std::string dir = freshDir("slotstate");
  ASSERT_EQ(writeBundle(dir + "/s.bundle", m.dump()), "");
  SessionOptions o;
  o.weightsPath = writeTinyCheckpoint(dir);
  o.maxBatch = 2;
  o.maxSeq = 4;
  o.kernelLookup = fakeLookup();
  Session s(Bundle::open(dir + "/s.bundle"), o);
  std::vector<int64_t> ids{1, 2};
  std::vector<float> logits(2 * kVocab);
  ErrorCode code{};
  EXPECT_EQ(
      errorOf([&] { s.prefillSlots(1, ids.data(), 1, 2, logits.data()); },
              &code),
      "state 'acc' [S, B, 8] does not lead with the batch B: its sequences "
      "cannot start in separate slots");
  EXPECT_EQ(code, ErrorCode::Unsupported);
  EXPECT_EQ(s.batch(), 0);
}

TEST(Generate, RaggedPromptsMatchEachPromptAlone) {
  Fixture f(/*withState=*/true, "genragged");
  auto s = f.session(4, 8);
  // Two runs of one length (slots 0-1, then 3) around a longer prompt.
  std::vector<int64_t> prompts{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<int64_t> lengths{2, 2, 5, 3};
  std::vector<int64_t> out(4 * 3);
  GenerateStats stats =
      s->generateRagged(prompts.data(), lengths.data(), 4, 3, out.data());
  EXPECT_EQ(stats.decodeSteps, 2);
  auto alone = f.session(1, 8);
  const int64_t *p = prompts.data();
  for (int64_t b = 0; b < 4; ++b) {
    std::vector<int64_t> one(3);
    alone->generate(p, 1, lengths[size_t(b)], 3, one.data());
    EXPECT_EQ(
        std::vector<int64_t>(out.begin() + b * 3, out.begin() + b * 3 + 3), one)
        << "prompt " << b;
    EXPECT_EQ(s->length(b), lengths[size_t(b)] + 2);
    p += lengths[size_t(b)];
  }
  ErrorCode code{};
  lengths = {2, 7};
  EXPECT_EQ(errorOf(
                [&] {
                  s->generateRagged(prompts.data(), lengths.data(), 2, 3,
                                    out.data());
                },
                &code),
            "prompt 1: a prompt of 7 tokens and 3 new tokens need 9 positions, "
            "more than the session's maximum length of 8");
  EXPECT_EQ(code, ErrorCode::Limit);
  lengths = {2, 0};
  EXPECT_EQ(errorOf([&] {
              s->generateRagged(prompts.data(), lengths.data(), 2, 3,
                                out.data());
            }),
            "prompt 1 is empty");
}

// Sampled generation: every token is the sampler's draw from the logits of
// the sequence so far (recomputed by the reference), sequence b from stream
// (seed, b), in the host loop.
TEST(Generate, SampledTokensAreTheSamplersDraws) {
  Fixture f(/*withState=*/true, "gensampled");
  auto s = f.session(2, 8);
  std::vector<int64_t> prompt{1, 2, 3, 4, 5, 6}; // [2, 3]
  SamplingOptions o = SamplingOptions{3.0, 0, 0.95, 5};
  std::vector<int64_t> out(2 * 4), greedy(2 * 4);
  GenerateStats stats = s->generate(prompt.data(), 2, 3, 4, out.data(), o);
  EXPECT_EQ(stats.decodeSteps, 3);
  EXPECT_FALSE(stats.decodeOnDevice);
  s->generate(prompt.data(), 2, 3, 4, greedy.data());
  EXPECT_NE(out, greedy); // this seed's draws leave the argmax
  for (int64_t b = 0; b < 2; ++b) {
    Sampler sampler(o);
    RandomStream stream(o.seed, uint64_t(b));
    std::vector<int64_t> seq(prompt.begin() + b * 3,
                             prompt.begin() + b * 3 + 3);
    for (int64_t i = 0; i < 4; ++i) {
      std::vector<float> l =
          referenceLogits(f.weights, seq, 1, int64_t(seq.size()), true);
      int64_t tok =
          sampler.sample(l.data() + (seq.size() - 1) * kVocab, kVocab, stream);
      EXPECT_EQ(out[size_t(b * 4 + i)], tok) << "row " << b << " token " << i;
      seq.push_back(tok);
    }
  }
  // The same seed again: the same tokens.
  std::vector<int64_t> again(2 * 4);
  s->generate(prompt.data(), 2, 3, 4, again.data(), o);
  EXPECT_EQ(again, out);
}

// A sequence's draws depend on its index, not on the batch: prompt 0 of a
// ragged batch generates what it generates alone; temperature 0 is greedy
// whatever the other options; bad options fail before any work.
TEST(Generate, SamplingPerSequenceGreedyAtZeroAndChecks) {
  Fixture f(/*withState=*/true, "gensampled2");
  auto s = f.session(2, 8);
  std::vector<int64_t> prompts{1, 2, 3, 4, 5};
  std::vector<int64_t> lengths{3, 2};
  SamplingOptions o = SamplingOptions{1.5, 8, 1, 77};
  std::vector<int64_t> out(2 * 4), one(4);
  s->generateRagged(prompts.data(), lengths.data(), 2, 4, out.data(), o);
  auto alone = f.session(1, 8);
  alone->generate(prompts.data(), 1, 3, 4, one.data(), o);
  EXPECT_EQ(std::vector<int64_t>(out.begin(), out.begin() + 4), one);

  std::vector<int64_t> greedy(2 * 4), zero(2 * 4);
  s->generateRagged(prompts.data(), lengths.data(), 2, 4, greedy.data());
  s->generateRagged(prompts.data(), lengths.data(), 2, 4, zero.data(),
                    SamplingOptions{0, 3, 0.5, 9});
  EXPECT_EQ(zero, greedy);

  ErrorCode code{};
  EXPECT_EQ(errorOf(
                [&] {
                  s->generate(prompts.data(), 1, 2, 2, out.data(),
                              SamplingOptions{1, 0, 1.5, 0});
                },
                &code),
            "top_p must be in (0, 1] (1: off), got 1.5");
  EXPECT_EQ(code, ErrorCode::InvalidArgument);
  EXPECT_EQ(s->length(0), 6); // the last generate's sequences are kept
  EXPECT_EQ(s->length(1), 5);
}

} // namespace
