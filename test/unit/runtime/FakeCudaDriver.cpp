//===- FakeCudaDriver.cpp - a stand-in libcuda for the CUDA backend tests -===//
//
// A shared library exporting every driver entry point of the backend's
// symbol table (runtime/backends/cuda/CudaDriver.h), so that the whole CUDA
// backend (module loading, function lookup, parameter packing, workspace,
// graph capture and replay, error messages) runs on a machine without a GPU:
// the tests point BRAID_CUDA_DRIVER at it.
//
//   memory    host memory; a "device pointer" is the host address
//   modules   an image is text: "FAKE\n" then one function name per line
//             (cubin and PTX alike); anything else is CUDA_ERROR_INVALID_IMAGE
//   kernels   run on the host, synchronously, when launched (or recorded while
//             a stream captures, and run by cuGraphLaunch): FakeKernels.h.
//   trace     with FAKE_CUDA_TRACE=FILE, one line per interesting call
//             ("launch fake_linear grid 1,1,1 block 32,1,1 shared 0 B 2 T 3 S
//             9 (cuLaunchKernel)", "capture begin", "capture node fake_linear
//             (cuLaunchKernelEx, programmatic)", "graph launch 4",
//             "set-attribute fake_rms_norm 8 65536", "load cubin", "load ptx",
//             "sync" (cuStreamSynchronize), "copy on stream 16"
//             (cuMemcpyDtoDAsync));
//             a launch names its entry point and, through cuLaunchKernelEx,
//             whether programmatic stream serialization was asked for
//   device    FAKE_CUDA_CC=8.6 sets the compute capability (default 9.0),
//             FAKE_CUDA_VERSION=12020 the driver version (default 13000)
//   variants  built with FAKE_CUDA_NO_LAUNCH_EX (braid-fake-cuda-nolaunchex),
//             the library lacks cuLaunchKernelEx, as drivers before CUDA 11.8
//   events    record the host clock (kernels run when launched, so an event
//             pair times the fake kernel between them); recording while a
//             stream captures is an error, as nothing should; with
//             FAKE_CUDA_EVENTS=fail, cuEventCreate fails
//   TMA       cuTensorMapEncodeTiled checks the driver's alignment and box
//             rules, traces "tensor-map rows 2 cols 8 stride 16 box 8,2
//             swizzle 0 type 1" and writes those numbers into the map; a
//             launch traces " maps N" for the N maps its second parameter
//             carries
//
//===----------------------------------------------------------------------===//

#include "FakeKernels.h"
#include "braid/kernel_abi.h"
#include "runtime/backends/cuda/CudaDriver.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

using namespace braid::rt::cu;

// Declarations of every entry point of the table, with C linkage.
#define FAKE_DECLARE(member, symbol, ret, params) extern "C" ret symbol params;
BRAID_CUDA_DRIVER_SYMBOLS(FAKE_DECLARE)
BRAID_CUDA_OPTIONAL_SYMBOLS(FAKE_DECLARE)
#undef FAKE_DECLARE

struct CUctx_st {
  int unused;
};
struct CUmod_st {
  std::vector<std::string> functions;
};
struct CUfunc_st {
  std::string name;
  int maxDynamicShared = 0;
};
struct CUstream_st {
  bool capturing = false;
  CUgraph_st *graph = nullptr;
};
namespace {
struct Op {
  CUfunc_st *function;
  unsigned grid[3], block[3], shared;
  BraidKernelParams params;
  std::string via; ///< "cuLaunchKernel", "cuLaunchKernelEx, programmatic"
  BraidTensorMaps maps; ///< the second parameter (zeros: none)
};
} // namespace
struct CUgraph_st {
  std::vector<Op> ops;
};
struct CUgraphExec_st {
  std::vector<Op> ops;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point at;
  bool recorded = false;
};

namespace {

constexpr CUresult kInvalidValue = 1;
constexpr CUresult kInvalidImage = 200;
constexpr CUresult kNotFound = 500;
constexpr CUresult kLaunchFailed = 719;
constexpr CUresult kCaptureInvalidated = 901;
CUctx_st theContext;
std::mutex traceMutex;

void trace(const std::string &line) {
  const char *path = std::getenv("FAKE_CUDA_TRACE");
  if (!path || !*path)
    return;
  std::lock_guard<std::mutex> lock(traceMutex);
  if (FILE *f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\n", line.c_str());
    std::fclose(f);
  }
}

/// Runs one fake kernel; false when it finds its parameters wrong.
bool run(const Op &op) {
  if (op.shared > 48 * 1024 && int(op.shared) > op.function->maxDynamicShared)
    return false; // the real driver refuses this launch too
  return runFakeKernel(op.function->name, op.params);
}

CUresult loadModule(CUmodule *module, const void *image, const char *kind) {
  const char *text = static_cast<const char *>(image);
  if (std::strncmp(text, "FAKE\n", 5) != 0)
    return kInvalidImage;
  auto *m = new CUmod_st;
  std::string all(text + 5);
  size_t start = 0;
  while (start < all.size()) {
    size_t end = all.find('\n', start);
    if (end == std::string::npos)
      end = all.size();
    if (end > start)
      m->functions.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  *module = m;
  trace(std::string("load ") + kind);
  return CUDA_SUCCESS;
}

} // namespace

extern "C" {

CUresult cuInit(unsigned) { return CUDA_SUCCESS; }
CUresult cuDriverGetVersion(int *v) {
  const char *version = std::getenv("FAKE_CUDA_VERSION");
  *v = version && *version ? std::atoi(version) : 13000;
  return CUDA_SUCCESS;
}
CUresult cuGetErrorString(CUresult e, const char **s) {
  *s = e == kLaunchFailed              ? "unspecified launch failure"
       : e == kNotFound                ? "named symbol not found"
       : e == kInvalidImage            ? "device kernel image is invalid"
       : e == CUDA_ERROR_OUT_OF_MEMORY ? "out of memory"
                                       : "fake error";
  return CUDA_SUCCESS;
}
CUresult cuGetErrorName(CUresult e, const char **s) {
  *s = e == kLaunchFailed              ? "CUDA_ERROR_LAUNCH_FAILED"
       : e == kNotFound                ? "CUDA_ERROR_NOT_FOUND"
       : e == kInvalidImage            ? "CUDA_ERROR_INVALID_IMAGE"
       : e == CUDA_ERROR_OUT_OF_MEMORY ? "CUDA_ERROR_OUT_OF_MEMORY"
                                       : "CUDA_ERROR_UNKNOWN";
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetCount(int *n) {
  *n = 1;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGet(CUdevice *d, int ordinal) {
  *d = ordinal;
  return ordinal == 0 ? CUDA_SUCCESS : kInvalidValue;
}
CUresult cuDeviceGetName(char *name, int length, CUdevice) {
  std::snprintf(name, size_t(length), "Braid Fake GPU");
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute a, CUdevice) {
  const char *cc = std::getenv("FAKE_CUDA_CC");
  int major = 9, minor = 0;
  if (cc && *cc)
    std::sscanf(cc, "%d.%d", &major, &minor);
  switch (a) {
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
    *value = major;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
    *value = minor;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
    *value = 4;
    return CUDA_SUCCESS;
  case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN:
    *value = 227 * 1024;
    return CUDA_SUCCESS;
  default:
    return kInvalidValue;
  }
}
CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice) {
  *c = &theContext;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) { return CUDA_SUCCESS; }
CUresult cuCtxSetCurrent(CUcontext) { return CUDA_SUCCESS; }
CUresult cuModuleLoadData(CUmodule *m, const void *image) {
  return loadModule(m, image, "cubin");
}
CUresult cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned,
                            CUjit_option *, void **) {
  return loadModule(m, image, "ptx");
}
CUresult cuModuleUnload(CUmodule m) {
  delete m;
  return CUDA_SUCCESS;
}
CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  for (const std::string &n : m->functions)
    if (n == name) {
      *f = new CUfunc_st{n, 0}; // leaked: a handful per test
      return CUDA_SUCCESS;
    }
  return kNotFound;
}
CUresult cuFuncGetAttribute(int *value, CUfunction_attribute a, CUfunction) {
  *value = a == CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK ? 1024
           : a == CU_FUNC_ATTRIBUTE_NUM_REGS            ? 32
                                                        : 0;
  return CUDA_SUCCESS;
}
CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int value) {
  if (a == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
    f->maxDynamicShared = value;
  trace("set-attribute " + f->name + " " + std::to_string(a) + " " +
        std::to_string(value));
  return CUDA_SUCCESS;
}
} // extern "C"

namespace {
/// Both launch entry points: captured into the stream's graph, or run now.
CUresult launch(Op op, CUstream stream, void **params) {
  std::memcpy(&op.params, params[0], sizeof op.params);
  // The backend passes its tensor maps second (zeros for kernels without).
  std::memcpy(&op.maps, params[1], sizeof op.maps);
  int maps = 0;
  for (const BraidTensorMap &m : op.maps.maps)
    maps += m.words[0] != 0;
  if (maps)
    op.via += ", maps " + std::to_string(maps);
  if (stream && stream->capturing) {
    trace("capture node " + op.function->name + " (" + op.via + ")");
    stream->graph->ops.push_back(op);
    return CUDA_SUCCESS;
  }
  trace("launch " + op.function->name + " grid " + std::to_string(op.grid[0]) +
        "," + std::to_string(op.grid[1]) + "," + std::to_string(op.grid[2]) +
        " block " + std::to_string(op.block[0]) + "," +
        std::to_string(op.block[1]) + "," + std::to_string(op.block[2]) +
        " shared " + std::to_string(op.shared) + " B " +
        std::to_string(op.params.batch) + " T " +
        std::to_string(op.params.tokens) + " S " +
        std::to_string(op.params.max_seq) + " (" + op.via + ")");
  return run(op) ? CUDA_SUCCESS : kLaunchFailed;
}
} // namespace

extern "C" {

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned shared,
                        CUstream stream, void **params, void **) {
  return launch({f, {gx, gy, gz}, {bx, by, bz}, shared, {}, "cuLaunchKernel"},
                stream, params);
}
#if !defined(FAKE_CUDA_NO_LAUNCH_EX)
CUresult cuLaunchKernelEx(const CUlaunchConfig *c, CUfunction f, void **params,
                          void **) {
  if (!c || (c->numAttrs && !c->attrs))
    return kInvalidValue;
  std::string via = "cuLaunchKernelEx";
  for (unsigned i = 0; i < c->numAttrs; ++i) {
    const CUlaunchAttribute &a = c->attrs[i];
    // The only attribute the backend sets; the fake refuses any other.
    if (a.id != CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION)
      return kInvalidValue;
    if (a.value.programmaticStreamSerializationAllowed)
      via += ", programmatic";
  }
  return launch({f,
                 {c->gridDimX, c->gridDimY, c->gridDimZ},
                 {c->blockDimX, c->blockDimY, c->blockDimZ},
                 c->sharedMemBytes,
                 {},
                 via},
                c->hStream, params);
}
#endif
CUresult cuTensorMapEncodeTiled(
    CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank, void *address,
    const cuuint64_t *dims, const cuuint64_t *strides, const cuuint32_t *box,
    const cuuint32_t *, CUtensorMapInterleave, CUtensorMapSwizzle swizzle,
    CUtensorMapL2promotion, CUtensorMapFloatOOBfill) {
  // The real driver's rules for what the backend asks: 2-D, a 16-byte
  // aligned address and row stride, boxes of 1..256.
  if (!map || rank != 2 || reinterpret_cast<uintptr_t>(address) % 16 ||
      strides[0] % 16 || !dims[0] || !dims[1] || !box[0] || !box[1] ||
      box[0] > 256 || box[1] > 256)
    return kInvalidValue;
  std::memset(map, 0, sizeof *map);
  const unsigned long long fields[] = {reinterpret_cast<uintptr_t>(address),
                                       dims[0],
                                       dims[1],
                                       strides[0],
                                       box[0],
                                       box[1],
                                       static_cast<unsigned long long>(swizzle),
                                       static_cast<unsigned long long>(type)};
  std::memcpy(map->opaque, fields, sizeof fields);
  trace("tensor-map rows " + std::to_string(dims[1]) + " cols " +
        std::to_string(dims[0]) + " stride " + std::to_string(strides[0]) +
        " box " + std::to_string(box[0]) + "," + std::to_string(box[1]) +
        " swizzle " + std::to_string(swizzle) + " type " +
        std::to_string(type));
  return CUDA_SUCCESS;
}
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  if (bytes > (size_t(1) << 34))
    return CUDA_ERROR_OUT_OF_MEMORY;
  void *m = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!m)
    return CUDA_ERROR_OUT_OF_MEMORY;
  std::memset(m, 0xA5, bytes); // poison: the backend must zero
  *p = reinterpret_cast<CUdeviceptr>(m);
  return CUDA_SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  std::free(reinterpret_cast<void *>(p));
  return CUDA_SUCCESS;
}
CUresult cuMemGetInfo_v2(size_t *free, size_t *total) {
  *free = size_t(8) << 30;
  *total = size_t(16) << 30;
  return CUDA_SUCCESS;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes) {
  std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t bytes) {
  std::memcpy(dst, reinterpret_cast<const void *>(src), bytes);
  return CUDA_SUCCESS;
}
CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t count) {
  std::memset(reinterpret_cast<void *>(dst), value, count);
  return CUDA_SUCCESS;
}
CUresult cuStreamCreate(CUstream *s, unsigned) {
  *s = new CUstream_st;
  return CUDA_SUCCESS;
}
CUresult cuStreamDestroy_v2(CUstream s) {
  delete s;
  return CUDA_SUCCESS;
}
CUresult cuStreamSynchronize(CUstream s) {
  if (s && s->capturing)
    return kCaptureInvalidated;
  trace("sync");
  return CUDA_SUCCESS;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                              CUstream s) {
  if (s && s->capturing)
    return kCaptureInvalidated;
  std::memcpy(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src),
              bytes);
  trace("copy on stream " + std::to_string(bytes));
  return CUDA_SUCCESS;
}
CUresult cuStreamBeginCapture_v2(CUstream s, CUstreamCaptureMode) {
  s->capturing = true;
  s->graph = new CUgraph_st;
  trace("capture begin");
  return CUDA_SUCCESS;
}
CUresult cuStreamEndCapture(CUstream s, CUgraph *g) {
  s->capturing = false;
  *g = s->graph;
  s->graph = nullptr;
  trace("capture end " + std::to_string((*g)->ops.size()));
  return CUDA_SUCCESS;
}
CUresult cuGraphInstantiateWithFlags(CUgraphExec *e, CUgraph g,
                                     unsigned long long) {
  *e = new CUgraphExec_st{g->ops};
  return CUDA_SUCCESS;
}
CUresult cuGraphLaunch(CUgraphExec e, CUstream) {
  trace("graph launch " + std::to_string(e->ops.size()));
  for (const Op &op : e->ops)
    if (!run(op))
      return kLaunchFailed;
  return CUDA_SUCCESS;
}
CUresult cuGraphDestroy(CUgraph g) {
  delete g;
  return CUDA_SUCCESS;
}
CUresult cuGraphExecDestroy(CUgraphExec e) {
  delete e;
  return CUDA_SUCCESS;
}
CUresult cuEventCreate(CUevent *e, unsigned) {
  const char *mode = std::getenv("FAKE_CUDA_EVENTS");
  if (mode && std::strcmp(mode, "fail") == 0)
    return kInvalidValue;
  *e = new CUevent_st;
  return CUDA_SUCCESS;
}
CUresult cuEventRecord(CUevent e, CUstream s) {
  if (s && s->capturing)
    return kCaptureInvalidated;
  e->at = std::chrono::steady_clock::now();
  e->recorded = true;
  return CUDA_SUCCESS;
}
CUresult cuEventElapsedTime_v2(float *ms, CUevent start, CUevent end) {
  if (!start->recorded || !end->recorded)
    return kInvalidValue;
  *ms = std::chrono::duration<float, std::milli>(end->at - start->at).count();
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy_v2(CUevent e) {
  delete e;
  return CUDA_SUCCESS;
}

} // extern "C"
