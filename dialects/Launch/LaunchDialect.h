//===- LaunchDialect.h - the launch dialect ---------------------*- C++ -*-===//
#ifndef BRAID_DIALECTS_LAUNCH_LAUNCHDIALECT_H
#define BRAID_DIALECTS_LAUNCH_LAUNCHDIALECT_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialects/Launch/LaunchDialect.h.inc"
#include "dialects/Launch/LaunchEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Launch/LaunchAttrs.h.inc"

namespace braid::launch {

/// Symbolic dimensions of launch shapes, stored as these negative values.
constexpr int64_t kDimBatch = -1;  // "B": sequences in the call
constexpr int64_t kDimTokens = -2; // "T": tokens per sequence in the call
constexpr int64_t kDimMaxSeq = -3; // "S": the session's maximum length

/// "B", "T", "S" or the number.
std::string formatDim(int64_t dim);

/// Whether entry `name` runs one token per sequence (T = 1) on held
/// sequences: `decode`, and `decode_greedy`, which runs decode's launches
/// (and must get decode's kernels) before its greedy_next.
inline bool isDecodeEntry(llvm::StringRef name) {
  return name == "decode" || name == "decode_greedy";
}

} // namespace braid::launch

#endif // BRAID_DIALECTS_LAUNCH_LAUNCHDIALECT_H
