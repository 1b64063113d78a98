//===- CudaPlan.h - what a GPU bundle says about its launches ---*- C++ -*-===//
//
// The driver-free half of the CUDA backend, so that it can be tested on a
// machine without a GPU: the code section archive (docs/cuda.md), the choice
// of a code section for a device, the per-launch "cuda" objects of the
// manifest, DimExpr evaluation, and how a launch's arguments are packed into
// BraidKernelParams (runtime/include/braid/kernel_abi.h). Nothing here
// talks to the driver. The vendor key ("cuda") is a parameter so that a HIP
// backend can reuse it.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_BACKENDS_CUDA_CUDAPLAN_H
#define BRAID_RUNTIME_BACKENDS_CUDA_CUDAPLAN_H

#include "braid/kernel_abi.h"
#include "runtime/src/Manifest.h"

#include <array>
#include <cstdint>
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

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

/// A code section's architecture: "sm_90a" -> {90, 'a', false}, "compute_90"
/// -> {90, 0, true}.
struct ArchName {
  int number = 0;   ///< major * 10 + minor (sm_100: 100)
  char suffix = 0;  ///< 'a' (architecture-specific), 'f' (family), or 0
  bool ptx = false; ///< compute_XY: PTX for the driver to compile
};
std::optional<ArchName> parseArchName(std::string_view arch);

struct ArchChoice {
  std::string arch;    ///< "sm_90a"
  std::string section; ///< "code.sm_90a"
  bool ptx = false;    ///< JIT-compiled by the driver
  std::string reason;  ///< "exact match", "PTX for compute_90, JIT-compiled"
};

/// The best code section for a device of compute capability major.minor
/// among `sections` (all section names of the bundle; others than code.*
/// are ignored), in this order: a cubin for exactly the device
/// (sm_XYa, then sm_XY); a cubin of the same major version and a lower minor
/// (binary compatible, no 'a'/'f' suffix), the highest; PTX (compute_XY with
/// XY <= the device, compute_XYa only for exactly the device), the highest.
/// nullopt when none fits.
std::optional<ArchChoice> chooseArch(int major, int minor,
                                     const std::vector<std::string> &sections);

/// "sm_90" for 9.0.
std::string deviceArch(int major, int minor);

//===----------------------------------------------------------------------===//
// Launch plans (the manifest's per-launch vendor objects)
//===----------------------------------------------------------------------===//

/// ceil((constant + perBatch*B + perToken*T + perBatchToken*B*T) / divisor).
struct DimExpr {
  int64_t constant = 0;
  int64_t perBatch = 0;
  int64_t perToken = 0;
  int64_t perBatchToken = 0;
  int64_t divisor = 1;

  /// The value for B and T; nullopt on overflow or a negative value.
  std::optional<int64_t> evaluate(int64_t batch, int64_t tokens) const;
  /// "ceil((296 + 0*B + 0*T + 0*B*T) / 64)", shortened: "ceil(296 / 64)".
  std::string str() const;
};

struct KernelSpec {
  std::string function;
  std::array<DimExpr, 3> grid;
  std::array<int64_t, 3> block{{1, 1, 1}};
  int64_t sharedBytes = 0;
};

struct LaunchCode {
  std::string module;
  DimExpr workspace;
  std::vector<KernelSpec> kernels;
  /// Results that are entry outputs (f32 logits) but that the kernels write
  /// as bf16 (the launch's result says "dtype": "bf16"): the backend gives
  /// the kernels a bf16 buffer and widens it into the output afterwards.
  std::vector<int> widenResults;
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

} // namespace braid::rt::gpu

#endif // BRAID_RUNTIME_BACKENDS_CUDA_CUDAPLAN_H
