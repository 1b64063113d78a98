//===- BraidOps.h - operations of the braid dialect -------------*- C++ -*-===//
#ifndef BRAID_DIALECTS_BRAID_BRAIDOPS_H
#define BRAID_DIALECTS_BRAID_BRAIDOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Braid/BraidDialect.h"
#include "dialects/Braid/BraidEnums.h.inc"

#define GET_OP_CLASSES
#include "dialects/Braid/BraidOps.h.inc"

namespace braid {
/// Adds the canonicalization patterns of every braid op to `patterns`, for
/// pipelines that canonicalize braid IR as one of their steps.
void populateBraidCanonicalizationPatterns(mlir::RewritePatternSet &patterns);
} // namespace braid

#endif // BRAID_DIALECTS_BRAID_BRAIDOPS_H
