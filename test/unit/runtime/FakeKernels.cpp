//===- FakeKernels.cpp - the kernels of the fake GPU drivers --------------===//

#include "FakeKernels.h"

#include <cmath>
#include <cstring>

namespace {

constexpr int H = 8, V = 16;

float *f32(const BraidKernelParams &p, int i) {
  return static_cast<float *>(p.buffers[i]);
}
const int64_t *i64(const BraidKernelParams &p, int i) {
  return static_cast<const int64_t *>(p.buffers[i]);
}

} // namespace

bool runFakeKernel(const std::string &f, const BraidKernelParams &p) {
  const int64_t rows = p.batch * p.tokens;
  if (f == "fake_embedding") { // ids, table -> out
    for (int64_t r = 0; r < rows; ++r)
      for (int h = 0; h < H; ++h)
        f32(p, 2)[r * H + h] = f32(p, 1)[i64(p, 0)[r] * H + h];
    return true;
  }
  if (f == "fake_rms_norm") { // x, w -> y
    for (int64_t r = 0; r < rows; ++r) {
      const float *x = f32(p, 0) + r * H;
      double ss = 0;
      for (int h = 0; h < H; ++h)
        ss += double(x[h]) * double(x[h]);
      double inv = 1.0 / std::sqrt(ss / H + 1e-5);
      for (int h = 0; h < H; ++h)
        f32(p, 2)[r * H + h] = float(double(x[h]) * inv * double(f32(p, 1)[h]));
    }
    return true;
  }
  if (f == "fake_accumulate") { // x, acc, positions, cache_position -> acc, y
    if (p.buffers[1] != p.buffers[4] || p.cache_position != i64(p, 3) ||
        p.max_seq < 1 || !p.workspace)
      return false;
    const int64_t S = p.max_seq;
    float *acc = f32(p, 1);
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t t = 0; t < p.tokens; ++t) {
        int64_t pos = p.cache_position[b] + t;
        if (pos >= S || i64(p, 2)[b * p.tokens + t] != pos)
          return false;
        for (int h = 0; h < H; ++h)
          acc[(b * S + pos) * H + h] = f32(p, 0)[(b * p.tokens + t) * H + h];
        for (int h = 0; h < H; ++h) {
          double s = 0;
          for (int64_t j = 0; j < S; ++j)
            s += double(acc[(b * S + j) * H + h]);
          f32(p, 5)[(b * p.tokens + t) * H + h] = float(s);
        }
      }
    return true;
  }
  // Variants chosen by rows (the manifest's "rows") compute the same.
  if (f == "fake_linear" || f == "fake_linear_few" ||
      f == "fake_linear_many") { // x, w, bias -> y
    if (p.buffers[2])
      return false;
    for (int64_t r = 0; r < rows; ++r)
      for (int n = 0; n < V; ++n) {
        double s = 0;
        for (int k = 0; k < H; ++k)
          s += double(f32(p, 0)[r * H + k]) * double(f32(p, 1)[n * H + k]);
        f32(p, 3)[r * V + n] = float(s);
      }
    return true;
  }
  if (f == "fake_greedy_next") { // logits -> input_ids, positions, cache
    int64_t *ids = static_cast<int64_t *>(p.buffers[1]);
    int64_t *positions = static_cast<int64_t *>(p.buffers[2]);
    int64_t *cache = static_cast<int64_t *>(p.buffers[3]);
    if (p.tokens != 1 || cache != p.cache_position)
      return false;
    for (int64_t b = 0; b < p.batch; ++b) {
      const float *row = f32(p, 0) + b * V;
      int64_t best = 0;
      for (int v = 1; v < V; ++v)
        if (row[v] > row[best])
          best = v;
      ids[b] = best;
      positions[b] += 1;
      cache[b] += 1;
    }
    return true;
  }
  return false; // fake_fail and unknown functions
}
