//===- DSL.h - the Braid model DSL: parse and print -----------------------===//
//
// The Braid DSL describes a hybrid model as text: a `model` block with the
// model dimensions, named block templates (mamba, mamba2, attention, mlp,
// moe, parallel, shared), shared block definitions and layer patterns that
// stack the templates. docs/dsl.md teaches it.
//
// Printing a spec and parsing the text gives back an equal spec.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_DSL_DSL_H
#define BRAID_FRONTENDS_DSL_DSL_H

#include "compiler/frontends/dsl/ModelSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>

namespace braid {
namespace frontend {

/// Parses DSL text. Errors are one line: `name:line:col: error: ...`, where
/// name is the buffer identifier.
llvm::Expected<ModelSpec> parseDSL(std::unique_ptr<llvm::MemoryBuffer> buffer);

/// Parses DSL text held in a string; `bufferName` names it in messages.
llvm::Expected<ModelSpec> parseDSL(llvm::StringRef text,
                                   llvm::StringRef bufferName);

/// Reads and parses a .braid file.
llvm::Expected<ModelSpec> parseDSLFile(llvm::StringRef path);

/// The DSL text of a spec. The spec must verify (verifySpec).
std::string printDSL(const ModelSpec &spec);

/// Shortest decimal text that reads back as exactly `value` ("inf" and
/// "-inf" for infinities).
std::string formatNumber(double value);

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_DSL_DSL_H
