//===- BraidDialect.cpp - the braid dialect -------------------------------===//
#include "dialects/Braid/BraidDialect.h"
#include "dialects/Braid/BraidOps.h"

using namespace mlir;
using namespace braid;

#include "dialects/Braid/BraidDialect.cpp.inc"
#include "dialects/Braid/BraidEnums.cpp.inc"

void BraidDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Braid/BraidOps.cpp.inc"
      >();
}
