//===- Executor.cpp - run an entry's launches in order --------------------===//

#include "runtime/src/Executor.h"

#include "runtime/src/Error.h"

#include <cstdint>

namespace braid::rt {
namespace {

ElementType elementType(ValueType t) {
  return t == ValueType::I64 ? ElementType::I64 : ElementType::F32;
}

std::string launchLabel(const Entry &e, size_t i, const Launch &l) {
  return e.name + ": launch " + std::to_string(i) + " (" + l.describe() + ")";
}

} // namespace

Executor::Executor(const Manifest &m, Backend &b) : manifest(m), backend(b) {
  for (const Entry &e : manifest.entries) {
    std::vector<Prepared> launches;
    for (const Launch &l : e.launches) {
      Prepared p{&l, KernelCall()};
      for (const auto &[name, value] : l.attrs)
        p.call.attrs.set(name, value);
      p.call.location = l.loc;
      p.call.operands.resize(l.operands.size());
      p.call.results.resize(l.results.size());
      for (size_t i = 0; i < l.operands.size(); ++i)
        p.call.operands[i].type = elementType(l.operands[i].dtype);
      for (size_t i = 0; i < l.results.size(); ++i)
        p.call.results[i].type = elementType(l.results[i].dtype);
      launches.push_back(std::move(p));
    }
    entries.push_back(std::move(launches));
  }
}

void Executor::run(size_t entryIndex, const ExecBindings &b, bool wait) {
  const Entry &entry = manifest.entries[entryIndex];
  const int64_t BT = b.dims.B * b.dims.T;
  const int64_t arenaBytes = manifest.arenaBytesPerToken * BT;
  std::vector<Prepared> &launches = entries[entryIndex];
  for (size_t li = 0; li < launches.size(); ++li) {
    Prepared &p = launches[li];
    const Launch &l = *p.launch;
    auto bind = [&](const Arg &a, TensorView &view, const char *role,
                    size_t index) {
      if (a.kind == ArgKind::Absent) {
        view.data = nullptr;
        view.shape.clear();
        return;
      }
      view.shape.resize(a.shape.size());
      for (size_t d = 0; d < a.shape.size(); ++d)
        view.shape[d] = b.dims.bind(a.shape[d]);
      switch (a.kind) {
      case ArgKind::Arena: {
        int64_t begin = a.offset * BT; // offset <= bytes_per_token: no overflow
        int64_t numel = checkedNumElements(view.shape);
        int64_t end =
            numel < 0 ? INT64_MAX : begin + numel * int64_t(byteWidth(a.dtype));
        if (end > arenaBytes)
          fail(ErrorCode::Internal,
               launchLabel(entry, li, l) + ": arena " + role + " " +
                   std::to_string(index) + " " + formatShape(view.shape) +
                   " at offset " + std::to_string(a.offset) +
                   " per token ends at byte " + std::to_string(end) +
                   ", beyond the arena's " + std::to_string(arenaBytes) +
                   " bytes (bytes_per_token " +
                   std::to_string(manifest.arenaBytesPerToken) +
                   " x B x T): the bundle's plan is inconsistent");
        view.data = b.arena + begin;
        break;
      }
      case ArgKind::Weight:
        view.data = b.weights[a.index];
        break;
      case ArgKind::State:
        view.data = b.states[a.index];
        break;
      case ArgKind::Input:
        view.data = b.inputs[a.index];
        break;
      case ArgKind::Output:
        view.data = b.outputs[a.index];
        break;
      case ArgKind::Absent:
        break;
      }
    };
    for (size_t i = 0; i < l.operands.size(); ++i)
      bind(l.operands[i], p.call.operands[i], "operand", i);
    for (size_t i = 0; i < l.results.size(); ++i)
      bind(l.results[i], p.call.results[i], "result", i);
    std::string error = backend.launch(entryIndex, li, p.call);
    if (!error.empty())
      fail(ErrorCode::Kernel, launchLabel(entry, li, l) + ": " + error);
  }
  std::string error = wait ? backend.synchronize() : backend.submit();
  if (!error.empty())
    fail(ErrorCode::Kernel, entry.name + ": " + error);
}

} // namespace braid::rt
