//===- BindingCheck.cpp - check a binding table against a checkpoint ------===//

#include "compiler/frontends/hf/BindingCheck.h"

#include "llvm/ADT/StringSet.h"

using namespace llvm;

namespace braid {
namespace frontend {

StringRef safetensorsName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  }
  return "?";
}

std::string BindingProblem::message() const {
  std::string weight = " (for IR weight '" + irName + "')";
  switch (kind) {
  case Kind::MissingTensor:
    return file + ": error: missing tensor '" + tensor + "'" + weight +
           ", expected " + expected;
  case Kind::ShapeMismatch:
    return file + ": error: tensor '" + tensor + "'" + weight +
           ": expected shape " + expected + ", found " + found;
  case Kind::DTypeMismatch:
    return file + ": error: tensor '" + tensor + "'" + weight +
           ": expected dtype " + expected + ", found " + found;
  case Kind::Unbound:
    return file + ": error: tensor '" + tensor + "' " + found +
           " is not bound to any IR weight";
  }
  return file + ": error: unknown binding problem";
}

namespace {
class Checker {
public:
  Checker(const TensorIndex &index, std::vector<BindingProblem> &problems)
      : index(index), problems(problems) {}

  void checkBinding(const WeightBinding &binding) {
    StringRef dtype = safetensorsName(binding.dtype);
    for (const TensorSource &source : binding.sources)
      checkTensor(source.tensor, binding.irName, source.shape, dtype,
                  /*mustExist=*/true);
    // A tied alias may be absent (most checkpoints store tied weights once);
    // when present it must look like the storage it aliases.
    for (const std::string &alias : binding.tiedAliases)
      checkTensor(alias, binding.irName, binding.sources.front().shape, dtype,
                  /*mustExist=*/false);
  }

  void markUnused(const std::string &name) {
    if (index.find(name))
      used.insert(name);
  }

  void reportUnbound() {
    for (const TensorInfo &info : index.tensors())
      if (!used.contains(info.name))
        problems.push_back({BindingProblem::Kind::Unbound, info.file, info.name,
                            "", "",
                            formatShape(info.shape) + " " + info.dtype});
  }

private:
  void checkTensor(const std::string &name, const std::string &irName,
                   ArrayRef<int64_t> shape, StringRef dtype, bool mustExist) {
    const TensorInfo *info = index.find(name);
    if (!info) {
      if (mustExist)
        problems.push_back({BindingProblem::Kind::MissingTensor, index.source(),
                            name, irName,
                            formatShape(shape) + " " + dtype.str(), ""});
      return;
    }
    used.insert(name);
    if (ArrayRef<int64_t>(info->shape) != shape)
      problems.push_back({BindingProblem::Kind::ShapeMismatch, info->file, name,
                          irName, formatShape(shape),
                          formatShape(info->shape)});
    if (info->dtype != dtype)
      problems.push_back({BindingProblem::Kind::DTypeMismatch, info->file, name,
                          irName, dtype.str(), info->dtype});
  }

  const TensorIndex &index;
  std::vector<BindingProblem> &problems;
  StringSet<> used;
};
} // namespace

std::vector<BindingProblem> findBindingProblems(const BindingTable &table,
                                                const TensorIndex &index) {
  std::vector<BindingProblem> problems;
  Checker checker(index, problems);
  for (const WeightBinding &binding : table.bindings)
    checker.checkBinding(binding);
  for (const std::string &tensor : table.unusedTensors)
    checker.markUnused(tensor);
  checker.reportUnbound();
  return problems;
}

Error checkBindings(const BindingTable &table, const TensorIndex &index) {
  Error all = Error::success();
  for (const BindingProblem &problem : findBindingProblems(table, index))
    all = joinErrors(std::move(all), createStringError(inconvertibleErrorCode(),
                                                       problem.message()));
  return all;
}

} // namespace frontend
} // namespace braid
