//===- Specializers.h - per-family GPU kernel specializers ------*- C++ -*-===//
//
// Families are split over two tables so that their owners work in separate
// files: dense families (GEMM-based and element-wise) and sequence families
// (attention and scans). findSpecializer (KernelPlan.h) consults both.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SPECIALIZERS_H
#define BRAID_TARGETS_COMMON_KERNELS_SPECIALIZERS_H

#include "targets/common/KernelPlan.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace braid::gpu {

/// linear, moe, activation, add, mul, scale, rms_norm, layer_norm,
/// gated_rms_norm, rope, embedding, split, concat, gather_last, greedy_next,
/// merge, causal_conv1d.
Specializer findDenseSpecializer(llvm::StringRef family);

/// attention, mla, ssd_scan, mamba2_step, selective_scan.
Specializer findSequenceSpecializer(llvm::StringRef family);
/// fused_elementwise (SpecializersFused.cpp).
Specializer findFusedSpecializer(llvm::StringRef family);

/// A specializer's error: "<family> (<source>): <problem> [<loc>]".
inline llvm::Error launchError(launch::KernelOp op, const std::string &problem) {
  std::string where = op.getFamily().str();
  if (!op.getSource().empty())
    where += " (" + op.getSource().str() + ")";
  std::string loc;
  llvm::raw_string_ostream os(loc);
  op.getLoc().print(os);
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s [%s]",
                                 where.c_str(), problem.c_str(), loc.c_str());
}

/// An exact C++ float literal for generated source (hexadecimal, so the
/// value round-trips bit for bit), or INFINITY, (-INFINITY), NAN.
inline std::string floatLit(float v) {
  if (std::isinf(v))
    return v > 0 ? "INFINITY" : "(-INFINITY)";
  if (std::isnan(v))
    return "NAN";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%af", static_cast<double>(v));
  return v < 0 ? "(" + std::string(buf) + ")" : std::string(buf);
}

} // namespace braid::gpu

#endif // BRAID_TARGETS_COMMON_KERNELS_SPECIALIZERS_H
