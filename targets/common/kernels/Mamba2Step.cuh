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
//                    (into the workspace) for the second kernel.
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
  // The finishing kernel: 256 threads, one channel each.
  static constexpr int kFinishThreads = 256;
  static constexpr int NORM_GROUP = Cfg::kNormGroup;
  static constexpr int PARTIALS = HP / ROWS; // per sequence
  static_assert(P % ROWS == 0 && N % (4 * TPR) == 0, "mamba2_step tiling");
  static_assert(Cfg::kGate != int(StepGate::Norm) || NORM_GROUP % ROWS == 0,
                "a block's rows must not straddle two norm groups");
};

/// dt' = clamp(softplus(dt + dt_bias)) as the scan computes it.
template <typename Cfg>
BRAID_DEVICE float stepDt(const BraidKernelParams &p, int b, int h) {
  using D = StepDims<Cfg>;
  float d = dev::toFloat(
      dev::buffer<const typename D::E>(p, kStepDt)[int64_t(b) * D::H + h]);
  if (Cfg::kHasDtBias)
    d += dev::toFloat(dev::buffer<const typename D::W>(p, kStepDtBias)[h]);
  return ssdDtLimits<Cfg>(d);
}

/// Conv output of channel `ch` of sequence `b` (one token), rounded to the
/// activation type as the conv kernel stores it; the old state in `old`.
template <typename Cfg>
BRAID_DEVICE float
stepConv(const BraidKernelParams &p, int64_t b, int ch,
         float (&old)[StepDims<Cfg>::HIST > 0 ? StepDims<Cfg>::HIST : 1],
         float &xin) {
  using D = StepDims<Cfg>;
  using W = typename D::W;
  const W *w = dev::buffer<const W>(p, kStepConvW) + int64_t(ch) * D::K;
  const float *state =
      dev::buffer<const float>(p, kStepConvState) + (b * D::CH + ch) * D::HIST;
  xin = dev::toFloat(
      dev::buffer<const typename D::E>(p, kStepXbc)[b * D::CH + ch]);
  float acc = Cfg::kHasConvBias
                  ? dev::toFloat(dev::buffer<const W>(p, kStepConvBias)[ch])
                  : 0.0f;
#pragma unroll
  for (int j = 0; j < D::HIST; ++j) {
    old[j] = state[j];
    acc += dev::toFloat(w[j]) * old[j];
  }
  acc += dev::toFloat(w[D::HIST]) * xin;
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
/// on CUDA its loads and stores are evict-first (ld/st.global.cs), 101 ->
/// 97.5 us at B = 64 on H100 (test/gpu/SEQUENCE_NOTES.md); plain accesses
/// on HIP.
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

/// Kernel 1: conv, state update, D skip and gate for ROWS rows of head h.
template <typename Cfg>
BRAID_DEVICE void mamba2StepUpdate(BraidKernelParams p) {
  using D = StepDims<Cfg>;
  using E = typename D::E;
  using W = typename D::W;
  __shared__ float sX[D::ROWS], sB[D::N], sC[D::N];
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
  // it once every head has read it).
  for (int i = dev::threadId(); i < D::ROWS + 2 * D::N; i += D::kThreads) {
    const int ch = i < D::ROWS ? h * D::P + row0 + i
                   : i < D::ROWS + D::N
                       ? D::HP + g * D::N + (i - D::ROWS)
                       : D::HP + D::GN + g * D::N + (i - D::ROWS - D::N);
    float old[D::HIST > 0 ? D::HIST : 1], xin;
    const float v = stepConv<Cfg>(p, b, ch, old, xin);
    if (i < D::ROWS) {
      sX[i] = v;
      stepConvShift<Cfg>(p, b, ch, old, xin);
    } else if (i < D::ROWS + D::N) {
      sB[i - D::ROWS] = v;
    } else {
      sC[i - D::ROWS - D::N] = v;
    }
  }
  const float dt = stepDt<Cfg>(p, b, h);
  const float decay =
      expf(dt * dev::toFloat(dev::buffer<const W>(p, kStepA)[h]));
  const float dskip =
      Cfg::kHasD ? dev::toFloat(dev::buffer<const W>(p, kStepD)[h]) : 0.0f;
  dev::syncThreads();

  // State rows: lanes `sub` of a row hold states 4*sub + 4*TPR*i + 0..3.
  const int sub = dev::threadId() % D::TPR, rip = dev::threadId() / D::TPR;
  const int64_t stateBase = (int64_t(b) * D::H + h) * D::P * D::N;
  const float4 *stIn = reinterpret_cast<const float4 *>(
      dev::buffer<const float>(p, kStepSsmState) + stateBase);
  float4 *stOut = reinterpret_cast<float4 *>(
      dev::buffer<float>(p, kStepSsmStateOut) + stateBase);
  float4 st[D::PASSES][D::V4];
#pragma unroll
  for (int ps = 0; ps < D::PASSES; ++ps) {
    const int r = ps * D::RPP + rip;
#pragma unroll
    for (int i = 0; i < D::V4; ++i)
      st[ps][i] =
          r < D::ROWS
              ? stepStateLoad(stIn + (row0 + r) * (D::N / 4) + sub + D::TPR * i)
              : make_float4(0.f, 0.f, 0.f, 0.f);
  }
  E *y = dev::buffer<E>(p, kStepY) + int64_t(b) * D::HP + h * D::P + row0;
  const E *z = Cfg::kGate != int(StepGate::None)
                   ? dev::buffer<const E>(p, kStepZ) + int64_t(b) * D::HP +
                         h * D::P + row0
                   : nullptr;
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
      float4 &s = st[ps][i];
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
      const float gate =
          dev::toFloat(dev::fromFloat<E>(dev::siluF(dev::toFloat(z[r]))));
      y[r] = dev::fromFloat<E>(yv * gate);
    } else if constexpr (Cfg::kGate == int(StepGate::Norm)) {
      y[r] = dev::fromFloat<E>(yv);
      const float u =
          Cfg::kNormFirst ? yv : yv * dev::siluF(dev::toFloat(z[r]));
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

#define BRAID_MAMBA2_STEP_ENTRIES(PREFIX, CFG)                                 \
  extern "C" __global__ void __launch_bounds__(                                \
      braid::kern::StepDims<CFG>::kThreads)                                    \
      PREFIX##_update(BraidKernelParams p) {                                   \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::mamba2StepUpdate<CFG>(p);                                     \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(                                \
      braid::kern::StepDims<CFG>::kFinishThreads)                              \
      PREFIX##_finish(BraidKernelParams p) {                                   \
    BRAID_KERNEL_PROLOGUE();                                                   \
    braid::kern::mamba2StepFinish<CFG>(p);                                     \
  }

#endif // BRAID_TARGETS_COMMON_KERNELS_MAMBA2STEP_CUH
