//===- Diagnostics.h - one-line located errors for the front ends ---------===//
//
// Every front-end error is one line, `file:line:col: error: message` (or
// `file: error: message` when there is no position), so drivers can print it
// as is and tests can match it.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_DIAGNOSTICS_H
#define BRAID_FRONTENDS_DIAGNOSTICS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"

#include <string>

namespace braid {
namespace frontend {

/// "file:line:col" of `loc`, a position inside a buffer of `sm`.
inline std::string formatLocation(const llvm::SourceMgr &sm, llvm::SMLoc loc) {
  unsigned buffer = sm.FindBufferContainingLoc(loc);
  if (buffer == 0)
    return "<unknown>";
  auto [line, col] = sm.getLineAndColumn(loc, buffer);
  return (sm.getMemoryBuffer(buffer)->getBufferIdentifier() + ":" +
          llvm::Twine(line) + ":" + llvm::Twine(col))
      .str();
}

/// Newlines would break the one-line rule; they never belong in a message.
inline std::string oneLine(const llvm::Twine &message) {
  std::string text = message.str();
  for (char &c : text)
    if (c == '\n' || c == '\r')
      c = ' ';
  return text;
}

inline llvm::Error errorAt(const llvm::SourceMgr &sm, llvm::SMLoc loc,
                           const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 formatLocation(sm, loc) +
                                     ": error: " + oneLine(message));
}

inline llvm::Error errorIn(const llvm::Twine &file,
                           const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 file.str() + ": error: " + oneLine(message));
}

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_DIAGNOSTICS_H
