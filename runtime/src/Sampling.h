//===- Sampling.h - temperature, top-k, top-p sampling ----------*- C++ -*-===//
//
// The host's choice of a sequence's next token from one row of logits
// [vocab], as transformers' generate(do_sample=True) makes it: the logits
// divided by the temperature, then top-k (the k largest kept, and every
// token tied with the k-th), then top-p (the smallest set of the most likely
// tokens whose probability reaches top_p; at least one kept), a softmax in
// double with the maximum subtracted, and one draw.
//
// Temperature 0 is greedy: exactly argmax() below, the rule of the greedy
// host loop and of the greedy_next kernel (the first maximum wins; a NaN is
// never chosen unless it sits at index 0). A NaN logit is never drawn; +inf
// logits share all the mass equally (the limit of the softmax). A row with no finite or +inf
// value (all NaN or -inf) has nothing to draw from and gets the argmax rule
// too (index 0 for such a row).
//
// Randomness: each sequence has its own stream, a std::mt19937_64 seeded
// through std::seed_seq from (seed, sequence index) (both fully specified by
// the C++ standard, unlike std::*_distribution), with 53 bits of each draw
// made into a double in [0, 1). A sequence's tokens depend only on the seed,
// its index and its logits: not on the batch size nor on the standard
// library.
//
// Cost: expected O(vocab) per row, no sort (top-k by selection of the k-th
// value, top-p by a quickselect on the cumulative mass); about 2-4 ms for a
// row of 128k tokens on one core. Session samples a batch's rows on its
// threads.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_SAMPLING_H
#define BRAID_RUNTIME_SRC_SAMPLING_H

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace braid::rt {

/// Index of the largest value (the first one on ties; a NaN never compares
/// larger, so it wins only at index 0): greedy's rule on the host, the same
/// as the greedy_next kernel's.
int64_t argmax(const float *values, int64_t n);

struct SamplingOptions {
  double temperature = 0; ///< 0: greedy (the others are then ignored)
  int64_t topK = 0;       ///< 0: off
  double topP = 1;        ///< 1: off
  uint64_t seed = 0;
  bool greedy() const { return temperature == 0; }
};

/// Fails with Error(InvalidArgument) naming the bad value: a temperature
/// that is negative or not finite, a negative top-k, a top-p outside
/// (0, 1]. `prefix` starts the message (e.g. "braid_generate: ").
void checkSamplingOptions(const SamplingOptions &options,
                          const std::string &prefix = "");

/// "greedy" or "temperature 0.8, top-k 40, top-p 0.95, seed 7" (top-k and
/// top-p only when on).
std::string describeSampling(const SamplingOptions &options);

/// One sequence's random numbers.
class RandomStream {
public:
  RandomStream(uint64_t seed, uint64_t sequence);
  /// Uniform in [0, 1), 53 random bits.
  double uniform();

private:
  std::mt19937_64 engine;
};

/// Picks tokens from rows of logits. Thread-safe: rows may be sampled on
/// several threads at once (each with its own stream); the scratch buffers
/// are per thread.
class Sampler {
public:
  /// Checks the options (checkSamplingOptions).
  explicit Sampler(SamplingOptions options);
  /// The next token of the sequence whose stream is `stream`, from its row
  /// of `vocab` logits. Greedy options draw nothing from the stream.
  /// Expected O(vocab) (no sort of the row).
  int64_t sample(const float *logits, int64_t vocab,
                 RandomStream &stream) const;
  const SamplingOptions &options() const { return opts; }

  /// A token that can be drawn: its scaled logit (relative to the row's
  /// maximum, <= 0) and exp of it.
  struct Candidate {
    double scaled, weight;
    int64_t token;
  };

private:
  SamplingOptions opts;
};

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_SAMPLING_H
