//===- HipDriver.h - the HIP runtime API, loaded at run time ----*- C++ -*-===//
//
// The runtime never links libamdhip64 nor includes its headers: it opens
// the library with dlopen and resolves the few entry points it uses from a
// symbol table, so one binary runs on machines with and without ROCm and
// reports the absence cleanly. Two cases are told apart, one line each:
//
//   no libamdhip64:  "no HIP runtime: libamdhip64 not found (tried ...)"
//   no AMD GPU:      "libamdhip64 found (PATH, HIP 5.2) but no AMD GPU:
//                     hipGetDeviceCount returned hipErrorNoDevice (...)"
//
// The types and constants below are the HIP API's own (hip_runtime_api.h),
// declared here so that building needs no ROCm. Where the headers are found
// at build time, HipDriverCheck.cpp checks every declaration against them.
// Enumerators are the values of ROCm 5 and 6, which agree for these.
//
// Graph entry points and hipFuncSetAttribute are optional: a library
// without them still runs bundles; graph mode is then refused with a
// message naming the missing symbol.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_HIP_HIPDRIVER_H
#define BRAID_RUNTIME_BACKENDS_HIP_HIPDRIVER_H

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

//===----------------------------------------------------------------------===//
// HIP API types (hip_runtime_api.h)
//===----------------------------------------------------------------------===//

// The opaque handle types, declared where the HIP headers declare them (the
// global namespace), so that the handles are the same types as theirs.
struct ihipStream_t;
struct ihipModule_t;
struct ihipModuleSymbol_t;
struct ihipGraph;
struct hipGraphExec;
struct hipGraphNode;
struct ihipEvent_t;

namespace braid::rt::hip {

using hipError_t = int;
using hipDevice_t = int;
using hipDeviceptr_t = void *;
using hipStream_t = ihipStream_t *;
using hipModule_t = ihipModule_t *;
using hipFunction_t = ihipModuleSymbol_t *;
using hipGraph_t = ihipGraph *;
using hipGraphExec_t = hipGraphExec *;
using hipGraphNode_t = hipGraphNode *;
using hipEvent_t = ihipEvent_t *;
/// Enums of the API are plain ints in its ABI.
using hipDeviceAttribute_t = int;
using hipFuncAttribute = int;
using hipStreamCaptureMode = int;

constexpr hipError_t hipSuccess = 0;
constexpr hipError_t hipErrorOutOfMemory = 2;
constexpr hipError_t hipErrorNoDevice = 100;
constexpr hipDeviceAttribute_t hipDeviceAttributeMultiprocessorCount = 63;
constexpr hipDeviceAttribute_t hipDeviceAttributeMaxSharedMemoryPerBlock = 74;
constexpr hipFuncAttribute hipFuncAttributeMaxDynamicSharedMemorySize = 8;
constexpr hipStreamCaptureMode hipStreamCaptureModeThreadLocal = 1;

/// Dynamic LDS every AMD block may use without asking (64 KiB on CDNA).
constexpr int kDefaultLdsBytes = 64 * 1024;
/// hipGetDeviceProperties writes a struct whose size and layout differ
/// between ROCm versions (792 bytes in 5.2, more in 6.x); the backend hands
/// it a buffer this large and reads only strings out of it (HipPlan.h:
/// findGcnArchName).
constexpr size_t kDevicePropertiesBytes = 16384;

//===----------------------------------------------------------------------===//
// The symbol table
//===----------------------------------------------------------------------===//

// X(member, exported symbol, return type, parameters). Every entry must
// resolve, or loading fails naming the first one missing. hipMalloc is apart
// because the C++ headers overload it (HipDriverCheck.cpp).
#define BRAID_HIP_REQUIRED_SYMBOLS(X)                                          \
  BRAID_HIP_CORE_SYMBOLS(X)                                                    \
  X(malloc, hipMalloc, hipError_t, (void **ptr, size_t bytes))
#define BRAID_HIP_CORE_SYMBOLS(X)                                              \
  X(init, hipInit, hipError_t, (unsigned flags))                               \
  X(getErrorName, hipGetErrorName, const char *, (hipError_t error))           \
  X(getErrorString, hipGetErrorString, const char *, (hipError_t error))       \
  X(getDeviceCount, hipGetDeviceCount, hipError_t, (int *count))               \
  X(setDevice, hipSetDevice, hipError_t, (int device))                         \
  X(deviceGetName, hipDeviceGetName, hipError_t,                               \
    (char *name, int length, hipDevice_t device))                              \
  X(deviceGetAttribute, hipDeviceGetAttribute, hipError_t,                     \
    (int *value, hipDeviceAttribute_t attribute, int device))                  \
  X(moduleLoadData, hipModuleLoadData, hipError_t,                             \
    (hipModule_t * module, const void *image))                                 \
  X(moduleUnload, hipModuleUnload, hipError_t, (hipModule_t module))           \
  X(moduleGetFunction, hipModuleGetFunction, hipError_t,                       \
    (hipFunction_t * function, hipModule_t module, const char *name))          \
  X(moduleLaunchKernel, hipModuleLaunchKernel, hipError_t,                     \
    (hipFunction_t function, unsigned gridX, unsigned gridY, unsigned gridZ,   \
     unsigned blockX, unsigned blockY, unsigned blockZ, unsigned sharedBytes,  \
     hipStream_t stream, void **params, void **extra))                         \
  X(free, hipFree, hipError_t, (void *ptr))                                    \
  X(memGetInfo, hipMemGetInfo, hipError_t, (size_t * free, size_t * total))    \
  X(memcpyHtoD, hipMemcpyHtoD, hipError_t,                                     \
    (hipDeviceptr_t dst, void *src, size_t bytes))                             \
  X(memcpyDtoH, hipMemcpyDtoH, hipError_t,                                     \
    (void *dst, hipDeviceptr_t src, size_t bytes))                             \
  X(memsetD8, hipMemsetD8, hipError_t,                                         \
    (hipDeviceptr_t dst, unsigned char value, size_t count))                   \
  X(streamCreate, hipStreamCreate, hipError_t, (hipStream_t * stream))         \
  X(streamDestroy, hipStreamDestroy, hipError_t, (hipStream_t stream))         \
  X(streamSynchronize, hipStreamSynchronize, hipError_t, (hipStream_t stream))

// Entries that may be missing. Device properties: the ROCm 6 symbol first
// (its struct is larger; only strings are read from either), then ROCm 5's.
#define BRAID_HIP_OPTIONAL_SYMBOLS(X)                                          \
  X(memcpyDtoDAsync, hipMemcpyDtoDAsync, hipError_t,                           \
    (hipDeviceptr_t dst, hipDeviceptr_t src, size_t bytes,                     \
     hipStream_t stream))                                                      \
  X(runtimeGetVersion, hipRuntimeGetVersion, hipError_t, (int *version))       \
  X(getDevicePropertiesR0600, hipGetDevicePropertiesR0600, hipError_t,         \
    (void *properties, int device))                                            \
  X(getDeviceProperties, hipGetDeviceProperties, hipError_t,                   \
    (void *properties, int device))                                            \
  X(funcSetAttribute, hipFuncSetAttribute, hipError_t,                         \
    (const void *function, hipFuncAttribute attribute, int value))             \
  X(streamBeginCapture, hipStreamBeginCapture, hipError_t,                     \
    (hipStream_t stream, hipStreamCaptureMode mode))                           \
  X(streamEndCapture, hipStreamEndCapture, hipError_t,                         \
    (hipStream_t stream, hipGraph_t * graph))                                  \
  X(graphInstantiate, hipGraphInstantiate, hipError_t,                         \
    (hipGraphExec_t * exec, hipGraph_t graph, hipGraphNode_t * errorNode,      \
     char *log, size_t logSize))                                               \
  X(graphLaunch, hipGraphLaunch, hipError_t,                                   \
    (hipGraphExec_t exec, hipStream_t stream))                                 \
  X(graphDestroy, hipGraphDestroy, hipError_t, (hipGraph_t graph))             \
  X(graphExecDestroy, hipGraphExecDestroy, hipError_t, (hipGraphExec_t exec))  \
  BRAID_HIP_EVENT_SYMBOLS(X)
// Events, for the opt-in profile only (BRAID_PROFILE, runtime/src/
// GpuBackend.h): without them the same bundles run unprofiled.
#define BRAID_HIP_EVENT_SYMBOLS(X)                                             \
  X(eventCreate, hipEventCreate, hipError_t, (hipEvent_t * event))             \
  X(eventRecord, hipEventRecord, hipError_t,                                   \
    (hipEvent_t event, hipStream_t stream))                                    \
  X(eventElapsedTime, hipEventElapsedTime, hipError_t,                         \
    (float *milliseconds, hipEvent_t start, hipEvent_t end))                   \
  X(eventDestroy, hipEventDestroy, hipError_t, (hipEvent_t event))

/// The resolved entry points of one loaded libamdhip64.
struct HipDriver {
#define BRAID_HIP_MEMBER(member, symbol, ret, params)                          \
  ret(*member) params = nullptr;
  BRAID_HIP_REQUIRED_SYMBOLS(BRAID_HIP_MEMBER)
  BRAID_HIP_OPTIONAL_SYMBOLS(BRAID_HIP_MEMBER)
#undef BRAID_HIP_MEMBER

  std::string libraryPath; ///< what dlopen was given
  int version = 0;         ///< hipRuntimeGetVersion: 50221153 for 5.2
  int deviceCount = 0;     ///< hipGetDeviceCount (>= 1 once loaded)
  void *handle = nullptr;  ///< dlopen handle (never closed)

  /// "hipErrorOutOfMemory (out of memory)", or "HIP error 2".
  std::string errorText(hipError_t error) const;
  /// "HIP 5.2" ("HIP" when the version is unknown).
  std::string versionText() const;
  /// "" when graphs can be used, else why not ("libamdhip64.so lacks
  /// hipGraphInstantiate").
  std::string graphSupport() const;
  /// Whether every event entry point resolved.
  bool hasEvents() const {
    return eventCreate && eventRecord && eventElapsedTime && eventDestroy;
  }
};

/// The libraries tried in order: $BRAID_HIP_DRIVER alone when set (tests
/// point it at a fake), else libamdhip64.so and its versioned names, then
/// /opt/rocm/lib/libamdhip64.so.
std::vector<std::string> defaultHipLibraries();

/// Opens the first of `libraries` that dlopen accepts, resolves the table,
/// calls hipInit(0) and hipGetDeviceCount. Throws Error(Unsupported) with
/// one line: "no HIP runtime: ..." when none opens, "... lacks hipXxx" for
/// a missing required symbol, "libamdhip64 found (...) but no AMD GPU:
/// hipInit failed: ..." / "...: hipGetDeviceCount returned ..." when the
/// library is there but no device is.
std::unique_ptr<HipDriver>
loadHipDriver(const std::vector<std::string> &libraries);

/// The process-wide driver, loaded on first use from defaultHipLibraries().
/// A failure is remembered and rethrown on every later call.
const HipDriver &hipDriver();

} // namespace braid::rt::hip

#endif // BRAID_RUNTIME_BACKENDS_HIP_HIPDRIVER_H
