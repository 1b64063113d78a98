//===- AttentionHopper.cuh - sm_90a (wgmma) attention prefill ------------===//
//
// braid.attention prefill on Hopper: one block per BM = 64 * warpgroups
// "rows" of a KV head (the GQA packing of Attention.cuh: row r = t * G + j),
// every warpgroup owning 64 rows against whole key tiles of BN keys:
//
//   S  = Q K^T    wgmma m64nBNk16, Q and K from shared memory (K-major,
//                 128-byte swizzle: a 64-column block of 128-byte rows per
//                 64 head-dim columns)
//   softmax       online, fp32 in registers, log2 domain; the mask only on
//                 the tiles that cross a row's last visible key (causal:
//                 the diagonal tiles); tiles past the warpgroup's last
//                 visible key are skipped
//   O += P V      P rounded to bf16 in registers: an accumulator of S is,
//                 re-paired, the A fragment of the register-A wgmma (the
//                 m16n8k16 placement per warp); V is [keys][D] in shared
//                 memory, i.e. MN-major for this product, read through the
//                 descriptor with the transpose-B bit (same swizzled layout
//                 as K)
//
// Every thread loads: the query tile once, key and value tiles through a
// `stages`-deep cp.async ring. Side by side (and ping-pong in lockstep,
// kWgBarriers off) take one __syncthreads per tile (the stage that is
// refilled is the one the warpgroups finished before the barrier); the
// default ping-pong hands stages on mbarriers instead (full: every
// thread's copies landed, cp.async.mbarrier.arrive; empty: every thread's
// wgmma of the stage retired), so that neither warpgroup waits for the
// other's softmax.
// Row tiles run longest first (causal), ranked over every (sequence, KV
// head) so that the heavy tiles of all heads start in the first wave.
//
// KV cache (bf16 only): as Attention.cuh, the block appends the new tokens
// of its rows to the caches and reads keys below cache_position from the
// cache, the new ones straight from k / v. The tokens go to the caches from
// the key tiles in shared memory (causal: from the last two tiles after
// the main loop): no read of k / v of their own, no round trip before the
// first tile.
//
// Scope (SequencePlans.h picks it, see planAttention): sm_90a, bf16,
// head dim = value dim = 128 (Cfg::kHeadDim), no cache or a bf16 one, no
// window, no softcap, and calls of at least kWgMinRows rows (B * T); the
// plan keeps Attention.cuh's kernels for the rest. Elsewhere (sm_80, PTX) the
// entry traps; HIP never includes this header.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_ATTENTIONHOPPER_CUH
#define BRAID_TARGETS_COMMON_KERNELS_ATTENTIONHOPPER_CUH

#ifndef BRAID_TARGETS_COMMON_KERNELS_ATTENTION_CUH
#error "AttentionHopper.cuh is included by Attention.cuh"
#endif

namespace braid {
namespace kern {

template <typename Cfg> struct AttnWgDims {
  static constexpr int D = Cfg::kHeadDim;
  static constexpr int H = Cfg::kHeads, HKV = Cfg::kKvHeads, G = H / HKV;
  static constexpr int WG = Cfg::kWgWarpgroups, BM = 64 * WG;
  static constexpr int BN = Cfg::kWgBlockN, ST = Cfg::kWgStages;
  static constexpr int KB = D / 64; // 64-column swizzle blocks
  static constexpr int CPR = D / 8; // 16-byte chunks per row
  static constexpr int THREADS = WG * dev::kWarpgroupSize;
  static constexpr int NACC = BN / 2; // S accumulators per thread
  static_assert(std::is_same<typename Cfg::E, bf16>::value,
                "wgmma attention takes bf16");
  static_assert(Cfg::kHeadDim == 128 && Cfg::kValueDim == 128,
                "wgmma attention: head dims of 128");
  static_assert(BN == 128, "wgmma attention: key tiles of 128");
  static_assert(ST >= 2, "wgmma attention: at least two stages");
  static_assert(!Cfg::kCached || std::is_same<typename Cfg::EC, bf16>::value,
                "wgmma attention: a cache of bf16 (copied as is)");
  static_assert(Cfg::kWindow == 0 && Cfg::kSoftcap == 0.f,
                "wgmma attention: no window or softcap");
  static_assert((BM * CPR) % THREADS == 0 && (BN * CPR) % THREADS == 0,
                "wgmma attention: tile chunks must divide over the block");
};

template <typename Cfg>
BRAID_DEVICE void attentionWgMain(const BraidKernelParams &p) {
#if defined(BRAID_HAS_WGMMA)
  using W = AttnWgDims<Cfg>;
  constexpr int BM = W::BM, BN = W::BN, D = W::D, ST = W::ST, G = W::G;
  constexpr int THREADS = W::THREADS, CPR = W::CPR, NACC = W::NACC;
  extern __shared__ __align__(128) unsigned char attnWgSmem[];
  bf16 *sQ = reinterpret_cast<bf16 *>(
      (reinterpret_cast<uintptr_t>(attnWgSmem) + 1023) & ~uintptr_t(1023));
  bf16 *sK = sQ + BM * D;
  bf16 *sV = sK + ST * BN * D;
  // Ping-pong with barriers: full[s] completes when every thread's copies
  // of the tile in stage s have landed, empty[s] when every thread is done
  // with it (SequenceLayout.h attentionWgSmemBytes).
  uint64_t *fullBar = reinterpret_cast<uint64_t *>(sV + ST * BN * D);
  uint64_t *emptyBar = fullBar + ST;

  // Longest row tiles first over all (sequence, KV head) pairs: rank the
  // linear block id by row tile, then head, then sequence.
  const int mTiles = dev::gridDimX();
  const int heads = W::HKV * int(p.batch);
  const int lin =
      dev::blockIdX() + mTiles * (dev::blockIdY() + W::HKV * dev::blockIdZ());
  int mt = lin / heads;
  const int g = (lin % heads) % W::HKV, b = (lin % heads) / W::HKV;
  if (Cfg::kCausal)
    mt = mTiles - 1 - mt;
  const AttnSeq s = attnSequence<Cfg>(p, b);
  const int rows = s.tokens * G;
  const int r0 = mt * BM, rowsHere = min(BM, rows - r0);
  if (rowsHere <= 0)
    return;
  int lo, hi;
  attnTileRange<Cfg>(s, r0, rowsHere, lo, hi); // lo = 0: no window
  const int nTiles = hi > lo ? ceilDiv(hi - lo, BN) : 0;
  // The new tokens of this tile go to the caches (attention reads them
  // from k / v: no block waits for another). Each token is one of the
  // keys the block loads (its own row sees it: with rows here, nTiles >=
  // 1), so they are stored from the key tiles in shared memory
  // (appendFromTile below): causal, from the last two tiles after the main
  // loop; otherwise as the tiles land.

  const int tid = dev::threadId();
  const bf16 *q = dev::buffer<const bf16>(p, Cfg::kQ);
  const bf16 *k = dev::buffer<const bf16>(p, Cfg::kK);
  const bf16 *v = dev::buffer<const bf16>(p, Cfg::kV);

  // Query tile: thread tid copies chunk tid % CPR of rows tid / CPR + i *
  // (THREADS / CPR).
  constexpr int RSTEP = THREADS / CPR;
  const int cc = tid % CPR, rr = tid / CPR;
#pragma unroll
  for (int i = 0; i < BM / RSTEP; ++i) {
    const int r = rr + i * RSTEP, row = r0 + r;
    const bool ok = r < rowsHere;
    const int t = ok ? row / G : 0, j = ok ? row % G : 0;
    const bf16 *src =
        q + ((int64_t(b) * s.tokens + t) * W::H + g * G + j) * D + cc * 8;
    dev::cpAsync16(sQ + dev::sw128Offset<BM>(r, cc), src, ok);
  }
  // Key/value row j of this (sequence, KV head): below s.cached in the
  // caches ([B][HKV][maxSeq][D]), from there on the new rows of k / v
  // ([B][rows][HKV][D]).
  const int rowsPerSeq = Cfg::kCached ? s.tokens : s.keys;
  const int64_t kvBase = (int64_t(b) * rowsPerSeq * W::HKV + g) * D + cc * 8;
  constexpr int64_t kvStride = int64_t(W::HKV) * D;
  const bf16 *kc = nullptr, *vc = nullptr;
  int64_t cacheBase = 0;
  if constexpr (Cfg::kCached) {
    const int maxSeq = Cfg::kMaxSeq > 0 ? Cfg::kMaxSeq : int(p.max_seq);
    kc = dev::buffer<const bf16>(p, Cfg::kKCache);
    vc = dev::buffer<const bf16>(p, Cfg::kVCache);
    cacheBase = (int64_t(b) * W::HKV + g) * maxSeq * D + cc * 8;
  }
  // Rows of a tile: from the cache below s.cached, else from k / v. A whole
  // tile of new rows (every tile of a prefill from position 0 but its last)
  // takes one address per thread and constant offsets: rows rr + i RSTEP
  // are RSTEP * kvStride elements apart in k / v and share their swizzle
  // in shared memory (RSTEP is a multiple of 8).
  static_assert(RSTEP % 8 == 0, "wgmma attention: rows of a thread share a "
                                "swizzle phase");
  const int sRow0 = dev::sw128Offset<BN>(rr, cc);
  const int64_t kvRow0 = kvBase + int64_t(rr) * kvStride;
  auto loadTile = [&](int it, int stage) {
    const int j0 = lo + it * BN;
    bf16 *dk = sK + stage * BN * D, *dv = sV + stage * BN * D;
    if ((!Cfg::kCached || j0 >= s.cached) && j0 + BN <= hi) {
      const int64_t off = kvRow0 + int64_t(j0 - s.cached) * kvStride;
      const bf16 *ks = k + off, *vs = v + off;
#pragma unroll
      for (int i = 0; i < BN / RSTEP; ++i) {
        dev::cpAsync16(dk + sRow0 + i * RSTEP * 64, ks + i * RSTEP * kvStride,
                       true);
        dev::cpAsync16(dv + sRow0 + i * RSTEP * 64, vs + i * RSTEP * kvStride,
                       true);
      }
      return;
    }
    auto newRow = [&](int j, int o, bool ok) {
      const int64_t off = kvBase + int64_t(ok ? j - s.cached : 0) * kvStride;
      dev::cpAsync16(dk + o, k + off, ok);
      dev::cpAsync16(dv + o, v + off, ok);
    };
#pragma unroll
    for (int i = 0; i < BN / RSTEP; ++i) {
      const int r = rr + i * RSTEP, j = j0 + r;
      const bool ok = j < hi;
      const int o = dev::sw128Offset<BN>(r, cc);
      if (Cfg::kCached && j < s.cached) {
        const int64_t off = cacheBase + int64_t(j) * D;
        dev::cpAsync16(dk + o, kc + off, ok);
        dev::cpAsync16(dv + o, vc + off, ok);
      } else {
        newRow(j, o, ok);
      }
    }
  };
  // The block's new tokens among the keys of tile `it` (landed in `stage`
  // and visible to every thread) into the caches: the keys s.cached + t of
  // the tokens t whose first row is in the block (attnAppendCache's).
  auto appendFromTile = [&](int it, int stage) {
    if constexpr (Cfg::kCached) {
      const int j0 = lo + it * BN;
      const int jLo = max(j0, s.cached + ceilDiv(r0, G));
      const int jHi =
          min(j0 + BN, s.cached + min(s.tokens, ceilDiv(r0 + rowsHere, G)));
      if (jLo >= jHi)
        return;
      const int maxSeq = Cfg::kMaxSeq > 0 ? Cfg::kMaxSeq : int(p.max_seq);
      bf16 *kOut = dev::buffer<bf16>(p, Cfg::kKCacheOut);
      bf16 *vOut = dev::buffer<bf16>(p, Cfg::kVCacheOut);
      const bf16 *tk = sK + stage * BN * D, *tv = sV + stage * BN * D;
      for (int i = tid; i < (jHi - jLo) * 2 * CPR; i += THREADS) {
        const int j = jLo + i / (2 * CPR), c = i % (2 * CPR);
        const bool isK = c < CPR;
        const int ch = isK ? c : c - CPR;
        const int o = dev::sw128Offset<BN>(j - j0, ch);
        const int64_t dst =
            ((int64_t(b) * W::HKV + g) * maxSeq + j) * D + ch * 8;
        *reinterpret_cast<uint4 *>((isK ? kOut : vOut) + dst) =
            *reinterpret_cast<const uint4 *>((isK ? tk : tv) + o);
      }
    }
  };
  // Tiles loaded ahead: ST - 1, or one in the ping-pong schedule (below).
  constexpr bool kBarriers = Cfg::kWgPingPong && Cfg::kWgBarriers;
  if constexpr (kBarriers) {
    if (tid == 0) {
      for (int st = 0; st < ST; ++st) {
        dev::mbarInit(&fullBar[st], THREADS);
        dev::mbarInit(&emptyBar[st], THREADS);
      }
    }
    dev::syncThreads(); // the barriers are armed
    if (nTiles > 0) {
      loadTile(0, 0);
      dev::cpAsyncArriveNoinc(&fullBar[0]); // the query's copies too
    }
  } else {
    constexpr int AHEAD = Cfg::kWgPingPong ? 1 : ST - 1;
#pragma unroll
    for (int st = 0; st < AHEAD; ++st) {
      if (st < nTiles)
        loadTile(st, st);
      dev::cpAsyncCommit(); // the query joins the first group
    }
  }

  // This thread's rows (accumulator layout: warp w of the warpgroup holds
  // rows 16 w + lane / 4 and + 8; register 4 n + {0, 1} holds columns
  // 8 n + 2 (lane % 4) + {0, 1} of the first, 4 n + {2, 3} of the second).
  const int wg = dev::warpgroupId(); // uniform: the descriptors below too
  const int lane = dev::laneId();
  const int wr0 = wg * 64; // the warpgroup's first row in the tile
  const int rowA =
      wr0 + ((tid % dev::kWarpgroupSize) / dev::kWarpSize) * 16 + (lane >> 2);
  const int colT = 2 * (lane & 3);
  int hiRow[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = min(rowA + 8 * h, rowsHere - 1);
    int l0;
    attnVisible<Cfg>(s, (r0 + r) / G, l0, hiRow[h]);
  }
  // Warpgroup-uniform: the keys its rows see at most, and the keys every
  // one of its rows sees (no mask below them).
  const bool wgLive = wr0 < rowsHere;
  int wgHi = 0, wgFull = 0;
  if (wgLive) {
    int l0;
    attnVisible<Cfg>(s, (r0 + min(wr0 + 63, rowsHere - 1)) / G, l0, wgHi);
    attnVisible<Cfg>(s, (r0 + wr0) / G, l0, wgFull);
  }

  constexpr float kLog2e = 1.4426950408889634f;
  constexpr float kScaleLog2 = Cfg::kScale * kLog2e;
  float mRow[2] = {-INFINITY, -INFINITY}, lRow[2] = {0.f, 0.f};
  float o[64];
#pragma unroll
  for (int i = 0; i < 64; ++i)
    o[i] = 0.f;
  float sc[NACC];          // scores, then P (fp32), of the current tile
  uint32_t pf[BN / 16][4]; // P (bf16) as the A fragments of 16-key steps

  // S = Q K^T of the tile in `stage` (issued, not waited for). The first
  // step ignores the accumulators' old values (scale-d 0) rather than
  // zeroing them: a register write between two wgmma of a burst makes ptxas
  // serialize them (C7513). For the same reason a burst starts with S (the
  // scale-d 0 predicate then precedes every wgmma of the burst). Every
  // descriptor is one of three built here, moved on by a constant offset
  // (and the stage's): a fresh one costs five operations before each wgmma.
  const uint64_t qDesc = dev::wgmmaDescSw128(sQ + wr0 * 64);
  const uint64_t kDesc = dev::wgmmaDescSw128(sK);
  const uint64_t vDesc = dev::wgmmaDescSw128Mn(sV, BN * 128);
  constexpr uint32_t kStageBytes = BN * D * sizeof(bf16);
  auto issueScores = [&](int stage) {
    const uint64_t kd = dev::wgmmaDescAdd(kDesc, stage * kStageBytes);
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      dev::wgmmaBf16_m64n128k16(
          sc, dev::wgmmaDescAdd(qDesc, dev::sw128KStepBytes(BM, kk)),
          dev::wgmmaDescAdd(kd, dev::sw128KStepBytes(BN, kk)), kk > 0);
    }
  };
  // O += P V of the tile in `stage` (issued, not waited for).
  auto issueValues = [&](int stage) {
    const uint64_t vd = dev::wgmmaDescAdd(vDesc, stage * kStageBytes);
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
      dev::wgmmaBf16_m64n128k16_rsT(
          o, pf[kk], dev::wgmmaDescAdd(vd, kk * 16 * 64 * sizeof(bf16)), 1);
  };
  // Online softmax of the scores of keys j0 .. j0 + BN, in two parts so
  // that the first can run while the previous tile's P V is in flight: the
  // scores become P (fp32, in sc), m and l move on, and corr[h] is what O's
  // row h must be scaled by; then, with P V retired, O is rescaled and P
  // packed into pf. On raw scores: max first, then exp2(x c - m c) with c =
  // scale * log2(e) > 0 (one FFMA per score).
  auto softmaxScores = [&](int j0, float(&corr)[2]) {
    if (j0 + BN > wgFull) { // some row of the warpgroup needs the mask
#pragma unroll
      for (int n = 0; n < NACC / 4; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = j0 + 8 * n + colT + (e & 1);
          if (key >= hiRow[e >> 1])
            sc[4 * n + e] = -INFINITY;
        }
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float mx = -INFINITY;
#pragma unroll
      for (int n = 0; n < NACC / 4; ++n)
        mx = fmaxf(mx, fmaxf(sc[4 * n + 2 * h], sc[4 * n + 2 * h + 1]));
      mx = fmaxf(mx, dev::shflXor(mx, 1));
      mx = fmaxf(mx, dev::shflXor(mx, 2));
      const float mNew = fmaxf(mRow[h], mx);
      const float mUse = mNew == -INFINITY ? 0.f : mNew * kScaleLog2;
      corr[h] = dev::exp2Fast(mRow[h] * kScaleLog2 - mUse);
      mRow[h] = mNew;
      float sum = 0.f;
#pragma unroll
      for (int n = 0; n < NACC / 4; ++n)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float pv =
              dev::exp2Fast(fmaf(sc[4 * n + 2 * h + e], kScaleLog2, -mUse));
          sc[4 * n + 2 * h + e] = pv;
          sum += pv;
        }
      lRow[h] = lRow[h] * corr[h] + sum;
    }
  };
  // Keys 16 kk .. 16 kk + 15 are accumulator column blocks 2 kk (registers
  // a0, a1) and 2 kk + 1 (a2, a3), rows lane / 4 (a0, a2) and + 8 (a1, a3):
  // the m16n8k16 A placement that wgmma's register A takes per warp.
  auto softmaxFinish = [&](const float(&corr)[2]) {
#pragma unroll
    for (int n = 0; n < 16; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        o[4 * n + e] *= corr[e >> 1];
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      pf[kk][0] = dev::packBf16x2(sc[8 * kk + 0], sc[8 * kk + 1]);
      pf[kk][1] = dev::packBf16x2(sc[8 * kk + 2], sc[8 * kk + 3]);
      pf[kk][2] = dev::packBf16x2(sc[8 * kk + 4], sc[8 * kk + 5]);
      pf[kk][3] = dev::packBf16x2(sc[8 * kk + 6], sc[8 * kk + 7]);
    }
  };
  auto softmax = [&](int j0) {
    float corr[2];
    softmaxScores(j0, corr);
    softmaxFinish(corr);
  };

  if constexpr (!Cfg::kWgPingPong) {
    // Each tile: S, softmax, P V in turn; the two warpgroups side by side.
#pragma unroll 1
    for (int it = 0; it < nTiles; ++it) {
      dev::cpAsyncWait<ST - 2>(); // tile it (and the query) have landed
      dev::fenceProxyAsyncShared();
      dev::syncThreads(); // ... for every thread; tile it - 1 is done
      if (it + ST - 1 < nTiles)
        loadTile(it + ST - 1, (it + ST - 1) % ST);
      dev::cpAsyncCommit();
      if constexpr (!Cfg::kCausal)
        appendFromTile(it, it % ST);

      const int j0 = lo + it * BN;
      if (!wgLive || j0 >= wgHi)
        continue; // no row of this warpgroup sees a key of the tile
      const int stage = it % ST;
      dev::wgmmaPin(sc);
      dev::wgmmaFence();
      issueScores(stage);
      dev::wgmmaCommit();
      dev::wgmmaWait<0>();
      dev::wgmmaPin(sc);
      softmax(j0);
      dev::wgmmaPin(o);
      dev::wgmmaPin(pf);
      dev::wgmmaFence();
      issueValues(stage);
      dev::wgmmaCommit();
      dev::wgmmaWait<0>();
      dev::wgmmaPin(o);
    }
  } else {
    // Ping-pong: a warpgroup issues S of this tile and P V of the previous
    // one as one burst (two commit groups), then runs this tile's softmax
    // while the other warpgroup's burst (issued after its own: named
    // barrier 1) keeps the tensor cores busy; the softmax starts as soon as
    // S is done, under its own P V, and only O's rescaling waits for it. The V
    // of tile it - 1 is read during iteration it, so the ring refills the stage
    // of tile it - 2 (ST >= 3, one tile ahead). With barriers the warpgroups
    // take strict turns on two named barriers (1: the first's burst is issued,
    // 2: the second's) instead of meeting at a __syncthreads: the first issues
    // its next burst as soon as its softmax is done.
    static_assert(!Cfg::kWgPingPong || (ST >= 3 && W::WG == 2),
                  "wgmma attention ping-pong: two warpgroups, three stages");
    // The bursts are issued unconditionally (ptxas serializes wgmma issued
    // on a path it cannot prove uniform): a tile past the warpgroup's
    // keys still gets its S (discarded) and contributes P = 0, as does the
    // first burst's P V.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        pf[kk][e] = 0u;
    // The stage of the tile whose P V is pending (at first tile 0's, with
    // P = 0).
    int prevStage = 0;
#pragma unroll 1
    for (int it = 0; it < nTiles; ++it) {
      const int j0 = lo + it * BN;
      const int stage = it % ST;
      if constexpr (kBarriers) {
        // Tile it (and the query) have landed, for every thread's copies.
        dev::mbarWait(&fullBar[stage], (it / ST) & 1);
        dev::fenceProxyAsyncShared();
      } else {
        dev::cpAsyncWait<0>(); // tile it (and the query) have landed
        dev::fenceProxyAsyncShared();
        dev::syncThreads(); // ... for every thread; P V of tile it - 2 done
      }
      // The ring's refill (tile it + 1 into the stage of tile it - 2) and
      // the cache stores are issued where they delay no burst: the first
      // warpgroup's after its burst, the second's while it waits for the
      // first's. With barriers, a refill waits until every thread is done
      // with the stage's previous tile.
      auto refill = [&] {
        const int next = it + 1;
        if constexpr (kBarriers) {
          if (next < nTiles) {
            if (next >= ST)
              dev::mbarWait(&emptyBar[next % ST], ((next / ST) & 1) ^ 1);
            loadTile(next, next % ST);
            dev::cpAsyncArriveNoinc(&fullBar[next % ST]);
          }
        } else {
          if (next < nTiles)
            loadTile(next, next % ST);
          dev::cpAsyncCommit();
        }
        if constexpr (!Cfg::kCausal)
          appendFromTile(it, stage);
      };
      dev::wgmmaPin(o);
      dev::wgmmaPin(sc);
      dev::wgmmaPin(pf);
      if (wg == 1) {
        refill();
        dev::namedBarrierSync(1, 2 * dev::kWarpgroupSize);
      } else if (kBarriers && it > 0) {
        // Strict turns without the block barrier: the second warpgroup's
        // previous burst is issued before this one.
        dev::namedBarrierSync(2, 2 * dev::kWarpgroupSize);
      }
      dev::wgmmaFence();
      issueScores(stage);
      dev::wgmmaCommit();
      issueValues(prevStage);
      dev::wgmmaCommit();
      if (wg == 0) {
        dev::namedBarrierArrive(1, 2 * dev::kWarpgroupSize);
        refill();
      } else if (kBarriers && it + 1 < nTiles) {
        dev::namedBarrierArrive(2, 2 * dev::kWarpgroupSize);
      }
      // S of tile it is done; the softmax's first part runs while P V of
      // tile it - 1 is still in flight (it reads and writes neither O nor
      // pf).
      dev::wgmmaWait<1>();
      dev::wgmmaPin(sc);
      const bool live = wgLive && j0 < wgHi;
      float corr[2] = {1.f, 1.f};
      if (live)
        softmaxScores(j0, corr);
      dev::wgmmaWait<0>();
      // P V of tile it - 1 is done: its stage goes back.
      if constexpr (kBarriers)
        if (it > 0)
          dev::mbarArrive(&emptyBar[(it - 1) % ST]);
      dev::wgmmaPin(o);
      dev::wgmmaPin(pf);
      if (live) {
        softmaxFinish(corr);
      } else {
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            pf[kk][e] = 0u;
      }
      prevStage = stage;
    }
    if (nTiles > 0) {
      dev::wgmmaPin(o);
      dev::wgmmaPin(pf);
      dev::wgmmaFence();
      issueValues(prevStage);
      dev::wgmmaCommit();
      dev::wgmmaWait<0>();
      dev::wgmmaPin(o);
    }
  }
  // Causal: the block's tokens (at most BN, their keys ending at hi) are
  // among its last two key tiles, whose stages no refill has touched.
  if constexpr (Cfg::kCausal)
    for (int t = max(0, nTiles - 2); t < nTiles; ++t)
      appendFromTile(t, t % ST);
  dev::cpAsyncWait<0>();

  // Epilogue: the 4 lanes of a row hold its partial sums.
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = lRow[h];
    l += dev::shflXor(l, 1);
    l += dev::shflXor(l, 2);
    const int r = rowA + 8 * h;
    if (r >= rowsHere)
      continue;
    const float inv = l > 0.f ? 1.f / l : 0.f;
    bf16 *out = attnOutRow<Cfg>(p, s, b, g, r0 + r);
#pragma unroll
    for (int n = 0; n < 16; ++n)
      *reinterpret_cast<uint32_t *>(out + 8 * n + colT) =
          dev::packBf16x2(o[4 * n + 2 * h] * inv, o[4 * n + 2 * h + 1] * inv);
  }
#else
  (void)p;
  __trap();
#endif
}

} // namespace kern
} // namespace braid

/// The wgmma prefill entry of one attention specialization (next to
/// BRAID_ATTENTION_ENTRIES' _main).
#define BRAID_ATTENTION_WG_ENTRY(PREFIX, CFG)                                  \
  extern "C" __global__ void __launch_bounds__(                                \
      CFG::kWgWarpgroups * braid::dev::kWarpgroupSize, 1)                      \
      PREFIX##_wg(BraidKernelParams p) {                                       \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::attentionWgMain<CFG>(p);                                      \
  }

#endif // BRAID_TARGETS_COMMON_KERNELS_ATTENTIONHOPPER_CUH
