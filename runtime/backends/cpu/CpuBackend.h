//===- CpuBackend.h - the CPU reference backend -----------------*- C++ -*-===//
//
// Host memory, the kernels of CpuKernels.h, one ThreadPool shared by all
// launches. Runs bundles of the "cpu" target (fp32 weights and activations).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CPU_CPUBACKEND_H
#define BRAID_RUNTIME_BACKENDS_CPU_CPUBACKEND_H

#include "runtime/src/Backend.h"

#include <memory>

namespace braid::rt {

class CpuBackend final : public Backend {
public:
  /// `lookup` empty: findCpuKernel.
  CpuBackend(unsigned threads, KernelLookup lookup);
  ~CpuBackend() override;

  std::string name() const override { return "cpu"; }
  std::string describe() const override;
  std::string target() const override { return "cpu"; }
  bool hostAddressable() const override { return true; }
  /// MemAvailable from /proc/meminfo.
  uint64_t availableMemory() const override;

  DeviceBuffer allocate(size_t bytes) override;
  void release(DeviceBuffer &buffer) override;
  void upload(const DeviceBuffer &dst, size_t offset, const void *src,
              size_t bytes) override;
  void download(void *dst, const DeviceBuffer &src, size_t offset,
                size_t bytes) override;
  void fillZero(const DeviceBuffer &dst, size_t offset, size_t bytes) override;

  void prepare(const Manifest &manifest, const Bundle *bundle) override;
  std::string launch(size_t entryIndex, size_t launchIndex,
                     KernelCall &call) override;
  std::string synchronize() override { return ""; }
  bool hasKernel(std::string_view family) const override;

private:
  KernelLookup lookup;
  std::unique_ptr<ThreadPool> pool;
  /// kernels[entry][launch]
  std::vector<std::vector<KernelFn>> kernels;
};

} // namespace braid::rt

#endif // BRAID_RUNTIME_BACKENDS_CPU_CPUBACKEND_H
