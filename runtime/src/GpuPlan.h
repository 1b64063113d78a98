//===- GpuPlan.h - what a GPU bundle says about its launches ----*- C++ -*-===//
//
// The vendor-neutral, driver-free half of the GPU backends (CUDA, HIP), so
// that it can be tested on a machine without a GPU: the code section archive
// (docs/cuda.md), the per-launch vendor objects of the manifest ("cuda",
// "hip"), DimExpr evaluation, how a launch's arguments are packed into
// BraidKernelParams (runtime/include/braid/kernel_abi.h), and the record of
// one entry call that a backend turns into kernel launches at synchronize.
// What differs per vendor (architecture names, the choice of a code section
// for a device) lives in CudaPlan.h and HipPlan.h.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_GPUPLAN_H
#define BRAID_RUNTIME_SRC_GPUPLAN_H

#include "braid/kernel_abi.h"
#include "runtime/src/Manifest.h"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace braid::rt::gpu {

//===----------------------------------------------------------------------===//
// Code archives
//===----------------------------------------------------------------------===//

/// "BKAR" read as a little-endian u32, and the archive version.
constexpr uint32_t kCodeArchiveMagic = 0x52414B42;
constexpr uint32_t kCodeArchiveVersion = 1;

struct CodeModule {
  std::string name;         ///< "k3f2a9c1e"
  std::string_view payload; ///< cubin, or NUL-terminated PTX (into the input)
};

/// Parses a `code.<arch>` section. Throws Error(Bundle) "`what`: ..." naming
/// what is wrong and at which byte (bad magic, version, truncation, an empty
/// or duplicate module name, trailing bytes).
std::vector<CodeModule> parseCodeArchive(std::string_view bytes,
                                         const std::string &what);

/// The code section a backend chose for its device.
struct ArchChoice {
  std::string arch;    ///< "sm_90a", "gfx942"
  std::string section; ///< "code.sm_90a"
  bool ptx = false;    ///< JIT-compiled by the driver (CUDA only)
  std::string reason;  ///< "exact match", "PTX for compute_90, JIT-compiled"
};

/// The names of the bundle's code sections ("code.sm_90a, code.gfx942"), or
/// "" when it has none.
std::string listCodeSections(const std::vector<std::string> &sections);

//===----------------------------------------------------------------------===//
// Launch plans (the manifest's per-launch vendor objects)
//===----------------------------------------------------------------------===//

/// ceil((constant + perBatch*B + perToken*T + perBatchToken*B*T) / divisor),
/// and for a grid dimension with perSm > 0 at most perSm blocks a
/// multiprocessor of the device (a persistent grid; the manifest's
/// optional "per_sm").
struct DimExpr {
  int64_t constant = 0;
  int64_t perBatch = 0;
  int64_t perToken = 0;
  int64_t perBatchToken = 0;
  int64_t divisor = 1;
  int64_t perSm = 0; ///< 0: no cap

  /// The value for B and T on a device of `multiprocessors` SMs or CUs;
  /// nullopt on overflow, a negative value, or a cap per multiprocessor
  /// on a device whose count is unknown (0).
  std::optional<int64_t> evaluate(int64_t batch, int64_t tokens,
                                  int64_t multiprocessors = 0) const;
  /// "ceil((296 + 0*B + 0*T + 0*B*T) / 64)", shortened: "ceil(296 / 64)";
  /// capped: "min(ceil(4096*B*T / 128), 1*SMs)".
  std::string str() const;
};

/// A tensor map (NVIDIA TMA) a kernel takes in its BraidTensorMaps
/// parameter: buffers[buffer] (-1: the workspace) seen as `rows` rows of
/// `cols` elements of `elementBytes`, row-major and dense, copied in boxes of
/// box[0] columns by box[1] rows with a `swizzle`-byte shared-memory swizzle
/// (0, 32, 64 or 128). The manifest's "tensor_maps" (docs/cuda.md).
struct TensorMapSpec {
  int buffer = 0;
  DimExpr rows;
  int64_t cols = 0;
  int64_t elementBytes = 2;
  std::array<int64_t, 2> box{{0, 0}};
  int64_t swizzle = 128;
};

struct KernelSpec {
  std::string function;
  std::array<DimExpr, 3> grid;
  std::array<int64_t, 3> block{{1, 1, 1}};
  int64_t sharedBytes = 0;
  /// Enqueued only for calls whose rows (B * T) are in [minRows, maxRows]
  /// (the manifest's optional "rows"): a launch's variants by size.
  int64_t minRows = 0;
  int64_t maxRows = INT64_MAX;
  bool runsFor(int64_t rows) const {
    return rows >= minRows && rows <= maxRows;
  }
  /// At most BRAID_MAX_TENSOR_MAPS; none: the kernel has one parameter.
  std::vector<TensorMapSpec> tensorMaps;
};

struct LaunchCode {
  std::string module;
  DimExpr workspace;
  std::vector<KernelSpec> kernels;
};

/// plans[entry][launch]: the code of every launch of every entry for code
/// section `arch`: the launch's `vendor` object, or its "by_arch"[arch]
/// override when it has one. Throws Error(Bundle) "manifest: entries[0]
/// (prefill).launches[3] (linear at layers.0.mixer).cuda...: ..." on a
/// missing or malformed field, a launch with more buffers than
/// BRAID_MAX_KERNEL_BUFFERS, or an output written in a type other than f32
/// or bf16.
std::vector<std::vector<LaunchCode>>
parseLaunchPlans(std::string_view manifestJson, const Manifest &manifest,
                 const std::string &vendor, const std::string &arch);

//===----------------------------------------------------------------------===//
// Kernel parameters
//===----------------------------------------------------------------------===//

/// Where a launch finds the run-time B, T and S and the cache_position input
/// (computed once from the manifest): the first operand/result dimension
/// that is each symbol, and the operand that is the entry input
/// cache_position.
struct ArgPosition {
  bool result = false;
  int arg = -1; ///< -1: none
  int dim = 0;
};
struct LaunchSymbols {
  std::array<ArgPosition, 3> dims; ///< B, T, S
  int cachePositionOperand = -1;
};
LaunchSymbols findLaunchSymbols(const Launch &launch);

/// The symbolic dimensions and cache_position pointer of one entry call,
/// gathered from its launches' views (noteLaunch, in launch order).
struct CallSymbols {
  std::array<int64_t, 3> dims{{-1, -1, -1}}; ///< B, T, S; -1 until seen
  const int64_t *cachePosition = nullptr;

  void noteLaunch(const LaunchSymbols &symbols, const KernelCall &call);
};

/// BraidKernelParams.buffers of a launch: its operands then its results in
/// manifest order, nullptr for an absent operand; the rest zeroed. Throws
/// Error(Internal) beyond BRAID_MAX_KERNEL_BUFFERS buffers.
void packBuffers(const KernelCall &call, BraidKernelParams &params);

/// The whole parameter block: packBuffers plus workspace, cache_position
/// and B, T, S (an S never seen is 0).
BraidKernelParams packParams(const KernelCall &call, const CallSymbols &symbols,
                             void *workspace);

//===----------------------------------------------------------------------===//
// One entry call, from launch() to synchronize()
//===----------------------------------------------------------------------===//

/// A launch as a backend resolved it in prepare(): its plan and one device
/// function handle per kernel of the plan.
struct PreparedLaunch {
  const Launch *launch = nullptr;
  std::string label; ///< "launch 3 (linear at layers.0.mixer)"
  LaunchCode code;
  LaunchSymbols symbols;
  std::vector<void *> functions; ///< one per code.kernels
};

/// One kernel launch with everything resolved.
struct KernelOp {
  void *function = nullptr;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned sharedBytes = 0;
  BraidKernelParams params;
  /// The encoded maps[0, tensorMaps) of a kernel that takes them (its
  /// second parameter); 0: it takes BraidKernelParams only.
  unsigned tensorMaps = 0;
  BraidTensorMaps maps;
  size_t launch = 0; ///< index into the entry's launches
  size_t kernel = 0; ///< index into its code.kernels
  /// Same function, geometry and parameters (graph replay is valid).
  bool sameAs(const KernelOp &other) const;
};

/// Fills `out` for the map `spec` of buffer `base` at `rows` rows (B and T
/// resolved). Returns "" or why it could not (the caller names the kernel
/// and the map, so a successful call builds no message).
using TensorMapEncoder =
    std::function<std::string(const TensorMapSpec &spec, void *base,
                              int64_t rows, BraidTensorMap &out)>;

/// "launch 3 (linear at layers.0.mixer), kernel 'braid_linear_main' of module
/// k3f2..., grid [4, 1, 1], block [256, 1, 1], 0 bytes of shared memory"
/// (the geometry only with `op`).
std::string kernelLabel(const PreparedLaunch &p, size_t kernel,
                        const KernelOp *op = nullptr);

/// True when `ops` are byte for byte the ones a graph captured.
bool sameOps(const std::vector<KernelOp> &a, const std::vector<KernelOp> &b);

/// The launches of the entry call in progress: Backend::launch records each
/// one's buffers; synchronize turns them into KernelOps once the call's B, T,
/// S and cache_position are known (deferring gives every kernel those even
/// when its own launch has no argument carrying them).
class PendingCall {
public:
  /// Records launch `index` of `entry` (launch 0, or another entry, starts
  /// a new call: an earlier one may have stopped half-way).
  void add(size_t entry, size_t index, const PreparedLaunch &p,
           const KernelCall &call);
  void clear();
  std::optional<size_t> entry() const { return entry_; }
  size_t size() const { return pending.size(); }
  const CallSymbols &symbols() const { return symbols_; }

  /// Device bytes the call needs: the largest workspace of its launches.
  /// Throws Error(Internal) when B or T is unknown, Error(Bundle) for a
  /// workspace that does not evaluate.
  struct Sizes {
    size_t workspace = 0;
  };
  Sizes sizes(const std::vector<PreparedLaunch> &launches) const;

  /// The kernels to enqueue, in order, with the workspace address given:
  /// those whose row range holds the call's B * T, their tensor maps
  /// encoded by `encode`, their grids capped for a device of
  /// `multiprocessors` SMs or CUs where the plan says so (0: unknown).
  /// Throws Error(Kernel) naming the kernel for a grid out of range or
  /// capped on a device of unknown size, Error(Unsupported) for tensor
  /// maps without an encoder.
  std::vector<KernelOp> ops(const std::vector<PreparedLaunch> &launches,
                            void *workspace,
                            const TensorMapEncoder &encode = nullptr,
                            int64_t multiprocessors = 0) const;

private:
  struct Pending {
    size_t launch;
    BraidKernelParams params; ///< buffers only until synchronize
  };
  std::optional<size_t> entry_;
  std::vector<Pending> pending;
  CallSymbols symbols_;
};

/// Resolves kernel `spec` of module `module` for `user` ("prefill: launch 3
/// (linear at layers.0.mixer)"); throws naming what is missing.
using FunctionResolver =
    std::function<void *(const std::string &module, const KernelSpec &spec,
                         const std::string &user)>;

/// Every launch of every entry with its plan (plans[entry][launch], from
/// parseLaunchPlans) and its functions, resolved in launch order.
std::vector<std::vector<PreparedLaunch>>
prepareLaunches(const Manifest &manifest,
                std::vector<std::vector<LaunchCode>> plans,
                const FunctionResolver &resolve);

/// A weight's prepared f32 values in its manifest dtype (f32, bf16, f16),
/// as the bytes a GPU backend uploads. Throws Error(Unsupported) naming the
/// weight and `backend` for another dtype.
std::vector<char> deviceWeightBytes(const WeightDecl &weight,
                                    const float *values, const char *backend);

} // namespace braid::rt::gpu

#endif // BRAID_RUNTIME_SRC_GPUPLAN_H
