//===- FakeHipDriver.cpp - a stand-in libamdhip64 for the HIP tests -------===//
//
// A shared library exporting the HIP entry points of the backend's symbol
// table (runtime/backends/hip/HipDriver.h), so that the whole HIP backend
// runs on a machine without an AMD GPU: the tests point BRAID_HIP_DRIVER at
// it. Built three times (test/unit/runtime/CMakeLists.txt):
//
//   braid-fake-hip            everything
//   braid-fake-hip-nographs   FAKE_HIP_NO_GRAPHS: no graph or event entry
//                             points (an old runtime)
//   braid-fake-hip-broken     FAKE_HIP_BROKEN: no hipModuleLaunchKernel
//
//   memory    host memory; a "device pointer" is the host address
//   modules   an image is text: "FAKE\n" then one function name per line;
//             anything else is hipErrorInvalidImage
//   kernels   FakeKernels.h, run when launched (or recorded while a stream
//             captures, and run by hipGraphLaunch)
//   trace     FAKE_HIP_TRACE=FILE: "launch fake_linear grid 6,1,1 block
//             64,1,1 shared 0", "load", "capture begin", "graph launch 3"
//   device    FAKE_HIP_ARCH sets gcnArchName (default
//             "gfx942:sramecc+:xnack-"); FAKE_HIP_INIT=fail makes hipInit
//             fail; FAKE_HIP_DEVICES=N sets the device count (default 1)
//   events    record the host clock (kernels run when launched, so an event
//             pair times the fake kernel between them); recording while a
//             stream captures is an error, as nothing should
//
//===----------------------------------------------------------------------===//

#include "FakeKernels.h"
#include "runtime/backends/hip/HipDriver.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

using namespace braid::rt::hip;

struct ihipModule_t {
  std::vector<std::string> functions;
};
struct ihipModuleSymbol_t {
  std::string name;
};
namespace {
struct Op {
  ihipModuleSymbol_t *function;
  unsigned grid[3], block[3], shared;
  BraidKernelParams params;
};
} // namespace
struct ihipGraph {
  std::vector<Op> ops;
};
struct hipGraphExec {
  std::vector<Op> ops;
};
struct ihipStream_t {
  ihipGraph *capture = nullptr;
};
struct ihipEvent_t {
  std::chrono::steady_clock::time_point at;
  bool recorded = false;
};

namespace {

constexpr hipError_t kInvalidValue = 1;
constexpr hipError_t kInvalidImage = 200;
constexpr hipError_t kNotFound = 500;
constexpr hipError_t kLaunchFailure = 719;
std::mutex traceMutex;

void trace(const std::string &line) {
  const char *path = std::getenv("FAKE_HIP_TRACE");
  if (!path || !*path)
    return;
  std::lock_guard<std::mutex> lock(traceMutex);
  if (FILE *f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\n", line.c_str());
    std::fclose(f);
  }
}

bool run(const Op &op) {
  return runFakeKernel(op.function->name, op.params);
}

std::string env(const char *name, const char *fallback) {
  const char *v = std::getenv(name);
  return v && *v ? v : fallback;
}

} // namespace

extern "C" {

hipError_t hipInit(unsigned) {
  return env("FAKE_HIP_INIT", "") == "fail" ? hipErrorNoDevice : hipSuccess;
}
hipError_t hipRuntimeGetVersion(int *v) {
  *v = 60241134; // HIP 6.2
  return hipSuccess;
}
const char *hipGetErrorName(hipError_t e) {
  return e == hipErrorNoDevice      ? "hipErrorNoDevice"
         : e == kLaunchFailure      ? "hipErrorLaunchFailure"
         : e == kNotFound           ? "hipErrorNotFound"
         : e == kInvalidImage       ? "hipErrorInvalidImage"
         : e == hipErrorOutOfMemory ? "hipErrorOutOfMemory"
                                    : "hipErrorUnknown";
}
const char *hipGetErrorString(hipError_t e) {
  return e == hipErrorNoDevice ? "no ROCm-capable device is detected"
         : e == kLaunchFailure ? "unspecified launch failure"
                               : "fake error";
}
hipError_t hipGetDeviceCount(int *n) {
  *n = std::atoi(env("FAKE_HIP_DEVICES", "1").c_str());
  return *n > 0 ? hipSuccess : hipErrorNoDevice;
}
hipError_t hipSetDevice(int d) { return d == 0 ? hipSuccess : kInvalidValue; }
hipError_t hipDeviceGetName(char *name, int length, hipDevice_t) {
  std::snprintf(name, size_t(length), "Braid Fake AMD GPU");
  return hipSuccess;
}
hipError_t hipDeviceGetAttribute(int *value, hipDeviceAttribute_t a, int) {
  if (a == hipDeviceAttributeMultiprocessorCount)
    *value = 8;
  else if (a == hipDeviceAttributeMaxSharedMemoryPerBlock)
    *value = 64 * 1024;
  else
    return kInvalidValue;
  return hipSuccess;
}
// ROCm 5.2's layout as far as these tests care: name[256] first, the
// architecture string further in (HipPlan.h finds it wherever it is).
hipError_t hipGetDeviceProperties(void *props, int) {
  char *p = static_cast<char *>(props);
  std::snprintf(p, 256, "AMD Instinct Fake");
  std::snprintf(p + 396, 256, "%s",
                env("FAKE_HIP_ARCH", "gfx942:sramecc+:xnack-").c_str());
  return hipSuccess;
}
hipError_t hipModuleLoadData(hipModule_t *module, const void *image) {
  const char *text = static_cast<const char *>(image);
  if (std::strncmp(text, "FAKE\n", 5) != 0)
    return kInvalidImage;
  auto *m = new ihipModule_t;
  std::string all(text + 5);
  for (size_t start = 0, end; start < all.size(); start = end + 1) {
    end = all.find('\n', start);
    if (end == std::string::npos)
      end = all.size();
    if (end > start)
      m->functions.push_back(all.substr(start, end - start));
  }
  *module = m;
  trace("load");
  return hipSuccess;
}
hipError_t hipModuleUnload(hipModule_t m) {
  delete m;
  return hipSuccess;
}
hipError_t hipModuleGetFunction(hipFunction_t *f, hipModule_t m,
                                const char *name) {
  for (const std::string &n : m->functions)
    if (n == name) {
      *f = new ihipModuleSymbol_t{n}; // leaked: a handful per test
      return hipSuccess;
    }
  return kNotFound;
}
hipError_t hipFuncSetAttribute(const void *f, hipFuncAttribute a, int value) {
  trace("set-attribute " + static_cast<const ihipModuleSymbol_t *>(f)->name +
        " " + std::to_string(a) + " " + std::to_string(value));
  return hipSuccess;
}
#ifndef FAKE_HIP_BROKEN
hipError_t hipModuleLaunchKernel(hipFunction_t f, unsigned gx, unsigned gy,
                                 unsigned gz, unsigned bx, unsigned by,
                                 unsigned bz, unsigned shared,
                                 hipStream_t stream, void **params, void **) {
  Op op{f, {gx, gy, gz}, {bx, by, bz}, shared, {}};
  std::memcpy(&op.params, params[0], sizeof op.params);
  if (stream && stream->capture) {
    stream->capture->ops.push_back(op);
    return hipSuccess;
  }
  trace("launch " + f->name + " grid " + std::to_string(gx) + "," +
        std::to_string(gy) + "," + std::to_string(gz) + " block " +
        std::to_string(bx) + "," + std::to_string(by) + "," +
        std::to_string(bz) + " shared " + std::to_string(shared));
  return run(op) ? hipSuccess : kLaunchFailure;
}
#endif
hipError_t hipMalloc(void **p, size_t bytes) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!*p)
    return hipErrorOutOfMemory;
  std::memset(*p, 0xA5, bytes); // poison: the backend must zero
  return hipSuccess;
}
hipError_t hipFree(void *p) {
  std::free(p);
  return hipSuccess;
}
hipError_t hipMemGetInfo(size_t *free, size_t *total) {
  *free = size_t(100) << 30;
  *total = size_t(192) << 30;
  return hipSuccess;
}
hipError_t hipMemcpyHtoD(hipDeviceptr_t dst, void *src, size_t bytes) {
  std::memcpy(dst, src, bytes);
  return hipSuccess;
}
hipError_t hipMemcpyDtoH(void *dst, hipDeviceptr_t src, size_t bytes) {
  std::memcpy(dst, src, bytes);
  return hipSuccess;
}
hipError_t hipMemsetD8(hipDeviceptr_t dst, unsigned char value, size_t n) {
  std::memset(dst, value, n);
  return hipSuccess;
}
hipError_t hipStreamCreate(hipStream_t *s) {
  *s = new ihipStream_t;
  return hipSuccess;
}
hipError_t hipStreamDestroy(hipStream_t s) {
  delete s;
  return hipSuccess;
}
hipError_t hipStreamSynchronize(hipStream_t s) {
  if (s && s->capture)
    return kInvalidValue;
  trace("sync");
  return hipSuccess;
}
hipError_t hipMemcpyDtoDAsync(hipDeviceptr_t dst, hipDeviceptr_t src, size_t n,
                              hipStream_t s) {
  if (s && s->capture)
    return kInvalidValue;
  std::memcpy(dst, src, n);
  trace("copy on stream " + std::to_string(n));
  return hipSuccess;
}
#ifndef FAKE_HIP_NO_GRAPHS
hipError_t hipStreamBeginCapture(hipStream_t s, hipStreamCaptureMode) {
  s->capture = new ihipGraph;
  trace("capture begin");
  return hipSuccess;
}
hipError_t hipStreamEndCapture(hipStream_t s, hipGraph_t *g) {
  *g = s->capture;
  s->capture = nullptr;
  trace("capture end " + std::to_string((*g)->ops.size()));
  return hipSuccess;
}
hipError_t hipGraphInstantiate(hipGraphExec_t *e, hipGraph_t g,
                               hipGraphNode_t *, char *, size_t) {
  *e = new hipGraphExec{g->ops};
  return hipSuccess;
}
hipError_t hipGraphLaunch(hipGraphExec_t e, hipStream_t) {
  trace("graph launch " + std::to_string(e->ops.size()));
  for (const Op &op : e->ops)
    if (!run(op))
      return kLaunchFailure;
  return hipSuccess;
}
hipError_t hipGraphDestroy(hipGraph_t g) {
  delete g;
  return hipSuccess;
}
hipError_t hipGraphExecDestroy(hipGraphExec_t e) {
  delete e;
  return hipSuccess;
}
hipError_t hipEventCreate(hipEvent_t *e) {
  *e = new ihipEvent_t;
  return hipSuccess;
}
hipError_t hipEventRecord(hipEvent_t e, hipStream_t s) {
  if (s && s->capture)
    return kInvalidValue;
  e->at = std::chrono::steady_clock::now();
  e->recorded = true;
  return hipSuccess;
}
hipError_t hipEventElapsedTime(float *ms, hipEvent_t start, hipEvent_t end) {
  if (!start->recorded || !end->recorded)
    return kInvalidValue;
  *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
  return hipSuccess;
}
hipError_t hipEventDestroy(hipEvent_t e) {
  delete e;
  return hipSuccess;
}
#endif

} // extern "C"
