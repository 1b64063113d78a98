//===- LaunchStats.h - launches and bytes moved per layer -------*- C++ -*-===//
//
// What fusion buys, counted on the launch IR: per layer (the `layers.N`
// prefix of a launch's source; `(model)` for embedding, final norm and head),
// the number of kernel launches and the bytes each entry moves: every
// operand and result buffer of every launch once (weights read, activations
// and states read and written), at B = 1, prefill T = 4096, decode T = 1,
// states at S = 4096 (a full cache). A floor for memory traffic, not a
// measurement: kernels may read a buffer more than once, and an embedding
// counts its whole table (it reads B*T rows of it).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_COMPILER_PIPELINES_LAUNCHSTATS_H
#define BRAID_COMPILER_PIPELINES_LAUNCHSTATS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>

namespace braid {

struct LayerTraffic {
  int64_t launches = 0;
  int64_t prefillBytes = 0;
  int64_t decodeBytes = 0;
};

/// Per layer name, in order of first launch.
using LayerTrafficMap =
    llvm::MapVector<std::string, LayerTraffic, std::map<std::string, unsigned>>;

/// The dimensions the byte counts use.
struct TrafficShape {
  int64_t batch = 1;
  int64_t prefillTokens = 4096;
  int64_t decodeTokens = 1;
  int64_t maxSeq = 4096;
};

/// Per layer, in order of first launch, from a module in the launch dialect.
LayerTrafficMap countLaunchTraffic(mlir::ModuleOp launchModule,
                                   const TrafficShape &shape = {});

/// Prints the per-layer table before -> after fusion and the totals.
/// `unfused` and `fused` may be in the braid dialect (a copy is lowered with
/// braid-lower-to-launch, with its GEMM epilogue fusion on the fused side
/// only) or already lowered; `unfused` may be null (fusion off), then one
/// column is printed.
mlir::LogicalResult printFusionStats(mlir::ModuleOp unfused,
                                     mlir::ModuleOp fused,
                                     llvm::raw_ostream &os);

} // namespace braid

#endif // BRAID_COMPILER_PIPELINES_LAUNCHSTATS_H
