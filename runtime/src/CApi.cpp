//===- CApi.cpp - the C API over the runtime's C++ classes ----------------===//
//
// Every entry point catches everything: Error becomes its status, anything
// else BRAID_ERROR_INTERNAL (or OUT_OF_MEMORY), with the message kept in a
// thread-local string for braid_last_error().
//
//===----------------------------------------------------------------------===//

#include "braid/braid.h"

#include "runtime/src/Backend.h"
#include "runtime/src/Bundle.h"
#include "runtime/src/Error.h"
#include "runtime/src/Sampling.h"
#include "runtime/src/Session.h"

#include <new>

using namespace braid::rt;

struct braid_bundle {
  std::shared_ptr<const Bundle> bundle;
  std::string elementType;
  std::vector<std::string> transforms; // per weight
  std::vector<std::pair<std::string, size_t>> families;
};

struct braid_session {
  std::unique_ptr<Session> session;
  std::string backend;
};

namespace {

thread_local std::string lastError;

braid_status record(braid_status status, const std::string &message) {
  lastError = message;
  return status;
}

/// Runs fn, turning any exception into a status and a message.
template <typename Fn> braid_status guarded(Fn &&fn) {
  try {
    fn();
    return BRAID_OK;
  } catch (const Error &e) {
    return record(static_cast<braid_status>(e.code()), e.what());
  } catch (const std::bad_alloc &) {
    return record(BRAID_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception &e) {
    return record(BRAID_ERROR_INTERNAL,
                  std::string("internal error: ") + e.what());
  } catch (...) {
    return record(BRAID_ERROR_INTERNAL, "internal error: unknown exception");
  }
}

void require(bool ok, const char *message) {
  if (!ok)
    fail(ErrorCode::InvalidArgument, message);
}

void checkIndex(size_t index, size_t count, const char *what) {
  if (index >= count)
    fail(ErrorCode::InvalidArgument,
         std::string(what) + " index " + std::to_string(index) +
             " is out of range (the bundle has " + std::to_string(count) + ")");
}

std::string describeTransform(const WeightDecl &w) {
  std::string s = toString(w.combine);
  if (w.combine == Combine::Concat || w.combine == Combine::StackOfConcat)
    s += "(axis " + std::to_string(w.axis) +
         (w.combine == Combine::StackOfConcat
              ? ", groups of " + std::to_string(w.groupSize)
              : std::string()) +
         ")";
  if (w.elementwise == Elementwise::NegExp)
    s += ", neg_exp";
  if (!w.scale.empty())
    s += w.scale.size() == 1 ? ", scale" : ", scale per row";
  if (!w.columnScale.empty())
    s += ", columns times " + w.columnScale;
  return s;
}

void fillShape(const DimList &dims, braid_tensor_info *info) {
  if (dims.size() > BRAID_MAX_RANK)
    fail(ErrorCode::Unsupported,
         "rank " + std::to_string(dims.size()) + " exceeds BRAID_MAX_RANK");
  info->rank = dims.size();
  for (size_t i = 0; i < dims.size(); ++i)
    info->shape[i] = dims[i].symbol == 'B'   ? BRAID_DIM_BATCH
                     : dims[i].symbol == 'T' ? BRAID_DIM_TOKENS
                     : dims[i].symbol == 'S' ? BRAID_DIM_MAX_SEQ
                                             : dims[i].value;
}

void checkCapacity(size_t capacity, int64_t needed) {
  if (capacity < size_t(needed))
    fail(ErrorCode::InvalidArgument,
         "logits buffer holds " + std::to_string(capacity) + " floats, " +
             std::to_string(needed) + " needed");
}

void fillStats(const GenerateStats &g, braid_generate_stats *stats) {
  if (!stats)
    return;
  stats->prefill_seconds = g.prefillSeconds;
  stats->decode_seconds = g.decodeSeconds;
  stats->decode_steps = g.decodeSteps;
  stats->decode_on_device = g.decodeOnDevice ? 1 : 0;
}

/// The options of `sampling` (NULL: greedy), checked before any work.
SamplingOptions samplingOptions(const braid_sampling *sampling,
                                const std::string &prefix) {
  SamplingOptions o;
  if (sampling) {
    o.temperature = sampling->temperature;
    o.topK = sampling->top_k;
    o.topP = sampling->top_p;
    o.seed = sampling->seed;
  }
  checkSamplingOptions(o, prefix);
  return o;
}

} // namespace

extern "C" {

const char *braid_last_error(void) { return lastError.c_str(); }

const char *braid_status_name(braid_status status) {
  switch (status) {
  case BRAID_OK:
    return "BRAID_OK";
  case BRAID_ERROR_INVALID_ARGUMENT:
    return "BRAID_ERROR_INVALID_ARGUMENT";
  case BRAID_ERROR_IO:
    return "BRAID_ERROR_IO";
  case BRAID_ERROR_BUNDLE:
    return "BRAID_ERROR_BUNDLE";
  case BRAID_ERROR_WEIGHTS:
    return "BRAID_ERROR_WEIGHTS";
  case BRAID_ERROR_LIMIT:
    return "BRAID_ERROR_LIMIT";
  case BRAID_ERROR_UNSUPPORTED:
    return "BRAID_ERROR_UNSUPPORTED";
  case BRAID_ERROR_KERNEL:
    return "BRAID_ERROR_KERNEL";
  case BRAID_ERROR_OUT_OF_MEMORY:
    return "BRAID_ERROR_OUT_OF_MEMORY";
  case BRAID_ERROR_INTERNAL:
    return "BRAID_ERROR_INTERNAL";
  }
  return "BRAID_ERROR_UNKNOWN";
}

const char *braid_version(void) { return "0.1.0"; }

braid_status braid_bundle_open(const char *path, braid_bundle **out,
                               const char **error) {
  if (out)
    *out = nullptr;
  braid_status s = guarded([&] {
    require(path && out, "braid_bundle_open: null path or output pointer");
    auto b = std::make_unique<braid_bundle>();
    b->bundle = Bundle::open(path);
    const Manifest &m = b->bundle->manifest();
    b->elementType = toString(m.elementType);
    for (const WeightDecl &w : m.weights)
      b->transforms.push_back(describeTransform(w));
    b->families = m.kernelFamilies();
    *out = b.release();
  });
  if (error)
    *error = s == BRAID_OK ? "" : lastError.c_str();
  return s;
}

void braid_bundle_close(braid_bundle *bundle) { delete bundle; }

braid_status braid_bundle_get_info(const braid_bundle *bundle,
                                   braid_bundle_info *info) {
  return guarded([&] {
    require(bundle && info, "braid_bundle_get_info: null argument");
    const Bundle &b = *bundle->bundle;
    const Manifest &m = b.manifest();
    *info = {};
    info->path = b.path().c_str();
    info->model = m.model.c_str();
    info->generator = m.generator.c_str();
    info->element_type = bundle->elementType.c_str();
    info->format_version = b.formatVersion();
    info->file_size = b.fileSize();
    info->vocab_size = m.vocabSize;
    info->hidden_size = m.hiddenSize;
    info->arena_bytes_per_token = m.arenaBytesPerToken;
    info->weight_elements = m.weightElements();
    info->num_targets = m.targets.size();
    info->num_entries = m.entries.size();
    info->num_weights = m.weights.size();
    info->num_states = m.states.size();
    info->num_kernel_families = bundle->families.size();
    info->num_sections = b.sections().size();
  });
}

braid_status braid_bundle_target(const braid_bundle *bundle, size_t index,
                                 const char **name) {
  return guarded([&] {
    require(bundle && name, "braid_bundle_target: null argument");
    const Manifest &m = bundle->bundle->manifest();
    checkIndex(index, m.targets.size(), "target");
    *name = m.targets[index].c_str();
  });
}

braid_status braid_bundle_entry(const braid_bundle *bundle, size_t index,
                                braid_entry_info *info) {
  return guarded([&] {
    require(bundle && info, "braid_bundle_entry: null argument");
    const Manifest &m = bundle->bundle->manifest();
    checkIndex(index, m.entries.size(), "entry");
    const Entry &e = m.entries[index];
    info->name = e.name.c_str();
    info->num_inputs = e.inputs.size();
    info->num_outputs = e.outputs.size();
    info->num_launches = e.launches.size();
  });
}

braid_status braid_bundle_weight(const braid_bundle *bundle, size_t index,
                                 braid_tensor_info *info) {
  return guarded([&] {
    require(bundle && info, "braid_bundle_weight: null argument");
    const Manifest &m = bundle->bundle->manifest();
    checkIndex(index, m.weights.size(), "weight");
    const WeightDecl &w = m.weights[index];
    *info = {};
    info->name = w.name.c_str();
    info->dtype = toString(w.dtype);
    DimList dims;
    for (int64_t d : w.shape)
      dims.push_back(Dim::constant(d));
    fillShape(dims, info);
    info->num_sources = w.sources.size();
    info->transform = bundle->transforms[index].c_str();
  });
}

braid_status braid_bundle_state(const braid_bundle *bundle, size_t index,
                                braid_tensor_info *info) {
  return guarded([&] {
    require(bundle && info, "braid_bundle_state: null argument");
    const Manifest &m = bundle->bundle->manifest();
    checkIndex(index, m.states.size(), "state");
    const StateDecl &s = m.states[index];
    *info = {};
    info->name = s.name.c_str();
    info->dtype = toString(s.dtype);
    fillShape(s.shape, info);
    info->transform = "";
  });
}

braid_status braid_bundle_kernel_family(const braid_bundle *bundle,
                                        size_t index, const char **name,
                                        size_t *launches) {
  return guarded([&] {
    require(bundle && name, "braid_bundle_kernel_family: null argument");
    checkIndex(index, bundle->families.size(), "kernel family");
    *name = bundle->families[index].first.c_str();
    if (launches)
      *launches = bundle->families[index].second;
  });
}

braid_status braid_bundle_section(const braid_bundle *bundle, size_t index,
                                  braid_section_info *info) {
  return guarded([&] {
    require(bundle && info, "braid_bundle_section: null argument");
    const std::vector<SectionInfo> &sections = bundle->bundle->sections();
    checkIndex(index, sections.size(), "section");
    info->name = sections[index].name.c_str();
    info->offset = sections[index].offset;
    info->size = sections[index].size;
    info->crc32 = sections[index].crc32;
  });
}

braid_status braid_bundle_manifest(const braid_bundle *bundle,
                                   const char **json, size_t *size) {
  return guarded([&] {
    require(bundle && json && size, "braid_bundle_manifest: null argument");
    std::string_view text = bundle->bundle->manifestJson();
    *json = text.data();
    *size = text.size();
  });
}

braid_status braid_backend_has_kernel(const char *backend, const char *family,
                                      int *has) {
  return guarded([&] {
    require(family && has, "braid_backend_has_kernel: null argument");
    BackendOptions o;
    o.name = backend ? backend : "cpu";
    o.threads = 1;
    *has = createBackend(o)->hasKernel(family) ? 1 : 0;
  });
}

void braid_session_options_init(braid_session_options *options) {
  if (!options)
    return;
  *options = {};
  options->backend = "cpu";
  options->max_batch = 1;
  options->max_seq_len = 2048;
}

braid_status braid_session_create(braid_bundle *bundle,
                                  const braid_session_options *options,
                                  braid_session **out) {
  if (out)
    *out = nullptr;
  return guarded([&] {
    require(bundle && options && out,
            "braid_session_create: null bundle, options or output pointer");
    SessionOptions o;
    o.backend = options->backend ? options->backend : "cpu";
    o.maxBatch = options->max_batch;
    o.maxSeq = options->max_seq_len;
    o.threads = options->threads;
    if (options->weights_path)
      o.weightsPath = options->weights_path;
    if (options->use_random_weights)
      o.randomSeed = options->random_seed;
    o.cudaGraph = options->cuda_graph != 0;
    auto s = std::make_unique<braid_session>();
    s->session = std::make_unique<Session>(bundle->bundle, o);
    s->backend = s->session->backend().describe();
    *out = s.release();
  });
}

void braid_session_destroy(braid_session *session) { delete session; }

braid_status braid_session_get_info(const braid_session *session,
                                    braid_session_info *info) {
  return guarded([&] {
    require(session && info, "braid_session_get_info: null argument");
    const Session &s = *session->session;
    *info = {};
    info->backend = session->backend.c_str();
    info->weights = s.weightsDescription().c_str();
    info->max_batch = s.maxBatch();
    info->max_seq_len = s.maxSeq();
    info->vocab_size = s.vocabSize();
    info->batch = s.batch();
    info->length = s.batch() ? s.length(0) : 0;
    info->weight_bytes = s.weightBytes();
    info->state_bytes = s.stateBytes();
    info->arena_bytes = s.arenaBytes();
  });
}

braid_status braid_prefill(braid_session *session, const int64_t *ids,
                           int64_t batch, int64_t tokens, float *logits,
                           size_t logits_capacity) {
  return guarded([&] {
    require(session, "braid_prefill: null session");
    Session &s = *session->session;
    if (batch > 0 && tokens > 0 && batch <= s.maxBatch() &&
        tokens <= s.maxSeq())
      checkCapacity(logits_capacity, batch * tokens * s.vocabSize());
    s.prefill(ids, batch, tokens, logits);
  });
}

braid_status braid_prefill_last(braid_session *session, const int64_t *ids,
                                int64_t batch, int64_t tokens, float *logits,
                                size_t logits_capacity) {
  return guarded([&] {
    require(session, "braid_prefill_last: null session");
    Session &s = *session->session;
    if (batch > 0 && batch <= s.maxBatch())
      checkCapacity(logits_capacity, batch * s.vocabSize());
    s.prefillLast(ids, batch, tokens, logits);
  });
}

braid_status braid_prefill_slots(braid_session *session, int64_t first_slot,
                                 const int64_t *ids, int64_t batch,
                                 int64_t tokens, float *logits,
                                 size_t logits_capacity) {
  return guarded([&] {
    require(session, "braid_prefill_slots: null session");
    Session &s = *session->session;
    if (batch > 0 && batch <= s.maxBatch())
      checkCapacity(logits_capacity, batch * s.vocabSize());
    s.prefillSlots(first_slot, ids, batch, tokens, logits);
  });
}

braid_status braid_session_slot_length(const braid_session *session,
                                       int64_t slot, int64_t *length) {
  return guarded([&] {
    require(session && length, "braid_session_slot_length: null argument");
    const Session &s = *session->session;
    if (slot < 0 || slot >= s.maxBatch())
      fail(ErrorCode::Limit, "slot " + std::to_string(slot) +
                                 " is outside the session's slots 0.." +
                                 std::to_string(s.maxBatch() - 1));
    *length = s.length(slot);
  });
}

braid_status braid_decode(braid_session *session, const int64_t *ids,
                          int64_t batch, float *logits,
                          size_t logits_capacity) {
  return guarded([&] {
    require(session, "braid_decode: null session");
    Session &s = *session->session;
    if (batch > 0 && batch <= s.maxBatch())
      checkCapacity(logits_capacity, batch * s.vocabSize());
    s.decode(ids, batch, logits);
  });
}

braid_status braid_generate_greedy(braid_session *session,
                                   const int64_t *prompt, int64_t batch,
                                   int64_t prompt_len, int64_t new_tokens,
                                   int64_t *out_tokens,
                                   braid_generate_stats *stats) {
  return guarded([&] {
    require(session, "braid_generate_greedy: null session");
    fillStats(session->session->generate(prompt, batch, prompt_len, new_tokens,
                                         out_tokens),
              stats);
  });
}

braid_status braid_generate_greedy_ragged(braid_session *session,
                                          const int64_t *prompts,
                                          const int64_t *prompt_lens,
                                          int64_t batch, int64_t new_tokens,
                                          int64_t *out_tokens,
                                          braid_generate_stats *stats) {
  return guarded([&] {
    require(session, "braid_generate_greedy_ragged: null session");
    require(prompts && prompt_lens,
            "braid_generate_greedy_ragged: null prompts or prompt lengths");
    fillStats(session->session->generateRagged(prompts, prompt_lens, batch,
                                               new_tokens, out_tokens),
              stats);
  });
}

void braid_sampling_init(braid_sampling *sampling) {
  if (!sampling)
    return;
  SamplingOptions defaults;
  sampling->temperature = defaults.temperature;
  sampling->top_k = defaults.topK;
  sampling->top_p = defaults.topP;
  sampling->seed = defaults.seed;
}

braid_status braid_generate(braid_session *session, const int64_t *prompt,
                            int64_t batch, int64_t prompt_len,
                            int64_t new_tokens, const braid_sampling *sampling,
                            int64_t *out_tokens, braid_generate_stats *stats) {
  return guarded([&] {
    require(session, "braid_generate: null session");
    SamplingOptions o = samplingOptions(sampling, "braid_generate: ");
    fillStats(session->session->generate(prompt, batch, prompt_len, new_tokens,
                                         out_tokens, o),
              stats);
  });
}

braid_status
braid_generate_ragged(braid_session *session, const int64_t *prompts,
                      const int64_t *prompt_lens, int64_t batch,
                      int64_t new_tokens, const braid_sampling *sampling,
                      int64_t *out_tokens, braid_generate_stats *stats) {
  return guarded([&] {
    require(session, "braid_generate_ragged: null session");
    require(prompts && prompt_lens,
            "braid_generate_ragged: null prompts or prompt lengths");
    SamplingOptions o = samplingOptions(sampling, "braid_generate_ragged: ");
    fillStats(session->session->generateRagged(prompts, prompt_lens, batch,
                                               new_tokens, out_tokens, o),
              stats);
  });
}

} // extern "C"
