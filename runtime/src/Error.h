//===- Error.h - the runtime's internal error type --------------*- C++ -*-===//
//
// Inside the runtime, failures are thrown as braid::rt::Error, which carries
// a category (the C API's braid_status) and a one-line message. The C API
// (CApi.cpp) catches them; they never cross it.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_ERROR_H
#define BRAID_RUNTIME_SRC_ERROR_H

#include <stdexcept>
#include <string>

namespace braid::rt {

/// Same numbers as braid_status in braid.h.
enum class ErrorCode {
  InvalidArgument = 1, ///< a bad option, pointer or call order
  IO = 2,              ///< a file that cannot be opened, read or written
  Bundle = 3,          ///< a corrupt, truncated or newer bundle; bad manifest
  Weights = 4,         ///< missing or mismatched weights; bad safetensors
  Limit = 5,           ///< ids outside the vocabulary, batch or length limits
  Unsupported = 6,     ///< backend, target or kernel family not available
  Kernel = 7,          ///< a kernel reported a failure while running
  OutOfMemory = 8,     ///< an allocation failed
  Internal = 9,        ///< a bug in the runtime
};

class Error : public std::runtime_error {
public:
  Error(ErrorCode code, const std::string &message)
      : std::runtime_error(message), errorCode(code) {}
  ErrorCode code() const { return errorCode; }

private:
  ErrorCode errorCode;
};

[[noreturn]] inline void fail(ErrorCode code, const std::string &message) {
  throw Error(code, message);
}

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_ERROR_H
