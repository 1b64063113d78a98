//===- Mamba2Step.cuh - one Mamba2 mixer step of decode (mamba2_step) ----===//
//
// The decode launch of a Mamba2 mixer (passes/DecodeFusion.h has the
// contract): per sequence one token (T = 1) goes through the causal conv
// with its state, the [x, B, C] split, the SSD state update, the D skip and
// the gate. Two kernels:
//
//   <prefix>_update  grid (H * P / ROWS, B)  one block per head and ROWS
//                    rows of head_dim: conv of its x channels (and their
//                    conv state) and of its group's B and C channels (read
//                    only), the state update of its rows, y = C.h + D x, the
//                    gate; with a norm, y and the block's sum of squares
//                    (into the workspace) for the second kernel. Its state
//                    rows are loaded into registers before it waits for the
//                    previous kernel; from 17 rows (B * T)
//                    `<prefix>_update_tile` runs instead, the same with its
//                    state rows copied into shared memory before the wait.
//   <prefix>_finish  grid (ceil(max(H*P, 2*G*N) / 256), B)  the norm of
//                    the gated output, and the new conv state of the B and
//                    C channels.
//
// Why two: every head of a group reads the B and C channels' conv state, so
// their update must wait until all heads have read it, and the norm's sum of
// squares runs over all heads of a group (every head, in Bamba): both are a
// dependency across blocks, and the kernel boundary is the cheapest
// grid-wide barrier that also holds on AMD. Against the unfused decode (conv,
// split, three scan kernels of which two return at once, gated norm: six
// kernels) the step runs two, and no conv output, split piece or ungated
// scan output reaches memory except y itself.
//
// Numerics follow the unfused kernels: the conv output, y and the SiLU gate
// are rounded to the activation type where those kernels store them, the
// state stays f32, and the norm's sum of squares is of the same f32 values
// (only its summation order differs).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_MAMBA2STEP_CUH
#define BRAID_TARGETS_COMMON_KERNELS_MAMBA2STEP_CUH

#include "targets/common/kernels/DenseCommon.cuh"
#include "targets/common/kernels/SSD.cuh"

namespace braid {
namespace kern {

/// Buffer indices of the launch contract.
enum Mamba2StepBuffer : int {
  kStepXbc = 0,
  kStepConvW,
  kStepConvBias,
  kStepConvState,
  kStepDt,
  kStepA,
  kStepD,
  kStepDtBias,
  kStepSsmState,
  kStepZ,
  kStepNormW,
  kStepY,
  kStepConvStateOut,
  kStepSsmStateOut
};

enum class StepGate : int { None = 0, Norm = 1, Silu = 2 };

template <typename Cfg> struct StepDims {
  using E = typename Cfg::E; // xBC, dt, z, y
  using W = typename Cfg::W; // conv weight and bias, A, D, dt_bias, norm
  static constexpr int H = Cfg::kHeads, P = Cfg::kHeadDim, G = Cfg::kGroups;
  static constexpr int N = Cfg::kState, K = Cfg::kConvK, HIST = K - 1;
  static constexpr int HP = H * P, GN = G * N, CH = HP + 2 * GN;
  static constexpr int ROWS = Cfg::kRows, TILES = P / ROWS, HPG = H / G;
  static constexpr int kThreads = 4 * dev::kWarpSize;
  // State rows: TPR lanes per row, each holding N / TPR states as float4s.
  static constexpr int TPR = Cfg::kLanesPerRow, V4 = N / (4 * TPR);
  static constexpr int RPP = kThreads / TPR, PASSES = dev::ceilDiv(ROWS, RPP);
  // The conv: ROWS x channels and the group's 2 N B and C channels.
  static constexpr int CONV_PASSES = dev::ceilDiv(ROWS + 2 * N, kThreads);
  // The finishing kernel: 256 threads, one channel each.
  static constexpr int kFinishThreads = 256;
  static constexpr int NORM_GROUP = Cfg::kNormGroup;
  static constexpr int PARTIALS = HP / ROWS; // per sequence
  static_assert(P % ROWS == 0 && N % (4 * TPR) == 0, "mamba2_step tiling");
  static_assert(Cfg::kGate != int(StepGate::Norm) || NORM_GROUP % ROWS == 0,
                "a block's rows must not straddle two norm groups");
};

/// dt' = clamp(softplus(dt + dt_bias)) as the scan computes it, from the
/// loaded dt and dt_bias.
template <typename Cfg> BRAID_DEVICE float stepDt(float dt, float dtBias) {
  float d = dt;
  if (Cfg::kHasDtBias)
    d += dtBias;
  return ssdDtLimits<Cfg>(d);
}

/// What the conv of one channel reads: its old state, its input, its
/// weights and bias.
template <typename Cfg> struct StepConvIn {
  using D = StepDims<Cfg>;
  float old[D::HIST > 0 ? D::HIST : 1], xin, w[D::K], bias;
};

/// Loads the conv inputs of channel `ch` of sequence `b` (one token).
template <typename Cfg>
BRAID_DEVICE void stepConvLoad(const BraidKernelParams &p, int64_t b, int ch,
                               StepConvIn<Cfg> &in) {
  using D = StepDims<Cfg>;
  using W = typename D::W;
  const W *w = dev::buffer<const W>(p, kStepConvW) + int64_t(ch) * D::K;
  const float *state =
      dev::buffer<const float>(p, kStepConvState) + (b * D::CH + ch) * D::HIST;
  in.xin = dev::toFloat(
      dev::buffer<const typename D::E>(p, kStepXbc)[b * D::CH + ch]);
  in.bias = Cfg::kHasConvBias
                ? dev::toFloat(dev::buffer<const W>(p, kStepConvBias)[ch])
                : 0.0f;
#pragma unroll
  for (int j = 0; j < D::HIST; ++j)
    in.old[j] = state[j];
#pragma unroll
  for (int j = 0; j < D::K; ++j)
    in.w[j] = dev::toFloat(w[j]);
}

/// The conv output of one channel, rounded to the activation type as the
/// conv kernel stores it.
template <typename Cfg> BRAID_DEVICE float stepConv(const StepConvIn<Cfg> &in) {
  using D = StepDims<Cfg>;
  float acc = in.bias;
#pragma unroll
  for (int j = 0; j < D::HIST; ++j)
    acc += in.w[j] * in.old[j];
  acc += in.w[D::HIST] * in.xin;
  if (Cfg::kConvSilu)
    acc = dev::siluF(acc);
  return dev::toFloat(dev::fromFloat<typename D::E>(acc));
}

/// The new conv state of channel `ch`: the last HIST inputs of [old, x].
template <typename Cfg>
BRAID_DEVICE void stepConvShift(const BraidKernelParams &p, int64_t b, int ch,
                                const float *old, float xin) {
  using D = StepDims<Cfg>;
  float *out =
      dev::buffer<float>(p, kStepConvStateOut) + (b * D::CH + ch) * D::HIST;
#pragma unroll
  for (int k = 0; k + 1 < D::HIST; ++k)
    out[k] = old[k + 1];
  if (D::HIST > 0)
    out[D::HIST - 1] = xin;
}

/// The SSM state is streamed once per step (read, updated, written, not
/// touched again by this launch, 268 MB per layer at B = 64, far past L2):
/// on CUDA its accesses are evict-first (ld/st.global.cs; the tile's copies
/// below with an evict-first L2 policy), 101 -> 97.5 us at B = 64 on H100
/// (test/gpu/SEQUENCE_NOTES.md); plain accesses on HIP.
BRAID_DEVICE float4 stepStateLoad(const float4 *p) {
#if defined(BRAID_CUDA)
  return __ldcs(p);
#else
  return *p;
#endif
}
BRAID_DEVICE void stepStateStore(float4 *p, float4 v) {
#if defined(BRAID_CUDA)
  __stcs(p, v);
#else
  *p = v;
#endif
}

/// The SSM state rows of one update block in shared memory (ROWS x N
/// floats, 16 KB in bamba-1.5b) for the `_update_tile` kernel, copied there
/// before its wait without passing through registers: held in registers
/// through the conv they raised the kernel from 55 to 72 registers, 9 -> 7
/// blocks per SM, 7 % slower at B = 64 (test/gpu/SEQUENCE_NOTES.md).
template <typename Cfg> struct StepStateTile {
  float4 v[StepDims<Cfg>::ROWS * (StepDims<Cfg>::N / 4)];
};

/// Where an update block's SSM state rows start (this sequence, head and
/// row range: ROWS rows of N / 4 float4s) and this thread's place in them:
/// lanes `sub` of row `rip` (+ RPP a pass) hold states 4 * sub + 4 * TPR * i
/// + 0..3.
template <typename Cfg> struct StepStateRows {
  const float4 *first;
  int sub, rip;
};
template <typename Cfg>
BRAID_DEVICE StepStateRows<Cfg> stepStateRows(const BraidKernelParams &p) {
  using D = StepDims<Cfg>;
  const int blk = dev::blockIdX(), b = dev::blockIdY();
  const int h = blk / D::TILES, row0 = (blk % D::TILES) * D::ROWS;
  return {reinterpret_cast<const float4 *>(
              dev::buffer<const float>(p, kStepSsmState) +
              (int64_t(b) * D::H + h) * D::P * D::N + int64_t(row0) * D::N),
          dev::threadId() % D::TPR, dev::threadId() / D::TPR};
}

/// Kernel 1, before its wait for the previous kernel: requests the block's
/// SSM state rows into `st` (cp.async: each thread copies the float4s that
/// it updates later). Only the
/// previous decode step's update of this layer (or the prefill, or a host
/// copy) wrote them, and that launch's finishing kernel, which begins with
/// BRAID_KERNEL_PROLOGUE, ran in between: they are complete and visible
/// even while the previous kernel of the stream still runs (docs/cuda.md,
/// reads first). They stream in while the previous kernel finishes and
/// then during the conv, instead of after the conv's round trips.
template <typename Cfg>
BRAID_DEVICE void mamba2StepLoadState(const BraidKernelParams &p,
                                      StepStateTile<Cfg> &st) {
  using D = StepDims<Cfg>;
  const StepStateRows<Cfg> in = stepStateRows<Cfg>(p);
  const float4 *stIn = in.first;
  const int sub = in.sub, rip = in.rip;
#if defined(BRAID_HAS_CP_ASYNC)
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n"
               : "=l"(policy));
#endif
#pragma unroll
  for (int ps = 0; ps < D::PASSES; ++ps) {
    const int r = ps * D::RPP + rip;
    if (r >= D::ROWS) // uniform per row: never read
      continue;
#pragma unroll
    for (int i = 0; i < D::V4; ++i) {
      const int k = r * (D::N / 4) + sub + D::TPR * i;
#if defined(BRAID_HAS_CP_ASYNC)
      asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, "
                   "%2;\n" ::"r"(dev::sharedAddress(&st.v[k])),
                   "l"(stIn + k), "l"(policy));
#else
      dev::cpAsync16(&st.v[k], stIn + k, true);
#endif
    }
  }
  dev::cpAsyncCommit();
}

/// The SSM state rows of one update block in the registers of the threads
/// that update them (the `_update` kernel, below kStepTileMinRows rows).
template <typename Cfg> struct StepStateRegs {
  float4 v[StepDims<Cfg>::PASSES][StepDims<Cfg>::V4];
};

/// Kernel 1, before its wait (the `_update` kernel): loads the block's SSM
/// state rows into registers, each thread the float4s it updates, for the
/// same reason and under the same rule as mamba2StepLoadState. At B = 1 the
/// block's 16 KB arrive while the previous kernel (in_proj) finishes; the
/// 32 extra registers a thread cost nothing there, where the grid is one
/// block per SM (test/gpu/SEQUENCE_NOTES.md).
template <typename Cfg>
BRAID_DEVICE void mamba2StepLoadRegs(const BraidKernelParams &p,
                                     StepStateRegs<Cfg> &st) {
  using D = StepDims<Cfg>;
  const StepStateRows<Cfg> in = stepStateRows<Cfg>(p);
  const float4 *stIn = in.first;
  const int sub = in.sub, rip = in.rip;
#pragma unroll
  for (int ps = 0; ps < D::PASSES; ++ps) {
    const int r = ps * D::RPP + rip;
#pragma unroll
    for (int i = 0; i < D::V4; ++i)
      st.v[ps][i] =
          r < D::ROWS ? stepStateLoad(stIn + r * (D::N / 4) + sub + D::TPR * i)
                      : make_float4(0.f, 0.f, 0.f, 0.f);
  }
}

/// Kernel 1 after the wait: conv, state update, D skip and gate for ROWS
/// rows of head h. The state rows were requested before the wait: into
/// shared memory `tile` (kTile, mamba2StepLoadState) or into registers
/// `regs` (mamba2StepLoadRegs).
template <typename Cfg, bool kTile>
BRAID_DEVICE void mamba2StepUpdate(BraidKernelParams p,
                                   const StepStateTile<Cfg> *tile,
                                   const StepStateRegs<Cfg> *regs) {
  using D = StepDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  __shared__ float sX[D::ROWS], sZ[D::ROWS], sB[D::N], sC[D::N];
  __shared__ float scratch[dev::kWarpSize];
  const int blk = dev::blockIdX(), b = dev::blockIdY();
  const int h = blk / D::TILES, row0 = (blk % D::TILES) * D::ROWS;
  const int g = h / D::HPG;
  if (p.tokens != 1) { // the decode entry runs one token per sequence
#if defined(BRAID_HIP)
    __builtin_trap();
#else
    __trap();
#endif
  }

  // Conv of this block's x channels (their state is this block's alone)
  // and of its group's B and C channels (state read only: kernel 2 shifts
  // it once every head has read it). Every pass's loads come first, with
  // no branch or store (which might alias) between them, so that they are
  // all in flight at once: one round trip instead of one per pass. A thread
  // past the last channel loads the last channel's inputs and drops them.
  static_assert(D::ROWS <= D::kThreads, "x channels in the first conv pass");
  constexpr int CHANNELS = D::ROWS + 2 * D::N;
  StepConvIn<Cfg> in[D::CONV_PASSES];
#pragma unroll
  for (int pass = 0; pass < D::CONV_PASSES; ++pass) {
    const int i = min(dev::threadId() + pass * D::kThreads, CHANNELS - 1);
    const int ch = i < D::ROWS ? h * D::P + row0 + i
                   : i < D::ROWS + D::N
                       ? D::HP + g * D::N + (i - D::ROWS)
                       : D::HP + D::GN + g * D::N + (i - D::ROWS - D::N);
    stepConvLoad<Cfg>(p, b, ch, in[pass]);
  }
  // With them: the head's dt, dt_bias, A and D, and z of the block's rows
  // (for the gate, after the state update).
  const float dtIn =
      dev::toFloat(dev::buffer<const E>(p, kStepDt)[int64_t(b) * D::H + h]);
  const float dtBias =
      Cfg::kHasDtBias ? dev::toFloat(dev::buffer<const W>(p, kStepDtBias)[h])
                      : 0.0f;
  const float aH = dev::toFloat(dev::buffer<const W>(p, kStepA)[h]);
  const float dskip =
      Cfg::kHasD ? dev::toFloat(dev::buffer<const W>(p, kStepD)[h]) : 0.0f;
  const float zIn = Cfg::kGate != int(StepGate::None)
                        ? dev::toFloat(dev::buffer<const E>(
                              p, kStepZ)[int64_t(b) * D::HP + h * D::P + row0 +
                                         min(dev::threadId(), D::ROWS - 1)])
                        : 0.0f;
#pragma unroll
  for (int pass = 0; pass < D::CONV_PASSES; ++pass) {
    const int i = dev::threadId() + pass * D::kThreads;
    const float v = stepConv<Cfg>(in[pass]);
    if (i < D::ROWS)
      sX[i] = v;
    else if (i < D::ROWS + D::N)
      sB[i - D::ROWS] = v;
    else if (i < CHANNELS)
      sC[i - D::ROWS - D::N] = v;
  }
  if (dev::threadId() < D::ROWS) {
    sZ[dev::threadId()] = zIn;
    stepConvShift<Cfg>(p, b, h * D::P + row0 + dev::threadId(), in[0].old,
                       in[0].xin);
  }
  const float dt = stepDt<Cfg>(dtIn, dtBias);
  const float decay = expf(dt * aH);
  if constexpr (kTile)
    dev::cpAsyncWait<0>(); // the state rows; the barrier orders their reads
  dev::syncThreads();

  // State rows: lanes `sub` of a row hold states 4*sub + 4*TPR*i + 0..3.
  const int sub = dev::threadId() % D::TPR, rip = dev::threadId() / D::TPR;
  const int64_t stateBase = (int64_t(b) * D::H + h) * D::P * D::N;
  float4 *stOut = reinterpret_cast<float4 *>(
      dev::buffer<float>(p, kStepSsmStateOut) + stateBase);
  float4 st[D::PASSES][D::V4];
  if constexpr (!kTile) {
#pragma unroll
    for (int ps = 0; ps < D::PASSES; ++ps)
#pragma unroll
      for (int i = 0; i < D::V4; ++i)
        st[ps][i] = regs->v[ps][i];
  }
  E *y = dev::buffer<E>(p, kStepY) + int64_t(b) * D::HP + h * D::P + row0;
  float sumSq = 0.0f;
#pragma unroll
  for (int ps = 0; ps < D::PASSES; ++ps) {
    // Rows past ROWS (when RPP does not divide it) compute on zeros: every
    // lane of the warp reaches the shuffles of groupSum.
    const int r = ps * D::RPP + rip;
    const bool valid = r < D::ROWS;
    const float xv = valid ? sX[r] : 0.0f, dx = dt * xv;
    float acc = 0.0f;
#pragma unroll
    for (int i = 0; i < D::V4; ++i) {
      const int n = 4 * (sub + D::TPR * i);
      float4 s;
      if constexpr (kTile)
        s = valid ? tile->v[r * (D::N / 4) + sub + D::TPR * i]
                  : make_float4(0.f, 0.f, 0.f, 0.f);
      else
        s = st[ps][i];
      s.x = s.x * decay + dx * sB[n];
      s.y = s.y * decay + dx * sB[n + 1];
      s.z = s.z * decay + dx * sB[n + 2];
      s.w = s.w * decay + dx * sB[n + 3];
      acc += s.x * sC[n] + s.y * sC[n + 1] + s.z * sC[n + 2] + s.w * sC[n + 3];
      if (valid)
        stepStateStore(stOut + (row0 + r) * (D::N / 4) + sub + D::TPR * i, s);
    }
    acc = dev::groupSum<D::TPR>(acc);
    if (!valid || sub != 0)
      continue;
    // y as the scan stores it, then the gate as the unfused kernels do.
    const float yv = dev::toFloat(dev::fromFloat<E>(acc + dskip * xv));
    if constexpr (Cfg::kGate == int(StepGate::Silu)) {
      const float gate = dev::toFloat(dev::fromFloat<E>(dev::siluF(sZ[r])));
      y[r] = dev::fromFloat<E>(yv * gate);
    } else if constexpr (Cfg::kGate == int(StepGate::Norm)) {
      y[r] = dev::fromFloat<E>(yv);
      const float u = Cfg::kNormFirst ? yv : yv * dev::siluF(sZ[r]);
      sumSq = fmaf(u, u, sumSq);
    } else {
      y[r] = dev::fromFloat<E>(yv);
    }
  }
  if constexpr (Cfg::kGate == int(StepGate::Norm)) {
    sumSq = dev::blockSum(sumSq, scratch);
    if (dev::threadId() == 0)
      reinterpret_cast<float *>(p.workspace)[int64_t(b) * D::PARTIALS + blk] =
          sumSq;
  }
}

/// Kernel 2: the norm of kFinishThreads channels of y per block (with a
/// norm gate), one channel per thread so that every thread's loads are in
/// flight at once, and the new conv state of the B and C channels.
template <typename Cfg>
BRAID_DEVICE void mamba2StepFinish(BraidKernelParams p) {
  using D = StepDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  const int b = dev::blockIdY();
  if constexpr (Cfg::kGate == int(StepGate::Norm)) {
    constexpr int GROUP = D::NORM_GROUP, PER_GROUP = GROUP / D::ROWS;
    constexpr int MAXG = D::kFinishThreads / GROUP + 2;
    __shared__ float sSum[MAXG];
    const int c0 = dev::blockIdX() * D::kFinishThreads;
    if (c0 < D::HP) { // uniform over the block
      // The sums of the norm groups this block touches, a warp per group.
      const int q0 = c0 / GROUP;
      const int groups =
          (min(D::HP, c0 + D::kFinishThreads) - 1) / GROUP - q0 + 1;
      const float *partials = reinterpret_cast<const float *>(p.workspace) +
                              int64_t(b) * D::PARTIALS;
      for (int j = dev::warpId(); j < groups; j += dev::warpCount()) {
        float v = 0.0f;
        for (int i = dev::laneId(); i < PER_GROUP; i += dev::kWarpSize)
          v += partials[(q0 + j) * PER_GROUP + i];
        v = dev::warpSum(v);
        if (dev::laneId() == 0)
          sSum[j] = v;
      }
      const int c = c0 + dev::threadId();
      const bool live = c < D::HP;
      E *y = dev::buffer<E>(p, kStepY) + int64_t(b) * D::HP;
      const float yv = live ? dev::toFloat(y[c]) : 0.0f;
      const float zv = live ? dev::toFloat(dev::buffer<const E>(
                                  p, kStepZ)[int64_t(b) * D::HP + c])
                            : 0.0f;
      const float wv =
          live ? dev::toFloat(dev::buffer<const W>(p, kStepNormW)[c]) : 0.0f;
      dev::syncThreads();
      if (live) {
        const float inv =
            1.0f /
            sqrtf(sSum[c / GROUP - q0] * (1.0f / float(GROUP)) + Cfg::kEps);
        const float gate = dev::siluF(zv);
        y[c] = dev::fromFloat<E>(Cfg::kNormFirst ? wv * (yv * inv) * gate
                                                 : wv * ((yv * gate) * inv));
      }
    }
  }
  // Conv state of the B and C channels: every update block has read it.
  for (int i = dev::blockIdX() * D::kFinishThreads + dev::threadId();
       i < 2 * D::GN; i += dev::gridDimX() * D::kFinishThreads) {
    const int ch = D::HP + i;
    const float *state = dev::buffer<const float>(p, kStepConvState) +
                         (int64_t(b) * D::CH + ch) * D::HIST;
    float old[D::HIST > 0 ? D::HIST : 1];
#pragma unroll
    for (int j = 0; j < D::HIST; ++j)
      old[j] = state[j];
    const float xin = dev::toFloat(
        dev::buffer<const E>(p, kStepXbc)[int64_t(b) * D::CH + ch]);
    stepConvShift<Cfg>(p, b, ch, old, xin);
  }
}

} // namespace kern
} // namespace braid

// Two update kernels (the plan picks one by B * T, SequencePlans.h), both
// requesting their state rows before they wait, which relies on the
// finishing kernel keeping the plain prologue: `_update` into registers,
// `_update_tile` into shared memory.
#define BRAID_MAMBA2_STEP_ENTRIES(PREFIX, CFG)                                 \
  extern "C" __global__ void __launch_bounds__(                                \
      braid::kern::StepDims<CFG>::kThreads)                                    \
      PREFIX##_update(BraidKernelParams p) {                                   \
    BRAID_KERNEL_PROLOGUE_READS_FIRST();                                       \
    braid::kern::StepStateRegs<CFG> regs;                                      \
    braid::kern::mamba2StepLoadRegs<CFG>(p, regs);                             \
    braid::dev::waitForPrerequisiteGrids();                                    \
    braid::kern::mamba2StepUpdate<CFG, false>(p, nullptr, &regs);              \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(                                \
      braid::kern::StepDims<CFG>::kThreads)                                    \
      PREFIX##_update_tile(BraidKernelParams p) {                              \
    BRAID_KERNEL_PROLOGUE_READS_FIRST();                                       \
    __shared__ braid::kern::StepStateTile<CFG> tile;                           \
    braid::kern::mamba2StepLoadState<CFG>(p, tile);                            \
    braid::dev::waitForPrerequisiteGrids();                                    \
    braid::kern::mamba2StepUpdate<CFG, true>(p, &tile, nullptr);               \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(                                \
      braid::kern::StepDims<CFG>::kFinishThreads)                              \
      PREFIX##_finish(BraidKernelParams p) {                                   \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::mamba2StepFinish<CFG>(p);                                     \
  }

#endif // BRAID_TARGETS_COMMON_KERNELS_MAMBA2STEP_CUH
