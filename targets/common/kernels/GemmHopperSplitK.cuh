//===- GemmHopperSplitK.cuh - decode GEMMs on TMA and wgmma ---------------===//
//
// Decode above 16 rows reads each weight byte once and does little math
// with it: the GEMM is a weight stream. tcGemmSplitK's 128 threads copy
// both tiles of every stage with cp.async and can request only STAGES - 1
// weight tiles before the wait for the previous kernel. Here one thread of
// a producer warp requests whole tiles by TMA (the consumers issue no
// copies), the weight tiles of the whole first round of the ring before
// that wait and x's after it, and one consumer warpgroup multiplies them
// with wgmma m64nBNk16 as they land. Unsplit (SPLIT = 1), a block stores
// its tile from the registers; otherwise the SPLIT blocks of a cluster
// share the tile's k-tiles and sum their fp32 partial tiles through
// distributed shared memory as tcGemmSplitK does (ranks in order: the sum
// does not depend on timing).
//
// Included by Gemm.cuh (CUDA only) after GemmHopper.cuh, whose WgMma,
// mbarrier and TMA helpers and epilogues it uses; not a header of its own.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPERSPLITK_CUH
#define BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPERSPLITK_CUH

#ifndef BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPER_CUH
#error "GemmHopperSplitK.cuh is included by Gemm.cuh after GemmHopper.cuh"
#endif

namespace braid {
namespace dev {

/// 64 x BN tiles (BN = 64, 128 or 256 weight rows), k-tiles of 64, a
/// STAGES-deep ring, SPLIT blocks a tile (the cluster). 160 threads: the
/// consumer warpgroup, then the producer warp. The producer refills the
/// ring BURST stages at a time (consecutive k-tiles: longer runs of each
/// weight row requested together).
template <int BN_, int STAGES_, int SPLIT_, int BURST_ = 1>
struct TmaSplitKConfig {
  static constexpr int BM = 64, BN = BN_, BK = 64, STAGES = STAGES_;
  static constexpr int SPLIT = SPLIT_, BURST = BURST_;
  static constexpr int kThreads = kWarpgroupSize + kWarpSize;
  static constexpr int kStageBytes = (BM + BN) * BK * 2;
  static constexpr int LDR = BN + 8; // partial-tile row (floats), padded
  static constexpr int kRingBytes = STAGES * kStageBytes;
  static constexpr int kPartialBytes = BM * LDR * 4;
  /// The ring (later the partial tile), aligned to 1024 bytes at run time
  /// (+ 1 KiB), then a full and an empty mbarrier per stage.
  static constexpr int kBarrierOffset =
      kRingBytes > kPartialBytes ? kRingBytes : kPartialBytes;
  static constexpr int kSharedBytes = kBarrierOffset + 1024 + 16 * STAGES;
  static_assert(BN == 64 || BN == 128 || BN == 256, "wgmma tile N");
  static_assert(SPLIT >= 1 && SPLIT <= 8, "portable cluster size is 1..8");
  static_assert(STAGES >= 2, "one stage lands while one is read");
  static_assert(BURST >= 1 && BURST <= STAGES / 2, "a burst is half the ring");
  static_assert(kSharedBytes <= 227 * 1024, "the ring exceeds shared memory");
};

/// The producer of tmaSplitK (lane 0 of its warp): k-tiles [kb, ke) of the
/// tile at (m0, n0), k-tile kb + i into stage i % STAGES. The weight tiles
/// of the first round are requested before the wait for the previous
/// kernel (no kernel writes weights), x's after it.
template <class Cfg, class Ops>
BRAID_DEVICE void tmaSplitKProduce(const BraidTensorMaps &maps, int m0, int n0,
                                   int kb, int ke, typename Ops::T *sA,
                                   typename Ops::T *sB, uint64_t *full,
                                   uint64_t *empty) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, STAGES = Cfg::STAGES;
  constexpr bool kGlu = IsGluOps<Ops>::value;
  constexpr int SR = kGlu ? BN / 2 : BN; // rows of one B box
  const void *mapA = &maps.maps[0], *mapB = &maps.maps[1];
  prefetchTensorMap(mapA);
  prefetchTensorMap(mapB);
  const int nk = ke - kb;
  auto loadB = [&](int i) {
    const int s = i % STAGES, k = (kb + i) * BK;
    typename Ops::T *b = sB + s * BN * BK;
    if constexpr (kGlu) { // gate rows over up rows
      tmaLoad2d(b, mapB, k, Ops::kGate + n0 / 2, &full[s]);
      tmaLoad2d(b + SR * BK, mapB, k, Ops::kUp + n0 / 2, &full[s]);
    } else {
      tmaLoad2d(b, mapB, k, n0, &full[s]);
    }
  };
  auto loadA = [&](int i) {
    const int s = i % STAGES;
    tmaLoad2d(sA + s * BM * BK, mapA, (kb + i) * BK, m0, &full[s]);
  };
  const int first = nk < STAGES ? nk : STAGES;
  for (int i = 0; i < first; ++i) {
    mbarArriveExpectTx(&full[i], Cfg::kStageBytes);
    loadB(i);
  }
  waitForPrerequisiteGrids();
  for (int i = 0; i < first; ++i)
    loadA(i);
#pragma unroll 1
  for (int i = first; i < nk; i += Cfg::BURST) {
    const int end = min(i + Cfg::BURST, nk);
    for (int j = i; j < end; ++j)
      mbarWait(&empty[j % STAGES], ((j / STAGES) & 1) ^ 1);
    for (int j = i; j < end; ++j) {
      mbarArriveExpectTx(&full[j % STAGES], Cfg::kStageBytes);
      loadB(j);
      loadA(j);
    }
  }
}

/// The consumer warpgroup of tmaSplitK: wgmma over the block's nk k-tiles
/// as they land, one k-tile in flight, each stage handed back (one arrival
/// per warp) once its wgmma retired.
template <class Cfg>
BRAID_DEVICE void tmaSplitKConsume(int nk, const bf16 *sA, const bf16 *sB,
                                   uint64_t *full, uint64_t *empty,
                                   float (&acc)[WgMma<Cfg::BN>::R]) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, STAGES = Cfg::STAGES;
#pragma unroll
  for (int i = 0; i < WgMma<BN>::R; ++i)
    acc[i] = 0.0f;
  const bool arrives = laneId() == 0;
  int held = 0;
#pragma unroll 1
  for (int i = 0; i < nk; ++i) {
    const int s = i % STAGES;
    mbarWait(&full[s], (i / STAGES) & 1);
    wgmmaKTile<BN>(acc, sA + s * BM * BK, sB + s * BN * BK);
    wgmmaWait<1>();
    if (i > 0 && arrives)
      mbarArrive(&empty[held]);
    held = s;
  }
  wgmmaWait<0>();
}

/// Which part of the split tile's epilogue a thread of the cluster owns:
/// output column pairs i = rank * kThreads + tid + j * SPLIT * kThreads,
/// j < kIters, of the tile's rows * kPairs (pair i is row i / kPairs,
/// columns 2 (i % kPairs) + {0, 1}). A gated MLP's partial columns
/// c < BN / 2 are gate rows n0 / 2 + c, columns c + BN / 2 their up rows.
/// With a residual (Ops with epilogue loads) the residual pairs are read
/// into registers long before the sum: each thread's reads go out
/// together, so the epilogue's one DRAM round trip overlaps the main loop
/// instead of following the cluster barrier once per pair.
template <class Cfg, class Ops> struct TmaSplitKShare {
  static constexpr bool kGlu = IsGluOps<Ops>::value;
  static constexpr int kPairs = kGlu ? Cfg::BN / 4 : Cfg::BN / 2;
  static constexpr int kStride = Cfg::SPLIT * Cfg::kThreads;
  static constexpr int kIters = ceilDiv(Cfg::BM * kPairs, kStride);
  static constexpr bool kLoads = EpilogueLoads<Ops>::value && !kGlu;
  using Loaded = typename LoadedOf<Ops>::type;

  int first; // the thread's first pair
  int end;   // rows * kPairs
  Loaded residual[kLoads ? kIters : 1];

  BRAID_DEVICE TmaSplitKShare(int rows, int rank, int tid)
      : first(rank * Cfg::kThreads + tid), end(rows * kPairs) {}

  /// Reads the residual pairs of the thread's share (after the wait for
  /// the previous kernel, which wrote the residual).
  BRAID_DEVICE void loadResidual(const Ops &ops, int m0, int n0) {
    if constexpr (kLoads) {
#pragma unroll
      for (int j = 0; j < kIters; ++j) {
        const int i = first + j * kStride;
        const int c = n0 + 2 * (i % kPairs);
        if (i < end && c + 1 < Ops::N)
          residual[j] = ops.load2(m0 + i / kPairs, c);
      }
    }
  }

  /// Sums the cluster's partial tiles (`part`: this block's, row stride
  /// Cfg::LDR) over the share, every read issued before the first store,
  /// and stores the outputs.
  BRAID_DEVICE void reduce(const Ops &ops, int M, int m0, int n0,
                           const float *part) const {
    constexpr int S = Cfg::SPLIT, BN = Cfg::BN, LDR = Cfg::LDR;
    auto sum = [&](int r, int c) {
      return clusterSumPair<S>(part + r * LDR + c);
    };
    float2 t[kIters][kGlu ? 2 : 1];
#pragma unroll
    for (int j = 0; j < kIters; ++j) {
      const int i = first + j * kStride;
      if (i >= end)
        break;
      const int r = i / kPairs, c = 2 * (i % kPairs);
      t[j][0] = sum(r, c);
      if constexpr (kGlu)
        t[j][1] = sum(r, c + BN / 2);
    }
#pragma unroll
    for (int j = 0; j < kIters; ++j) {
      const int i = first + j * kStride;
      if (i >= end)
        break;
      const int r = m0 + i / kPairs, c = 2 * (i % kPairs);
      if constexpr (kGlu) {
        constexpr int I = Ops::N / 2;
        const float2 g = t[j][0], u = t[j][1];
        const int gj = n0 / 2 + c;
        if (gj + 1 < I)
          ops.storeGluPair(r, gj, g.x, u.x, g.y, u.y);
        else if (gj < I)
          ops.store2(r, 2 * gj, g.x, u.x);
      } else if constexpr (kLoads) {
        if (n0 + c + 1 < Ops::N)
          ops.store2(r, n0 + c, t[j][0].x, t[j][0].y, residual[j]);
        else
          storePairOut(ops, r, n0 + c, t[j][0].x, t[j][0].y, M);
      } else {
        storePairOut(ops, r, n0 + c, t[j][0].x, t[j][0].y, M);
      }
    }
  }
};

/// Decode GEMM with Cfg = TmaSplitKConfig: grid (ceil(N / BN) * SPLIT,
/// ceil(M / 64)) in clusters of (SPLIT, 1, 1), Cfg::kThreads threads,
/// Cfg::kSharedBytes of dynamic shared memory; maps[0] holds A as [M, K]
/// (box 64 x 64), maps[1] B as [N, K] (box 64 x BN, a gated MLP's 64 x
/// BN / 2). The entry lets dependents launch first and waits in here
/// (BRAID_KERNEL_PROLOGUE_READS_FIRST: it reads weights before the wait).
/// sm_90a only.
template <class Cfg, class Ops>
BRAID_DEVICE void tmaSplitK(const Ops &ops, int M,
                            const BraidTensorMaps &maps) {
#if defined(BRAID_HAS_WGMMA)
  using T = typename Ops::T;
  static_assert(std::is_same<T, bf16>::value, "wgmma path takes bf16");
  constexpr int S = Cfg::SPLIT, BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK;
  constexpr int STAGES = Cfg::STAGES, KT = ceilDiv(Ops::K, BK);
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int tn = blockIdX() / S, tm = blockIdY();
  const int rank = S > 1 ? clusterRank() : 0, tid = threadId();
  const int m0 = tm * BM, n0 = tn * BN, rows = min(M - m0, BM);
  const int kb = rank * KT / S, ke = (rank + 1) * KT / S;

  char *base = reinterpret_cast<char *>(
      (reinterpret_cast<uintptr_t>(braidGemmSmem) + 1023) & ~uintptr_t(1023));
  T *sA = reinterpret_cast<T *>(base);
  T *sB = sA + STAGES * BM * BK;
  uint64_t *full = reinterpret_cast<uint64_t *>(base + Cfg::kBarrierOffset);
  uint64_t *empty = full + STAGES;
  if (tid == 0) {
    for (int s = 0; s < STAGES; ++s) {
      mbarInit(&full[s], 1);
      mbarInit(&empty[s], kWarpgroupSize / kWarpSize);
    }
  }
  syncThreads();

  float *part = reinterpret_cast<float *>(base);
  TmaSplitKShare<Cfg, Ops> share(rows, rank, tid);
  if (tid >= kWarpgroupSize) { // the producer warp
    if (tid == kWarpgroupSize)
      tmaSplitKProduce<Cfg, Ops>(maps, m0, n0, kb, ke, sA, sB, full, empty);
    else
      waitForPrerequisiteGrids();
    if constexpr (S > 1)
      share.loadResidual(ops, m0, n0);
  } else {
    waitForPrerequisiteGrids();
    if constexpr (S > 1)
      share.loadResidual(ops, m0, n0);
    float acc[WgMma<BN>::R];
    tmaSplitKConsume<Cfg>(ke - kb, sA, sB, full, empty, acc);
    const int lane = laneId(), warp = warpId();
    if constexpr (S == 1) { // the whole sum: stored from the registers
      const int row = m0 + warp * 16 + (lane >> 2);
      if constexpr (IsGluOps<Ops>::value)
        wsStoreGluHalves<BN>(ops, M, row, n0 / 2, acc);
      else
        wgStoreRows<BN>(ops, M, row, n0, acc);
      return;
    }
    // Every warp's wgmma has read the ring before it holds the partials.
    namedBarrierSync(1, kWarpgroupSize);
#pragma unroll
    for (int j = 0; j < BN / 8; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = warp * 16 + (lane >> 2) + 8 * h;
        *reinterpret_cast<float2 *>(part + r * Cfg::LDR + 8 * j +
                                    2 * (lane & 3)) =
            make_float2(acc[4 * j + 2 * h], acc[4 * j + 2 * h + 1]);
      }
  }
  if constexpr (S > 1) {
    clusterSyncDiverged();
    share.reduce(ops, M, m0, n0, part);
    // The other blocks read this one's partials until here.
    clusterSyncDiverged();
  }
#else
  __trap();
#endif
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPERSPLITK_CUH
