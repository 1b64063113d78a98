//===- Sampling.cpp - temperature, top-k, top-p sampling of logits --------===//

#include "runtime/src/Sampling.h"

#include "runtime/src/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

namespace braid::rt {
namespace {

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

using Candidate = Sampler::Candidate;

/// Larger scaled logit first, then the lower token: a strict total order.
bool before(const Candidate &a, const Candidate &b) {
  return a.scaled > b.scaled || (a.scaled == b.scaled && a.token < b.token);
}

/// Top-p: reorders `c` so that its first `return value` entries are the
/// most likely tokens, in `before` order, up to the first whose preceding
/// mass reaches `need` (that one excluded): the tokens transformers' top-p
/// keeps, without sorting the row. A quickselect on the cumulative mass,
/// with this file's own partition, so the arrangement (and the order of the
/// draw over it) is the same with every standard library; expected O(n).
size_t topPCount(std::vector<Candidate> &c, double need) {
  size_t lo = 0, hi = c.size();
  double above = 0; // the mass of [0, lo), all before [lo, hi)
  while (hi - lo > 1) {
    // Median of three as the pivot, moved to hi - 1.
    size_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (before(c[mid], c[lo]))
      std::swap(c[mid], c[lo]);
    if (before(c[last], c[lo]))
      std::swap(c[last], c[lo]);
    if (before(c[mid], c[last]))
      std::swap(c[mid], c[last]);
    size_t pos = lo;
    double upper = 0;
    for (size_t i = lo; i < last; ++i)
      if (before(c[i], c[last])) {
        upper += c[i].weight;
        std::swap(c[i], c[pos++]);
      }
    std::swap(c[pos], c[last]);
    if (above + upper >= need) {
      hi = pos; // the cut is before the pivot
    } else if (above + upper + c[pos].weight >= need) {
      return pos + 1; // the pivot is the last one kept
    } else {
      above += upper + c[pos].weight;
      lo = pos + 1;
    }
  }
  // One left, kept (the mass before it is below `need`), or none left: the
  // rounding of partial sums went past the end.
  return hi - lo == 1 ? lo + 1 : lo;
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
                        RandomStream &stream) const {
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

  // Reused between calls on one thread: a row of 128k tokens is 3 MiB.
  thread_local std::vector<Candidate> candidates;
  thread_local std::vector<double> scratch;
  // Scaled logits relative to the largest: (l - max) / T <= 0 stays finite
  // or goes to -inf (probability 0) for any temperature, where l / T could
  // overflow. +inf logits take all the mass, equally. Token order.
  candidates.clear();
  const bool infinite = top == inf;
  for (int64_t i = 0; i < vocab; ++i) {
    float v = logits[i];
    if (!(v > -inf) || (infinite && v != inf))
      continue;
    double x = infinite ? 0.0 : (double(v) - double(top)) / opts.temperature;
    if (x > -std::numeric_limits<double>::infinity())
      candidates.push_back({x, std::exp(x), i});
  }

  // Top-k: every token at least as large as the k-th largest stays (ties
  // with it included, as transformers' threshold keeps them), in token
  // order. The k-th largest value is one number whatever the selection.
  if (opts.topK > 0 && size_t(opts.topK) < candidates.size()) {
    scratch.clear();
    for (const Candidate &c : candidates)
      scratch.push_back(c.scaled);
    auto kth = scratch.begin() + (opts.topK - 1);
    std::nth_element(scratch.begin(), kth, scratch.end(),
                     std::greater<double>());
    const double threshold = *kth;
    candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                    [&](const Candidate &c) {
                                      return c.scaled < threshold;
                                    }),
                     candidates.end());
  }

  // Top-p: the most likely tokens while the mass before each is below
  // top_p of the total (the first always kept).
  if (opts.topP < 1) {
    double total = 0;
    for (const Candidate &c : candidates)
      total += c.weight;
    candidates.resize(topPCount(candidates, opts.topP * total));
  }

  // The draw: a uniform number times the kept weights' sum, the token whose
  // interval holds it.
  double sum = 0;
  for (const Candidate &c : candidates)
    sum += c.weight;
  const double target = stream.uniform() * sum;
  double acc = 0;
  int64_t last = candidates.front().token;
  for (const Candidate &c : candidates) {
    if (c.weight <= 0)
      continue;
    acc += c.weight;
    last = c.token;
    if (target < acc)
      return c.token;
  }
  return last; // rounding left the target at the sum's end
}

} // namespace braid::rt
