//===- Import.h - front end entry for braidc --------------------*- C++ -*-===//
//
// braidc reads its input through frontend::loadModel (ModelLoader.h), which
// recognizes Hugging Face configs, folders and .braid files. This adds the
// steps braidc runs around it: checking the spec, and checking the binding
// table against a checkpoint.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_COMPILER_PIPELINES_IMPORT_H
#define BRAID_COMPILER_PIPELINES_IMPORT_H

#include "compiler/frontends/ModelLoader.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace braid {

/// loadModel, then verifySpec: the spec is consistent before lowering.
/// An .onnx path gives a LoadedModel of kind ONNX with only the name set:
/// the ONNX graph is read by buildBraidModule.
llvm::Expected<frontend::LoadedModel> importModel(llvm::StringRef path);

/// The braid IR of `model`: lowerSpecToBraid (with the binding table) for
/// Hugging Face and DSL inputs; for ONNX, the ONNX importer, which also
/// fills the spec's vocab/hidden size and `model.packedWeights`.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildBraidModule(frontend::LoadedModel &model, llvm::StringRef path,
                 mlir::MLIRContext &context);

/// Checks the bindings against a safetensors file or folder: every binding
/// finds its tensor with the right shape and dtype, and every tensor is bound.
llvm::Error checkWeights(const frontend::LoadedModel &model,
                         llvm::StringRef weights);

} // namespace braid

#endif // BRAID_COMPILER_PIPELINES_IMPORT_H
