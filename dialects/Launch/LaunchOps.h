//===- LaunchOps.h - operations of the launch dialect -----------*- C++ -*-===//
#ifndef BRAID_DIALECTS_LAUNCH_LAUNCHOPS_H
#define BRAID_DIALECTS_LAUNCH_LAUNCHOPS_H

#include "dialects/Launch/LaunchDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"

#define GET_OP_CLASSES
#include "dialects/Launch/LaunchOps.h.inc"

#endif // BRAID_DIALECTS_LAUNCH_LAUNCHOPS_H
