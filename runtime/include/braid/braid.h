/*===- braid.h - the Braid runtime C API ----------------------------------===*
 *
 * Load a bundle written by braidc, create a session on a backend, run the
 * bundle's prefill and decode entries, generate (greedily or sampled).
 *
 *   braid_bundle *bundle;
 *   if (braid_bundle_open("model.bundle", &bundle, NULL) != BRAID_OK) {
 *     fprintf(stderr, "%s\n", braid_last_error());
 *     return 1;
 *   }
 *   braid_session_options options;
 *   braid_session_options_init(&options);
 *   options.max_batch = 1;
 *   options.max_seq_len = 256;
 *   options.weights_path = "model.safetensors";
 *   braid_session *session;
 *   if (braid_session_create(bundle, &options, &session) != BRAID_OK) ...
 *   int64_t prompt[4] = {1, 2, 3, 4}, out[8];
 *   braid_generate_greedy(session, prompt, 1, 4, 8, out, NULL);
 *   braid_session_destroy(session);
 *   braid_bundle_close(bundle);
 *
 * Every function that can fail returns a braid_status; on failure
 * braid_last_error() holds a one-line message saying why (which file, which
 * section, tensor, position or launch). The message is per thread and stays
 * valid until the next failing call on that thread. No function of this API
 * throws or aborts on bad input.
 *
 * Objects: a bundle is immutable and may be shared by threads and sessions;
 * a session is used by one thread at a time. A session keeps its bundle
 * alive: closing the bundle first is allowed.
 *
 * Shapes in queries: dimensions >= 0 are constants; BRAID_DIM_BATCH,
 * BRAID_DIM_TOKENS and BRAID_DIM_MAX_SEQ stand for the symbols B, T and S of
 * docs/bundle.md.
 *===----------------------------------------------------------------------===*/
#ifndef BRAID_BRAID_H
#define BRAID_BRAID_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRAID_API_VERSION 3 /* 2: batch slots, ragged; 3: sampling */

typedef enum braid_status {
  BRAID_OK = 0,
  BRAID_ERROR_INVALID_ARGUMENT = 1, /* bad option, null pointer, call order */
  BRAID_ERROR_IO = 2,               /* cannot open, read or write a file */
  BRAID_ERROR_BUNDLE = 3,  /* corrupt, truncated or newer bundle; manifest */
  BRAID_ERROR_WEIGHTS = 4, /* missing tensor, wrong shape or dtype */
  BRAID_ERROR_LIMIT = 5,   /* id outside the vocabulary, too long, too big */
  BRAID_ERROR_UNSUPPORTED = 6, /* backend, target or kernel not available */
  BRAID_ERROR_KERNEL = 7,      /* a kernel failed while running */
  BRAID_ERROR_OUT_OF_MEMORY = 8,
  BRAID_ERROR_INTERNAL = 9
} braid_status;

#define BRAID_DIM_BATCH (-1)   /* "B" */
#define BRAID_DIM_TOKENS (-2)  /* "T" */
#define BRAID_DIM_MAX_SEQ (-3) /* "S" */
#define BRAID_MAX_RANK 8

typedef struct braid_bundle braid_bundle;
typedef struct braid_session braid_session;

/* The message of the last failure on this thread ("" if none). */
const char *braid_last_error(void);
/* "BRAID_ERROR_LIMIT" etc. */
const char *braid_status_name(braid_status status);
/* "0.1.0" */
const char *braid_version(void);

/*===--- bundles ----------------------------------------------------------===*/

/* Opens and checks a bundle (magic, version, size, checksums, manifest).
 * On failure *out is NULL and, when `error` is not NULL, *error points to
 * the message (the same text as braid_last_error()). */
braid_status braid_bundle_open(const char *path, braid_bundle **out,
                               const char **error);
void braid_bundle_close(braid_bundle *bundle);

typedef struct braid_bundle_info {
  const char *path;
  const char *model;
  const char *generator;
  const char *element_type; /* "f32", "bf16", ... */
  uint32_t format_version;
  uint64_t file_size;
  int64_t vocab_size;
  int64_t hidden_size;
  int64_t arena_bytes_per_token;
  int64_t weight_elements; /* total over all weights */
  size_t num_targets;
  size_t num_entries;
  size_t num_weights;
  size_t num_states;
  size_t num_kernel_families;
  size_t num_sections;
} braid_bundle_info;

/* Strings stay valid while the bundle is open. */
braid_status braid_bundle_get_info(const braid_bundle *bundle,
                                   braid_bundle_info *info);
braid_status braid_bundle_target(const braid_bundle *bundle, size_t index,
                                 const char **name);

typedef struct braid_entry_info {
  const char *name; /* "prefill", "decode", "prefill_last" */
  size_t num_inputs;
  size_t num_outputs;
  size_t num_launches;
} braid_entry_info;
braid_status braid_bundle_entry(const braid_bundle *bundle, size_t index,
                                braid_entry_info *info);

typedef struct braid_tensor_info {
  const char *name;
  const char *dtype; /* "f32", "f16", "bf16", "i64" */
  size_t rank;
  int64_t shape[BRAID_MAX_RANK]; /* BRAID_DIM_* for symbols */
  size_t num_sources;            /* weights: checkpoint tensors it comes from */
  const char *transform;         /* weights: e.g. "concat(axis 0)", "neg_exp" */
} braid_tensor_info;
braid_status braid_bundle_weight(const braid_bundle *bundle, size_t index,
                                 braid_tensor_info *info);
braid_status braid_bundle_state(const braid_bundle *bundle, size_t index,
                                braid_tensor_info *info);

/* Kernel families in order of first use, with their number of launches
 * over all entries. */
braid_status braid_bundle_kernel_family(const braid_bundle *bundle,
                                        size_t index, const char **name,
                                        size_t *launches);

typedef struct braid_section_info {
  const char *name; /* "manifest", "code.sm_90a", "weights" */
  uint64_t offset;
  uint64_t size;
  uint32_t crc32;
} braid_section_info;
braid_status braid_bundle_section(const braid_bundle *bundle, size_t index,
                                  braid_section_info *info);

/* The manifest JSON text (not NUL-terminated; `size` bytes). */
braid_status braid_bundle_manifest(const braid_bundle *bundle,
                                   const char **json, size_t *size);

/* Whether `backend` ("cpu") is built in and implements kernel `family`. */
braid_status braid_backend_has_kernel(const char *backend, const char *family,
                                      int *has);

/*===--- sessions ---------------------------------------------------------===*/

typedef struct braid_session_options {
  const char *backend; /* "cpu", "cuda" or "hip" (NULL: "cpu") */
  int64_t max_batch;   /* sequences per call (default 1) */
  int64_t max_seq_len; /* tokens per sequence, prompt + generated (2048) */
  uint32_t threads;    /* CPU threads; 0: all hardware threads */
  /* Weights: a safetensors file or a folder of them ... */
  const char *weights_path;
  /* ... or random weights from a seed (when use_random_weights != 0) ... */
  int use_random_weights;
  uint64_t random_seed;
  /* ... or, when neither, the bundle's packed "weights" section. */
  int cuda_graph; /* cuda/hip: capture decode as a CUDA/HIP graph (0: off) */
} braid_session_options;

/* Fills the defaults above. */
void braid_session_options_init(braid_session_options *options);

/* Creates the backend, checks the bundle's targets and kernels, loads and
 * checks the weights (a missing tensor, a wrong shape or dtype is an error
 * naming it), allocates states and the arena. */
braid_status braid_session_create(braid_bundle *bundle,
                                  const braid_session_options *options,
                                  braid_session **out);
void braid_session_destroy(braid_session *session);

typedef struct braid_session_info {
  const char *backend; /* "cpu (8 threads)" */
  const char *weights; /* path, "random (seed 7)", "packed in the bundle" */
  int64_t max_batch;
  int64_t max_seq_len;
  int64_t vocab_size;
  int64_t batch;         /* 1 + the last slot holding a sequence (0: none) */
  int64_t length;        /* tokens slot 0 holds (braid_session_slot_length) */
  uint64_t weight_bytes; /* backend memory: weight copies */
  uint64_t state_bytes;  /* KV caches, conv and SSM states */
  uint64_t arena_bytes;  /* transient values */
} braid_session_info;
braid_status braid_session_get_info(const braid_session *session,
                                    braid_session_info *info);

/* Starts `batch` new sequences of `tokens` tokens each (states reset).
 * ids: [batch, tokens] row-major; logits: [batch, tokens, vocab], at least
 * `logits_capacity` floats. */
braid_status braid_prefill(braid_session *session, const int64_t *ids,
                           int64_t batch, int64_t tokens, float *logits,
                           size_t logits_capacity);

/* As braid_prefill (same sequences and states afterwards), but writes only
 * the logits of each sequence's last position: [batch, vocab]. Uses the
 * bundle's prefill_last entry, which runs the final norm and lm_head on
 * those rows only; a bundle without it runs prefill and keeps the last rows. */
braid_status braid_prefill_last(braid_session *session, const int64_t *ids,
                                int64_t batch, int64_t tokens, float *logits,
                                size_t logits_capacity);

/* Sequences live in batch slots 0 .. max_batch - 1, each with its own
 * length. braid_prefill and braid_prefill_last start slots [0, batch) and
 * forget the others; braid_prefill_slots starts `batch` new sequences of
 * `tokens` tokens in slots [first_slot, first_slot + batch) (their states
 * reset) and leaves every other slot as it is, so prompts of different
 * lengths go in one call per length. logits: each new sequence's last
 * position, [batch, vocab]. */
braid_status braid_prefill_slots(braid_session *session, int64_t first_slot,
                                 const int64_t *ids, int64_t batch,
                                 int64_t tokens, float *logits,
                                 size_t logits_capacity);

/* Tokens slot `slot` holds (0: no sequence). */
braid_status braid_session_slot_length(const braid_session *session,
                                       int64_t slot, int64_t *length);

/* Adds one token to each held sequence: slots [0, batch) where batch is
 * 1 + the last slot holding one (every slot below it must hold one). Each
 * sequence continues at its own position. ids: [batch]; logits: [batch,
 * vocab]. */
braid_status braid_decode(braid_session *session, const int64_t *ids,
                          int64_t batch, float *logits, size_t logits_capacity);

typedef struct braid_generate_stats {
  double prefill_seconds;
  double decode_seconds;
  int64_t decode_steps;
  /* 1: the decode steps ran back to back on the device (the bundle's
   * decode_greedy entry picks each token there); 0: the host picked each
   * token between steps (sampled generation, an older bundle, or
   * BRAID_HOST_SAMPLING=1). */
  int decode_on_device;
} braid_generate_stats;

/* Greedy generation: prefill the prompt [batch, prompt_len], then take the
 * argmax token and decode it, `new_tokens` tokens in all (new_tokens - 1
 * decodes). out_tokens: [batch, new_tokens]. stats may be NULL. */
braid_status braid_generate_greedy(braid_session *session,
                                   const int64_t *prompt, int64_t batch,
                                   int64_t prompt_len, int64_t new_tokens,
                                   int64_t *out_tokens,
                                   braid_generate_stats *stats);

/* Greedy generation over prompts of different lengths: prompt b has
 * prompt_lens[b] ids (`prompts` holds them one after another) and starts in
 * slot b; then all `batch` decode together, each at its own position.
 * Slots from `batch` on are forgotten. out_tokens: [batch, new_tokens]. */
braid_status braid_generate_greedy_ragged(braid_session *session,
                                          const int64_t *prompts,
                                          const int64_t *prompt_lens,
                                          int64_t batch, int64_t new_tokens,
                                          int64_t *out_tokens,
                                          braid_generate_stats *stats);

/* How braid_generate picks each token, as transformers' generate with
 * do_sample=True: the logits divided by `temperature`, then the `top_k`
 * largest kept (with every token tied with the k-th), then the smallest set
 * of the most likely tokens whose probability reaches `top_p` (at least one
 * kept), then one draw from their softmax. NaN logits are never drawn.
 *   temperature  0 (the default): greedy, exactly the argmax of
 *                braid_generate_greedy (the first maximum wins; the other
 *                fields are then ignored); > 0: sampled; finite.
 *   top_k        0 (the default): off; otherwise >= 1.
 *   top_p        1 (the default): off; otherwise in (0, 1).
 *   seed         sequence b of a call draws from its own random stream,
 *                made from (seed, b): the same seed, prompts and weights give
 *                the same tokens on every run and standard library, and a
 *                sequence's tokens do not depend on the other rows' draws.
 * A bad value fails with BRAID_ERROR_INVALID_ARGUMENT naming it. Sampling
 * runs on the host: every decode step's logits are copied back (the
 * decode_greedy entry runs greedy generation only). */
typedef struct braid_sampling {
  double temperature;
  int64_t top_k;
  double top_p;
  uint64_t seed;
} braid_sampling;

/* Fills the defaults above (greedy). */
void braid_sampling_init(braid_sampling *sampling);

/* braid_generate_greedy with the choice of each token given by `sampling`
 * (NULL: greedy). out_tokens: [batch, new_tokens]. stats may be NULL. */
braid_status braid_generate(braid_session *session, const int64_t *prompt,
                            int64_t batch, int64_t prompt_len,
                            int64_t new_tokens, const braid_sampling *sampling,
                            int64_t *out_tokens, braid_generate_stats *stats);

/* braid_generate_greedy_ragged with the choice of each token given by
 * `sampling` (NULL: greedy); prompt b draws from stream (seed, b). */
braid_status
braid_generate_ragged(braid_session *session, const int64_t *prompts,
                      const int64_t *prompt_lens, int64_t batch,
                      int64_t new_tokens, const braid_sampling *sampling,
                      int64_t *out_tokens, braid_generate_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_BRAID_H */
