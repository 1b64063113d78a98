//===- dense_kernels_test.cu - dense GPU kernels against the CPU reference -===//
//
// Runs every launch of the case list written by dense-kernel-gen
// (build_dense_kernels_test.sh) exactly as the runtime would: the plan's
// cubins loaded with the driver API, each invocation launched with its grid
// (DimExprs evaluated at the run's B and T), block, dynamic shared memory
// and a BraidKernelParams holding the operand and result pointers and a
// workspace of the planned size. Inputs are random (bf16 cases round them to
// bf16 first and give the CPU reference the rounded values), results and
// workspace are poisoned with NaN before each run, and every result is
// compared with the fp32 CPU reference kernels (findCpuKernel) by relative
// L2 error: <= 1e-5 for f32, <= 1e-2 for bf16. Prefill launches run at
// (B, T) = (2, 37), (1, 1) and, for the GEMM families, conv and rope,
// (1, 300); decode launches at (3, 1) and (1, 1), the GEMM families also at
// B = 16, 17, 33, 64 and 128 (a kernel with a row range runs only for B*T
// in it, as in the runtime).
//
// Then, on the launches marked "bench", it times the bf16 GEMM at M = 4096
// (and the decode GEMMs at M = 1, 17, 32, 64 and 128) with CUDA events,
// checks sampled rows of the large result against a double-precision host
// dot product, and times alternative tile configurations compiled into this
// program for the same shapes (decode above 16 rows: the unsplit 64 x 64
// tensor-core tiles and split-K clusters of other shapes).
//
// usage: dense_kernels_test CASES_DIR [--filter FAMILY] [--no-bench]
//        [--bench-only] [--small] [--prefill-gemm-only]
//        [--decode-gemm-only] [--log FILE]
//   --small: only the cases without model-sized weights (for
//   compute-sanitizer). --prefill-gemm-only: bench the prefill GEMMs only
//   (M = 4096 with the alternatives, then the plan at M = 4095, 1000, 130).
//   --decode-gemm-only: bench the decode GEMMs only (M = 1 .. 128).
//   --filter FAMILY with the benches on: that family's memory-bound bench
//   cases only (no GEMM timings).
// Exit status: 0 when every comparison passes.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/CpuKernels.h"
#include "runtime/backends/cuda/CudaDriver.h"
#include "runtime/include/braid/kernel_abi.h"
#include "targets/common/kernels/Gemm.cuh"
#include "test/gpu/GpuTestLog.h"

#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string cuErr(CUresult r) {
  const char *s = nullptr;
  cuGetErrorString(r, &s);
  return s ? s : "unknown";
}

//===----------------------------------------------------------------------===//
// The case list
//===----------------------------------------------------------------------===//

struct Dim {
  int64_t c = 0, b = 0, t = 0, bt = 0, div = 1;
  int64_t eval(int64_t B, int64_t T) const {
    int64_t n = c + b * B + t * T + bt * B * T;
    return (n + div - 1) / div;
  }
};

struct BufDesc {
  bool present = false;
  std::string kind, dtype, name;
  std::vector<int64_t> shape; // -1 B, -2 T, -3 S
};

/// A tensor map the kernel takes (cases.txt "tmap"; GpuPlan.h
/// TensorMapSpec): buffers[buffer] (-1: the workspace) as rows x cols.
struct TMap {
  int buffer = 0;
  Dim rows;
  int64_t cols = 0, elementBytes = 2;
  std::array<int64_t, 2> box{{0, 0}};
  int64_t swizzle = 128;
};

struct Invocation {
  std::string function;
  Dim grid[3];
  int block[3] = {1, 1, 1};
  int64_t shared = 0;
  int64_t minRows = 0, maxRows = INT64_MAX; // runs for B*T in the range
  std::vector<TMap> maps; // its second parameter, when not empty
};

struct Attr {
  std::string type, name;
  std::vector<std::string> values;
};

struct Case {
  int id = 0;
  std::string family, entry, module, source;
  bool hot = false;
  std::vector<Attr> attrs;
  std::vector<BufDesc> operands, results;
  std::vector<Invocation> kernels;
  Dim workspace;
};

BufDesc parseBuf(std::istringstream &is) {
  BufDesc b;
  is >> b.kind;
  if (b.kind == "absent")
    return b;
  b.present = true;
  int rank;
  is >> b.dtype >> rank;
  b.shape.resize(rank);
  for (auto &d : b.shape)
    is >> d;
  is >> b.name;
  return b;
}

Dim parseDim(std::istringstream &is) {
  Dim d;
  is >> d.c >> d.b >> d.t >> d.bt >> d.div;
  return d;
}

std::vector<Case> loadCases(const std::string &path) {
  std::ifstream f(path);
  if (!f) {
    say("cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::vector<Case> cases;
  std::string line;
  Case c;
  while (std::getline(f, line)) {
    std::istringstream is(line);
    std::string tag;
    is >> tag;
    if (tag == "case") {
      c = Case();
      int hot;
      is >> c.id >> c.family >> c.entry >> c.module >> hot;
      c.hot = hot;
    } else if (tag == "source") {
      is >> c.source;
    } else if (tag == "attr") {
      Attr a;
      is >> a.name >> a.type;
      std::string v;
      while (is >> v)
        a.values.push_back(v);
      c.attrs.push_back(a);
    } else if (tag == "operand") {
      c.operands.push_back(parseBuf(is));
    } else if (tag == "result") {
      c.results.push_back(parseBuf(is));
    } else if (tag == "kernel") {
      Invocation k;
      is >> k.function;
      for (auto &g : k.grid)
        g = parseDim(is);
      is >> k.block[0] >> k.block[1] >> k.block[2] >> k.shared >> k.minRows >>
          k.maxRows;
      c.kernels.push_back(k);
    } else if (tag == "tmap" && !c.kernels.empty()) {
      TMap m;
      is >> m.buffer;
      m.rows = parseDim(is);
      is >> m.cols >> m.elementBytes >> m.box[0] >> m.box[1] >> m.swizzle;
      c.kernels.back().maps.push_back(m);
    } else if (tag == "workspace") {
      c.workspace = parseDim(is);
    } else if (tag == "end") {
      cases.push_back(c);
    }
  }
  return cases;
}

//===----------------------------------------------------------------------===//
// Host data
//===----------------------------------------------------------------------===//

uint16_t toBf16Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
float fromBf16Bits(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
float roundBf16(float f) { return fromBf16Bits(toBf16Bits(f)); }

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  float uniform() { // [-1, 1)
    return static_cast<float>((next() >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
  }
};

std::vector<int64_t> resolve(const std::vector<int64_t> &shape, int64_t B,
                             int64_t T) {
  std::vector<int64_t> r;
  for (int64_t d : shape)
    r.push_back(d == -1 ? B : d == -2 ? T : d == -3 ? 64 : d);
  return r;
}
int64_t numel(const std::vector<int64_t> &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}
size_t elemBytes(const std::string &dt) {
  return dt == "bf16" ? 2 : dt == "i64" ? 8 : 4;
}

/// One buffer on both sides: host values (fp32 or int64) and the device copy
/// in the storage type.
struct Tensor {
  std::vector<int64_t> shape;
  std::string dtype;
  std::vector<float> f;
  std::vector<int64_t> i;
  void *dev = nullptr;
  size_t bytes = 0;
  bool owner = true;
};

void upload(Tensor &t) {
  t.bytes = std::max<size_t>(1, numel(t.shape) * elemBytes(t.dtype));
  CUDA_OK(cudaMalloc(&t.dev, t.bytes));
  if (t.dtype == "i64") {
    CUDA_OK(cudaMemcpy(t.dev, t.i.data(), t.i.size() * 8, cudaMemcpyHostToDevice));
  } else if (t.dtype == "bf16") {
    std::vector<uint16_t> h(t.f.size());
    for (size_t k = 0; k < h.size(); ++k)
      h[k] = toBf16Bits(t.f[k]);
    CUDA_OK(cudaMemcpy(t.dev, h.data(), h.size() * 2, cudaMemcpyHostToDevice));
  } else {
    CUDA_OK(cudaMemcpy(t.dev, t.f.data(), t.f.size() * 4, cudaMemcpyHostToDevice));
  }
}

std::vector<float> download(const Tensor &t) {
  size_t n = numel(t.shape);
  std::vector<float> out(n);
  if (t.dtype == "bf16") {
    std::vector<uint16_t> h(n);
    CUDA_OK(cudaMemcpy(h.data(), t.dev, n * 2, cudaMemcpyDeviceToHost));
    for (size_t k = 0; k < n; ++k)
      out[k] = fromBf16Bits(h[k]);
  } else {
    CUDA_OK(cudaMemcpy(out.data(), t.dev, n * 4, cudaMemcpyDeviceToHost));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Modules and launches
//===----------------------------------------------------------------------===//

std::string gDir;
std::map<std::string, CUmodule> gModules;

CUfunction function(const std::string &module, const std::string &name) {
  CUmodule &m = gModules[module];
  if (!m) {
    std::string path = gDir + "/sm_90a/" + module + ".cubin";
    CUresult r = cuModuleLoad(&m, path.c_str());
    if (r != CUDA_SUCCESS) {
      say("cannot load %s: %s\n", path.c_str(), cuErr(r).c_str());
      std::exit(2);
    }
  }
  CUfunction f;
  CUresult r = cuModuleGetFunction(&f, m, name.c_str());
  if (r != CUDA_SUCCESS) {
    say("no function %s in %s: %s\n", name.c_str(), module.c_str(),
        cuErr(r).c_str());
    std::exit(2);
  }
  return f;
}

/// Launches the plan's invocations; returns "" or an error.
std::string launchPlan(const Case &c, const BraidKernelParams &params,
                       int64_t B, int64_t T, cudaStream_t stream = 0) {
  for (const Invocation &k : c.kernels) {
    if (B * T < k.minRows || B * T > k.maxRows) // another variant's rows
      continue;
    CUfunction f = function(c.module, k.function);
    if (k.shared > 48 * 1024) {
      CUresult r = cuFuncSetAttribute(
          f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
          static_cast<int>(k.shared));
      if (r != CUDA_SUCCESS)
        return k.function + ": cannot set shared memory: " + cuErr(r);
    }
    unsigned g[3];
    for (int d = 0; d < 3; ++d)
      g[d] = static_cast<unsigned>(k.grid[d].eval(B, T));
    if (!g[0] || !g[1] || !g[2])
      continue;
    BraidKernelParams p = params;
    BraidTensorMaps maps;
    std::memset(&maps, 0, sizeof maps);
    for (size_t i = 0; i < k.maps.size(); ++i) {
      const TMap &t = k.maps[i];
      void *base = t.buffer < 0 ? p.workspace : p.buffers[t.buffer];
      braid::rt::cu::TensorMapRequest q = braid::rt::cu::tensorMapRequest(
          t.cols, t.rows.eval(B, T), t.elementBytes, t.box, t.swizzle);
      CUresult r = cuTensorMapEncodeTiled(
          reinterpret_cast<CUtensorMap *>(&maps.maps[i]),
          static_cast<CUtensorMapDataType>(q.dataType), 2, base, q.globalDim,
          q.globalStrides, q.boxDim, q.elementStrides,
          CU_TENSOR_MAP_INTERLEAVE_NONE,
          static_cast<CUtensorMapSwizzle>(q.swizzle),
          CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
          CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
      if (r != CUDA_SUCCESS)
        return k.function + ": tensor map " + std::to_string(i) +
               " cannot be encoded: " + cuErr(r);
    }
    void *args[] = {&p, &maps};
    CUresult r = cuLaunchKernel(f, g[0], g[1], g[2], k.block[0], k.block[1],
                                k.block[2], static_cast<unsigned>(k.shared),
                                stream, args, nullptr);
    if (r != CUDA_SUCCESS)
      return k.function + ": launch failed: " + cuErr(r);
  }
  return "";
}

//===----------------------------------------------------------------------===//
// One comparison run
//===----------------------------------------------------------------------===//

struct Outcome {
  bool pass = false;
  double worst = 0.0;
  std::string note;
};

braid::rt::AttrMap attrMap(const Case &c) {
  braid::rt::AttrMap m;
  for (const Attr &a : c.attrs) {
    if (a.type == "int")
      m.set(a.name, static_cast<int64_t>(std::stoll(a.values[0])));
    else if (a.type == "float")
      m.set(a.name, std::stod(a.values[0]));
    else if (a.type == "bool")
      m.set(a.name, a.values[0] == "1");
    else if (a.type == "str")
      m.set(a.name, a.values.empty() ? std::string() : a.values[0]);
    else if (a.type == "ints") {
      std::vector<int64_t> v;
      for (size_t k = 1; k < a.values.size(); ++k)
        v.push_back(std::stoll(a.values[k]));
      m.set(a.name, v);
    } else if (a.type == "floats") {
      std::vector<double> v;
      for (size_t k = 1; k < a.values.size(); ++k)
        v.push_back(std::stod(a.values[k]));
      m.set(a.name, v);
    }
  }
  return m;
}

bool isBf16Case(const Case &c) {
  for (const BufDesc &b : c.operands)
    if (b.present && b.dtype == "bf16")
      return true;
  return false;
}

/// The index of the operand a result aliases (a state in and out), or -1.
int aliasOf(const Case &c, size_t r) {
  const BufDesc &res = c.results[r];
  if (res.kind != "state")
    return -1;
  for (size_t o = 0; o < c.operands.size(); ++o)
    if (c.operands[o].present && c.operands[o].kind == "state" &&
        c.operands[o].name == res.name)
      return static_cast<int>(o);
  return -1;
}

braid::rt::ThreadPool *gPool = nullptr;

Outcome runCase(const Case &c, int64_t B, int64_t T, uint64_t seed) {
  Outcome out;
  const bool bf16 = isBf16Case(c);
  const double tol = bf16 ? 1e-2 : 1e-5;
  Rng rng(seed);

  // Inputs.
  std::vector<Tensor> ins(c.operands.size());
  for (size_t o = 0; o < c.operands.size(); ++o) {
    const BufDesc &d = c.operands[o];
    if (!d.present)
      continue;
    Tensor &t = ins[o];
    t.shape = resolve(d.shape, B, T);
    t.dtype = d.dtype;
    int64_t n = numel(t.shape);
    if (d.dtype == "i64") {
      int64_t range = 4096;
      if (c.family == "embedding")
        range = c.operands[1].shape[0];
      t.i.resize(n);
      for (auto &v : t.i)
        v = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(range));
    } else {
      // MoE routers get a wider spread so that top-k choices are not
      // near-ties that rounding could flip.
      float scale = (c.family == "moe" && o == 1) ? 4.0f : 1.0f;
      t.f.resize(n);
      for (auto &v : t.f) {
        v = rng.uniform() * scale;
        if (d.dtype == "bf16")
          v = roundBf16(v);
      }
    }
    upload(t);
  }
  // Results: poisoned; a state result shares its operand's buffer.
  std::vector<Tensor> res(c.results.size());
  std::vector<std::vector<float>> cpuRes(c.results.size());
  for (size_t r = 0; r < c.results.size(); ++r) {
    const BufDesc &d = c.results[r];
    Tensor &t = res[r];
    t.shape = resolve(d.shape, B, T);
    t.dtype = d.dtype;
    int a = aliasOf(c, r);
    if (a >= 0) {
      t.dev = ins[a].dev;
      t.owner = false;
      cpuRes[r] = ins[a].f; // the CPU updates its own copy in place
    } else {
      t.bytes = std::max<size_t>(1, numel(t.shape) * elemBytes(t.dtype));
      CUDA_OK(cudaMalloc(&t.dev, t.bytes));
      CUDA_OK(cudaMemset(t.dev, 0xff, t.bytes));
      cpuRes[r].assign(numel(t.shape), NAN);
    }
  }
  // Workspace, poisoned.
  int64_t wsBytes = c.workspace.eval(B, T);
  void *ws = nullptr;
  if (wsBytes > 0) {
    CUDA_OK(cudaMalloc(&ws, wsBytes));
    CUDA_OK(cudaMemset(ws, 0xff, wsBytes));
  }

  // CPU reference.
  braid::rt::KernelCall call;
  call.attrs = attrMap(c);
  call.pool = gPool;
  call.location = "case " + std::to_string(c.id);
  std::vector<std::vector<float>> cpuIns(c.operands.size());
  for (size_t o = 0; o < c.operands.size(); ++o) {
    braid::rt::TensorView v;
    if (c.operands[o].present) {
      v.shape = ins[o].shape;
      if (ins[o].dtype == "i64") {
        v.type = braid::rt::ElementType::I64;
        v.data = ins[o].i.data();
      } else {
        cpuIns[o] = ins[o].f;
        v.data = cpuIns[o].data();
      }
    }
    call.operands.push_back(v);
  }
  for (size_t r = 0; r < c.results.size(); ++r) {
    braid::rt::TensorView v;
    v.shape = res[r].shape;
    int a = aliasOf(c, r);
    v.data = a >= 0 ? cpuIns[a].data() : cpuRes[r].data();
    call.results.push_back(v);
  }
  braid::rt::KernelFn cpu = braid::rt::findCpuKernel(c.family);
  std::string err = cpu ? cpu(call) : "no CPU kernel";
  if (!err.empty()) {
    out.note = "CPU reference: " + err;
  } else {
    for (size_t r = 0; r < c.results.size(); ++r) {
      int a = aliasOf(c, r);
      if (a >= 0)
        cpuRes[r] = cpuIns[a];
    }
  }

  // GPU.
  BraidKernelParams params;
  std::memset(&params, 0, sizeof params);
  size_t slot = 0;
  for (size_t o = 0; o < c.operands.size(); ++o)
    params.buffers[slot++] = ins[o].dev;
  for (size_t r = 0; r < c.results.size(); ++r)
    params.buffers[slot++] = res[r].dev;
  params.workspace = ws;
  params.cache_position = nullptr;
  params.batch = B;
  params.tokens = T;
  params.max_seq = 64;
  std::string gerr = launchPlan(c, params, B, T);
  cudaError_t se = cudaDeviceSynchronize();
  if (gerr.empty() && se != cudaSuccess)
    gerr = std::string("kernel failed: ") + cudaGetErrorString(se);
  if (!gerr.empty()) {
    say("case %d: %s\n", c.id, gerr.c_str());
    std::exit(3); // a sticky error: later cases cannot run
  }

  if (out.note.empty()) {
    out.pass = true;
    for (size_t r = 0; r < c.results.size(); ++r) {
      std::vector<float> g = download(res[r]);
      const std::vector<float> &ref = cpuRes[r];
      double num = 0, den = 0, maxAbs = 0;
      int64_t nans = 0, firstBad = -1;
      for (size_t k = 0; k < g.size(); ++k) {
        if (!std::isfinite(g[k])) {
          if (firstBad < 0)
            firstBad = static_cast<int64_t>(k);
          ++nans;
          continue;
        }
        double d = static_cast<double>(g[k]) - ref[k];
        num += d * d;
        den += static_cast<double>(ref[k]) * ref[k];
        maxAbs = std::max(maxAbs, std::fabs(d));
      }
      double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
      out.worst = std::max(out.worst, nans ? INFINITY : rel);
      if (nans || !(rel <= tol)) {
        out.pass = false;
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "result %zu: relL2 %.3g maxAbs %.3g nonfinite %lld "
                      "(first at %lld)",
                      r, rel, maxAbs, static_cast<long long>(nans),
                      static_cast<long long>(firstBad));
        out.note += (out.note.empty() ? "" : "; ") + std::string(buf);
      }
    }
  }

  for (Tensor &t : ins)
    if (t.dev)
      cudaFree(t.dev);
  for (Tensor &t : res)
    if (t.dev && t.owner)
      cudaFree(t.dev);
  if (ws)
    cudaFree(ws);
  return out;
}

std::string caseLabel(const Case &c) {
  std::string s;
  auto shape = [](const BufDesc &b) {
    std::string t = "[";
    for (size_t k = 0; k < b.shape.size(); ++k) {
      int64_t d = b.shape[k];
      t += (k ? "," : "") + (d == -1   ? std::string("B")
                             : d == -2 ? std::string("T")
                                       : std::to_string(d));
    }
    return t + "]";
  };
  for (const BufDesc &b : c.operands)
    s += b.present ? shape(b) : "-";
  for (const Attr &a : c.attrs)
    if (a.name == "kind" || a.name == "mode" || a.name == "routing" ||
        a.name == "activation")
      s += " " + (a.values.empty() ? "" : a.values[0]);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

//===----------------------------------------------------------------------===//
// Benchmarks
//===----------------------------------------------------------------------===//

float medianOf(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Median milliseconds of `iters` launches of fn, over `reps` repetitions.
template <class F> float timeIt(F fn, int iters = 20, int reps = 7) {
  cudaEvent_t a, b;
  CUDA_OK(cudaEventCreate(&a));
  CUDA_OK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i)
    fn();
  CUDA_OK(cudaDeviceSynchronize());
  std::vector<float> t;
  for (int r = 0; r < reps; ++r) {
    CUDA_OK(cudaEventRecord(a));
    for (int i = 0; i < iters; ++i)
      fn();
    CUDA_OK(cudaEventRecord(b));
    CUDA_OK(cudaEventSynchronize(b));
    float ms;
    CUDA_OK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms / iters);
  }
  CUDA_OK(cudaGetLastError());
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return medianOf(t);
}

using braid::dev::bf16;

/// Alternative tile configurations, instantiated here for tuning.
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchTc(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::tcGemm<Cfg>(ops, M);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchWg(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::wgGemm<Cfg>(ops, M);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchWs(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::wsGemm<Cfg>(ops, M);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchTma(const bf16 *x, const bf16 *w, bf16 *y, int M,
             const __grid_constant__ BraidTensorMaps maps) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::wsGemm<Cfg>(ops, M, &maps);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    benchSplitK(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::tcGemmSplitK<Cfg>(ops, M);
}
template <class Cfg, int N, int K>
__global__ void __launch_bounds__(Cfg::kThreads)
    benchSkinny(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  braid::dev::LinearOps<bf16, bf16, bf16, N, K, false> ops{x, w, y, nullptr};
  braid::dev::skinnyGemm<Cfg>(ops, M);
}

struct AltResult {
  std::string name;
  float ms;
  double rel = -1; // against the plan's result (nonfinite: inf)
};

/// Bench runs whose sampled rows differ from the host (rel-L2 > 1e-2 or
/// not finite): a failure of the plan; and warp-specialized alternatives
/// whose result differs from the plan's.
int gBenchFailures = 0;

/// The current bench's rows and work, for printing its alternatives.
int64_t gBenchM = 0;
double gBenchFlops = 0, gBenchBytes = 0;

/// Prints an alternative's result as soon as it is measured (a later one
/// that hangs cannot hide it).
void sayAlt(const AltResult &a) {
  const bool ws = a.name.rfind("ws", 0) == 0 || a.name.rfind("check", 0) == 0;
  const bool differs = !(a.rel <= 1e-2);
  if (ws && differs)
    ++gBenchFailures;
  if (a.ms == 0.0f)
    say("  alt %-22s M=%-5lld vs plan relL2 %.2e%s\n", a.name.c_str(),
        (long long)gBenchM, a.rel, differs ? " DIFFERS" : "");
  else
    say("  alt %-22s %8.4f ms  %7.1f TFLOP/s  %7.1f GB/s  vs plan relL2 "
        "%.2e%s\n",
        a.name.c_str(), a.ms, gBenchFlops / a.ms / 1e9,
        gBenchBytes / a.ms / 1e6, a.rel, differs ? " DIFFERS" : "");
}

/// The alternatives of one bench, printed as they are added.
struct AltList {
  std::vector<AltResult> v;
  void push_back(const AltResult &a) {
    sayAlt(a);
    v.push_back(a);
  }
};

/// The plan's result of the current bench, for checking the alternatives.
std::vector<uint16_t> gPlanY;

/// Relative L2 difference of y (M x N bf16, device) from gPlanY.
double diffFromPlan(const bf16 *y) {
  std::vector<uint16_t> h(gPlanY.size());
  CUDA_OK(cudaMemcpy(h.data(), y, h.size() * 2, cudaMemcpyDeviceToHost));
  double num = 0, den = 0;
  for (size_t k = 0; k < h.size(); ++k) {
    float a = fromBf16Bits(h[k]), b = fromBf16Bits(gPlanY[k]);
    if (!std::isfinite(a))
      return INFINITY;
    num += (double(a) - b) * (double(a) - b);
    den += double(b) * b;
  }
  return std::sqrt(num / den);
}

template <class Cfg, int N, int K>
AltResult runAltWg(const char *name, const bf16 *x, const bf16 *w, bf16 *y,
                   int M) {
  auto kern = benchWg<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               Cfg::kSharedBytes));
  dim3 grid((N + Cfg::BN - 1) / Cfg::BN, (M + Cfg::BM - 1) / Cfg::BM);
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  float ms = timeIt([&] {
    kern<<<grid, Cfg::kThreads, Cfg::kSharedBytes>>>(x, w, y, M);
  });
  return {name, ms, diffFromPlan(y)};
}

/// The warp-specialized engine on one block per tile (blocks = 0) or a
/// fixed grid of `blocks` (persistent).
template <class Cfg, int N, int K>
AltResult runAltWs(const char *name, const bf16 *x, const bf16 *w, bf16 *y,
                   int M, int blocks) {
  auto kern = benchWs<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(
      kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSharedBytes));
  dim3 grid =
      blocks ? dim3(blocks)
             : dim3((N + Cfg::BN - 1) / Cfg::BN, (M + Cfg::BM - 1) / Cfg::BM);
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  float ms = timeIt(
      [&] { kern<<<grid, Cfg::kThreads, Cfg::kSharedBytes>>>(x, w, y, M); });
  return {name, ms, diffFromPlan(y)};
}

/// tmaGemm's maps for x [M, K] and w [N, K] (GemmHopper.cuh): 64 x BM and
/// 64 x BN boxes, 128-byte swizzle.
template <class Cfg, int N, int K>
BraidTensorMaps tmaMapsFor(const bf16 *x, const bf16 *w, int M) {
  BraidTensorMaps maps;
  std::memset(&maps, 0, sizeof maps);
  const void *base[2] = {x, w};
  const int64_t rows[2] = {M, N}, box[2] = {Cfg::BM, Cfg::BN};
  for (int i = 0; i < 2; ++i) {
    braid::rt::cu::TensorMapRequest q =
        braid::rt::cu::tensorMapRequest(K, rows[i], 2, {64, box[i]}, 128);
    CUresult r = cuTensorMapEncodeTiled(
        reinterpret_cast<CUtensorMap *>(&maps.maps[i]),
        static_cast<CUtensorMapDataType>(q.dataType), 2,
        const_cast<void *>(base[i]), q.globalDim, q.globalStrides, q.boxDim,
        q.elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
        static_cast<CUtensorMapSwizzle>(q.swizzle),
        CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS) {
      say("tensor map %d: %s\n", i, cuErr(r).c_str());
      std::exit(2);
    }
  }
  return maps;
}

/// The TMA engine on one block per tile (blocks = 0) or a fixed grid of
/// `blocks` (persistent; with Cfg::kPingPong, the two consumers take whole
/// tiles in turn).
template <class Cfg, int N, int K>
AltResult runAltTma(const char *name, const bf16 *x, const bf16 *w, bf16 *y,
                    int M, int blocks, bool timed = true) {
  auto kern = benchTma<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(
      kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSharedBytes));
  dim3 grid =
      blocks ? dim3(blocks)
             : dim3((N + Cfg::BN - 1) / Cfg::BN, (M + Cfg::BM - 1) / Cfg::BM);
  BraidTensorMaps maps = tmaMapsFor<Cfg, N, K>(x, w, M);
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  auto launch = [&] {
    kern<<<grid, Cfg::kThreads, Cfg::kSharedBytes>>>(x, w, y, M, maps);
  };
  float ms = 0.0f;
  if (timed)
    ms = timeIt(launch);
  else {
    launch();
    CUDA_OK(cudaDeviceSynchronize());
  }
  return {name, ms, diffFromPlan(y)};
}

/// Ragged M: the warp-specialized schedules (persistent, ping-pong) once
/// each, against the plan's result (no timing).
template <int N, int K>
std::vector<AltResult> altWsChecks(const bf16 *x, const bf16 *w, bf16 *y,
                                   int M) {
  using namespace braid::dev;
  AltList r;
  auto one = [&](auto kern, int threads, int shared, dim3 grid,
                 const char *name) {
    CUDA_OK(cudaFuncSetAttribute(
        kern, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
    CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
    kern<<<grid, threads, shared>>>(x, w, y, M);
    CUDA_OK(cudaDeviceSynchronize());
    r.push_back({name, 0.0f, diffFromPlan(y)});
  };
  using C = WsConfig<128, 256, 4>;
  using P = WsConfig<128, 128, 6, true>;
  one(benchWs<C, N, K>, C::kThreads, C::kSharedBytes,
      dim3((N + 255) / 256, (M + 127) / 128), "check ws 128x256 s4");
  one(benchWs<C, N, K>, C::kThreads, C::kSharedBytes, dim3(132),
      "check ws-P 128x256 s4 x132");
  one(benchWs<C, N, K>, C::kThreads, C::kSharedBytes, dim3(5),
      "check ws-P 128x256 s4 x5");
  one(benchWs<P, N, K>, P::kThreads, P::kSharedBytes, dim3(132),
      "check ws-PP 128x128 s6 x132");
  one(benchWs<P, N, K>, P::kThreads, P::kSharedBytes, dim3(7),
      "check ws-PP 128x128 s6 x7");
  using T = TmaConfig<256, 4>;
  using TP = WsConfig<128, 128, 6, true, false, true>;
  r.push_back(runAltTma<T, N, K>("check tma-P 128x256 s4 x132", x, w, y, M, 132,
                                 false));
  r.push_back(
      runAltTma<T, N, K>("check tma-P 128x256 s4 x5", x, w, y, M, 5, false));
  r.push_back(runAltTma<TP, N, K>("check tma-PP 128x128 s6 x132", x, w, y, M,
                                  132, false));
  r.push_back(
      runAltTma<TP, N, K>("check tma-PP 128x128 s6 x7", x, w, y, M, 7, false));
  return r.v;
}

template <int N, int K>
std::vector<AltResult> altConfigs(const bf16 *x, const bf16 *w, bf16 *y, int M) {
  using namespace braid::dev;
  AltList r;
  int sms = 0;
  CUDA_OK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  // The old default first, the ping-pong schedules last (a hang there
  // loses nothing before it: each result is printed when measured).
  // The plan before TMA (wgmma, cp.async by every thread) and the cp.async
  // warp-specialized engine, then the TMA schedules: the plan's own
  // (tma 128x256 s4, one block per tile), persistent, ping-pong; the
  // ping-pong ones last (a hang there loses nothing before it: each result
  // is printed when measured).
  r.push_back(runAltWg<WgConfig<128, 256, 4>, N, K>("wgmma 128x256 s4", x, w, y, M));
  r.push_back(runAltWs<WsConfig<128, 256, 4>, N, K>("ws 128x256 s4", x, w, y, M, 0));
  r.push_back(
      runAltTma<TmaConfig<256, 4>, N, K>("tma 128x256 s4", x, w, y, M, 0));
  r.push_back(
      runAltTma<TmaConfig<256, 3>, N, K>("tma 128x256 s3", x, w, y, M, 0));
  r.push_back(runAltTma<TmaConfig<256, 4>, N, K>("tma-P 128x256 s4 xSM", x, w,
                                                 y, M, sms));
  r.push_back(runAltTma<TmaConfig<256, 4>, N, K>("tma-P 128x256 s4 x2SM", x, w,
                                                 y, M, 2 * sms));
  r.push_back(
      runAltTma<TmaConfig<128, 6>, N, K>("tma 128x128 s6", x, w, y, M, 0));
  r.push_back(runAltTma<TmaConfig<128, 6>, N, K>("tma-P 128x128 s6 xSM", x, w,
                                                 y, M, sms));
  r.push_back(runAltTma<WsConfig<128, 128, 6, true, false, true>, N, K>(
      "tma-PP 128x128 s6 xSM", x, w, y, M, sms));
  r.push_back(runAltTma<WsConfig<128, 128, 5, true, false, true>, N, K>(
      "tma-PP 128x128 s5 xSM", x, w, y, M, sms));
  return r.v;
}

std::vector<bf16 *> gWeightCopies;

/// Decode: a tc configuration at M rows, timed over the weight copies.
template <class Cfg, int N, int K>
AltResult runAltTcDecode(const char *name, const bf16 *x, bf16 *y, int M) {
  auto kern = benchTc<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(
      kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSharedBytes));
  dim3 grid((N + Cfg::BN - 1) / Cfg::BN, (M + Cfg::BM - 1) / Cfg::BM);
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  size_t rot = 0;
  float ms = timeIt([&] {
    kern<<<grid, Cfg::kThreads, Cfg::kSharedBytes>>>(
        x, gWeightCopies[rot++ % gWeightCopies.size()], y, M);
  });
  return {name, ms, diffFromPlan(y)};
}

/// Decode: a split-K configuration (clusters of Cfg::SPLIT along x).
template <class Cfg, int N, int K>
AltResult runAltSplitK(const char *name, const bf16 *x, bf16 *y, int M) {
  auto kern = benchSplitK<Cfg, N, K>;
  CUDA_OK(cudaFuncSetAttribute(
      kern, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSharedBytes));
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((N + Cfg::BN - 1) / Cfg::BN * Cfg::SPLIT,
                     (M + Cfg::BM - 1) / Cfg::BM);
  cfg.blockDim = dim3(Cfg::kThreads);
  cfg.dynamicSmemBytes = Cfg::kSharedBytes;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeClusterDimension;
  attr[0].val.clusterDim.x = Cfg::SPLIT;
  attr[0].val.clusterDim.y = 1;
  attr[0].val.clusterDim.z = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  CUDA_OK(cudaMemset(y, 0xff, size_t(M) * N * 2));
  size_t rot = 0;
  float ms = timeIt([&] {
    CUDA_OK(cudaLaunchKernelEx(
        &cfg, kern, x,
        (const bf16 *)gWeightCopies[rot++ % gWeightCopies.size()], y, M));
  });
  return {name, ms, diffFromPlan(y)};
}

/// Reads every 16-byte chunk of w once (grid-stride, 4 chunks in flight a
/// thread) and writes one value per block: the rate of a plain weight
/// stream of that size, the ceiling of a decode GEMM.
__global__ void __launch_bounds__(256) streamRead(const uint4 *w, size_t n,
                                                  bf16 *y) {
  uint32_t acc = 0;
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    const uint4 a = __ldg(w + i), b = __ldg(w + i + stride),
                c = __ldg(w + i + 2 * stride), d = __ldg(w + i + 3 * stride);
    acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^
           c.w ^ d.x ^ d.y ^ d.z ^ d.w;
  }
  for (; i < n; i += stride) {
    const uint4 a = __ldg(w + i);
    acc ^= a.x ^ a.y ^ a.z ^ a.w;
  }
  if (acc == 0x12345678u)
    y[blockIdx.x] = __float2bfloat16(1.0f);
}

template <int N, int K>
AltResult runStreamRead(const char *name, bf16 *y) {
  const size_t chunks = size_t(N) * K * 2 / 16;
  size_t rot = 0;
  float ms = timeIt([&] {
    streamRead<<<132 * 8, 256>>>(
        reinterpret_cast<const uint4 *>(
            gWeightCopies[rot++ % gWeightCopies.size()]),
        chunks, y);
  });
  return {name, ms, -1};
}

/// Decode above 16 rows: the unsplit 64 x 64 tiles (the plan before split-K)
/// and split-K clusters of other tile shapes and sizes.
template <int N, int K>
std::vector<AltResult> altDecodeTc(const bf16 *x, bf16 *y, int M) {
  using namespace braid::dev;
  using T64 = TcConfig<64, 64, 64, 2, 2, 4>;
  using T128 = TcConfig<64, 128, 64, 2, 4, 4>;
  using T32 = TcConfig<64, 64, 32, 2, 2, 6>;
  AltList r;
  r.push_back(runAltTcDecode<TcConfig<64, 64, 32, 2, 2, 4>, N, K>(
      "tc 64x64x32 (unsplit)", x, y, M));
  r.push_back(
      runAltSplitK<SplitKConfig<T64, 2>, N, K>("splitK 64x64x64 x2", x, y, M));
  r.push_back(
      runAltSplitK<SplitKConfig<T64, 4>, N, K>("splitK 64x64x64 x4", x, y, M));
  r.push_back(
      runAltSplitK<SplitKConfig<T64, 8>, N, K>("splitK 64x64x64 x8", x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T32, 4>, N, K>("splitK 64x64x32s6 x4",
                                                       x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T32, 8>, N, K>("splitK 64x64x32s6 x8",
                                                       x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T128, 2>, N, K>("splitK 64x128x64 x2",
                                                        x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T128, 4>, N, K>("splitK 64x128x64 x4",
                                                        x, y, M));
  r.push_back(runAltSplitK<SplitKConfig<T128, 8>, N, K>("splitK 64x128x64 x8",
                                                        x, y, M));
  r.push_back(runStreamRead<N, K>("stream read of w (ceiling)", y));
  return r.v;
}

template <int N, int K>
std::vector<AltResult> altSkinny(const bf16 *x, const bf16 *w, bf16 *y) {
  using namespace braid::dev;
  AltList r;
  (void)w;
  auto one = [&](auto kern, int threads, int cols, const char *name) {
    dim3 grid((N + cols - 1) / cols);
    CUDA_OK(cudaMemset(y, 0xff, size_t(N) * 2));
    size_t rot = 0;
    float ms = timeIt([&] {
      kern<<<grid, threads>>>(x, gWeightCopies[rot++ % gWeightCopies.size()], y, 1);
    }, 50);
    r.push_back({name, ms, diffFromPlan(y)});
  };
  one(benchSkinny<SkinnyConfig<4, 2, 4>, N, K>, 128, 8, "skinny w4 c2");
  one(benchSkinny<SkinnyConfig<8, 2, 4>, N, K>, 256, 16, "skinny w8 c2");
  one(benchSkinny<SkinnyConfig<4, 4, 4>, N, K>, 128, 16, "skinny w4 c4");
  one(benchSkinny<SkinnyConfig<2, 2, 4>, N, K>, 64, 4, "skinny w2 c2");
  return r.v;
}

/// Bench of one plan (a "bench" linear case) at M rows.
/// The function of the plan's (first) kernel that runs for M rows.
std::string planFunction(const Case &c, int64_t M) {
  for (const Invocation &k : c.kernels)
    if (M >= k.minRows && M <= k.maxRows)
      return k.function;
  return "?";
}

void benchCase(const Case &c, int64_t M, bool prefill, bool alternatives = true) {
  const BufDesc &wd = c.operands[1];
  const int64_t N = wd.shape[0], K = wd.shape[1];
  Rng rng(1234 + c.id);
  auto fill = [&](size_t n) {
    std::vector<uint16_t> h(n);
    for (auto &v : h)
      v = toBf16Bits(rng.uniform());
    return h;
  };
  std::vector<uint16_t> hx = fill(M * K), hw = fill(N * K);
  bf16 *x, *w, *y;
  CUDA_OK(cudaMalloc(&x, M * K * 2));
  CUDA_OK(cudaMalloc(&w, N * K * 2));
  CUDA_OK(cudaMalloc(&y, M * N * 2));
  CUDA_OK(cudaMemcpy(x, hx.data(), M * K * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(w, hw.data(), N * K * 2, cudaMemcpyHostToDevice));
  // Decode streams the weights: time over copies that together exceed the
  // L2 (50 MB), so each launch reads its weights from HBM.
  std::vector<bf16 *> wCopies{w};
  if (!prefill) {
    const size_t wBytes = size_t(N) * K * 2;
    const size_t copies = std::max<size_t>(2, (256u << 20) / wBytes + 1);
    for (size_t i = 1; i < copies; ++i) {
      bf16 *c;
      CUDA_OK(cudaMalloc(&c, wBytes));
      CUDA_OK(cudaMemcpy(c, w, wBytes, cudaMemcpyDeviceToDevice));
      wCopies.push_back(c);
    }
  }
  size_t rot = 0;
  CUDA_OK(cudaMemset(y, 0xff, M * N * 2));
  BraidKernelParams p;
  std::memset(&p, 0, sizeof p);
  p.buffers[0] = x;
  p.buffers[1] = w;
  p.buffers[2] = nullptr;
  p.buffers[3] = y;
  p.batch = 1;
  p.tokens = M;
  std::string err = launchPlan(c, p, 1, M);
  CUDA_OK(cudaDeviceSynchronize());
  if (!err.empty()) {
    say("bench %d: %s\n", c.id, err.c_str());
    return;
  }
  // Sampled rows against a double-precision dot product.
  std::vector<uint16_t> hy(M * N);
  CUDA_OK(cudaMemcpy(hy.data(), y, M * N * 2, cudaMemcpyDeviceToHost));
  double num = 0, den = 0;
  int64_t bad = 0;
  for (int s = 0; s < 16; ++s) {
    int64_t m = s == 0 ? 0 : s == 1 ? M - 1 : static_cast<int64_t>(rng.next() % M);
    for (int64_t n = 0; n < N; ++n) {
      double ref = 0;
      for (int64_t k = 0; k < K; ++k)
        ref += static_cast<double>(fromBf16Bits(hx[m * K + k])) *
               fromBf16Bits(hw[n * K + k]);
      float g = fromBf16Bits(hy[m * N + n]);
      if (!std::isfinite(g))
        ++bad;
      else {
        num += (g - ref) * (g - ref);
        den += ref * ref;
      }
    }
  }
  double rel = std::sqrt(num / den);
  if (bad || !(rel <= 1e-2))
    ++gBenchFailures;
  gPlanY = hy;
  float ms = timeIt([&] {
    p.buffers[1] = wCopies[rot++ % wCopies.size()];
    launchPlan(c, p, 1, M);
  });
  p.buffers[1] = w;
  double flops = 2.0 * M * N * K;
  double bytes = 2.0 * (M * K + N * K + M * N);
  say("BENCH %-7s M=%-5lld N=%-6lld K=%-5lld plan %-22s %8.4f ms  %7.1f TFLOP/s "
      "%7.1f GB/s  sampled relL2 %.2e%s\n",
      prefill ? "prefill" : "decode", (long long)M, (long long)N, (long long)K,
      planFunction(c, M).c_str(), ms, flops / ms / 1e9, bytes / ms / 1e6, rel,
      bad ? " NONFINITE" : "");
  // Alternative configurations (prefill: tile shapes; decode at M = 1:
  // skinny).
  std::vector<AltResult> alts;
  gWeightCopies = wCopies;
  gBenchM = M;
  gBenchFlops = flops;
  gBenchBytes = bytes;
#define BRAID_ALT(n, k)                                                        \
  if (N == n && K == k)                                                        \
    alts = !alternatives ? altWsChecks<n, k>(x, w, y, static_cast<int>(M))     \
           : prefill     ? altConfigs<n, k>(x, w, y, static_cast<int>(M))      \
           : M == 1 ? altSkinny<n, k>(x, w, y)                                 \
           : M > 16 ? altDecodeTc<n, k>(x, y, static_cast<int>(M))             \
                    : std::vector<AltResult>{};
  BRAID_ALT(8512, 2048)
  BRAID_ALT(2048, 2048)
  BRAID_ALT(4096, 2048)
  BRAID_ALT(11264, 2048)
  BRAID_ALT(2048, 4096)
  BRAID_ALT(2048, 5632)
  BRAID_ALT(32000, 2048)
#undef BRAID_ALT
  (void)wCopies;
  gWeightCopies.clear();
  (void)alts; // printed as measured (sayAlt)
  CUDA_OK(cudaGetLastError());
  cudaFree(x);
  for (bf16 *c : wCopies)
    cudaFree(c);
  cudaFree(y);
}

/// Times a memory-bound plan at (B, T) = (1, 4096) and reports the
/// bandwidth over the bytes it must move: every operand and result once
/// (for embedding, the gathered rows instead of the whole table).
void benchMemCase(const Case &c) {
  const int64_t B = 1, T = 4096;
  Rng rng(99 + c.id);
  std::vector<void *> bufs;
  BraidKernelParams p;
  std::memset(&p, 0, sizeof p);
  double bytes = 0;
  size_t slot = 0;
  std::map<std::string, void *> states;
  auto make = [&](const BufDesc &d) -> void * {
    if (!d.present)
      return nullptr;
    if (d.kind == "state" && states.count(d.name))
      return states[d.name];
    Tensor t;
    t.shape = resolve(d.shape, B, T);
    t.dtype = d.dtype;
    int64_t n = numel(t.shape);
    if (d.dtype == "i64") {
      int64_t range = c.family == "embedding" ? c.operands[1].shape[0] : 4096;
      t.i.resize(n);
      for (auto &v : t.i)
        v = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(range));
    } else {
      t.f.resize(n);
      for (auto &v : t.f)
        v = rng.uniform();
    }
    upload(t);
    bufs.push_back(t.dev);
    if (!(c.family == "embedding" && d.kind == "weight"))
      bytes += static_cast<double>(t.bytes);
    if (d.kind == "state")
      states[d.name] = t.dev;
    return t.dev;
  };
  for (const BufDesc &d : c.operands)
    p.buffers[slot++] = make(d);
  for (const BufDesc &d : c.results) {
    bool alias = d.kind == "state" && states.count(d.name);
    p.buffers[slot++] = make(d);
    if (alias)
      bytes += 0; // counted as an operand
  }
  if (c.family == "embedding") // the gathered rows
    bytes += static_cast<double>(T) * c.operands[1].shape[1] *
             elemBytes(c.operands[1].dtype);
  int64_t wsBytes = c.workspace.eval(B, T);
  if (wsBytes > 0) {
    CUDA_OK(cudaMalloc(&p.workspace, wsBytes));
    bufs.push_back(p.workspace);
  }
  p.batch = B;
  p.tokens = T;
  p.max_seq = 64;
  std::string err = launchPlan(c, p, B, T);
  CUDA_OK(cudaDeviceSynchronize());
  if (!err.empty()) {
    say("bench %d: %s\n", c.id, err.c_str());
    return;
  }
  float ms = timeIt([&] { launchPlan(c, p, B, T); });
  say("BENCH %-15s B=1 T=4096 %-40s %8.4f ms  %7.1f GB/s\n", c.family.c_str(),
      caseLabel(c).c_str(), ms, bytes / ms / 1e6);
  for (void *b : bufs)
    cudaFree(b);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: dense_kernels_test CASES_DIR [--filter FAMILY] "
                 "[--no-bench] [--bench-only] [--log FILE]\n");
    return 2;
  }
  gDir = argv[1];
  std::string filter;
  bool bench = true, checks = true, small = false, prefillGemmOnly = false;
  bool decodeGemmOnly = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else if (a == "--no-bench")
      bench = false;
    else if (a == "--bench-only")
      checks = false;
    else if (a == "--small")
      small = true;
    else if (a == "--prefill-gemm-only")
      prefillGemmOnly = true;
    else if (a == "--decode-gemm-only")
      decodeGemmOnly = true;
    else if (a == "--log" && i + 1 < argc)
      gLog = std::fopen(argv[++i], "w");
  }
  CUDA_OK(cudaFree(nullptr)); // the primary context, for the driver API too
  cudaDeviceProp prop;
  CUDA_OK(cudaGetDeviceProperties(&prop, 0));
  say("device: %s, sm_%d%d, %d SMs\n", prop.name, prop.major, prop.minor,
      prop.multiProcessorCount);
  braid::rt::ThreadPool pool;
  gPool = &pool;

  std::vector<Case> cases = loadCases(gDir + "/cases.txt");
  int failed = 0, runs = 0;
  struct Row {
    std::string family, dtype, entry, label;
    int id;
    int64_t B, T;
    Outcome o;
  };
  std::vector<Row> rows;
  if (checks) {
    for (const Case &c : cases) {
      if (!filter.empty() && c.family != filter)
        continue;
      if (small) { // skip the model-sized cases (sanitizer runs)
        int64_t biggest = 0;
        for (const BufDesc &b : c.operands)
          if (b.present)
            biggest = std::max(biggest, numel(resolve(b.shape, 1, 1)));
        if (biggest > (1 << 20) || c.source == "bench")
          continue;
      }
      std::vector<std::pair<int64_t, int64_t>> shapes;
      if (c.entry == "decode")
        shapes = {{3, 1}, {1, 1}};
      else
        shapes = {{2, 37}, {1, 1}};
      bool gemm = c.family == "linear" || c.family == "moe" ||
                  c.family == "merge";
      // Conv and rope: many token chunks and a ragged last one.
      if (c.entry == "prefill" &&
          (gemm || c.family == "causal_conv1d" || c.family == "rope"))
        shapes.push_back({1, 300});
      // Decode GEMMs switch from the skinny kernel to tensor cores above 16
      // rows (bf16): both sides of the switch, typical batches and two row
      // tiles of 64 (128).
      if (c.entry == "decode" && gemm)
        for (int64_t b : {16, 17, 33, 64, 128})
          shapes.push_back({b, 1});
      // Enough row tiles that persistent blocks walk several tiles each.
      if (c.entry == "prefill" && c.family == "linear" &&
          c.operands[1].shape[0] * c.operands[1].shape[1] <= 600000)
        shapes.push_back({1, 4500});
      for (auto [B, T] : shapes) {
        Outcome o = runCase(c, B, T, 1000003ull * c.id + 7 * B + T);
        ++runs;
        failed += !o.pass;
        rows.push_back({c.family, isBf16Case(c) ? "bf16" : "f32", c.entry,
                        caseLabel(c), c.id, B, T, o});
        if (!o.pass)
          say("FAIL case %d %s %s %s B=%lld T=%lld: %s\n", c.id,
              c.family.c_str(), rows.back().dtype.c_str(), c.entry.c_str(),
              (long long)B, (long long)T, o.note.c_str());
      }
    }
    // The table: one line per case and shape.
    say("\n%-4s %-15s %-5s %-7s %-9s %-10s %-6s %s\n", "id", "family", "type",
        "entry", "B,T", "relL2", "status", "operands");
    for (const Row &r : rows) {
      char bt[32];
      std::snprintf(bt, sizeof bt, "%lld,%lld", (long long)r.B, (long long)r.T);
      say("%-4d %-15s %-5s %-7s %-9s %-10.2e %-6s %s\n", r.id, r.family.c_str(),
          r.dtype.c_str(), r.entry.c_str(), bt, r.o.worst,
          r.o.pass ? "ok" : "FAIL", r.label.c_str());
    }
    // Summary per family and type.
    std::map<std::string, std::pair<int, double>> summary; // fails, worst
    std::map<std::string, int> counts;
    for (const Row &r : rows) {
      std::string key = r.family + " " + r.dtype;
      auto &s = summary[key];
      s.first += !r.o.pass;
      s.second = std::max(s.second, r.o.worst);
      ++counts[key];
    }
    say("\n%-22s %6s %6s %12s\n", "family / type", "runs", "fails", "worst relL2");
    for (auto &[k, s] : summary)
      say("%-22s %6d %6d %12.3e\n", k.c_str(), counts[k], s.first, s.second);
    say("\n%d runs, %d failed\n", runs, failed);
  }

  // With --filter, only that family's memory-bound benches.
  if (bench && filter.empty()) {
    say("\nbf16 GEMM timings (median of 7 x 20 launches, CUDA events)\n");
    for (const Case &c : cases)
      if (c.source == "bench" && isBf16Case(c) && c.family == "linear" &&
          (!prefillGemmOnly || c.entry == "prefill") &&
          (!decodeGemmOnly || c.entry != "prefill"))
        for (int64_t M : c.entry == "prefill"
                             ? std::vector<int64_t>{4096}
                             : std::vector<int64_t>{1, 17, 32, 64, 128})
          benchCase(c, M, c.entry == "prefill");
    // Ragged row counts (a partial last row tile; row M - 1 is among the
    // sampled rows checked against the host), the plan only.
    if (prefillGemmOnly)
      for (const Case &c : cases)
        if (c.source == "bench" && isBf16Case(c) && c.family == "linear" &&
            c.entry == "prefill")
          for (int64_t M : {4095, 1000, 130})
            benchCase(c, M, true, /*alternatives=*/false);
  }
  if (bench && filter != "linear" && !prefillGemmOnly && !decodeGemmOnly) {
    say("\nmemory-bound families, bf16, prefill plans (median of 7 x 20)\n");
    for (const Case &c : cases)
      if (c.source == "bench" && isBf16Case(c) && c.family != "linear" &&
          c.entry == "prefill" && (filter.empty() || c.family == filter))
        benchMemCase(c);
  }
  if (gLog)
    std::fclose(gLog);
  if (gBenchFailures)
    say("\n%d bench results failed the sampled check\n", gBenchFailures);
  return failed || gBenchFailures ? 1 : 0;
}
