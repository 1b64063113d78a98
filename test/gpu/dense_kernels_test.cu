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

/// The device's SMs, which cap a persistent grid (per_sm).
int64_t gMultiprocessors = 0;

struct Dim {
  int64_t c = 0, b = 0, t = 0, bt = 0, div = 1, perSm = 0;
  int64_t eval(int64_t B, int64_t T) const {
    int64_t n = c + b * B + t * T + bt * B * T;
    const int64_t v = (n + div - 1) / div;
    return perSm ? std::min(v, perSm * gMultiprocessors) : v;
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
  is >> d.c >> d.b >> d.t >> d.bt >> d.div >> d.perSm;
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

/// Encodes one tensor map as the runtime's CUDA backend does
/// (braid::rt::cu::tensorMapRequest, then cuTensorMapEncodeTiled).
CUresult encodeTensorMap(BraidTensorMap &out, const void *base, int64_t rows,
                         int64_t cols, int64_t elementBytes,
                         const std::array<int64_t, 2> &box, int64_t swizzle) {
  braid::rt::cu::TensorMapRequest q = braid::rt::cu::tensorMapRequest(
      cols, rows, elementBytes, box, swizzle);
  return cuTensorMapEncodeTiled(
      reinterpret_cast<CUtensorMap *>(&out),
      static_cast<CUtensorMapDataType>(q.dataType), 2,
      const_cast<void *>(base), q.globalDim, q.globalStrides, q.boxDim,
      q.elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
      static_cast<CUtensorMapSwizzle>(q.swizzle),
      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
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
      CUresult r = encodeTensorMap(maps.maps[i], base, t.rows.eval(B, T),
                                   t.cols, t.elementBytes, t.box, t.swizzle);
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
    } else if (c.family == "linear" && o == 5) {
      // The row sums of squares of the input a folded norm reads (written
      // by the launch before it in a model): 128 columns a sum.
      const Tensor &x = ins[0];
      const int64_t k = x.shape.back(), groups = t.shape.back();
      t.f.assign(n, 0.0f);
      for (int64_t m = 0; m * groups < n; ++m)
        for (int64_t j = 0; j < k; ++j)
          t.f[m * groups + j / 128] += x.f[m * k + j] * x.f[m * k + j];
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

} // namespace

#include "test/gpu/dense_alternatives.cuh"

namespace {

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
  gMultiprocessors = prop.multiProcessorCount;
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
