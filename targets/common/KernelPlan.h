//===- KernelPlan.h - how a launch becomes GPU kernels ----------*- C++ -*-===//
//
// The contract between a GPU emitter (targets/cuda, later targets/hip) and the
// per-family specializers. A specializer looks at one launch.kernel op (its
// family, attributes and buffer shapes) and returns the device code that
// instantiates the family's templates with the launch's shapes as constants,
// plus how to launch it. One braid op may need several kernels in sequence
// (a split-KV attention and its combine, the chunked SSD scan's passes); they
// share the launch's buffers and workspace.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELPLAN_H
#define BRAID_TARGETS_COMMON_KERNELPLAN_H

#include "dialects/Launch/LaunchOps.h"

#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace braid::gpu {

/// ceil((constant + perBatch*B + perToken*T + perBatchToken*B*T) / divisor):
/// a launch-geometry or workspace size in terms of the run-time B and T.
/// A grid dimension may also be capped by the device: with perSm > 0 it is
/// min(that, perSm * the multiprocessors (SMs, CUs) of the GPU it runs on),
/// the grid of a persistent kernel that walks its work items with the
/// grid's stride (docs/cuda.md, "Launch plans").
struct DimExpr {
  int64_t constant = 0;
  int64_t perBatch = 0;
  int64_t perToken = 0;
  int64_t perBatchToken = 0;
  int64_t divisor = 1;
  int64_t perSm = 0; ///< 0: no cap

  static DimExpr fixed(int64_t value) { return {value, 0, 0, 0, 1}; }
  /// This expression capped at perSm blocks a multiprocessor.
  DimExpr perMultiprocessor(int64_t blocks) const {
    DimExpr d = *this;
    d.perSm = blocks;
    return d;
  }
  /// The value before the device's cap.
  int64_t evaluate(int64_t batch, int64_t tokens) const {
    int64_t n = constant + perBatch * batch + perToken * tokens +
                perBatchToken * batch * tokens;
    return (n + divisor - 1) / divisor;
  }
  bool operator==(const DimExpr &o) const {
    return constant == o.constant && perBatch == o.perBatch &&
           perToken == o.perToken && perBatchToken == o.perBatchToken &&
           divisor == o.divisor && perSm == o.perSm;
  }
};

/// A tensor map (NVIDIA TMA, sm_90+) the runtime encodes for one launch of a
/// kernel and passes as its BraidTensorMaps parameter (kernel_abi.h): a
/// row-major 2-D view of a buffer, `cols` elements of `elementBytes` per row
/// and `rows` rows (B and T resolved at run time), copied in boxes of
/// box[0] columns by box[1] rows with a `swizzle`-byte shared-memory swizzle.
/// Out-of-range parts of a box arrive as zeros.
struct TensorMapSpec {
  int buffer = 0; ///< index into BraidKernelParams.buffers; -1: the workspace
  DimExpr rows;
  int64_t cols = 0;
  int64_t elementBytes = 2;
  std::array<int64_t, 2> box{{0, 0}};
  int64_t swizzle = 128;

  bool operator==(const TensorMapSpec &other) const;
};

/// One device kernel to launch.
struct KernelInvocation {
  std::string function;            // extern "C" name in `source`
  std::array<DimExpr, 3> grid;     // blocks in x, y, z
  std::array<int64_t, 3> block{};  // threads in x, y, z
  int64_t sharedBytes = 0;         // dynamic shared memory
  /// Runs only when the call's rows (B * T) are in [minRows, maxRows]: a
  /// launch may carry variants for different sizes (decode GEMMs: a skinny
  /// kernel for few rows, tensor cores above) and the runtime picks one
  /// without an extra launch. The defaults always run.
  int64_t minRows = 0;
  int64_t maxRows = INT64_MAX;
  bool rowsBounded() const { return minRows > 0 || maxRows != INT64_MAX; }
  /// Its second parameter's maps, in order (empty: no second parameter).
  std::vector<TensorMapSpec> tensorMaps;
};

/// What a specializer returns for one launch.
struct KernelPlan {
  /// A complete translation unit: #includes of the family's templates from
  /// targets/common/kernels/ and the extern "C" __global__ entry points.
  /// The emitter names it by a hash of this text and compiles each distinct
  /// text once, so it must depend only on what the code depends on (shapes,
  /// attributes, element types, architecture), never on which launch asked
  /// for it: no layer name, source location or launch index, not even in a
  /// comment. Then the same layer shape repeated 24 times compiles once.
  std::string source;
  std::vector<KernelInvocation> invocations; // run in order
  DimExpr workspaceBytes;                    // 0 when none
  /// Kernels on the hot path (GEMM, attention, scans) are checked for spills.
  bool hot = false;
};

struct Target {
  std::string vendor; // "cuda" or "hip"
  std::string arch;   // "sm_80", "sm_90a", "gfx942", ...
  bool bf16 = false;  // activation element type of the bundle

  bool isHip() const { return vendor == "hip"; }
  /// Threads of a warp (NVIDIA) or wavefront (AMD CDNA: wave64); launch
  /// geometry is planned in multiples of it.
  int warpSize() const { return isHip() ? 64 : 32; }
};

/// Builds the plan for `kernel`. `name` is a unique prefix for the extern "C"
/// functions of this launch (e.g. "braid_k17"). Errors name the family, the
/// launch's source location and what is not supported.
using Specializer = llvm::Expected<KernelPlan> (*)(launch::KernelOp kernel,
                                                   const Target &target,
                                                   llvm::StringRef name);

/// The specializer of `family`, or nullptr (registered in
/// targets/common/kernels/Specializers.cpp).
Specializer findSpecializer(llvm::StringRef family);

} // namespace braid::gpu

#endif // BRAID_TARGETS_COMMON_KERNELPLAN_H
