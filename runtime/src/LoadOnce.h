//===- LoadOnce.h - a process-wide object loaded on first use ---*- C++ -*-===//
//
// The GPU drivers (CudaDriver.h, HipDriver.h) are opened once per process.
// A failure is remembered and rethrown on every later call, without trying
// again: the message stays the same and a missing library is not searched
// for at every session.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_LOADONCE_H
#define BRAID_RUNTIME_SRC_LOADONCE_H

#include "runtime/src/Error.h"

#include <memory>
#include <mutex>
#include <string>

namespace braid::rt {

/// The object `load()` returns (a std::unique_ptr<T>), made on the first
/// call; every call site (each lambda type) has its own.
template <typename T, typename Load> const T &loadOnce(Load load) {
  static std::once_flag once;
  static std::unique_ptr<T> value;
  static std::string error;
  static ErrorCode code = ErrorCode::Unsupported;
  std::call_once(once, [&] {
    try {
      value = load();
    } catch (const Error &e) {
      error = e.what();
      code = e.code();
    }
  });
  if (!value)
    fail(code, error);
  return *value;
}

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_LOADONCE_H
