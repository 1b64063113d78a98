//===- CudaBackend.h - the CUDA backend -------------------------*- C++ -*-===//
//
// Runs bundles compiled with `braidc --target=cuda` on an NVIDIA GPU through
// the driver API (CudaDriver.h: dlopen, no link-time libcuda).
//
//   create      load the driver, take device 0's primary context, one stream
//   prepare     choose the code section for the device (CudaPlan.h:
//               chooseArch), read the launch plans of the manifest, load each
//               module it names once (PTX is JIT-compiled by the driver),
//               resolve every kernel function, raise the dynamic shared
//               memory limit where a kernel needs more than 48 KiB
//   memory      cuMemAlloc (zeroed), synchronous copies; weights are stored
//               in their manifest dtype (bf16 bundles: bf16), states and
//               the arena as the session sizes them
//   launch      records the launch's buffers (BraidKernelParams.buffers, in
//               manifest order); nothing runs yet
//   synchronize evaluates the grids and the workspace for the call's B and
//               T, grows the workspace if needed, enqueues every kernel of
//               the entry on the stream (or replays the decode entry's CUDA
//               graph), waits, and reports the first error naming the launch
//
// Deferring to synchronize gives every kernel the call's B, T, S and
// cache_position even when its own launch has no argument carrying them,
// and makes the whole entry one unit for graph capture.
//
// Entry outputs are f32 (the logits), in bf16 bundles too: a bundle whose
// launch writes one in another type is refused when prepared.
//
// Decode as a CUDA graph (BackendOptions::cudaGraph): see GpuBackend.h,
// which holds what this backend shares with the HIP one (memory, the
// pending call, graphs, statistics). The output is that of the same kernels
// launched one by one.
//
// Environment: BRAID_CUDA_SYNC=1 waits after every kernel so that an
// asynchronous fault (an illegal address) names its kernel (no graphs then);
// BRAID_CUDA_STATS=1 prints kernel, capture and replay counts to stderr when
// the backend is destroyed; BRAID_CUDA_DRIVER names another driver library;
// BRAID_PROFILE=FILE.json times every kernel with events (GpuBackend.h);
// BRAID_NO_PDL=1 turns programmatic dependent launch off.
//
// Programmatic dependent launch: on a device of compute capability 9.0 or
// more, with code for sm_90+ and a driver for CUDA 12.3+ (whose stream
// capture keeps the programmatic edges in the decode graph), every kernel is
// launched with cuLaunchKernelEx and
// CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION, so that it may be
// scheduled while the previous kernel still runs. Every generated kernel
// begins with BRAID_KERNEL_PROLOGUE (targets/common/kernels/Portability.cuh),
// which waits for the previous kernel before touching memory: what the
// stream order guaranteed is kept, the launch latency is hidden. Elsewhere
// (sm_80, an older driver, no cuLaunchKernelEx) kernels go through
// cuLaunchKernel as before.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CUDA_CUDABACKEND_H
#define BRAID_RUNTIME_BACKENDS_CUDA_CUDABACKEND_H

#include "runtime/backends/cuda/CudaDriver.h"
#include "runtime/backends/cuda/CudaPlan.h"
#include "runtime/src/GpuBackend.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace braid::rt {

class CudaBackend final : public GpuBackend {
public:
  /// Takes device `ordinal`'s primary context. Throws Error(Unsupported)
  /// when there is no such device.
  CudaBackend(const cu::CudaDriver &driver, bool cudaGraph, int ordinal = 0);
  ~CudaBackend() override;

  /// "cuda: NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, CUDA 13.0 driver), code
  /// code.sm_90a, decode as a CUDA graph, programmatic dependent launch"
  std::string describe() const override;
  uint64_t availableMemory() const override;
  /// Chooses the code section for the device (a bundle compiled for CUDA
  /// lists "cuda" among its targets), loads its modules, resolves kernels.
  void prepare(const Manifest &manifest, const Bundle *bundle) override;

private:
  int memAlloc(void **ptr, size_t bytes) override;
  void memFree(void *ptr) override;
  int copyToDevice(void *dst, const void *src, size_t bytes) override;
  int copyFromDevice(void *dst, const void *src, size_t bytes) override;
  int memZero(void *dst, size_t bytes) override;
  bool hasStreamCopy() const override {
    return driver.memcpyDtoDAsync != nullptr;
  }
  int copyOnStream(void *dst, const void *src, size_t bytes) override;
  int launchKernel(const gpu::KernelOp &op) override;
  gpu::TensorMapEncoder tensorMapEncoder() override;
  int64_t multiprocessorCount() const override { return multiprocessors; }
  int streamSync() override;
  int beginCapture() override;
  int endCapture(void **graph) override;
  int instantiate(void **exec, void *graph) override;
  void destroyGraph(void *graph) override;
  void destroyExec(void *exec) override;
  int graphLaunch(void *exec) override;
  bool hasEvents() const override { return driver.hasEvents(); }
  int eventCreate(void **event) override;
  int eventRecord(void *event) override;
  int eventElapsed(float *milliseconds, void *start, void *end) override;
  void eventDestroy(void *event) override;
  std::string errorText(int status) const override;
  bool outOfMemory(int status) const override;
  void makeCurrent() const override;

  cu::CUmodule loadModule(const std::string &name, const std::string &user);
  cu::CUfunction resolveFunction(cu::CUmodule module,
                                 const std::string &moduleName,
                                 const gpu::KernelSpec &spec,
                                 const std::string &user);

  const cu::CudaDriver &driver;
  cu::CUdevice device = 0;
  cu::CUcontext context = nullptr;
  cu::CUstream stream = nullptr;
  std::string deviceName;
  int ccMajor = 0, ccMinor = 0, multiprocessors = 0, maxSharedOptin = 0;
  /// Kernels go through cuLaunchKernelEx with programmatic stream
  /// serialization: decided by the device and driver when created, kept by
  /// prepare() only for code compiled for sm_90+.
  bool pdl = false;

  // prepare()
  const Bundle *bundle = nullptr;
  std::map<std::string, cu::CUmodule> modules;
  std::map<std::pair<std::string, std::string>, cu::CUfunction> functions;
  std::map<cu::CUfunction, int64_t> dynamicSharedSet;
};

/// The CUDA backend on the process-wide driver (cu::cudaDriver()). Throws
/// Error(Unsupported) "no CUDA driver: libcuda.so.1 not found (...)" where
/// there is none.
std::unique_ptr<Backend> createCudaBackend(const BackendOptions &options);

} // namespace braid::rt

#endif // BRAID_RUNTIME_BACKENDS_CUDA_CUDABACKEND_H
