//===- LayerNames.h - how passes name layers in messages --------*- C++ -*-===//
#ifndef BRAID_PASSES_LAYERNAMES_H
#define BRAID_PASSES_LAYERNAMES_H

#include "dialects/Braid/BraidOps.h"

#include <string>

namespace braid {

/// "layer 3 ('layers.3.mixer')", or "layer #2" (its stack position) when the
/// layer has no index: the form every pass uses in its diagnostics.
inline std::string describeLayer(LayerOp layer, size_t position) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto index = layer.getIndex())
    os << "layer " << *index;
  else
    os << "layer #" << position;
  if (auto name = layer.getName())
    os << " ('" << *name << "')";
  return text;
}

} // namespace braid

#endif // BRAID_PASSES_LAYERNAMES_H
