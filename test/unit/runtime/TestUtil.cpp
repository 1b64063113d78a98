//===- TestUtil.cpp - helpers shared by the runtime unit tests ------------===//

#include "TestUtil.h"

#include "braid/bundle_writer.h"
#include "runtime/src/Safetensors.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

using json = nlohmann::json;

namespace braid::rt::test {

std::string freshDir(const std::string &name) {
  static std::atomic<int> counter{0};
  std::string dir = testing::TempDir() + "braid-runtime-" +
                    std::to_string(::getpid()) + "-" +
                    std::to_string(counter++) + "-" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

json arena(int64_t offset) {
  return {
      {"kind", "arena"}, {"offset", offset}, {"shape", {"B", "T", kHidden}}};
}

json weightArg(const char *name) {
  return {{"kind", "weight"}, {"name", name}};
}
json inputArg(const char *name) { return {{"kind", "input"}, {"name", name}}; }

json source(const char *tensor, std::vector<int64_t> shape) {
  return {{"tensor", tensor}, {"shape", shape}};
}

json entry(const char *name, bool withState) {
  json launches = json::array();
  launches.push_back({{"kernel", "embedding"},
                      {"loc", "embed"},
                      {"operands", {inputArg("input_ids"), weightArg("embed")}},
                      {"results", {arena(0)}}});
  launches.push_back({{"kernel", "rms_norm"},
                      {"loc", "final_norm"},
                      {"attrs", {{"epsilon", kEpsilon}}},
                      {"operands", {arena(0), weightArg("final_norm")}},
                      {"results", {arena(32)}}});
  int64_t last = 32;
  if (withState) {
    json state = {{"kind", "state"}, {"name", "acc"}};
    launches.push_back({{"kernel", "accumulate"},
                        {"loc", "acc"},
                        {"operands",
                         {arena(32), state, inputArg("positions"),
                          inputArg("cache_position")}},
                        {"results", {state, arena(64)}}});
    last = 64;
  }
  launches.push_back(
      {{"kernel", "linear"},
       {"loc", "lm_head"},
       {"operands", {arena(last), weightArg("lm_head"), nullptr}},
       {"results", {{{"kind", "output"}, {"name", "logits"}}}}});
  return {
      {"name", name},
      {"inputs",
       {{{"name", "input_ids"}, {"shape", {"B", "T"}}, {"dtype", "i64"}},
        {{"name", "positions"}, {"shape", {"B", "T"}}, {"dtype", "i64"}},
        {{"name", "cache_position"}, {"shape", {"B"}}, {"dtype", "i64"}}}},
      {"outputs",
       {{{"name", "logits"}, {"shape", {"B", "T", kVocab}}, {"dtype", "f32"}}}},
      {"launches", launches}};
}

} // namespace

json tinyManifest(bool withState) {
  json weights = json::array();
  weights.push_back(
      {{"name", "embed"},
       {"shape", {kVocab, kHidden}},
       {"dtype", "f32"},
       {"sources", {source("model.embed_tokens.weight", {kVocab, kHidden})}},
       {"combine", "single"},
       {"axis", 0},
       {"group_size", 0},
       {"elementwise", "identity"},
       {"tied_aliases", json::array()}});
  weights.push_back({{"name", "final_norm"},
                     {"shape", {kHidden}},
                     {"dtype", "f32"},
                     {"sources", {source("model.norm.weight", {kHidden})}}});
  weights.push_back({{"name", "lm_head"},
                     {"shape", {kVocab, kHidden}},
                     {"dtype", "f32"},
                     {"sources",
                      {source("lm_head.a", {10, kHidden}),
                       source("lm_head.b", {6, kHidden})}},
                     {"combine", "concat"},
                     {"axis", 0}});
  json states = json::array();
  if (withState)
    states.push_back(
        {{"name", "acc"}, {"shape", {"B", "S", kHidden}}, {"dtype", "f32"}});
  return {
      {"format_version", 1},
      {"generator", "braid-runtime-tests"},
      {"model", withState ? "tiny_state" : "tiny"},
      {"element_type", "f32"},
      {"vocab_size", kVocab},
      {"hidden_size", kHidden},
      {"targets", {"cpu"}},
      {"weights", weights},
      {"states", states},
      {"arena", {{"bytes_per_token", withState ? 96 : 64}}},
      {"entries", {entry("prefill", withState), entry("decode", withState)}}};
}

std::string writeTinyBundle(const std::string &dir, bool withState) {
  std::string path = dir + "/tiny.bundle";
  std::string error = writeBundle(path, tinyManifest(withState).dump(2));
  EXPECT_EQ(error, "");
  return path;
}

TinyWeights tinyWeights() {
  TinyWeights w;
  for (int64_t v = 0; v < kVocab; ++v)
    for (int64_t h = 0; h < kHidden; ++h)
      w.embed.push_back(float(std::sin(0.37 * double(v) + 1.1 * double(h)) +
                              0.05 * double(h)));
  for (int64_t h = 0; h < kHidden; ++h)
    w.norm.push_back(float(1.0 + 0.1 * double(h) - 0.3));
  for (int64_t n = 0; n < kVocab; ++n)
    for (int64_t h = 0; h < kHidden; ++h) {
      float x = float(std::cos(0.21 * double(n * kHidden + h)) * 0.5);
      (n < 10 ? w.lmHeadA : w.lmHeadB).push_back(x);
    }
  return w;
}

std::string writeTinyCheckpoint(const std::string &dir, const TinyWeights &w) {
  std::string path = dir + "/model.safetensors";
  writeSafetensors(
      path, {{"model.embed_tokens.weight",
              StDType::F32,
              {kVocab, kHidden},
              w.embed.data()},
             {"model.norm.weight", StDType::F32, {kHidden}, w.norm.data()},
             {"lm_head.a", StDType::F32, {10, kHidden}, w.lmHeadA.data()},
             {"lm_head.b", StDType::F32, {6, kHidden}, w.lmHeadB.data()}});
  return path;
}

std::vector<float> referenceLogits(const TinyWeights &w,
                                   const std::vector<int64_t> &ids,
                                   int64_t batch, int64_t tokens,
                                   bool withState) {
  std::vector<float> head = w.lmHeadA;
  head.insert(head.end(), w.lmHeadB.begin(), w.lmHeadB.end());
  std::vector<float> out;
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> acc(kHidden, 0.0);
    for (int64_t t = 0; t < tokens; ++t) {
      const float *e = &w.embed[size_t(ids[size_t(b * tokens + t)] * kHidden)];
      double ss = 0;
      for (int64_t h = 0; h < kHidden; ++h)
        ss += double(e[h]) * double(e[h]);
      double inv = 1.0 / std::sqrt(ss / double(kHidden) + kEpsilon);
      std::vector<double> x(kHidden);
      for (int64_t h = 0; h < kHidden; ++h) {
        x[size_t(h)] = double(e[h]) * inv * double(w.norm[size_t(h)]);
        acc[size_t(h)] += x[size_t(h)];
      }
      const std::vector<double> &y = withState ? acc : x;
      for (int64_t n = 0; n < kVocab; ++n) {
        double s = 0;
        for (int64_t h = 0; h < kHidden; ++h)
          s += double(head[size_t(n * kHidden + h)]) * y[size_t(h)];
        out.push_back(float(s));
      }
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Fake kernels
//===----------------------------------------------------------------------===//

namespace {

std::string expectRank(const char *family, const char *what,
                       const TensorView &v, int64_t rank) {
  if (!v.present())
    return std::string(family) + ": " + what + " is absent";
  if (v.rank() != rank)
    return std::string(family) + ": " + what + " has rank " +
           std::to_string(v.rank()) + ", expected " + std::to_string(rank);
  return "";
}

std::string embedding(const KernelCall &c) {
  if (c.operands.size() != 2 || c.results.size() != 1)
    return "embedding: expected 2 operands and 1 result";
  const TensorView &ids = c.operands[0], &table = c.operands[1],
                   &out = c.results[0];
  for (std::string e : {expectRank("embedding", "ids", ids, 2),
                        expectRank("embedding", "table", table, 2),
                        expectRank("embedding", "result", out, 3)})
    if (!e.empty())
      return e;
  if (ids.type != ElementType::I64)
    return "embedding: ids are not i64";
  int64_t H = table.dim(1);
  for (int64_t i = 0; i < ids.numel(); ++i) {
    int64_t id = ids.i64()[i];
    if (id < 0 || id >= table.dim(0))
      return "embedding: id " + std::to_string(id) + " out of range";
    for (int64_t h = 0; h < H; ++h)
      out.f32()[i * H + h] = table.f32()[id * H + h];
  }
  return "";
}

std::string rmsNorm(const KernelCall &c) {
  const TensorView &x = c.operands.at(0), &w = c.operands.at(1),
                   &y = c.results.at(0);
  double eps = c.attrs.getFloat("epsilon");
  if (!c.attrs.firstError().empty())
    return "rms_norm: " + c.attrs.firstError();
  int64_t H = x.dim(-1), rows = x.numel() / H;
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x.f32() + r * H;
    double ss = 0;
    for (int64_t h = 0; h < H; ++h)
      ss += double(xr[h]) * double(xr[h]);
    double inv = 1.0 / std::sqrt(ss / double(H) + eps);
    for (int64_t h = 0; h < H; ++h)
      y.f32()[r * H + h] = float(double(xr[h]) * inv * double(w.f32()[h]));
  }
  return "";
}

std::string linear(const KernelCall &c) {
  const TensorView &x = c.operands.at(0), &w = c.operands.at(1),
                   &bias = c.operands.at(2), &y = c.results.at(0);
  int64_t K = x.dim(-1), N = w.dim(0), rows = x.numel() / K;
  if (w.dim(1) != K)
    return "linear: weight " + std::to_string(w.dim(1)) + " vs input " +
           std::to_string(K);
  if (y.numel() != rows * N)
    return "linear: result has " + std::to_string(y.numel()) +
           " elements, expected " + std::to_string(rows * N);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias.present() ? double(bias.f32()[n]) : 0.0;
      for (int64_t k = 0; k < K; ++k)
        s += double(x.f32()[r * K + k]) * double(w.f32()[n * K + k]);
      y.f32()[r * N + n] = float(s);
    }
  return "";
}

/// operands: x [B, T, H], acc [B, S, H], positions [B, T], cache_position
/// [B]; results: acc (in place), y [B, T, H]. Writes x at the cache position
/// of each token, and y = the sum of every row of acc (rows not yet written
/// must be zero).
std::string accumulate(const KernelCall &c) {
  const TensorView &x = c.operands.at(0), &acc = c.operands.at(1),
                   &pos = c.operands.at(2), &cachePos = c.operands.at(3),
                   &y = c.results.at(1);
  if (c.results.at(0).data != acc.data)
    return "accumulate: the state result does not alias the operand";
  int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), S = acc.dim(1);
  AccumulateLog &log = accumulateLog();
  log.positions.assign(pos.i64(), pos.i64() + pos.numel());
  log.cachePosition.assign(cachePos.i64(), cachePos.i64() + cachePos.numel());
  ++log.calls;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      int64_t p = cachePos.i64()[b] + t;
      if (p >= S)
        return "accumulate: position " + std::to_string(p) + " >= S";
      for (int64_t h = 0; h < H; ++h)
        acc.f32()[(b * S + p) * H + h] = x.f32()[(b * T + t) * H + h];
      for (int64_t h = 0; h < H; ++h) {
        double s = 0;
        for (int64_t j = 0; j < S; ++j)
          s += double(acc.f32()[(b * S + j) * H + h]);
        y.f32()[(b * T + t) * H + h] = float(s);
      }
    }
  return "";
}

} // namespace

KernelFn fakeKernel(std::string_view family) {
  if (family == "embedding")
    return embedding;
  if (family == "rms_norm")
    return rmsNorm;
  if (family == "linear")
    return linear;
  if (family == "accumulate")
    return accumulate;
  return nullptr;
}

KernelLookup fakeLookup() { return fakeKernel; }

AccumulateLog &accumulateLog() {
  static AccumulateLog log;
  return log;
}

bool realCpuKernelsPresent() { return findCpuKernel("embedding") != nullptr; }

} // namespace braid::rt::test
