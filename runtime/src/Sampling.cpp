//===- Sampling.cpp - temperature, top-k, top-p sampling of logits --------===//

#include "runtime/src/Sampling.h"

#include "runtime/src/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace braid::rt {
namespace {

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

/// Larger scaled logit first, then the lower token: a strict total order,
/// so every sort below has one result whatever the standard library.
bool before(const std::pair<double, int64_t> &a,
            const std::pair<double, int64_t> &b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

} // namespace

int64_t argmax(const float *values, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (values[i] > values[best])
      best = i;
  return best;
}

void checkSamplingOptions(const SamplingOptions &o, const std::string &prefix) {
  if (!(o.temperature >= 0) || std::isinf(o.temperature))
    fail(ErrorCode::InvalidArgument,
         prefix + "temperature must be a finite number >= 0 (0: greedy), got " +
             number(o.temperature));
  if (o.topK < 0)
    fail(ErrorCode::InvalidArgument,
         prefix + "top_k must be >= 0 (0: off), got " + std::to_string(o.topK));
  if (!(o.topP > 0 && o.topP <= 1))
    fail(ErrorCode::InvalidArgument,
         prefix + "top_p must be in (0, 1] (1: off), got " + number(o.topP));
}

std::string describeSampling(const SamplingOptions &o) {
  if (o.greedy())
    return "greedy";
  std::string s = "temperature " + number(o.temperature);
  if (o.topK > 0)
    s += ", top-k " + std::to_string(o.topK);
  if (o.topP < 1)
    s += ", top-p " + number(o.topP);
  return s + ", seed " + std::to_string(o.seed);
}

RandomStream::RandomStream(uint64_t seed, uint64_t sequence) {
  // Every bit of both numbers reaches the state: no two (seed, sequence)
  // pairs share a stream.
  std::seed_seq words{uint32_t(seed), uint32_t(seed >> 32), uint32_t(sequence),
                      uint32_t(sequence >> 32)};
  engine.seed(words);
}

double RandomStream::uniform() { return double(engine() >> 11) * 0x1.0p-53; }

Sampler::Sampler(SamplingOptions options) : opts(options) {
  checkSamplingOptions(opts);
}

int64_t Sampler::sample(const float *logits, int64_t vocab,
                        RandomStream &stream) {
  if (opts.greedy() || vocab < 1)
    return argmax(logits, std::max<int64_t>(vocab, 1));
  constexpr float inf = std::numeric_limits<float>::infinity();
  // The largest value that can be drawn (NaN and -inf cannot).
  bool any = false;
  float top = -inf;
  for (int64_t i = 0; i < vocab; ++i)
    if (logits[i] > -inf && (!any || logits[i] > top)) {
      top = logits[i];
      any = true;
    }
  if (!any)
    return argmax(logits, vocab);

  // Scaled logits relative to the largest: (l - max) / T <= 0 stays finite
  // or goes to -inf (probability 0) for any temperature, where l / T could
  // overflow. +inf logits take all the mass, equally.
  candidates.clear();
  const bool infinite = top == inf;
  for (int64_t i = 0; i < vocab; ++i) {
    float v = logits[i];
    if (!(v > -inf) || (infinite && v != inf))
      continue;
    double x = infinite ? 0.0 : (double(v) - double(top)) / opts.temperature;
    if (x > -std::numeric_limits<double>::infinity())
      candidates.emplace_back(x, i);
  }
  auto begin = candidates.begin();

  // Top-k: every token at least as large as the k-th largest stays (ties
  // with it included, as transformers' threshold keeps them), sorted.
  if (opts.topK > 0 && size_t(opts.topK) < candidates.size()) {
    auto kth = begin + (opts.topK - 1);
    std::nth_element(begin, kth, candidates.end(), before);
    const double threshold = kth->first;
    auto kept = std::partition(kth + 1, candidates.end(), [&](const auto &c) {
      return c.first >= threshold;
    });
    candidates.erase(kept, candidates.end());
    std::sort(begin, candidates.end(), before);
  }

  // Top-p: the most likely tokens while the mass before each is below
  // top_p of the total (the first is always kept). Sorts a prefix that
  // doubles until it holds them: the set is usually small.
  if (opts.topP < 1) {
    double total = 0;
    for (const auto &c : candidates)
      total += std::exp(c.first);
    const double need = opts.topP * total;
    const size_t n = candidates.size();
    size_t keep = n, sorted = 0;
    double mass = 0;
    while (keep == n && sorted < n) {
      size_t upTo = std::min(n, std::max<size_t>(64, 2 * sorted));
      std::partial_sort(begin + sorted, begin + upTo, candidates.end(), before);
      for (; sorted < upTo; ++sorted) {
        if (mass >= need) {
          keep = sorted;
          break;
        }
        mass += std::exp(candidates[sorted].first);
      }
    }
    candidates.resize(keep);
  }

  // The draw: the softmax's numerator of each kept token, a uniform number
  // times their sum, the token whose interval holds it.
  double sum = 0;
  for (auto &c : candidates) {
    c.first = std::exp(c.first);
    sum += c.first;
  }
  const double target = stream.uniform() * sum;
  double acc = 0;
  int64_t last = candidates.front().second;
  for (const auto &c : candidates) {
    if (c.first <= 0)
      continue;
    acc += c.first;
    last = c.second;
    if (target < acc)
      return c.second;
  }
  return last; // rounding left the target at the sum's end
}

} // namespace braid::rt
