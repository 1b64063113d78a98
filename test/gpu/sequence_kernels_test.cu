//===- sequence_kernels_test.cu - attention and scans on the GPU vs CPU ---===//
//
// Runs every case of sequence_cases.h: the kernels are the translation
// units SequencePlans.h writes for the bundle (compiled in by the build
// script), launched with the plan's geometry and BraidKernelParams; the
// reference is the CPU backend's kernel of the same family
// (runtime/backends/cpu, findCpuKernel) on the same inputs (rounded to
// bf16 first in bf16 mode). Outputs and the workspace are poisoned with NaN
// before every launch; states (KV caches, SSM and conv states) carry over
// the phases of a case (prefill, then decode steps) on both sides and are
// compared after each phase (the worst state's error is reported). Prints
// a table; exits 1 on any failure.
//
//   sequence_kernels_test [--quick] [--bench] [--no-check-bench] [FILTER]
//     --quick  only the small cases marked quick (for compute-sanitizer)
//     --bench  also the large timed cases (bf16, prints timings)
//     --no-check-bench  time the timed cases without the CPU reference
//              (S = 16384 attention takes the CPU longer than the GPU run)
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/CpuKernels.h"
#include "runtime/include/braid/kernel_abi.h"
#include "test/gpu/sequence_cases.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

struct KernelEntry {
  const char *name;
  const void *fn;
};
#include "seq_kernel_table.inc"

#include "targets/common/kernels/WarpTile.cuh"

using namespace braid;
using braid::test::Family;
using braid::test::SeqCase;

namespace {

#define CK(x) checkCuda((x), #x, __LINE__)
void checkCuda(cudaError_t e, const char *what, int line) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "CUDA error %s at line %d: %s\n",
                 cudaGetErrorString(e), line, what);
    std::exit(2);
  }
}

const void *findKernel(const std::string &name) {
  for (const KernelEntry *e = kKernelTable; e->name; ++e)
    if (name == e->name)
      return e->fn;
  return nullptr;
}

float roundBf16(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

enum class Storage { F32, BF16, I64 };

/// One buffer of a launch: host copy (fp32 values exactly representable in
/// the storage type, or int64) and device copy.
struct Slot {
  std::string name;
  Storage storage = Storage::F32;
  std::vector<int64_t> shape;
  std::vector<float> host;
  std::vector<int64_t> hostI64;
  void *dev = nullptr;
  size_t count() const {
    size_t n = 1;
    for (int64_t d : shape)
      n *= size_t(d);
    return n;
  }
  size_t bytes() const {
    return count() * (storage == Storage::BF16 ? 2 : storage == Storage::I64 ? 8 : 4);
  }
  void allocate() {
    if (storage == Storage::I64)
      hostI64.assign(count(), 0);
    else
      host.assign(count(), 0.f);
    CK(cudaMalloc(&dev, std::max<size_t>(bytes(), 16)));
  }
  void release() {
    if (dev)
      cudaFree(dev);
    dev = nullptr;
  }
  /// Rounds host values to the storage type (so both sides see the same).
  void roundHost() {
    if (storage == Storage::BF16)
      for (float &v : host)
        v = roundBf16(v);
  }
  void upload() {
    if (storage == Storage::I64) {
      CK(cudaMemcpy(dev, hostI64.data(), bytes(), cudaMemcpyHostToDevice));
    } else if (storage == Storage::F32) {
      CK(cudaMemcpy(dev, host.data(), bytes(), cudaMemcpyHostToDevice));
    } else {
      std::vector<__nv_bfloat16> tmp(count());
      for (size_t i = 0; i < tmp.size(); ++i)
        tmp[i] = __float2bfloat16_rn(host[i]);
      CK(cudaMemcpy(dev, tmp.data(), bytes(), cudaMemcpyHostToDevice));
    }
  }
  std::vector<float> download() const {
    std::vector<float> out(count());
    if (storage == Storage::F32) {
      CK(cudaMemcpy(out.data(), dev, bytes(), cudaMemcpyDeviceToHost));
    } else {
      std::vector<__nv_bfloat16> tmp(count());
      CK(cudaMemcpy(tmp.data(), dev, bytes(), cudaMemcpyDeviceToHost));
      for (size_t i = 0; i < tmp.size(); ++i)
        out[i] = __bfloat162float(tmp[i]);
    }
    return out;
  }
  void poison() { CK(cudaMemset(dev, 0xff, bytes())); }
  rt::TensorView view() {
    rt::TensorView v;
    v.shape = shape;
    if (storage == Storage::I64) {
      v.type = rt::ElementType::I64;
      v.data = hostI64.data();
    } else {
      v.type = rt::ElementType::F32;
      v.data = host.data();
    }
    return v;
  }
};

/// ||a - b|| / ||b|| over the selected elements; NaN anywhere in a -> NaN.
struct Err {
  double num = 0, den = 0;
  bool nan = false;
  void add(float a, float b) {
    if (!std::isfinite(a))
      nan = true;
    num += double(a - b) * double(a - b);
    den += double(b) * double(b);
  }
  double rel() const {
    if (nan)
      return NAN;
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  }
};

struct Row {
  std::string name, dtype;
  int phase = 0, tokens = 0;
  double outErr = 0, stateErr = -1, tol = 0;
  bool pass = false;
  std::string note;
};

struct BenchRow {
  std::string name, what;
  double ms = 0;
  std::string metric;
};

std::mt19937_64 rng(20261126);
float normal(float sd = 1.f) {
  std::normal_distribution<float> d(0.f, sd);
  return d(rng);
}
float uniform(float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  return d(rng);
}
float invSoftplus(float y) { return std::log(std::expm1(y)); }

/// Everything one case needs.
struct Setup {
  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<int> operands, results;         // slot index or -1
  std::vector<int> phaseInputs, outputs, states; // slots
  rt::AttrMap attrs;
  std::string family;
  Slot *add(std::string name, Storage s, std::vector<int64_t> shape) {
    auto slot = std::make_unique<Slot>();
    slot->name = std::move(name);
    slot->storage = s;
    slot->shape = std::move(shape);
    slot->allocate();
    slots.push_back(std::move(slot));
    return slots.back().get();
  }
  int last() const { return int(slots.size()) - 1; }
  ~Setup() {
    for (auto &s : slots)
      s->release();
  }
};

Storage storageOf(const std::string &t) {
  return t == gpu::seq::kBf16 ? Storage::BF16 : Storage::F32;
}

void fill(Slot &s, float sd) {
  for (float &v : s.host)
    v = normal(sd);
  s.roundHost();
}

/// Builds the buffers of a case for T tokens (resized per phase).
void buildAttention(const SeqCase &c, Setup &st, int T) {
  const auto &a = c.attn;
  const int B = c.batch;
  Storage e = storageOf(a.elem), ec = storageOf(a.cacheElem);
  st.family = "attention";
  auto q = st.add("q", e, {B, T, a.heads, a.headDim});
  (void)q;
  int iq = st.last();
  st.add("k", e, {B, T, a.kvHeads, a.headDim});
  int ik = st.last();
  st.add("v", e, {B, T, a.kvHeads, a.valueDim});
  int iv = st.last();
  st.phaseInputs = {iq, ik, iv};
  if (a.cached) {
    st.add("k_cache", ec, {B, a.kvHeads, c.maxSeq, a.headDim});
    int ikc = st.last();
    st.add("v_cache", ec, {B, a.kvHeads, c.maxSeq, a.valueDim});
    int ivc = st.last();
    st.add("cache_position", Storage::I64, {B});
    int ip = st.last();
    st.add("output", e, {B, T, a.heads, a.valueDim});
    int io = st.last();
    st.operands = {iq, ik, iv, ikc, ivc, ip};
    st.results = {io, ikc, ivc};
    st.outputs = {io};
    st.states = {ikc, ivc};
  } else {
    st.add("output", e, {B, T, a.heads, a.valueDim});
    int io = st.last();
    st.operands = {iq, ik, iv};
    st.results = {io};
    st.outputs = {io};
  }
  st.attrs.set("num_heads", int64_t(a.heads));
  st.attrs.set("num_kv_heads", int64_t(a.kvHeads));
  st.attrs.set("causal", a.causal);
  st.attrs.set("scale", a.scale);
  if (a.window > 0)
    st.attrs.set("sliding_window", int64_t(a.window));
  if (a.softcap > 0)
    st.attrs.set("softcap", a.softcap);
}

void buildSsd(const SeqCase &c, Setup &st, int T) {
  const auto &s = c.ssd;
  const int B = c.batch;
  Storage e = storageOf(s.elem), w = storageOf(s.weight), sst = storageOf(s.state);
  st.family = "ssd_scan";
  st.add("x", e, {B, T, s.heads, s.headDim});
  int ix = st.last();
  st.add("dt", e, {B, T, s.heads});
  int idt = st.last();
  st.add("A", w, {s.heads});
  int iA = st.last();
  st.add("B", e, {B, T, s.groups, s.stateSize});
  int iB = st.last();
  st.add("C", e, {B, T, s.groups, s.stateSize});
  int iC = st.last();
  int iD = -1, ibias = -1, istate = -1;
  if (s.D >= 0) {
    st.add("D", w, {s.heads});
    iD = st.last();
  }
  if (s.bias >= 0) {
    st.add("dt_bias", w, {s.heads});
    ibias = st.last();
  }
  if (s.stateIn >= 0) {
    st.add("state", sst, {B, s.heads, s.headDim, s.stateSize});
    istate = st.last();
  }
  st.add("y", e, {B, T, s.heads, s.headDim});
  int iy = st.last();
  st.operands = {ix, idt, iA, iB, iC, iD, ibias, istate};
  st.results = {iy};
  if (istate >= 0) {
    st.results.push_back(istate);
    st.states = {istate};
  }
  st.outputs = {iy};
  st.phaseInputs = {ix, idt, iB, iC};
  st.attrs.set("num_heads", int64_t(s.heads));
  st.attrs.set("head_dim", int64_t(s.headDim));
  st.attrs.set("num_groups", int64_t(s.groups));
  st.attrs.set("state_size", int64_t(s.stateSize));
  st.attrs.set("chunk_size", int64_t(s.chunk));
  st.attrs.set("dt_softplus", s.softplus);
  st.attrs.set("dt_min", s.dtMin);
  if (s.hasDtMax)
    st.attrs.set("dt_max", s.dtMax);
}

void buildSelective(const SeqCase &c, Setup &st, int T) {
  const auto &s = c.sel;
  const int B = c.batch;
  Storage e = storageOf(s.elem), w = storageOf(s.weight), sst = storageOf(s.state);
  const int64_t width = s.rank + 2 * s.stateSize;
  st.family = "selective_scan";
  st.add("x", e, {B, T, s.inner});
  int ix = st.last();
  st.add("x_proj", w, {width, s.inner});
  int ixp = st.last();
  st.add("dt_proj", w, {s.inner, s.rank});
  int idp = st.last();
  st.add("dt_bias", w, {s.inner});
  int idb = st.last();
  st.add("A", w, {s.inner, s.stateSize});
  int iA = st.last();
  int ig = -1, iD = -1, in1 = -1, in2 = -1, in3 = -1, is = -1;
  if (s.gate >= 0) {
    st.add("gate", e, {B, T, s.inner});
    ig = st.last();
  }
  if (s.D >= 0) {
    st.add("D", w, {s.inner});
    iD = st.last();
  }
  if (s.dtNorm >= 0) {
    st.add("dt_norm", w, {s.rank});
    in1 = st.last();
    st.add("b_norm", w, {s.stateSize});
    in2 = st.last();
    st.add("c_norm", w, {s.stateSize});
    in3 = st.last();
  }
  if (s.stateIn >= 0) {
    st.add("state", sst, {B, s.inner, s.stateSize});
    is = st.last();
  }
  st.add("y", e, {B, T, s.inner});
  int iy = st.last();
  st.operands = {ix, ixp, idp, idb, iA, ig, iD, in1, in2, in3, is};
  st.results = {iy};
  if (is >= 0) {
    st.results.push_back(is);
    st.states = {is};
  }
  st.outputs = {iy};
  st.phaseInputs = {ix};
  if (ig >= 0)
    st.phaseInputs.push_back(ig);
  st.attrs.set("dt_rank", int64_t(s.rank));
  st.attrs.set("state_size", int64_t(s.stateSize));
  st.attrs.set("norm_epsilon", s.eps);
}

/// mamba2_step (passes/DecodeFusion.h): T = 1; the conv and SSM states
/// are operands and (aliased) results, as the decode entry passes them.
void buildMamba2Step(const SeqCase &c, Setup &st, int T) {
  const auto &s = c.step;
  const int B = c.batch;
  Storage e = storageOf(s.elem), w = storageOf(s.weight);
  const int64_t HP = s.heads * s.headDim;
  const int64_t CH = HP + 2 * s.groups * s.stateSize;
  st.family = "mamba2_step";
  st.add("xBC", e, {B, T, CH});
  int ix = st.last();
  st.add("conv_weight", w, {CH, s.convK});
  int icw = st.last();
  int icb = -1, iD = -1, idb = -1, iz = -1, inw = -1;
  if (s.hasConvBias) {
    st.add("conv_bias", w, {CH});
    icb = st.last();
  }
  st.add("conv_state", Storage::F32, {B, CH, s.convK - 1});
  int ics = st.last();
  st.add("dt", e, {B, T, s.heads});
  int idt = st.last();
  st.add("A", w, {s.heads});
  int iA = st.last();
  if (s.hasD) {
    st.add("D", w, {s.heads});
    iD = st.last();
  }
  if (s.hasDtBias) {
    st.add("dt_bias", w, {s.heads});
    idb = st.last();
  }
  st.add("ssm_state", Storage::F32, {B, s.heads, s.headDim, s.stateSize});
  int iss = st.last();
  if (s.gate != 0) {
    st.add("z", e, {B, T, HP});
    iz = st.last();
  }
  if (s.gate == 1) {
    st.add("norm_weight", w, {HP});
    inw = st.last();
  }
  st.add("y", e, {B, T, HP});
  int iy = st.last();
  st.operands = {ix, icw, icb, ics, idt, iA, iD, idb, iss, iz, inw};
  st.results = {iy, ics, iss};
  st.outputs = {iy};
  st.states = {ics, iss};
  st.phaseInputs = {ix, idt};
  if (iz >= 0)
    st.phaseInputs.push_back(iz);
  st.attrs.set("num_heads", int64_t(s.heads));
  st.attrs.set("head_dim", int64_t(s.headDim));
  st.attrs.set("num_groups", int64_t(s.groups));
  st.attrs.set("state_size", int64_t(s.stateSize));
  st.attrs.set("chunk_size", int64_t(256));
  st.attrs.set("kernel_size", int64_t(s.convK));
  st.attrs.set("activation", std::string(s.convSilu ? "silu" : "identity"));
  st.attrs.set("dt_softplus", s.softplus);
  st.attrs.set("dt_min", s.dtMin);
  if (s.hasDtMax)
    st.attrs.set("dt_max", s.dtMax);
  st.attrs.set("gate", std::string(s.gate == 1   ? "norm"
                                   : s.gate == 2 ? "silu"
                                                 : "none"));
  if (s.gate == 1) {
    st.attrs.set("epsilon", s.eps);
    st.attrs.set("group_size", int64_t(s.normGroup));
    st.attrs.set("norm_before_gate", s.normFirst);
  }
}

/// Values of the weights, states and (per phase) inputs.
void initWeights(const SeqCase &c, Setup &st) {
  for (auto &sp : st.slots) {
    Slot &s = *sp;
    if (s.storage == Storage::I64)
      continue;
    const std::string &n = s.name;
    if (c.family == Family::Ssd) {
      if (n == "A")
        for (float &v : s.host)
          v = -std::exp(uniform(0.f, std::log(16.f)));
      else if (n == "D")
        for (float &v : s.host)
          v = normal();
      else if (n == "dt_bias")
        for (float &v : s.host)
          v = invSoftplus(std::exp(uniform(std::log(0.001f), std::log(0.1f))));
      else if (n == "state")
        for (float &v : s.host)
          v = c.randomState ? normal(0.5f) : 0.f;
      else
        continue;
      s.roundHost();
      s.upload();
    } else if (c.family == Family::Mamba2Step) {
      if (n == "A")
        for (float &v : s.host)
          v = -std::exp(uniform(0.f, std::log(16.f)));
      else if (n == "D")
        for (float &v : s.host)
          v = normal();
      else if (n == "dt_bias")
        for (float &v : s.host)
          v = invSoftplus(std::exp(uniform(std::log(0.001f), std::log(0.1f))));
      else if (n == "conv_weight")
        for (float &v : s.host)
          v = uniform(-1.f, 1.f) / std::sqrt(float(c.step.convK));
      else if (n == "conv_bias")
        for (float &v : s.host)
          v = normal(0.1f);
      else if (n == "norm_weight")
        for (float &v : s.host)
          v = 1.f + normal(0.1f);
      else if (n == "conv_state")
        for (float &v : s.host)
          v = c.randomState ? normal() : 0.f;
      else if (n == "ssm_state")
        for (float &v : s.host)
          v = c.randomState ? normal(0.5f) : 0.f;
      else
        continue;
      s.roundHost();
      s.upload();
    } else if (c.family == Family::Selective) {
      const float din = float(c.sel.inner), rank = float(c.sel.rank);
      if (n == "x_proj")
        for (float &v : s.host)
          v = uniform(-1.f, 1.f) / std::sqrt(din);
      else if (n == "dt_proj")
        for (float &v : s.host)
          v = uniform(-1.f, 1.f) / std::sqrt(rank);
      else if (n == "dt_bias")
        for (float &v : s.host)
          v = invSoftplus(std::exp(uniform(std::log(0.001f), std::log(0.1f))));
      else if (n == "A")
        for (float &v : s.host)
          v = -uniform(1.f, 16.f);
      else if (n == "D")
        for (float &v : s.host)
          v = normal();
      else if (n == "dt_norm" || n == "b_norm" || n == "c_norm")
        for (float &v : s.host)
          v = 1.f + normal(0.1f);
      else if (n == "state")
        for (float &v : s.host)
          v = c.randomState ? normal(0.5f) : 0.f;
      else
        continue;
      s.roundHost();
      s.upload();
    } else if (n == "k_cache" || n == "v_cache") {
      // Rows below each sequence's start position hold earlier tokens;
      // everything else is NaN (never read).
      const auto &a = c.attn;
      const int64_t w = n == "k_cache" ? a.headDim : a.valueDim;
      std::fill(s.host.begin(), s.host.end(), NAN);
      for (int b = 0; b < c.batch; ++b)
        for (int g = 0; g < a.kvHeads; ++g)
          for (int j = 0; j < c.startPos[b]; ++j)
            for (int64_t d = 0; d < w; ++d)
              s.host[((int64_t(b) * a.kvHeads + g) * c.maxSeq + j) * w + d] =
                  normal();
      s.roundHost();
      s.upload();
    }
  }
}

void fillPhaseInputs(const SeqCase &c, Setup &st) {
  for (int i : st.phaseInputs) {
    Slot &s = *st.slots[i];
    if ((c.family == Family::Ssd || c.family == Family::Mamba2Step) &&
        s.name == "dt") {
      const bool softplus =
          c.family == Family::Ssd ? c.ssd.softplus : c.step.softplus;
      for (float &v : s.host)
        v = softplus ? normal(0.5f) : uniform(0.001f, 0.1f);
      s.roundHost();
    } else {
      fill(s, 1.f);
    }
    s.upload();
  }
}

struct Timer {
  cudaEvent_t a, b;
  Timer() {
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
  }
  ~Timer() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Launch.runsFor where the plan has row ranges (older trees: always).
template <typename L>
auto rowsRun(const L &l, int64_t rows, int) -> decltype(l.runsFor(rows)) {
  return l.runsFor(rows);
}
template <typename L> bool rowsRun(const L &, int64_t, long) { return true; }

/// Whether launch k of the plan runs for a call of `rows` rows. A case
/// with `splitGrid` forces the first grid variant of a kernel (attention:
/// the grid with the split-KV blocks) for every size, as before variants.
bool launchRuns(const SeqCase &c, const gpu::seq::Plan &plan, size_t k,
                int64_t rows) {
  if (c.splitGrid) {
    // The first variant of each kernel; a launch that only runs from a
    // row count on (the wgmma prefill kernel) is no variant of it.
    if (plan.launches[k].minRows > rows)
      return false;
    for (size_t j = 0; j < k; ++j)
      if (plan.launches[j].function == plan.launches[k].function)
        return false;
    return true;
  }
  return rowsRun(plan.launches[k], rows, 0);
}

class Runner {
public:
  Runner(bool bench, bool checkBench = true)
      : bench(bench), checkBench(checkBench) {
    pool = std::make_unique<rt::ThreadPool>(0);
  }
  std::vector<Row> rows;
  std::vector<BenchRow> benchRows;

  bool run(const SeqCase &c, size_t index) {
    gpu::seq::Plan plan;
    const std::string err = test::planCase(c, c.prefix(index), plan);
    if (!err.empty())
      return fail(c, "plan: " + err);
    std::vector<const void *> fns;
    for (const auto &l : plan.launches) {
      const void *fn = findKernel(l.function);
      if (!fn)
        return fail(c, "kernel " + l.function + " not compiled in");
      if (l.sharedBytes > 48 * 1024)
        CK(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                int(l.sharedBytes)));
      fns.push_back(fn);
    }

    // States persist over phases; per-phase buffers are rebuilt. Build
    // once with the largest T to own the states, then rebuild the
    // per-phase ones by building a new Setup and moving the states over.
    std::unique_ptr<Setup> st;
    std::vector<int64_t> pos(c.startPos.begin(), c.startPos.end());
    bool allPass = true;
    void *ws = nullptr;
    size_t wsBytes = 0;
    std::map<std::string, std::unique_ptr<Slot>> keep; // states across phases
    for (size_t ph = 0; ph < c.tokens.size(); ++ph) {
      const int T = c.tokens[ph];
      auto next = std::make_unique<Setup>();
      if (c.family == Family::Attention)
        buildAttention(c, *next, T);
      else if (c.family == Family::Ssd)
        buildSsd(c, *next, T);
      else if (c.family == Family::Mamba2Step)
        buildMamba2Step(c, *next, T);
      else
        buildSelective(c, *next, T);
      if (ph == 0) {
        initWeights(c, *next);
      } else {
        // Carry weights and states from the previous phase.
        for (size_t i = 0; i < next->slots.size(); ++i) {
          Slot &s = *next->slots[i];
          bool perPhase = std::find(next->phaseInputs.begin(),
                                    next->phaseInputs.end(),
                                    int(i)) != next->phaseInputs.end();
          bool isOut = std::find(next->outputs.begin(), next->outputs.end(),
                                 int(i)) != next->outputs.end();
          if (perPhase || isOut || s.storage == Storage::I64)
            continue;
          Slot &old = *st->slots[i];
          s.host = old.host;
          CK(cudaMemcpy(s.dev, old.dev, s.bytes(), cudaMemcpyDeviceToDevice));
        }
      }
      st = std::move(next);
      fillPhaseInputs(c, *st);
      if (c.family == Family::Attention && c.attn.cached) {
        Slot &p = *st->slots[st->operands[5]];
        for (int b = 0; b < c.batch; ++b)
          p.hostI64[b] = pos[b];
        p.upload();
      }
      const size_t need = size_t(plan.workspace.eval(c.batch, T));
      if (need > wsBytes) {
        if (ws)
          CK(cudaFree(ws));
        wsBytes = need;
        CK(cudaMalloc(&ws, wsBytes));
      }
      if (ws)
        CK(cudaMemset(ws, 0xff, wsBytes));
      for (int o : st->outputs)
        st->slots[o]->poison();

      BraidKernelParams params;
      std::memset(&params, 0, sizeof params);
      int bi = 0;
      for (int o : st->operands)
        params.buffers[bi++] = o >= 0 ? st->slots[o]->dev : nullptr;
      for (int r : st->results)
        params.buffers[bi++] = r >= 0 ? st->slots[r]->dev : nullptr;
      params.workspace = ws;
      params.cache_position =
          c.family == Family::Attention && c.attn.cached
              ? static_cast<const int64_t *>(st->slots[st->operands[5]]->dev)
              : nullptr;
      params.batch = c.batch;
      params.tokens = T;
      params.max_seq = c.maxSeq;

      auto launchAll = [&](std::vector<double> *perKernel, Timer *tm) {
        for (size_t k = 0; k < plan.launches.size(); ++k) {
          const auto &l = plan.launches[k];
          if (!launchRuns(c, plan, k, int64_t(c.batch) * T))
            continue;
          dim3 grid(unsigned(l.grid[0].eval(c.batch, T)),
                    unsigned(l.grid[1].eval(c.batch, T)),
                    unsigned(l.grid[2].eval(c.batch, T)));
          dim3 block(l.block[0], l.block[1], l.block[2]);
          if (!grid.x || !grid.y || !grid.z)
            continue;
          void *args[] = {&params};
          if (tm)
            CK(cudaEventRecord(tm->a));
          CK(cudaLaunchKernel(fns[k], grid, block, args, size_t(l.sharedBytes), 0));
          if (tm) {
            CK(cudaEventRecord(tm->b));
            CK(cudaEventSynchronize(tm->b));
            float ms = 0;
            CK(cudaEventElapsedTime(&ms, tm->a, tm->b));
            (*perKernel)[k] += ms;
          }
        }
      };
      auto launchOne = [&](size_t k) {
        const auto &l = plan.launches[k];
        dim3 grid(unsigned(l.grid[0].eval(c.batch, T)),
                  unsigned(l.grid[1].eval(c.batch, T)),
                  unsigned(l.grid[2].eval(c.batch, T)));
        dim3 block(l.block[0], l.block[1], l.block[2]);
        void *args[] = {&params};
        CK(cudaLaunchKernel(fns[k], grid, block, args, size_t(l.sharedBytes), 0));
      };
      launchAll(nullptr, nullptr);
      cudaError_t le = cudaGetLastError();
      cudaError_t se = cudaDeviceSynchronize();
      if (le != cudaSuccess || se != cudaSuccess) {
        std::fprintf(stderr, "%s phase %zu: launch failed: %s\n", c.name.c_str(),
                     ph, cudaGetErrorString(le != cudaSuccess ? le : se));
        std::exit(2);
      }

      // Device results before the reference overwrites host states.
      std::vector<std::vector<float>> gpuOut, gpuState;
      for (int o : st->outputs)
        gpuOut.push_back(st->slots[o]->download());
      for (int s : st->states)
        gpuState.push_back(st->slots[s]->download());

      // Timing (bench cases): whole sequence and per kernel, medians; at
      // the last phase, as timing advances the device states.
      if (bench && c.bench && ph + 1 == c.tokens.size())
        time(c, plan, T, launchAll, launchOne);
      if (c.bench && !checkBench) {
        Row row;
        row.name = c.name;
        row.dtype = c.bf16 ? "bf16" : "f32";
        row.phase = int(ph);
        row.tokens = T;
        row.outErr = NAN;
        row.pass = true;
        row.note = "(timed only: --no-check-bench)";
        rows.push_back(row);
        for (int b = 0;
             b < c.batch && c.family == Family::Attention && c.attn.cached; ++b)
          pos[b] += T;
        continue;
      }

      // CPU reference (states aliased: operand and result share storage).
      rt::KernelCall call;
      for (int o : st->operands)
        call.operands.push_back(o >= 0 ? st->slots[o]->view() : rt::TensorView());
      for (int r : st->results)
        call.results.push_back(st->slots[r]->view());
      call.attrs = st->attrs;
      call.pool = pool.get();
      call.location = c.name;
      rt::KernelFn fn = rt::findCpuKernel(st->family);
      std::string msg = fn ? fn(call) : "no CPU kernel";
      if (!msg.empty())
        return fail(c, "CPU reference: " + msg);

      Row row;
      row.name = c.name;
      row.dtype = c.bf16 ? "bf16" : "f32";
      row.phase = int(ph);
      row.tokens = T;
      row.tol = c.bf16 ? 1e-2 : 1e-5;
      Err out;
      for (size_t k = 0; k < st->outputs.size(); ++k) {
        const auto &ref = st->slots[st->outputs[k]]->host;
        for (size_t i = 0; i < ref.size(); ++i)
          out.add(gpuOut[k][i], ref[i]);
      }
      row.outErr = out.rel();
      if (!st->states.empty()) {
        // The worst state: a small one (conv state) must not hide behind
        // a large one (SSM state).
        row.stateErr = 0;
        for (size_t k = 0; k < st->states.size(); ++k) {
          Err se2;
          const Slot &s = *st->slots[st->states[k]];
          if (c.family == Family::Attention) {
            const int64_t w = s.shape[3];
            for (int b = 0; b < c.batch; ++b)
              for (int g = 0; g < c.attn.kvHeads; ++g)
                for (int64_t j = 0; j < pos[b] + T; ++j)
                  for (int64_t d = 0; d < w; ++d) {
                    const size_t i =
                        size_t(((int64_t(b) * c.attn.kvHeads + g) * c.maxSeq + j) * w + d);
                    se2.add(gpuState[k][i], s.host[i]);
                  }
          } else {
            for (size_t i = 0; i < s.host.size(); ++i)
              se2.add(gpuState[k][i], s.host[i]);
          }
          const double e = se2.rel();
          row.stateErr = std::isnan(e) || std::isnan(row.stateErr)
                             ? NAN
                             : std::max(row.stateErr, e);
        }
      }
      row.pass = row.outErr <= row.tol &&
                 (row.stateErr < 0 || row.stateErr <= row.tol);
      allPass &= row.pass;
      rows.push_back(row);
      for (int b = 0; b < c.batch && c.family == Family::Attention &&
                      c.attn.cached;
           ++b)
        pos[b] += T;
    }
    if (ws)
      CK(cudaFree(ws));
    return allPass;
  }

private:
  bool bench, checkBench;
  std::unique_ptr<rt::ThreadPool> pool;

  bool fail(const SeqCase &c, const std::string &why) {
    Row row;
    row.name = c.name;
    row.dtype = c.bf16 ? "bf16" : "f32";
    row.note = why;
    row.outErr = NAN;
    rows.push_back(row);
    return false;
  }

  template <typename LaunchAll, typename LaunchOne>
  void time(const SeqCase &c, const gpu::seq::Plan &plan, int T,
            LaunchAll &launchAll, LaunchOne &launchOne) {
    const int reps = 20;
    Timer tm;
    for (int i = 0; i < 3; ++i)
      launchAll(nullptr, nullptr);
    CK(cudaDeviceSynchronize());
    std::vector<double> totals;
    for (int r = 0; r < reps; ++r) {
      CK(cudaEventRecord(tm.a));
      launchAll(nullptr, nullptr);
      CK(cudaEventRecord(tm.b));
      CK(cudaEventSynchronize(tm.b));
      float ms = 0;
      CK(cudaEventElapsedTime(&ms, tm.a, tm.b));
      totals.push_back(ms);
    }
    std::vector<std::vector<double>> perRuns(plan.launches.size());
    for (int r = 0; r < reps; ++r) {
      std::vector<double> per(plan.launches.size(), 0.0);
      Timer t2;
      launchAll(&per, &t2);
      for (size_t k = 0; k < per.size(); ++k)
        perRuns[k].push_back(per[k]);
    }
    // Each kernel alone, 20 launches back to back: the launch overhead
    // overlaps the previous launch, close to what a profiler reports.
    std::vector<double> b2b(plan.launches.size(), 0.0);
    for (size_t k = 0; k < plan.launches.size(); ++k) {
      if (!launchRuns(c, plan, k, int64_t(c.batch) * T))
        continue;
      std::vector<double> one;
      for (int r = 0; r < 5; ++r) {
        CK(cudaEventRecord(tm.a));
        for (int i = 0; i < reps; ++i)
          launchOne(k);
        CK(cudaEventRecord(tm.b));
        CK(cudaEventSynchronize(tm.b));
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, tm.a, tm.b));
        one.push_back(ms / reps);
      }
      b2b[k] = median(one);
    }
    const double ms = median(totals);
    const int B = c.batch;
    char metric[256] = "";
    if (c.family == Family::Attention) {
      const auto &a = c.attn;
      if (T > 1) {
        // Causal: half the 4*B*H*T^2*D of a full product pair.
        const double flops = (a.causal ? 2.0 : 4.0) * B * a.heads * double(T) *
                             T * a.headDim;
        std::snprintf(metric, sizeof metric, "%.1f TFLOP/s (causal count 2BHS^2D)",
                      flops / ms / 1e9);
      } else {
        int keys = c.startPos[0] + 1;
        const double bytes = double(B) * a.kvHeads * keys * (a.headDim + a.valueDim) *
                             (a.cacheElem == gpu::seq::kBf16 ? 2 : 4);
        std::snprintf(metric, sizeof metric, "%.0f GB/s of KV cache read",
                      bytes / ms / 1e6);
      }
    } else if (c.family == Family::Ssd) {
      const auto &s = c.ssd;
      const double e = 2.0; // bf16
      const double bytes = double(B) * T *
                               (2.0 * s.heads * s.headDim + s.heads +
                                2.0 * s.groups * s.stateSize) * e +
                           2.0 * B * s.heads * s.headDim * s.stateSize * 4.0;
      const double L = double(s.chunk), nc = std::ceil(double(T) / L);
      const double flops =
          B * nc * (2.0 * L * L * s.stateSize * s.groups +
                    s.heads * (2.0 * L * L * s.headDim +
                               4.0 * L * s.headDim * s.stateSize));
      std::snprintf(metric, sizeof metric,
                    "%.0f GB/s of min traffic (%.1f MB), %.1f TFLOP/s (mamba_ssm count)",
                    bytes / ms / 1e6, bytes / 1e6, flops / ms / 1e9);
    } else if (c.family == Family::Mamba2Step) {
      // The f32 SSM state is read and written once: it dominates.
      const auto &s = c.step;
      const double state = 2.0 * B * s.heads * s.headDim * s.stateSize * 4.0;
      std::snprintf(metric, sizeof metric,
                    "%.0f GB/s of SSM state read+write (%.1f MB)",
                    state / ms / 1e6, state / 1e6);
    }
    benchRows.push_back({c.name, "total", ms, metric});
    for (size_t k = 0; k < plan.launches.size(); ++k) {
      if (!launchRuns(c, plan, k, int64_t(c.batch) * T))
        continue;
      char alone[96];
      std::snprintf(alone, sizeof alone, "back to back %.2f us",
                    b2b[k] * 1e3);
      benchRows.push_back(
          {c.name, plan.launches[k].function, median(perRuns[k]), alone});
    }
  }
};

//===----------------------------------------------------------------------===//
// The warp-tile primitives alone (WarpTile.cuh), both back ends: a wrong
// fragment placement shows here before it shows in a family.
//===----------------------------------------------------------------------===//

constexpr int kTM = 2, kTN = 3, kTK = 32; // odd NT: the x2 ldmatrix paths
constexpr int kM = 16 * kTM, kN = 8 * kTN;

/// op 0: A[M][K] B[N][K]; 1: A[M][K] B[K][N]; 2: At[K][M] B[K][N];
/// 3: P (accumulator from A[M][K]) B[K][N].
template <typename E, int OP>
__global__ void warpTileKernel(const float *A, const float *B, float *C) {
  constexpr int pad = kern::kRowPad<E>;
  constexpr int ldA = (OP == 2 ? kM : kTK) + pad;
  constexpr int ldB = (OP == 0 ? kTK : kN + 8) + pad;
  __shared__ __align__(16) E sA[(OP == 2 ? kTK : kM) * ldA];
  __shared__ __align__(16) E sB[(OP == 0 ? kN : kTK) * ldB];
  const int rowsA = OP == 2 ? kTK : kM, colsA = OP == 2 ? kM : kTK;
  const int rowsB = OP == 0 ? kN : kTK, colsB = OP == 0 ? kTK : kN;
  for (int i = threadIdx.x; i < rowsA * colsA; i += blockDim.x)
    sA[(i / colsA) * ldA + i % colsA] = dev::fromFloat<E>(A[i]);
  for (int i = threadIdx.x; i < rowsB * colsB; i += blockDim.x)
    sB[(i / colsB) * ldB + i % colsB] = dev::fromFloat<E>(B[i]);
  __syncthreads();
  kern::Acc<kTM, kTN> acc;
  acc.zero();
  if constexpr (OP == 0) {
    kern::gemmNT<kTM, kTN, kTK>(acc, sA, ldA, sB, ldB);
  } else if constexpr (OP == 1) {
    kern::gemmNN<kTM, kTN, kTK>(acc, sA, ldA, sB, ldB);
  } else if constexpr (OP == 2) {
    kern::gemmTN<kTM, kTN, kTK>(acc, sA, ldA, sB, ldB);
  } else {
    using PTile = kern::Acc<kTM, kTK / 8>;
    PTile P;
    for (int i = 0; i < kTM; ++i)
      for (int j = 0; j < PTile::NB; ++j)
        for (int h = 0; h < kern::kAccRows; ++h)
          for (int c = 0; c < kern::kAccCols; ++c)
            P.at(i, j, h, c) =
                A[kern::accRow(i, h) * kTK + kern::accCol(j, c)];
    kern::gemmRegNN<kTM, kTN, kTK / 16>(acc, P, sB, ldB);
  }
  // Every element through the placement accessors (accRow / accCol /
  // Acc::at): a wrong placement shows up as a wrong or unwritten (NaN) C.
  using CTile = kern::Acc<kTM, kTN>;
  for (int i = 0; i < kTM; ++i)
    for (int j = 0; j < CTile::NB; ++j)
      for (int h = 0; h < kern::kAccRows; ++h)
        for (int c = 0; c < kern::kAccCols; ++c)
          C[kern::accRow(i, h) * kN + kern::accCol(j, c)] = acc.at(i, j, h, c);
}

template <typename E, int OP> double warpTileCheck() {
  const bool bf16 = std::is_same<E, dev::bf16>::value;
  std::vector<float> A(kM * kTK), B(kN * kTK), C(kM * kN, NAN);
  for (float &v : A)
    v = bf16 ? roundBf16(normal()) : normal();
  for (float &v : B)
    v = bf16 ? roundBf16(normal()) : normal();
  float *dA, *dB, *dC;
  CK(cudaMalloc(&dA, A.size() * 4));
  CK(cudaMalloc(&dB, B.size() * 4));
  CK(cudaMalloc(&dC, C.size() * 4));
  CK(cudaMemcpy(dA, A.data(), A.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(dB, B.data(), B.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemset(dC, 0xff, C.size() * 4));
  warpTileKernel<E, OP><<<1, 32>>>(dA, dB, dC);
  CK(cudaGetLastError());
  CK(cudaMemcpy(C.data(), dC, C.size() * 4, cudaMemcpyDeviceToHost));
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);
  Err err;
  for (int m = 0; m < kM; ++m)
    for (int n = 0; n < kN; ++n) {
      double ref = 0;
      for (int k = 0; k < kTK; ++k) {
        double a = OP == 2 ? A[k * kM + m] : A[m * kTK + k];
        if (OP == 3 && bf16)
          a = roundBf16(float(a));
        double b = OP == 0 ? B[n * kTK + k] : B[k * kN + n];
        ref += a * b;
      }
      err.add(C[m * kN + n], float(ref));
    }
  return err.rel();
}

bool warpTileTests(std::vector<Row> &rows) {
  bool ok = true;
  auto add = [&](const char *name, bool bf16, double e) {
    Row r;
    r.name = std::string("warptile_") + name;
    r.dtype = bf16 ? "bf16" : "f32";
    r.outErr = e;
    r.tol = 1e-5;
    r.pass = e <= r.tol;
    ok &= r.pass;
    rows.push_back(r);
  };
  add("gemmNT", false, warpTileCheck<float, 0>());
  add("gemmNN", false, warpTileCheck<float, 1>());
  add("gemmTN", false, warpTileCheck<float, 2>());
  add("gemmRegNN", false, warpTileCheck<float, 3>());
  add("gemmNT", true, warpTileCheck<dev::bf16, 0>());
  add("gemmNN", true, warpTileCheck<dev::bf16, 1>());
  add("gemmTN", true, warpTileCheck<dev::bf16, 2>());
  add("gemmRegNN", true, warpTileCheck<dev::bf16, 3>());
  return ok;
}

} // namespace

int main(int argc, char **argv) {
  bool quick = false, bench = false, list = false, noPrims = false;
  bool checkBench = true;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick")
      quick = true;
    else if (a == "--bench")
      bench = true;
    else if (a == "--list")
      list = true;
    else if (a == "--no-primitives")
      noPrims = true;
    else if (a == "--no-check-bench")
      checkBench = false;
    else
      filter = a;
  }
  if (list) {
    for (const SeqCase &c : test::sequenceCases())
      std::printf("%s %s\n", c.name.c_str(), c.bf16 ? "bf16" : "f32");
    return 0;
  }
  int dev = 0;
  cudaDeviceProp prop;
  CK(cudaGetDevice(&dev));
  CK(cudaGetDeviceProperties(&prop, dev));
  std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor,
              prop.multiProcessorCount);

  const auto cases = test::sequenceCases();
  Runner runner(bench, checkBench);
  bool ok = noPrims || warpTileTests(runner.rows);
  int ran = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const SeqCase &c = cases[i];
    if (quick && !c.quick)
      continue;
    if (c.bench && !bench)
      continue;
    // FILTER: a substring of the case name, "=NAME" for one name, and
    // ":f32" / ":bf16" appended for one element type.
    std::string f = filter, want;
    if (const size_t colon = f.rfind(':'); colon != std::string::npos) {
      want = f.substr(colon + 1);
      f = f.substr(0, colon);
    }
    if (!want.empty() && want != (c.bf16 ? "bf16" : "f32"))
      continue;
    if (!f.empty() && (f[0] == '=' ? c.name != f.substr(1)
                                   : c.name.find(f) == std::string::npos))
      continue;
    auto t0 = std::chrono::steady_clock::now();
    bool pass = runner.run(c, i);
    auto t1 = std::chrono::steady_clock::now();
    std::printf("  %-48s %-4s %s (%.1f s)\n", c.name.c_str(), c.bf16 ? "bf16" : "f32",
                pass ? "ok" : "FAILED",
                std::chrono::duration<double>(t1 - t0).count());
    std::fflush(stdout);
    ok &= pass;
    ++ran;
  }

  std::printf("\n%-48s %-5s %5s %6s %11s %11s %8s  %s\n", "case", "dtype", "phase",
              "T", "out relL2", "state relL2", "tol", "result");
  for (const Row &r : runner.rows) {
    char state[32] = "-";
    if (r.stateErr >= 0 || std::isnan(r.stateErr))
      std::snprintf(state, sizeof state, "%.2e", r.stateErr);
    std::printf("%-48s %-5s %5d %6d %11.2e %11s %8.0e  %s %s\n", r.name.c_str(),
                r.dtype.c_str(), r.phase, r.tokens, r.outErr, state, r.tol,
                r.pass ? "PASS" : "FAIL", r.note.c_str());
  }
  if (!runner.benchRows.empty()) {
    std::printf("\n%-48s %-34s %10s  %s\n", "timed case (bf16)", "kernel", "ms",
                "rate");
    for (const BenchRow &b : runner.benchRows)
      std::printf("%-48s %-34s %10.4f  %s\n", b.name.c_str(), b.what.c_str(), b.ms,
                  b.metric.c_str());
  }
  std::printf("\n%d cases, %zu checks: %s\n", ran, runner.rows.size(),
              ok ? "ALL PASS" : "FAILURES");
  return ok ? 0 : 1;
}
