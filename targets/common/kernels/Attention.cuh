//===- Attention.cuh - flash attention forward, KV cache, split-KV --------===//
//
// braid.attention for every T with one kernel:
//
//   <prefix>_main     grid (ceil(T*G/BM) + splits-1, kv_heads, B) for
//                     B*T <= kSplitMaxRows, else (ceil(T*G/BM), kv_heads, B)
//
// (where the plan gives the split grid tiles of its own, SequencePlans.h,
// the same entry instantiated as <prefix>_split_main runs B*T <=
// kSplitMaxRows and <prefix>_main the rest).
//
// A block works on one KV head g of one sequence b and a tile of BM = 16 *
// warps "rows", where the rows of a KV head are its (token, query head)
// pairs, r = t * G + j (G = num_heads / num_kv_heads): the G query heads
// that share a KV head are packed into one tile, so every key/value tile
// loaded into shared memory serves all of them (GQA/MQA at no extra reads).
// Key/value tiles of BN rows stream through `stages` shared buffers
// (cp.async); scores S = Q K^T and P V are warp tiles (WarpTile.cuh: mma in
// bf16, FMAs in f32) and the softmax is online in fp32 (log2 domain).
//
// Two warp modes, chosen per tile at run time:
//   * rows split (prefill): warp w owns rows 16w..16w+15 against the whole
//     key tile;
//   * keys split (tiles of at most 16 rows: decode): every warp owns the
//     same 16 rows against its own BN/warps keys of each tile, and the
//     warps' (max, sum, accumulator) are merged through shared memory.
// Split-KV across blocks (decode): when a KV head has at most 16 rows, the
// key range is cut in up to min(splits / B, keys / BN) parts; each writes
// an unnormalized partial to the workspace, counts itself on the pair's
// arrival counter (a __device__ array of the module, reset by the last;
// each session loads its own modules and runs their launches in stream
// order, so no two launches share the counters at once) and the last to
// finish merges the partials in a fixed order, so the result does not
// depend on which block that is (a second launch for the merge cost about
// as much as the split attention itself at B = 1). With more rows no split
// happens; with B*T above kSplitMaxRows the plan has no split blocks.
//
// KV cache: the T new keys/values of a sequence go to rows
// cache_position[b] + t of the caches (by the split-0 block whose tile holds
// the token's first row), while attention reads cache rows below
// cache_position[b] from the cache and the new ones straight from k/v, so
// no block waits for another. Key j sits at position j; query t at
// qpos0 + t (qpos0 = cache_position[b], or kv_seq - T without a cache).
// Visible keys: [p - window + 1, p] with causal masking, clipped to [0, keys).
// A query that sees no key yields zeros (as the CPU reference).
//
// sm_90a prefill: AttentionHopper.cuh (included below, CUDA only) adds
// <prefix>_wg, a wgmma kernel of 64 rows per warpgroup. The choice is made
// in planAttention (SequencePlans.h, the `wg` condition): the target has
// wgmma (seq::Target::wgmma, set by seqTarget in SpecializersSequence.cpp
// for --target=cuda:sm_90a only) and the launch is bf16 with head dim =
// value dim = 128, no cache or a bf16 one, no window and no softcap. Its
// launch then runs instead of _main for calls of at least kAttnWgMinRows
// rows (B * T). The kernels above keep decode and short calls, f32 caches,
// windows, softcap, other head dims, f32, sm_80, PTX and HIP.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_ATTENTION_CUH
#define BRAID_TARGETS_COMMON_KERNELS_ATTENTION_CUH

#include "targets/common/kernels/SequenceLayout.h"
#include "targets/common/kernels/WarpTile.cuh"

#include <climits>

namespace braid {
namespace kern {

/// Everything a block needs to know about its sequence.
struct AttnSeq {
  int tokens;  // T: query rows (new tokens) per sequence
  int cached;  // keys already in the cache (0 without a cache)
  int keys;    // visible key rows [0, keys)
  int qpos0;   // position of query token 0
};

template <typename Cfg>
BRAID_DEVICE AttnSeq attnSequence(const BraidKernelParams &p, int b) {
  AttnSeq s;
  s.tokens = Cfg::kTokens > 0 ? Cfg::kTokens : int(p.tokens);
  if (Cfg::kCached) {
    const int64_t *pos = Cfg::kPos >= 0
                             ? dev::buffer<const int64_t>(p, Cfg::kPos)
                             : p.cache_position;
    s.cached = int(pos[b]);
    s.keys = s.cached + s.tokens;
    s.qpos0 = s.cached;
  } else {
    const int kv = Cfg::kKvSeq > 0 ? Cfg::kKvSeq : s.tokens;
    s.cached = 0;
    s.keys = kv;
    s.qpos0 = kv - s.tokens;
  }
  return s;
}

/// Visible key range of query token t.
template <typename Cfg>
BRAID_DEVICE void attnVisible(const AttnSeq &s, int t, int &lo, int &hi) {
  const int p = s.qpos0 + t;
  hi = Cfg::kCausal ? min(s.keys, p + 1) : s.keys;
  lo = Cfg::kWindow > 0 ? max(0, p - Cfg::kWindow + 1) : 0;
  hi = max(hi, lo);
}

/// Union of the visible ranges of rows [r0, r0 + n) of a KV head.
template <typename Cfg>
BRAID_DEVICE void attnTileRange(const AttnSeq &s, int r0, int n, int &lo,
                                int &hi) {
  constexpr int G = Cfg::kHeads / Cfg::kKvHeads;
  int lo0, hi0, lo1, hi1;
  attnVisible<Cfg>(s, r0 / G, lo0, hi0);
  attnVisible<Cfg>(s, (r0 + n - 1) / G, lo1, hi1);
  lo = lo0; // ranges move right with t
  hi = hi1;
  (void)hi0;
  (void)lo1;
}

/// How many blocks share the key range of sequence b (1: no split).
template <typename Cfg>
BRAID_DEVICE int attnSplitCount(const BraidKernelParams &p, const AttnSeq &s,
                                int lo, int hi) {
  constexpr int G = Cfg::kHeads / Cfg::kKvHeads;
  // Above kSplitMaxRows rows (B * T) the plan launches _main without the
  // split blocks.
  if (Cfg::kSplits <= 1 || s.tokens * G > seqlayout::kAttnSplitRows ||
      int64_t(p.batch) * p.tokens > Cfg::kSplitMaxRows)
    return 1;
  const int perSeq = Cfg::kSplits / int(p.batch);
  if (perSeq <= 1 || hi <= lo)
    return 1;
  return max(1, min(perSeq, ceilDiv(hi - lo, Cfg::kBlockN)));
}

template <typename Cfg> struct AttnDims {
  using E = typename Cfg::E;   // q, k, v, output
  using EC = typename Cfg::EC; // caches (E, or float)
  static constexpr bool kCacheSame = std::is_same<E, EC>::value;
  static constexpr int D = Cfg::kHeadDim, DV = Cfg::kValueDim;
  static constexpr int H = Cfg::kHeads, HKV = Cfg::kKvHeads, G = H / HKV;
  static constexpr int NW = Cfg::kWarps, BN = Cfg::kBlockN;
  /// m16 tiles per warp in the row split, rows per block, keys per step.
  static constexpr int MT = Cfg::kRowTiles, BM = 16 * NW * MT;
  static constexpr int KSTEP = Cfg::kKeyStep;
  static constexpr int ST = Cfg::kStages;
  static constexpr int Dp = roundUp(D, 16), DVp = roundUp(DV, 16);
  static constexpr int LDK = Dp + kRowPad<E>, LDV = DVp + kRowPad<E>;
  static constexpr bool kKeySplitOk = BN % (16 * NW) == 0;
  static constexpr int kSplitRows = seqlayout::kAttnSplitRows;
  static_assert(H % HKV == 0, "attention: heads must be a multiple of kv heads");
  static_assert(BN % 16 == 0, "attention: key tile must be a multiple of 16");
  static_assert(KSTEP % 16 == 0 && BN % KSTEP == 0,
                "attention: the key step must divide the key tile");
  static_assert(D % int(16 / sizeof(E)) == 0 && DV % int(16 / sizeof(E)) == 0,
                "attention: head dims must be whole 16-byte chunks");
  static_assert(kCacheSame || std::is_same<EC, float>::value,
                "attention: caches are of the activation type or float");
};

/// Writes the tokens whose first row falls in [r0, r0 + n) to the caches.
template <typename Cfg>
BRAID_DEVICE void attnAppendCache(const BraidKernelParams &p, const AttnSeq &s,
                                  int b, int g, int r0, int n) {
  using A = AttnDims<Cfg>;
  using E = typename A::E;
  const int maxSeq = Cfg::kMaxSeq > 0 ? Cfg::kMaxSeq : int(p.max_seq);
  const int t0 = ceilDiv(r0, A::G), t1 = min(s.tokens, ceilDiv(r0 + n, A::G));
  using EC = typename A::EC;
  const E *k = dev::buffer<const E>(p, Cfg::kK);
  const E *v = dev::buffer<const E>(p, Cfg::kV);
  EC *kc = dev::buffer<EC>(p, Cfg::kKCacheOut);
  EC *vc = dev::buffer<EC>(p, Cfg::kVCacheOut);
  constexpr int kVec = int(16 / sizeof(E));
  constexpr int CK = A::D / kVec, CV = A::DV / kVec;
  for (int i = dev::threadId(); i < (t1 - t0) * (CK + CV);
       i += dev::blockSize()) {
    const int t = t0 + i / (CK + CV), c = i % (CK + CV);
    const int64_t src = (int64_t(b) * s.tokens + t) * A::HKV + g;
    const int64_t dst = (int64_t(b) * A::HKV + g) * maxSeq + s.cached + t;
    const bool isK = c < CK;
    const int cc = isK ? c : c - CK;
    const E *from = (isK ? k + src * A::D : v + src * A::DV) + cc * kVec;
    EC *to = (isK ? kc + dst * A::D : vc + dst * A::DV) + cc * kVec;
    if constexpr (A::kCacheSame) {
      *reinterpret_cast<uint4 *>(to) = *reinterpret_cast<const uint4 *>(from);
    } else { // bf16 -> float: 8 values, two 16-byte stores
      const uint4 raw = *reinterpret_cast<const uint4 *>(from);
      const float2 a = dev::unpackBf16x2(raw.x), b2 = dev::unpackBf16x2(raw.y),
                   c2 = dev::unpackBf16x2(raw.z), d = dev::unpackBf16x2(raw.w);
      reinterpret_cast<float4 *>(to)[0] = make_float4(a.x, a.y, b2.x, b2.y);
      reinterpret_cast<float4 *>(to)[1] = make_float4(c2.x, c2.y, d.x, d.y);
    }
  }
}

/// Key (or value) row j < s.cached of sequence b, KV head g, in the cache.
template <typename Cfg, bool Value>
BRAID_DEVICE const typename Cfg::EC *attnCacheRow(const BraidKernelParams &p,
                                                  int b, int g, int j) {
  using A = AttnDims<Cfg>;
  constexpr int W = Value ? A::DV : A::D;
  const int maxSeq = Cfg::kMaxSeq > 0 ? Cfg::kMaxSeq : int(p.max_seq);
  const typename A::EC *c = dev::buffer<const typename A::EC>(
      p, Value ? Cfg::kVCache : Cfg::kKCache);
  return c + ((int64_t(b) * A::HKV + g) * maxSeq + j) * W;
}
/// Key (or value) row j >= s.cached, read from the new keys k (or v).
template <typename Cfg, bool Value>
BRAID_DEVICE const typename Cfg::E *attnNewRow(const BraidKernelParams &p,
                                               const AttnSeq &s, int b, int g,
                                               int j) {
  using A = AttnDims<Cfg>;
  constexpr int W = Value ? A::DV : A::D;
  const int rowsPerSeq = Cfg::kCached ? s.tokens : s.keys;
  const typename A::E *x =
      dev::buffer<const typename A::E>(p, Value ? Cfg::kV : Cfg::kK);
  return x + ((int64_t(b) * rowsPerSeq + (j - s.cached)) * A::HKV + g) * W;
}

/// Rows [j0, j0 + ROWS) of the keys (or values) into a shared tile of
/// stride LDS, zeros past sHi and past the W valid columns. Cache rows of a
/// different type than E are converted through registers.
template <typename Cfg, bool Value, int ROWS, int COLS_P, int LDS>
BRAID_DEVICE void attnLoadKeys(typename Cfg::E *smem,
                               const BraidKernelParams &p, const AttnSeq &s,
                               int b, int g, int j0, int sHi) {
  using A = AttnDims<Cfg>;
  using E = typename A::E;
  constexpr int W = Value ? A::DV : A::D;
  const E *anyValid = dev::buffer<const E>(p, Cfg::kQ);
  if constexpr (A::kCacheSame) {
    copyTileAsync<ROWS, COLS_P, LDS>(
        smem,
        [&](int r) -> const E * {
          const int j = j0 + r;
          if (j >= sHi)
            return nullptr;
          if (Cfg::kCached && j < s.cached)
            return reinterpret_cast<const E *>(
                attnCacheRow<Cfg, Value>(p, b, g, j));
          return attnNewRow<Cfg, Value>(p, s, b, g, j);
        },
        anyValid, W);
  } else {
    constexpr int kVec = int(16 / sizeof(E));
    constexpr int kChunks = COLS_P / kVec;
    for (int c = dev::threadId(); c < ROWS * kChunks; c += dev::blockSize()) {
      const int r = c / kChunks, cc = c % kChunks, j = j0 + r;
      E *dst = smem + r * LDS + cc * kVec;
      const bool valid = j < sHi && cc * kVec < W;
      if (valid && Cfg::kCached && j < s.cached) {
        const float *src = attnCacheRow<Cfg, Value>(p, b, g, j) + cc * kVec;
        float v[kVec];
#pragma unroll
        for (int e = 0; e < kVec; e += 4) {
          const float4 f = *reinterpret_cast<const float4 *>(src + e);
          v[e] = f.x;
          v[e + 1] = f.y;
          v[e + 2] = f.z;
          v[e + 3] = f.w;
        }
#pragma unroll
        for (int e = 0; e < kVec; ++e)
          dst[e] = dev::fromFloat<E>(v[e]);
      } else {
        dev::cpAsync16(dst,
                       valid ? attnNewRow<Cfg, Value>(p, s, b, g, j) + cc * kVec
                             : anyValid,
                       valid);
      }
    }
  }
}

/// The workspace of split-KV partials: accumulators, then max, then sum.
template <typename Cfg> struct AttnPartials {
  float *o, *m, *l;
  BRAID_DEVICE AttnPartials(void *ws) {
    using A = AttnDims<Cfg>;
    constexpr int64_t slots = int64_t(A::HKV) * Cfg::kSplits * A::kSplitRows;
    o = static_cast<float *>(ws);
    m = o + slots * A::DVp;
    l = m + slots;
  }
  /// Index of row r of slot (g, b, split).
  BRAID_DEVICE static int64_t row(int g, int slot, int r) {
    return (int64_t(g) * Cfg::kSplits + slot) * AttnDims<Cfg>::kSplitRows + r;
  }
};

/// Final output row: o / l, or zeros for a row that saw no key.
template <typename Cfg>
BRAID_DEVICE typename Cfg::E *attnOutRow(const BraidKernelParams &p,
                                         const AttnSeq &s, int b, int g,
                                         int r) {
  using A = AttnDims<Cfg>;
  const int t = r / A::G, j = r % A::G;
  return dev::buffer<typename A::E>(p, Cfg::kOut) +
         ((int64_t(b) * s.tokens + t) * A::H + g * A::G + j) * A::DV;
}

/// The main loop and epilogue of one block, warp mode fixed. Row split:
/// warp w owns MT m16 tiles (rows 16*MT*w ..) and walks each key tile in
/// steps of KW keys; key split: every warp owns the same 16 rows and its
/// own BN/NW keys of each tile.
template <typename Cfg, bool KeySplit>
BRAID_DEVICE void attnBlock(const BraidKernelParams &p, const AttnSeq &s, int b,
                            int g, int r0, int rowsHere, int sLo, int sHi,
                            int nsplit, int slot, unsigned char *smem) {
  using A = AttnDims<Cfg>;
  using E = typename A::E;
  constexpr int MT = KeySplit ? 1 : A::MT;                 // m16 tiles per warp
  constexpr int KW = KeySplit ? A::BN / A::NW : A::KSTEP;  // keys per step
  constexpr int STEPS = KeySplit ? 1 : A::BN / A::KSTEP;   // steps per tile
  constexpr int NTS = KW / 8, NTO = A::DVp / 8;
  // Accumulator blocks of the score and output tiles (WarpTile.cuh).
  constexpr int NBS = Acc<MT, NTS>::NB, NBO = Acc<MT, NTO>::NB;
  constexpr int RH = kAccRows, CW = kAccCols;
  E *sQ = reinterpret_cast<E *>(smem);
  E *sK = sQ + A::BM * A::LDK;
  E *sV = sK + A::ST * A::BN * A::LDK;
  const int warp = dev::warpId();
  const int rowBase = KeySplit ? 0 : 16 * MT * warp;
  const int keyOff = KeySplit ? KW * warp : 0;

  // This lane's rows (kAccRows of each m16 tile) and their key ranges,
  // clipped to this block's split.
  int lo[MT][RH], hi[MT][RH];
  bool rowValid[MT][RH];
  int wLo = INT_MAX, wHi = INT_MIN, fullLo = INT_MIN, fullHi = INT_MAX;
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int h = 0; h < RH; ++h) {
      const int r = rowBase + accRow(i, h);
      rowValid[i][h] = r < rowsHere;
      if (rowValid[i][h]) {
        attnVisible<Cfg>(s, (r0 + r) / A::G, lo[i][h], hi[i][h]);
        lo[i][h] = max(lo[i][h], sLo);
        hi[i][h] = max(lo[i][h], min(hi[i][h], sHi));
        wLo = min(wLo, lo[i][h]);
        wHi = max(wHi, hi[i][h]);
        fullLo = max(fullLo, lo[i][h]);
        fullHi = min(fullHi, hi[i][h]);
      } else {
        lo[i][h] = hi[i][h] = 0;
      }
    }
  // Warp-uniform: the keys any row of the warp sees, and the range where
  // no row needs a mask.
#pragma unroll
  for (int m = dev::kWarpSize / 2; m > 0; m >>= 1) {
    wLo = min(wLo, dev::shflXor(wLo, m));
    wHi = max(wHi, dev::shflXor(wHi, m));
    fullLo = max(fullLo, dev::shflXor(fullLo, m));
    fullHi = min(fullHi, dev::shflXor(fullHi, m));
  }

  // Query tile.
  copyTileAsync<A::BM, A::Dp, A::LDK>(
      sQ,
      [&](int r) -> const E * {
        if (r >= rowsHere)
          return nullptr;
        const int rr = r0 + r, t = rr / A::G, j = rr % A::G;
        return dev::buffer<const E>(p, Cfg::kQ) +
               ((int64_t(b) * s.tokens + t) * A::H + g * A::G + j) * A::D;
      },
      dev::buffer<const E>(p, Cfg::kQ), A::D);
  dev::cpAsyncCommit();

  const int nTiles = sHi > sLo ? ceilDiv(sHi - sLo, A::BN) : 0;
  auto loadTile = [&](int it, int stage) {
    const int j0 = sLo + it * A::BN;
    attnLoadKeys<Cfg, false, A::BN, A::Dp, A::LDK>(sK + stage * A::BN * A::LDK,
                                                   p, s, b, g, j0, sHi);
    attnLoadKeys<Cfg, true, A::BN, A::DVp, A::LDV>(sV + stage * A::BN * A::LDV,
                                                   p, s, b, g, j0, sHi);
  };
  if (A::ST == 2 && nTiles > 0)
    loadTile(0, 0);
  dev::cpAsyncCommit();

  constexpr bool kQRegs = Cfg::kQInRegs && kIsBf16<E>;
  AFrag<MT, (kQRegs ? A::Dp / 16 : 1)> qf;
  if constexpr (kQRegs) {
    dev::cpAsyncWait<1>(); // the query tile (the first key tile may fly)
    dev::syncThreads();
    qf.load(reinterpret_cast<const bf16 *>(sQ + rowBase * A::LDK), A::LDK);
  }

  // Online softmax state of this lane's rows: max (log2 units), this lane's
  // partial sum, and the accumulator.
  float mRow[MT][RH], lRow[MT][RH];
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int h = 0; h < RH; ++h) {
      mRow[i][h] = -INFINITY;
      lRow[i][h] = 0.f;
    }
  Acc<MT, NTO> o;
  o.zero();
  const float kLog2e = 1.4426950408889634f;

  for (int it = 0; it < nTiles; ++it) {
    int stage = 0;
    if (A::ST == 2) {
      stage = it & 1;
      if (it + 1 < nTiles)
        loadTile(it + 1, stage ^ 1);
      dev::cpAsyncCommit();
      dev::cpAsyncWait<1>();
    } else {
      loadTile(it, 0);
      dev::cpAsyncCommit();
      dev::cpAsyncWait<0>();
    }
    dev::syncThreads();

#pragma unroll 1
    for (int step = 0; step < STEPS; ++step) {
      const int off = keyOff + step * KW;
      const int j0 = sLo + it * A::BN + off; // first key of this step
      if (!(j0 < wHi && j0 + KW > wLo))
        continue;
      const E *kT = sK + (stage * A::BN + off) * A::LDK;
      const E *vT = sV + (stage * A::BN + off) * A::LDV;
      Acc<MT, NTS> sc;
      sc.zero();
      if constexpr (kQRegs)
        gemmNT<MT, NTS, A::Dp / 16>(sc, qf, reinterpret_cast<const bf16 *>(kT),
                                    A::LDK);
      else
        gemmNT<MT, NTS, A::Dp>(sc, sQ + rowBase * A::LDK, A::LDK, kT, A::LDK);

      const bool full = j0 >= fullLo && j0 + KW <= fullHi;
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int h = 0; h < RH; ++h) {
          float mx = -INFINITY;
#pragma unroll
          for (int jt = 0; jt < NBS; ++jt)
#pragma unroll
            for (int e = 0; e < CW; ++e) {
              float x = sc.at(i, jt, h, e);
              if (Cfg::kSoftcap > 0.f) {
                const float y = x * (Cfg::kScale / Cfg::kSoftcap);
                x = (Cfg::kSoftcap * kLog2e) *
                    (kIsBf16<E> ? dev::tanhFast(y) : tanhf(y));
              } else {
                x *= Cfg::kScale * kLog2e;
              }
              if (!full) {
                const int j = j0 + accCol(jt, e);
                if (j < lo[i][h] || j >= hi[i][h])
                  x = -INFINITY;
              }
              sc.at(i, jt, h, e) = x;
              mx = fmaxf(mx, x);
            }
          mx = accRowMax(mx);
          const float mNew = fmaxf(mRow[i][h], mx);
          const float mUse = mNew == -INFINITY ? 0.f : mNew;
          const float corr = dev::exp2Fast(mRow[i][h] - mUse);
          mRow[i][h] = mNew;
          float sum = 0.f;
#pragma unroll
          for (int jt = 0; jt < NBS; ++jt)
#pragma unroll
            for (int e = 0; e < CW; ++e) {
              const float pv = dev::exp2Fast(sc.at(i, jt, h, e) - mUse);
              sc.at(i, jt, h, e) = pv;
              sum += pv;
            }
          lRow[i][h] = lRow[i][h] * corr + sum;
#pragma unroll
          for (int jt = 0; jt < NBO; ++jt)
#pragma unroll
            for (int e = 0; e < CW; ++e)
              o.at(i, jt, h, e) *= corr;
        }
      gemmRegNN<MT, NTO, NTS / 2>(o, sc, vT, A::LDV);
    }
    dev::syncThreads();
  }
  dev::cpAsyncWait<0>();

#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int h = 0; h < RH; ++h)
      lRow[i][h] = accRowSum(lRow[i][h]);

  AttnPartials<Cfg> part(p.workspace);
  if constexpr (KeySplit) {
    // Merge the warps' results for the 16 shared rows through shared
    // memory (the key/value buffers are free now).
    float *mO = reinterpret_cast<float *>(sK);
    float *mM = mO + A::NW * 16 * A::DVp;
    float *mL = mM + A::NW * 16;
#pragma unroll
    for (int h = 0; h < RH; ++h) {
      const int r = accRow(0, h);
      if (accRowLeader()) {
        mM[warp * 16 + r] = mRow[0][h];
        mL[warp * 16 + r] = lRow[0][h];
      }
#pragma unroll
      for (int jt = 0; jt < NBO; ++jt)
#pragma unroll
        for (int e = 0; e < CW; ++e)
          mO[(warp * 16 + r) * A::DVp + accCol(jt, e)] = o.at(0, jt, h, e);
    }
    dev::syncThreads();
    for (int i = dev::threadId(); i < rowsHere * A::DV; i += dev::blockSize()) {
      const int r = i / A::DV, c = i % A::DV;
      float mx = -INFINITY;
#pragma unroll
      for (int w = 0; w < A::NW; ++w)
        mx = fmaxf(mx, mM[w * 16 + r]);
      const float mUse = mx == -INFINITY ? 0.f : mx;
      float l = 0.f, acc = 0.f;
#pragma unroll
      for (int w = 0; w < A::NW; ++w) {
        const float f = dev::exp2Fast(mM[w * 16 + r] - mUse);
        l += mL[w * 16 + r] * f;
        acc += mO[(w * 16 + r) * A::DVp + c] * f;
      }
      if (nsplit > 1) {
        const int64_t pr = AttnPartials<Cfg>::row(g, slot, r);
        part.o[pr * A::DVp + c] = acc;
        if (c == 0) {
          part.m[pr] = mx;
          part.l[pr] = l;
        }
      } else {
        attnOutRow<Cfg>(p, s, b, g, r0 + r)[c] =
            dev::fromFloat<E>(l > 0.f ? acc / l : 0.f);
      }
    }
  } else {
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int h = 0; h < RH; ++h) {
        if (!rowValid[i][h])
          continue;
        const int r = rowBase + accRow(i, h);
        if (nsplit > 1) {
          const int64_t pr = AttnPartials<Cfg>::row(g, slot, r);
#pragma unroll
          for (int jt = 0; jt < NBO; ++jt)
#pragma unroll
            for (int e = 0; e < CW; ++e)
              part.o[pr * A::DVp + accCol(jt, e)] = o.at(i, jt, h, e);
          if (accRowLeader()) {
            part.m[pr] = mRow[i][h];
            part.l[pr] = lRow[i][h];
          }
        } else {
          const float inv = lRow[i][h] > 0.f ? 1.f / lRow[i][h] : 0.f;
          E *out = attnOutRow<Cfg>(p, s, b, g, r0 + r);
#pragma unroll
          for (int jt = 0; jt < NBO; ++jt)
#pragma unroll
            for (int e = 0; e < CW; e += 2) {
              const int c = accCol(jt, e);
              if (c < A::DV)
                store2(out + c, o.at(i, jt, h, e) * inv,
                       o.at(i, jt, h, e + 1) * inv);
            }
        }
      }
  }
}

template <typename Cfg>
BRAID_DEVICE void attnMerge(const BraidKernelParams &p, const AttnSeq &s,
                            int b, int g, int nsplit, void *smem);

/// `arrivals`: one counter per (sequence, KV head) of a split-KV call, zero
/// between launches (the last block of each resets its own).
template <typename Cfg>
BRAID_DEVICE void attentionMain(const BraidKernelParams &p,
                                unsigned *arrivals) {
  using A = AttnDims<Cfg>;
  extern __shared__ __align__(16) unsigned char attnSmem[];
  const int b = dev::blockIdZ(), g = dev::blockIdY();
  const AttnSeq s = attnSequence<Cfg>(p, b);
  const int rows = s.tokens * A::G;
  const int mTiles = ceilDiv(rows, A::BM);
  int mt = dev::blockIdX(), split = 0;
  if (mt >= mTiles) { // the extra blocks of split-KV
    split = mt - mTiles + 1;
    mt = 0;
    if (mTiles != 1)
      return;
  } else if (Cfg::kCausal) {
    mt = mTiles - 1 - mt; // the longest (last) row tiles first
  }
  const int r0 = mt * A::BM, rowsHere = min(A::BM, rows - r0);
  if (rowsHere <= 0)
    return;
  if (Cfg::kCached && split == 0)
    attnAppendCache<Cfg>(p, s, b, g, r0, rowsHere);

  int lo, hi;
  attnTileRange<Cfg>(s, r0, rowsHere, lo, hi);
  const int nsplit = attnSplitCount<Cfg>(p, s, lo, hi);
  if (split >= nsplit)
    return;
  int sLo = lo, sHi = hi, slot = 0;
  if (nsplit > 1) {
    const int per = roundUp(ceilDiv(hi - lo, nsplit), A::BN);
    sLo = min(hi, lo + split * per);
    sHi = min(hi, sLo + per);
    slot = b * (Cfg::kSplits / int(p.batch)) + split;
  }
  if (A::kKeySplitOk && rowsHere <= 16)
    attnBlock<Cfg, A::kKeySplitOk>(p, s, b, g, r0, rowsHere, sLo, sHi, nsplit,
                                   slot, attnSmem);
  else
    attnBlock<Cfg, false>(p, s, b, g, r0, rowsHere, sLo, sHi, nsplit, slot,
                          attnSmem);
  if (nsplit <= 1)
    return;
  // Split-KV: the last of the nsplit blocks to finish merges their partials
  // (no second launch). Its partials are published before the count (the
  // fence), and it reads the others' after it (the fence again).
  __shared__ int lastToFinish;
  dev::threadFence();
  dev::syncThreads();
  if (dev::threadId() == 0) {
    unsigned *count = arrivals + b * A::HKV + g;
    lastToFinish = atomicAdd(count, 1u) == unsigned(nsplit - 1);
    if (lastToFinish)
      *count = 0; // every other block of the pair has counted
  }
  dev::syncThreads();
  if (!lastToFinish)
    return;
  dev::threadFence();
  attnMerge<Cfg>(p, s, b, g, nsplit, attnSmem);
}

/// The split-KV merge's shared memory (SequenceLayout.h
/// attentionCombineSmemBytes), in the block's dynamic shared memory once
/// its main loop is done.
struct AttnMergeSmem {
  static constexpr int kMaxSplits = 64; // SequencePlans.h caps the slots
  static constexpr int kMaxThreads = 128;
  float w[seqlayout::kAttnSplitRows][kMaxSplits];
  float l[seqlayout::kAttnSplitRows][kMaxSplits];
  float inv[seqlayout::kAttnSplitRows];
  float4 part[kMaxThreads];
};
static_assert(sizeof(AttnMergeSmem) ==
                  size_t(seqlayout::attentionCombineSmemBytes()),
              "SequenceLayout.h sizes the split-KV merge");

/// Merges the nsplit split-KV partials of one (sequence, KV head) in three
/// round trips to L2, whatever the split count: every (row, split) max and
/// sum at once into shared memory; a warp per row turns them into weights;
/// then the (row, 4 columns) outputs with the splits cut over the threads
/// left (each thread's loads issued together), summed in a fixed order.
/// (The previous form, a lane per column looping over the splits, was a
/// chain of dependent loads per lane: 8 us at B = 1 for a few KB.) Run by
/// the last block of the pair to finish; the partials come from L2.
template <typename Cfg>
BRAID_DEVICE void attnMerge(const BraidKernelParams &p, const AttnSeq &s,
                            int b, int g, int nsplit, void *smem) {
  using A = AttnDims<Cfg>;
  using E = typename A::E;
  constexpr int C4 = A::DV / 4;
  constexpr int kBatch = 16; // loads in flight per thread
  static_assert(A::DV % 4 == 0, "attention merge: float4 columns");
  static_assert(A::kSplitRows == seqlayout::kAttnSplitRows, "merge rows");
  AttnMergeSmem &sm = *static_cast<AttnMergeSmem *>(smem);
  auto &sW = sm.w;
  auto &sL = sm.l;
  auto &sInv = sm.inv;
  auto &sPart = sm.part;
  const int rows = s.tokens * A::G;
  const int slot0 = b * (Cfg::kSplits / int(p.batch));
  AttnPartials<Cfg> part(p.workspace);
  const int tid = dev::threadId(),
            nthreads = min(dev::blockSize(), AttnMergeSmem::kMaxThreads);
  // (Every warp is past the main loop's shared memory: attentionMain's
  // barrier after the count.)
  for (int i = tid; i < rows * nsplit; i += dev::blockSize()) {
    const int r = i / nsplit, k = i % nsplit;
    const int64_t pr = AttnPartials<Cfg>::row(g, slot0 + k, r);
    sW[r][k] = dev::loadFromL2(part.m + pr);
    sL[r][k] = dev::loadFromL2(part.l + pr);
  }
  dev::syncThreads();
  for (int r = dev::warpId(); r < rows; r += dev::warpCount()) {
    float mx = -INFINITY;
    for (int k = dev::laneId(); k < nsplit; k += dev::kWarpSize)
      mx = fmaxf(mx, sW[r][k]);
    mx = dev::warpMax(mx);
    const float mUse = mx == -INFINITY ? 0.f : mx;
    float l = 0.f;
    for (int k = dev::laneId(); k < nsplit; k += dev::kWarpSize) {
      const float f = dev::exp2Fast(sW[r][k] - mUse);
      sW[r][k] = f;
      l += sL[r][k] * f;
    }
    l = dev::warpSum(l);
    if (dev::laneId() == 0)
      sInv[r] = l > 0.f ? 1.f / l : 0.f;
  }
  dev::syncThreads();

  // Items (row, 4 columns), `per` of them a round; `parts` threads per item
  // when the items are fewer than the threads, each over the splits
  // k = part, part + parts, ... (the parts summed in order after).
  const int items = rows * C4;
  const int parts = items >= nthreads ? 1 : min(nthreads / items, nsplit);
  const int per = nthreads / parts;
  const int pt = tid / per, local = tid % per;
  for (int i0 = 0; i0 < items; i0 += per) {
    const int item = i0 + local;
    const bool live = pt < parts && item < items;
    const int r = live ? item / C4 : 0, c = live ? 4 * (item % C4) : 0;
    float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
    if (live) {
      for (int k0 = pt; k0 < nsplit; k0 += kBatch * parts) {
        float4 v[kBatch];
        float w[kBatch];
#pragma unroll
        for (int j = 0; j < kBatch; ++j) {
          const int k = k0 + j * parts;
          const bool in = k < nsplit;
          v[j] = in ? dev::loadFromL2(reinterpret_cast<const float4 *>(
                          part.o +
                          AttnPartials<Cfg>::row(g, slot0 + k, r) * A::DVp +
                          c))
                    : make_float4(0.f, 0.f, 0.f, 0.f);
          w[j] = in ? sW[r][k] : 0.f;
        }
#pragma unroll
        for (int j = 0; j < kBatch; ++j) {
          acc.x += v[j].x * w[j];
          acc.y += v[j].y * w[j];
          acc.z += v[j].z * w[j];
          acc.w += v[j].w * w[j];
        }
      }
    }
    if (parts > 1) { // one round only (per >= items): uniform
      if (live)
        sPart[tid] = acc;
      dev::syncThreads();
      if (live && pt == 0)
        for (int q = 1; q < parts; ++q) {
          const float4 o = sPart[q * per + local];
          acc.x += o.x;
          acc.y += o.y;
          acc.z += o.z;
          acc.w += o.w;
        }
    }
    if (live && pt == 0) {
      const float inv = sInv[r];
      E *out = attnOutRow<Cfg>(p, s, b, g, r) + c;
      out[0] = dev::fromFloat<E>(acc.x * inv);
      out[1] = dev::fromFloat<E>(acc.y * inv);
      out[2] = dev::fromFloat<E>(acc.z * inv);
      out[3] = dev::fromFloat<E>(acc.w * inv);
    }
  }
}

} // namespace kern
} // namespace braid

/// The extern "C" entry point of one attention specialization (split-KV
/// grids merge in their last block: one arrival counter per sequence and KV
/// head of a split call, at most kSplitMaxRows sequences).
#define BRAID_ATTENTION_ENTRIES(PREFIX, CFG)                                   \
  __device__ unsigned PREFIX##_arrivals[(CFG::kSplitMaxRows > 0                \
                                             ? CFG::kSplitMaxRows              \
                                             : 1) *                            \
                                        CFG::kKvHeads];                        \
  extern "C" __global__ void __launch_bounds__(                                \
      CFG::kWarps * braid::dev::kWarpSize, 1)                                  \
      PREFIX##_main(BraidKernelParams p) {                                     \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::attentionMain<CFG>(p, PREFIX##_arrivals);                     \
  }

#if defined(BRAID_CUDA)
#include "targets/common/kernels/AttentionHopper.cuh"
#endif

#endif // BRAID_TARGETS_COMMON_KERNELS_ATTENTION_CUH
