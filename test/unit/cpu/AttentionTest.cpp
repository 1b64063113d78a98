//===- AttentionTest.cpp - attention and mla ------------------------------===//
//
// Double-precision references straight from the op descriptions, and the
// way generation uses the caches: a prefill followed by token-by-token
// decode must give the outputs of one prefill over the whole sequence.
//
//===----------------------------------------------------------------------===//
#include "CpuTestUtil.h"

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

struct Spec {
  int64_t heads = 4, kvHeads = 2;
  bool causal = true;
  int64_t window = 0; // 0: none
  double scale = 0.25;
  double softcap = 0; // 0: none
};

/// One sequence: q [T, H, D], keys [L, Hkv, D], values [L, Hkv, Dv]; query
/// t sits at absolute position qpos0 + t, key j at j. Returns [T, H, Dv].
std::vector<double> attentionRef(const float *q, int64_t T, const float *k,
                                 const float *v, int64_t L, int64_t D,
                                 int64_t Dv, int64_t qpos0, const Spec &s) {
  std::vector<double> out(static_cast<size_t>(T * s.heads * Dv), 0.0);
  int64_t group = s.heads / s.kvHeads;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < s.heads; ++h) {
      int64_t g = h / group, p = qpos0 + t;
      std::vector<double> score(L, -INFINITY);
      double mx = -INFINITY;
      for (int64_t j = 0; j < L; ++j) {
        if (s.causal && j > p)
          continue;
        if (s.window && p - j >= s.window)
          continue;
        double dotv = 0;
        for (int64_t d = 0; d < D; ++d)
          dotv += double(q[(t * s.heads + h) * D + d]) *
                  k[(j * s.kvHeads + g) * D + d];
        dotv *= s.scale;
        if (s.softcap > 0)
          dotv = s.softcap * std::tanh(dotv / s.softcap);
        score[j] = dotv;
        mx = std::max(mx, dotv);
      }
      double sum = 0;
      for (int64_t j = 0; j < L; ++j)
        if (score[j] != -INFINITY)
          sum += std::exp(score[j] - mx);
      for (int64_t j = 0; j < L; ++j) {
        if (score[j] == -INFINITY)
          continue;
        double pj = std::exp(score[j] - mx) / sum;
        for (int64_t c = 0; c < Dv; ++c)
          out[(t * s.heads + h) * Dv + c] +=
              pj * v[(j * s.kvHeads + g) * Dv + c];
      }
    }
  return out;
}

/// Batched no-cache reference: q [B, T, H, D], k/v [B, L, Hkv, *], queries
/// aligned to the last T keys.
std::vector<double> batchRef(const Tensor &q, const Tensor &k, const Tensor &v,
                             const Spec &s) {
  int64_t B = q.shape[0], T = q.shape[1], D = q.shape[3], L = k.shape[1],
          Dv = v.shape[3];
  std::vector<double> out;
  for (int64_t b = 0; b < B; ++b) {
    auto o = attentionRef(
        q.f.data() + b * T * s.heads * D, T, k.f.data() + b * L * s.kvHeads * D,
        v.f.data() + b * L * s.kvHeads * Dv, L, D, Dv, L - T, s);
    out.insert(out.end(), o.begin(), o.end());
  }
  return out;
}

Launch attentionLaunch(Tensor &q, Tensor &k, Tensor &v, Tensor &out,
                       const Spec &s) {
  Launch l("attention");
  l.in(q).in(k).in(v).none().none().none().out(out);
  l.attr("num_heads", s.heads)
      .attr("num_kv_heads", s.kvHeads)
      .attr("causal", s.causal);
  l.attr("scale", s.scale);
  if (s.window)
    l.attr("sliding_window", s.window);
  if (s.softcap > 0)
    l.attr("softcap", s.softcap);
  return l;
}

TEST(Attention, NoCacheMatchesReference) {
  Rng rng(40);
  struct Heads {
    int64_t h, kv, d, dv;
  };
  for (Heads hd : {Heads{4, 4, 16, 16}, Heads{4, 2, 16, 8}, Heads{6, 1, 9, 12}})
    for (int64_t T : {1, 3, 7, 33, 70, 150})
      for (int variant = 0; variant < 5; ++variant) {
        Spec s;
        s.heads = hd.h;
        s.kvHeads = hd.kv;
        s.scale = 1.0 / std::sqrt(double(hd.d));
        s.causal = variant != 1;
        s.window = variant == 2 ? 5 : variant == 4 ? 80 : 0;
        if (variant == 3) {
          s.softcap = 1.5;
          s.scale = 1.0;
        }
        Tensor q = rng.uniform({2, T, hd.h, hd.d}, -2, 2),
               k = rng.uniform({2, T, hd.kv, hd.d}, -2, 2);
        Tensor v = rng.uniform({2, T, hd.kv, hd.dv}),
               out({2, T, hd.h, hd.dv}, NAN);
        for (ThreadPool *pool : pools()) {
          ASSERT_EQ(attentionLaunch(q, k, v, out, s).run(pool), "");
          EXPECT_CLOSE(out.f, batchRef(q, k, v, s))
              << "H=" << hd.h << "/" << hd.kv << " T=" << T
              << " variant=" << variant;
        }
      }
}

TEST(Attention, LongerKeysThanQueriesAlignToTheEnd) {
  Rng rng(41);
  Spec s;
  Tensor q = rng.uniform({1, 3, 4, 8}), k = rng.uniform({1, 10, 2, 8}),
         v = rng.uniform({1, 10, 2, 8});
  Tensor out({1, 3, 4, 8});
  ASSERT_EQ(attentionLaunch(q, k, v, out, s).run(testPool()), "");
  EXPECT_CLOSE(out.f, batchRef(q, k, v, s));
}

/// Runs attention with caches over `steps` (token counts per call) and
/// returns the outputs of all tokens, [B, sum(steps), H, Dv]. `alias`
/// passes the same buffers as cache operands and results.
std::vector<float> runWithCache(const Tensor &q, const Tensor &k,
                                const Tensor &v, const Spec &s,
                                const std::vector<int64_t> &steps,
                                int64_t maxSeq, bool alias) {
  int64_t B = q.shape[0], T = q.shape[1], H = s.heads, Hkv = s.kvHeads;
  int64_t D = q.shape[3], Dv = v.shape[3];
  Tensor kc({B, Hkv, maxSeq, D}, 0.0f), vc({B, Hkv, maxSeq, Dv}, 0.0f);
  Tensor kc2 = kc, vc2 = vc;
  std::vector<float> all(static_cast<size_t>(B * T * H * Dv));
  int64_t done = 0;
  for (int64_t n : steps) {
    // Slice tokens [done, done + n) of every sequence.
    auto slice = [&](const Tensor &src, int64_t heads, int64_t dim) {
      Tensor t({B, n, heads, dim});
      for (int64_t b = 0; b < B; ++b)
        std::copy_n(src.f.begin() + ((b * T + done) * heads) * dim,
                    n * heads * dim, t.f.begin() + b * n * heads * dim);
      return t;
    };
    Tensor qs = slice(q, H, D), ks = slice(k, Hkv, D), vs = slice(v, Hkv, Dv);
    Tensor out({B, n, H, Dv}, NAN);
    Tensor pos = Tensor::ints({B}, std::vector<int64_t>(B, done));
    Launch l("attention");
    l.in(qs).in(ks).in(vs).in(kc).in(vc).in(pos).out(out);
    if (alias)
      l.out(kc).out(vc);
    else
      l.out(kc2).out(vc2);
    l.attr("num_heads", H)
        .attr("num_kv_heads", Hkv)
        .attr("causal", s.causal)
        .attr("scale", s.scale);
    if (s.window)
      l.attr("sliding_window", s.window);
    EXPECT_EQ(l.run(testPool()), "");
    if (!alias) { // the next call reads what this one wrote
      kc = kc2;
      vc = vc2;
    }
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(out.f.begin() + b * n * H * Dv, n * H * Dv,
                  all.begin() + ((b * T + done) * H) * Dv);
    done += n;
  }
  return all;
}

TEST(Attention, PrefillThenDecodeMatchesOnePrefill) {
  Rng rng(42);
  for (int64_t window : {0, 4})
    for (bool alias : {true, false}) {
      Spec s;
      s.heads = 6;
      s.kvHeads = 2;
      s.window = window;
      int64_t T = 23;
      Tensor q = rng.uniform({2, T, 6, 16}), k = rng.uniform({2, T, 2, 16}),
             v = rng.uniform({2, T, 2, 8});
      std::vector<double> want = batchRef(q, k, v, s);
      // Prefill 9, decode 1 x 6, a chunk of 5, decode 1 x 3.
      std::vector<int64_t> steps = {9, 1, 1, 1, 1, 1, 1, 5, 1, 1, 1};
      EXPECT_CLOSE(runWithCache(q, k, v, s, steps, 40, alias), want)
          << "window=" << window;
      // Exactly filling the cache.
      EXPECT_CLOSE(runWithCache(q, k, v, s, {20, 1, 1, 1}, T, alias), want);
    }
}

TEST(Attention, SequencesAtDifferentCachePositions) {
  // Sequence 0 already holds 3 tokens, sequence 1 none; 2 new tokens each.
  Rng rng(43);
  Spec s;
  int64_t S = 8, D = 4, T = 2;
  Tensor kc = rng.uniform({2, 2, S, D}), vc = rng.uniform({2, 2, S, D});
  Tensor q = rng.uniform({2, T, 4, D}), k = rng.uniform({2, T, 2, D}),
         v = rng.uniform({2, T, 2, D});
  Tensor pos = Tensor::ints({2}, {3, 0}), out({2, T, 4, D});
  Tensor kcBefore = kc, vcBefore = vc;
  Launch l("attention");
  l.in(q).in(k).in(v).in(kc).in(vc).in(pos).out(out).out(kc).out(vc);
  l.attr("num_heads", 4)
      .attr("num_kv_heads", 2)
      .attr("causal", true)
      .attr("scale", 0.5);
  ASSERT_EQ(l.run(testPool()), "");
  std::vector<double> want;
  for (int64_t b = 0; b < 2; ++b) {
    int64_t cp = pos.i[b], L = cp + T;
    // Keys of sequence b in [L, Hkv, D] layout: cached rows then new ones.
    std::vector<float> keys(L * 2 * D), vals(L * 2 * D);
    for (int64_t j = 0; j < L; ++j)
      for (int64_t g = 0; g < 2; ++g)
        for (int64_t d = 0; d < D; ++d) {
          bool old = j < cp;
          keys[(j * 2 + g) * D + d] =
              old ? kcBefore.f[((b * 2 + g) * S + j) * D + d]
                  : k.f[((b * T + j - cp) * 2 + g) * D + d];
          vals[(j * 2 + g) * D + d] =
              old ? vcBefore.f[((b * 2 + g) * S + j) * D + d]
                  : v.f[((b * T + j - cp) * 2 + g) * D + d];
          // The cache now holds the new rows; other rows are untouched.
          EXPECT_EQ(kc.f[((b * 2 + g) * S + j) * D + d],
                    keys[(j * 2 + g) * D + d]);
        }
    Spec sp;
    sp.scale = 0.5;
    auto o = attentionRef(q.f.data() + b * T * 4 * D, T, keys.data(),
                          vals.data(), L, D, D, cp, sp);
    want.insert(want.end(), o.begin(), o.end());
  }
  EXPECT_CLOSE(out.f, want);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t g = 0; g < 2; ++g)
      for (int64_t j = pos.i[b] + T; j < S; ++j)
        for (int64_t d = 0; d < D; ++d)
          ASSERT_EQ(kc.f[((b * 2 + g) * S + j) * D + d],
                    kcBefore.f[((b * 2 + g) * S + j) * D + d]);
}

TEST(Attention, ReportsMismatchesAndCacheOverflow) {
  Tensor q({1, 2, 4, 8}), k({1, 2, 2, 8}), v({1, 2, 2, 8}), out({1, 2, 4, 8});
  Spec s;
  s.kvHeads = 3;
  EXPECT_EQ(attentionLaunch(q, k, v, out, s).run(nullptr),
            "attention: attribute 'num_heads' (4) must be a multiple of "
            "'num_kv_heads' (3)");
  Tensor k2({1, 2, 2, 7});
  s.kvHeads = 2;
  EXPECT_EQ(attentionLaunch(q, k2, v, out, s).run(nullptr),
            "attention: 'k' dim 3 (head_dim) is 7 but 'q' dim 3 is 8");
  Tensor kc({1, 2, 5, 8}), vc({1, 2, 5, 8});
  Tensor pos = Tensor::ints({1}, {4});
  Launch l("attention");
  l.in(q).in(k).in(v).in(kc).in(vc).in(pos).out(out).out(kc).out(vc);
  l.attr("num_heads", 4)
      .attr("num_kv_heads", 2)
      .attr("scale", 0.5)
      .attr("causal", true);
  EXPECT_EQ(l.run(nullptr),
            "attention: 'cache_position' of sequence 0 is 4: 2 new tokens need "
            "rows up to 6 but 'k_cache' holds 5 (max_seq)");
  Launch m("attention");
  m.in(q).in(k).in(v).in(kc).in(vc).in(pos).out(out);
  m.attr("num_heads", 4)
      .attr("num_kv_heads", 2)
      .attr("scale", 0.5)
      .attr("causal", true);
  EXPECT_EQ(m.run(nullptr), "attention: expects 3 results, got 1");
}

//===----------------------------------------------------------------------===//
// MLA
//===----------------------------------------------------------------------===//

struct MlaDims {
  int64_t heads = 3, rank = 10, nope = 6, rope = 4, dv = 5;
};

/// One sequence: q [T, H, nope + rope], latent [L, R], kRope [L, rope];
/// keys and values reconstructed per head from kv_up.
std::vector<double> mlaRef(const float *q, int64_t T, const float *latent,
                           const float *kRope, int64_t L, const Tensor &kvUp,
                           const MlaDims &m, double scale, bool causal) {
  int64_t per = m.nope + m.dv, dq = m.nope + m.rope;
  std::vector<double> out(static_cast<size_t>(T * m.heads * m.dv), 0.0);
  for (int64_t h = 0; h < m.heads; ++h) {
    std::vector<double> K(L * dq), V(L * m.dv);
    for (int64_t j = 0; j < L; ++j) {
      for (int64_t r = 0; r < per; ++r) {
        double s = 0;
        for (int64_t c = 0; c < m.rank; ++c)
          s += double(kvUp.f[(h * per + r) * m.rank + c]) *
               latent[j * m.rank + c];
        if (r < m.nope)
          K[j * dq + r] = s;
        else
          V[j * m.dv + r - m.nope] = s;
      }
      for (int64_t r = 0; r < m.rope; ++r)
        K[j * dq + m.nope + r] = kRope[j * m.rope + r];
    }
    for (int64_t t = 0; t < T; ++t) {
      int64_t p = L - T + t;
      std::vector<double> sc(L, -INFINITY);
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < L && (!causal || j <= p); ++j) {
        double s = 0;
        for (int64_t d = 0; d < dq; ++d)
          s += double(q[(t * m.heads + h) * dq + d]) * K[j * dq + d];
        sc[j] = s * scale;
        mx = std::max(mx, sc[j]);
      }
      for (double s : sc)
        if (s != -INFINITY)
          sum += std::exp(s - mx);
      for (int64_t j = 0; j < L; ++j)
        if (sc[j] != -INFINITY)
          for (int64_t c = 0; c < m.dv; ++c)
            out[(t * m.heads + h) * m.dv + c] +=
                std::exp(sc[j] - mx) / sum * V[j * m.dv + c];
    }
  }
  return out;
}

void mlaAttrs(Launch &l, const MlaDims &m, double scale, bool causal) {
  l.attr("num_heads", m.heads)
      .attr("kv_lora_rank", m.rank)
      .attr("qk_nope_head_dim", m.nope);
  l.attr("qk_rope_head_dim", m.rope)
      .attr("v_head_dim", m.dv)
      .attr("scale", scale);
  l.attr("causal", causal);
}

TEST(Mla, NoCacheMatchesReference) {
  Rng rng(44);
  for (MlaDims m : {MlaDims{}, MlaDims{2, 16, 0, 8, 8}, MlaDims{4, 7, 5, 0, 3}})
    for (int64_t T : {1, 3, 7, 33})
      for (bool causal : {true, false})
        for (ThreadPool *pool : pools()) {
          Tensor q = rng.uniform({2, T, m.heads, m.nope + m.rope}),
                 lat = rng.uniform({2, T, m.rank});
          Tensor kr = rng.uniform({2, T, m.rope}),
                 up = rng.uniform({m.heads * (m.nope + m.dv), m.rank});
          Tensor out({2, T, m.heads, m.dv}, NAN);
          Launch l("mla");
          l.in(q).in(lat).in(kr).in(up).none().none().out(out);
          mlaAttrs(l, m, 0.3, causal);
          ASSERT_EQ(l.run(pool), "");
          std::vector<double> want;
          for (int64_t b = 0; b < 2; ++b) {
            auto o =
                mlaRef(q.f.data() + b * T * m.heads * (m.nope + m.rope), T,
                       lat.f.data() + b * T * m.rank,
                       kr.f.data() + b * T * m.rope, T, up, m, 0.3, causal);
            want.insert(want.end(), o.begin(), o.end());
          }
          EXPECT_CLOSE(out.f, want)
              << "T=" << T << " nope=" << m.nope << " rope=" << m.rope;
        }
}

TEST(Mla, PrefillThenDecodeMatchesOnePrefill) {
  Rng rng(45);
  MlaDims m;
  int64_t B = 2, T = 13, S = 16, dq = m.nope + m.rope;
  Tensor q = rng.uniform({B, T, m.heads, dq}),
         lat = rng.uniform({B, T, m.rank});
  Tensor kr = rng.uniform({B, T, m.rope}),
         up = rng.uniform({m.heads * (m.nope + m.dv), m.rank});
  std::vector<double> want;
  for (int64_t b = 0; b < B; ++b) {
    auto o = mlaRef(q.f.data() + b * T * m.heads * dq, T,
                    lat.f.data() + b * T * m.rank, kr.f.data() + b * T * m.rope,
                    T, up, m, 0.3, true);
    want.insert(want.end(), o.begin(), o.end());
  }
  for (bool alias : {true, false}) {
    Tensor cache({B, S, m.rank + m.rope}, 0.0f), cache2 = cache;
    std::vector<float> got(want.size());
    int64_t done = 0;
    for (int64_t n : {6, 1, 1, 4, 1}) {
      Tensor qs({B, n, m.heads, dq}), ls({B, n, m.rank}), rs({B, n, m.rope}),
          out({B, n, m.heads, m.dv});
      for (int64_t b = 0; b < B; ++b) {
        std::copy_n(q.f.begin() + (b * T + done) * m.heads * dq,
                    n * m.heads * dq, qs.f.begin() + b * n * m.heads * dq);
        std::copy_n(lat.f.begin() + (b * T + done) * m.rank, n * m.rank,
                    ls.f.begin() + b * n * m.rank);
        std::copy_n(kr.f.begin() + (b * T + done) * m.rope, n * m.rope,
                    rs.f.begin() + b * n * m.rope);
      }
      Tensor pos = Tensor::ints({B}, {done, done});
      Launch l("mla");
      l.in(qs).in(ls).in(rs).in(up).in(cache).in(pos).out(out).out(
          alias ? cache : cache2);
      mlaAttrs(l, m, 0.3, true);
      ASSERT_EQ(l.run(testPool()), "");
      if (!alias)
        cache = cache2;
      for (int64_t b = 0; b < B; ++b)
        std::copy_n(out.f.begin() + b * n * m.heads * m.dv, n * m.heads * m.dv,
                    got.begin() + (b * T + done) * m.heads * m.dv);
      done += n;
    }
    EXPECT_CLOSE(got, want) << "alias=" << alias;
  }
}

TEST(Mla, ReportsMismatches) {
  MlaDims m;
  Tensor q({1, 2, 3, 10}), lat({1, 2, 10}), kr({1, 2, 4}), up({33, 10}),
      out({1, 2, 3, 5});
  Launch l("mla");
  l.in(q).in(lat).in(kr).in(up).out(out);
  mlaAttrs(l, m, 0.3, true);
  EXPECT_EQ(l.run(nullptr), ""); // the shapes above are consistent
  Tensor up2({32, 10});
  Launch l2("mla");
  l2.in(q).in(lat).in(kr).in(up2).out(out);
  mlaAttrs(l2, m, 0.3, true);
  EXPECT_EQ(l2.run(nullptr),
            "mla: 'kv_up' dim 0 (num_heads * (qk_nope_head_dim + v_head_dim)) "
            "is 32, expected 33");
  Tensor cache({1, 4, 13}), pos = Tensor::ints({1}, {0});
  Launch l3("mla");
  l3.in(q).in(lat).in(kr).in(up).in(cache).in(pos).out(out).out(cache);
  mlaAttrs(l3, m, 0.3, true);
  EXPECT_EQ(l3.run(nullptr), "mla: 'latent_cache' dim 2 (kv_lora_rank + "
                             "qk_rope_head_dim) is 13, expected 14");
}

} // namespace
