//===- HFImporter.cpp - Hugging Face config.json -> ModelSpec + bindings --===//

#include "compiler/frontends/hf/HFImporter.h"
#include "compiler/frontends/Diagnostics.h"
#include "compiler/frontends/hf/HFConfig.h"
#include "compiler/frontends/hf/ImportHelpers.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace llvm;

namespace braid {
namespace frontend {

namespace {
const FamilyImporter *const kImporters[] = {
    &kBambaImporter,  &kNemotronHImporter, &kJambaImporter,
    &kZamba2Importer, &kFalconH1Importer,  &kGraniteMoeHybridImporter,
    &kLlamaImporter};

const FamilyImporter *findImporter(StringRef modelType) {
  for (const FamilyImporter *importer : kImporters)
    if (importer->modelType == modelType)
      return importer;
  return nullptr;
}

std::string supportedList() {
  std::string list;
  for (StringRef type : supportedModelTypes())
    list += (list.empty() ? "" : ", ") + type.str();
  return list;
}

Expected<ImportedModel> importConfig(const HFConfig &config,
                                     StringRef modelName) {
  ConfigReader reader(config);
  std::string modelType = reader.requireString("model_type");
  if (Error err = reader.takeError())
    return std::move(err);
  const FamilyImporter *importer = findImporter(modelType);
  if (!importer)
    return config.error("model_type", "unknown model_type '" + modelType +
                                          "' (supported: " + supportedList() +
                                          ")");
  ImportedModel model;
  model.spec.name = modelName.str();
  if (Error err = importer->build(reader, model.spec))
    return std::move(err);
  if (Error err = reader.takeError())
    return std::move(err);
  assignPrefixes(model.spec);
  // A spec that does not verify means the config is inconsistent in a way
  // the family reader did not catch; report it against the file.
  if (Error err = verifySpec(model.spec))
    return errorIn(config.fileName(), toString(std::move(err)));

  Binder binder(model.spec, model.spec.dtype);
  importer->bind(model.spec, binder);
  if (Error err = binder.takeError())
    return std::move(err);
  model.bindings = binder.take();
  if (Error err = verifyBindingsAgainstSpec(model.spec, model.bindings))
    return std::move(err);
  return model;
}
/// The folder's name for a folder or a config.json in it ("bamba_tiny"),
/// else the file's stem ("bamba-1.5b").
std::string modelNameFor(StringRef path) {
  SmallString<256> absolute(path);
  sys::fs::make_absolute(absolute);
  sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  while (absolute.size() > 1 && sys::path::is_separator(absolute.back()))
    absolute.pop_back();
  if (!sys::fs::is_directory(absolute)) {
    if (sys::path::filename(absolute) != "config.json")
      return sys::path::stem(absolute).str();
    sys::path::remove_filename(absolute);
  }
  StringRef name = sys::path::filename(absolute);
  return name.empty() ? "model" : name.str();
}
} // namespace

ArrayRef<StringRef> supportedModelTypes() {
  static const StringRef types[] = {"bamba",  "nemotron_h", "jamba",
                                    "zamba2", "falcon_h1",  "granitemoehybrid",
                                    "llama"};
  return types;
}

Expected<ImportedModel> importHFConfig(StringRef path) {
  auto config = HFConfig::load(path);
  if (!config)
    return config.takeError();
  return importConfig(**config, modelNameFor(path));
}

Expected<ImportedModel> importHFConfig(std::unique_ptr<MemoryBuffer> buffer,
                                       StringRef modelName) {
  auto config = HFConfig::parse(std::move(buffer));
  if (!config)
    return config.takeError();
  return importConfig(**config, modelName);
}

} // namespace frontend
} // namespace braid
