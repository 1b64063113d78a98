//===- Session.h - one model instance: weights, states, arena ---*- C++ -*-===//
//
// A session owns everything one running model needs on its backend: the
// prepared weights, the persistent states (KV caches, conv and SSM states)
// sized for the maximum batch and sequence length, the arena
// (bytes_per_token x max batch x max length), and input buffers. It runs the
// bundle's prefill and decode entries and generation (greedy or sampled).
//
// Sequences live in batch slots 0 .. max batch - 1; row b of every state
// (KV caches, conv and SSM states all lead with B) belongs to slot b, and
// each slot keeps its own length. prefill starts B new sequences of T tokens
// in slots [0, B) and forgets the others (states zeroed); prefillSlots starts
// sequences in chosen slots with their own length and leaves the other slots
// alone, so a batch can hold prompts of different lengths. Each decode adds
// one token to each of the held sequences, at each one's own position
// (positions and cache_position are per sequence, read from device buffers,
// so a captured decode graph replays as the lengths change). Not
// thread-safe: one call at a time per session.
//
// Greedy generation on the device: when the bundle has a decode_greedy
// entry (decode, then greedy_next: each row's argmax becomes its next input
// id and its positions advance, on the device) and the backend copies in
// stream order, generate enqueues all its decode steps back to back, with a
// copy of the ids aside after each, and waits once at the end: the host
// does no work between steps (no logits copied back, no argmax, no upload).
// BRAID_HOST_SAMPLING=1 keeps the loop on the host (decode, argmax, decode)
// for comparison; both choose the same tokens. Sampled generation
// (temperature > 0) always runs the host loop: each step's logits come back
// and Sampling.h's Sampler draws every row's token.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_SESSION_H
#define BRAID_RUNTIME_SRC_SESSION_H

#include "runtime/src/Backend.h"
#include "runtime/src/Bundle.h"
#include "runtime/src/Executor.h"
#include "runtime/src/Safetensors.h"
#include "runtime/src/Sampling.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace braid::rt {

struct SessionOptions {
  std::string backend = "cpu";
  int64_t maxBatch = 1;
  int64_t maxSeq = 2048;
  unsigned threads = 0; ///< 0: hardware concurrency
  /// Weights: a safetensors file or folder, or a seed; when neither is set
  /// the bundle's packed "weights" section is used if it has one.
  std::string weightsPath;
  std::optional<uint64_t> randomSeed;
  /// Test hook: how the CPU backend finds kernels (empty: findCpuKernel).
  KernelLookup kernelLookup;
  /// CUDA backend: capture decode as a CUDA graph and replay it.
  bool cudaGraph = false;
};

struct GenerateStats {
  double prefillSeconds = 0;
  double decodeSeconds = 0;
  int64_t decodeSteps = 0;
  bool decodeOnDevice = false; ///< decode_greedy ran the steps (greedy only)
};

class Session {
public:
  /// Creates the backend, checks the bundle can run on it, loads or draws
  /// the weights, allocates states and the arena. Throws Error.
  Session(std::shared_ptr<const Bundle> bundle, SessionOptions options);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// B new sequences of T tokens: ids [B, T] -> logits [B, T, vocab].
  void prefill(const int64_t *ids, int64_t batch, int64_t tokens,
               float *logits);
  /// The same sequences as prefill (same states afterwards), but only the
  /// logits of each sequence's last position: ids [B, T] -> logits
  /// [B, vocab]. Runs the bundle's prefill_last entry (the final norm and
  /// lm_head on B rows instead of B * T); a bundle without one falls back
  /// to prefill and keeps the last rows.
  void prefillLast(const int64_t *ids, int64_t batch, int64_t tokens,
                   float *logits);
  /// Whether the bundle has a prefill_last entry.
  bool hasPrefillLast() const { return prefillLastEntry.has_value(); }
  /// Starts `batch` new sequences of `tokens` tokens in slots [first,
  /// first + batch) (their states zeroed first) and leaves every other slot
  /// as it is: ids [batch, tokens] -> the logits of each one's last position
  /// [batch, vocab] (prefill_last, or prefill's last rows). Different
  /// lengths go in separate calls.
  void prefillSlots(int64_t first, const int64_t *ids, int64_t batch,
                    int64_t tokens, float *logits);
  /// One more token for each held sequence, slots [0, B) (B = batch(), every
  /// one of them holding a sequence), each at its own position:
  /// ids [B] -> logits [B, vocab].
  void decode(const int64_t *ids, int64_t batch, float *logits);
  /// prefillLast the prompt [B, T], then newTokens - 1 decodes; writes the
  /// newTokens tokens of each sequence to out [B, newTokens]. Greedy (the
  /// argmax) by default; other options sample each token on the host
  /// (Sampling.h), sequence b from stream (seed, b), so the decode steps
  /// run the host loop even where the bundle has decode_greedy.
  GenerateStats generate(const int64_t *prompt, int64_t batch,
                         int64_t promptLength, int64_t newTokens, int64_t *out,
                         const SamplingOptions &sampling = {});
  /// generate over prompts of different lengths: prompt b has lengths[b] ids
  /// (prompts concatenated) and goes to slot b (consecutive prompts of one
  /// length share a prefill); then newTokens - 1 decodes of all B together.
  /// Slots from B on are forgotten. out [B, newTokens].
  GenerateStats generateRagged(const int64_t *prompts, const int64_t *lengths,
                               int64_t batch, int64_t newTokens, int64_t *out,
                               const SamplingOptions &sampling = {});

  const Bundle &bundle() const { return *theBundle; }
  const Manifest &manifest() const { return theBundle->manifest(); }
  const Backend &backend() const { return *theBackend; }
  int64_t vocabSize() const { return manifest().vocabSize; }
  int64_t maxBatch() const { return options.maxBatch; }
  int64_t maxSeq() const { return options.maxSeq; }
  /// 1 + the last slot that holds a sequence (0: none).
  int64_t batch() const;
  /// Tokens slot `row` holds (0: no sequence).
  int64_t length(int64_t row) const { return lengths.at(size_t(row)); }
  /// "random (seed 7)", the checkpoint path, or "packed in the bundle".
  const std::string &weightsDescription() const { return weightsFrom; }
  /// Bytes of backend memory: weights (copies only), states, arena.
  size_t weightBytes() const { return weightMemory; }
  size_t stateBytes() const { return stateMemory; }
  size_t arenaBytes() const { return arena.bytes; }

private:
  void allocate();
  DeviceBuffer allocateFor(size_t bytes, const std::string &what);
  /// Fails with Error(OutOfMemory) when the backend reports less available
  /// memory than needed.
  void checkMemory(uint64_t statesAndArena, uint64_t weights) const;
  void releaseAll();
  void loadWeights();
  /// Host threads for the session's own work (weights, sampling):
  /// options.threads, or the hardware concurrency.
  unsigned workerThreads() const;
  void checkIds(const int64_t *ids, int64_t batch, int64_t tokens,
                bool decoding) const;
  /// generate (`slots` false: one prefill of every prompt, all of
  /// lengths[0] tokens) and generateRagged (a slot prefill per run of one
  /// length).
  GenerateStats generateFrom(const int64_t *prompt, const int64_t *lengths,
                             int64_t batch, int64_t newTokens, int64_t *out,
                             bool slots, const SamplingOptions &sampling);
  /// Runs `entry` on slots [first, first + batch): every state's view
  /// starts at row `first`.
  void runEntry(size_t entry, int64_t first, int64_t batch, int64_t tokens,
                float *logits, int64_t logitRows);
  /// The buffers of `entry` on slots [first, first + batch), its logits
  /// output at `logitsOut`.
  ExecBindings bindings(size_t entry, int64_t first, int64_t batch,
                        int64_t tokens, void *logitsOut) const;
  /// Whether generate runs its decode steps on the device (decode_greedy).
  bool greedyOnDevice() const;
  /// `steps` decode_greedy steps of slots [0, batch) starting from the
  /// tokens `next` [batch]; token s of row b goes to out[b * stride + s].
  void decodeGreedy(const int64_t *next, int64_t batch, int64_t steps,
                    int64_t *out, int64_t stride);
  /// The checks of decode() for `steps` more tokens in slots [0, batch).
  void checkDecode(int64_t batch, int64_t steps) const;
  /// Uploads the next ids [batch] and each slot's length as its position.
  void uploadDecodeInputs(const int64_t *ids, int64_t batch);
  /// Reallocates `buffer` (contents lost) when it holds fewer than `bytes`.
  void grow(DeviceBuffer &buffer, size_t bytes);
  /// prefill, prefillLast, prefillSlots: checks, zeroes the states of slots
  /// [first, first + batch) (all of them when `all`), runs `entry`.
  void start(size_t entry, int64_t first, bool all, const int64_t *ids,
             int64_t batch, int64_t tokens, float *logits, int64_t logitRows);
  /// prefillLast on slots [first, first + batch).
  void startLast(int64_t first, bool all, const int64_t *ids, int64_t batch,
                 int64_t tokens, float *logits);

  std::shared_ptr<const Bundle> theBundle;
  SessionOptions options;
  std::unique_ptr<Backend> theBackend;
  std::unique_ptr<Executor> executor;
  std::optional<TensorStore> checkpoint; ///< kept for in-place weights
  std::string weightsFrom;

  std::vector<DeviceBuffer> owned; ///< released at destruction
  std::vector<void *> weightPtrs;
  std::vector<DeviceBuffer> states;
  DeviceBuffer arena;
  DeviceBuffer ids, positions, cachePosition;
  DeviceBuffer logitsBuffer; ///< device backends; decodeGreedy on any
  DeviceBuffer tokenLog;     ///< decodeGreedy: [steps, batch] ids
  size_t weightMemory = 0, stateMemory = 0;

  size_t prefillEntry = 0;
  std::optional<size_t> decodeEntry;
  std::optional<size_t> prefillLastEntry;
  std::optional<size_t> decodeGreedyEntry;
  std::vector<int64_t> slotBytes; ///< bytes of one batch row, per state
  /// Samples a batch's rows (made on the first sampled generate): its
  /// threads outlive the decode steps, and so do their scratch rows.
  std::unique_ptr<ThreadPool> samplingPool;
  std::vector<int64_t> lengths;   ///< per slot; 0: no sequence
  std::vector<int64_t> hostPositions;
};

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_SESSION_H
