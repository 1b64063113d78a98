//===- Weights.cpp - weights from a checkpoint or from a seed -------------===//

#include "runtime/src/Weights.h"

#include "runtime/src/Error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace braid::rt {
namespace {

std::string forWeight(const WeightDecl &w) {
  return " (for weight '" + w.name + "')";
}

/// The tensor that feeds source `i`, or nullptr when it is missing and no
/// tied alias stands in for it.
const StTensor *lookupSource(const WeightDecl &w, size_t i,
                             const TensorStore &store) {
  if (const StTensor *t = store.find(w.sources[i].tensor))
    return t;
  if (w.sources.size() == 1)
    for (const std::string &alias : w.tiedAliases)
      if (const StTensor *t = store.find(alias))
        return t;
  return nullptr;
}

/// Copies `rows` blocks of `block` floats from each source, interleaved: the
/// concatenation along an axis whose outer size is `rows`.
void concatInto(const std::vector<const float *> &src,
                const std::vector<int64_t> &blockSizes, int64_t rows,
                float *out) {
  for (int64_t r = 0; r < rows; ++r)
    for (size_t s = 0; s < src.size(); ++s) {
      std::memcpy(out, src[s] + r * blockSizes[s],
                  static_cast<size_t>(blockSizes[s]) * sizeof(float));
      out += blockSizes[s];
    }
}

void concatGroup(const WeightDecl &w, size_t begin, size_t end,
                 const std::vector<const float *> &sources, float *out) {
  const std::vector<int64_t> &first = w.sources[begin].shape;
  int64_t rank = static_cast<int64_t>(first.size());
  int64_t axis = w.axis < 0 ? w.axis + rank : w.axis;
  int64_t rows = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    rows *= first[d];
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= first[d];
  std::vector<const float *> src(sources.begin() + begin,
                                 sources.begin() + end);
  std::vector<int64_t> blocks;
  for (size_t i = begin; i < end; ++i)
    blocks.push_back(w.sources[i].shape[axis] * inner);
  concatInto(src, blocks, rows, out);
}

//===--- random numbers ---------------------------------------------------===//

uint64_t splitmix64(uint64_t &x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string &s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return h;
}

class Xoshiro256 {
public:
  explicit Xoshiro256(uint64_t seed) {
    for (uint64_t &w : s)
      w = splitmix64(seed);
  }
  uint64_t next() {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  /// Uniform in [lo, hi), from the top 24 bits.
  float uniform(float lo, float hi) {
    float u = static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
  }

private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s[4];
};

/// The `scale` prep step: one factor, or one per index of the first dim.
void applyScale(const WeightDecl &w, float *out) {
  if (w.scale.empty())
    return;
  int64_t rows = static_cast<int64_t>(w.scale.size());
  int64_t inner = w.numel() / rows;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < inner; ++i)
      out[r * inner + i] =
          static_cast<float>(double(out[r * inner + i]) * w.scale[r]);
}

/// The `column_scale` step: every row times the named 1-D weight, `values`.
void applyColumnScale(const WeightDecl &w, const std::vector<float> &values,
                      float *out) {
  const int64_t columns = static_cast<int64_t>(values.size());
  const int64_t rows = w.numel() / columns;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c)
      out[r * columns + c] *= values[c];
}

std::string lastComponent(const std::string &name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

void checkWeightSources(const WeightDecl &w, const TensorStore &store) {
  for (size_t i = 0; i < w.sources.size(); ++i) {
    const TensorSource &s = w.sources[i];
    const StTensor *t = lookupSource(w, i, store);
    if (!t)
      fail(ErrorCode::Weights, store.source() + ": missing tensor '" +
                                   s.tensor + "'" + forWeight(w) +
                                   ", expected shape " + formatShape(s.shape));
    if (t->shape != s.shape)
      fail(ErrorCode::Weights, *t->file + ": tensor '" + t->name + "'" +
                                   forWeight(w) + ": expected shape " +
                                   formatShape(s.shape) + ", found " +
                                   formatShape(t->shape));
    if (!isFloat16Or32(t->dtype))
      fail(ErrorCode::Weights,
           *t->file + ": tensor '" + t->name + "'" + forWeight(w) +
               ": expected dtype F32, F16 or BF16 (the weight is " +
               toString(w.dtype) + "), found " + toString(t->dtype));
  }
}

void combineSources(const WeightDecl &w,
                    const std::vector<const float *> &sources, float *out) {
  switch (w.combine) {
  case Combine::Single:
    std::memcpy(out, sources[0],
                static_cast<size_t>(numElements(w.sources[0].shape)) *
                    sizeof(float));
    return;
  case Combine::Concat:
    concatGroup(w, 0, sources.size(), sources, out);
    return;
  case Combine::Stack:
    for (size_t i = 0; i < sources.size(); ++i) {
      size_t n = static_cast<size_t>(numElements(w.sources[i].shape));
      std::memcpy(out, sources[i], n * sizeof(float));
      out += n;
    }
    return;
  case Combine::StackOfConcat: {
    size_t g = static_cast<size_t>(w.groupSize);
    for (size_t begin = 0; begin < sources.size(); begin += g) {
      concatGroup(w, begin, begin + g, sources, out);
      for (size_t i = begin; i < begin + g; ++i)
        out += numElements(w.sources[i].shape);
    }
    return;
  }
  }
}

void prepareWeight(const WeightDecl &w, const TensorStore &store, float *out) {
  checkWeightSources(w, store);
  std::vector<std::vector<float>> converted(w.sources.size());
  std::vector<const float *> ptrs;
  for (size_t i = 0; i < w.sources.size(); ++i) {
    const StTensor *t = lookupSource(w, i, store);
    bool aligned = reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0;
    if (t->dtype == StDType::F32 && aligned) {
      ptrs.push_back(reinterpret_cast<const float *>(t->data));
    } else {
      converted[i] = readF32(*t);
      ptrs.push_back(converted[i].data());
    }
  }
  combineSources(w, ptrs, out);
  if (w.elementwise == Elementwise::NegExp) {
    int64_t n = w.numel();
    for (int64_t i = 0; i < n; ++i)
      out[i] = -std::exp(out[i]);
  }
  applyScale(w, out);
  if (w.columnScaleDecl) {
    std::vector<float> values(static_cast<size_t>(w.columnScaleDecl->numel()));
    prepareWeight(*w.columnScaleDecl, store, values.data());
    applyColumnScale(w, values, out);
  }
}

const float *weightInPlace(const WeightDecl &w, const TensorStore &store) {
  checkWeightSources(w, store);
  if (w.combine != Combine::Single || w.elementwise != Elementwise::Identity ||
      !w.scale.empty() || w.columnScaleDecl)
    return nullptr;
  const StTensor *t = lookupSource(w, 0, store);
  if (t->dtype != StDType::F32 ||
      reinterpret_cast<uintptr_t>(t->data) % alignof(float) != 0)
    return nullptr;
  return reinterpret_cast<const float *>(t->data);
}

namespace {
void randomValues(const WeightDecl &w, uint64_t seed, float *out);
} // namespace

void randomWeight(const WeightDecl &w, uint64_t seed, float *out) {
  randomValues(w, seed, out);
  // A folded multiplier scales the drawn values like checkpoint ones.
  applyScale(w, out);
  if (w.columnScaleDecl) {
    std::vector<float> values(static_cast<size_t>(w.columnScaleDecl->numel()));
    randomWeight(*w.columnScaleDecl, seed, values.data());
    applyColumnScale(w, values, out);
  }
}

namespace {
void randomValues(const WeightDecl &w, uint64_t seed, float *out) {
  Xoshiro256 rng(seed ^ fnv1a(w.name));
  int64_t n = w.numel();
  std::string last = lastComponent(w.name);
  if (w.elementwise == Elementwise::NegExp) {
    for (int64_t i = 0; i < n; ++i) // -exp(log(U(1, 16)))
      out[i] = -rng.uniform(1.0f, 16.0f);
    return;
  }
  if (endsWith(last, "dt_bias")) {
    for (int64_t i = 0; i < n; ++i) {
      double dt = std::exp(rng.uniform(std::log(1e-3f), std::log(1e-1f)));
      out[i] = static_cast<float>(dt + std::log(-std::expm1(-dt)));
    }
    return;
  }
  if (w.shape.size() >= 2) {
    float scale =
        1.0f /
        std::sqrt(static_cast<float>(std::max<int64_t>(1, w.shape.back())));
    for (int64_t i = 0; i < n; ++i)
      out[i] = rng.uniform(-1.0f, 1.0f) * scale;
    return;
  }
  bool nearOne = last == "D" || (last.find("norm") != std::string::npos &&
                                 !endsWith(last, "_bias"));
  for (int64_t i = 0; i < n; ++i)
    out[i] = (nearOne ? 1.0f : 0.0f) + rng.uniform(-0.1f, 0.1f);
}
} // namespace

} // namespace braid::rt
