//===- Import.cpp - front end entry for braidc ----------------------------===//
#include "compiler/pipelines/Import.h"

#include "compiler/frontends/Diagnostics.h"
#include "compiler/frontends/hf/BindingCheck.h"
#include "compiler/frontends/hf/Safetensors.h"

using namespace llvm;
using namespace braid::frontend;

namespace braid {

Expected<LoadedModel> importModel(StringRef path) {
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
                            "model has no checkpoint names to bind");
  Expected<TensorIndex> index = readSafetensors(weights);
  if (!index)
    return index.takeError();
  return checkBindings(model.bindings, *index);
}

} // namespace braid
