//===- HFImporter.h - Hugging Face config.json -> ModelSpec + bindings ----===//
//
// Reads a config.json as transformers 5.x writes it and describes the model
// as a ModelSpec, with the binding table from Braid's IR weight names to the
// checkpoint's tensor names. Each family follows the semantics of its
// transformers modeling code (see docs in the family sources).
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_HF_HFIMPORTER_H
#define BRAID_FRONTENDS_HF_HFIMPORTER_H

#include "compiler/frontends/dsl/ModelSpec.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

namespace braid {
namespace frontend {

struct ImportedModel {
  ModelSpec spec;
  BindingTable bindings;
};

/// The model_type values the importer understands.
llvm::ArrayRef<llvm::StringRef> supportedModelTypes();

/// Imports `path`, a config.json or a folder holding one. The model is named
/// after the folder holding the config.
llvm::Expected<ImportedModel> importHFConfig(llvm::StringRef path);

/// Imports a config held in memory (the buffer identifier names it in
/// messages) under the model name `modelName`.
llvm::Expected<ImportedModel>
importHFConfig(std::unique_ptr<llvm::MemoryBuffer> buffer,
               llvm::StringRef modelName);

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_HF_HFIMPORTER_H
