//===- WeightsTest.cpp - binding transforms and random weights ------------===//

#include "TestUtil.h"

#include "runtime/src/Error.h"
#include "runtime/src/Manifest.h"
#include "runtime/src/Weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numeric>

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

std::vector<float> iota(size_t n, float start) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

/// A checkpoint with the given tensors, written and reopened.
struct Checkpoint {
  std::vector<std::vector<float>> keep;
  std::vector<std::vector<uint16_t>> keep16;
  std::vector<StOutTensor> tensors;

  void f32(const std::string &name, std::vector<int64_t> shape,
           std::vector<float> values) {
    keep.push_back(std::move(values));
    tensors.push_back(
        {name, StDType::F32, std::move(shape), keep.back().data()});
  }
  void half(const std::string &name, StDType dtype, std::vector<int64_t> shape,
            const std::vector<float> &values) {
    std::vector<uint16_t> bits;
    for (float v : values)
      bits.push_back(dtype == StDType::F16 ? f32ToF16(v) : f32ToBf16(v));
    keep16.push_back(std::move(bits));
    tensors.push_back({name, dtype, std::move(shape), keep16.back().data()});
  }
  TensorStore open() {
    keep.reserve(64);
    std::string path = freshDir("ckpt") + "/model.safetensors";
    writeSafetensors(path, tensors);
    return TensorStore::open(path);
  }
};

WeightDecl decl(const std::string &name, std::vector<int64_t> shape,
                std::vector<TensorSource> sources,
                Combine combine = Combine::Single, int64_t axis = 0,
                int64_t groupSize = 0,
                Elementwise elementwise = Elementwise::Identity) {
  WeightDecl w;
  w.name = name;
  w.shape = std::move(shape);
  w.sources = std::move(sources);
  w.combine = combine;
  w.axis = axis;
  w.groupSize = groupSize;
  w.elementwise = elementwise;
  std::string error;
  std::vector<int64_t> combined = combinedShape(w, &error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(numElements(combined), w.numel());
  return w;
}

std::vector<float> prepare(const WeightDecl &w, const TensorStore &store) {
  std::vector<float> out(size_t(w.numel()), -999.0f);
  prepareWeight(w, store, out.data());
  return out;
}

TEST(Weights, NegExp) {
  Checkpoint c;
  c.f32("A_log", {4}, {0.0f, 1.0f, -1.0f, 2.5f});
  TensorStore s = c.open();
  WeightDecl w = decl("layers.0.mixer.A", {4}, {{"A_log", {4}}},
                      Combine::Single, 0, 0, Elementwise::NegExp);
  std::vector<float> a = prepare(w, s);
  std::vector<float> want{-1.0f, -std::exp(1.0f), -std::exp(-1.0f),
                          -std::exp(2.5f)};
  for (size_t i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(a[i], want[i]);
  // neg_exp never uses the checkpoint in place.
  EXPECT_EQ(weightInPlace(w, s), nullptr);
}

TEST(Weights, ScaleOneFactorOrPerRow) {
  Checkpoint c;
  c.f32("w", {2, 3}, iota(6, 1));
  c.f32("A_log", {2}, {0.0f, 1.0f});
  TensorStore s = c.open();
  // One factor for the whole weight; the checkpoint is never used in place.
  WeightDecl one = decl("w", {2, 3}, {{"w", {2, 3}}});
  one.scale = {0.5};
  EXPECT_EQ(prepare(one, s), (std::vector<float>{0.5, 1, 1.5, 2, 2.5, 3}));
  EXPECT_EQ(weightInPlace(one, s), nullptr);
  // One factor per row (index of the first dimension).
  WeightDecl rows = decl("w", {2, 3}, {{"w", {2, 3}}});
  rows.scale = {2.0, -1.0};
  EXPECT_EQ(prepare(rows, s), (std::vector<float>{2, 4, 6, -4, -5, -6}));
  // After elementwise: scale * -exp(A_log).
  WeightDecl a = decl("A", {2}, {{"A_log", {2}}}, Combine::Single, 0, 0,
                      Elementwise::NegExp);
  a.scale = {3.0, 1.0};
  std::vector<float> av = prepare(a, s);
  EXPECT_FLOAT_EQ(av[0], -3.0f);
  EXPECT_FLOAT_EQ(av[1], -std::exp(1.0f));
  // Random weights go through the scale too.
  WeightDecl r = decl("w", {2, 3}, {{"w", {2, 3}}});
  std::vector<float> plain(6), scaled(6);
  randomWeight(r, 7, plain.data());
  r.scale = {0.0, 2.0};
  randomWeight(r, 7, scaled.data());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(scaled[i], 0.0f);
    EXPECT_FLOAT_EQ(scaled[3 + i], 2 * plain[3 + i]);
  }
}

// column_scale multiplies every row by another weight, prepared with its
// own transform, after `scale`; random weights draw that weight as their own.
TEST(Weights, ColumnScaleByAnotherWeight) {
  Checkpoint c;
  c.f32("w", {2, 3}, iota(6, 1));
  c.f32("g", {3}, {1.0f, 2.0f, -1.0f});
  TensorStore s = c.open();
  WeightDecl w = decl("w", {2, 3}, {{"w", {2, 3}}});
  w.scale = {1.0, 10.0};
  w.columnScale = "norm";
  auto g = std::make_shared<WeightDecl>(decl("norm", {3}, {{"g", {3}}}));
  g->scale = {2.0};
  w.columnScaleDecl = g;
  EXPECT_EQ(prepare(w, s), (std::vector<float>{2, 8, -6, 80, 200, -120}));
  EXPECT_EQ(weightInPlace(w, s), nullptr);

  WeightDecl r = decl("w", {2, 3}, {{"w", {2, 3}}});
  std::vector<float> plain(6), scaled(6), factors(3);
  randomWeight(r, 7, plain.data());
  randomWeight(*g, 7, factors.data());
  r.columnScaleDecl = g;
  randomWeight(r, 7, scaled.data());
  for (int i = 0; i < 6; ++i)
    EXPECT_FLOAT_EQ(scaled[i], plain[i] * factors[i % 3]);
}

TEST(Weights, ConcatAlongAxis0And1) {
  Checkpoint c;
  c.f32("q", {2, 3}, iota(6, 0));   // rows 0..1
  c.f32("k", {1, 3}, iota(3, 100)); // row 2
  c.f32("v", {2, 3}, iota(6, 200)); // rows 3..4
  c.f32("a", {2, 1}, {1, 2});
  c.f32("b", {2, 2}, {3, 4, 5, 6});
  TensorStore s = c.open();
  std::vector<float> qkv =
      prepare(decl("qkv", {5, 3}, {{"q", {2, 3}}, {"k", {1, 3}}, {"v", {2, 3}}},
                   Combine::Concat, 0),
              s);
  EXPECT_EQ(qkv, (std::vector<float>{0, 1, 2, 3, 4, 5, 100, 101, 102, 200, 201,
                                     202, 203, 204, 205}));
  std::vector<float> cols = prepare(
      decl("ab", {2, 3}, {{"a", {2, 1}}, {"b", {2, 2}}}, Combine::Concat, 1),
      s);
  EXPECT_EQ(cols, (std::vector<float>{1, 3, 4, 2, 5, 6}));
  // A negative axis counts from the end.
  std::vector<float> neg = prepare(
      decl("ab", {2, 3}, {{"a", {2, 1}}, {"b", {2, 2}}}, Combine::Concat, -1),
      s);
  EXPECT_EQ(neg, cols);
}

TEST(Weights, StackAndStackOfConcat) {
  Checkpoint c;
  for (int e = 0; e < 2; ++e) {
    c.f32("e" + std::to_string(e) + ".gate", {2, 2}, iota(4, float(10 * e)));
    c.f32("e" + std::to_string(e) + ".up", {1, 2}, iota(2, float(10 * e + 5)));
  }
  TensorStore s = c.open();
  std::vector<float> stacked =
      prepare(decl("experts.gate", {2, 2, 2},
                   {{"e0.gate", {2, 2}}, {"e1.gate", {2, 2}}}, Combine::Stack),
              s);
  EXPECT_EQ(stacked, (std::vector<float>{0, 1, 2, 3, 10, 11, 12, 13}));
  std::vector<float> soc = prepare(decl("experts.gate_up", {2, 3, 2},
                                        {{"e0.gate", {2, 2}},
                                         {"e0.up", {1, 2}},
                                         {"e1.gate", {2, 2}},
                                         {"e1.up", {1, 2}}},
                                        Combine::StackOfConcat, 0, 2),
                                   s);
  EXPECT_EQ(soc,
            (std::vector<float>{0, 1, 2, 3, 5, 6, 10, 11, 12, 13, 15, 16}));
}

TEST(Weights, ReshapeAndHalfPrecisionSources) {
  Checkpoint c;
  std::vector<float> conv{0.5f, -1.25f, 2.0f, 0.125f, -3.0f, 8.0f};
  c.half("conv.f16", StDType::F16, {3, 1, 2}, conv);
  c.half("conv.bf16", StDType::BF16, {3, 1, 2}, conv);
  c.f32("conv.f32", {3, 1, 2}, conv);
  TensorStore s = c.open();
  // [C, 1, K] -> [C, K]: the values are exactly representable in both.
  for (const char *name : {"conv.f16", "conv.bf16", "conv.f32"}) {
    WeightDecl w = decl("layers.0.mixer.conv", {3, 2}, {{name, {3, 1, 2}}});
    EXPECT_EQ(prepare(w, s), conv) << name;
  }
  // An f32 single-source identity weight is used in place (zero copy) when
  // aligned; f16/bf16 ones never are.
  WeightDecl f16 = decl("w", {3, 2}, {{"conv.f16", {3, 1, 2}}});
  EXPECT_EQ(weightInPlace(f16, s), nullptr);
  WeightDecl f32 = decl("w", {3, 2}, {{"conv.f32", {3, 1, 2}}});
  if (const float *p = weightInPlace(f32, s)) {
    EXPECT_EQ(std::vector<float>(p, p + 6), conv);
  }
}

TEST(Weights, SourceErrorsNameTensorExpectedAndFound) {
  Checkpoint c;
  c.f32("embed", {4, 2}, iota(8, 0));
  std::vector<int64_t> ints{1, 2, 3, 4};
  c.tensors.push_back({"ints", StDType::I64, {4}, ints.data()});
  TensorStore s = c.open();
  auto error = [&](const WeightDecl &w) -> std::string {
    try {
      std::vector<float> out(size_t(w.numel()));
      prepareWeight(w, s, out.data());
      return "";
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), ErrorCode::Weights);
      return e.what();
    }
  };
  std::string file = s.source();
  EXPECT_EQ(error(decl("lm_head", {4, 2}, {{"lm_head.weight", {4, 2}}})),
            file + ": missing tensor 'lm_head.weight' (for weight 'lm_head'), "
                   "expected shape [4, 2]");
  EXPECT_EQ(error(decl("embed", {2, 4}, {{"embed", {2, 4}}})),
            file + ": tensor 'embed' (for weight 'embed'): expected shape [2, "
                   "4], found [4, 2]");
  EXPECT_EQ(error(decl("x", {4}, {{"ints", {4}}})),
            file + ": tensor 'ints' (for weight 'x'): expected dtype F32, F16 "
                   "or BF16 (the weight is f32), found I64");
  // A tied alias stands in for a missing single source.
  WeightDecl tied = decl("lm_head", {4, 2}, {{"lm_head.weight", {4, 2}}});
  tied.tiedAliases = {"embed"};
  EXPECT_EQ(error(tied), "");
  EXPECT_EQ(prepare(tied, s), iota(8, 0));
}

TEST(Weights, RandomWeightsScheme) {
  auto draw = [](const WeightDecl &w, uint64_t seed) {
    std::vector<float> out(size_t(w.numel()));
    randomWeight(w, seed, out.data());
    return out;
  };
  WeightDecl linear =
      decl("layers.0.mixer.out_proj", {64, 256}, {{"x", {64, 256}}});
  std::vector<float> a = draw(linear, 7), b = draw(linear, 7),
                     c = draw(linear, 8);
  EXPECT_EQ(a, b);                        // deterministic
  EXPECT_NE(a, c);                        // seed matters
  float bound = 1.0f / std::sqrt(256.0f); // U(-1, 1) / sqrt(fan_in)
  double mean = 0, sq = 0;
  for (float x : a) {
    ASSERT_LE(std::fabs(x), bound);
    mean += x;
    sq += double(x) * x;
  }
  mean /= double(a.size());
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(sq / double(a.size())), bound / std::sqrt(3.0),
              bound * 0.05);
  // The name matters, not the position in the manifest.
  WeightDecl other = linear;
  other.name = "layers.1.mixer.out_proj";
  EXPECT_NE(draw(other, 7), a);

  WeightDecl A = decl("layers.0.mixer.A", {16}, {{"A_log", {16}}},
                      Combine::Single, 0, 0, Elementwise::NegExp);
  for (float x : draw(A, 1)) {
    EXPECT_LE(x, -1.0f);
    EXPECT_GE(x, -16.0f);
  }
  WeightDecl A2 = decl("layers.0.mixer.A", {4, 16}, {{"A_log", {4, 16}}},
                       Combine::Single, 0, 0, Elementwise::NegExp);
  for (float x : draw(A2, 1))
    EXPECT_LT(x, 0.0f); // Mamba1's 2-D A is negative too
  for (const char *name : {"layers.0.norm", "final_norm",
                           "layers.0.mixer.gate_norm", "layers.0.mixer.D"}) {
    WeightDecl n = decl(name, {32}, {{"n", {32}}});
    for (float x : draw(n, 3)) {
      EXPECT_GE(x, 0.9f) << name;
      EXPECT_LE(x, 1.1f) << name;
    }
  }
  WeightDecl dt = decl("layers.0.mixer.dt_bias", {64}, {{"dt", {64}}});
  for (float x : draw(dt, 3)) {
    double softplus = std::log1p(std::exp(double(x)));
    EXPECT_GE(softplus, 1e-3 * 0.999);
    EXPECT_LE(softplus, 1e-1 * 1.001);
  }
  WeightDecl bias = decl("layers.0.mixer.in_proj_bias", {64}, {{"b", {64}}});
  for (float x : draw(bias, 3))
    EXPECT_LE(std::fabs(x), 0.1f);
  WeightDecl normBias = decl("final_norm_bias", {64}, {{"b", {64}}});
  for (float x : draw(normBias, 3))
    EXPECT_LE(std::fabs(x), 0.1f);
}

} // namespace
