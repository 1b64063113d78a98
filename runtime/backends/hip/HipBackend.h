//===- HipBackend.h - the HIP backend ---------------------------*- C++ -*-===//
//
// Runs bundles compiled with `braidc --target=hip` on an AMD GPU through the
// HIP module API (HipDriver.h: dlopen, no link-time libamdhip64). It mirrors
// CudaBackend; what is vendor-neutral (memory, the pending call, graphs,
// statistics; launch plans and parameter packing) is shared through
// runtime/src/GpuBackend.h and GpuPlan.h.
//
//   create      load libamdhip64, select device 0, read its gcnArchName,
//               one stream
//   prepare     pick code.<gfx arch> of the device (exact match: AMD code
//               objects are not JIT-compiled), read the launch plans of the
//               manifest ("hip" objects), load each module it names once,
//               resolve every kernel function, check dynamic LDS
//   memory      hipMalloc (zeroed), synchronous copies; weights in their
//               manifest dtype
//   launch      records the launch's buffers; nothing runs yet
//   synchronize evaluates grids and workspace for the call's B and T,
//               enqueues every kernel of the entry with hipModuleLaunchKernel
//               (or replays the decode entry's HIP graph), waits, and reports
//               the first error naming the launch and kernel
//
// Entry outputs are f32 (the logits), in bf16 bundles too: a bundle whose
// launch writes one in another type is refused when prepared.
//
// Environment: BRAID_HIP_SYNC=1 waits after every kernel (no graphs then);
// BRAID_HIP_STATS=1 prints kernel, capture and replay counts to stderr when
// the backend is destroyed; BRAID_HIP_DRIVER names another library.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_HIP_HIPBACKEND_H
#define BRAID_RUNTIME_BACKENDS_HIP_HIPBACKEND_H

#include "runtime/backends/hip/HipDriver.h"
#include "runtime/backends/hip/HipPlan.h"
#include "runtime/src/GpuBackend.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace braid::rt {

class HipBackend final : public GpuBackend {
public:
  /// Selects device `ordinal`. Throws Error(Unsupported) when there is no
  /// such device, its architecture cannot be read, or graphs are asked for
  /// and the library lacks them.
  HipBackend(const hip::HipDriver &driver, bool graphs, int ordinal = 0);
  ~HipBackend() override;

  /// "hip: AMD Instinct MI300X (gfx942, 304 CUs, HIP 6.2), code code.gfx942"
  std::string describe() const override;
  uint64_t availableMemory() const override;
  /// Picks code.<the device's gfx arch> (a bundle compiled for AMD lists
  /// "hip" among its targets), loads its modules, resolves kernels.
  void prepare(const Manifest &manifest, const Bundle *bundle) override;
  /// The device's architecture ("gfx942").
  const std::string &arch() const { return deviceArch; }

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
  int64_t multiprocessorCount() const override { return computeUnits; }
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

  void readArch(int ordinal);
  hip::hipModule_t loadModule(const std::string &name, const std::string &user);
  void *resolveFunction(hip::hipModule_t module, const std::string &moduleName,
                        const gpu::KernelSpec &spec, const std::string &user);

  const hip::HipDriver &driver;
  int device = 0;
  hip::hipStream_t stream = nullptr;
  std::string deviceName, deviceArch;
  int computeUnits = 0, maxLds = 0;

  // prepare()
  const Bundle *bundle = nullptr;
  std::map<std::string, hip::hipModule_t> modules;
  std::map<std::pair<std::string, std::string>, void *> functions;
};

/// The HIP backend on the process-wide driver (hip::hipDriver()). Throws
/// Error(Unsupported) with one line where there is no libamdhip64 or no AMD
/// GPU.
std::unique_ptr<Backend> createHipBackend(const BackendOptions &options);

} // namespace braid::rt

#endif // BRAID_RUNTIME_BACKENDS_HIP_HIPBACKEND_H
