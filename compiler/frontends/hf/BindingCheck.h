//===- BindingCheck.h - check a binding table against a checkpoint --------===//
//
// Every binding must find each of its source tensors with the expected shape
// and dtype, and every tensor of the checkpoint must be used by some binding
// (or be a tied alias of one, or be listed as unused). Each problem names the
// tensor, the IR weight, the expected and the found value.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_HF_BINDINGCHECK_H
#define BRAID_FRONTENDS_HF_BINDINGCHECK_H

#include "compiler/frontends/dsl/ModelSpec.h"
#include "compiler/frontends/hf/Safetensors.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace braid {
namespace frontend {

struct BindingProblem {
  enum class Kind { MissingTensor, ShapeMismatch, DTypeMismatch, Unbound };
  Kind kind;
  std::string file;   // where the tensor is (or was looked for)
  std::string tensor; // checkpoint name
  std::string irName; // empty for Unbound
  std::string expected;
  std::string found;

  /// One line: "file: error: ...".
  std::string message() const;
};

/// The safetensors dtype spelling of `dtype` ("F32", "F16", "BF16").
llvm::StringRef safetensorsName(DType dtype);

/// All problems, bindings first (in table order), then unbound tensors.
std::vector<BindingProblem> findBindingProblems(const BindingTable &table,
                                                const TensorIndex &index);

/// Success when there is no problem; otherwise one error per problem.
llvm::Error checkBindings(const BindingTable &table, const TensorIndex &index);

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_HF_BINDINGCHECK_H
