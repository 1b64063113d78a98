//===- BraidRunTest.cpp - braid-run's exit status and messages ------------===//
//
// Runs the built braid-run binary. Errors must be one clear line and a
// nonzero exit status, never a crash (a signal).
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "braid/bundle_format.h"
#include "runtime/src/Crc32.h"
#include "runtime/src/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <sys/wait.h>

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

struct Result {
  int status = -1;    ///< exit status; -1 when killed by a signal
  std::string output; ///< stdout and stderr
};

Result braidRun(const std::string &args) {
  std::string cmd = std::string(BRAID_RUN_PATH) + " " + args + " 2>&1";
  Result r;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p)
    return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    r.output.append(buf, n);
  int w = pclose(p);
  r.status = WIFEXITED(w) ? WEXITSTATUS(w) : -1;
  return r;
}

#define EXPECT_OUTPUT(result, text)                                            \
  EXPECT_NE((result).output.find(text), std::string::npos) << (result).output

TEST(BraidRun, HelpAndUsageErrors) {
  Result help = braidRun("--help");
  EXPECT_EQ(help.status, 0);
  EXPECT_OUTPUT(help, "Examples:");
  EXPECT_OUTPUT(help, "braid-run check");
  Result none = braidRun("");
  EXPECT_EQ(none.status, 2);
  EXPECT_OUTPUT(none, "no command given");
  Result bad = braidRun("frobnicate x.bundle");
  EXPECT_EQ(bad.status, 2);
  EXPECT_OUTPUT(bad, "unknown command 'frobnicate'");
  EXPECT_EQ(braidRun("run x.bundle --random-weights 1").status, 2);
  Result ids = braidRun("run x.bundle --random-weights 1 --ids '1,2;3'");
  EXPECT_EQ(ids.status, 2);
  EXPECT_OUTPUT(ids, "--ids: row 1 has 1 ids, row 0 has 2");
  Result word = braidRun("run x.bundle --random-weights 1 --ids '1,two'");
  EXPECT_EQ(word.status, 2);
  EXPECT_OUTPUT(word, "--ids: 'two' is not an integer id");
  EXPECT_EQ(braidRun("generate x.bundle --random-weights 1 --ids 1").status, 2);
  EXPECT_EQ(braidRun("check x.bundle --weights w").status, 2);
  EXPECT_EQ(braidRun("info x.bundle --threads many").status, 2);
}

// The sampling flags: bad values name the flag and the value (exit status
// 2), and they belong to generate only.
TEST(BraidRun, SamplingFlagErrors) {
  const std::string gen = "generate x.bundle --random-weights 1 --ids 1 -n 2 ";
  struct Case {
    const char *flags, *message;
  };
  for (Case c : {
           Case{"--temperature -1",
                "--temperature: '-1' is not a finite non-negative number "
                "(0: greedy)"},
           Case{"--temperature inf", "--temperature: 'inf' is not a finite"},
           Case{"--temperature warm", "--temperature: 'warm' is not a finite"},
           Case{"--top-k -3", "--top-k: must be at least 0, got -3"},
           Case{"--top-k 2.5", "--top-k: '2.5' is not an integer"},
           Case{"--top-p 0", "--top-p: '0' is not a number in (0, 1] (1: off)"},
           Case{"--top-p 1.01", "--top-p: '1.01' is not a number in (0, 1]"},
           Case{"--seed -4", "--seed: '-4' is not a non-negative integer"},
           Case{"--seed 99999999999999999999999",
                "--seed: '99999999999999999999999' is not a non-negative "
                "integer"},
           Case{"--temperature", "--temperature needs a value"},
       }) {
    Result r = braidRun(gen + c.flags);
    EXPECT_EQ(r.status, 2) << c.flags;
    EXPECT_OUTPUT(r, c.message);
  }
  Result run = braidRun("run x.bundle --random-weights 1 --ids 1 --seed 3");
  EXPECT_EQ(run.status, 2);
  EXPECT_OUTPUT(run, "--temperature, --top-k, --top-p and --seed are options "
                     "of generate");
  Result help = braidRun("--help");
  EXPECT_OUTPUT(help, "--temperature T");
  EXPECT_OUTPUT(help, "--top-p P");
}

TEST(BraidRun, InfoDescribesTheBundle) {
  std::string path = writeTinyBundle(freshDir("run-info"), /*withState=*/true);
  Result r = braidRun("info " + path + " -v");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "tiny_state");
  EXPECT_OUTPUT(r, "format version 1");
  EXPECT_OUTPUT(r, "prefill  4 launches");
  EXPECT_OUTPUT(r, "rms_norm");
  EXPECT_OUTPUT(r, "lm_head");
  EXPECT_OUTPUT(r, "concat(axis 0)");
  EXPECT_OUTPUT(r, "[B, S, 8]");
  EXPECT_OUTPUT(r, "96 bytes per token");
  // "accumulate" is a test-only family: never a real CPU kernel.
  EXPECT_OUTPUT(r, "(not implemented by the cpu backend)");
}

TEST(BraidRun, BadBundlesExitWithOneLine) {
  std::string dir = freshDir("run-bad");
  std::string path = writeTinyBundle(dir);
  std::string good = readFile(path);

  Result missing = braidRun("info " + dir + "/none.bundle");
  EXPECT_EQ(missing.status, 1);
  EXPECT_OUTPUT(missing, "braid-run: error: cannot open");

  writeFile(dir + "/cut.bundle", good.substr(0, good.size() / 2));
  Result cut = braidRun("info " + dir + "/cut.bundle");
  EXPECT_EQ(cut.status, 1);
  EXPECT_OUTPUT(cut, "bundle is truncated");

  std::string flipped = good;
  flipped[good.size() - 10] ^= 0x20;
  writeFile(dir + "/flip.bundle", flipped);
  Result flip = braidRun("run " + dir +
                         "/flip.bundle --random-weights 1 "
                         "--ids 1,2");
  EXPECT_EQ(flip.status, 1);
  EXPECT_OUTPUT(flip, "checksum mismatch in section 'manifest'");

  std::string newer = good;
  uint32_t two = 2;
  std::memcpy(&newer[8], &two, 4);
  writeFile(dir + "/v2.bundle", newer);
  Result v2 = braidRun("info " + dir + "/v2.bundle");
  EXPECT_EQ(v2.status, 1);
  EXPECT_OUTPUT(v2, "bundle format version 2 is newer than this runtime "
                    "reads (1)");
}

TEST(BraidRun, RunGenerateAndCheckOnTheCpuKernels) {
  if (!realCpuKernelsPresent())
    GTEST_SKIP() << "the CPU kernel library is not linked into this build";
  std::string dir = freshDir("run-real");
  std::string bundle = writeTinyBundle(dir);
  std::string weights = writeTinyCheckpoint(dir);
  Result run = braidRun("run " + bundle + " --weights " + weights +
                        " --ids '1,2,3;4,5,6' --save-logits " + dir +
                        "/out.safetensors");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_OUTPUT(run, "logits    [2, 3, 16] f32");
  auto saved = SafetensorsFile::open(dir + "/out.safetensors");
  std::vector<float> logits = readF32(*saved->find("logits"));
  std::vector<float> want =
      referenceLogits(tinyWeights(), {1, 2, 3, 4, 5, 6}, 2, 3);
  ASSERT_EQ(logits.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(logits[i], want[i], 1e-4);

  Result gen = braidRun("generate " + bundle +
                        " --random-weights 3 --ids "
                        "'1,2,3' -n 4");
  EXPECT_EQ(gen.status, 0) << gen.output;
  EXPECT_OUTPUT(gen, "ms/step");

  // A golden made from the reference: check passes; a wrong token fails.
  std::vector<int64_t> ids{1, 2, 3, 4, 5, 6};
  std::vector<int64_t> generated;
  for (int64_t b = 0; b < 2; ++b) {
    std::vector<int64_t> seq(ids.begin() + b * 3, ids.begin() + b * 3 + 3);
    for (int i = 0; i < 2; ++i) {
      std::vector<float> l =
          referenceLogits(tinyWeights(), seq, 1, int64_t(seq.size()));
      const float *last = l.data() + (seq.size() - 1) * kVocab;
      seq.push_back(std::max_element(last, last + kVocab) - last);
    }
    generated.insert(generated.end(), seq.begin(), seq.end());
  }
  auto writeGolden = [&](const std::string &path) {
    writeSafetensors(path,
                     {{"input_ids", StDType::I64, {2, 3}, ids.data()},
                      {"logits", StDType::F32, {2, 3, kVocab}, want.data()},
                      {"generated", StDType::I64, {2, 5}, generated.data()}});
  };
  writeGolden(dir + "/golden.safetensors");
  Result pass = braidRun("check " + bundle + " --weights " + weights +
                         " --golden " + dir + "/golden.safetensors");
  EXPECT_EQ(pass.status, 0) << pass.output;
  EXPECT_OUTPUT(pass, "PASS");
  generated[4] = (generated[4] + 1) % kVocab;
  writeGolden(dir + "/wrong.safetensors");
  Result fail = braidRun("check " + bundle + " --weights " + weights +
                         " --golden " + dir + "/wrong.safetensors");
  EXPECT_EQ(fail.status, 1) << fail.output;
  EXPECT_OUTPUT(fail, "FAIL (tokens)");
  EXPECT_OUTPUT(fail, "first difference at new token 1");

  // Validation through the CLI: vocabulary, length, batch, weights.
  Result vocab =
      braidRun("run " + bundle + " --weights " + weights + " --ids 1,99");
  EXPECT_EQ(vocab.status, 1);
  EXPECT_OUTPUT(vocab, "input_ids[0][1] = 99 is outside the vocabulary");
  Result tooLong = braidRun("run " + bundle + " --weights " + weights +
                            " --ids 1,2,3 --max-seq 2");
  EXPECT_EQ(tooLong.status, 1);
  EXPECT_OUTPUT(tooLong, "exceeds the session's maximum length of 2");
  Result tooBig = braidRun("run " + bundle + " --weights " + weights +
                           " --ids '1;2' --max-batch 1");
  EXPECT_EQ(tooBig.status, 1);
  EXPECT_OUTPUT(tooBig, "exceeds the session's maximum batch of 1");
  Result noWeight = braidRun("run " + bundle + " --weights " + dir +
                             "/out.safetensors --ids 1");
  EXPECT_EQ(noWeight.status, 1);
  EXPECT_OUTPUT(noWeight, "missing tensor 'model.embed_tokens.weight'");
}

} // namespace
