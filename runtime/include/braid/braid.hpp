//===- braid.hpp - thin C++ wrapper over the Braid C API --------*- C++ -*-===//
//
// RAII handles over braid.h; failures throw braid::Error carrying the status
// and braid_last_error()'s message. Header-only: the exceptions are thrown in
// the caller's code, never through the C API.
//
//   braid::Bundle bundle("model.bundle");
//   braid::SessionOptions options;
//   options.maxSeqLen = 256;
//   options.weightsPath = "model.safetensors";
//   braid::Session session(bundle, options);
//   std::vector<int64_t> tokens = session.generate({1, 2, 3, 4}, 1, 4, 8);
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_BRAID_HPP
#define BRAID_BRAID_HPP

#include "braid/braid.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace braid {

class Error : public std::runtime_error {
public:
  Error(braid_status status, const std::string &message)
      : std::runtime_error(message), code(status) {}
  braid_status status() const { return code; }

private:
  braid_status code;
};

inline void check(braid_status status) {
  if (status != BRAID_OK)
    throw Error(status, braid_last_error());
}

struct TensorInfo {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape; ///< BRAID_DIM_* for symbols
  size_t numSources = 0;
  std::string transform;
};

/// "[B, 2, S, 16]"
inline std::string formatShape(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += shape[i] == BRAID_DIM_BATCH     ? "B"
         : shape[i] == BRAID_DIM_TOKENS  ? "T"
         : shape[i] == BRAID_DIM_MAX_SEQ ? "S"
                                         : std::to_string(shape[i]);
  }
  return s + "]";
}

class Bundle {
public:
  explicit Bundle(const std::string &path) {
    braid_bundle *b = nullptr;
    check(braid_bundle_open(path.c_str(), &b, nullptr));
    handle.reset(b, braid_bundle_close);
  }

  braid_bundle *get() const { return handle.get(); }

  braid_bundle_info info() const {
    braid_bundle_info i;
    check(braid_bundle_get_info(get(), &i));
    return i;
  }
  std::vector<std::string> targets() const {
    std::vector<std::string> out;
    for (size_t i = 0, n = info().num_targets; i < n; ++i) {
      const char *name;
      check(braid_bundle_target(get(), i, &name));
      out.push_back(name);
    }
    return out;
  }
  std::vector<braid_entry_info> entries() const {
    std::vector<braid_entry_info> out(info().num_entries);
    for (size_t i = 0; i < out.size(); ++i)
      check(braid_bundle_entry(get(), i, &out[i]));
    return out;
  }
  std::vector<TensorInfo> weights() const {
    return tensors(info().num_weights, braid_bundle_weight);
  }
  std::vector<TensorInfo> states() const {
    return tensors(info().num_states, braid_bundle_state);
  }
  std::vector<std::pair<std::string, size_t>> kernelFamilies() const {
    std::vector<std::pair<std::string, size_t>> out;
    for (size_t i = 0, n = info().num_kernel_families; i < n; ++i) {
      const char *name;
      size_t count = 0;
      check(braid_bundle_kernel_family(get(), i, &name, &count));
      out.push_back({name, count});
    }
    return out;
  }
  std::vector<braid_section_info> sections() const {
    std::vector<braid_section_info> out(info().num_sections);
    for (size_t i = 0; i < out.size(); ++i)
      check(braid_bundle_section(get(), i, &out[i]));
    return out;
  }
  std::string manifestJson() const {
    const char *text;
    size_t size;
    check(braid_bundle_manifest(get(), &text, &size));
    return std::string(text, size);
  }

private:
  template <typename Fn>
  std::vector<TensorInfo> tensors(size_t n, Fn query) const {
    std::vector<TensorInfo> out;
    for (size_t i = 0; i < n; ++i) {
      braid_tensor_info t;
      check(query(get(), i, &t));
      out.push_back({t.name, t.dtype,
                     std::vector<int64_t>(t.shape, t.shape + t.rank),
                     t.num_sources, t.transform ? t.transform : ""});
    }
    return out;
  }
  std::shared_ptr<braid_bundle> handle;
};

inline bool backendHasKernel(const std::string &backend,
                             const std::string &family) {
  int has = 0;
  check(braid_backend_has_kernel(backend.c_str(), family.c_str(), &has));
  return has != 0;
}

struct SessionOptions {
  std::string backend = "cpu";
  int64_t maxBatch = 1;
  int64_t maxSeqLen = 2048;
  uint32_t threads = 0;
  std::string weightsPath;            ///< safetensors file or folder, or
  std::optional<uint64_t> randomSeed; ///< random weights, or neither: packed
  bool cudaGraph = false;             ///< cuda, hip: decode as a graph
};

/// braid_sampling: how generate picks each token (temperature 0: greedy).
struct Sampling {
  double temperature = 0;
  int64_t topK = 0; ///< 0: off
  double topP = 1;  ///< 1: off
  uint64_t seed = 0;
  braid_sampling get() const {
    braid_sampling s;
    braid_sampling_init(&s);
    s.temperature = temperature;
    s.top_k = topK;
    s.top_p = topP;
    s.seed = seed;
    return s;
  }
};

class Session {
public:
  Session(const Bundle &bundle, const SessionOptions &options) {
    braid_session_options o;
    braid_session_options_init(&o);
    o.backend = options.backend.c_str();
    o.max_batch = options.maxBatch;
    o.max_seq_len = options.maxSeqLen;
    o.threads = options.threads;
    o.weights_path =
        options.weightsPath.empty() ? nullptr : options.weightsPath.c_str();
    o.use_random_weights = options.randomSeed.has_value();
    o.random_seed = options.randomSeed.value_or(0);
    o.cuda_graph = options.cudaGraph ? 1 : 0;
    braid_session *s = nullptr;
    check(braid_session_create(bundle.get(), &o, &s));
    handle.reset(s);
    vocab = info().vocab_size;
  }

  braid_session *get() const { return handle.get(); }
  int64_t vocabSize() const { return vocab; }

  braid_session_info info() const {
    braid_session_info i;
    check(braid_session_get_info(get(), &i));
    return i;
  }

  /// ids [batch, tokens] -> logits [batch, tokens, vocab].
  std::vector<float> prefill(const std::vector<int64_t> &ids, int64_t batch,
                             int64_t tokens) {
    std::vector<float> logits;
    prefill(ids, batch, tokens, logits);
    return logits;
  }
  /// The same into `logits`, resized only when its size differs: repeated
  /// calls reuse the host memory (a [1, 4096, 32000] result is 524 MB).
  void prefill(const std::vector<int64_t> &ids, int64_t batch, int64_t tokens,
               std::vector<float> &logits) {
    if (batch < 0 || tokens < 0 ||
        ids.size() != static_cast<size_t>(batch * tokens))
      throw Error(BRAID_ERROR_INVALID_ARGUMENT,
                  std::to_string(ids.size()) + " ids for a batch of " +
                      std::to_string(batch) + " x " + std::to_string(tokens));
    logits.resize(capacity(batch * tokens));
    check(braid_prefill(get(), ids.data(), batch, tokens, logits.data(),
                        logits.size()));
  }
  /// ids [batch, tokens] -> logits [batch, vocab] of the last positions
  /// (braid_prefill_last).
  std::vector<float> prefillLast(const std::vector<int64_t> &ids, int64_t batch,
                                 int64_t tokens) {
    if (batch < 0 || tokens < 0 ||
        ids.size() != static_cast<size_t>(batch * tokens))
      throw Error(BRAID_ERROR_INVALID_ARGUMENT,
                  std::to_string(ids.size()) + " ids for a batch of " +
                      std::to_string(batch) + " x " + std::to_string(tokens));
    std::vector<float> logits(capacity(batch));
    check(braid_prefill_last(get(), ids.data(), batch, tokens, logits.data(),
                             logits.size()));
    return logits;
  }
  /// ids [batch, tokens] started in slots [firstSlot, firstSlot + batch),
  /// the other slots left as they are -> logits [batch, vocab] of the last
  /// positions (braid_prefill_slots).
  std::vector<float> prefillSlots(int64_t firstSlot,
                                  const std::vector<int64_t> &ids,
                                  int64_t batch, int64_t tokens) {
    if (batch < 0 || tokens < 0 ||
        ids.size() != static_cast<size_t>(batch * tokens))
      throw Error(BRAID_ERROR_INVALID_ARGUMENT,
                  std::to_string(ids.size()) + " ids for a batch of " +
                      std::to_string(batch) + " x " + std::to_string(tokens));
    std::vector<float> logits(capacity(batch));
    check(braid_prefill_slots(get(), firstSlot, ids.data(), batch, tokens,
                              logits.data(), logits.size()));
    return logits;
  }
  /// Tokens slot `slot` holds (0: none).
  int64_t slotLength(int64_t slot) const {
    int64_t n = 0;
    check(braid_session_slot_length(get(), slot, &n));
    return n;
  }
  /// ids [batch] -> logits [batch, vocab].
  std::vector<float> decode(const std::vector<int64_t> &ids) {
    int64_t batch = static_cast<int64_t>(ids.size());
    std::vector<float> logits(capacity(batch));
    check(braid_decode(get(), ids.data(), batch, logits.data(), logits.size()));
    return logits;
  }
  /// Greedy: [batch, newTokens] generated tokens.
  std::vector<int64_t> generate(const std::vector<int64_t> &prompt,
                                int64_t batch, int64_t promptLen,
                                int64_t newTokens,
                                braid_generate_stats *stats = nullptr) {
    return generate(prompt, batch, promptLen, newTokens, Sampling{}, stats);
  }
  /// Each token chosen as `sampling` says (braid_generate): [batch,
  /// newTokens] generated tokens.
  std::vector<int64_t> generate(const std::vector<int64_t> &prompt,
                                int64_t batch, int64_t promptLen,
                                int64_t newTokens, const Sampling &sampling,
                                braid_generate_stats *stats = nullptr) {
    if (batch < 0 || promptLen < 0 ||
        prompt.size() != static_cast<size_t>(batch * promptLen))
      throw Error(BRAID_ERROR_INVALID_ARGUMENT,
                  std::to_string(prompt.size()) + " prompt ids for a batch " +
                      "of " + std::to_string(batch) + " x " +
                      std::to_string(promptLen));
    std::vector<int64_t> out(static_cast<size_t>(
        batch > 0 && newTokens > 0 ? batch * newTokens : 0));
    braid_sampling s = sampling.get();
    check(braid_generate(get(), prompt.data(), batch, promptLen, newTokens, &s,
                         out.empty() ? nullptr : out.data(), stats));
    return out;
  }

  /// Greedy over prompts of different lengths (braid_generate_greedy_ragged):
  /// [prompts.size(), newTokens] generated tokens.
  std::vector<int64_t>
  generate(const std::vector<std::vector<int64_t>> &prompts, int64_t newTokens,
           braid_generate_stats *stats = nullptr) {
    return generate(prompts, newTokens, Sampling{}, stats);
  }
  /// The same, each token chosen as `sampling` says (braid_generate_ragged).
  std::vector<int64_t>
  generate(const std::vector<std::vector<int64_t>> &prompts, int64_t newTokens,
           const Sampling &sampling, braid_generate_stats *stats = nullptr) {
    std::vector<int64_t> ids, lengths;
    for (const std::vector<int64_t> &p : prompts) {
      ids.insert(ids.end(), p.begin(), p.end());
      lengths.push_back(static_cast<int64_t>(p.size()));
    }
    int64_t batch = static_cast<int64_t>(prompts.size());
    std::vector<int64_t> out(static_cast<size_t>(
        batch > 0 && newTokens > 0 ? batch * newTokens : 0));
    braid_sampling s = sampling.get();
    check(braid_generate_ragged(get(), ids.data(), lengths.data(), batch,
                                newTokens, &s,
                                out.empty() ? nullptr : out.data(), stats));
    return out;
  }

private:
  size_t capacity(int64_t rows) const {
    return rows > 0 ? static_cast<size_t>(rows * vocab) : 0;
  }
  struct Deleter {
    void operator()(braid_session *s) const { braid_session_destroy(s); }
  };
  std::unique_ptr<braid_session, Deleter> handle;
  int64_t vocab = 0;
};

} // namespace braid

#endif // BRAID_BRAID_HPP
