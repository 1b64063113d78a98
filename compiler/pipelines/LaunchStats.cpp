//===- LaunchStats.cpp - launches and bytes moved per layer ---------------===//
#include "compiler/pipelines/LaunchStats.h"

#include "dialects/Launch/LaunchOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace braid::launch;

namespace braid {

/// `layers.12.mixer.attention` -> `layers.12`; `layers.3.shared/...` ->
/// `layers.3`; anything else (embedding, final norm, head) -> `(model)`.
static std::string layerOf(StringRef source) {
  if (!source.consume_front("layers."))
    return "(model)";
  return ("layers." + source.take_while([](char c) { return isdigit(c); }))
      .str();
}

static int64_t bufferBytes(BufferAttr buffer, int64_t tokens,
                           const TrafficShape &shape) {
  int64_t elements = 1;
  for (int64_t dim : buffer.getShape())
    elements *= dim == kDimBatch    ? shape.batch
                : dim == kDimTokens ? tokens
                : dim == kDimMaxSeq ? shape.maxSeq
                                    : dim;
  return elements * std::max<int64_t>(
                        1, buffer.getElementType().getIntOrFloatBitWidth() / 8);
}

LayerTrafficMap countLaunchTraffic(ModuleOp module, const TrafficShape &shape) {
  LayerTrafficMap layers;
  for (auto entry : module.getOps<EntryOp>()) {
    bool prefill = entry.getName() == "prefill";
    // prefill_last repeats prefill's layers; the table compares prefill
    // and decode traffic.
    if (!prefill && entry.getName() != "decode")
      continue;
    int64_t tokens = prefill ? shape.prefillTokens : shape.decodeTokens;
    for (auto kernel : entry.getBody().front().getOps<KernelOp>()) {
      LayerTraffic &layer = layers[layerOf(kernel.getSource())];
      int64_t bytes = 0;
      for (ArrayAttr list : {kernel.getOperands(), kernel.getResults()})
        for (Attribute attr : list)
          if (auto buffer = dyn_cast<BufferAttr>(attr))
            bytes += bufferBytes(buffer, tokens, shape);
      if (prefill) {
        ++layer.launches;
        layer.prefillBytes += bytes;
      } else {
        layer.decodeBytes += bytes;
      }
    }
  }
  return layers;
}

/// The module itself when lowered, else a lowered copy in `holder`, with
/// epilogue fusion on the fused side only (it is part of fusion).
static FailureOr<ModuleOp>
lowered(ModuleOp module, OwningOpRef<ModuleOp> &holder, bool fuseEpilogues) {
  if (module.getOps<func::FuncOp>().empty())
    return module;
  holder = module.clone();
  PassManager pm(module->getContext());
  BraidLowerToLaunchOptions options;
  options.fuseEpilogues = fuseEpilogues;
  options.fuseDecodeSteps = fuseEpilogues;
  options.fuseDecodeNorms = fuseEpilogues;
  options.fuseNorms = fuseEpilogues;
  pm.addPass(createBraidLowerToLaunch(options));
  if (failed(pm.run(*holder)))
    return failure();
  return *holder;
}

LogicalResult printFusionStats(ModuleOp unfused, ModuleOp fused,
                               llvm::raw_ostream &os) {
  TrafficShape shape;
  OwningOpRef<ModuleOp> beforeHolder, afterHolder;
  FailureOr<ModuleOp> after = lowered(fused, afterHolder, unfused != nullptr);
  if (failed(after))
    return failure();
  LayerTrafficMap afterStats = countLaunchTraffic(*after, shape);
  LayerTrafficMap beforeStats;
  if (unfused) {
    FailureOr<ModuleOp> before = lowered(unfused, beforeHolder, false);
    if (failed(before))
      return failure();
    beforeStats = countLaunchTraffic(*before, shape);
  }

  os << llvm::formatv("fusion: launches and bytes moved per layer, B={0}, "
                      "prefill T={1}, decode T={2}, states at S={3}{4}\n",
                      shape.batch, shape.prefillTokens, shape.decodeTokens,
                      shape.maxSeq,
                      unfused ? " (before -> after)" : " (fusion off)");
  os << llvm::formatv("  {0,-12} {1,-14} {2,-24} {3}\n", "layer", "launches",
                      "prefill MB", "decode MB");
  auto mb = [](int64_t bytes) {
    return llvm::formatv("{0:f3}", double(bytes) / 1e6).str();
  };
  auto cell = [&](auto before, auto after, auto format) {
    return unfused ? format(before) + " -> " + format(after) : format(after);
  };
  auto count = [](int64_t n) { return std::to_string(n); };
  auto row = [&](StringRef name, const LayerTraffic &b, const LayerTraffic &a) {
    os << llvm::formatv("  {0,-12} {1,-14} {2,-24} {3}\n", name,
                        cell(b.launches, a.launches, count),
                        cell(b.prefillBytes, a.prefillBytes, mb),
                        cell(b.decodeBytes, a.decodeBytes, mb));
  };
  LayerTraffic totalBefore, totalAfter;
  // Layers of either side, in the order the fused model runs them.
  llvm::MapVector<std::string, bool, std::map<std::string, unsigned>> names;
  for (auto &[name, traffic] : afterStats)
    names[name] = true;
  for (auto &[name, traffic] : beforeStats)
    names[name] = true;
  for (auto &[name, unused] : names) {
    LayerTraffic b = beforeStats.lookup(name), a = afterStats.lookup(name);
    row(name, b, a);
    auto add = [](LayerTraffic &total, const LayerTraffic &layer) {
      total.launches += layer.launches;
      total.prefillBytes += layer.prefillBytes;
      total.decodeBytes += layer.decodeBytes;
    };
    add(totalBefore, b);
    add(totalAfter, a);
  }
  row("total", totalBefore, totalAfter);
  return success();
}

} // namespace braid
