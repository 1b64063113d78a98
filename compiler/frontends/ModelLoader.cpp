//===- ModelLoader.cpp - read a model from whatever input the user gives --===//

#include "compiler/frontends/ModelLoader.h"
#include "compiler/frontends/Diagnostics.h"
#include "compiler/frontends/dsl/DSL.h"
#include "compiler/frontends/hf/HFImporter.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace llvm;

namespace braid {
namespace frontend {

InputKind classifyInput(StringRef path) {
  if (sys::fs::is_directory(path))
    return InputKind::HFConfig;
  StringRef extension = sys::path::extension(path);
  if (extension == ".json")
    return InputKind::HFConfig;
  if (extension == ".braid")
    return InputKind::BraidDSL;
  if (extension == ".onnx")
    return InputKind::ONNX;
  return InputKind::Unknown;
}

Expected<LoadedModel> loadModel(StringRef path) {
  LoadedModel model;
  model.kind = classifyInput(path);
  switch (model.kind) {
  case InputKind::BraidDSL: {
    auto spec = parseDSLFile(path);
    if (!spec)
      return spec.takeError();
    model.spec = std::move(*spec);
    return std::move(model);
  }
  case InputKind::HFConfig: {
    auto imported = importHFConfig(path);
    if (!imported)
      return imported.takeError();
    model.spec = std::move(imported->spec);
    model.bindings = std::move(imported->bindings);
    return std::move(model);
  }
  case InputKind::ONNX:
    return errorIn(path, "an ONNX model has no architecture spec: it is "
                         "imported straight to braid IR (braidc, "
                         "compiler/frontends/onnx/)");
  case InputKind::Unknown:
    break;
  }
  return errorIn(path, "unknown kind of input: expected a .braid file, a "
                       "config.json (or other .json config), a folder "
                       "holding a config.json, or an .onnx file");
}

} // namespace frontend
} // namespace braid
