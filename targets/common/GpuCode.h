//===- GpuCode.h - launches to specialized GPU translation units -*- C++ -*-===//
//
// The vendor-neutral half of a GPU emitter: asks the per-family specializers
// (KernelPlan.h) for the code of every launch of every entry, once per
// architecture, names each distinct translation unit by a hash of its source
// and of what else its object depends on, and keeps what the manifest needs
// to launch it. targets/cuda/Emitter.cpp (later targets/hip/Emitter.cpp)
// compiles the units and packs the objects.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_GPUCODE_H
#define BRAID_TARGETS_COMMON_GPUCODE_H

#include "targets/common/KernelPlan.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace braid::gpu {

/// The code of one launch for one architecture.
struct LaunchCode {
  std::string module; // "k<hash>": the translation unit / module
  std::vector<KernelInvocation> kernels;
  DimExpr workspace;

  bool operator==(const LaunchCode &other) const;
};

/// One distinct translation unit.
struct TranslationUnit {
  std::string module; // "k<hash>", also the file stem ("k<hash>.cu")
  std::string source;
  std::vector<std::string> archs; // compiled for these, in target order
  bool hot = false;               // some launch using it is hot
  std::string firstUse;           // "linear at 'layers.0.mixer' (prefill #3)"
  unsigned launches = 0;          // launches using it (all entries)
  mlir::Operation *lastLaunch = nullptr;
  std::vector<std::string> functions; // the kernels launched from it
};

struct GpuCodeOptions {
  std::string vendor;             // "cuda" (the manifest key), later "hip"
  std::string vendorTitle;        // "CUDA", for messages
  std::vector<std::string> archs; // code sections, e.g. sm_80, sm_90a
  bool bf16 = false;
  /// Mixed into every module's hash besides its source: the compiler flags
  /// and a digest of the headers the sources include.
  std::string hashSalt;
  /// Leave launches of families without a specializer out (listed in
  /// GpuCode::missing) instead of failing; such code cannot make a bundle.
  bool allowMissing = false;
  /// The specializer registry; null = findSpecializer (tests pass their own).
  Specializer (*lookup)(llvm::StringRef family) = nullptr;
};

struct GpuCode {
  std::string vendor;
  std::vector<std::string> archs;
  bool bf16 = false;
  std::vector<TranslationUnit> units; // in order of first use
  /// For every launch.kernel: its code per architecture (archs' order).
  llvm::DenseMap<mlir::Operation *, std::vector<LaunchCode>> launches;
  /// With allowMissing: "family (N launches)" for each family left out.
  std::vector<std::string> missing;

  const TranslationUnit *findUnit(llvm::StringRef module) const;
  /// The manifest's per-launch object (docs/cuda.md): the first
  /// architecture's code, plus "by_arch" overrides for those that differ.
  llvm::json::Value launchToJSON(mlir::Operation *kernel) const;
};

/// Plans every launch of `module` (launch dialect). Errors list each family
/// without a specializer once, with its launch count and first location,
/// and name the launch of any specializer failure.
llvm::Expected<GpuCode> planGpuCode(mlir::ModuleOp module,
                                    const GpuCodeOptions &options);

/// The activation element type of a launch module: bf16 or f32 (from its
/// weights); other types are an error naming them.
llvm::Expected<bool> moduleIsBF16(mlir::ModuleOp module,
                                  llvm::StringRef vendorTitle);

/// 16 hex digits of the SHA-256 of `text`.
std::string contentHash(llvm::StringRef text);

/// A digest of the device headers a translation unit may include from
/// `root`: every *.cuh under targets/, every header under
/// targets/common/kernels/ and runtime/include/braid/kernel_abi.h. Objects
/// are recompiled when it changes.
std::string digestDeviceHeaders(llvm::StringRef root);

llvm::json::Value dimExprToJSON(const DimExpr &expr);

/// "linear at 'layers.0.mixer' (prefill #3, file:line:col)".
std::string describeLaunch(mlir::Operation *kernel);

} // namespace braid::gpu

#endif // BRAID_TARGETS_COMMON_GPUCODE_H
