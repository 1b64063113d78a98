//===- small_kernels_bench.cu - prefill conv, rope, norms: old against new -===//
//
// Times causal_conv1d (C = 4352, kernel 4, bias, state, SiLU) and rope (16
// and 8 heads of 128, rotary 64) at the bamba-1.5b prefill shapes (B = 1,
// T = 4096, bf16) in one process: the kernels of this tree with the
// specializer's constants and a few alternatives (token chunk, load batch,
// block size; heads per thread), and the kernels of an older tree as the
// baseline (-DBRAID_OLD_CONV='"path/Conv.cuh"' -DBRAID_OLD_ROPE=... name
// its headers, taken with `git archive`). Operands rotate over copies that
// together exceed the 50 MB L2, so the times are DRAM times; bandwidth is
// over the bytes each launch must move (inputs and results once, weights
// and state included). A device-to-device copy of the same size gives the
// copy rate of this card, the rate the floors use.
//
// Every variant's results (output and updated state) are compared with the
// old kernel's on the same inputs (rel-L2; the arithmetic is the same fp32
// in the same order, so they should agree to bf16 rounding); a variant
// above 1e-3 counts as a failure (exit status 1).
//
// The norms (gated_rms_norm over 4096 channels with its gate, rms_norm over
// 2048; Norms.cuh, the same in both trees) at the plan's team size and
// others, against the plan's result: where they lose against the floor.
//
// usage: small_kernels_bench [--log FILE]
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/Conv.cuh"
#include "targets/common/kernels/Norms.cuh"
#include "targets/common/kernels/Rope.cuh"
#include "test/gpu/GpuTestLog.h"

// The older tree's kernels under other names (same guards: undefined).
#undef BRAID_TARGETS_COMMON_KERNELS_CONV_CUH
#undef BRAID_TARGETS_COMMON_KERNELS_ROPE_CUH
#define causalConv1d causalConv1dOld
#define ropeMap ropeMapOld
#include BRAID_OLD_CONV
#include BRAID_OLD_ROPE
#undef causalConv1d
#undef ropeMap

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using braid::dev::Act;
using braid::dev::bf16;

namespace {

int gFailures = 0;

constexpr int kT = 4096;
constexpr size_t kRotateBytes = 160u << 20; // > 3 x L2

/// Median over 7 repetitions of 20 launches (CUDA events), per launch; fn
/// takes the launch index (the copy to use).
template <class F> float timeIt(F fn) {
  cudaEvent_t a, b;
  CUDA_OK(cudaEventCreate(&a));
  CUDA_OK(cudaEventCreate(&b));
  for (int i = 0; i < 5; ++i)
    fn(i);
  CUDA_OK(cudaDeviceSynchronize());
  std::vector<float> t;
  int n = 0;
  for (int r = 0; r < 7; ++r) {
    CUDA_OK(cudaEventRecord(a));
    for (int i = 0; i < 20; ++i)
      fn(n++);
    CUDA_OK(cudaEventRecord(b));
    CUDA_OK(cudaEventSynchronize(b));
    float ms;
    CUDA_OK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms / 20);
  }
  CUDA_OK(cudaGetLastError());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

uint16_t toBf16Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u); // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}
float fromBf16Bits(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 2654435761u + 1) {}
  float uniform() { // [-1, 1)
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>((s >> 40) & 0xffffff) / 8388608.0f - 1.0f;
  }
};

void *devBf16(size_t n, Rng &rng, float scale = 1.0f) {
  std::vector<uint16_t> h(n);
  for (auto &v : h)
    v = toBf16Bits(scale * rng.uniform());
  void *d;
  CUDA_OK(cudaMalloc(&d, n * 2));
  CUDA_OK(cudaMemcpy(d, h.data(), n * 2, cudaMemcpyHostToDevice));
  return d;
}

std::vector<float> downBf16(const void *d, size_t n) {
  std::vector<uint16_t> h(n);
  CUDA_OK(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost));
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i)
    f[i] = fromBf16Bits(h[i]);
  return f;
}

double relL2(const std::vector<float> &a, const std::vector<float> &ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = static_cast<double>(a[i]) - ref[i];
    num += d * d;
    den += static_cast<double>(ref[i]) * ref[i];
    if (std::isnan(a[i]))
      return INFINITY;
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

/// One output buffer's variants: each one's output against `ref` (rel-L2,
/// a failure above 1e-3, named "vs REFNAME") and its time per launch with
/// the bandwidth of `bytes`. `run(f)` launches f once and returns the
/// output; f(buffers, copy) launches on a copy.
template <class Variant, size_t N, class Run, class Buffers>
void timeVariants(const Variant (&variants)[N], Run run, Buffers &b,
                  const std::vector<float> &ref, double bytes,
                  const char *refName) {
  for (const Variant &v : variants) {
    std::vector<float> y = run(v.f);
    double r = relL2(y, ref);
    bool bad = r > 1e-3;
    gFailures += bad;
    float ms = timeIt([&](int i) { v.f(b, i); });
    say("  %-40s %8.4f ms  %7.1f GB/s  relL2 vs %s %.2e%s\n", v.name, ms,
        bytes / ms / 1e6, refName, r, bad ? "  FAILED" : "");
  }
}

/// The copy rate: a device-to-device copy of `bytes`, rotated over copies.
double copyRate(size_t bytes) {
  int copies =
      static_cast<int>(std::max<size_t>(3, kRotateBytes / (2 * bytes) + 1));
  std::vector<void *> src(copies), dst(copies);
  for (int i = 0; i < copies; ++i) {
    CUDA_OK(cudaMalloc(&src[i], bytes));
    CUDA_OK(cudaMalloc(&dst[i], bytes));
    CUDA_OK(cudaMemset(src[i], 1, bytes));
  }
  float ms = timeIt([&](int i) {
    CUDA_OK(cudaMemcpyAsync(dst[i % copies], src[i % copies], bytes,
                            cudaMemcpyDeviceToDevice));
  });
  for (int i = 0; i < copies; ++i) {
    cudaFree(src[i]);
    cudaFree(dst[i]);
  }
  return 2.0 * bytes / ms / 1e6;
}

//===----------------------------------------------------------------------===//
// causal_conv1d: x [1, T, C] bf16, weight [C, 4], bias [C], state [1, C, 3]
//===----------------------------------------------------------------------===//

constexpr int kC = 4352, kW = 4;

__global__ void __launch_bounds__(128, 1)
    convOld(const bf16 *x, const bf16 *w, const bf16 *bias, float *state,
            bf16 *y, int seq) {
  braid::dev::causalConv1dOld<bf16, bf16, float, bf16, kC, kW, 64, true, true,
                              Act::Silu>(x, w, bias, state, state, y, seq);
}

template <int TT, int U, int NT>
__global__ void __launch_bounds__(NT, 1)
    convNew(const bf16 *x, const bf16 *w, const bf16 *bias, float *state,
            bf16 *y, int seq) {
  using Out = braid::dev::ConvPieces<bf16, kC>;
  braid::dev::causalConv1d<bf16, bf16, float, Out, kC, kW, 8, TT, U, true, true,
                           Act::Silu>(x, w, bias, state, state, Out{{y}}, seq);
}

struct ConvBufs {
  std::vector<bf16 *> x, y;
  std::vector<float *> state;
  bf16 *w, *bias;
  std::vector<float> state0;
  int copies;
};

using ConvLaunch = void (*)(const ConvBufs &, int);

void launchOld(const ConvBufs &b, int i) {
  int k = i % b.copies;
  convOld<<<dim3((kC + 127) / 128, (kT + 63) / 64, 1), 128>>>(
      b.x[k], b.w, b.bias, b.state[k], b.y[k], kT);
}

template <int TT, int U, int NT> void launchNew(const ConvBufs &b, int i) {
  int k = i % b.copies;
  convNew<TT, U, NT>
      <<<dim3((kC / 8 + NT - 1) / NT, (kT + TT - 1) / TT, 1), NT>>>(
          b.x[k], b.w, b.bias, b.state[k], b.y[k], kT);
}

void benchConv() {
  const size_t n = static_cast<size_t>(kT) * kC;
  const double bytes = 2.0 * n * 2 + kC * kW * 2 + kC * 2 + 2.0 * kC * 3 * 4;
  ConvBufs b;
  b.copies = static_cast<int>(kRotateBytes / (4 * n) + 1);
  Rng rng(7);
  for (int i = 0; i < b.copies; ++i) {
    b.x.push_back(static_cast<bf16 *>(devBf16(n, rng)));
    b.y.push_back(static_cast<bf16 *>(devBf16(n, rng)));
    float *s;
    CUDA_OK(cudaMalloc(&s, kC * 3 * 4));
    b.state.push_back(s);
  }
  b.w = static_cast<bf16 *>(devBf16(kC * kW, rng, 0.5f));
  b.bias = static_cast<bf16 *>(devBf16(kC, rng, 0.5f));
  b.state0.resize(kC * 3);
  for (auto &v : b.state0)
    v = rng.uniform();
  say("causal_conv1d bf16 B=1 T=%d C=%d W=%d bias state silu: %.1f MB per "
      "launch, %d copies\n",
      kT, kC, kW, bytes / 1e6, b.copies);

  // One checked run on copy 0 with the initial state: output and state.
  auto run = [&](ConvLaunch f, std::vector<float> &y, std::vector<float> &st) {
    CUDA_OK(cudaMemcpy(b.state[0], b.state0.data(), kC * 3 * 4,
                       cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemset(b.y[0], 0xff, n * 2));
    f(b, 0);
    CUDA_OK(cudaDeviceSynchronize());
    y = downBf16(b.y[0], n);
    st.resize(kC * 3);
    CUDA_OK(
        cudaMemcpy(st.data(), b.state[0], kC * 3 * 4, cudaMemcpyDeviceToHost));
  };
  std::vector<float> yRef, sRef;
  run(launchOld, yRef, sRef);
  // The old kernel against a host spot check of a few channels.
  double worst = 0;
  for (int c : {0, 1, 7, 8, 1000, kC - 1})
    for (int t : {0, 1, 2, 3, 63, 64, 65, kT - 1}) {
      std::vector<uint16_t> xs(4), ws(4);
      float acc = 0;
      uint16_t bb;
      CUDA_OK(cudaMemcpy(&bb, b.bias + c, 2, cudaMemcpyDeviceToHost));
      acc = fromBf16Bits(bb);
      for (int j = 0; j < kW; ++j) {
        uint16_t wv;
        CUDA_OK(cudaMemcpy(&wv, b.w + c * kW + j, 2, cudaMemcpyDeviceToHost));
        int src = t - (kW - 1) + j;
        float xv;
        if (src >= 0) {
          uint16_t h;
          CUDA_OK(cudaMemcpy(&h, b.x[0] + static_cast<size_t>(src) * kC + c, 2,
                             cudaMemcpyDeviceToHost));
          xv = fromBf16Bits(h);
        } else {
          xv = b.state0[c * 3 + (src + 3)];
        }
        acc += fromBf16Bits(wv) * xv;
      }
      float ref = acc / (1.0f + std::exp(-acc));
      worst =
          std::max(worst, static_cast<double>(std::fabs(
                              ref - yRef[static_cast<size_t>(t) * kC + c])));
    }
  say("  old kernel vs host (48 spot values): max |diff| %.3g\n", worst);
  if (worst > 2e-2)
    ++gFailures;

  struct V {
    const char *name;
    ConvLaunch f;
  };
  const V variants[] = {
      {"old (1 ch x 64 tok, 128 thr)", launchOld},
      {"new plan (8 ch x 32 tok, U8, 64 thr)", launchNew<32, 8, 64>},
      {"new 8 ch x 48 tok, U8, 64 thr", launchNew<48, 8, 64>},
      {"new 8 ch x 64 tok, U8, 64 thr", launchNew<64, 8, 64>},
      {"new 8 ch x 16 tok, U8, 64 thr", launchNew<16, 8, 64>},
      {"new 8 ch x 32 tok, U4, 64 thr", launchNew<32, 4, 64>},
      {"new 8 ch x 64 tok, U4, 64 thr", launchNew<64, 4, 64>},
      {"new 8 ch x 16 tok, U4, 64 thr", launchNew<16, 4, 64>},
      {"new 8 ch x 32 tok, U8, 128 thr", launchNew<32, 8, 128>},
      {"new 8 ch x 128 tok, U8, 64 thr", launchNew<128, 8, 64>},
  };
  for (const V &v : variants) {
    std::vector<float> y, st;
    run(v.f, y, st);
    double ry = relL2(y, yRef), rs = relL2(st, sRef);
    bool bad = ry > 1e-3 || rs > 0;
    gFailures += bad;
    for (int i = 0; i < b.copies; ++i)
      CUDA_OK(cudaMemcpy(b.state[i], b.state0.data(), kC * 3 * 4,
                         cudaMemcpyHostToDevice));
    float ms = timeIt([&](int i) { v.f(b, i); });
    say("  %-40s %8.4f ms  %7.1f GB/s  relL2 vs old: y %.2e state %.2e%s\n",
        v.name, ms, bytes / ms / 1e6, ry, rs, bad ? "  FAILED" : "");
  }
  say("  copy rate (%.1f MB read + written): %.1f GB/s\n", bytes / 2e6,
      copyRate(static_cast<size_t>(bytes / 2)));
  for (int i = 0; i < b.copies; ++i) {
    cudaFree(b.x[i]);
    cudaFree(b.y[i]);
    cudaFree(b.state[i]);
  }
  cudaFree(b.w);
  cudaFree(b.bias);
}

//===----------------------------------------------------------------------===//
// rope: x [1, T, H, 128] bf16, positions 0 .. T - 1, rotary 64 (halves)
//===----------------------------------------------------------------------===//

constexpr int kD = 128, kRot = 64;
__constant__ float gInvFreq[kRot / 2];

template <int H>
__global__ void __launch_bounds__(256, 1)
    ropeOld(const bf16 *x, const int64_t *pos, bf16 *y, int64_t tokens) {
  braid::dev::ropeMapOld<bf16, bf16, H, kD, kRot, false>(x, pos, y, tokens,
                                                         gInvFreq);
}

template <int H, int V, int HG>
__global__ void __launch_bounds__(256, 1)
    ropeNew(const bf16 *x, const int64_t *pos, bf16 *y, int64_t tokens) {
  braid::dev::ropeMap<bf16, bf16, H, kD, kRot, false, V, HG>(x, pos, y, tokens,
                                                             gInvFreq);
}

struct RopeBufs {
  std::vector<bf16 *> x, y;
  int64_t *pos;
  int copies;
};
using RopeLaunch = void (*)(const RopeBufs &, int);

template <int H> void launchRopeOld(const RopeBufs &b, int i) {
  int k = i % b.copies;
  constexpr int64_t P = kRot / 2 + (kD - kRot);
  int64_t blocks = (int64_t(kT) * H * P + 511) / 512; // as the old plan
  ropeOld<H><<<static_cast<unsigned>(blocks), 256>>>(b.x[k], b.pos, b.y[k], kT);
}

template <int H, int V, int HG> void launchRopeNew(const RopeBufs &b, int i) {
  int k = i % b.copies;
  int64_t blocks = (int64_t(kT) * (H / HG) * (kD / V) + 255) / 256;
  ropeNew<H, V, HG>
      <<<static_cast<unsigned>(blocks), 256>>>(b.x[k], b.pos, b.y[k], kT);
}

template <int H> void benchRope() {
  const size_t n = static_cast<size_t>(kT) * H * kD;
  const double bytes = 2.0 * n * 2 + kT * 8.0;
  RopeBufs b;
  b.copies = static_cast<int>(kRotateBytes / (4 * n) + 1);
  Rng rng(11 + H);
  for (int i = 0; i < b.copies; ++i) {
    b.x.push_back(static_cast<bf16 *>(devBf16(n, rng)));
    b.y.push_back(static_cast<bf16 *>(devBf16(n, rng)));
  }
  std::vector<int64_t> pos(kT);
  for (int t = 0; t < kT; ++t)
    pos[t] = t;
  CUDA_OK(cudaMalloc(&b.pos, kT * 8));
  CUDA_OK(cudaMemcpy(b.pos, pos.data(), kT * 8, cudaMemcpyHostToDevice));
  say("rope bf16 B=1 T=%d H=%d D=%d rotary %d: %.1f MB per launch, %d copies\n",
      kT, H, kD, kRot, bytes / 1e6, b.copies);
  auto run = [&](RopeLaunch f) {
    CUDA_OK(cudaMemset(b.y[0], 0xff, n * 2));
    f(b, 0);
    CUDA_OK(cudaDeviceSynchronize());
    return downBf16(b.y[0], n);
  };
  std::vector<float> ref = run(launchRopeOld<H>);
  struct V {
    const char *name;
    RopeLaunch f;
  };
  const V variants[] = {
      {"old (1 pair per item, 2-byte)", launchRopeOld<H>},
      {"new plan (8 ch x 4 heads)", launchRopeNew<H, 8, 4>},
      {"new 8 ch x 2 heads", launchRopeNew<H, 8, 2>},
      {"new 8 ch x 1 head", launchRopeNew<H, 8, 1>},
      {"new 8 ch x 8 heads", launchRopeNew<H, 8, 8>},
      {"new 4 ch x 4 heads", launchRopeNew<H, 4, 4>},
  };
  timeVariants(variants, run, b, ref, bytes, "old");
  say("  copy rate (%.1f MB read + written): %.1f GB/s\n", bytes / 2e6,
      copyRate(static_cast<size_t>(bytes / 2)));
  for (int i = 0; i < b.copies; ++i) {
    cudaFree(b.x[i]);
    cudaFree(b.y[i]);
  }
  cudaFree(b.pos);
}

//===----------------------------------------------------------------------===//
// Norms: rows [T, G] bf16 (and a gate), weight [G]
//===----------------------------------------------------------------------===//

template <braid::dev::NormKind K, int G, int TEAM>
__global__ void __launch_bounds__(TEAM < 128 ? 128 : TEAM, 1)
    normKernel(const bf16 *x, const bf16 *gate, const bf16 *w, bf16 *y,
               int64_t rows) {
  braid::dev::rowNorm<K, bf16, bf16, bf16, G, 1, TEAM, 8, true, false>(
      x, gate, w, nullptr, y, rows, 1e-5f);
}

struct NormBufs {
  std::vector<bf16 *> x, gate, y;
  bf16 *w;
  int copies;
};
using NormLaunch = void (*)(const NormBufs &, int);

template <braid::dev::NormKind K, int G, int TEAM>
void launchNorm(const NormBufs &b, int i) {
  int k = i % b.copies;
  constexpr int threads = TEAM < 128 ? 128 : TEAM;
  normKernel<K, G, TEAM><<<kT / (threads / TEAM), threads>>>(
      b.x[k], b.gate.empty() ? nullptr : b.gate[k], b.w, b.y[k], kT);
}

template <braid::dev::NormKind K, int G> void benchNorm(const char *what) {
  constexpr bool gated = K == braid::dev::NormKind::GatedAfter;
  const size_t n = static_cast<size_t>(kT) * G;
  const double bytes = (gated ? 3.0 : 2.0) * n * 2 + G * 2;
  NormBufs b;
  b.copies = static_cast<int>(kRotateBytes / ((gated ? 6 : 4) * n) + 1);
  Rng rng(23 + G);
  for (int i = 0; i < b.copies; ++i) {
    b.x.push_back(static_cast<bf16 *>(devBf16(n, rng)));
    if (gated)
      b.gate.push_back(static_cast<bf16 *>(devBf16(n, rng)));
    b.y.push_back(static_cast<bf16 *>(devBf16(n, rng)));
  }
  b.w = static_cast<bf16 *>(devBf16(G, rng));
  say("%s bf16 B=1 T=%d G=%d: %.1f MB per launch, %d copies\n", what, kT, G,
      bytes / 1e6, b.copies);
  auto run = [&](NormLaunch f) {
    CUDA_OK(cudaMemset(b.y[0], 0xff, n * 2));
    f(b, 0);
    CUDA_OK(cudaDeviceSynchronize());
    return downBf16(b.y[0], n);
  };
  constexpr int plan = G / 8 / 4 <= 8 ? 8 : G / 8 / 4; // rowShape's team
  std::vector<float> ref = run(launchNorm<K, G, plan>);
  struct V {
    const char *name;
    NormLaunch f;
  };
  const V variants[] = {
      {"plan team", launchNorm<K, G, plan>},
      {"team 64", launchNorm<K, G, 64>},
      {"team 128", launchNorm<K, G, 128>},
      {"team 256", launchNorm<K, G, 256>},
      {"team 512", launchNorm<K, G, 512>},
  };
  timeVariants(variants, run, b, ref, bytes, "plan");
  for (int i = 0; i < b.copies; ++i) {
    cudaFree(b.x[i]);
    if (gated)
      cudaFree(b.gate[i]);
    cudaFree(b.y[i]);
  }
  cudaFree(b.w);
}

} // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--log" && i + 1 < argc)
      gLog = std::fopen(argv[++i], "w");
  cudaDeviceProp prop;
  CUDA_OK(cudaGetDeviceProperties(&prop, 0));
  say("device: %s, sm_%d%d, %d SMs, L2 %d MB\n", prop.name, prop.major,
      prop.minor, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  // inv_freq as the specializer computes it (fp32 steps).
  float inv[kRot / 2];
  for (int i = 0; i < kRot / 2; ++i)
    inv[i] = 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) /
                                           static_cast<float>(kRot));
  CUDA_OK(cudaMemcpyToSymbol(gInvFreq, inv, sizeof inv));
  benchConv();
  benchRope<16>();
  benchRope<8>();
  benchNorm<braid::dev::NormKind::GatedAfter, 4096>("gated_rms_norm");
  benchNorm<braid::dev::NormKind::Rms, 2048>("rms_norm");
  say("%d failures\n", gFailures);
  if (gLog)
    std::fclose(gLog);
  return gFailures ? 1 : 0;
}
