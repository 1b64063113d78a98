//===- Session.cpp - one model instance: weights, states, arena -----------===//

#include "runtime/src/Session.h"

#include "runtime/src/Error.h"
#include "runtime/src/MappedFile.h"
#include "runtime/src/Weights.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace braid::rt {
namespace {

/// a * b, or fails when the product would not fit in memory sizes.
int64_t checkedMul(int64_t a, int64_t b, const std::string &what) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) ||
      r > (int64_t(1) << 52))
    fail(ErrorCode::OutOfMemory, what + " is too large");
  return r;
}

std::string plural(int64_t n, const char *word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

/// Runs fn(i) for i in [0, n) on up to `threads` threads; rethrows the first
/// exception after all threads end.
template <typename Fn> void parallelFor(size_t n, unsigned threads, Fn fn) {
  unsigned workers = std::max(1u, std::min<unsigned>(threads, unsigned(n)));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (size_t i; !failed && (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        if (!failed.exchange(true))
          error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < workers; ++w)
    pool.emplace_back(work);
  work();
  for (std::thread &t : pool)
    t.join();
  if (error)
    std::rethrow_exception(error);
}

} // namespace

Session::Session(std::shared_ptr<const Bundle> b, SessionOptions opts)
    : theBundle(std::move(b)), options(std::move(opts)) {
  const Manifest &m = manifest();
  if (options.maxBatch < 1)
    fail(ErrorCode::InvalidArgument, "max batch must be at least 1, found " +
                                         std::to_string(options.maxBatch));
  if (options.maxSeq < 1)
    fail(ErrorCode::InvalidArgument,
         "max sequence length must be at least 1, found " +
             std::to_string(options.maxSeq));
  if (!options.weightsPath.empty() && options.randomSeed)
    fail(ErrorCode::InvalidArgument,
         "give either a weights path or a random seed, not both");

  BackendOptions bo;
  bo.name = options.backend.empty() ? "cpu" : options.backend;
  bo.threads = options.threads;
  bo.kernelLookup = options.kernelLookup;
  bo.cudaGraph = options.cudaGraph;
  theBackend = createBackend(bo);
  if (!m.hasTarget(theBackend->target())) {
    std::string list;
    for (const std::string &t : m.targets)
      list += (list.empty() ? "" : ", ") + t;
    fail(ErrorCode::Unsupported,
         theBundle->path() + ": the bundle was compiled for [" + list +
             "], not for target '" + theBackend->target() + "' of the " +
             theBackend->name() + " backend");
  }
  for (size_t i = 0; i < m.entries.size(); ++i) {
    if (m.entries[i].name == "prefill")
      prefillEntry = i;
    else if (m.entries[i].name == "decode")
      decodeEntry = i;
    else if (m.entries[i].name == "prefill_last")
      prefillLastEntry = i;
    else if (m.entries[i].name == "decode_greedy")
      decodeGreedyEntry = i;
  }
  theBackend->prepare(m, theBundle.get());
  try {
    allocate();
  } catch (...) {
    releaseAll();
    throw;
  }
}

void Session::allocate() {
  const Manifest &m = manifest();
  // States and arena first: their size checks are cheap, loading weights
  // is not.
  DimBinding full{options.maxBatch, options.maxSeq, options.maxSeq};
  std::vector<int64_t> stateBytes;
  for (const StateDecl &s : m.states) {
    int64_t numel = checkedNumElements(full.bind(s.shape));
    if (numel < 0)
      fail(ErrorCode::OutOfMemory,
           "state '" + s.name + "' is too large for this batch and length");
    stateBytes.push_back(
        checkedMul(numel, byteWidth(s.dtype),
                   "state '" + s.name + "' for this batch and length"));
    stateMemory += size_t(stateBytes.back());
  }
  int64_t tokens = checkedMul(options.maxBatch, options.maxSeq, "the batch");
  size_t arenaSize = size_t(checkedMul(m.arenaBytesPerToken, tokens,
                                       "the arena for this batch and length"));
  checkMemory(stateMemory + arenaSize, 0);
  // A state leading with B holds one row per slot: prefillSlots reaches
  // slot b's part at b times the row's bytes.
  for (size_t i = 0; i < m.states.size(); ++i) {
    const DimList &shape = m.states[i].shape;
    bool perSlot = !shape.empty() && shape[0].symbol == 'B';
    slotBytes.push_back(perSlot ? stateBytes[i] / options.maxBatch : 0);
  }
  lengths.assign(size_t(options.maxBatch), 0);
  for (size_t i = 0; i < m.states.size(); ++i)
    states.push_back(allocateFor(
        size_t(stateBytes[i]), "state '" + m.states[i].name + "' " +
                                   formatShape(full.bind(m.states[i].shape))));
  owned.insert(owned.end(), states.begin(), states.end());
  arena = allocateFor(arenaSize, "the arena");
  owned.push_back(arena);
  ids = theBackend->allocate(size_t(tokens) * 8);
  positions = theBackend->allocate(size_t(tokens) * 8);
  cachePosition = theBackend->allocate(size_t(options.maxBatch) * 8);
  owned.insert(owned.end(), {ids, positions, cachePosition});
  hostPositions.resize(size_t(tokens));
  loadWeights();
  executor = std::make_unique<Executor>(m, *theBackend);
}

Session::~Session() { releaseAll(); }

void Session::checkMemory(uint64_t statesAndArena, uint64_t weights) const {
  uint64_t available = theBackend->availableMemory();
  uint64_t need = statesAndArena + weights;
  if (!available || need <= available)
    return;
  auto gib = [](uint64_t b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1 << 30));
    return std::string(buf);
  };
  fail(ErrorCode::OutOfMemory,
       "the session needs " + gib(need) + " (states " + gib(stateMemory) +
           ", arena " + gib(statesAndArena - stateMemory) +
           (weights ? ", weights " + gib(weights) : std::string()) +
           " for max batch " + std::to_string(options.maxBatch) +
           " and max length " + std::to_string(options.maxSeq) + "), but " +
           theBackend->name() + " has " + gib(available) + " available");
}

DeviceBuffer Session::allocateFor(size_t bytes, const std::string &what) {
  try {
    return theBackend->allocate(bytes);
  } catch (const Error &e) {
    fail(e.code(), what + ": " + e.what() + " (max batch " +
                       std::to_string(options.maxBatch) + ", max length " +
                       std::to_string(options.maxSeq) + ")");
  }
}

void Session::releaseAll() {
  if (!theBackend)
    return;
  for (DeviceBuffer &b : owned)
    theBackend->release(b);
  owned.clear();
  if (logitsBuffer.data)
    theBackend->release(logitsBuffer);
  if (tokenLog.data)
    theBackend->release(tokenLog);
}

unsigned Session::workerThreads() const {
  return options.threads ? options.threads
                         : std::max(1u, std::thread::hardware_concurrency());
}

void Session::loadWeights() {
  const Manifest &m = manifest();
  weightPtrs.assign(m.weights.size(), nullptr);
  const unsigned threads = workerThreads();
  Backend &be = *theBackend;
  auto place = [&](size_t i, const std::function<void(float *)> &fill) {
    const WeightDecl &w = m.weights[i];
    size_t bytes = be.hostAddressable() ? size_t(w.numel()) * sizeof(float)
                                        : be.weightBytes(w);
    DeviceBuffer buf = be.allocate(bytes);
    if (be.hostAddressable()) {
      fill(static_cast<float *>(buf.data));
    } else {
      std::vector<float> host(size_t(w.numel()));
      fill(host.data());
      be.uploadWeight(buf, w, host.data());
    }
    return buf;
  };
  std::vector<DeviceBuffer> buffers(m.weights.size());
  // Whatever happens, the buffers end up owned (and released on failure).
  struct Adopt {
    std::vector<DeviceBuffer> &from, &to;
    ~Adopt() {
      for (const DeviceBuffer &b : from)
        if (b.data)
          to.push_back(b);
    }
  } adopt{buffers, owned};

  if (options.randomSeed) {
    uint64_t seed = *options.randomSeed;
    weightsFrom = "random (seed " + std::to_string(seed) + ")";
    checkMemory(stateMemory + arena.bytes,
                uint64_t(m.weightElements()) * sizeof(float));
    parallelFor(m.weights.size(), threads, [&](size_t i) {
      buffers[i] =
          place(i, [&](float *out) { randomWeight(m.weights[i], seed, out); });
    });
  } else {
    std::vector<WeightDecl> packed;
    const std::vector<WeightDecl> *decls = &m.weights;
    if (!options.weightsPath.empty()) {
      checkpoint = TensorStore::open(options.weightsPath);
      weightsFrom = options.weightsPath;
    } else if (const SectionInfo *s = theBundle->findSection("weights")) {
      // Packed weights: one tensor per IR weight, already transformed.
      std::string_view data = theBundle->sectionData(*s);
      checkpoint.emplace();
      checkpoint->add(SafetensorsFile::parse(
          reinterpret_cast<const uint8_t *>(data.data()), data.size(),
          theBundle->path() + " (section 'weights')", theBundle->file()));
      checkpoint->setSource(theBundle->path() + " (section 'weights')");
      weightsFrom = "packed in the bundle";
      for (const WeightDecl &w : m.weights) {
        WeightDecl p = w;
        p.sources = {{w.name, w.shape}};
        p.combine = Combine::Single;
        p.elementwise = Elementwise::Identity;
        p.scale.clear(); // packed weights are stored already scaled
        p.tiedAliases.clear();
        packed.push_back(std::move(p));
      }
      // A column scale names another IR weight, packed under its name
      // untransformed like every packed weight: read it from there.
      linkColumnScales(packed);
      decls = &packed;
    } else {
      fail(ErrorCode::InvalidArgument,
           "no weights: give a safetensors file or folder, or a random seed "
           "(the bundle packs no weights)");
    }
    // Check every weight before the expensive part, so the first problem is
    // reported in manifest order.
    uint64_t copies = 0;
    for (const WeightDecl &w : *decls) {
      checkWeightSources(w, *checkpoint);
      if (!be.hostAddressable() || !weightInPlace(w, *checkpoint))
        copies += uint64_t(w.numel()) * sizeof(float);
    }
    checkMemory(stateMemory + arena.bytes, copies);
    parallelFor(decls->size(), threads, [&](size_t i) {
      const WeightDecl &w = (*decls)[i];
      if (be.hostAddressable())
        if (const float *p = weightInPlace(w, *checkpoint)) {
          weightPtrs[i] = const_cast<float *>(p);
          return;
        }
      buffers[i] =
          place(i, [&](float *out) { prepareWeight(w, *checkpoint, out); });
    });
  }
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i].data) {
      weightPtrs[i] = buffers[i].data;
      weightMemory += buffers[i].bytes;
    }
}

void Session::checkIds(const int64_t *idsIn, int64_t batch, int64_t tokens,
                       bool decoding) const {
  int64_t V = vocabSize();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < tokens; ++t) {
      int64_t id = idsIn[b * tokens + t];
      if (id < 0 || id >= V)
        fail(ErrorCode::Limit,
             (decoding ? "input_ids[" + std::to_string(b) + "]"
                       : "input_ids[" + std::to_string(b) + "][" +
                             std::to_string(t) + "]") +
                 " = " + std::to_string(id) +
                 " is outside the vocabulary [0, " + std::to_string(V) +
                 ") (sequence " + std::to_string(b) + ", position " +
                 std::to_string(decoding ? lengths[size_t(b)] : t) + ")");
    }
}

int64_t Session::batch() const {
  for (size_t r = lengths.size(); r > 0; --r)
    if (lengths[r - 1] > 0)
      return int64_t(r);
  return 0;
}

ExecBindings Session::bindings(size_t entry, int64_t first, int64_t batch,
                               int64_t tokens, void *logitsOut) const {
  const Entry &e = manifest().entries[entry];
  ExecBindings b;
  b.dims = {batch, tokens, options.maxSeq};
  b.arena = static_cast<char *>(arena.data);
  b.weights = weightPtrs;
  for (size_t i = 0; i < states.size(); ++i)
    b.states.push_back(static_cast<char *>(states[i].data) +
                       first * slotBytes[i]);
  for (const IODecl &in : e.inputs)
    b.inputs.push_back(in.name == kInputIds    ? ids.data
                       : in.name == kPositions ? positions.data
                                               : cachePosition.data);
  // The logits are every entry's output.
  b.outputs.assign(e.outputs.size(), logitsOut);
  return b;
}

void Session::runEntry(size_t entry, int64_t first, int64_t batch,
                       int64_t tokens, float *logits, int64_t logitRows) {
  const Manifest &m = manifest();
  size_t logitsBytes = size_t(logitRows * m.vocabSize) * sizeof(float);
  void *out = logits;
  if (!theBackend->hostAddressable()) {
    grow(logitsBuffer, logitsBytes);
    out = logitsBuffer.data;
  }
  executor->run(entry, bindings(entry, first, batch, tokens, out));
  if (!theBackend->hostAddressable())
    theBackend->download(logits, logitsBuffer, 0, logitsBytes);
}

void Session::prefill(const int64_t *idsIn, int64_t batch, int64_t tokens,
                      float *logits) {
  if (!idsIn || !logits)
    fail(ErrorCode::InvalidArgument, "prefill: null ids or logits pointer");
  start(prefillEntry, 0, /*all=*/true, idsIn, batch, tokens, logits,
        batch * tokens);
}

void Session::prefillLast(const int64_t *idsIn, int64_t batch, int64_t tokens,
                          float *logits) {
  if (!idsIn || !logits)
    fail(ErrorCode::InvalidArgument, "prefill: null ids or logits pointer");
  startLast(0, /*all=*/true, idsIn, batch, tokens, logits);
}

void Session::prefillSlots(int64_t first, const int64_t *idsIn, int64_t batch,
                           int64_t tokens, float *logits) {
  if (!idsIn || !logits)
    fail(ErrorCode::InvalidArgument, "prefill: null ids or logits pointer");
  startLast(first, /*all=*/false, idsIn, batch, tokens, logits);
}

void Session::startLast(int64_t first, bool all, const int64_t *idsIn,
                        int64_t batch, int64_t tokens, float *logits) {
  if (prefillLastEntry) {
    start(*prefillLastEntry, first, all, idsIn, batch, tokens, logits, batch);
    return;
  }
  // An older bundle: all the logits, then each sequence's last row.
  if (batch < 1 || tokens < 1 || batch > options.maxBatch ||
      tokens > options.maxSeq)
    start(prefillEntry, first, all, idsIn, batch, tokens, logits,
          0); // fails the checks
  const int64_t V = vocabSize();
  std::vector<float> rows(size_t(checkedMul(batch * tokens, V, "the logits")));
  start(prefillEntry, first, all, idsIn, batch, tokens, rows.data(),
        batch * tokens);
  for (int64_t b = 0; b < batch; ++b)
    std::memcpy(logits + b * V, rows.data() + (b * tokens + tokens - 1) * V,
                size_t(V) * sizeof(float));
}

void Session::start(size_t entry, int64_t first, bool all, const int64_t *idsIn,
                    int64_t batch, int64_t tokens, float *logits,
                    int64_t logitRows) {
  if (batch < 1 || tokens < 1)
    fail(ErrorCode::InvalidArgument,
         "prefill needs at least one sequence of at least one token (got " +
             std::to_string(batch) + " x " + std::to_string(tokens) + ")");
  if (batch > options.maxBatch)
    fail(ErrorCode::Limit, "a batch of " + plural(batch, "sequence") +
                               " exceeds the session's maximum batch of " +
                               std::to_string(options.maxBatch));
  if (first < 0 || first > options.maxBatch - batch)
    fail(ErrorCode::Limit, "slots " + std::to_string(first) + ".." +
                               std::to_string(first + batch - 1) +
                               " are outside the session's maximum batch of " +
                               std::to_string(options.maxBatch) +
                               " (slots 0.." +
                               std::to_string(options.maxBatch - 1) + ")");
  if (tokens > options.maxSeq)
    fail(ErrorCode::Limit, "a sequence of " + plural(tokens, "token") +
                               " exceeds the session's maximum length of " +
                               std::to_string(options.maxSeq) + " tokens");
  for (size_t i = 0; !all && i < states.size(); ++i) {
    const StateDecl &decl = manifest().states[i];
    if (!slotBytes[i])
      fail(ErrorCode::Unsupported,
           "state '" + decl.name + "' " + formatDims(decl.shape) +
               " does not lead with the batch B: its sequences cannot "
               "start in separate slots");
    // GPU kernels load states in 16-byte vectors.
    if (!theBackend->hostAddressable() && (first * slotBytes[i]) % 16 != 0)
      fail(ErrorCode::Unsupported,
           "state '" + decl.name + "' has " + std::to_string(slotBytes[i]) +
               " bytes per sequence: slot " + std::to_string(first) +
               " would start off the 16-byte alignment the " +
               theBackend->name() + " kernels load states with");
  }
  checkIds(idsIn, batch, tokens, /*decoding=*/false);

  // The slots hold nothing until this prefill succeeds.
  if (all)
    std::fill(lengths.begin(), lengths.end(), 0);
  else
    std::fill_n(lengths.begin() + first, batch, 0);
  for (size_t i = 0; i < states.size(); ++i) {
    if (all)
      theBackend->fillZero(states[i], 0, states[i].bytes);
    else
      theBackend->fillZero(states[i], size_t(first * slotBytes[i]),
                           size_t(batch * slotBytes[i]));
  }
  size_t n = size_t(batch * tokens);
  for (int64_t r = 0; r < batch; ++r)
    for (int64_t t = 0; t < tokens; ++t)
      hostPositions[size_t(r * tokens + t)] = t;
  theBackend->upload(ids, 0, idsIn, n * 8);
  theBackend->upload(positions, 0, hostPositions.data(), n * 8);
  theBackend->fillZero(cachePosition, 0, size_t(batch) * 8);
  runEntry(entry, first, batch, tokens, logits, logitRows);
  std::fill_n(lengths.begin() + first, batch, tokens);
}

void Session::decode(const int64_t *idsIn, int64_t batch, float *logits) {
  if (!idsIn || !logits)
    fail(ErrorCode::InvalidArgument, "decode: null ids or logits pointer");
  checkDecode(batch, 1);
  checkIds(idsIn, batch, 1, /*decoding=*/true);
  uploadDecodeInputs(idsIn, batch);
  try {
    runEntry(*decodeEntry, 0, batch, 1, logits, batch);
  } catch (...) {
    // States may be half-updated: start over with prefill.
    std::fill(lengths.begin(), lengths.end(), 0);
    throw;
  }
  for (int64_t r = 0; r < batch; ++r)
    ++lengths[size_t(r)];
}

void Session::uploadDecodeInputs(const int64_t *idsIn, int64_t batch) {
  // Each sequence continues at its own length.
  for (int64_t r = 0; r < batch; ++r)
    hostPositions[size_t(r)] = lengths[size_t(r)];
  const size_t bytes = size_t(batch) * 8;
  theBackend->upload(ids, 0, idsIn, bytes);
  theBackend->upload(positions, 0, hostPositions.data(), bytes);
  theBackend->upload(cachePosition, 0, hostPositions.data(), bytes);
}

void Session::grow(DeviceBuffer &buffer, size_t bytes) {
  if (buffer.bytes >= bytes)
    return;
  if (buffer.data)
    theBackend->release(buffer);
  buffer = theBackend->allocate(bytes);
}

void Session::checkDecode(int64_t batch, int64_t steps) const {
  if (!decodeEntry)
    fail(ErrorCode::Unsupported,
         theBundle->path() + ": the bundle has no 'decode' entry");
  int64_t held = this->batch();
  if (held == 0)
    fail(ErrorCode::InvalidArgument,
         "decode before prefill: the session holds no sequences");
  if (batch != held)
    fail(ErrorCode::InvalidArgument,
         "decode of " + plural(batch, "sequence") + ", but the session holds " +
             std::to_string(held) + " (from the last prefill)");
  // Decode runs slots [0, B) as one batch: an empty slot in between would
  // decode a sequence nobody started.
  for (int64_t r = 0; r < batch; ++r)
    if (lengths[size_t(r)] == 0)
      fail(ErrorCode::InvalidArgument,
           "slot " + std::to_string(r) +
               " holds no sequence, but decode runs slots 0.." +
               std::to_string(batch - 1) +
               " together: start one there with a slot prefill");
  for (int64_t r = 0; r < batch; ++r)
    if (lengths[size_t(r)] + steps > options.maxSeq)
      fail(ErrorCode::Limit,
           steps == 1 ? "sequence " + std::to_string(r) + " already holds " +
                            plural(lengths[size_t(r)], "token") +
                            ", the session's maximum length; decode cannot add "
                            "another"
                      : "sequence " + std::to_string(r) + " holds " +
                            plural(lengths[size_t(r)], "token") + "; " +
                            plural(steps, "more token") +
                            " would pass the session's maximum length of " +
                            std::to_string(options.maxSeq));
}

bool Session::greedyOnDevice() const {
  const char *host = std::getenv("BRAID_HOST_SAMPLING");
  return decodeGreedyEntry && theBackend->copiesInStreamOrder() &&
         !(host && *host && std::string(host) != "0");
}

void Session::decodeGreedy(const int64_t *next, int64_t batch, int64_t steps,
                           int64_t *out, int64_t stride) {
  checkDecode(batch, steps);
  checkIds(next, batch, 1, /*decoding=*/true);
  const size_t rowBytes = size_t(batch) * 8;
  const size_t logBytes = size_t(steps) * rowBytes;
  grow(tokenLog, logBytes);
  // The logits stay in backend memory (the host reads none of them).
  grow(logitsBuffer, size_t(batch * vocabSize()) * sizeof(float));
  uploadDecodeInputs(next, batch);
  ExecBindings b = bindings(*decodeGreedyEntry, 0, batch, 1, logitsBuffer.data);
  try {
    // Each step leaves its argmax in `ids` for the next one; the copy
    // keeps it.
    for (int64_t s = 0; s < steps; ++s) {
      executor->run(*decodeGreedyEntry, b, /*wait=*/false);
      theBackend->copyBuffer(tokenLog, size_t(s) * rowBytes, ids, 0, rowBytes);
    }
    if (std::string error = theBackend->synchronize(); !error.empty())
      fail(ErrorCode::Kernel, "decode_greedy: " + error);
  } catch (...) {
    // States may be half-updated: start over with prefill.
    std::fill(lengths.begin(), lengths.end(), 0);
    throw;
  }
  std::vector<int64_t> log(size_t(steps * batch));
  theBackend->download(log.data(), tokenLog, 0, logBytes);
  for (int64_t s = 0; s < steps; ++s)
    for (int64_t r = 0; r < batch; ++r)
      out[r * stride + s] = log[size_t(s * batch + r)];
  for (int64_t r = 0; r < batch; ++r)
    lengths[size_t(r)] += steps;
}

GenerateStats Session::generate(const int64_t *prompt, int64_t batch,
                                int64_t promptLength, int64_t newTokens,
                                int64_t *out, const SamplingOptions &sampling) {
  return generateFrom(prompt, &promptLength, batch, newTokens, out,
                      /*slots=*/false, sampling);
}

GenerateStats Session::generateRagged(const int64_t *prompts,
                                      const int64_t *lengthsIn, int64_t batch,
                                      int64_t newTokens, int64_t *out,
                                      const SamplingOptions &sampling) {
  if (!lengthsIn)
    fail(ErrorCode::InvalidArgument, "generate: null prompt lengths");
  return generateFrom(prompts, lengthsIn, batch, newTokens, out,
                      /*slots=*/true, sampling);
}

GenerateStats Session::generateFrom(const int64_t *prompt,
                                    const int64_t *lengthsIn, int64_t batch,
                                    int64_t newTokens, int64_t *out, bool slots,
                                    const SamplingOptions &sampling) {
  using Clock = std::chrono::steady_clock;
  if (!out)
    fail(ErrorCode::InvalidArgument, "generate: null output pointer");
  Sampler sampler(sampling); // checks the options first
  if (newTokens < 1)
    fail(ErrorCode::InvalidArgument,
         "generate needs at least one new token, got " +
             std::to_string(newTokens));
  if (newTokens > 1 && !decodeEntry)
    fail(ErrorCode::Unsupported,
         theBundle->path() + ": the bundle has no 'decode' entry");
  if (slots && (batch < 1 || batch > options.maxBatch))
    fail(batch < 1 ? ErrorCode::InvalidArgument : ErrorCode::Limit,
         "generate needs 1 to " + std::to_string(options.maxBatch) +
             " prompts (the session's maximum batch), got " +
             std::to_string(batch));
  // Without slots every prompt has lengthsIn[0] tokens.
  for (int64_t b = 0; b < (slots ? batch : 1); ++b) {
    int64_t promptLength = lengthsIn[b];
    if (slots && promptLength < 1)
      fail(ErrorCode::InvalidArgument,
           "prompt " + std::to_string(b) + " is empty");
    if (promptLength + newTokens - 1 > options.maxSeq)
      fail(ErrorCode::Limit,
           std::string(slots ? "prompt " + std::to_string(b) + ": " : "") +
               "a prompt of " + plural(promptLength, "token") + " and " +
               std::to_string(newTokens) + " new tokens need " +
               std::to_string(promptLength + newTokens - 1) +
               " positions, more than the session's maximum length of " +
               std::to_string(options.maxSeq));
  }
  const int64_t V = vocabSize();
  GenerateStats stats;
  // Only the last position's logits are sampled: prefillLast skips the
  // final norm and lm_head on every other row and their copy back.
  std::vector<float> logits(size_t(std::max<int64_t>(batch, 1) * V));
  auto t0 = Clock::now();
  if (!slots) {
    prefillLast(prompt, batch, lengthsIn[0], logits.data());
  } else {
    // Slots past the batch would join the decodes: forget them.
    std::fill(lengths.begin() + batch, lengths.end(), 0);
    // One prefill per run of consecutive prompts of one length.
    const int64_t *ids = prompt;
    for (int64_t b = 0, e; b < batch; b = e) {
      for (e = b + 1; e < batch && lengthsIn[e] == lengthsIn[b]; ++e)
        ;
      prefillSlots(b, ids, e - b, lengthsIn[b], logits.data() + b * V);
      ids += (e - b) * lengthsIn[b];
    }
  }
  stats.prefillSeconds =
      std::chrono::duration<double>(Clock::now() - t0).count();
  // Sequence b draws from its own stream: its tokens do not depend on the
  // batch's other rows, nor on which thread samples it.
  std::vector<RandomStream> streams;
  if (!sampling.greedy())
    for (int64_t b = 0; b < batch; ++b)
      streams.emplace_back(sampling.seed, uint64_t(b));
  if (!sampling.greedy() && batch > 1 && !samplingPool)
    samplingPool = std::make_unique<ThreadPool>(workerThreads());
  std::vector<int64_t> next(static_cast<size_t>(batch));
  // Each row's next token, written to column `step` of out.
  auto pick = [&](int64_t step) {
    auto one = [&](size_t b) {
      const float *row = logits.data() + int64_t(b) * V;
      next[b] = sampling.greedy() ? argmax(row, V)
                                  : sampler.sample(row, V, streams[b]);
    };
    if (sampling.greedy() || batch == 1)
      for (size_t b = 0; b < size_t(batch); ++b)
        one(b);
    else
      samplingPool->parallelFor(batch, [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b)
          one(size_t(b));
      });
    for (int64_t b = 0; b < batch; ++b)
      out[b * newTokens + step] = next[size_t(b)];
  };
  pick(0);
  auto t1 = Clock::now();
  if (newTokens > 1 && sampling.greedy() && greedyOnDevice()) {
    decodeGreedy(next.data(), batch, newTokens - 1, out + 1, newTokens);
    stats.decodeSteps = newTokens - 1;
    stats.decodeOnDevice = true;
    stats.decodeSeconds =
        std::chrono::duration<double>(Clock::now() - t1).count();
    return stats;
  }
  for (int64_t step = 1; step < newTokens; ++step) {
    decode(next.data(), batch, logits.data());
    pick(step);
    ++stats.decodeSteps;
  }
  stats.decodeSeconds =
      std::chrono::duration<double>(Clock::now() - t1).count();
  return stats;
}

} // namespace braid::rt
