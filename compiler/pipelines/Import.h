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

#include "llvm/Support/Error.h"

namespace braid {

/// loadModel, then verifySpec: the spec is consistent before lowering.
llvm::Expected<frontend::LoadedModel> importModel(llvm::StringRef path);

/// Checks the bindings against a safetensors file or folder: every binding
/// finds its tensor with the right shape and dtype, and every tensor is bound.
llvm::Error checkWeights(const frontend::LoadedModel &model,
                         llvm::StringRef weights);

} // namespace braid

#endif // BRAID_COMPILER_PIPELINES_IMPORT_H
