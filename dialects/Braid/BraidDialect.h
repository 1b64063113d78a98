//===- BraidDialect.h - the braid dialect -----------------------*- C++ -*-===//
#ifndef BRAID_DIALECTS_BRAID_BRAIDDIALECT_H
#define BRAID_DIALECTS_BRAID_BRAIDDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/Braid/BraidDialect.h.inc"

#endif // BRAID_DIALECTS_BRAID_BRAIDDIALECT_H
