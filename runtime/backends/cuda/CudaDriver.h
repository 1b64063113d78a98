//===- CudaDriver.h - the CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// The runtime never links libcuda: it opens "libcuda.so.1" with dlopen and
// resolves the few driver entry points it uses from a symbol table, so one
// binary runs on machines with and without an NVIDIA driver and reports the
// absence cleanly ("no CUDA driver: libcuda.so.1 not found").
//
// The types and constants below are the driver API's own (cuda.h), declared
// here so that building needs no CUDA toolkit. Where cuda.h is found at
// build time, CudaDriverCheck.cpp checks every declaration against it.
// Symbols are the ABI versions cuda.h maps the plain names to (cuMemAlloc is
// cuMemAlloc_v2, cuGraphInstantiate is cuGraphInstantiateWithFlags, ...).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CUDA_CUDADRIVER_H
#define BRAID_RUNTIME_BACKENDS_CUDA_CUDADRIVER_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

//===----------------------------------------------------------------------===//
// Driver API types (cuda.h)
//===----------------------------------------------------------------------===//

// The opaque handle types, declared where cuda.h declares them (the global
// namespace), so that the handles are the same types as cuda.h's.
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUgraph_st;
struct CUgraphExec_st;
struct CUevent_st;

namespace braid::rt::cu {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUgraph = CUgraph_st *;
using CUgraphExec = CUgraphExec_st *;
using CUevent = CUevent_st *;
/// Enums of the API are plain ints in its ABI.
using CUdevice_attribute = int;
using CUfunction_attribute = int;
using CUjit_option = int;
using CUstreamCaptureMode = int;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr CUdevice_attribute CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
constexpr CUdevice_attribute CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr CUdevice_attribute CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr CUdevice_attribute
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0;
constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1;
constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_NUM_REGS = 4;
constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES =
    8;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr CUstreamCaptureMode CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
constexpr unsigned CU_STREAM_DEFAULT = 0;
constexpr unsigned CU_EVENT_DEFAULT = 0; ///< timing enabled

/// The static shared memory every block may use without opting in.
constexpr int kDefaultSharedBytes = 48 * 1024;

/// cuLaunchKernelEx's configuration (cuda.h's CUlaunchConfig and its
/// attributes, same layout; CudaDriverCheck.cpp compares them). Only the
/// attribute the backend sets is named in the value union.
using CUlaunchAttributeID = int;
constexpr CUlaunchAttributeID
    CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
union alignas(8) CUlaunchAttributeValue {
  char pad[64];
  int programmaticStreamSerializationAllowed;
};
struct CUlaunchAttribute {
  CUlaunchAttributeID id;
  char pad[8 - sizeof(CUlaunchAttributeID)];
  CUlaunchAttributeValue value;
};
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};

/// cuTensorMapEncodeTiled's types (cuda.h's, same sizes and values;
/// CudaDriverCheck.cpp compares them): the map is 128 opaque bytes, aligned
/// to 128 as cuda.h 13 declares it (the unit itself needs 64).
struct alignas(128) CUtensorMap {
  unsigned long long opaque[16];
};
using cuuint32_t = uint32_t;
using cuuint64_t = uint64_t;
using CUtensorMapDataType = int;
using CUtensorMapInterleave = int;
using CUtensorMapSwizzle = int;
using CUtensorMapL2promotion = int;
using CUtensorMapFloatOOBfill = int;
constexpr CUtensorMapDataType CU_TENSOR_MAP_DATA_TYPE_UINT8 = 0;
constexpr CUtensorMapDataType CU_TENSOR_MAP_DATA_TYPE_UINT16 = 1;
constexpr CUtensorMapDataType CU_TENSOR_MAP_DATA_TYPE_UINT32 = 2;
constexpr CUtensorMapDataType CU_TENSOR_MAP_DATA_TYPE_UINT64 = 4;
constexpr CUtensorMapInterleave CU_TENSOR_MAP_INTERLEAVE_NONE = 0;
constexpr CUtensorMapSwizzle CU_TENSOR_MAP_SWIZZLE_NONE = 0;
constexpr CUtensorMapSwizzle CU_TENSOR_MAP_SWIZZLE_32B = 1;
constexpr CUtensorMapSwizzle CU_TENSOR_MAP_SWIZZLE_64B = 2;
constexpr CUtensorMapSwizzle CU_TENSOR_MAP_SWIZZLE_128B = 3;
constexpr CUtensorMapL2promotion CU_TENSOR_MAP_L2_PROMOTION_L2_256B = 3;
constexpr CUtensorMapFloatOOBfill CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0;

/// The arguments of cuTensorMapEncodeTiled for a dense row-major 2-D view of
/// `rows` x `cols` elements of `elementBytes` (innermost dimension first,
/// as the driver wants them), copied in boxes of box[0] x box[1] with a
/// `swizzle`-byte swizzle (0, 32, 64, 128). Elements are copied as unsigned
/// integers of their width: the unit only moves bytes, and out-of-range
/// parts of a box arrive as zeros.
struct TensorMapRequest {
  CUtensorMapDataType dataType = CU_TENSOR_MAP_DATA_TYPE_UINT16;
  cuuint64_t globalDim[2] = {0, 0};
  cuuint64_t globalStrides[1] = {0}; ///< bytes between rows
  cuuint32_t boxDim[2] = {0, 0};
  cuuint32_t elementStrides[2] = {1, 1};
  CUtensorMapSwizzle swizzle = CU_TENSOR_MAP_SWIZZLE_NONE;
};
inline TensorMapRequest tensorMapRequest(int64_t cols, int64_t rows,
                                         int64_t elementBytes,
                                         const std::array<int64_t, 2> &box,
                                         int64_t swizzle) {
  TensorMapRequest r;
  r.dataType = elementBytes == 1   ? CU_TENSOR_MAP_DATA_TYPE_UINT8
               : elementBytes == 2 ? CU_TENSOR_MAP_DATA_TYPE_UINT16
               : elementBytes == 4 ? CU_TENSOR_MAP_DATA_TYPE_UINT32
                                   : CU_TENSOR_MAP_DATA_TYPE_UINT64;
  r.globalDim[0] = cuuint64_t(cols);
  r.globalDim[1] = cuuint64_t(rows);
  r.globalStrides[0] = cuuint64_t(cols * elementBytes);
  r.boxDim[0] = cuuint32_t(box[0]);
  r.boxDim[1] = cuuint32_t(box[1]);
  r.swizzle = swizzle == 128  ? CU_TENSOR_MAP_SWIZZLE_128B
              : swizzle == 64 ? CU_TENSOR_MAP_SWIZZLE_64B
              : swizzle == 32 ? CU_TENSOR_MAP_SWIZZLE_32B
                              : CU_TENSOR_MAP_SWIZZLE_NONE;
  return r;
}

//===----------------------------------------------------------------------===//
// The symbol table
//===----------------------------------------------------------------------===//

// X(member, exported symbol, return type, parameters). Every entry of the
// first table must resolve, or loading fails naming the first one missing. The
// symbols are what cuda.h's names map to (CudaDriverCheck.cpp compares
// signatures).
#define BRAID_CUDA_DRIVER_SYMBOLS(X)                                           \
  X(init, cuInit, CUresult, (unsigned flags))                                  \
  X(driverGetVersion, cuDriverGetVersion, CUresult, (int *version))            \
  X(getErrorString, cuGetErrorString, CUresult,                                \
    (CUresult error, const char **text))                                       \
  X(getErrorName, cuGetErrorName, CUresult,                                    \
    (CUresult error, const char **text))                                       \
  X(deviceGetCount, cuDeviceGetCount, CUresult, (int *count))                  \
  X(deviceGet, cuDeviceGet, CUresult, (CUdevice * device, int ordinal))        \
  X(deviceGetName, cuDeviceGetName, CUresult,                                  \
    (char *name, int length, CUdevice device))                                 \
  X(deviceGetAttribute, cuDeviceGetAttribute, CUresult,                        \
    (int *value, CUdevice_attribute attribute, CUdevice device))               \
  X(devicePrimaryCtxRetain, cuDevicePrimaryCtxRetain, CUresult,                \
    (CUcontext * context, CUdevice device))                                    \
  X(devicePrimaryCtxRelease, cuDevicePrimaryCtxRelease_v2, CUresult,           \
    (CUdevice device))                                                         \
  X(ctxSetCurrent, cuCtxSetCurrent, CUresult, (CUcontext context))             \
  X(moduleLoadData, cuModuleLoadData, CUresult,                                \
    (CUmodule * module, const void *image))                                    \
  X(moduleLoadDataEx, cuModuleLoadDataEx, CUresult,                            \
    (CUmodule * module, const void *image, unsigned numOptions,                \
     CUjit_option *options, void **optionValues))                              \
  X(moduleUnload, cuModuleUnload, CUresult, (CUmodule module))                 \
  X(moduleGetFunction, cuModuleGetFunction, CUresult,                          \
    (CUfunction * function, CUmodule module, const char *name))                \
  X(funcGetAttribute, cuFuncGetAttribute, CUresult,                            \
    (int *value, CUfunction_attribute attribute, CUfunction function))         \
  X(funcSetAttribute, cuFuncSetAttribute, CUresult,                            \
    (CUfunction function, CUfunction_attribute attribute, int value))          \
  X(launchKernel, cuLaunchKernel, CUresult,                                    \
    (CUfunction function, unsigned gridX, unsigned gridY, unsigned gridZ,      \
     unsigned blockX, unsigned blockY, unsigned blockZ, unsigned sharedBytes,  \
     CUstream stream, void **params, void **extra))                            \
  X(memAlloc, cuMemAlloc_v2, CUresult, (CUdeviceptr * ptr, size_t bytes))      \
  X(memFree, cuMemFree_v2, CUresult, (CUdeviceptr ptr))                        \
  X(memGetInfo, cuMemGetInfo_v2, CUresult, (size_t * free, size_t * total))    \
  X(memcpyHtoD, cuMemcpyHtoD_v2, CUresult,                                     \
    (CUdeviceptr dst, const void *src, size_t bytes))                          \
  X(memcpyDtoH, cuMemcpyDtoH_v2, CUresult,                                     \
    (void *dst, CUdeviceptr src, size_t bytes))                                \
  X(memsetD8, cuMemsetD8_v2, CUresult,                                         \
    (CUdeviceptr dst, unsigned char value, size_t count))                      \
  X(streamCreate, cuStreamCreate, CUresult,                                    \
    (CUstream * stream, unsigned flags))                                       \
  X(streamDestroy, cuStreamDestroy_v2, CUresult, (CUstream stream))            \
  X(streamSynchronize, cuStreamSynchronize, CUresult, (CUstream stream))       \
  X(streamBeginCapture, cuStreamBeginCapture_v2, CUresult,                     \
    (CUstream stream, CUstreamCaptureMode mode))                               \
  X(streamEndCapture, cuStreamEndCapture, CUresult,                            \
    (CUstream stream, CUgraph * graph))                                        \
  X(graphInstantiate, cuGraphInstantiateWithFlags, CUresult,                   \
    (CUgraphExec * exec, CUgraph graph, unsigned long long flags))             \
  X(graphLaunch, cuGraphLaunch, CUresult, (CUgraphExec exec, CUstream stream)) \
  X(graphDestroy, cuGraphDestroy, CUresult, (CUgraph graph))                   \
  X(graphExecDestroy, cuGraphExecDestroy, CUresult, (CUgraphExec exec))

// Entries that may be missing. The events: only the opt-in profile
// (BRAID_PROFILE, runtime/src/GpuBackend.h) uses them, and a driver without
// them runs the same bundles unprofiled. cuda.h 12.8 and later map
// cuEventElapsedTime to its _v2; loadCudaDriver falls back to the older
// symbol (same signature). cuLaunchKernelEx: programmatic dependent launch
// on sm_90+ (CudaBackend.h); without it kernels go through cuLaunchKernel.
// cuMemcpyDtoDAsync: greedy generation on the device (runtime/src/
// Session.h); without it generation samples on the host.
// cuTensorMapEncodeTiled: kernels that load through TMA (sm_90+ GEMMs);
// without it such a bundle fails to run, naming the kernel.
#define BRAID_CUDA_OPTIONAL_SYMBOLS(X)                                         \
  X(tensorMapEncodeTiled, cuTensorMapEncodeTiled, CUresult,                    \
    (CUtensorMap * map, CUtensorMapDataType dataType, cuuint32_t rank,         \
     void *globalAddress, const cuuint64_t *globalDim,                         \
     const cuuint64_t *globalStrides, const cuuint32_t *boxDim,                \
     const cuuint32_t *elementStrides, CUtensorMapInterleave interleave,       \
     CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2Promotion,           \
     CUtensorMapFloatOOBfill oobFill))                                         \
  X(memcpyDtoDAsync, cuMemcpyDtoDAsync_v2, CUresult,                           \
    (CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream))         \
  X(launchKernelEx, cuLaunchKernelEx, CUresult,                                \
    (const CUlaunchConfig *config, CUfunction function, void **params,         \
     void **extra))                                                            \
  X(eventCreate, cuEventCreate, CUresult, (CUevent * event, unsigned flags))   \
  X(eventRecord, cuEventRecord, CUresult, (CUevent event, CUstream stream))    \
  X(eventElapsedTime, cuEventElapsedTime_v2, CUresult,                         \
    (float *milliseconds, CUevent start, CUevent end))                         \
  X(eventDestroy, cuEventDestroy_v2, CUresult, (CUevent event))

/// The resolved entry points of one loaded driver library.
struct CudaDriver {
#define BRAID_CUDA_MEMBER(member, symbol, ret, params)                         \
  ret(*member) params = nullptr;
  BRAID_CUDA_DRIVER_SYMBOLS(BRAID_CUDA_MEMBER)
  BRAID_CUDA_OPTIONAL_SYMBOLS(BRAID_CUDA_MEMBER)
#undef BRAID_CUDA_MEMBER

  std::string libraryPath; ///< what dlopen was given
  int version = 0;         ///< cuDriverGetVersion: 13000 for CUDA 13.0
  void *handle = nullptr;  ///< dlopen handle (never closed)

  /// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", or "CUDA error 2" when the
  /// driver cannot name it.
  std::string errorText(CUresult error) const;
  /// "CUDA 13.0"
  std::string versionText() const;
  /// Whether every optional event entry point resolved.
  bool hasEvents() const {
    return eventCreate && eventRecord && eventElapsedTime && eventDestroy;
  }
};

/// The library the process-wide driver comes from: $BRAID_CUDA_DRIVER when
/// set (tests point it at a fake), else "libcuda.so.1".
std::string defaultDriverLibrary();

/// Opens `library`, resolves every symbol and calls cuInit(0). Throws
/// Error(Unsupported): "no CUDA driver: libcuda.so.1 not found (...)" when
/// the library cannot be opened, "... lacks cuXxx" for a missing symbol,
/// "cuInit failed: ..." when the driver finds no usable device.
std::unique_ptr<CudaDriver> loadCudaDriver(const std::string &library);

/// The process-wide driver, loaded on first use from defaultDriverLibrary().
/// A failure is remembered and rethrown on every later call, without
/// reopening the library.
const CudaDriver &cudaDriver();

} // namespace braid::rt::cu

#endif // BRAID_RUNTIME_BACKENDS_CUDA_CUDADRIVER_H
