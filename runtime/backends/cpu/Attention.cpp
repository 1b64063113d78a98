//===- Attention.cpp - attention (GQA/MQA, KV cache) and mla --------------===//
//
// One core for both families: a (batch, head) problem where a block of
// queries walks over blocks of keys with an online softmax (running max,
// running sum, rescaled accumulator), so scores are never materialized
// beyond one key block. Each key block is transposed once ([channel][key])
// and reused by every query of the block: scores of four queries against
// 64 keys are a register tile updated channel by channel, with the keys in
// the vector lanes. Each query sees a contiguous key range:
//   lo = p - window + 1 (sliding window), hi = p (causal),
// where p is the query's absolute position and key j sits at position j.
// Work is split over (batch, head, query block).
//
// With a KV cache the new keys/values are first written at rows
// cache_position[b] .. + T - 1 of the (possibly aliased) result caches;
// attention then runs over cache rows [0, cache_position[b] + T).
//
// MLA reconstructs each head's non-rotary keys and values from the latent
// with one GEMM per sequence (latent @ kv_up^T, as transformers does), then
// runs the same core with keys split in two parts: the per-head non-rotary
// part and the rotary part shared by all heads.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/Gemm.h"
#include "runtime/backends/cpu/KernelSupport.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace braid::rt::cpu {

namespace {

/// One (batch, head) attention problem. A key has d1 + d2 channels: d1 at
/// k1 and d2 at k2 (d2 = 0 for plain attention); queries have the same
/// d1 + d2 channels, contiguous.
struct HeadProblem {
  const float *q = nullptr;
  int64_t qStride = 0;
  float *o = nullptr;
  int64_t oStride = 0;
  const float *k1 = nullptr;
  int64_t k1Stride = 0, d1 = 0;
  const float *k2 = nullptr;
  int64_t k2Stride = 0, d2 = 0;
  const float *v = nullptr;
  int64_t vStride = 0, dv = 0;
  int64_t keys = 0;     // key rows [0, keys)
  int64_t queryPos = 0; // absolute position of query row 0
};

struct Masking {
  bool causal = true;
  int64_t window = 0; // 0: no sliding window
  float scale = 1.0f;
  float softcap = 0.0f; // 0: none
};

constexpr int64_t kQueryBlock = 16;
constexpr int64_t kKeyBlock = 64;
constexpr int64_t kQueryGroup = 4;

/// Visible key range [lo, hi) of the query at absolute position p.
void visibleKeys(const HeadProblem &hp, const Masking &m, int64_t p,
                 int64_t &lo, int64_t &hi) {
  hi = m.causal ? std::min(hp.keys, p + 1) : hp.keys;
  lo = m.window > 0 ? std::max<int64_t>(0, p - m.window + 1) : 0;
  hi = std::max(hi, lo);
}

/// Keys [j0, j0 + n) as kt[channel][key] (k1's channels, then k2's), zero
/// past n, so scores of a whole block are one loop over channels with the
/// keys in the vector lanes.
void transposeKeys(const HeadProblem &hp, int64_t j0, int64_t n, float *kt) {
  int64_t dq = hp.d1 + hp.d2;
  for (int64_t j = 0; j < n; ++j) {
    const float *k1 = hp.k1 + (j0 + j) * hp.k1Stride;
    for (int64_t c = 0; c < hp.d1; ++c)
      kt[c * kKeyBlock + j] = k1[c];
    const float *k2 = hp.d2 ? hp.k2 + (j0 + j) * hp.k2Stride : nullptr;
    for (int64_t c = 0; c < hp.d2; ++c)
      kt[(hp.d1 + c) * kKeyBlock + j] = k2[c];
  }
  for (int64_t c = 0; c < dq; ++c)
    for (int64_t j = n; j < kKeyBlock; ++j)
      kt[c * kKeyBlock + j] = 0.0f;
}

/// s[i][j] = q_i . k_j for kQueryGroup queries against one transposed key
/// block: a register tile of kQueryGroup x kKeyBlock sums, like the GEMM's.
BRAID_VECTOR_CLONES void groupScores(const float *const *q, int64_t dq,
                                     const float *kt, float *out) {
  float s[kQueryGroup][kKeyBlock] = {};
  for (int64_t c = 0; c < dq; ++c) {
    const float *kc = kt + c * kKeyBlock;
    for (int i = 0; i < kQueryGroup; ++i) {
      float qc = q[i][c];
      for (int j = 0; j < kKeyBlock; ++j)
        s[i][j] += qc * kc[j];
    }
  }
  for (int i = 0; i < kQueryGroup; ++i)
    for (int j = 0; j < kKeyBlock; ++j)
      out[i * kKeyBlock + j] = s[i][j];
}

/// acc[c] += sum_j p[j] * v[j][c] over n value rows.
BRAID_VECTOR_CLONES void accumulateValues(float *acc, const float *p,
                                          const float *v, int64_t vStride,
                                          int64_t n, int64_t dv) {
  for (int64_t j = 0; j < n; ++j) {
    const float *vj = v + j * vStride;
    float pj = p[j];
    for (int64_t c = 0; c < dv; ++c)
      acc[c] += pj * vj[c];
  }
}

/// Queries [q0, q1) of one problem (q1 - q0 <= kQueryBlock), walking key
/// blocks with an online softmax per query.
void attendQueryBlock(const HeadProblem &hp, const Masking &m, int64_t q0,
                      int64_t q1) {
  int64_t nq = q1 - q0, dv = hp.dv, dq = hp.d1 + hp.d2;
  float rowMax[kQueryBlock];
  double rowSum[kQueryBlock];
  int64_t lo[kQueryBlock], hi[kQueryBlock];
  thread_local std::vector<float> accBuffer, ktBuffer;
  accBuffer.assign(static_cast<size_t>(nq * dv), 0.0f);
  ktBuffer.resize(static_cast<size_t>(dq * kKeyBlock));
  float *acc = accBuffer.data(), *kt = ktBuffer.data();
  float scores[kQueryGroup * kKeyBlock];

  int64_t blockLo = hp.keys, blockHi = 0;
  for (int64_t i = 0; i < nq; ++i) {
    rowMax[i] = -INFINITY;
    rowSum[i] = 0.0;
    visibleKeys(hp, m, hp.queryPos + q0 + i, lo[i], hi[i]);
    if (lo[i] < hi[i]) {
      blockLo = std::min(blockLo, lo[i]);
      blockHi = std::max(blockHi, hi[i]);
    }
  }
  // A lone query (decode) reads each key once with plain dot products; the
  // transposed tile pays off from a few queries on.
  bool tiled = nq >= kQueryGroup;
  for (int64_t j0 = blockLo; j0 < blockHi; j0 += kKeyBlock) {
    int64_t j1 = std::min(blockHi, j0 + kKeyBlock);
    if (tiled)
      transposeKeys(hp, j0, j1 - j0, kt);
    for (int64_t g0 = 0; g0 < nq; g0 += kQueryGroup) {
      int64_t g1 = std::min(nq, g0 + kQueryGroup);
      bool any = false;
      for (int64_t i = g0; i < g1; ++i)
        any |= std::max(j0, lo[i]) < std::min(j1, hi[i]);
      if (!any)
        continue;
      if (tiled) {
        // Scores of the whole group and block; rows past the block's
        // queries repeat its last query and are ignored.
        const float *qs[kQueryGroup];
        for (int64_t i = 0; i < kQueryGroup; ++i)
          qs[i] = hp.q + (q0 + std::min(g0 + i, nq - 1)) * hp.qStride;
        groupScores(qs, dq, kt, scores);
      } else {
        for (int64_t i = g0; i < g1; ++i) {
          const float *q = hp.q + (q0 + i) * hp.qStride;
          float *row = scores + (i - g0) * kKeyBlock;
          for (int64_t j = std::max(j0, lo[i]); j < std::min(j1, hi[i]); ++j)
            row[j - j0] =
                dot(q, hp.k1 + j * hp.k1Stride, hp.d1) +
                (hp.d2 ? dot(q + hp.d1, hp.k2 + j * hp.k2Stride, hp.d2) : 0.0f);
        }
      }

      for (int64_t i = g0; i < g1; ++i) {
        int64_t a = std::max(j0, lo[i]), b = std::min(j1, hi[i]);
        if (a >= b)
          continue;
        float *s = scores + (i - g0) * kKeyBlock + (a - j0);
        float blockMax = -INFINITY;
        for (int64_t j = 0; j < b - a; ++j) {
          float v = s[j] * m.scale;
          if (m.softcap > 0.0f)
            v = m.softcap * std::tanh(v / m.softcap);
          s[j] = v;
          blockMax = std::max(blockMax, v);
        }
        // Rescale what was accumulated under the old maximum.
        float newMax = std::max(rowMax[i], blockMax);
        float *ai = acc + i * dv;
        if (newMax > rowMax[i] && rowMax[i] != -INFINITY) {
          float correction = std::exp(rowMax[i] - newMax);
          rowSum[i] *= correction;
          for (int64_t c = 0; c < dv; ++c)
            ai[c] *= correction;
        }
        rowMax[i] = newMax;
        for (int64_t j = 0; j < b - a; ++j) {
          s[j] = std::exp(s[j] - newMax);
          rowSum[i] += s[j];
        }
        accumulateValues(ai, s, hp.v + a * hp.vStride, hp.vStride, b - a, dv);
      }
    }
  }
  for (int64_t i = 0; i < nq; ++i) {
    float *o = hp.o + (q0 + i) * hp.oStride;
    // A query that sees no key (more queries than keys, without a cache)
    // yields zeros.
    float inv = rowSum[i] > 0.0 ? static_cast<float>(1.0 / rowSum[i]) : 0.0f;
    for (int64_t c = 0; c < dv; ++c)
      o[c] = acc[i * dv + c] * inv;
  }
}

/// Runs problems(b, h) for every batch b < batch and head h < heads, each
/// over `queries` rows, parallel over (b, h, query block).
template <typename MakeProblem>
void attendAll(ThreadPool *pool, int64_t batch, int64_t heads, int64_t queries,
               const Masking &m, MakeProblem problem) {
  int64_t blocks = (queries + kQueryBlock - 1) / kQueryBlock;
  parallelFor(pool, batch * heads * blocks, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t blk = t % blocks, bh = t / blocks;
      HeadProblem hp = problem(bh / heads, bh % heads);
      int64_t q0 = blk * kQueryBlock;
      attendQueryBlock(hp, m, q0, std::min(queries, q0 + kQueryBlock));
    }
  });
}

/// Checks every cache_position against the cache capacity (the message
/// names the sequence).
void checkCachePositions(Check &c, const TensorView &pos, int64_t newTokens,
                         int64_t capacity, const char *cacheName) {
  for (int64_t b = 0; c.ok() && b < pos.numel(); ++b) {
    int64_t p = pos.i64()[b];
    c.require(p >= 0 && p + newTokens <= capacity,
              "'cache_position' of sequence " + std::to_string(b) + " is " +
                  std::to_string(p) + ": " + std::to_string(newTokens) +
                  " new tokens need rows up to " +
                  std::to_string(p + newTokens) + " but '" + cacheName +
                  "' holds " + std::to_string(capacity) + " (max_seq)");
  }
}

Masking readMasking(const AttrMap &attrs, double scale) {
  Masking m;
  m.causal = boolOr(attrs, "causal", true);
  m.window = attrs.getIntOr("sliding_window", 0);
  m.scale = static_cast<float>(scale);
  m.softcap = static_cast<float>(attrs.getFloatOr("softcap", 0.0));
  return m;
}

} // namespace

std::string attentionKernel(const KernelCall &call) {
  const TensorView &q = operandAt(call, 0), &k = operandAt(call, 1),
                   &v = operandAt(call, 2);
  const TensorView &kCache = operandAt(call, 3), &vCache = operandAt(call, 4),
                   &pos = operandAt(call, 5);
  const TensorView &out = resultAt(call, 0);
  const TensorView &kOut = resultAt(call, 1), &vOut = resultAt(call, 2);
  int64_t heads = call.attrs.getInt("num_heads");
  int64_t kvHeads = call.attrs.getInt("num_kv_heads");
  double scale = call.attrs.getFloat("scale");
  Masking m = readMasking(call.attrs, scale);
  bool cached = kCache.present() || vCache.present() || pos.present();

  Check c(call, "attention");
  c.operandCount(3, 6)
      .resultCount(cached ? 3 : 1)
      .attrsOk()
      .attrAtLeast("num_heads", heads, 1)
      .attrAtLeast("num_kv_heads", kvHeads, 1)
      .attrPositive("scale", scale);
  if (call.attrs.has("sliding_window"))
    c.attrAtLeast("sliding_window", m.window, 1);
  if (call.attrs.has("softcap"))
    c.attrPositive("softcap", m.softcap);
  c.require(heads % std::max<int64_t>(kvHeads, 1) == 0,
            "attribute 'num_heads' (" + std::to_string(heads) +
                ") must be a multiple of 'num_kv_heads' (" +
                std::to_string(kvHeads) + ")")
      .f32("q", q)
      .rank("q", q, 4)
      .dimIs("q", q, 2, heads, "num_heads")
      .f32("k", k)
      .rank("k", k, 4)
      .dimsMatch("k", k, 0, "q", q, 0, "batch")
      .dimIs("k", k, 2, kvHeads, "num_kv_heads")
      .dimsMatch("k", k, 3, "q", q, 3, "head_dim")
      .f32("v", v)
      .rank("v", v, 4)
      .dimsMatch("v", v, 0, "q", q, 0, "batch")
      .dimsMatch("v", v, 1, "k", k, 1, "kv_seq")
      .dimIs("v", v, 2, kvHeads, "num_kv_heads")
      .f32("output", out);
  if (c.ok())
    c.shapeIs("output", out, {q.dim(0), q.dim(1), heads, v.dim(3)});
  if (cached && c.ok()) {
    c.f32("k_cache", kCache)
        .rank("k_cache", kCache, 4)
        .dimsMatch("k_cache", kCache, 0, "q", q, 0, "batch")
        .dimIs("k_cache", kCache, 1, kvHeads, "num_kv_heads")
        .dimsMatch("k_cache", kCache, 3, "k", k, 3, "head_dim")
        .f32("v_cache", vCache)
        .rank("v_cache", vCache, 4)
        .dimsMatch("v_cache", vCache, 0, "q", q, 0, "batch")
        .dimIs("v_cache", vCache, 1, kvHeads, "num_kv_heads")
        .dimsMatch("v_cache", vCache, 2, "k_cache", kCache, 2, "max_seq")
        .dimsMatch("v_cache", vCache, 3, "v", v, 3, "v_head_dim")
        .i64("cache_position", pos)
        .rank("cache_position", pos, 1)
        .dimsMatch("cache_position", pos, 0, "q", q, 0, "batch")
        .dimsMatch("k", k, 1, "q", q, 1, "seq (new tokens with a cache)")
        .f32("updated k_cache", kOut)
        .sameShape("updated k_cache", kOut, "k_cache", kCache)
        .f32("updated v_cache", vOut)
        .sameShape("updated v_cache", vOut, "v_cache", vCache);
    if (c.ok())
      checkCachePositions(c, pos, q.dim(1), kCache.dim(2), "k_cache");
  }
  if (!c.ok())
    return c.message();

  int64_t batch = q.dim(0), seq = q.dim(1), d = q.dim(3), dv = v.dim(3);
  int64_t group = heads / kvHeads;
  if (!cached) {
    int64_t kvSeq = k.dim(1);
    attendAll(call.pool, batch, heads, seq, m, [&](int64_t b, int64_t h) {
      int64_t g = h / group;
      HeadProblem hp;
      hp.q = q.f32() + (b * seq * heads + h) * d;
      hp.qStride = heads * d;
      hp.o = out.f32() + (b * seq * heads + h) * dv;
      hp.oStride = heads * dv;
      hp.k1 = k.f32() + (b * kvSeq * kvHeads + g) * d;
      hp.k1Stride = kvHeads * d;
      hp.d1 = d;
      hp.v = v.f32() + (b * kvSeq * kvHeads + g) * dv;
      hp.vStride = kvHeads * dv;
      hp.dv = dv;
      hp.keys = kvSeq;
      // Queries are the last `seq` of the keys (0..T-1 when equal).
      hp.queryPos = kvSeq - seq;
      return hp;
    });
    return "";
  }

  // Caches: bring the operands into the result buffers (no-op when they
  // alias), then append the new rows.
  int64_t maxSeq = kCache.dim(2);
  copyStateIfDistinct(kCache, kOut);
  copyStateIfDistinct(vCache, vOut);
  const int64_t *cp = pos.i64();
  parallelFor(call.pool, batch * kvHeads, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / kvHeads, g = i % kvHeads;
      for (int64_t t = 0; t < seq; ++t) {
        int64_t row = (b * kvHeads + g) * maxSeq + cp[b] + t;
        std::memcpy(kOut.f32() + row * d,
                    k.f32() + ((b * seq + t) * kvHeads + g) * d,
                    sizeof(float) * d);
        std::memcpy(vOut.f32() + row * dv,
                    v.f32() + ((b * seq + t) * kvHeads + g) * dv,
                    sizeof(float) * dv);
      }
    }
  });
  attendAll(call.pool, batch, heads, seq, m, [&](int64_t b, int64_t h) {
    int64_t g = h / group;
    HeadProblem hp;
    hp.q = q.f32() + (b * seq * heads + h) * d;
    hp.qStride = heads * d;
    hp.o = out.f32() + (b * seq * heads + h) * dv;
    hp.oStride = heads * dv;
    hp.k1 = kOut.f32() + (b * kvHeads + g) * maxSeq * d;
    hp.k1Stride = d;
    hp.d1 = d;
    hp.v = vOut.f32() + (b * kvHeads + g) * maxSeq * dv;
    hp.vStride = dv;
    hp.dv = dv;
    hp.keys = cp[b] + seq;
    hp.queryPos = cp[b];
    return hp;
  });
  return "";
}

std::string mlaKernel(const KernelCall &call) {
  const TensorView &q = operandAt(call, 0), &latent = operandAt(call, 1),
                   &kRope = operandAt(call, 2), &kvUp = operandAt(call, 3);
  const TensorView &cache = operandAt(call, 4), &pos = operandAt(call, 5);
  const TensorView &out = resultAt(call, 0), &cacheOut = resultAt(call, 1);
  const AttrMap &attrs = call.attrs;
  int64_t heads = attrs.getInt("num_heads");
  int64_t rank = attrs.getInt("kv_lora_rank");
  int64_t nope = attrs.getInt("qk_nope_head_dim");
  int64_t rope = attrs.getInt("qk_rope_head_dim");
  int64_t dv = attrs.getInt("v_head_dim");
  double scale = attrs.getFloat("scale");
  Masking m;
  m.causal = boolOr(attrs, "causal", true);
  m.scale = static_cast<float>(scale);
  bool cached = cache.present() || pos.present();

  Check c(call, "mla");
  c.operandCount(4, 6)
      .resultCount(cached ? 2 : 1)
      .attrsOk()
      .attrAtLeast("num_heads", heads, 1)
      .attrAtLeast("kv_lora_rank", rank, 1)
      .attrAtLeast("qk_nope_head_dim", nope, 0)
      .attrAtLeast("qk_rope_head_dim", rope, 0)
      .attrAtLeast("v_head_dim", dv, 1)
      .require(nope + rope > 0,
               "'qk_nope_head_dim' + 'qk_rope_head_dim' must be positive")
      .attrPositive("scale", scale)
      .f32("q", q)
      .rank("q", q, 4)
      .dimIs("q", q, 2, heads, "num_heads")
      .dimIs("q", q, 3, nope + rope, "qk_nope_head_dim + qk_rope_head_dim")
      .f32("kv_latent", latent)
      .rank("kv_latent", latent, 3)
      .dimsMatch("kv_latent", latent, 0, "q", q, 0, "batch")
      .dimIs("kv_latent", latent, 2, rank, "kv_lora_rank")
      .f32("k_rope", kRope)
      .rank("k_rope", kRope, 3)
      .dimsMatch("k_rope", kRope, 0, "q", q, 0, "batch")
      .dimsMatch("k_rope", kRope, 1, "kv_latent", latent, 1, "kv_seq")
      .dimIs("k_rope", kRope, 2, rope, "qk_rope_head_dim")
      .f32("kv_up", kvUp)
      .rank("kv_up", kvUp, 2)
      .dimIs("kv_up", kvUp, 0, heads * (nope + dv),
             "num_heads * (qk_nope_head_dim + v_head_dim)")
      .dimIs("kv_up", kvUp, 1, rank, "kv_lora_rank")
      .f32("output", out);
  if (c.ok())
    c.shapeIs("output", out, {q.dim(0), q.dim(1), heads, dv});
  if (cached && c.ok()) {
    c.f32("latent_cache", cache)
        .rank("latent_cache", cache, 3)
        .dimsMatch("latent_cache", cache, 0, "q", q, 0, "batch")
        .dimIs("latent_cache", cache, 2, rank + rope,
               "kv_lora_rank + qk_rope_head_dim")
        .i64("cache_position", pos)
        .rank("cache_position", pos, 1)
        .dimsMatch("cache_position", pos, 0, "q", q, 0, "batch")
        .dimsMatch("kv_latent", latent, 1, "q", q, 1,
                   "seq (new tokens with a cache)")
        .f32("updated cache", cacheOut)
        .sameShape("updated cache", cacheOut, "latent_cache", cache);
    if (c.ok())
      checkCachePositions(c, pos, q.dim(1), cache.dim(1), "latent_cache");
  }
  if (!c.ok())
    return c.message();

  int64_t batch = q.dim(0), seq = q.dim(1), kvSeq = latent.dim(1);
  int64_t width = rank + rope; // one cache row: latent, then rotary key
  int64_t perHead = nope + dv; // kv_up rows per head: keys, then values
  if (cached) {
    copyStateIfDistinct(cache, cacheOut);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < seq; ++t) {
        float *row =
            cacheOut.f32() + (b * cache.dim(1) + pos.i64()[b] + t) * width;
        std::memcpy(row, latent.f32() + (b * seq + t) * rank,
                    sizeof(float) * rank);
        std::memcpy(row + rank, kRope.f32() + (b * seq + t) * rope,
                    sizeof(float) * rope);
      }
  }

  std::vector<float> kv; // [keys, heads * (nope + dv)] of one sequence
  for (int64_t b = 0; b < batch; ++b) {
    int64_t keys = cached ? pos.i64()[b] + seq : kvSeq;
    const float *latentRows = cached ? cacheOut.f32() + b * cache.dim(1) * width
                                     : latent.f32() + b * kvSeq * rank;
    int64_t latentStride = cached ? width : rank;
    const float *ropeRows =
        cached ? latentRows + rank : kRope.f32() + b * kvSeq * rope;
    int64_t ropeStride = cached ? width : rope;

    kv.resize(static_cast<size_t>(keys * heads * perHead));
    GemmArgs a;
    a.M = keys;
    a.N = heads * perHead;
    a.K = rank;
    a.x = latentRows;
    a.ldx = latentStride;
    a.w = kvUp.f32();
    a.ldw = rank;
    a.y = kv.data();
    a.ldy = heads * perHead;
    gemm(call.pool, a);

    attendAll(call.pool, 1, heads, seq, m, [&](int64_t, int64_t h) {
      HeadProblem hp;
      hp.q = q.f32() + (b * seq * heads + h) * (nope + rope);
      hp.qStride = heads * (nope + rope);
      hp.o = out.f32() + (b * seq * heads + h) * dv;
      hp.oStride = heads * dv;
      hp.k1 = kv.data() + h * perHead;
      hp.k1Stride = heads * perHead;
      hp.d1 = nope;
      hp.k2 = ropeRows;
      hp.k2Stride = ropeStride;
      hp.d2 = rope;
      hp.v = kv.data() + h * perHead + nope;
      hp.vStride = heads * perHead;
      hp.dv = dv;
      hp.keys = keys;
      hp.queryPos = keys - seq;
      return hp;
    });
  }
  return "";
}

} // namespace braid::rt::cpu
