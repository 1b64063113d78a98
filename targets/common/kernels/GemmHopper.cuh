//===- GemmHopper.cuh - the sm_90a (wgmma) GEMM engines -------------------===//
//
// The Hopper engines of Gemm.cuh (bf16 in, fp32 accumulate, wgmma on tiles
// in the 128-byte swizzle layout), with the Ops interface of Gemm.cuh:
//
//   * wgGemm: every thread loads (cp.async into a STAGES-deep ring, one
//     __syncthreads per k-tile) and every warpgroup multiplies its 64 rows
//     of the tile.
//   * wsGemm: warp-specialized. One producer warpgroup only moves data
//     (cp.async completing on a per-stage "full" mbarrier), two consumer
//     warpgroups only run wgmma and the epilogue and hand each stage back
//     on its "empty" mbarrier once their wgmma of it retired; no block-wide
//     barrier in the main loop. With a fixed grid it is persistent: the
//     producer runs ahead into the next tile during the epilogue; ping-pong
//     gives the two consumers whole tiles in turn.
//   * tmaGemm: wsGemm whose producer is one thread issuing tensor-memory-
//     accelerator copies (cp.async.bulk.tensor, 128-byte swizzle) of whole
//     A and B tiles through the tensor maps the runtime encodes for the
//     launch (kernel_abi.h BraidTensorMaps: maps[0] = A rows [M, K],
//     maps[1] = B rows [N, K]), completing on the stage's full mbarrier by
//     transaction bytes. Edges (rows >= M, columns >= N or K) arrive as
//     zeros. A gated MLP's B tile is its gate rows over its up rows (two
//     copies), and the epilogue pairs column c with c + BN / 2. The
//     consumers' epilogues (from the registers, staged through the idle
//     ring, a residual copied in under the main loop, ping-pong output
//     slots) are GemmHopperEpilogue.cuh's.
//     Clusters of 2 or 4 blocks can share B tiles by TMA multicast.
//   * tmaSplitK (decode, 17 rows and more; GemmHopperSplitK.cuh, included
//     by Gemm.cuh after this file): 64-row tiles through a TMA ring filled
//     by a producer warp, one consumer warpgroup, optionally split over the
//     k-tiles of a cluster's blocks.
//
// Included by Gemm.cuh (CUDA only) after the mma.sync engine, whose swizzle
// and rasterizeId it uses; not a header of its own.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPER_CUH
#define BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPER_CUH

#ifndef BRAID_TARGETS_COMMON_KERNELS_GEMM_CUH
#error "GemmHopper.cuh is included by Gemm.cuh"
#endif

namespace braid {
namespace dev {

//===----------------------------------------------------------------------===//
// Hopper GEMM (sm_90a: wgmma, bf16 in, fp32 accumulate)
//===----------------------------------------------------------------------===//

/// BM = 64 * warpgroups rows, BN = 128 or 256 columns, BK = 64 (one
/// 128-byte swizzle atom per row), STAGES-deep cp.async ring.
template <int BM_, int BN_, int STAGES_> struct WgConfig {
  static constexpr int BM = BM_, BN = BN_, BK = 64, STAGES = STAGES_;
  static constexpr int kWarpgroups = BM / 64;
  static constexpr int kThreads = kWarpgroups * kWarpgroupSize;
  static constexpr int kStageBytes = (BM + BN) * BK * 2;
  /// + 1 KiB: the ring is aligned to 1024 bytes at run time.
  static constexpr int kSharedBytes = STAGES * kStageBytes + 1024;
  static_assert(BN == 128 || BN == 256, "wgmma tile N must be 128 or 256");
  static_assert(BM % 64 == 0, "BM must be a multiple of 64");
  static_assert(STAGES >= 3, "the ring keeps one wgmma group in flight");
  static_assert((BM * 8) % kThreads == 0 && (BN * 8) % kThreads == 0,
                "tile chunks must divide over the block");
};

template <int BN> struct WgMma;
template <> struct WgMma<256> {
  static constexpr int R = 128;
  static BRAID_DEVICE void run(float (&d)[R], uint64_t a, uint64_t b) {
    wgmmaBf16_m64n256k16(d, a, b, 1);
  }
};
template <> struct WgMma<128> {
  static constexpr int R = 64;
  static BRAID_DEVICE void run(float (&d)[R], uint64_t a, uint64_t b) {
    wgmmaBf16_m64n128k16(d, a, b, 1);
  }
};
template <> struct WgMma<64> {
  static constexpr int R = 32;
  static BRAID_DEVICE void run(float (&d)[R], uint64_t a, uint64_t b) {
    wgmmaBf16_m64n64k16(d, a, b, 1);
  }
};

/// Issues the wgmma of one k-tile of 64 as one committed group: acc (64 x
/// BN) += a (64 rows) times b (BN rows), both K-major in the 128-byte
/// swizzle layout.
template <int BN>
BRAID_DEVICE void wgmmaKTile(float (&acc)[WgMma<BN>::R], const bf16 *a,
                             const bf16 *b) {
  const uint64_t da = wgmmaDescSw128(a), db = wgmmaDescSw128(b);
  wgmmaFence();
#pragma unroll
  for (int j = 0; j < 64 / 16; ++j)
    WgMma<BN>::run(acc, wgmmaDescAdd(da, j * 16 * sizeof(bf16)),
                   wgmmaDescAdd(db, j * 16 * sizeof(bf16)));
  wgmmaCommit();
}

/// Whether `Ops` reads an input of its own in the epilogue (a residual)
/// through load2 / store2(..., Loaded).
template <class Ops, class = void> struct EpilogueLoads : std::false_type {};
template <class Ops>
struct EpilogueLoads<Ops, std::void_t<decltype(Ops::kEpilogueLoads)>>
    : std::integral_constant<bool, Ops::kEpilogueLoads> {};

/// The epilogue of one 64-row wgmma block: `row` is the thread's first row
/// (it also holds row + 8), columns n0 + 8 j + 2 (lane % 4) + {0, 1} are
/// registers 4 j + 2 h + {0, 1}. An Ops with epilogue loads gets the reads
/// of a chunk of columns issued together before their stores (one round
/// trip per chunk instead of one per store).
template <int BN, class Ops>
BRAID_DEVICE void wgStoreRows(const Ops &ops, int M, int row, int n0,
                              const float (&acc)[WgMma<BN>::R]) {
  constexpr int N = Ops::N;
  const int lane = laneId();
  if constexpr (EpilogueLoads<Ops>::value) {
    constexpr int CH = 4; // column groups per chunk: 8 pairs in flight
    static_assert((BN / 8) % CH == 0, "whole chunks");
#pragma unroll
    for (int j0 = 0; j0 < BN / 8; j0 += CH) {
      typename Ops::Loaded in[CH][2];
#pragma unroll
      for (int j = 0; j < CH; ++j)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int col = n0 + (j0 + j) * 8 + (lane & 3) * 2;
          const int r = row + h * 8;
          if (col + 1 < N && r < M)
            in[j][h] = ops.load2(r, col);
        }
#pragma unroll
      for (int j = 0; j < CH; ++j)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int col = n0 + (j0 + j) * 8 + (lane & 3) * 2;
          const int r = row + h * 8;
          const float *v = &acc[4 * (j0 + j) + 2 * h];
          if (r >= M || col >= N)
            continue;
          if (col + 1 < N)
            ops.store2(r, col, v[0], v[1], in[j][h]);
          else
            ops.store(r, col, v[0]);
        }
    }
  } else {
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) {
      const int col = n0 + j * 8 + (lane & 3) * 2;
      if (col >= N)
        continue;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = row + h * 8;
        if (r >= M)
          continue;
        if (col + 1 < N)
          ops.store2(r, col, acc[4 * j + 2 * h], acc[4 * j + 2 * h + 1]);
        else
          ops.store(r, col, acc[4 * j + 2 * h]);
      }
    }
  }
}

/// One BM x BN tile at (m0, n0) with rows [m0, mEnd). Every thread loads
/// (cp.async into the swizzled ring); each warpgroup multiplies its 64 rows
/// by the whole B tile with wgmma, keeping one k-tile of wgmma in flight
/// while the ring is refilled two k-tiles ahead.
template <class Cfg, class Ops>
BRAID_DEVICE void wgGemmTile(const Ops &ops, int m0, int mEnd, int n0,
                             char *smemRaw) {
  using T = typename Ops::T;
  static_assert(std::is_same<T, bf16>::value, "wgmma path takes bf16");
  static_assert(Ops::kVecA && Ops::kVecB, "wgmma path needs 16-byte rows");
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK;
  constexpr int STAGES = Cfg::STAGES, THREADS = Cfg::kThreads;
  constexpr int CPR = BK / 8;
  constexpr int N = Ops::N, K = Ops::K;
  constexpr int KT = ceilDiv(K, BK);
  constexpr int AC = BM * CPR / THREADS, BC = BN * CPR / THREADS;
  constexpr int R = WgMma<BN>::R;

  char *base = reinterpret_cast<char *>(
      (reinterpret_cast<uintptr_t>(smemRaw) + 1023) & ~uintptr_t(1023));
  T *sA = reinterpret_cast<T *>(base);
  T *sB = sA + STAGES * BM * BK;
  const int tid = threadId();

  typename Ops::ARef aRef[AC];
  bool aOk[AC];
  int aDst[AC], aCol[AC];
#pragma unroll
  for (int i = 0; i < AC; ++i) {
    const int idx = tid + i * THREADS, r = idx / CPR, c = idx % CPR;
    aOk[i] = m0 + r < mEnd;
    aRef[i] = ops.aRow(aOk[i] ? m0 + r : m0);
    aDst[i] = swizzle<BK>(r, c);
    aCol[i] = c * 8;
  }
  const T *bPtr[BC];
  bool bOk[BC];
  int bDst[BC], bCol[BC];
#pragma unroll
  for (int i = 0; i < BC; ++i) {
    const int idx = tid + i * THREADS, r = idx / CPR, c = idx % CPR;
    bOk[i] = n0 + r < N;
    bPtr[i] = ops.bRow(bOk[i] ? n0 + r : 0);
    bDst[i] = swizzle<BK>(r, c);
    bCol[i] = c * 8;
  }
  auto loadStage = [&](int stage, int k0) {
    T *a = sA + stage * BM * BK;
    T *b = sB + stage * BN * BK;
#pragma unroll
    for (int i = 0; i < AC; ++i) {
      const int k = k0 + aCol[i];
      const bool ok = aOk[i] && k < K;
      cpAsync16(a + aDst[i], ops.aAt(aRef[i], ok ? k : 0), ok);
    }
#pragma unroll
    for (int i = 0; i < BC; ++i) {
      const int k = k0 + bCol[i];
      const bool ok = bOk[i] && k < K;
      cpAsync16(b + bDst[i], bPtr[i] + (ok ? k : 0), ok);
    }
  };

  const int wg = warpgroupId(); // uniform: the descriptors too
  float acc[R];
#pragma unroll
  for (int i = 0; i < R; ++i)
    acc[i] = 0.0f;

#pragma unroll
  for (int s = 0; s < STAGES - 2; ++s) {
    if (s < KT)
      loadStage(s, s * BK);
    cpAsyncCommit();
  }
#pragma unroll 1
  for (int kt = 0; kt < KT; ++kt) {
    cpAsyncWait<STAGES - 3>();
    fenceProxyAsyncShared();
    syncThreads();
    // The stage of k-tile kt - 2: its wgmma finished in every warpgroup
    // before the barrier (wgmmaWait<1> below).
    if (kt + STAGES - 2 < KT)
      loadStage((kt + STAGES - 2) % STAGES, (kt + STAGES - 2) * BK);
    cpAsyncCommit();

    const int stage = kt % STAGES;
    wgmmaKTile<BN>(acc, sA + stage * BM * BK + wg * 64 * BK,
                   sB + stage * BN * BK);
    wgmmaWait<1>();
  }
  wgmmaWait<0>();
  cpAsyncWait<0>();

  // Accumulator layout: warp w of the warpgroup holds rows 16 w + g and
  // 16 w + g + 8 (g = lane / 4); register 4 j + {0, 1} columns 8 j +
  // 2 (lane % 4) + {0, 1} of the first row, 4 j + {2, 3} of the second.
  const int row0 = m0 + wg * 64 + ((tid % kWarpgroupSize) / kWarpSize) * 16 +
                   (laneId() >> 2);
  wgStoreRows<BN>(ops, mEnd, row0, n0, acc);
}

/// Grid (ceil(N / BN), ceil(M / BM)), Cfg::kThreads threads,
/// Cfg::kSharedBytes of dynamic shared memory. sm_90a only.
template <class Cfg, class Ops>
BRAID_DEVICE void wgGemm(const Ops &ops, int M) {
#if defined(BRAID_HAS_WGMMA)
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int tilesN = ceilDiv(Ops::N, Cfg::BN);
  const int tilesM = ceilDiv(M, Cfg::BM);
  int tm, tn;
  rasterize<8>(tilesN, tilesM, tm, tn);
  if (tm >= tilesM)
    return;
  wgGemmTile<Cfg>(ops, tm * Cfg::BM, M, tn * Cfg::BN, braidGemmSmem);
#else
  __trap();
#endif
}

//===----------------------------------------------------------------------===//
// Warp-specialized Hopper GEMM
//===----------------------------------------------------------------------===//
//
// 128 x BN tiles, k-tiles of 64 through a STAGES-deep ring: the producer
// streams the k-tiles of the block's tiles in order, k-tile g of the
// stream into stage g % STAGES. Each stage has two mbarriers: full[s]
// completes when the producer's 128 threads' cp.async copies of the stage
// have landed (each thread's cp.async.mbarrier.arrive.noinc is one of its
// 128 expected arrivals); empty[s] when every consumer warp that reads the
// stage has retired its wgmma of it. Phases alternate per round of the
// ring: k-tile g waits for the phase of parity (g / STAGES) % 2 of full[s];
// the producer waits for the previous round's empty phase, which on a
// fresh barrier counts as done. Consumers keep one k-tile of wgmma in
// flight and hand back the stage of the k-tile before it.

/// Sets the registers per thread of the executing warpgroup (setmaxnreg:
/// all its warps execute it; needs the kernel's launch bounds).
template <int Regs> BRAID_DEVICE void warpgroupRegsDec() {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Regs));
#endif
}
template <int Regs> BRAID_DEVICE void warpgroupRegsInc() {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Regs));
#endif
}

/// One arrival on `bar` that also expects `bytes` more transaction bytes
/// in its current phase (the TMA copies complete them).
BRAID_DEVICE void mbarArriveExpectTx(uint64_t *bar, uint32_t bytes) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(
                   sharedAddress(bar)),
               "r"(bytes)
               : "memory");
#endif
}
/// Brings the tensor map at `map` (a kernel parameter) into the TMA unit's
/// cache before its first use.
BRAID_DEVICE void prefetchTensorMap(const void *map) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(map) : "memory");
#endif
}
/// Copies the box of `map` at (inner, outer) = (c0, c1) into shared `dst`
/// (1024-byte aligned for the 128-byte swizzle) and completes its bytes on
/// `bar`.
BRAID_DEVICE void tmaLoad2d(void *dst, const void *map, int c0, int c1,
                            uint64_t *bar) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile"
      ".mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
          sharedAddress(dst)),
      "l"(map), "r"(c0), "r"(c1), "r"(sharedAddress(bar))
      : "memory");
#endif
}

/// tmaLoad2d for a thread-block cluster: the box lands at `dst`'s offset in
/// the shared memory of every block of the cluster whose bit is set in
/// `ctaMask` and completes its bytes on the barrier at `bar`'s offset in
/// each of them. One L2 read feeds them all.
BRAID_DEVICE void tmaLoad2dMulticast(void *dst, const void *map, int c0, int c1,
                                     uint64_t *bar, uint16_t ctaMask) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile"
               ".mbarrier::complete_tx::bytes.multicast::cluster"
               " [%0], [%1, {%2, %3}], [%4], %5;\n" ::"r"(sharedAddress(dst)),
               "l"(map), "r"(c0), "r"(c1), "r"(sharedAddress(bar)), "h"(ctaMask)
               : "memory");
#endif
}
/// One arrival on the barrier at `bar`'s offset in the shared memory of
/// block `rank` of the cluster. Release at CTA scope, as a local arrive:
/// the stage it hands back was read by this block's wgmma, and the
/// producer that waits for it only writes it through the async proxy.
/// (.release.cluster costs a cluster-wide fence per arrive: the 2-block
/// TMA GEMM took 1.5x the time.)
BRAID_DEVICE void mbarArriveCluster(uint64_t *bar, int rank) {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("{\n.reg .b32 remote;\n"
               "mapa.shared::cluster.u32 remote, %0, %1;\n"
               "mbarrier.arrive.shared::cluster.b64 _, [remote];\n}\n" ::"r"(
                   sharedAddress(bar)),
               "r"(rank)
               : "memory");
#endif
}
/// Makes this thread's mbarrier initializations visible to the cluster
/// (before the cluster barrier that publishes them).
BRAID_DEVICE void fenceMbarrierInitCluster() {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}
/// clusterSync for threads that may not be converged (warp 0 of the TMA
/// producer: its thread 0 leaves its loop after the others).
BRAID_DEVICE void clusterSyncDiverged() {
#if defined(BRAID_HAS_WGMMA)
  asm volatile("barrier.cluster.arrive.release;\n"
               "barrier.cluster.wait.acquire;\n" ::
                   : "memory");
#endif
}

/// Whether `Ops` is a gated MLP (LinearGluOps: B row pairs gate / up).
template <class Ops, class = void> struct IsGluOps : std::false_type {};
template <class Ops>
struct IsGluOps<Ops, std::void_t<decltype(Ops::kGate)>> : std::true_type {};

/// Columns a row sum of squares covers (RowSumSqOps, RowNormOps): fixed,
/// so that producer and consumer launches agree whatever their tiles.
constexpr int kRowSumGroup = 128;

/// An Ops whose A rows the GEMM rms-normalizes, the norm's weight already
/// folded into B's columns at load (passes/PrologueFusion.h: attribute
/// `norm_eps` without a norm weight), from the partial sums of squares of
/// its rows that the launch producing A wrote (operand 5; RowSumSqOps):
/// out[m, n] = rsqrt(sum_g rowSums[m][g] / K + eps) * (A B^T)[m, n], then
/// Base's epilogue. The consumers scale their accumulators before the
/// epilogue (wsScaleRows): the GEMM reads the un-normalized rows, and no
/// launch writes a normalized copy or reads the rows twice.
template <class Base> struct RowNormOps : Base {
  static constexpr bool kRowNorm = true;
  const float *rowSums; // [M][ceil(K / kRowSumGroup)]
  float normEps;
};
template <class Ops, class = void> struct IsRowNormOps : std::false_type {};
template <class Ops>
struct IsRowNormOps<Ops, std::void_t<decltype(Ops::kRowNorm)>>
    : std::true_type {};

/// An Ops that also writes, for each output row m, the sums of squares of
/// its stored values over each group of kRowSumGroup columns: rowSums[m][g]
/// (attribute `row_sumsq`, the launch's last result), for the next launch's
/// RowNormOps. The staged residual epilogue sums the rows it stores
/// (wsStoreSlotRows); other engines run rowSumSq (Norms.cuh) after the GEMM.
template <class Base> struct RowSumSqOps : Base {
  static constexpr bool kRowSumSq = true;
  float *rowSums; // [M][ceil(N / kRowSumGroup)]
};
template <class Ops, class = void> struct IsRowSumSqOps : std::false_type {};
template <class Ops>
struct IsRowSumSqOps<Ops, std::void_t<decltype(Ops::kRowSumSq)>>
    : std::true_type {};

/// BM = 128 rows, BN = 128 or 256, BK = 64; one producer and two consumer
/// warpgroups: 384 threads. Cooperative (PINGPONG = false): both consumers
/// work on every tile, 64 rows each. Ping-pong: each consumer computes
/// whole tiles (all 128 rows), the two taking the block's tiles in turn, so
/// that one's epilogue overlaps the other's main loop (needs a persistent
/// grid; BN = 128 keeps the accumulators at 128 registers). The grid picks
/// the schedule: one block per tile, or fewer blocks that each walk tiles
/// with the grid's stride (persistent).
template <int BM_, int BN_, int STAGES_, bool PINGPONG_ = false,
          bool SETMAXNREG_ = false, bool TMA_ = false, int CLUSTER_M_ = 1,
          bool PERSISTENT_ = false, bool SLOTS_ = false>
struct WsConfig {
  static constexpr int BM = BM_, BN = BN_, BK = 64, STAGES = STAGES_;
  static constexpr bool kPingPong = PINGPONG_, kSetMaxNReg = SETMAXNREG_;
  /// Ping-pong with TMA: each consumer finishes its tile into a slot of
  /// its own, past the ring and a 1 KiB block of barriers, and a producer
  /// warp stores it (wsPingFinish, wsPingSlotWarp).
  static constexpr bool kSlots = SLOTS_;
  /// The producer is one thread issuing TMA copies (tmaGemm).
  static constexpr bool kTma = TMA_;
  /// Blocks of a cluster (CLUSTER_M, 1, 1) that compute vertically adjacent
  /// tiles (rows m0, m0 + BM, ...) of the same columns: each block's
  /// producer loads 1 / CLUSTER_M of the shared B tile and multicasts it to
  /// all of them, so the cluster reads B from L2 once.
  static constexpr int kClusterM = CLUSTER_M_;
  /// Cooperative TMA tiles with a grid of one block per tile may stage
  /// their epilogue through the ring, idle by then (kStagesEpilogue,
  /// wsStoreStaged). A persistent
  /// grid (its producer already loading the next tile) or ping-pong (the
  /// other consumer still reading the ring) store from the registers.
  static constexpr bool kStagedEpilogue = kTma && !kPingPong && !PERSISTENT_;
  static constexpr int kConsumers = 2;
  static constexpr int kThreads = (kConsumers + 1) * kWarpgroupSize;
  /// 64-row wgmma blocks per consumer and tile, and the warps that read
  /// each stage (the arrivals of its empty barrier).
  static constexpr int kRowBlocks = kPingPong ? BM / 64 : 1;
  static constexpr int kStageReaders =
      (kPingPong ? 1 : kConsumers) * (kWarpgroupSize / kWarpSize);
  static constexpr int kStageBytes = (BM + BN) * BK * 2;
  /// The ring (aligned to 1024 bytes at run time: + 1 KiB), then the full
  /// and empty barriers and the ping-pong turn barriers.
  /// With kSlots: the slots' offset from the ring's base (past the ring
  /// and a 1 KiB block for the barriers) and the bytes of each.
  static constexpr int kSlotsAt = STAGES * kStageBytes + 1024;
  static constexpr int kSlotBytes = BM * BN * 2;
  static constexpr int kSharedBytes =
      kSlots ? 1024 + kSlotsAt + 2 * kSlotBytes
             : STAGES * kStageBytes + 1024 + 16 * STAGES + 16;
  /// With SETMAXNREG, setmaxnreg at run time: the producer's registers go
  /// to the consumers (40 + 2 x 232 = 3 x 168, the 64K registers of the SM
  /// at 384 threads). ptxas still allocates every path within the launch
  /// bound (168: it refuses to exceed it after setmaxnreg.inc, and keeps the
  /// producer within 40 after .dec), so the consumers gain nothing and the
  /// producer recomputes its addresses per copy; off by default.
  static constexpr int kProducerRegs = 40, kConsumerRegs = 232;
  static_assert(BM == 128, "two consumer warpgroups of 64 rows");
  static_assert(BN == 128 || BN == 256, "wgmma tile N must be 128 or 256");
  static_assert(!kPingPong || BN == 128, "ping-pong: 128 x 128 per consumer");
  static_assert(STAGES >= 2, "the producer fills one stage while one is read");
  static_assert(!kSlots || (kPingPong && kTma && CLUSTER_M_ == 1),
                "output slots: ping-pong TMA tiles, no cluster");
  static_assert(kSharedBytes <= 227 * 1024, "the ring exceeds shared memory");
  static_assert(!kStagedEpilogue || STAGES * kStageBytes >= BM * (BN + 8) * 4,
                "the staged epilogue's tile exceeds the ring");
  static_assert(kClusterM == 1 || (kTma && (kClusterM == 2 || kClusterM == 4)),
                "clusters multicast TMA copies: 1, 2 or 4 blocks");
  static_assert((kProducerRegs + kConsumers * kConsumerRegs) * kWarpgroupSize <=
                    65536,
                "setmaxnreg over the register file");
};

/// tmaGemm's configuration: cooperative 128 x BN tiles, TMA producer; with
/// CLUSTER_M > 1, clusters of CLUSTER_M blocks share their B tiles.
template <int BN, int STAGES, int CLUSTER_M = 1>
using TmaConfig = WsConfig<128, BN, STAGES, false, false, true, CLUSTER_M>;
/// TmaConfig for a persistent grid (fewer blocks than tiles).
template <int BN, int STAGES, int CLUSTER_M = 1>
using TmaPersistentConfig =
    WsConfig<128, BN, STAGES, false, false, true, CLUSTER_M, true>;

/// The tile of work item `item` for the block of rank `rank` in its
/// cluster: items are rasterized over (column tiles, groups of kClusterM
/// row tiles) and the blocks of a cluster take the rows of their group in
/// rank order (rows past M when the group is partial: they load zeros and
/// store nothing).
template <class Cfg, int N>
BRAID_DEVICE void wsTileOf(int item, int tilesM, int rank, int &tm, int &tn) {
  rasterizeId<8>(item, ceilDiv(N, Cfg::BN), ceilDiv(tilesM, Cfg::kClusterM), tm,
                 tn);
  tm = tm * Cfg::kClusterM + rank;
}
/// Work items (clusters' tile groups) of an M-row GEMM.
template <class Cfg, int N> BRAID_DEVICE int wsItems(int tilesM) {
  return ceilDiv(N, Cfg::BN) * ceilDiv(tilesM, Cfg::kClusterM);
}
/// The TMA boxes of a stage's B tile: one per block of the cluster, and at
/// least the gate and up halves of a gated MLP. The B map's box has
/// BN / kTmaBSlices rows.
template <class Cfg, class Ops>
constexpr int kTmaBSlices = Cfg::kClusterM > (IsGluOps<Ops>::value ? 2 : 1)
                                ? Cfg::kClusterM
                                : (IsGluOps<Ops>::value ? 2 : 1);

/// The producer warpgroup: thread t copies 16-byte chunk t % 8 of rows
/// t / 8 + 16 i of the A and B tiles of every k-tile of the block's tiles.
/// The row handles (and whether each row exists) are set once per tile, so
/// a copy costs an address add (as in wgGemmTile).
template <class Cfg, class Ops>
BRAID_DEVICE void wsProduce(const Ops &ops, int M, int tilesM, int first,
                            int stride, typename Ops::T *sA,
                            typename Ops::T *sB, uint64_t *full,
                            uint64_t *empty) {
  using T = typename Ops::T;
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, STAGES = Cfg::STAGES;
  constexpr int N = Ops::N, K = Ops::K, KT = ceilDiv(K, BK);
  constexpr int tilesN = ceilDiv(N, BN);
  constexpr int AR = BM / 16, BR = BN / 16; // rows per thread
  const int t = threadId() % kWarpgroupSize;
  const int c = t % 8, r0 = t / 8;
  const int numTiles = tilesN * tilesM;
  int stage = 0;
  uint32_t phase = 0;
#pragma unroll 1
  for (int tile = first; tile < numTiles; tile += stride) {
    int tm, tn;
    rasterizeId<8>(tile, tilesN, tilesM, tm, tn);
    const int m0 = tm * BM, n0 = tn * BN;
    typename Ops::ARef aRef[AR];
    const T *bPtr[BR];
    uint32_t aOk = 0, bOk = 0; // bit i: row r0 + 16 i exists
#pragma unroll
    for (int i = 0; i < AR; ++i) {
      const bool ok = m0 + r0 + 16 * i < M;
      aOk |= uint32_t(ok) << i;
      aRef[i] = ops.aRow(ok ? m0 + r0 + 16 * i : m0);
    }
#pragma unroll
    for (int i = 0; i < BR; ++i) {
      const bool ok = n0 + r0 + 16 * i < N;
      bOk |= uint32_t(ok) << i;
      bPtr[i] = ops.bRow(ok ? n0 + r0 + 16 * i : 0);
    }
#pragma unroll 1
    for (int kt = 0; kt < KT; ++kt) {
      mbarWait(&empty[stage], phase ^ 1);
      T *a = sA + stage * BM * BK;
      T *b = sB + stage * BN * BK;
      const int k = kt * BK + c * 8;
      const bool kOk = k < K;
#pragma unroll
      for (int i = 0; i < AR; ++i) {
        const bool ok = kOk && ((aOk >> i) & 1);
        cpAsync16(a + swizzle<BK>(r0 + 16 * i, c), ops.aAt(aRef[i], ok ? k : 0),
                  ok);
      }
#pragma unroll
      for (int i = 0; i < BR; ++i) {
        const bool ok = kOk && ((bOk >> i) & 1);
        cpAsync16(b + swizzle<BK>(r0 + 16 * i, c), bPtr[i] + (ok ? k : 0), ok);
      }
      cpAsyncArriveNoinc(&full[stage]);
      if (++stage == STAGES) {
        stage = 0;
        phase ^= 1;
      }
    }
  }
  // The block's shared memory must outlive the copies in flight.
  cpAsyncWait<0>();
}

/// The TMA producer: thread 0 of the producer warpgroup alone waits for
/// each stage to come back and requests its A and B tiles (maps[0] and
/// maps[1]), announcing the stage's bytes on its full barrier. B arrives
/// in kTmaBSlices boxes of BN / kTmaBSlices rows (a gated MLP's gate rows over
/// its up rows; in a cluster, block r issues slices r, r + CM, ... and
/// multicasts them to every block). Copies still in flight when it returns
/// complete on the barriers the consumers wait for.
template <class Cfg, class Ops>
BRAID_DEVICE void tmaProduce(const BraidTensorMaps &maps, int tilesM, int first,
                             int stride, int rank, typename Ops::T *sA,
                             typename Ops::T *sB, uint64_t *full,
                             uint64_t *empty) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, STAGES = Cfg::STAGES;
  constexpr int KT = ceilDiv(Ops::K, BK), CM = Cfg::kClusterM;
  constexpr bool kGlu = IsGluOps<Ops>::value;
  constexpr int S = kTmaBSlices<Cfg, Ops>, SR = BN / S; // slices, rows each
  if (threadId() % kWarpgroupSize != 0)
    return;
  const void *mapA = &maps.maps[0], *mapB = &maps.maps[1];
  prefetchTensorMap(mapA);
  prefetchTensorMap(mapB);
  const int items = wsItems<Cfg, Ops::N>(tilesM);
  int stage = 0;
  uint32_t phase = 0;
#pragma unroll 1
  for (int item = first; item < items; item += stride) {
    int tm, tn;
    wsTileOf<Cfg, Ops::N>(item, tilesM, rank, tm, tn);
    const int m0 = tm * BM, n0 = tn * BN;
#pragma unroll 1
    for (int kt = 0; kt < KT; ++kt) {
      mbarWait(&empty[stage], phase ^ 1);
      mbarArriveExpectTx(&full[stage], Cfg::kStageBytes);
      typename Ops::T *b = sB + stage * BN * BK;
      tmaLoad2d(sA + stage * BM * BK, mapA, kt * BK, m0, &full[stage]);
#pragma unroll
      for (int j = rank; j < S; j += CM) {
        // Slice j: B rows from n0, or a gated MLP's gate (first half of
        // the slices) or up rows from n0 / 2.
        int row = n0 + j * SR;
        if constexpr (kGlu)
          row =
              (j < S / 2 ? Ops::kGate : Ops::kUp) + n0 / 2 + (j % (S / 2)) * SR;
        if constexpr (CM == 1)
          tmaLoad2d(b + j * SR * BK, mapB, kt * BK, row, &full[stage]);
        else
          tmaLoad2dMulticast(b + j * SR * BK, mapB, kt * BK, row, &full[stage],
                             (1u << CM) - 1);
      }
      if (++stage == STAGES) {
        stage = 0;
        phase ^= 1;
      }
    }
  }
}

} // namespace dev
} // namespace braid

// The consumers' epilogues (they use WsConfig and the tile walk above).
#include "targets/common/kernels/GemmHopperEpilogue.cuh"

namespace braid {
namespace dev {

/// The rms norm factors of the thread's rows, row0 + 64 mi + 8 h for
/// inv[mi][h]: the four lanes of a row (lane % 4) read every fourth of its
/// G partial sums and add them up across the quad; 1 / sqrtf(sum * (1 / K)
/// + eps) as rowNorm computes it. Read before the tile's main loop (the
/// launch that wrote them has finished by then): in the epilogue the loads
/// would need registers the accumulators hold.
template <int K, class Ops, int MI>
BRAID_DEVICE void wsRowScales(const Ops &ops, float (&inv)[MI][2], int M,
                              int row0, int lane) {
  constexpr int G = ceilDiv(K, kRowSumGroup);
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int m = row0 + 64 * mi + 8 * h;
      float sum = 0.0f;
      if (m < M) {
        const float *sums = ops.rowSums + static_cast<int64_t>(m) * G;
        if constexpr (G % 4 == 0 && G <= 16) { // one 16-byte load a lane
          if (4 * (lane & 3) < G) {
            const float4 v =
                *reinterpret_cast<const float4 *>(sums + 4 * (lane & 3));
            sum = (v.x + v.y) + (v.z + v.w);
          }
        } else {
#pragma unroll
          for (int g = lane & 3; g < G; g += 4)
            sum += sums[g];
        }
      }
      sum += shflXor(sum, 1);
      sum += shflXor(sum, 2);
      inv[mi][h] =
          1.0f / sqrtf(sum * (1.0f / static_cast<float>(K)) + ops.normEps);
    }
}

/// Scales the accumulators of the thread's rows: block mi holds row
/// row0 + 64 mi + 8 h in registers 4 j + 2 h + {0, 1}.
template <int MI, int R>
BRAID_DEVICE void wsScaleRows(float (&acc)[MI][R], const float (&inv)[MI][2]) {
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int j = 0; j < R / 4; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        acc[mi][4 * j + 2 * h] *= inv[mi][h];
        acc[mi][4 * j + 2 * h + 1] *= inv[mi][h];
      }
}

/// A consumer warpgroup (cw = 0, 1): rows 64 cw .. 64 cw + 63 of each
/// tile (cooperative) or every row of the block's tiles cw, cw + 2, ...
/// (ping-pong). k-tile kt of the block's tile `local` is number
/// local * KT + kt of the ring's stream. `stage`: the ring seen as the
/// staged epilogue's fp32 tile.
template <class Cfg, class Ops>
BRAID_DEVICE void wsConsume(const Ops &ops, int M, int tilesM, int first,
                            int stride, int rank, const typename Ops::T *sA,
                            const typename Ops::T *sB, float *stage,
                            uint64_t *full, uint64_t *empty, uint64_t *turn,
                            int cw) {
  using T = typename Ops::T;
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, STAGES = Cfg::STAGES;
  constexpr int N = Ops::N, K = Ops::K, KT = ceilDiv(K, BK);
  constexpr int R = WgMma<BN>::R, MI = Cfg::kRowBlocks;
  const int lane = laneId();
  // Accumulator layout (as wgGemmTile): warp w of the warpgroup holds rows
  // 16 w + g and 16 w + g + 8 (g = lane / 4) of its 64-row block; register
  // 4 j + {0, 1} holds columns 8 j + 2 (lane % 4) + {0, 1} of the first,
  // 4 j + {2, 3} of the second.
  const int rowInBlock =
      ((threadId() % kWarpgroupSize) / kWarpSize) * 16 + (lane >> 2);
  const int aRows = Cfg::kPingPong ? 0 : cw * 64; // first A row read
  const int items = wsItems<Cfg, N>(tilesM);
  // A stage goes back once every warp that reads it, in every block of
  // the cluster (their producers multicast into it), has retired its wgmma.
  auto release = [&](int s) {
    if (lane != 0)
      return;
    if constexpr (Cfg::kClusterM == 1) {
      mbarArrive(&empty[s]);
    } else {
#pragma unroll
      for (int r = 0; r < Cfg::kClusterM; ++r)
        mbarArriveCluster(&empty[s], r);
    }
  };
  float acc[MI][R];
  int turns = 0; // ping-pong: main loops this consumer has run
#pragma unroll 1
  for (int local = Cfg::kPingPong ? cw : 0; first + local * stride < items;
       local += Cfg::kPingPong ? Cfg::kConsumers : 1) {
    int tm, tn;
    wsTileOf<Cfg, N>(first + local * stride, tilesM, rank, tm, tn);
    const int m0 = tm * BM, n0 = tn * BN;
#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
      for (int i = 0; i < R; ++i)
        acc[mi][i] = 0.0f;
    // A folded norm's row factors (RowNormOps), for the epilogue.
    float inv[MI][2];
    if constexpr (IsRowNormOps<Ops>::value)
      wsRowScales<K>(ops, inv, M, m0 + aRows + rowInBlock, lane);
    int g = local * KT; // the k-tile's number in the ring's stream
    int held = 0;       // the stage whose wgmma may still be in flight
    // Ping-pong: the main loops alternate (consumer 0 first). Besides
    // keeping the tensor cores to one consumer, this keeps each consumer's
    // first full-barrier wait one phase ahead at most: a parity wait
    // cannot tell a phase from the one two rounds later.
    if constexpr (Cfg::kPingPong)
      mbarWait(&turn[cw], (turns + (cw == 0 ? 1 : 0)) & 1);
#pragma unroll 1
    for (int kt = 0; kt < KT; ++kt, ++g) {
      const int stage = g % STAGES;
      mbarWait(&full[stage], (g / STAGES) & 1);
      // cp.async copies are generic-proxy writes and wgmma reads through
      // the async proxy (TMA writes through it already).
      if constexpr (!Cfg::kTma)
        fenceProxyAsyncShared();
      // One descriptor per operand and stage, moved on by constant offsets.
      const uint64_t da = wgmmaDescSw128(sA + stage * BM * BK + aRows * BK);
      const uint64_t db = wgmmaDescSw128(sB + stage * BN * BK);
      wgmmaFence();
#pragma unroll
      for (int j = 0; j < BK / 16; ++j)
#pragma unroll
        for (int mi = 0; mi < MI; ++mi)
          WgMma<BN>::run(
              acc[mi],
              wgmmaDescAdd(da, uint32_t((mi * 64 * BK + j * 16) * sizeof(T))),
              wgmmaDescAdd(db, uint32_t(j * 16 * sizeof(T))));
      wgmmaCommit();
      // The previous k-tile's wgmma has retired: its stage goes back.
      wgmmaWait<1>();
      if (kt > 0) {
        release(held);
        if constexpr (kStagesResidual<Cfg, Ops>)
          wsResidualReleased<Cfg, Ops>(kt - 1);
      }
      held = stage;
    }
    if constexpr (Cfg::kPingPong) {
      mbarArrive(&turn[cw ^ 1]); // this main loop is issued
      ++turns;
    }
    wgmmaWait<0>();
    release(held);
    if constexpr (IsRowNormOps<Ops>::value)
      wsScaleRows(acc, inv);
    // Only the staged residual epilogue writes row sums (the specializer
    // runs rowSumSq (Norms.cuh) after the other engines).
    static_assert(!IsRowSumSqOps<Ops>::value || kStagesResidual<Cfg, Ops>,
                  "row sums of squares: the staged residual epilogue only");

    // Epilogue: staged through the idle ring (one tile per block), or
    // straight from the registers while the producer loads the next tile.
    if constexpr (kStagesResidual<Cfg, Ops>) {
      wsStoreResidualStaged<Cfg>(ops, M, m0, n0, acc[0],
                                 reinterpret_cast<char *>(stage), cw);
    } else if constexpr (Cfg::kSlots) {
      wsPingFinish<Cfg>(ops, n0, acc, reinterpret_cast<char *>(stage), cw);
    } else if constexpr (kStagesEpilogue<Cfg, Ops>) {
      wsStoreStaged<Cfg>(ops, M, m0, n0, acc[0], stage, cw);
    } else if constexpr (Cfg::kTma && IsGluOps<Ops>::value) {
      // Each 64-row block of the tile (two in ping-pong) pairs its gate
      // and up columns.
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
        wsStoreGluHalves<BN>(ops, M, m0 + aRows + mi * 64 + rowInBlock, n0 / 2,
                             acc[mi]);
    } else {
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
        wgStoreRows<BN>(ops, M, m0 + aRows + mi * 64 + rowInBlock, n0, acc[mi]);
    }
  }
}

/// Cfg::kThreads threads, Cfg::kSharedBytes of dynamic shared memory. Block
/// b of G (b = x + y * gridDim.x) computes the rasterized tiles b, b + G,
/// ... Grid (ceil(N / BN), ceil(M / BM)) is one tile per block, the only
/// grid of a staged epilogue (kStagesEpilogue; any other traps); other
/// configurations also run a fixed grid of about one block per SM
/// (persistent). With clusters of
/// kClusterM blocks along x (gridDim.x a multiple of it), cluster c of C
/// (c = b / kClusterM) computes the work items c, c + C, ...: grid
/// (kClusterM * ceil(N / BN), ceil(M / (kClusterM * BM))) is one item per
/// cluster. sm_90a only.
template <class Cfg, class Ops>
BRAID_DEVICE void wsGemm(const Ops &ops, int M,
                         const BraidTensorMaps *maps = nullptr) {
#if defined(BRAID_HAS_WGMMA)
  using T = typename Ops::T;
  static_assert(std::is_same<T, bf16>::value, "wgmma path takes bf16");
  static_assert(Ops::kVecA && Ops::kVecB, "wgmma path needs 16-byte rows");
  constexpr int BM = Cfg::BM, BK = Cfg::BK, STAGES = Cfg::STAGES;
  constexpr int CM = Cfg::kClusterM;
  extern __shared__ __align__(128) char braidGemmSmem[];
  const int tilesM = ceilDiv(M, BM);
  const int block = blockIdX() + blockIdY() * gridDimX();
  const int first = block / CM, rank = block % CM;
  const int stride = gridDimX() * gridDimY() / CM;
  const int items = wsItems<Cfg, Ops::N>(tilesM);
  // The blocks of a cluster share one item: they leave together.
  if (first >= items)
    return;
  if constexpr (kStagesEpilogue<Cfg, Ops>) {
    if (first + stride < items)
      __trap(); // a staged epilogue needs a grid of one block per tile
  }

  char *base = reinterpret_cast<char *>(
      (reinterpret_cast<uintptr_t>(braidGemmSmem) + 1023) & ~uintptr_t(1023));
  T *sA = reinterpret_cast<T *>(base);
  T *sB = sA + STAGES * BM * BK;
  uint64_t *full =
      reinterpret_cast<uint64_t *>(base + STAGES * Cfg::kStageBytes);
  uint64_t *empty = full + STAGES;
  uint64_t *turn = empty + STAGES; // ping-pong: [consumer]
  static_assert(!Cfg::kSlots || kSlotsFit<Ops>,
                "output slots: bf16 outputs in 16-byte chunks, no glu");
  if constexpr (Cfg::kSlots) {
    // A launch with less shared memory than the slots need.
    constexpr uint32_t kNeed = Cfg::kSlotsAt + 2 * Cfg::kSlotBytes;
    if (static_cast<uint32_t>(base - braidGemmSmem) + kNeed >
        dynamicSharedBytes())
      __trap();
  }
  // Uniform: so are the consumer's ring position and descriptors.
  const int wg = warpgroupId();
  if (threadId() == 0) {
    for (int s = 0; s < STAGES; ++s) {
      mbarInit(&full[s], Cfg::kTma ? 1 : kWarpgroupSize);
      mbarInit(&empty[s], Cfg::kStageReaders * CM);
    }
    mbarInit(&turn[0], kWarpgroupSize);
    mbarInit(&turn[1], kWarpgroupSize);
    if constexpr (CM > 1)
      fenceMbarrierInitCluster();
  }
  // A cluster's barriers are armed before any block copies or arrives
  // into another's.
  if constexpr (CM > 1)
    clusterSync();
  else
    syncThreads();
  if (wg == 0) {
    if constexpr (Cfg::kSetMaxNReg)
      warpgroupRegsDec<Cfg::kProducerRegs>();
    if constexpr (Cfg::kTma)
      tmaProduce<Cfg, Ops>(*maps, tilesM, first, stride, rank, sA, sB, full,
                           empty);
    else
      wsProduce<Cfg>(ops, M, tilesM, first, stride, sA, sB, full, empty);
    // Warps 1 and 2, idle otherwise, bring residual rows in (and store
    // the output slots).
    const int warp = threadId() / kWarpSize;
    if constexpr (kStagesResidual<Cfg, Ops>) {
      if (warp == 1 || warp == 2) {
        int tm, tn;
        wsTileOf<Cfg, Ops::N>(first, tilesM, rank, tm, tn);
        wsLoadResidual<Cfg>(ops, M, tm * BM, tn * Cfg::BN, base, warp - 1);
      }
    } else if constexpr (Cfg::kSlots) {
      if (warp == 1 || warp == 2)
        wsPingSlotWarp<Cfg>(ops, M, tilesM, first, stride, base, warp - 1);
    }
  } else {
    if constexpr (Cfg::kSetMaxNReg)
      warpgroupRegsInc<Cfg::kConsumerRegs>();
    wsConsume<Cfg>(ops, M, tilesM, first, stride, rank, sA, sB,
                   reinterpret_cast<float *>(base), full, empty, turn, wg - 1);
  }
  // The other blocks of the cluster arrive on this block's empty barriers
  // until their last stage: its shared memory outlives them.
  if constexpr (CM > 1)
    clusterSyncDiverged();
#else
  __trap();
#endif
}

/// wsGemm on TmaConfig: maps[0] holds A as [M, K] (rows = the call's M,
/// box 64 x 128), maps[1] B as [N, K] (box 64 x BN, a gated MLP's 64 x
/// BN / 2), both bf16 with the 128-byte swizzle. The specializer lists them
/// in the launch's "tensor_maps".
template <class Cfg, class Ops>
BRAID_DEVICE void tmaGemm(const Ops &ops, int M, const BraidTensorMaps &maps) {
  static_assert(Cfg::kTma, "tmaGemm takes a TmaConfig");
  wsGemm<Cfg>(ops, M, &maps);
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPER_CUH
