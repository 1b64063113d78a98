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
// Entry outputs are f32 (the logits). A launch whose kernels write one as
// bf16 (a bf16 bundle's lm_head; its result says "dtype": "bf16") gets a
// bf16 scratch buffer instead, and a small kernel of the runtime's own
// (PTX, JIT-compiled by the driver) widens it into the output.
//
// Decode as a CUDA graph (BackendOptions::cudaGraph): the first decode for
// a batch size B is captured into a graph and run; later decodes for that B
// replay it when every kernel's function, geometry and parameters are
// byte-identical to the captured ones (the session's buffers do not move
// between calls), and are captured again otherwise. The output is that of
// the same kernels launched one by one.
//
// Environment: BRAID_CUDA_SYNC=1 waits after every kernel so that an
// asynchronous fault (an illegal address) names its kernel (no graphs then);
// BRAID_CUDA_STATS=1 prints kernel, capture and replay counts to stderr when
// the backend is destroyed; BRAID_CUDA_DRIVER names another driver library.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CUDA_CUDABACKEND_H
#define BRAID_RUNTIME_BACKENDS_CUDA_CUDABACKEND_H

#include "runtime/backends/cuda/CudaDriver.h"
#include "runtime/backends/cuda/CudaPlan.h"
#include "runtime/src/Backend.h"
#include "runtime/src/Error.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace braid::rt {

class CudaBackend final : public Backend {
public:
  /// Takes device `ordinal`'s primary context. Throws Error(Unsupported)
  /// when there is no such device.
  CudaBackend(const cu::CudaDriver &driver, bool cudaGraph, int ordinal = 0);
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  /// "cuda: NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, CUDA 13.0 driver), code
  /// code.sm_90a, decode as a CUDA graph"
  std::string describe() const override;
  /// "cuda": a bundle compiled for CUDA lists it among its targets; which of
  /// its code sections suits the device is decided by prepare().
  std::string target() const override { return "cuda"; }
  bool hostAddressable() const override { return false; }
  uint64_t availableMemory() const override;

  DeviceBuffer allocate(size_t bytes) override;
  void release(DeviceBuffer &buffer) override;
  void upload(const DeviceBuffer &dst, size_t offset, const void *src,
              size_t bytes) override;
  void download(void *dst, const DeviceBuffer &src, size_t offset,
                size_t bytes) override;
  void fillZero(const DeviceBuffer &dst, size_t offset, size_t bytes) override;
  size_t weightBytes(const WeightDecl &weight) const override;
  void uploadWeight(const DeviceBuffer &dst, const WeightDecl &weight,
                    const float *values) override;

  void prepare(const Manifest &manifest, const Bundle *bundle) override;
  std::string launch(size_t entryIndex, size_t launchIndex,
                     KernelCall &call) override;
  std::string synchronize() override;
  /// The kernels come from the bundle: every family can be run if the
  /// bundle has code for it (prepare checks).
  bool hasKernel(std::string_view) const override { return true; }

  struct Stats {
    uint64_t kernels = 0;       ///< kernels launched one by one
    uint64_t graphCaptures = 0; ///< decode graphs captured
    uint64_t graphReplays = 0;  ///< decode calls run by a graph
  };
  const Stats &stats() const { return counters; }
  /// The code section prepare() chose.
  const gpu::ArchChoice &code() const { return choice; }

private:
  struct PreparedLaunch {
    const Launch *launch = nullptr;
    std::string label; ///< "launch 3 (linear at layers.0.mixer)"
    gpu::LaunchCode code;
    gpu::LaunchSymbols symbols;
    std::vector<cu::CUfunction> functions; ///< one per code.kernels
  };
  /// One kernel launch with everything resolved.
  struct Op {
    cu::CUfunction function = nullptr;
    unsigned grid[3] = {1, 1, 1};
    unsigned block[3] = {1, 1, 1};
    unsigned sharedBytes = 0;
    BraidKernelParams params;
    size_t launch = 0; ///< index into the entry's launches
    size_t kernel = 0; ///< index into its code.kernels; kWiden: widening
    bool sameAs(const Op &other) const;
  };
  static constexpr size_t kWiden = ~size_t(0);
  struct Widen {
    size_t buffer; ///< index into BraidKernelParams.buffers
    void *output;  ///< the f32 entry output
    int64_t numel;
  };
  struct Pending {
    size_t launch;
    BraidKernelParams params; ///< buffers only until synchronize
    std::vector<Widen> widen;
  };
  struct Graph {
    cu::CUgraphExec exec = nullptr;
    std::vector<Op> ops;
  };

  void makeCurrent() const;
  /// Throws Error(code) "<what>: <CUDA error>" unless r is CUDA_SUCCESS.
  void check(cu::CUresult r, const std::string &what,
             ErrorCode code = ErrorCode::Kernel) const;
  std::string kernelLabel(const PreparedLaunch &p, size_t kernel,
                          const Op *op = nullptr) const;
  cu::CUmodule loadModule(const std::string &name, const std::string &user);
  cu::CUfunction resolveFunction(cu::CUmodule module,
                                 const std::string &moduleName,
                                 const gpu::KernelSpec &spec,
                                 const std::string &user);
  std::vector<Op> buildOps(size_t entry);
  /// Grows `buffer` to at least `bytes` (after waiting for the stream).
  void ensureBuffer(cu::CUdeviceptr &buffer, size_t &capacity, size_t bytes,
                    const char *what);
  void runOps(size_t entry, const std::vector<Op> &ops);
  void runGraph(size_t entry, int64_t batch, std::vector<Op> &ops);
  void destroyGraphs();
  std::string flush();

  const cu::CudaDriver &driver;
  cu::CUdevice device = 0;
  cu::CUcontext context = nullptr;
  cu::CUstream stream = nullptr;
  std::string deviceName;
  int ccMajor = 0, ccMinor = 0, multiprocessors = 0, maxSharedOptin = 0;
  bool graphs = false;
  bool syncEach = false;
  bool printStats = false;

  // prepare()
  const Bundle *bundle = nullptr;
  gpu::ArchChoice choice;
  std::string sectionLabel; ///< "bundle.bundle (section 'code.sm_90a')"
  std::map<std::string, std::string_view> payloads; ///< module -> bytes
  std::map<std::string, cu::CUmodule> modules;
  cu::CUmodule widenModule = nullptr;
  cu::CUfunction widenFunction = nullptr;
  std::map<std::pair<std::string, std::string>, cu::CUfunction> functions;
  std::map<cu::CUfunction, int64_t> dynamicSharedSet;
  std::vector<std::vector<PreparedLaunch>> prepared;
  std::vector<std::string> entryNames;
  std::optional<size_t> decodeEntry;

  // Per call.
  std::optional<size_t> pendingEntry;
  std::vector<Pending> pending;
  gpu::CallSymbols symbols;
  cu::CUdeviceptr workspace = 0;
  size_t workspaceBytes = 0;
  cu::CUdeviceptr scratch = 0; ///< bf16 outputs before widening
  size_t scratchBytes = 0;
  std::map<int64_t, Graph> decodeGraphs; ///< by batch size
  Stats counters;
};

/// The CUDA backend on the process-wide driver (cu::cudaDriver()). Throws
/// Error(Unsupported) "no CUDA driver: libcuda.so.1 not found (...)" where
/// there is none.
std::unique_ptr<Backend> createCudaBackend(const BackendOptions &options);

} // namespace braid::rt

#endif // BRAID_RUNTIME_BACKENDS_CUDA_CUDABACKEND_H
