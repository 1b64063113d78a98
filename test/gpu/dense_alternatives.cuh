//===- dense_alternatives.cuh - GEMM alternatives of dense_kernels_test ---===//
//
// The tile configurations and schedules timed (or checked) next to a GEMM
// plan: prefill (the TMA schedules: staged or register epilogue,
// persistent, 2-block clusters, 128 x 128, ping-pong), decode above 16
// rows (unsplit tiles, split-K clusters of tcGemmSplitK and tmaSplitK, a
// plain weight stream) and at one
// row (skinny variants), and the ragged-M checks of the persistent,
// ping-pong and cluster schedules (and the cp.async wsGemm) against the
// plan's result. Part of
// dense_kernels_test.cu: included once, after its timing helpers (timeIt,
// medianOf, say, CUDA_OK, cuErr, encodeTensorMap, bf16), whose anonymous
// namespace it shares.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TEST_GPU_DENSE_ALTERNATIVES_CUH
#define BRAID_TEST_GPU_DENSE_ALTERNATIVES_CUH

namespace {

/// Alternative tile configurations, instantiated here for tuning.
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchTc(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::tcGemm<Cfg>(ops, M);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchWs(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::wsGemm<Cfg>(ops, M);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchTma(const bf16 *x, const bf16 *w, bf16 *y, int M,
             const __grid_constant__ BraidTensorMaps maps) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::wsGemm<Cfg>(ops, M, &maps);
}
template <class Cfg, int N, int K>
__global__ void __cluster_dims__(Cfg::kClusterM, 1, 1)
    __launch_bounds__(Cfg::kThreads, 1)
        benchTmaCluster(const bf16 *x, const bf16 *w, bf16 *y, int M,
                        const __grid_constant__ BraidTensorMaps maps) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::wsGemm<Cfg>(ops, M, &maps);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchSplitK(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::tcGemmSplitK<Cfg>(ops, M);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchTmaSplitK(const bf16 *x, const bf16 *w, bf16 *y, int M,
                   const __grid_constant__ BraidTensorMaps maps) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::tmaSplitK<Cfg>(ops, M, maps);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads)
    benchSkinny(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::skinnyGemm<Cfg>(ops, M);
}

struct AltResult {
  std::string name;
  float ms;
  double rel = -1; // against the plan's result (nonfinite: inf)
};

/// Bench runs whose sampled rows differ from the host (rel-L2 > 1e-2 or
/// not finite): a failure of the plan; and warp-specialized alternatives
/// whose result differs from the plan's.
int gBenchFailures = 0;

/// The current bench's rows and work, for printing its alternatives.
int64_t gBenchM = 0;
double gBenchFlops = 0, gBenchBytes = 0;

/// Prints an alternative's result as soon as it is measured (a later one
/// that hangs cannot hide it).
void sayAlt(const AltResult &a) {
  const bool ws = a.name.rfind("ws", 0) == 0 || a.name.rfind("check", 0) == 0;
  const bool differs = !(a.rel <= 1e-2);
  if (ws && differs)
    ++gBenchFailures;
  if (a.ms == 0.0f)
    say("  alt %-22s M=%-5lld vs plan relL2 %.2e%s\n", a.name.c_str(),
        (long long)gBenchM, a.rel, differs ? " DIFFERS" : "");
  else
    say("  alt %-22s %8.4f ms  %7.1f TFLOP/s  %7.1f GB/s  vs plan relL2 "
        "%.2e%s\n",
        a.name.c_str(), a.ms, gBenchFlops / a.ms / 1e9,
        gBenchBytes / a.ms / 1e6, a.rel, differs ? " DIFFERS" : "");
}

/// The alternatives of one bench, printed as they are added.
struct AltList {
  std::vector<AltResult> v;
  void push_back(const AltResult &a) {
    sayAlt(a);
    v.push_back(a);
  }
};

/// The plan's result of the current bench, for checking the alternatives.
std::vector<uint16_t> gPlanY;

/// Relative L2 difference of y (M x N bf16, device) from gPlanY.
double diffFromPlan(const bf16 *y) {
  std::vector<uint16_t> h(gPlanY.size());
  CUDA_OK(cudaMemcpy(h.data(), y, h.size() * 2, cudaMemcpyDeviceToHost));
  double num = 0, den = 0;
  for (size_t k = 0; k < h.size(); ++k) {
    float a = fromBf16Bits(h[k]), b = fromBf16Bits(gPlanY[k]);
    if (!std::isfinite(a))
      return INFINITY;
    num += (double(a) - b) * (double(a) - b);
    den += double(b) * b;
  }
  return std::sqrt(num / den);
}

/// Tensor maps for x [M, K] and w [N, K] in 64 x boxA and 64 x boxB boxes,
/// 128-byte swizzle (tmaGemm: BM and BN / kClusterM; tmaSplitK: 64 and BN).
template <int N, int K>
BraidTensorMaps tmaMapsFor(const bf16 *x, const bf16 *w, int M, int64_t boxA,
                           int64_t boxB) {
  BraidTensorMaps maps;
  std::memset(&maps, 0, sizeof maps);
  const void *base[2] = {x, w};
  const int64_t rows[2] = {M, N}, box[2] = {boxA, boxB};
  for (int i = 0; i < 2; ++i) {
    CUresult r = encodeTensorMap(maps.maps[i], base[i], rows[i], K, 2,
                                 {64, box[i]}, 128);
    if (r != CUDA_SUCCESS) {
      say("tensor map %d: %s\n", i, cuErr(r).c_str());
      std::exit(2);
    }
  }
  return maps;
}

/// The TMA engine on one block per tile (blocks = 0) or a fixed grid of
/// `blocks` (persistent; with Cfg::kPingPong, the two consumers take whole
/// tiles in turn).
/// With Cfg::kClusterM > 1, clusters of that many blocks share B tiles;
/// `blocks` < 0 asks for as many blocks as clusters can be resident.
template <class Cfg, int N, int K>
AltResult runAltTma(const char *name, const bf16 *x, const bf16 *w, bf16 *y,
                    int M, int blocks, bool timed = true) {
  constexpr int CM = Cfg::kClusterM;
  auto kern = CM > 1 ? benchTmaCluster<Cfg, N, K> : benchTma<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(
      kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSharedBytes));
  if (blocks < 0) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(CM * 256);
    cfg.blockDim = dim3(Cfg::kThreads);
    cfg.dynamicSmemBytes = Cfg::kSharedBytes;
    int clusters = 0;
    CUDA_OK(cudaOccupancyMaxActiveClusters(&clusters, kern, &cfg));
    blocks = clusters * CM;
    say("  (%s: %d clusters of %d resident)\n", name, clusters, CM);
  }
  const int tilesM = (M + Cfg::BM - 1) / Cfg::BM;
  dim3 grid =
      blocks ? dim3(blocks)
             : dim3(CM * ((N + Cfg::BN - 1) / Cfg::BN), (tilesM + CM - 1) / CM);
  BraidTensorMaps maps =
      tmaMapsFor<N, K>(x, w, M, Cfg::BM, Cfg::BN / Cfg::kClusterM);
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  auto launch = [&] {
    kern<<<grid, Cfg::kThreads, Cfg::kSharedBytes>>>(x, w, y, M, maps);
  };
  float ms = 0.0f;
  if (timed)
    ms = timeIt(launch);
  else {
    launch();
    CUDA_OK(cudaDeviceSynchronize());
  }
  return {name, ms, diffFromPlan(y)};
}

/// Ragged M: the warp-specialized schedules (persistent, ping-pong) once
/// each, against the plan's result (no timing).
template <int N, int K>
std::vector<AltResult> altWsChecks(const bf16 *x, const bf16 *w, bf16 *y,
                                   int M) {
  using namespace braid::dev;
  AltList r;
  auto one = [&](auto kern, int threads, int shared, dim3 grid,
                 const char *name) {
    CUDA_OK(cudaFuncSetAttribute(
        kern, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
    CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
    kern<<<grid, threads, shared>>>(x, w, y, M);
    CUDA_OK(cudaDeviceSynchronize());
    r.push_back({name, 0.0f, diffFromPlan(y)});
  };
  using C = WsConfig<128, 256, 4>;
  using P = WsConfig<128, 128, 6, true>;
  one(benchWs<C, N, K>, C::kThreads, C::kSharedBytes,
      dim3((N + 255) / 256, (M + 127) / 128), "check ws 128x256 s4");
  one(benchWs<C, N, K>, C::kThreads, C::kSharedBytes, dim3(132),
      "check ws-P 128x256 s4 x132");
  one(benchWs<C, N, K>, C::kThreads, C::kSharedBytes, dim3(5),
      "check ws-P 128x256 s4 x5");
  one(benchWs<P, N, K>, P::kThreads, P::kSharedBytes, dim3(132),
      "check ws-PP 128x128 s6 x132");
  one(benchWs<P, N, K>, P::kThreads, P::kSharedBytes, dim3(7),
      "check ws-PP 128x128 s6 x7");
  using T = TmaPersistentConfig<256, 4>;
  using TP = WsConfig<128, 128, 6, true, false, true>;
  r.push_back(runAltTma<T, N, K>("check tma-P 128x256 s4 x132", x, w, y, M, 132,
                                 false));
  r.push_back(
      runAltTma<T, N, K>("check tma-P 128x256 s4 x5", x, w, y, M, 5, false));
  r.push_back(runAltTma<TP, N, K>("check tma-PP 128x128 s6 x132", x, w, y, M,
                                  132, false));
  r.push_back(
      runAltTma<TP, N, K>("check tma-PP 128x128 s6 x7", x, w, y, M, 7, false));
  using C2 = TmaConfig<256, 4, 2>;
  using C2P = WsConfig<128, 128, 6, true, false, true, 2>;
  using C2S = TmaPersistentConfig<256, 4, 2>;
  r.push_back(
      runAltTma<C2, N, K>("check tma-C2 128x256 s4", x, w, y, M, 0, false));
  r.push_back(runAltTma<C2S, N, K>("check tma-C2-P 128x256 s4 x6", x, w, y, M,
                                   6, false));
  r.push_back(runAltTma<TmaConfig<256, 4, 4>, N, K>("check tma-C4 128x256 s4",
                                                    x, w, y, M, 0, false));
  r.push_back(runAltTma<C2P, N, K>("check tma-C2-PP 128x128 s6 x8", x, w, y, M,
                                   8, false));
  return r.v;
}

template <int N, int K>
std::vector<AltResult> altConfigs(const bf16 *x, const bf16 *w, bf16 *y,
                                  int M) {
  using namespace braid::dev;
  AltList r;
  int sms = 0;
  CUDA_OK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  // The plan's configuration first (tma 128x256 s4: one block per tile,
  // its epilogue staged through shared memory), the same tiles storing
  // from the registers (the plan before), persistent (registers), then
  // 2-block clusters sharing B, 128 x 128, and ping-pong last (a hang
  // there loses nothing before it: each result is printed when measured).
  r.push_back(
      runAltTma<TmaConfig<256, 4>, N, K>("tma 128x256 s4", x, w, y, M, 0));
  r.push_back(runAltTma<TmaPersistentConfig<256, 4>, N, K>(
      "tma 128x256 s4 direct", x, w, y, M, 0));
  r.push_back(runAltTma<TmaPersistentConfig<256, 4>, N, K>(
      "tma-P 128x256 s4 xSM", x, w, y, M, sms));
  r.push_back(runAltTma<TmaConfig<256, 4, 2>, N, K>("tma-C2 128x256 s4", x, w,
                                                    y, M, 0));
  r.push_back(runAltTma<TmaPersistentConfig<256, 4, 2>, N, K>(
      "tma-C2-P 128x256 s4", x, w, y, M, -1));
  r.push_back(
      runAltTma<TmaConfig<128, 6>, N, K>("tma 128x128 s6", x, w, y, M, 0));
  r.push_back(runAltTma<WsConfig<128, 128, 5, true, false, true>, N, K>(
      "tma-PP 128x128 s5 xSM", x, w, y, M, sms));
  return r.v;
}

std::vector<bf16 *> gWeightCopies;

/// Decode: a tc configuration at M rows, timed over the weight copies.
template <class Cfg, int N, int K>
AltResult runAltTcDecode(const char *name, const bf16 *x, bf16 *y, int M) {
  auto kern = benchTc<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(
      kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSharedBytes));
  dim3 grid((N + Cfg::BN - 1) / Cfg::BN, (M + Cfg::BM - 1) / Cfg::BM);
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  size_t rot = 0;
  float ms = timeIt([&] {
    kern<<<grid, Cfg::kThreads, Cfg::kSharedBytes>>>(
        x, gWeightCopies[rot++ % gWeightCopies.size()], y, M);
  });
  return {name, ms, diffFromPlan(y)};
}

/// The launch of a split-K configuration at M rows: grid (ceil(N / BN) *
/// SPLIT, ceil(M / BM)) in clusters of (SPLIT, 1, 1). Not copied: the
/// configuration points at its own attribute.
template <class Cfg, int N> struct SplitKLaunch {
  cudaLaunchConfig_t cfg = {};
  cudaLaunchAttribute attr[1];
  explicit SplitKLaunch(int M) {
    cfg.gridDim = dim3((N + Cfg::BN - 1) / Cfg::BN * Cfg::SPLIT,
                       (M + Cfg::BM - 1) / Cfg::BM);
    cfg.blockDim = dim3(Cfg::kThreads);
    cfg.dynamicSmemBytes = Cfg::kSharedBytes;
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = Cfg::SPLIT;
    attr[0].val.clusterDim.y = 1;
    attr[0].val.clusterDim.z = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
  }
  SplitKLaunch(const SplitKLaunch &) = delete;
};

/// Decode: a split-K configuration (clusters of Cfg::SPLIT along x).
template <class Cfg, int N, int K>
AltResult runAltSplitK(const char *name, const bf16 *x, bf16 *y, int M) {
  auto kern = benchSplitK<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(
      kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSharedBytes));
  const SplitKLaunch<Cfg, N> launch(M);
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  size_t rot = 0;
  float ms = timeIt([&] {
    CUDA_OK(cudaLaunchKernelEx(
        &launch.cfg, kern, x,
        (const bf16 *)gWeightCopies[rot++ % gWeightCopies.size()], y, M));
  });
  return {name, ms, diffFromPlan(y)};
}

/// Decode: tmaSplitK (TMA ring, wgmma, clusters of Cfg::SPLIT along x),
/// timed over the weight copies (a tensor map per copy).
template <class Cfg, int N, int K>
AltResult runAltTmaSplitK(const char *name, const bf16 *x, bf16 *y, int M) {
  auto kern = benchTmaSplitK<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(
      kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSharedBytes));
  std::vector<BraidTensorMaps> maps;
  for (const bf16 *w : gWeightCopies)
    maps.push_back(tmaMapsFor<N, K>(x, w, M, Cfg::BM, Cfg::BN));
  const SplitKLaunch<Cfg, N> launch(M);
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  size_t rot = 0;
  float ms = timeIt([&] {
    const size_t i = rot++ % gWeightCopies.size();
    CUDA_OK(cudaLaunchKernelEx(&launch.cfg, kern, x,
                               (const bf16 *)gWeightCopies[i], y, M, maps[i]));
  });
  return {name, ms, diffFromPlan(y)};
}

/// Reads every 16-byte chunk of w once (grid-stride, 4 chunks in flight a
/// thread) and writes one value per block: the rate of a plain weight
/// stream of that size, the ceiling of a decode GEMM.
__global__ void __launch_bounds__(256)
    streamRead(const uint4 *w, size_t n, bf16 *y) {
  uint32_t acc = 0;
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    const uint4 a = __ldg(w + i), b = __ldg(w + i + stride),
                c = __ldg(w + i + 2 * stride), d = __ldg(w + i + 3 * stride);
    acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^
           c.w ^ d.x ^ d.y ^ d.z ^ d.w;
  }
  for (; i < n; i += stride) {
    const uint4 a = __ldg(w + i);
    acc ^= a.x ^ a.y ^ a.z ^ a.w;
  }
  if (acc == 0x12345678u)
    y[blockIdx.x] = __float2bfloat16(1.0f);
}

template <int N, int K> AltResult runStreamRead(const char *name, bf16 *y) {
  const size_t chunks = size_t(N) * K * 2 / 16;
  size_t rot = 0;
  float ms = timeIt([&] {
    streamRead<<<132 * 8, 256>>>(
        reinterpret_cast<const uint4 *>(
            gWeightCopies[rot++ % gWeightCopies.size()]),
        chunks, y);
  });
  return {name, ms, -1};
}

/// Decode above 16 rows: the unsplit 64 x 64 tiles (the plan before split-K),
/// tcGemmSplitK clusters of other tile shapes and sizes (the plan before
/// tmaSplitK) and tmaSplitK configurations.
template <int N, int K>
std::vector<AltResult> altDecodeTc(const bf16 *x, bf16 *y, int M) {
  using namespace braid::dev;
  using T64 = TcConfig<64, 64, 64, 2, 2, 4>;
  using T128 = TcConfig<64, 128, 64, 2, 4, 4>;
  using T32 = TcConfig<64, 64, 32, 2, 2, 6>;
  AltList r;
  r.push_back(runAltTcDecode<TcConfig<64, 64, 32, 2, 2, 4>, N, K>(
      "tc 64x64x32 (unsplit)", x, y, M));
  r.push_back(
      runAltSplitK<SplitKConfig<T64, 2>, N, K>("splitK 64x64x64 x2", x, y, M));
  r.push_back(
      runAltSplitK<SplitKConfig<T64, 4>, N, K>("splitK 64x64x64 x4", x, y, M));
  r.push_back(
      runAltSplitK<SplitKConfig<T64, 8>, N, K>("splitK 64x64x64 x8", x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T32, 4>, N, K>("splitK 64x64x32s6 x4",
                                                       x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T32, 8>, N, K>("splitK 64x64x32s6 x8",
                                                       x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T128, 2>, N, K>("splitK 64x128x64 x2",
                                                        x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T128, 4>, N, K>("splitK 64x128x64 x4",
                                                        x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T128, 8>, N, K>("splitK 64x128x64 x8",
                                                        x, y, M));
  // tmaSplitK: 64 x BN tiles, STAGES-deep rings, SPLIT blocks a tile,
  // refills in bursts of BURST stages (bN).
  r.push_back(runAltTmaSplitK<TmaSplitKConfig<64, 4, 1>, N, K>(
      "tmaSK 64x64 s4 x1", x, y, M));
  r.push_back(runAltTmaSplitK<TmaSplitKConfig<64, 12, 1, 4>, N, K>(
      "tmaSK 64x64 s12 x1 b4", x, y, M));
  r.push_back(runAltTmaSplitK<TmaSplitKConfig<128, 4, 1>, N, K>(
      "tmaSK 64x128 s4 x1", x, y, M));
  r.push_back(runAltTmaSplitK<TmaSplitKConfig<128, 8, 1, 4>, N, K>(
      "tmaSK 64x128 s8 x1 b4", x, y, M));
  r.push_back(runAltTmaSplitK<TmaSplitKConfig<64, 4, 2>, N, K>(
      "tmaSK 64x64 s4 x2", x, y, M));
  r.push_back(runAltTmaSplitK<TmaSplitKConfig<128, 4, 2>, N, K>(
      "tmaSK 64x128 s4 x2", x, y, M));
  r.push_back(runAltTmaSplitK<TmaSplitKConfig<64, 6, 4>, N, K>(
      "tmaSK 64x64 s6 x4", x, y, M));
  r.push_back(runAltTmaSplitK<TmaSplitKConfig<128, 8, 4>, N, K>(
      "tmaSK 64x128 s8 x4", x, y, M));
  r.push_back(runStreamRead<N, K>("stream read of w (ceiling)", y));
  return r.v;
}

template <int N, int K>
std::vector<AltResult> altSkinny(const bf16 *x, const bf16 *w, bf16 *y) {
  using namespace braid::dev;
  AltList r;
  (void)w;
  auto one = [&](auto kern, int threads, int cols, const char *name) {
    dim3 grid((N + cols - 1) / cols);
    CUDA_OK(cudaMemset(y, 0xff, size_t(N) * 2));
    size_t rot = 0;
    float ms = timeIt(
        [&] {
          kern<<<grid, threads>>>(
              x, gWeightCopies[rot++ % gWeightCopies.size()], y, 1);
        },
        50);
    r.push_back({name, ms, diffFromPlan(y)});
  };
  one(benchSkinny<SkinnyConfig<4, 2, 4>, N, K>, 128, 8, "skinny w4 c2");
  one(benchSkinny<SkinnyConfig<8, 2, 4>, N, K>, 256, 16, "skinny w8 c2");
  one(benchSkinny<SkinnyConfig<4, 4, 4>, N, K>, 128, 16, "skinny w4 c4");
  one(benchSkinny<SkinnyConfig<2, 2, 4>, N, K>, 64, 4, "skinny w2 c2");
  return r.v;
}

} // namespace

#endif // BRAID_TEST_GPU_DENSE_ALTERNATIVES_CUH
