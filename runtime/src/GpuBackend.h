//===- GpuBackend.h - what the CUDA and HIP backends share ------*- C++ -*-===//
//
// The vendor-neutral half of a GPU backend: device memory through the
// driver's copy and memset calls, weights in their manifest dtype, the
// pending entry call (launch() records, synchronize() enqueues every kernel
// with the call's B, T, S), the workspace, decode as a graph, the errors
// naming launch and kernel, and the statistics. CudaBackend and HipBackend
// derive from it and supply the driver primitives below and prepare().
//
// Decode as a graph: the first decode (or decode_greedy) for a batch size B
// is captured and run; later calls for that entry and B replay it when
// every kernel's function,
// geometry and parameters are byte-identical to the captured ones (the
// session's buffers do not move between calls), and are captured again
// otherwise.
//
// Profile (BRAID_PROFILE=FILE.json, both vendors): a pair of device events
// around every kernel launched one by one, read back once the entry call
// has finished, and around every graph replay (its kernels are not timed
// one by one: events inside a captured graph would time the capture).
// The backend writes FILE.json when it is destroyed: one record per entry
// call and per kernel, and a summary per entry and kernel family. The
// events cost a little time between kernels, so time a run without the
// profile and use the profile for the split (runtime/README.md).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_GPUBACKEND_H
#define BRAID_RUNTIME_SRC_GPUBACKEND_H

#include "runtime/src/Backend.h"
#include "runtime/src/Error.h"
#include "runtime/src/GpuPlan.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace braid::rt {

class GpuBackend : public Backend {
public:
  /// The vendor's names, for messages ("cuda", "cuLaunchKernel", ...).
  struct Api {
    const char *backend;      ///< "cuda"
    const char *memset;       ///< "cuMemsetD8"
    const char *launch;       ///< "cuLaunchKernel"
    const char *beginCapture; ///< "cuStreamBeginCapture"
    const char *endCapture;   ///< "cuStreamEndCapture"
    const char *instantiate;  ///< "cuGraphInstantiate"
    const char *graphLaunch;  ///< "cuGraphLaunch"
    const char *syncEnv;      ///< "BRAID_CUDA_SYNC": wait after every kernel
    const char *statsEnv;     ///< "BRAID_CUDA_STATS": print Stats at the end
  };

  std::string name() const override { return api.backend; }
  std::string target() const override { return api.backend; }
  bool hostAddressable() const override { return false; }

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

  std::string launch(size_t entryIndex, size_t launchIndex,
                     KernelCall &call) override;
  std::string synchronize() override;
  /// Enqueues the pending call (its graph or its kernels) without waiting;
  /// with the profile on it waits (the events are read per call).
  std::string submit() override;
  bool copiesInStreamOrder() const override { return hasStreamCopy(); }
  void copyBuffer(const DeviceBuffer &dst, size_t dstOffset,
                  const DeviceBuffer &src, size_t srcOffset,
                  size_t bytes) override;
  /// The kernels come from the bundle: every family can be run if the
  /// bundle has code for it (prepare checks).
  bool hasKernel(std::string_view) const override { return true; }

  struct Stats {
    uint64_t kernels = 0;       ///< kernels launched one by one
    uint64_t graphCaptures = 0; ///< decode graphs captured
    uint64_t graphReplays = 0;  ///< decode calls run by a graph
    uint64_t skipped = 0;       ///< launches BRAID_SKIP_KERNELS left out
  };
  const Stats &stats() const { return counters; }
  /// The code section prepare() chose.
  const gpu::ArchChoice &code() const { return choice; }

protected:
  /// The code section prepare() chose: "m.bundle (section 'code.gfx942')",
  /// and its modules' bytes by module name.
  std::string sectionLabel;
  std::map<std::string, std::string_view> payloads;
  /// Module `name` copied into 8-byte-aligned memory (archive members have
  /// no alignment; code objects want it), NUL-padded so PTX text ends in a
  /// NUL. A missing module is an error naming `user`, the launch needing it.
  std::vector<uint64_t> moduleImage(const std::string &name,
                                    const std::string &user) const;
  GpuBackend(const Api &api, bool graphs);
  /// Waits, frees the workspace and graphs, prints the statistics. The
  /// derived destructor calls it first (it needs the driver primitives).
  void shutdown();

  // The driver primitives: a vendor status, 0 for success.
  virtual int memAlloc(void **ptr, size_t bytes) = 0;
  virtual void memFree(void *ptr) = 0;
  virtual int copyToDevice(void *dst, const void *src, size_t bytes) = 0;
  virtual int copyFromDevice(void *dst, const void *src, size_t bytes) = 0;
  virtual int memZero(void *dst, size_t bytes) = 0;
  /// A device-to-device copy on the backend's stream (the host does not
  /// wait); hasStreamCopy() is false where the driver lacks it.
  virtual bool hasStreamCopy() const = 0;
  virtual int copyOnStream(void *dst, const void *src, size_t bytes) = 0;
  /// Launches `op`, with op.maps as its second parameter when it has tensor
  /// maps.
  virtual int launchKernel(const gpu::KernelOp &op) = 0;
  /// Encodes the tensor maps of kernels that load through them; none where
  /// the vendor or its driver has no such unit (a kernel needing one then
  /// fails to launch, named).
  virtual gpu::TensorMapEncoder tensorMapEncoder() { return nullptr; }
  /// The device's SMs (CUDA) or CUs (HIP), which cap persistent grids
  /// (DimExpr::perSm); 0 when the driver did not say.
  virtual int64_t multiprocessorCount() const = 0;
  virtual int streamSync() = 0;
  virtual int beginCapture() = 0;
  virtual int endCapture(void **graph) = 0;
  virtual int instantiate(void **exec, void *graph) = 0;
  virtual void destroyGraph(void *graph) = 0;
  virtual void destroyExec(void *exec) = 0;
  virtual int graphLaunch(void *exec) = 0;
  // Device events, for the profile only: a vendor status, 0 for success.
  // hasEvents() is false where the driver lacks them.
  virtual bool hasEvents() const = 0;
  virtual int eventCreate(void **event) = 0;
  virtual int eventRecord(void *event) = 0;
  virtual int eventElapsed(float *milliseconds, void *start, void *end) = 0;
  virtual void eventDestroy(void *event) = 0;
  virtual std::string errorText(int status) const = 0;
  virtual bool outOfMemory(int status) const = 0;
  /// Makes the device current on the calling thread.
  virtual void makeCurrent() const = 0;

  /// Throws Error(code) "<what>: <error text>" unless r is 0 (out of memory:
  /// Error(OutOfMemory)).
  void check(int r, const std::string &what,
             ErrorCode code = ErrorCode::Kernel) const;
  /// The end of prepare(): the launches with their functions (names the
  /// entries, finds "decode").
  void setPrepared(const Manifest &manifest,
                   std::vector<std::vector<gpu::PreparedLaunch>> launches);

  Api api;             ///< a backend may name another launch call once prepared
  bool graphs = false; ///< decode as a graph
  bool syncEach = false; ///< api.syncEnv is set
  gpu::ArchChoice choice;
  std::vector<std::vector<gpu::PreparedLaunch>> prepared;

private:
  struct Graph {
    void *exec = nullptr;
    std::vector<gpu::KernelOp> ops;
  };
  /// Grows `buffer` to at least `bytes` (after waiting for the stream).
  void ensureBuffer(void *&buffer, size_t &capacity, size_t bytes,
                    const char *what);
  std::vector<gpu::KernelOp> buildOps(size_t entry);
  /// `timed`: record a pair of profile events around every kernel.
  void runOps(size_t entry, const std::vector<gpu::KernelOp> &ops,
              bool timed = false);
  void runGraph(size_t entry, int64_t batch, std::vector<gpu::KernelOp> &ops);
  void destroyGraphs();
  /// Runs the pending call; `wait`: then waits for the stream.
  std::string flush(bool wait = true);
  /// Error handling around flush() for synchronize() and submit().
  std::string finish(bool wait);

  // The profile (BRAID_PROFILE).
  struct ProfiledCall {
    std::string entry;
    int64_t batch = 0, tokens = 0;
    bool graph = false; ///< a graph replay (or capture and replay)
    double ms = 0;      ///< first kernel's start to last kernel's end
  };
  struct ProfiledKernel {
    size_t call = 0;   ///< index into profileCalls
    size_t launch = 0; ///< the launch's index in its entry
    std::string family, function, location;
    unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
    double ms = 0;
  };
  /// Makes `count` events exist (false, and the profile off, on failure).
  bool ensureEvents(size_t count);
  /// Reads the events of the finished call back into the profile.
  void recordCall(size_t entry, const std::vector<gpu::KernelOp> &ops,
                  bool graph);
  /// Drops the profile with a warning naming `what` failed.
  void stopProfile(const std::string &what);
  void writeProfile();

  std::string profilePath; ///< "" when not profiling
  std::vector<void *> events;
  std::vector<ProfiledCall> profileCalls;
  std::vector<ProfiledKernel> profileKernels;

  /// Whether BRAID_SKIP_KERNELS leaves out the launch labelled `label`
  /// (warning once that the results are wrong).
  bool skipsKernel(const std::string &label);

  bool printStats = false;
  /// BRAID_SKIP_KERNELS: launches whose label contains one of these are not
  /// run (timing attribution: what a step costs without them).
  std::vector<std::string> skipKernels;
  bool warnedSkip = false;
  /// BRAID_LIST_KERNELS: print each entry's launch labels at its first call.
  bool listKernels = false;
  std::set<size_t> listedEntries;
  std::vector<std::string> entryNames;
  std::vector<size_t> graphEntries; ///< decode, decode_greedy
  gpu::PendingCall pending;
  void *workspace = nullptr;
  size_t workspaceBytes = 0;
  /// By entry and batch size.
  std::map<std::pair<size_t, int64_t>, Graph> decodeGraphs;
  Stats counters;
};

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_GPUBACKEND_H
