//===- GemmHopperEpilogue.cuh - wsGemm's consumer epilogues --------------===//
//
// How wsGemm's consumers (GemmHopper.cuh) store a finished tile:
//
//   * from the registers (wgStoreRows in GemmHopper.cuh; wsStoreGluHalves
//     pairs a gated MLP's gate and up columns);
//   * staged through the idle ring with one block a tile (wsStoreStaged:
//     the accumulators in fp32, each warp then storing whole rows);
//   * with a residual, the residual rows copied into released stages of
//     the ring by producer warps 1 and 2 before the main loop ends, the
//     outputs written over them in place (kStagesResidual);
//   * ping-pong, into output slots past the ring that producer warps store
//     while the consumer runs its next main loop (WsConfig's SLOTS).
//
// The slots' layout (wsResidualOffset) swizzles each row's 16-byte chunks
// by the row so that an accumulator fragment's 8 rows fall in different
// banks. Included by GemmHopper.cuh after WsConfig and the tile walk
// (wsTileOf, wsItems); not a header of its own.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPEREPILOGUE_CUH
#define BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPEREPILOGUE_CUH

#ifndef BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPER_CUH
#error "GemmHopperEpilogue.cuh is included by GemmHopper.cuh"
#endif

namespace braid {
namespace dev {

/// tmaGemm's gated-MLP epilogue: columns c < BN / 2 of the tile are gate
/// j0 + c and columns c + BN / 2 its up, both in the same thread's
/// registers (4 (j + BN / 16) + e holds column c + BN / 2 when 4 j + e holds
/// c); `row` is the thread's first row.
template <int BN, class Ops>
BRAID_DEVICE void wsStoreGluHalves(const Ops &ops, int M, int row, int j0,
                                   const float (&acc)[WgMma<BN>::R]) {
  constexpr int I = Ops::N / 2, UP = 4 * (BN / 16);
  const int lane = laneId();
#pragma unroll
  for (int j = 0; j < BN / 16; ++j)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = row + h * 8;
      if (r >= M)
        continue;
      // j0 is a multiple of BN / 2: gj is even, the pair one store.
      const int gj = j0 + j * 8 + (lane & 3) * 2;
      const float *g = &acc[4 * j + 2 * h], *u = &acc[UP + 4 * j + 2 * h];
      if (gj + 1 < I)
        ops.storeGluPair(r, gj, g[0], u[0], g[1], u[1]);
      else if (gj < I)
        ops.store2(r, 2 * gj, g[0], u[0]);
    }
}

/// What Ops::load2 returns (int for an Ops without epilogue loads).
template <class Ops, bool = EpilogueLoads<Ops>::value> struct LoadedOf {
  using type = int;
};
template <class Ops> struct LoadedOf<Ops, true> {
  using type = typename Ops::Loaded;
};

/// Row stride (floats) of the staged epilogue's tile in shared memory: 8
/// floats of padding put the 8 rows of an accumulator store in different
/// banks.
template <int BN> constexpr int kStagedRow = BN + 8;

/// The output element type of a linear Ops (its `y`: a pointer, or an
/// array of them for pieces), and its bytes.
template <class Ops>
using OutOf = std::remove_cv_t<
    std::remove_pointer_t<std::remove_extent_t<decltype(Ops::y)>>>;
template <class Ops> constexpr int kOutBytes = sizeof(OutOf<Ops>);
/// Whether tiles of Cfg computing Ops stage their epilogue (wsStoreStaged):
/// 16-bit outputs (a warp of the register epilogue stores 16 of the 32
/// bytes of a sector per row; f32 rows fill them), not a gated MLP (its
/// register epilogue measured faster in the model).
template <class Cfg, class Ops>
constexpr bool kStagesEpilogue =
    Cfg::kStagedEpilogue && !IsGluOps<Ops>::value && kOutBytes<Ops> == 2;

/// The epilogue of a cooperative tile staged through shared memory (the
/// ring, free once both consumers are past their last wgmma and the
/// producer has no copy left). The accumulators go to shared memory as
/// they lie, then each warp stores whole rows: lane l takes column pairs
/// 2 l, 2 l + 64, ..., so a store instruction writes 128 contiguous bytes
/// (one line) instead of 16 bytes of 8 rows, and residual reads are
/// coalesced the same way. Each value is finished by the same Ops calls
/// as in wgStoreRows (fp32 in shared memory: the same bits).
template <class Cfg, class Ops>
BRAID_DEVICE void wsStoreStaged(const Ops &ops, int M, int m0, int n0,
                                const float (&acc)[WgMma<Cfg::BN>::R],
                                float *stage, int cw) {
  constexpr int BN = Cfg::BN, SR = kStagedRow<BN>, N = Ops::N;
  const int lane = laneId();
  const int warp = (threadId() % kWarpgroupSize) / kWarpSize;
  float *st = stage + cw * 64 * SR;
  namedBarrierSync(1, 2 * kWarpgroupSize); // the ring is free
#pragma unroll
  for (int j = 0; j < BN / 8; ++j)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = warp * 16 + (lane >> 2) + 8 * h;
      *reinterpret_cast<float2 *>(st + row * SR + 8 * j + 2 * (lane & 3)) =
          make_float2(acc[4 * j + 2 * h], acc[4 * j + 2 * h + 1]);
    }
  namedBarrierSync(2 + cw, kWarpgroupSize);
  // Warp w stores rows w, w + 4, ... of the warpgroup's 64.
  const int r0 = m0 + cw * 64;
  constexpr int P = BN / 64; // pairs a lane per row
  // Rows per chunk: a residual's reads of 2 rows (8 pairs a lane) go out
  // together; the result may alias it, so the compiler cannot move a read
  // above an earlier chunk's stores. (4 rows spill at 168 registers.)
  constexpr int RC = EpilogueLoads<Ops>::value ? 2 : 1;
#pragma unroll 1
  for (int row = warp; row < 64; row += 4 * RC) {
    [[maybe_unused]] typename LoadedOf<Ops>::type in[RC][P];
    if constexpr (EpilogueLoads<Ops>::value) {
#pragma unroll
      for (int rc = 0; rc < RC; ++rc)
#pragma unroll
        for (int i = 0; i < P; ++i) {
          const int r = r0 + row + 4 * rc, col = n0 + 2 * lane + 64 * i;
          if (row + 4 * rc < 64 && r < M && col + 1 < N)
            in[rc][i] = ops.load2(r, col);
        }
    }
#pragma unroll
    for (int rc = 0; rc < RC; ++rc)
#pragma unroll
      for (int i = 0; i < P; ++i) {
        const int lr = row + 4 * rc, r = r0 + lr;
        const int c = 2 * lane + 64 * i, col = n0 + c;
        if (lr >= 64 || r >= M || col >= N)
          continue;
        const float2 v = *reinterpret_cast<const float2 *>(st + lr * SR + c);
        if (col + 1 >= N)
          ops.store(r, col, v.x);
        else if constexpr (EpilogueLoads<Ops>::value)
          ops.store2(r, col, v.x, v.y, in[rc][i]);
        else
          ops.store2(r, col, v.x, v.y);
      }
  }
}

/// Whether a staged tile takes its residual through the ring instead
/// (wsLoadResidual, wsStoreResidualStaged): a residual Ops with whole
/// 16-byte column chunks, one block a tile, and at least STAGES k-tiles, so
/// that the stages of the last ones are filled once and come back before
/// the main loop ends (both slots' k-tiles before the last one: 3 stages or
/// more).
template <class Cfg, class Ops> constexpr bool stagesResidual() {
  if constexpr (!EpilogueLoads<Ops>::value || !kStagesEpilogue<Cfg, Ops>)
    return false;
  else
    return Ops::N % 8 == 0 && Cfg::BK == 64 && Cfg::kClusterM == 1 &&
           Cfg::STAGES >= 3 && ceilDiv(Ops::K, Cfg::BK) >= Cfg::STAGES;
}
template <class Cfg, class Ops>
constexpr bool kStagesResidual = stagesResidual<Cfg, Ops>();

/// Consumer cw's residual rows (64 x BN, 16-bit) take the B tile of the
/// stage of k-tile KT - STAGES + cw: the first stages to come back for
/// good, STAGES - 1 - cw k-tiles before the main loop ends. `ring`: the
/// ring's base.
template <class Cfg, class Ops>
BRAID_DEVICE char *wsResidualSlot(char *ring, int cw) {
  constexpr int KT = ceilDiv(Ops::K, Cfg::BK), STAGES = Cfg::STAGES;
  static_assert(64 * Cfg::BN * 2 == Cfg::BN * Cfg::BK * 2,
                "a consumer's residual rows fill one B tile");
  return ring + STAGES * Cfg::BM * Cfg::BK * 2 +
         ((KT - STAGES + cw) % STAGES) * Cfg::BN * Cfg::BK * 2;
}
/// Byte offset of row r's 16-byte chunk c in a residual slot: rows of BN
/// 16-bit values, chunk c stored at c ^ (r % 8), so that the 8 rows of an
/// accumulator fragment fall in different banks.
template <int BN> BRAID_DEVICE int wsResidualOffset(int r, int c) {
  return r * BN * 2 + ((c ^ (r & 7)) << 4);
}

/// Named barrier 6 + cw: every consumer warp has released the k-tile whose
/// stage takes consumer cw's residual rows. (The stage's empty mbarrier
/// cannot say so: a parity wait does not tell its last phase from earlier
/// ones.)
constexpr int kResidualSlotThreads = 2 * kWarpgroupSize + kWarpSize;
/// A consumer warp that has just released k-tile `kt` (cooperative tiles).
template <class Cfg, class Ops> BRAID_DEVICE void wsResidualReleased(int kt) {
  constexpr int first = ceilDiv(Ops::K, Cfg::BK) - Cfg::STAGES;
  if (kt == first || kt == first + 1)
    namedBarrierArrive(6 + kt - first, kResidualSlotThreads);
}

/// Writes the output pairs of a 64-row accumulator block into a slot:
/// `rows` is the block's first row there (rows of BN 16-bit values, chunks
/// swizzled as wsResidualOffset). READ: each replaces the residual pair
/// found there (Ops::finish2, the bits of store2); else the pairs of
/// store2 without one (bf16 outputs only: slotsFit).
template <int BN, class Ops, bool READ = true>
BRAID_DEVICE void wsFinishInSlot(const Ops &ops, int n0,
                                 const float (&acc)[WgMma<BN>::R], char *rows) {
  constexpr int N = Ops::N;
  const int lane = laneId();
  const int warp = (threadId() % kWarpgroupSize) / kWarpSize;
  // The thread's rows r (and r + 8) have r % 8 = lane / 4, so chunk 8 q + c
  // (c < 8) lies at 128 q + 16 (c ^ lane / 4): one address a c, the rest
  // immediate offsets.
  const int x = lane >> 2;
  char *mine = rows + (warp * 16 + x) * BN * 2 + 4 * (lane & 3);
#pragma unroll
  for (int c = 0; c < 8; ++c) {
    // Eight pairs at a time: reads hoisted from every chunk at once would
    // hold 64 more registers than the accumulators leave.
    asm volatile("" ::: "memory");
    char *chunk = mine + ((c ^ x) << 4);
#pragma unroll
    for (int q = 0; q < BN / 64; ++q) {
      const int j = 8 * q + c; // columns 8 j ..
      if (n0 + 8 * j >= N)
        continue;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        char *at = chunk + 128 * q + h * 8 * BN * 2;
        const int n = n0 + 8 * j + 2 * (lane & 3);
        if constexpr (READ) {
          using Loaded = typename Ops::Loaded;
          static_assert(sizeof(Loaded) == 4, "16-bit outputs");
          Loaded *p = reinterpret_cast<Loaded *>(at);
          *p = ops.finish2(n, acc[4 * j + 2 * h], acc[4 * j + 2 * h + 1], *p);
        } else {
          *reinterpret_cast<uint32_t *>(at) =
              packBf16x2(acc[4 * j + 2 * h] + ops.biasAt(n),
                         acc[4 * j + 2 * h + 1] + ops.biasAt(n + 1));
        }
      }
    }
  }
}

/// Stores ROWS rows of a slot (wsResidualOffset's layout) as output rows
/// m0 .. of columns n0 ..: THREADS threads (thread t) take consecutive
/// chunks, 16 bytes each.
/// With an Ops that writes row sums of squares (RowSumSqOps), each half
/// warp's 16 chunks are one row's kRowSumGroup columns (CPR and THREADS are
/// multiples of 16, n0 of 128): the half warp adds up the squares of the
/// values it stores and its first lane writes the group's sum.
template <int BN, int ROWS, int THREADS, class Ops>
BRAID_DEVICE void wsStoreSlotRows(const Ops &ops, int M, int m0, int n0,
                                  const char *slot, int t) {
  constexpr int CPR = BN / 8, N = Ops::N;
  static_assert(ROWS * CPR % THREADS == 0, "whole rounds of chunks");
  constexpr bool kSums = IsRowSumSqOps<Ops>::value;
  static_assert(!kSums || (CPR % 16 == 0 && THREADS % 16 == 0 &&
                           kRowSumGroup == 16 * 8 &&
                           std::is_same_v<OutOf<Ops>, bf16>),
                "a half warp's chunks are one bf16 row's sum group");
#pragma unroll 4
  for (int k = 0; k < ROWS * CPR / THREADS; ++k) {
    const int i = k * THREADS + t;
    const int r = i / CPR, c = i % CPR;
    const int m = m0 + r, n = n0 + 8 * c;
    const bool ok = m < M && n < N;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (ok) {
      v = *reinterpret_cast<const uint4 *>(slot + wsResidualOffset<BN>(r, c));
      *reinterpret_cast<uint4 *>(ops.at(m, n)) = v;
    }
    if constexpr (kSums) {
      float sum = 0.0f;
      const uint32_t words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const float2 f = unpackBf16x2(words[q]);
        sum = fmaf(f.y, f.y, fmaf(f.x, f.x, sum));
      }
#pragma unroll
      for (int d = 1; d < 16; d *= 2)
        sum += shflXor(sum, d);
      if ((t & 15) == 0 && m < M)
        ops.rowSums[static_cast<int64_t>(m) * ceilDiv(N, kRowSumGroup) +
                    n / kRowSumGroup] = sum;
    }
  }
}

/// Copies rows m0 .. m0 + ROWS - 1, columns n0 .. n0 + BN - 1 of the
/// residual into a slot by cp.async (rows past M and columns past N as
/// zeros), one warp, and waits for them. UNROLL: copies issued a loop
/// iteration (ping-pong's producer warps keep to 1: more made ptxas spill
/// in the consumers, whose registers the kernel shares).
template <int BN, int ROWS, int UNROLL, class Ops>
BRAID_DEVICE void wsCopyResidual(const Ops &ops, int M, int m0, int n0,
                                 char *slot) {
  constexpr int CPR = BN / 8, N = Ops::N;
#pragma unroll UNROLL
  for (int i = laneId(); i < ROWS * CPR; i += kWarpSize) {
    const int r = i / CPR, c = i % CPR;
    const int m = m0 + r, n = n0 + 8 * c;
    const bool ok = m < M && n < N;
    cpAsync16(slot + wsResidualOffset<BN>(r, c),
              ops.residualAt(ok ? m : 0, ok ? n : 0), ok);
  }
  cpAsyncCommit();
  cpAsyncWait<0>();
}

/// A producer warp's share of a staged residual tile: once the stage of
/// k-tile KT - STAGES + cw has come back for the last time (named barrier
/// 6 + cw), its B tile takes the residual rows 64 cw .. 64 cw + 63 of the
/// block's tile (rows past M and columns past N as zeros) by cp.async, and
/// consumer cw is told on named barrier 4 + cw. The copies run under the
/// main loop's last k-tiles instead of in the epilogue.
template <class Cfg, class Ops>
BRAID_DEVICE void wsLoadResidual(const Ops &ops, int M, int m0, int n0,
                                 char *ring, int cw) {
  namedBarrierSync(6 + cw, kResidualSlotThreads);
  wsCopyResidual<Cfg::BN, 64, 4>(ops, M, m0 + 64 * cw, n0,
                                 wsResidualSlot<Cfg, Ops>(ring, cw));
  namedBarrierArrive(4 + cw, kWarpgroupSize + kWarpSize);
}

/// The epilogue of a staged tile with a residual (kStagesResidual): the
/// consumer's 64 rows are finished in place in their slot, then stored as
/// whole rows.
template <class Cfg, class Ops>
BRAID_DEVICE void wsStoreResidualStaged(const Ops &ops, int M, int m0, int n0,
                                        const float (&acc)[WgMma<Cfg::BN>::R],
                                        char *ring, int cw) {
  char *slot = wsResidualSlot<Cfg, Ops>(ring, cw);
  namedBarrierSync(4 + cw, kWarpgroupSize + kWarpSize); // rows landed
  wsFinishInSlot<Cfg::BN>(ops, n0, acc, slot);
  namedBarrierSync(2 + cw, kWarpgroupSize);
  wsStoreSlotRows<Cfg::BN, 64, kWarpgroupSize>(ops, M, m0 + 64 * cw, n0, slot,
                                               threadId() % kWarpgroupSize);
}

/// Ping-pong tiles with output slots (WsConfig's kSlots): each consumer
/// has a slot of its own (`wsPingSlot`) for its next tile's output (128 x
/// BN, 16-bit). Producer warp 1 + cw, idle otherwise, hands it the slot
/// (named barrier 4 + cw), with a residual copied in by then while the
/// consumer still runs its main loop; the consumer writes its outputs
/// there in place of the residual and goes on to its next main loop (named
/// barrier 6 + cw), and the producer warp stores whole rows. An Ops that
/// can use them: not a gated MLP, bf16 outputs in 16-byte chunks that
/// each lie in one piece.
template <class Ops, class = void> struct ChunkedOut {
  static constexpr bool value = Ops::N % 8 == 0;
};
template <class Ops>
struct ChunkedOut<Ops, std::void_t<decltype(Ops::kChunkedParts)>> {
  static constexpr bool value = Ops::kChunkedParts;
};
template <class Ops> constexpr bool slotsFit() {
  if constexpr (IsGluOps<Ops>::value || !std::is_same_v<OutOf<Ops>, bf16>)
    return false;
  else
    return Ops::N % 8 == 0 && ChunkedOut<Ops>::value;
}
template <class Ops> constexpr bool kSlotsFit = slotsFit<Ops>();
/// Consumer cw's slot (Cfg::kSlotBytes from Cfg::kSlotsAt past the ring's
/// base).
template <class Cfg> BRAID_DEVICE char *wsPingSlot(char *ring, int cw) {
  return ring + Cfg::kSlotsAt + cw * Cfg::kSlotBytes;
}
/// Named barriers 4 + cw and 6 + cw: consumer cw and producer warp 1 + cw.
constexpr int kPingPairThreads = kWarpgroupSize + kWarpSize;

/// Producer warp 1 + cw of a ping-pong block with output slots: for each
/// of consumer cw's tiles, in the order it takes them, the slot handed
/// over (with the tile's residual in it, if any), then, once the consumer
/// has finished the tile, its rows stored.
template <class Cfg, class Ops>
BRAID_DEVICE void wsPingSlotWarp(const Ops &ops, int M, int tilesM, int first,
                                 int stride, char *ring, int cw) {
  constexpr int BM = Cfg::BM, BN = Cfg::BN;
  char *slot = wsPingSlot<Cfg>(ring, cw);
  const int items = wsItems<Cfg, Ops::N>(tilesM);
  int m0 = -1, n0 = 0; // the tile in the slot
#pragma unroll 1
  for (int local = cw; first + local * stride < items; local += 2) {
    if (m0 >= 0) {
      namedBarrierSync(6 + cw, kPingPairThreads); // finished
      wsStoreSlotRows<BN, BM, kWarpSize>(ops, M, m0, n0, slot, laneId());
      __syncwarp(); // every lane's reads of the slot are done
    }
    int tm, tn;
    wsTileOf<Cfg, Ops::N>(first + local * stride, tilesM, 0, tm, tn);
    m0 = tm * BM;
    n0 = tn * BN;
    if constexpr (EpilogueLoads<Ops>::value)
      wsCopyResidual<BN, BM, 1>(ops, M, m0, n0, slot);
    namedBarrierArrive(4 + cw, kPingPairThreads); // the slot is handed over
  }
  if (m0 >= 0) {
    namedBarrierSync(6 + cw, kPingPairThreads);
    wsStoreSlotRows<BN, BM, kWarpSize>(ops, M, m0, n0, slot, laneId());
  }
}

/// Consumer cw's epilogue of a ping-pong tile with output slots: the
/// outputs into its slot (the producer warp stores them).
template <class Cfg, class Ops>
BRAID_DEVICE void
wsPingFinish(const Ops &ops, int n0,
             const float (&acc)[Cfg::kRowBlocks][WgMma<Cfg::BN>::R], char *ring,
             int cw) {
  constexpr int BN = Cfg::BN;
  char *slot = wsPingSlot<Cfg>(ring, cw);
  namedBarrierSync(4 + cw, kPingPairThreads); // the slot is ours
#pragma unroll
  for (int mi = 0; mi < Cfg::kRowBlocks; ++mi)
    wsFinishInSlot<BN, Ops, EpilogueLoads<Ops>::value>(ops, n0, acc[mi],
                                                       slot + mi * 64 * BN * 2);
  namedBarrierArrive(6 + cw, kPingPairThreads); // finished
}

} // namespace dev
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_GEMMHOPPEREPILOGUE_CUH
