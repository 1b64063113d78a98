//===- SpecToBraid.h - ModelSpec to the braid dialect -----------*- C++ -*-===//
//
// Builds the `braid` dialect form of a model from its ModelSpec: one
// `func.func @forward(%ids, %positions) -> logits` whose body is the
// embedding, one `braid.layer` per block of the stack (parallel branches and
// shared-block members as nested layers), the final norm and the LM head.
// Both front ends (Hugging Face configs, the Braid DSL) go through it, so a
// model gets the same IR whichever way it was described.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_FRONTENDS_LOWERING_SPECTOBRAID_H
#define BRAID_FRONTENDS_LOWERING_SPECTOBRAID_H

#include "compiler/frontends/dsl/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace braid {

/// Lowers `spec` into a new module. With `bindings`, the module also holds
/// one `launch.weight` prep step per binding (checkpoint tensors and
/// load-time transform), so that the IR carries the whole binding table.
/// Fails with an error naming the block prefix and the feature when the spec
/// uses something the braid ops cannot express yet.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
lowerSpecToBraid(const frontend::ModelSpec &spec, mlir::MLIRContext &context,
                 const frontend::BindingTable *bindings = nullptr);

} // namespace braid

#endif // BRAID_FRONTENDS_LOWERING_SPECTOBRAID_H
