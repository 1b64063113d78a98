//===- Executor.h - run an entry's launches in order ------------*- C++ -*-===//
//
// Resolves each launch argument of an entry into a TensorView for one call
// and hands the launch to the backend:
//   arena   arena base + offset * B * T, the shape with B/T/S bound;
//   weight  the prepared weight;     state   the session's state buffer;
//   input   input_ids / positions / cache_position of this call;
//   output  logits;                  null    an empty view (absent operand).
// Launches are prepared once (attributes converted, views sized); a call only
// rebinds data pointers and symbolic dimensions.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_EXECUTOR_H
#define BRAID_RUNTIME_SRC_EXECUTOR_H

#include "runtime/src/Backend.h"
#include "runtime/src/Manifest.h"

#include <vector>

namespace braid::rt {

/// Where each kind of argument lives for one call (backend addresses).
struct ExecBindings {
  DimBinding dims;
  char *arena = nullptr;
  std::vector<void *> weights; ///< by manifest weight index
  std::vector<void *> states;  ///< by manifest state index
  std::vector<void *> inputs;  ///< by entry input index
  std::vector<void *> outputs; ///< by entry output index
};

class Executor {
public:
  Executor(const Manifest &manifest, Backend &backend);

  /// Runs every launch of entry `entryIndex`, then synchronizes (`wait`)
  /// or only submits them (Backend::submit: a device backend enqueues them
  /// and returns). Throws Error(Kernel) "<entry>: launch <i> (<family> at
  /// <loc>): <message>", or Error(Internal) when an arena value lies
  /// outside the planned arena.
  void run(size_t entryIndex, const ExecBindings &bindings, bool wait = true);

private:
  struct Prepared {
    const Launch *launch;
    KernelCall call;
  };
  const Manifest &manifest;
  Backend &backend;
  std::vector<std::vector<Prepared>> entries;
};

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_EXECUTOR_H
