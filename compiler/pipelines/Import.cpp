//===- Import.cpp - front end entry for braidc ----------------------------===//
#include "compiler/pipelines/Import.h"

#include "compiler/frontends/Diagnostics.h"
#include "compiler/frontends/hf/BindingCheck.h"
#include "compiler/frontends/hf/Safetensors.h"
#include "compiler/frontends/lowering/SpecToBraid.h"
#include "compiler/frontends/onnx/OnnxImporter.h"

#include "llvm/Support/Path.h"

using namespace llvm;
using namespace braid::frontend;

namespace braid {

Expected<LoadedModel> importModel(StringRef path) {
  if (classifyInput(path) == InputKind::ONNX) {
    LoadedModel model;
    model.kind = InputKind::ONNX;
    model.spec.name = sys::path::stem(path).str();
    return std::move(model);
  }
  Expected<LoadedModel> model = loadModel(path);
  if (!model)
    return model.takeError();
  if (Error error = verifySpec(model->spec))
    return std::move(error);
  return model;
}

Error checkWeights(const LoadedModel &model, StringRef weights) {
  if (model.kind != InputKind::HFConfig)
    return errorIn(weights, "--weights needs a Hugging Face input: a .braid "
                            "model has no checkpoint names to bind, and an "
                            ".onnx model carries its own weights");
  Expected<TensorIndex> index = readSafetensors(weights);
  if (!index)
    return index.takeError();
  return checkBindings(model.bindings, *index);
}

Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildBraidModule(LoadedModel &model, StringRef path,
                 mlir::MLIRContext &context) {
  if (model.kind != InputKind::ONNX)
    return lowerSpecToBraid(model.spec, context, &model.bindings);
  if (model.spec.dtype != DType::F32)
    return errorIn(path, "ONNX models import in f32 only for now; use "
                         "--dtype=f32");
  Expected<onnx::ImportedOnnx> imported = onnx::importFile(path, context);
  if (!imported)
    return imported.takeError();
  model.spec.name = imported->modelName;
  model.spec.vocabSize = imported->vocabSize;
  model.spec.hiddenSize = imported->hiddenSize;
  model.packedWeights = std::move(imported->packedWeights);
  return std::move(imported->module);
}

} // namespace braid
