//===- SSDHopper.cuh - sm_90a (wgmma) passes of the SSD scan --------------===//
//
// Two of SSD.cuh's three kernels on Hopper warpgroup MMAs (the state passing
// between chunks stays SSD.cuh's).
//
// Chunk states (ssdChunkStateWg, kStateWg): one warpgroup per (chunk, head,
// 64 rows of head_dim) computes S_c = (w x)^T B with wgmma m64nNk16, x and B
// streamed through two shared buffers of kStateWgRows-row k-tiles (both
// MN-major for this product), x's rows scaled by w in place.
//
// Output (ssdChunkOutputWg, kOutWg): one block of two warpgroups per
// (128-token tile of a chunk, kOutHeads heads of one group, 64 columns of
// head_dim); warpgroup w owns the tile's rows 64 w .. 64 w + 63 and the keys
// of the chunk up to its last row:
//
//   C.B^T   once for the block's heads: wgmma m64n64k16 per 64-key chunk,
//           C and B from shared memory (K-major, 128-byte swizzle), rounded
//           to bf16 A fragments (the m16n8k16 placement per warp, which
//           wgmma's register A takes) and stored over the B rows
//   inter   C . H_in^T: wgmma m64n64k16, the entering state [P][N] from
//           shared memory (K-major), then rows scaled by exp(cum[t])
//   intra   the stored C.B^T times this head's decays (a bf16 pair product
//           per pair) as register A against x [keys][P] in shared memory
//           (MN-major: transpose-B), accumulated onto the inter part
//   y       = inter + intra + D x, from the accumulators, rounded to bf16
//           and staged in shared memory over the entering state (once both
//           warpgroups' inter parts have read it), then stored as whole
//           128-byte rows (the accumulator layout's 4-byte stores used half
//           of each sector they wrote)
//
// The decays are SSD.cuh's, sub-blocks of 16 tokens (a warp's 16 rows are
// one sub-block), with the fast exponential; the weights take one more bf16
// rounding than the mma.sync grouped pass (y's rel-L2 2.5e-3 -> 2.7e-3 at
// bamba's shape). Every thread loads with cp.async: C and the chunk's B rows
// once, x and the entering state of each head into one of two slots (head
// i + 2 loads while head i + 1 computes).
//
// Scope (planSsd): sm_90a, bf16, head_dim a multiple of 64, 64 or 128
// states; the output pass also a chunk that is a multiple of 128. Elsewhere
// the entries trap; HIP never includes this header.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SSDHOPPER_CUH
#define BRAID_TARGETS_COMMON_KERNELS_SSDHOPPER_CUH

#ifndef BRAID_TARGETS_COMMON_KERNELS_SSD_CUH
#error "SSDHopper.cuh is included by SSD.cuh"
#endif

namespace braid {
namespace kern {

template <typename Cfg> struct SsdWgDims {
  using D = SsdDims<Cfg>;
  static constexpr int BT = 128, PT = 64; // token rows, head_dim columns
  static constexpr int L = D::L, N = D::N, HB = Cfg::kOutHeads;
  static constexpr int KB = L / 16; // 16-key steps of the chunk
  static constexpr int CPR = N / 8; // 16-byte chunks of a state row
  static constexpr int THREADS = 2 * dev::kWarpgroupSize;
  // bf16 elements of the shared regions (each a multiple of 1024 bytes).
  // The chunk's B rows, once C.B^T is computed, give their place to C.B^T
  // as A fragments: [warpgroup][key step][thread][4 words].
  // A slot's first region holds the entering state [PT][N], then the
  // head's outputs [BT][PT] staged for their stores: the larger of the two.
  static constexpr int kC = BT * N, kX = L * PT;
  static constexpr int kH = PT * N > BT *PT ? PT *N : BT *PT;
  static constexpr int kCB = 2 * KB * dev::kWarpgroupSize * 4 * 2;
  static constexpr int kB = L * N > kCB ? L *N : kCB;
  static constexpr int kSlot = kH + kX;
  static_assert(std::is_same<typename Cfg::E, bf16>::value,
                "wgmma ssd output: bf16");
  static_assert(N == 64 || N == 128, "wgmma ssd output: 64 or 128 states");
  static_assert(L % BT == 0, "wgmma ssd output: chunk of 128-token tiles");
  static_assert(D::BT == BT && D::PT3 == PT && D::P % PT == 0,
                "wgmma ssd output: 8 warps, 64-column head_dim tiles");
  static_assert(HB >= 1 && D::HPG % HB == 0,
                "wgmma ssd output: head groups straddle a group");
  static_assert(KB <= 32, "wgmma ssd output: a lane per key block");
};

/// Kernel 1 on wgmma (kStateWg): S_c[p][n] = sum_s w[s] x[s][p] B[s][n] for
/// one chunk, head and 64 rows of head_dim, every state. The chunk's x
/// [L][64] and B [L][N] land in shared memory (128-byte swizzle, MN-major
/// for this product: A = x^T stored [K][M], B stored [K][N]) in k-tiles of
/// kStateWgRows rows (the whole chunk, or two buffers of smaller tiles, the
/// next loading while this one computes); x's rows are scaled by w in place;
/// then wgmma m64nNk16 with both transpose bits. One warpgroup a block.
template <typename Cfg>
BRAID_DEVICE void ssdChunkStateWg(const BraidKernelParams &p) {
#if defined(BRAID_HAS_WGMMA)
  using D = SsdDims<Cfg>;
  constexpr int L = D::L, N = D::N, CPR = N / 8;
  constexpr int KT = Cfg::kStateWgRows; // rows of a k-tile (L: the chunk)
  constexpr int ST = KT == L ? 1 : 2;   // tile buffers
  constexpr int THREADS = dev::kWarpgroupSize;
  static_assert(std::is_same<typename Cfg::E, bf16>::value &&
                    (N == 64 || N == 128) && D::P % 64 == 0 && D::NT1 == N,
                "wgmma ssd chunk states: bf16, 64 or 128 states, 64-row tiles");
  static_assert(KT % 16 == 0 && L % KT == 0,
                "wgmma ssd chunk states: k-tiles of whole key steps");
  extern __shared__ __align__(128) unsigned char ssdWgStateSmem[];
  bf16 *tiles = reinterpret_cast<bf16 *>(dev::alignShared1024(ssdWgStateSmem));
  float *sDt = reinterpret_cast<float *>(tiles + ST * KT * (64 + N));
  float *sCl = sDt + L, *sW = sCl + L, *sPfx = sW + L;

  const int T = int(p.tokens), b = dev::blockIdZ(), c = dev::blockIdX();
  const int h = dev::blockIdY() / D::GRID1, tile = dev::blockIdY() % D::GRID1;
  const int chunks = ceilDiv(T, L), cL = c * L, n = min(L, T - cL);
  if (c >= chunks || tile >= D::TILES1)
    return;
  const int g = h / D::HPG, p0 = tile * 64, tid = dev::threadId();
  const int nt = ceilDiv(n, KT); // k-tiles holding rows of the chunk
  const bf16 *x = dev::buffer<const bf16>(p, Cfg::kX);
  const bf16 *Bm = dev::buffer<const bf16>(p, Cfg::kB);

  // k-tile it: x rows [it KT, it KT + KT) as [KT][64] and B's as [KT][N]
  // (MN-major for this product), in buffer it % ST; rows past the chunk's
  // end read as zeros. A thread's share is the same in every k-tile: x
  // chunk xc of rows xr + XSTEP j and B chunk bc of rows br + BSTEP j. Both
  // steps are multiples of 8 rows, so a thread's rows share one swizzle
  // phase and its shared offsets and sources move by constants.
  constexpr int XSTEP = THREADS / 8, BSTEP = THREADS / CPR;
  static_assert(XSTEP % 8 == 0 && BSTEP % 8 == 0 && KT % XSTEP == 0 &&
                    KT % BSTEP == 0,
                "wgmma ssd chunk states: whole row steps per k-tile");
  const int xc = tid % 8, xr = tid / 8, bc = tid % CPR, br = tid / CPR;
  const int xOff = dev::sw128Offset<KT>(xr, xc);
  const int bOff = dev::sw128Offset<KT>(br, bc);
  const bf16 *xSrc =
      x + ((int64_t(b) * T + cL + xr) * D::H + h) * D::P + p0 + xc * 8;
  const bf16 *bSrc = Bm + ((int64_t(b) * T + cL + br) * D::G + g) * N + bc * 8;
  auto load = [&](int it) {
    bf16 *sX = tiles + (it % ST) * KT * (64 + N), *sB = sX + KT * 64;
    const int s0 = it * KT;
    const bf16 *xs = xSrc + int64_t(s0) * D::H * D::P;
    const bf16 *bs = bSrc + int64_t(s0) * D::G * N;
#pragma unroll
    for (int j = 0; j < KT / XSTEP; ++j) {
      const bool ok = s0 + xr + j * XSTEP < n;
      dev::cpAsync16(sX + xOff + j * XSTEP * 64,
                     ok ? xs + int64_t(j) * XSTEP * D::H * D::P : x, ok);
    }
#pragma unroll
    for (int j = 0; j < KT / BSTEP; ++j) {
      const bool ok = s0 + br + j * BSTEP < n;
      dev::cpAsync16(sB + bOff + j * BSTEP * 64,
                     ok ? bs + int64_t(j) * BSTEP * D::G * N : Bm, ok);
    }
  };
  load(0);
  dev::cpAsyncCommit();
  ssdChunkStats<Cfg, THREADS>(p, b, h, cL, T, sDt, sCl, sPfx);
  for (int s = tid; s < L; s += THREADS) {
    const int u = s / D::SB;
    const float tot = sCl[u * D::SB + D::SB - 1];
    sW[s] = sDt[s] * expf((sPfx[D::NSB - 1] - sPfx[u]) + (tot - sCl[s]));
  }

  float acc[N / 2];
#pragma unroll 1
  for (int it = 0; it < nt; ++it) {
    if (ST == 2 && it + 1 < nt)
      load(it + 1); // into the buffer tile it - 1's wgmma are done with
    dev::cpAsyncCommit();
    dev::cpAsyncWait<1>(); // tile it has landed
    dev::syncThreads();
    // x rows times w: the chunks this thread copied, 8 values each.
    bf16 *sX = tiles + (it % ST) * KT * (64 + N), *sB = sX + KT * 64;
    const int s0 = it * KT, rows = min(KT, n - s0);
#pragma unroll
    for (int j = 0; j < KT / XSTEP; ++j) {
      const int r = xr + j * XSTEP;
      if (r >= rows)
        continue;
      uint4 *q = reinterpret_cast<uint4 *>(sX + xOff + j * XSTEP * 64);
      uint4 v = *q;
      const float w = sW[s0 + r];
      uint32_t *e = reinterpret_cast<uint32_t *>(&v);
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const float2 f = dev::unpackBf16x2(e[k]);
        e[k] = dev::packBf16x2(f.x * w, f.y * w);
      }
      *q = v;
    }
    dev::fenceProxyAsyncShared();
    dev::syncThreads();
    dev::wgmmaPin(acc);
    dev::wgmmaFence();
    const uint64_t descX = dev::wgmmaDescSw128Mn(sX, KT * 128);
    const uint64_t descB = dev::wgmmaDescSw128Mn(sB, KT * 128);
#pragma unroll
    for (int kk = 0; kk < KT / 16; ++kk) {
      const uint64_t da = dev::wgmmaDescAdd(descX, kk * 16 * 64 * 2);
      const uint64_t db = dev::wgmmaDescAdd(descB, kk * 16 * 64 * 2);
      if constexpr (N == 128)
        dev::wgmmaBf16_m64n128k16<1, 1>(acc, da, db, it > 0 || kk > 0);
      else
        dev::wgmmaBf16_m64n64k16<1, 1>(acc, da, db, it > 0 || kk > 0);
    }
    dev::wgmmaCommit();
    dev::wgmmaWait<0>();
    dev::wgmmaPin(acc);
  }

  // The state rows [64][N] (fp32) are one contiguous run of the workspace:
  // staged in the tile buffers (free once every warp's wgmma is done), then
  // stored 16 bytes a lane in whole rows.
  SsdWorkspace<Cfg> ws(p, chunks);
  constexpr int LDS = N + 8; // floats a staged row: no bank conflicts
  static_assert(64 * LDS * 4 <= ST * KT * (64 + N) * 2,
                "wgmma ssd chunk states: the staged tile fits the buffers");
  float *stage = reinterpret_cast<float *>(tiles);
  dev::syncThreads();
  {
    const int r0 = 16 * (tid / dev::kWarpSize) + dev::laneId() / 4;
    const int c0 = 2 * (dev::laneId() % 4);
#pragma unroll
    for (int hh = 0; hh < 2; ++hh)
#pragma unroll
      for (int j = 0; j < N / 8; ++j)
        *reinterpret_cast<float2 *>(stage + (r0 + 8 * hh) * LDS + 8 * j + c0) =
            make_float2(acc[4 * j + 2 * hh], acc[4 * j + 2 * hh + 1]);
  }
  dev::syncThreads();
  float *out = ws.states + SsdWorkspace<Cfg>::cell(b, chunks, c, h) * D::P * N +
               int64_t(p0) * N;
#pragma unroll
  for (int i = tid; i < 64 * N / 4; i += THREADS) {
    const int r = i / (N / 4), c4 = i % (N / 4);
    *reinterpret_cast<float4 *>(out + int64_t(r) * N + 4 * c4) =
        *reinterpret_cast<const float4 *>(stage + r * LDS + 4 * c4);
  }
  if (tile == 0 && tid == 0)
    ws.decay[SsdWorkspace<Cfg>::cell(b, chunks, c, h)] = expf(sPfx[D::NSB - 1]);
#else
  (void)p;
  __trap();
#endif
}

template <typename Cfg>
BRAID_DEVICE void ssdChunkOutputWg(const BraidKernelParams &p) {
#if defined(BRAID_HAS_WGMMA)
  using D = SsdDims<Cfg>;
  using G = SsdWgDims<Cfg>;
  using W = typename D::W;
  constexpr int BT = G::BT, L = G::L, N = G::N, HB = G::HB, KB = G::KB;
  constexpr int CPR = G::CPR, THREADS = G::THREADS;
  constexpr int WGT = dev::kWarpgroupSize;
  extern __shared__ __align__(128) unsigned char ssdWgSmem[];
  bf16 *sC = reinterpret_cast<bf16 *>(dev::alignShared1024(ssdWgSmem));
  bf16 *sB = sC + G::kC;
  uint32_t *sCB = reinterpret_cast<uint32_t *>(sB);
  bf16 *slots = sB + G::kB;
  float *stats = reinterpret_cast<float *>(slots + 2 * G::kSlot);

  const int T = int(p.tokens);
  // Under programmatic dependent launch this kernel starts while the state
  // pass still runs (BRAID_SSD_ENTRIES: it reads first). Until its wait it
  // reads only the op's inputs C, B, x, dt and its weights: their writers ran
  // before the chunk-state kernel, whose plain prologue orders them before
  // this kernel's start (docs/cuda.md). The entering states (the pass's
  // output) load after the wait, y is written after it, and a block with no
  // tile waits before it leaves.
  const int b = dev::blockIdZ();
  const int h0 = (dev::blockIdY() / D::PTILES3) * HB;
  const int p0 = (dev::blockIdY() % D::PTILES3) * G::PT;
  const int t0 = dev::blockIdX() * BT;
  if (T <= Cfg::kSeqMax || t0 >= T) {
    dev::waitForPrerequisiteGrids();
    return;
  }
  const int chunks = ceilDiv(T, L), c = t0 / L, cL = c * L;
  const int tl0 = t0 - cL, g = h0 / D::HPG;
  const int kRows = tl0 + BT; // chunk rows up to this tile's last one
  // 64-key chunks the block's rows see. ptxas treats values of the block
  // index as uniform, of the thread index not: a wgmma under a condition on
  // the warpgroup would be serialized (C7520). The first warpgroup's keys
  // past its rows get zero weights.
  const int nkc = kRows / 64;

  const bf16 *x = dev::buffer<const bf16>(p, Cfg::kX);
  const bf16 *Bm = dev::buffer<const bf16>(p, Cfg::kB);
  const bf16 *Cm = dev::buffer<const bf16>(p, Cfg::kC);
  bf16 *y = dev::buffer<bf16>(p, Cfg::kY);
  SsdWorkspace<Cfg> ws(p, chunks);
  const int tid = dev::threadId();

  // Rows of N states (C, B, the entering state): thread tid copies chunk
  // nc of rows nr + NSTEP j. NSTEP is a multiple of 8 rows, so a thread's
  // rows share one swizzle phase and its offsets move by constants.
  constexpr int NSTEP = THREADS / CPR;
  static_assert(NSTEP % 8 == 0 && BT % NSTEP == 0 && G::PT % NSTEP == 0,
                "wgmma ssd output: whole row steps per state-row load");
  const int nc = tid % CPR, nr = tid / CPR;
  // Rows past T read as zeros: a zero weight times stale shared memory
  // could be NaN.
  {
    const int cOff = dev::sw128Offset<BT>(nr, nc);
    const bf16 *cSrc =
        Cm + ((int64_t(b) * T + t0 + nr) * D::G + g) * N + nc * 8;
#pragma unroll
    for (int j = 0; j < BT / NSTEP; ++j) {
      const bool ok = t0 + nr + j * NSTEP < T;
      dev::cpAsync16(sC + cOff + j * NSTEP * 64,
                     ok ? cSrc + int64_t(j) * NSTEP * D::G * N : Cm, ok);
    }
    const int bOff = dev::sw128Offset<L>(nr, nc);
    const bf16 *bSrc =
        Bm + ((int64_t(b) * T + cL + nr) * D::G + g) * N + nc * 8;
#pragma unroll
    for (int j = 0; j < L / NSTEP; ++j) {
      const int r = nr + j * NSTEP;
      if (r >= kRows)
        break;
      const bool ok = cL + r < T;
      dev::cpAsync16(sB + bOff + j * NSTEP * 64,
                     ok ? bSrc + int64_t(j) * NSTEP * D::G * N : Bm, ok);
    }
  }
  dev::cpAsyncCommit();
  // The head loads: what does not change from head to head (a thread's
  // rows, chunks, shared offsets and source addresses for head h0) is
  // computed once; x: thread tid copies chunk tid % 8 of rows tid / 8 +
  // RSTEP j, the entering state as C and B above.
  constexpr int RSTEP = THREADS / 8;
  const int xcc = tid % 8, xr0 = tid / 8;
  const int xOff = dev::sw128Offset<L>(xr0, xcc);
  const bf16 *xHead0 =
      x + ((int64_t(b) * T + cL + xr0) * D::H + h0) * D::P + p0 + xcc * 8;
  static_assert(RSTEP % 8 == 0, "wgmma ssd output: whole x row steps");
  const int eOff = dev::sw128Offset<G::PT>(nr, nc);
  const bf16 *enterHead0 =
      ws.enter + SsdWorkspace<Cfg>::cell(b, chunks, c, h0) * D::P * N +
      int64_t(p0 + nr) * N + nc * 8;
  // Head i's entering state [PT][N] (written by the state pass: after the
  // wait).
  auto loadEnter = [&](int i) {
    bf16 *sH = slots + (i & 1) * G::kSlot + eOff;
    const bf16 *enter = enterHead0 + int64_t(i) * D::P * N;
#pragma unroll
    for (int j = 0; j < G::PT / NSTEP; ++j)
      dev::cpAsync16(sH + j * NSTEP * 64, enter + int64_t(j) * NSTEP * N, true);
  };
  // Head i's x rows (an input: may load before the wait).
  auto loadX = [&](int i) {
    bf16 *sX = slots + (i & 1) * G::kSlot + G::kH + xOff;
    const bf16 *src = xHead0 + i * D::P;
#pragma unroll
    for (int j = 0; j < L / RSTEP; ++j) {
      const int r = xr0 + j * RSTEP;
      if (r >= kRows)
        break;
      const bool ok = cL + r < T;
      dev::cpAsync16(sX + j * RSTEP * 64,
                     ok ? src + int64_t(j) * RSTEP * D::H * D::P : x, ok);
    }
  };
  // Groups: C and B; x of heads 0 and 1; after the wait the entering states
  // of heads 0 and 1; then one group a head (x and state of head i + 2), so
  // that waiting for all groups but the newest finds head i whole.
  loadX(0);
  dev::cpAsyncCommit();
  if (HB > 1)
    loadX(1);
  dev::cpAsyncCommit();
  ssdChunkStatsHeads<Cfg, HB, THREADS>(p, b, h0, cL, T, stats);
  dev::cpAsyncWait<2>(); // C and B have landed
  dev::fenceProxyAsyncShared();
  dev::syncThreads();

  // This thread's rows (accumulator layout: warp w of the warpgroup holds
  // rows 16 w + lane / 4 and + 8; registers 4 n + {0, 1} columns 8 n +
  // 2 (lane % 4) + {0, 1} of the first, 4 n + {2, 3} of the second).
  const int wg = dev::warpgroupId(); // uniform: the descriptors too
  // Named barriers (0 is syncThreads): warpgroup w arrives on kInterDone + w
  // once its inter part has read the entering state, which the other
  // warpgroup then overwrites with its staged outputs; kStaged + w orders a
  // warpgroup's staging stores before its row reads.
  constexpr int kInterDone = 1, kStaged = 3;
  const int wtid = tid % WGT, lane = dev::laneId();
  const int wr0 = 64 * wg;
  const int tw = tl0 + wr0 + 16 * (wtid / dev::kWarpSize);
  const int u = tw / D::SB; // the warp's sub-block = its diagonal key step
  const int rowA = tw + (lane >> 2), colT = 2 * (lane & 3);
  // e^x on the hardware unit (ex2.approx.ftz: decays below 2^-126 flush to
  // zero, which changes no bf16 sum they enter): two instructions, where
  // __expf's denormal fix-up takes six.
  auto expFast = [](float v) { return dev::exp2Fast(v * 1.4426950408889634f); };
  // Descriptors are moved on by constant offsets (wgmmaDescAdd,
  // sw128KStepBytes).
  const uint64_t descC = dev::wgmmaDescSw128(sC + wr0 * 64);
  // d = C (the warpgroup's 64 rows) times the 64 rows of `rhs` (a K-major
  // tile of `rhsRows` rows over the N states) transposed: issued, not
  // committed.
  auto issueTimesC = [&](float(&d)[32], const bf16 *rhs, int rhsRows) {
    const uint64_t descR = dev::wgmmaDescSw128(rhs);
    dev::wgmmaPin(d);
    dev::wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < N / 16; ++kk) {
      dev::wgmmaBf16_m64n64k16(
          d, dev::wgmmaDescAdd(descC, dev::sw128KStepBytes(BT, kk)),
          dev::wgmmaDescAdd(descR, dev::sw128KStepBytes(rhsRows, kk)), kk > 0);
    }
  };

  // C.B^T of the warpgroup's rows, 64 keys at a time, rounded to bf16 A
  // fragments (keys 16 kb .. + 15 are accumulator blocks 2 (kb % 4) and
  // 2 (kb % 4) + 1 of the chunk's product), then stored over the B rows
  // once every warpgroup is done with them.
  {
    uint32_t cb[KB][4];
#pragma unroll
    for (int kc = 0; kc < KB / 4; ++kc) {
      if (kc >= nkc)
        break;
      float s[32];
      issueTimesC(s, sB + kc * 64 * 64, L);
      dev::wgmmaCommit();
      dev::wgmmaWait<0>();
      dev::wgmmaPin(s);
#pragma unroll
      for (int kk = 0; kk < 4; ++kk)
#pragma unroll
        for (int r = 0; r < 4; ++r)
          cb[4 * kc + kk][r] =
              dev::packBf16x2(s[8 * kk + 2 * r], s[8 * kk + 2 * r + 1]);
    }
    dev::syncThreads(); // every warpgroup is done with the B rows
#pragma unroll
    for (int kb = 0; kb < KB; ++kb)
      if (kb < 4 * nkc)
        *reinterpret_cast<uint4 *>(sCB + ((wg * KB + kb) * WGT + wtid) * 4) =
            make_uint4(cb[kb][0], cb[kb][1], cb[kb][2], cb[kb][3]);
  }
  const uint32_t *myCB = sCB + (wg * KB * WGT + wtid) * 4;

  dev::waitForPrerequisiteGrids(); // the state pass has completed
  loadEnter(0);
  dev::cpAsyncCommit();
  if (HB > 1)
    loadEnter(1);
  dev::cpAsyncCommit();

  for (int i = 0; i < HB; ++i) {
    dev::cpAsyncWait<1>(); // head i landed (head i + 1 may fly)
    dev::fenceProxyAsyncShared();
    dev::syncThreads(); // (the first: C.B^T is stored)
    const int h = h0 + i;
    const bf16 *sH = slots + (i & 1) * G::kSlot, *sX = sH + G::kH;
    const float *sDt = stats + i * D::kStats;
    const float *sCl = sDt + L, *sW = sCl + L, *sPfx = sW + L;
    const float pfxBefore = u > 0 ? sPfx[u - 1] : 0.f;
    // D of this head, loaded now for the epilogue.
    const float dskip =
        Cfg::kD >= 0 ? dev::toFloat(dev::buffer<const W>(p, Cfg::kD)[h]) : 0.f;
    float rowCl[2], rowF[2];
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      rowCl[hh] = sCl[rowA + 8 * hh];
      rowF[hh] = expFast(rowCl[hh]);
    }
    // The weights of the diagonal step (keys of the warp's own sub-block):
    // exp(cl[t] - cl[s]) dt'[s] for s <= t, as bf16 pairs. Register r of a
    // fragment holds row rowA + 8 (r & 1), keys 16 kb + 8 (r >> 1) + colT +
    // {0, 1}. Both products are formed and the mask selects (keys past t
    // may give inf, never chosen): no branches.
    uint32_t diagW[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int hh = r & 1, s0 = 16 * u + 8 * (r >> 1) + colT;
      const int t = rowA + 8 * hh;
      const float2 cl = *reinterpret_cast<const float2 *>(sCl + s0);
      const float2 dt = *reinterpret_cast<const float2 *>(sDt + s0);
      const float e0 = expFast(rowCl[hh] - cl.x) * dt.x;
      const float e1 = expFast(rowCl[hh] - cl.y) * dt.y;
      diagW[r] = dev::packBf16x2(s0 <= t ? e0 : 0.f, s0 + 1 <= t ? e1 : 0.f);
    }

    // Inter-chunk part, issued first: C . H_in^T.
    float acc[32];
    issueTimesC(acc, sH, G::PT);
    dev::wgmmaCommit();

    // The intra-chunk part, 64 keys (four wgmma) at a time; the weights of
    // chunk kc are formed while chunk kc - 1's wgmma run, into the other of
    // two fragment buffers. Off the diagonal (s in a sub-block kb < u) the
    // weight is exp(cl[t]) exp(Pfx[u-1] - Pfx[kb]) sW[s]; past it, zero.
    // The decay from key block kb to the warp's sub-block, exp(Pfx[u-1] -
    // Pfx[kb]) for kb < u, else 0, is lane kb's: one shuffle a key step.
    const float blkAll = expFast(pfxBefore - sPfx[lane < KB ? lane : 0]);
    const float blkLane = lane < u ? blkAll : 0.f;
    auto weights = [&](int kc, uint32_t(&af)[4][4]) {
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const int kb = 4 * kc + k;
        const uint4 cb4 = *reinterpret_cast<const uint4 *>(myCB + kb * WGT * 4);
        const uint32_t cb[4] = {cb4.x, cb4.y, cb4.z, cb4.w};
        const float blk = dev::shflIdx(blkLane, kb);
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          const int hh = r & 1, s0 = 16 * kb + 8 * (r >> 1) + colT;
          const float2 sw = *reinterpret_cast<const float2 *>(sW + s0);
          const float f = rowF[hh] * blk;
          const uint32_t w =
              kb == u ? diagW[r] : dev::packBf16x2(f * sw.x, f * sw.y);
          af[k][r] = dev::mulBf16x2(cb[r], w);
        }
      }
    };
    const uint64_t descX = dev::wgmmaDescSw128Mn(sX, L * 128);
    auto issue = [&](int kc, uint32_t(&af)[4][4]) {
      dev::wgmmaPin(acc);
      dev::wgmmaPin(af);
      dev::wgmmaFence();
#pragma unroll
      for (int k = 0; k < 4; ++k)
        dev::wgmmaBf16_m64n64k16_rsT(
            acc, af[k], dev::wgmmaDescAdd(descX, (4 * kc + k) * 16 * 64 * 2),
            1);
      dev::wgmmaCommit();
    };
    uint32_t afA[4][4], afB[4][4];
    weights(0, afA);
    dev::wgmmaWait<0>(); // the inter part
    dev::wgmmaPin(acc);
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const float f = expFast(pfxBefore + rowCl[hh]);
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        acc[4 * n + 2 * hh] *= f;
        acc[4 * n + 2 * hh + 1] *= f;
      }
    }
    // This warpgroup is done with the slot's entering state.
    if (wg == 0)
      dev::namedBarrierArrive(kInterDone, THREADS);
    else
      dev::namedBarrierArrive(kInterDone + 1, THREADS);
    issue(0, afA);
#pragma unroll
    for (int kc = 1; kc < KB / 4; ++kc) {
      if (kc >= nkc)
        break;
      dev::wgmmaWait<1>(); // chunk kc - 2 is done with this buffer
      if (kc & 1) {
        weights(kc, afB);
        issue(kc, afB);
      } else {
        weights(kc, afA);
        issue(kc, afA);
      }
    }
    dev::wgmmaWait<0>();
    dev::wgmmaPin(acc);

    // y = acc + D x (x of these rows is in the slot), rounded to bf16 and
    // staged as the tile [BT][PT] over the slot's entering state (16-byte
    // chunk n of row r at chunk n ^ (r % 8): conflict-free), once the other
    // warpgroup's inter part no longer reads it; then stored as whole
    // 128-byte rows, 16 bytes a lane.
    bf16 *sY = slots + (i & 1) * G::kSlot;
    if (wg == 0) // constant barrier ids
      dev::namedBarrierSync(kInterDone + 1, THREADS);
    else
      dev::namedBarrierSync(kInterDone, THREADS);
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int tr = rowA + 8 * hh, sr = tr - tl0;
      uint32_t *yRow = reinterpret_cast<uint32_t *>(sY + sr * G::PT);
#pragma unroll
      for (int n = 0; n < 8; ++n) {
        const float2 xv = dev::unpackBf16x2(*reinterpret_cast<const uint32_t *>(
            sX + dev::sw128Offset<L>(tr, n) + colT));
        yRow[((n ^ (sr & 7)) * 8 + colT) / 2] =
            dev::packBf16x2(acc[4 * n + 2 * hh] + dskip * xv.x,
                            acc[4 * n + 2 * hh + 1] + dskip * xv.y);
      }
    }
    if (wg == 0) // this warpgroup's rows are staged
      dev::namedBarrierSync(kStaged, WGT);
    else
      dev::namedBarrierSync(kStaged + 1, WGT);
#pragma unroll
    for (int j = 0; j < 64 * 8 / WGT; ++j) {
      const int q = wtid + j * WGT, sr = wr0 + q / 8, cc = q % 8;
      const int t = t0 + sr;
      if (t < T)
        *reinterpret_cast<uint4 *>(
            y + ((int64_t(b) * T + t) * D::H + h) * D::P + p0 + cc * 8) =
            *reinterpret_cast<const uint4 *>(sY + sr * G::PT +
                                             (cc ^ (sr & 7)) * 8);
    }
    dev::syncThreads(); // every warp is done with slot i & 1
    if (i + 2 < HB) {
      loadX(i + 2);
      loadEnter(i + 2);
    }
    dev::cpAsyncCommit();
  }
#else
  (void)p;
  __trap();
#endif
}

} // namespace kern
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_SSDHOPPER_CUH
