//===- Backend.h - where a session's memory lives and kernels run -*- C++
//-*-===//
//
// One interface for the CPU reference backend and the device backends that
// come later (CUDA, HIP). A session asks its backend for memory (weights,
// states, the arena, inputs and outputs), copies to and from it, and hands it
// one launch at a time; device addresses travel in TensorView::data like host
// pointers (pointer arithmetic on them is all the executor does).
//
//   session create:  prepare(manifest, bundle)   resolve every launch once
//                    allocate / upload           weights, states, arena
//   each call:       upload inputs, fillZero states (prefill),
//                    launch(entry, index, call) for each launch,
//                    synchronize, download outputs
//
// A device backend would implement allocate/upload/download/fillZero with
// the driver's memory calls, prepare by loading the bundle's "code.<arch>"
// section and looking up one function per launch, launch by enqueueing on its
// stream (errors may surface at synchronize), and could capture the decode
// launches into a graph. Backends report failures by throwing Error.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_BACKEND_H
#define BRAID_RUNTIME_SRC_BACKEND_H

#include "runtime/backends/cpu/CpuKernels.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace braid::rt {

class Bundle;
struct Manifest;
struct WeightDecl;

/// A block of backend memory. For a host backend `data` is a host pointer;
/// for a device backend, a device address.
struct DeviceBuffer {
  void *data = nullptr;
  size_t bytes = 0;
};

/// How the CPU backend finds the kernel of a family. The default is
/// findCpuKernel; tests pass their own to run the executor on fake kernels.
using KernelLookup = std::function<KernelFn(std::string_view family)>;

struct BackendOptions {
  std::string name = "cpu";  ///< "cpu", "cuda", "hip"
  unsigned threads = 0;      ///< CPU worker threads; 0: hardware concurrency
  KernelLookup kernelLookup; ///< CPU only; empty: findCpuKernel
  bool cudaGraph = false;    ///< cuda, hip: run decode as a CUDA/HIP graph
};

class Backend {
public:
  virtual ~Backend() = default;

  /// "cpu"
  virtual std::string name() const = 0;
  /// One line for `braid-run`: "cpu (8 threads)".
  virtual std::string describe() const = 0;
  /// The bundle target this backend runs ("cpu"; a device backend: the
  /// architecture of its device, e.g. "sm_90a").
  virtual std::string target() const = 0;
  /// True when backend memory is ordinary host memory: the session may then
  /// hand kernels host pointers (mapped checkpoint weights, the caller's ids
  /// and logits) without copies.
  virtual bool hostAddressable() const = 0;

  /// Bytes the backend can still allocate (CPU: the system's available
  /// memory; a GPU: free device memory), or 0 when unknown. Sessions check
  /// what they need against it up front, so that an oversized session is a
  /// clear error rather than a process killed for memory later.
  virtual uint64_t availableMemory() const { return 0; }

  // Memory. allocate returns zeroed memory and throws Error(OutOfMemory).
  // allocate, upload and release may be called from several threads at once
  // while a session loads its weights; everything else from one thread.
  virtual DeviceBuffer allocate(size_t bytes) = 0;
  virtual void release(DeviceBuffer &buffer) = 0;
  virtual void upload(const DeviceBuffer &dst, size_t offset, const void *src,
                      size_t bytes) = 0;
  virtual void download(void *dst, const DeviceBuffer &src, size_t offset,
                        size_t bytes) = 0;
  virtual void fillZero(const DeviceBuffer &dst, size_t offset,
                        size_t bytes) = 0;
  /// Weights of a backend that is not host-addressable: the bytes one
  /// takes in backend memory, and its upload from prepared f32 values (a
  /// device backend may store the manifest's dtype, e.g. bf16). Defaults:
  /// f32 as is.
  virtual size_t weightBytes(const WeightDecl &weight) const;
  virtual void uploadWeight(const DeviceBuffer &dst, const WeightDecl &weight,
                            const float *values);

  // Kernels.
  /// Resolves every launch of every entry (a CPU kernel function, a device
  /// function in the bundle's code object). Throws Error(Unsupported) naming
  /// the first family, entry, launch index and loc it cannot run.
  virtual void prepare(const Manifest &manifest, const Bundle *bundle) = 0;
  /// Runs (or enqueues) launch `launchIndex` of entry `entryIndex` with its
  /// resolved arguments. Returns "" or the kernel's one-line message.
  virtual std::string launch(size_t entryIndex, size_t launchIndex,
                             KernelCall &call) = 0;
  /// Waits for everything launched. Returns "" or a message.
  virtual std::string synchronize() = 0;
  /// Starts everything launched without waiting for it (a device backend
  /// enqueues it; a failure may then show only at the next synchronize()).
  /// Returns "" or a message. Default: synchronize().
  virtual std::string submit() { return synchronize(); }
  /// Whether copyBuffer runs in order with the kernels without the host
  /// waiting (greedy generation on the device needs it; Session.h).
  virtual bool copiesInStreamOrder() const { return hostAddressable(); }
  /// Copies `bytes` from `src` at `srcOffset` to `dst` at `dstOffset`, both
  /// backend buffers, after everything launched or submitted so far and
  /// before what comes next. Default (host-addressable memory): memcpy.
  virtual void copyBuffer(const DeviceBuffer &dst, size_t dstOffset,
                          const DeviceBuffer &src, size_t srcOffset,
                          size_t bytes);
  /// Whether the backend implements `family` (for `braid-run info`).
  virtual bool hasKernel(std::string_view family) const = 0;
};

/// The backend named in `options`. Throws Error(Unsupported) for a backend
/// this runtime was built without, listing the ones it has.
std::unique_ptr<Backend> createBackend(const BackendOptions &options);

/// Test hook: when set, the CPU backends of sessions created afterwards use
/// this lookup instead of findCpuKernel (unless their options carry their
/// own). Lets tests run the C API and sessions on fake kernels. Pass an
/// empty function to restore the default. Not thread-safe.
void setDefaultKernelLookupForTesting(KernelLookup lookup);

/// Names of the backends built into this runtime ("cpu").
std::vector<std::string> availableBackends();

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_BACKEND_H
