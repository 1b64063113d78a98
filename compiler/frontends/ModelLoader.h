//===- ModelLoader.h - read a model from whatever input the user gives ----===//
//
// One entry point for drivers: a `.braid` file goes to the DSL parser; a
// config.json, another `.json` config or a folder holding a config.json goes
// to the Hugging Face importer (which also yields the weight binding table).
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_MODELLOADER_H
#define BRAID_FRONTENDS_MODELLOADER_H

#include "compiler/frontends/dsl/ModelSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace braid {
namespace frontend {

enum class InputKind { BraidDSL, HFConfig, ONNX, Unknown };

/// Decides by the path: folder or .json -> HFConfig, .braid -> BraidDSL,
/// .onnx -> ONNX.
InputKind classifyInput(llvm::StringRef path);

struct LoadedModel {
  InputKind kind = InputKind::Unknown;
  ModelSpec spec;
  /// Only Hugging Face inputs name checkpoint tensors; empty for the DSL.
  BindingTable bindings;
  /// ONNX only: the initializers as a safetensors image named by IR weight
  /// (the bundle's `weights` section); filled when the ONNX file is
  /// imported to braid IR (compiler/pipelines/Import.h).
  std::string packedWeights;
};

/// Reads the model at `path`. An ONNX file has no ModelSpec: it is imported
/// straight to braid IR by braid::importModel / buildBraidModule
/// (compiler/pipelines/Import.h), and loadModel says so; an input of unknown
/// kind is an error too.
llvm::Expected<LoadedModel> loadModel(llvm::StringRef path);

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_MODELLOADER_H
