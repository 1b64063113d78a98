//===- FrontendTestUtils.h - shared helpers of the front-end tests --------===//

#ifndef BRAID_TEST_UNIT_FRONTENDS_FRONTENDTESTUTILS_H
#define BRAID_TEST_UNIT_FRONTENDS_FRONTENDTESTUTILS_H

#include "compiler/frontends/dsl/DSL.h"
#include "compiler/frontends/dsl/ModelSpec.h"
#include "compiler/frontends/hf/BindingCheck.h"
#include "compiler/frontends/hf/HFImporter.h"
#include "compiler/frontends/hf/Safetensors.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace braid {
namespace frontend {
namespace testing {

inline std::string sourcePath(const std::string &relative) {
  return std::string(BRAID_SOURCE_DIR) + "/" + relative;
}

/// test/data/goldens/<name>: copies of the transformers goldens.
inline std::string goldenDir(const std::string &name) {
  return sourcePath("test/data/goldens/" + name);
}

/// test/data/hf_variants/<name>: checkpoints saved by transformers.
inline std::string variantDir(const std::string &name) {
  return sourcePath("test/data/hf_variants/" + name);
}

/// test/data/configs/<name>.json: full-size default configs.
inline std::string fullConfig(const std::string &name) {
  return sourcePath("test/data/configs/" + name + ".json");
}

/// Imports or fails the test with the importer's message.
inline ImportedModel importOrDie(const std::string &path) {
  auto model = importHFConfig(path);
  if (!model) {
    ADD_FAILURE() << llvm::toString(model.takeError());
    return {};
  }
  return std::move(*model);
}

/// Imports a config given as text (named `config.json` in messages).
inline llvm::Expected<ImportedModel>
importText(llvm::StringRef json, llvm::StringRef name = "config.json") {
  return importHFConfig(llvm::MemoryBuffer::getMemBufferCopy(json, name),
                        "test");
}

/// The error message of a failed Expected, or "" (and a test failure) when
/// it succeeded.
template <typename T> std::string errorOf(llvm::Expected<T> value) {
  if (value) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(value.takeError());
}

inline std::string errorOf(llvm::Error error) {
  if (!error) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(std::move(error));
}

/// Messages of the binding problems of `model` against a checkpoint.
inline std::vector<std::string> bindingProblems(const ImportedModel &model,
                                                const std::string &weights) {
  std::vector<std::string> messages;
  auto index = readSafetensors(weights);
  if (!index) {
    messages.push_back(llvm::toString(index.takeError()));
    return messages;
  }
  for (const BindingProblem &p : findBindingProblems(model.bindings, *index))
    messages.push_back(p.message());
  return messages;
}

/// Number of distinct checkpoint tensors the table reads (sources only).
inline size_t boundTensorCount(const BindingTable &table) {
  std::vector<std::string> names;
  for (const WeightBinding &b : table.bindings)
    for (const TensorSource &s : b.sources)
      names.push_back(s.tensor);
  std::sort(names.begin(), names.end());
  return std::unique(names.begin(), names.end()) - names.begin();
}

/// Kinds of the stack, in order.
inline std::vector<BlockKind> kindsOf(const ModelSpec &spec) {
  std::vector<BlockKind> kinds;
  for (const Block &b : spec.blocks)
    kinds.push_back(b.kind());
  return kinds;
}

/// Shape of IR weight `name`, empty when the spec has no such weight.
inline std::vector<int64_t> weightShape(const ModelSpec &spec,
                                        const std::string &name) {
  for (const WeightDesc &w : enumerateWeights(spec))
    if (w.name == name)
      return w.shape;
  return {};
}

/// Prints the spec as DSL, parses it back and returns the first difference
/// ("" when equal).
inline std::string roundTripDifference(const ModelSpec &spec) {
  std::string text = printDSL(spec);
  auto back = parseDSL(text, "printed.braid");
  if (!back)
    return "reparse failed: " + llvm::toString(back.takeError()) + "\n" + text;
  return firstDifference(spec, *back);
}

} // namespace testing
} // namespace frontend
} // namespace braid

#endif // BRAID_TEST_UNIT_FRONTENDS_FRONTENDTESTUTILS_H
