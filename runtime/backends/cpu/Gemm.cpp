//===- Gemm.cpp - cache-blocked, multithreaded fp32 GEMM ------------------===//
//
// The classic blocked design (Goto/BLIS), written as plain C++ loops that
// GCC and Clang vectorize at -O3:
//
//   * W is packed per (NC columns x KC depth) block into panels of NR = 32
//     columns, k-major, so the micro-kernel reads NR consecutive floats per k
//     (one or two vector loads) and zero padding removes column edge cases.
//   * The micro-kernel keeps an MR x NR tile of y in registers: per k it
//     broadcasts MR values of x and does MR x NR multiply-adds. x is not
//     packed: its MR rows are read sequentially along k (rows past M point
//     at the last row and their results are dropped).
//   * Loop order per task: KC blocks (pack), NR panels (a packed panel stays
//     in L1), MR row tiles (the x block of MC x KC stays in L2).
//   * Threads take (row block, column block) tiles; each packs its own block
//     of W into a thread-local buffer, so there is no shared scratch.
//
// Register tiles differ per instruction set, so the loops are a template
// instantiated in functions compiled for AVX-512 (8 x 32: 16 zmm
// accumulators), AVX2+FMA (3 x 32: 12 ymm) and the baseline (4 x 32), and
// the best one this CPU runs is chosen once. No intrinsics: the target
// attribute only widens what the vectorizer may use, so the binary still
// runs on any x86-64 (and the generic path anywhere).
//
// Few rows (decode: one token per sequence) take a separate row-by-row
// path: it reads W once, straight from memory, without packing.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/Gemm.h"
#include "runtime/backends/cpu/KernelSupport.h"

#include <algorithm>
#include <atomic>
#include <vector>

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define BRAID_GEMM_X86 1
#else
#define BRAID_GEMM_X86 0
#endif

namespace braid::rt::cpu {

namespace {

constexpr int64_t NR = 32;  // columns per packed panel (all variants)
constexpr int64_t KC = 256; // depth per packed block
constexpr int64_t NC = 256; // columns per packed block (multiple of NR)
constexpr int64_t MC = 256; // rows per task at most
/// At most this many rows take the unpacked row-by-row path.
constexpr int64_t kFewRows = 4;

/// One call of the macro-kernel: an M-range of x against one packed block.
struct Block {
  int64_t kc;     // depth of this block
  int64_t rows;   // rows of x / y
  int64_t cols;   // valid columns of the packed block
  const float *x; // first row, already offset to the block's k
  int64_t ldx;
  const float *wp; // packed panels, NR * kc floats each
  float *y;        // first row, first column of the block
  int64_t ldy;
  const float *bias; // bias of the block's first column, or null
  bool load;         // add to y (later k blocks, or accumulate)
};

/// y tile (mr x nr valid) += / = the MR x NR register tile over kc.
template <int MR>
inline __attribute__((always_inline)) void
microKernel(int64_t kc, const float *const *xr, const float *wp, float *y,
            int64_t ldy, int64_t mr, int64_t nr, bool load, const float *bias) {
  float c[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float *w = wp + k * NR;
    for (int i = 0; i < MR; ++i) {
      float a = xr[i][k];
      for (int j = 0; j < NR; ++j)
        c[i][j] += a * w[j];
    }
  }
  for (int64_t i = 0; i < mr; ++i) {
    float *yr = y + i * ldy;
    if (load)
      for (int64_t j = 0; j < nr; ++j)
        yr[j] += c[i][j];
    else if (bias)
      for (int64_t j = 0; j < nr; ++j)
        yr[j] = bias[j] + c[i][j];
    else
      for (int64_t j = 0; j < nr; ++j)
        yr[j] = c[i][j];
  }
}

template <int MR>
inline __attribute__((always_inline)) void macroKernel(const Block &b) {
  for (int64_t p = 0; p * NR < b.cols; ++p) {
    int64_t nr = std::min(NR, b.cols - p * NR);
    const float *panel = b.wp + p * NR * b.kc;
    for (int64_t i0 = 0; i0 < b.rows; i0 += MR) {
      int64_t mr = std::min<int64_t>(MR, b.rows - i0);
      const float *xr[MR];
      for (int i = 0; i < MR; ++i)
        xr[i] = b.x + std::min(i0 + i, b.rows - 1) * b.ldx;
      microKernel<MR>(b.kc, xr, panel, b.y + i0 * b.ldy + p * NR, b.ldy, mr, nr,
                      b.load, b.bias ? b.bias + p * NR : nullptr);
    }
  }
}

/// The few-rows path over W rows [n0, n1): each W row is read once, from
/// memory, and dotted with every x row while it is in L1.
inline __attribute__((always_inline)) void fewRows(const GemmArgs &a,
                                                   int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const float *w = a.w + n * a.ldw;
    float b = a.bias ? a.bias[n] : 0.0f;
    for (int64_t m = 0; m < a.M; ++m) {
      float *y = a.y + m * a.ldy + n;
      float v = dot(a.x + m * a.ldx, w, a.K) + b;
      *y = a.accumulate ? *y + v : v;
    }
  }
}

using MacroFn = void (*)(const Block &);
using FewRowsFn = void (*)(const GemmArgs &, int64_t, int64_t);

struct Variant {
  const char *name;
  int64_t mr;
  MacroFn macro;
  FewRowsFn few;
  bool (*supported)();
};

void macroGeneric(const Block &b) { macroKernel<4>(b); }
void fewGeneric(const GemmArgs &a, int64_t n0, int64_t n1) {
  fewRows(a, n0, n1);
}
bool always() { return true; }

#if BRAID_GEMM_X86
// Both compilers prefer 256-bit vectors on AVX-512 by default; the register
// tile is sized for 512-bit ones.
#if defined(__clang__)
#define BRAID_AVX512                                                           \
  __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"),        \
                 min_vector_width(512)))
#else
#define BRAID_AVX512                                                           \
  __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,"         \
                        "prefer-vector-width=512")))
#endif
#define BRAID_AVX2 __attribute__((target("avx2,fma")))
BRAID_AVX512 void macroAvx512(const Block &b) { macroKernel<8>(b); }
BRAID_AVX512 void fewAvx512(const GemmArgs &a, int64_t n0, int64_t n1) {
  fewRows(a, n0, n1);
}
BRAID_AVX2 void macroAvx2(const Block &b) { macroKernel<3>(b); }
BRAID_AVX2 void fewAvx2(const GemmArgs &a, int64_t n0, int64_t n1) {
  fewRows(a, n0, n1);
}
bool hasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("fma");
}
bool hasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

const Variant kVariants[] = {
#if BRAID_GEMM_X86
    {"avx512", 8, macroAvx512, fewAvx512, hasAvx512},
    {"avx2", 3, macroAvx2, fewAvx2, hasAvx2},
#endif
    {"generic", 4, macroGeneric, fewGeneric, always},
};

const Variant *bestVariant() {
  for (const Variant &v : kVariants)
    if (v.supported())
      return &v;
  return &kVariants[std::size(kVariants) - 1];
}

std::atomic<const Variant *> chosen{nullptr};

const Variant &variant() {
  const Variant *v = chosen.load(std::memory_order_acquire);
  if (!v) {
    v = bestVariant();
    chosen.store(v, std::memory_order_release);
  }
  return *v;
}

/// Packs w rows [n0, n0 + nc) x columns [k0, k0 + kc) into NR-column
/// panels, k-major, zero-padding the last panel. Goes through NR x 16 tiles
/// so that reads run along W rows and writes along panel rows.
void packBlock(const GemmArgs &a, int64_t n0, int64_t nc, int64_t k0,
               int64_t kc, float *wp) {
  constexpr int64_t KT = 16;
  for (int64_t p = 0; p * NR < nc; ++p) {
    float *panel = wp + p * NR * kc;
    int64_t cols = std::min(NR, nc - p * NR);
    const float *src = a.w + (n0 + p * NR) * a.ldw + k0;
    for (int64_t kb = 0; kb < kc; kb += KT) {
      int64_t kn = std::min(KT, kc - kb);
      float tile[KT][NR] = {};
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t k = 0; k < kn; ++k)
          tile[k][j] = src[j * a.ldw + kb + k];
      for (int64_t k = 0; k < kn; ++k)
        for (int64_t j = 0; j < NR; ++j)
          panel[(kb + k) * NR + j] = tile[k][j];
    }
  }
}

/// One task: rows [m0, m0 + mc) x columns [n0, n0 + nc), all of K.
void runTile(const GemmArgs &a, const Variant &v, int64_t m0, int64_t mc,
             int64_t n0, int64_t nc) {
  thread_local std::vector<float> packed;
  packed.resize(static_cast<size_t>(NC * KC));
  for (int64_t k0 = 0; k0 < a.K; k0 += KC) {
    int64_t kc = std::min(KC, a.K - k0);
    packBlock(a, n0, nc, k0, kc, packed.data());
    Block b;
    b.kc = kc;
    b.rows = mc;
    b.cols = nc;
    b.x = a.x + m0 * a.ldx + k0;
    b.ldx = a.ldx;
    b.wp = packed.data();
    b.y = a.y + m0 * a.ldy + n0;
    b.ldy = a.ldy;
    b.bias = a.bias ? a.bias + n0 : nullptr;
    b.load = a.accumulate || k0 > 0;
    if (b.load && k0 == 0 && a.bias) {
      // Accumulating with a bias: add the bias once, then accumulate.
      for (int64_t i = 0; i < mc; ++i)
        for (int64_t j = 0; j < nc; ++j)
          b.y[i * b.ldy + j] += a.bias[n0 + j];
    }
    v.macro(b);
  }
}

} // namespace

void gemm(ThreadPool *pool, const GemmArgs &a) {
  if (a.M <= 0 || a.N <= 0)
    return;
  if (a.K == 0) {
    // Empty reduction: y = bias (or unchanged when accumulating).
    for (int64_t m = 0; m < a.M; ++m)
      for (int64_t n = 0; n < a.N; ++n) {
        float b = a.bias ? a.bias[n] : 0.0f;
        float &y = a.y[m * a.ldy + n];
        y = a.accumulate ? y + b : b;
      }
    return;
  }
  const Variant &v = variant();
  if (a.M <= kFewRows) {
    // Memory-bound: split W rows so each thread streams its share once.
    parallelFor(
        pool, a.N, [&](int64_t n0, int64_t n1) { v.few(a, n0, n1); },
        std::max<int64_t>(8, 32768 / std::max<int64_t>(1, a.K * a.M)));
    return;
  }
  int64_t threads = pool ? pool->size() : 1;
  int64_t nBlocks = (a.N + NC - 1) / NC;
  int64_t mBlocks = (a.M + MC - 1) / MC;
  // Enough tiles for every thread, as long as a tile keeps a few MR tiles.
  while (mBlocks * nBlocks < 2 * threads && a.M / (mBlocks * 2) >= 4 * v.mr)
    mBlocks *= 2;
  int64_t rowsPerBlock = (a.M + mBlocks - 1) / mBlocks;
  rowsPerBlock = (rowsPerBlock + v.mr - 1) / v.mr * v.mr;
  mBlocks = (a.M + rowsPerBlock - 1) / rowsPerBlock;
  parallelFor(pool, mBlocks * nBlocks, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t mb = t / nBlocks, nb = t % nBlocks;
      int64_t m0 = mb * rowsPerBlock, n0 = nb * NC;
      runTile(a, v, m0, std::min(rowsPerBlock, a.M - m0), n0,
              std::min(NC, a.N - n0));
    }
  });
}

const char *gemmVariant() { return variant().name; }

bool selectGemmVariant(std::string_view name) {
  if (name.empty()) {
    chosen.store(bestVariant());
    return true;
  }
  for (const Variant &v : kVariants)
    if (name == v.name) {
      if (!v.supported())
        return false;
      chosen.store(&v);
      return true;
    }
  return false;
}

} // namespace braid::rt::cpu
