//===- EpilogueFusion.cpp - consumers a GEMM launch absorbs ---------------===//
//
// See EpilogueFusion.h. Decisions are logged under
// -debug-only=braid-epilogue-fusion.
//
//===----------------------------------------------------------------------===//
#include "passes/EpilogueFusion.h"

#include "dialects/Braid/BraidOps.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "braid-epilogue-fusion"

using namespace mlir;

namespace braid {

SmallVector<Value> EpilogueFusion::launchResults(Operation *op) const {
  auto it = absorbing.find(op);
  if (it == absorbing.end())
    return SmallVector<Value>(op->getResults());
  return SmallVector<Value>(it->second.consumers.back()->getResults());
}

Value EpilogueFusion::residualOf(Operation *op) const {
  auto it = absorbing.find(op);
  return it == absorbing.end() ? Value() : it->second.residual;
}

StringRef EpilogueFusion::gluOf(Operation *op) const {
  auto it = absorbing.find(op);
  return it == absorbing.end() ? StringRef() : StringRef(it->second.glu);
}

int EpilogueFusion::gluGateOf(Operation *op) const {
  auto it = absorbing.find(op);
  return it == absorbing.end() ? 0 : it->second.gluGate;
}

EpilogueFusion planEpilogueFusion(ArrayRef<Operation *> ops,
                                  llvm::function_ref<Value(Value)> resolve,
                                  Value returned,
                                  std::optional<size_t> tailStart) {
  // Every reader of every (resolved) value, and where each op runs.
  llvm::DenseMap<Value, SmallVector<Operation *, 2>> readers;
  llvm::DenseMap<Operation *, size_t> position;
  for (auto [index, op] : llvm::enumerate(ops)) {
    position[op] = index;
    for (Value operand : op->getOperands())
      readers[resolve(operand)].push_back(op);
  }
  Value logits = returned ? resolve(returned) : Value();
  auto inTail = [&](size_t index) { return tailStart && index >= *tailStart; };
  auto onlyReader = [&](Value value) -> Operation * {
    auto it = readers.find(value);
    return value != logits && it != readers.end() && it->second.size() == 1
               ? it->second.front()
               : nullptr;
  };
  // split -> (activation of one half, the gate, mul of it with the other
  // half) of a gated MLP and the gate's index, or null.
  struct GatedMlp {
    ActivationOp act;
    MulOp mul;
    int gate = 0;
  };
  auto gatedMlp = [&](SplitOp split) -> GatedMlp {
    if (split.getNumResults() != 2 ||
        split.getResult(0).getType() != split.getResult(1).getType())
      return {};
    for (int gate : {0, 1}) {
      auto act =
          dyn_cast_or_null<ActivationOp>(onlyReader(split.getResult(gate)));
      auto mul = dyn_cast_or_null<MulOp>(onlyReader(split.getResult(1 - gate)));
      if (!act || !mul || onlyReader(act.getResult()) != mul ||
          mul.getType() != split.getResult(0).getType() ||
          mul.getLhs().getType() != mul.getRhs().getType() ||
          inTail(position.lookup(mul)) != inTail(position.lookup(split)))
        continue;
      LLVM_DEBUG(llvm::dbgs() << "gated MLP, gate = half " << gate << "\n");
      return {act, mul, gate};
    }
    return {};
  };

  EpilogueFusion fusion;
  // A causal conv whose output's only reader splits it along the features
  // (Mamba2's x, B, C) writes the pieces itself.
  auto planConvSplit = [&](CausalConv1dOp conv, size_t index) {
    Value result = conv.getOutput();
    auto split = dyn_cast_or_null<SplitOp>(onlyReader(result));
    auto why = [&]() -> std::string {
      if (!split)
        return "its output's only reader is not a split";
      if (static_cast<int64_t>(split.getAxis()) !=
          cast<RankedTensorType>(result.getType()).getRank() - 1)
        return "its split is not along the features";
      if (inTail(position.lookup(split)) != inTail(index))
        return "its split is on the other side of the prefill_last tail";
      for (Value piece : split.getResults())
        if (piece == logits)
          return "a piece of its split is the entry output";
      return "";
    }();
    if (!why.empty()) {
      LLVM_DEBUG(llvm::dbgs() << "causal_conv1d at " << conv.getLoc()
                              << " keeps its output: " << why << "\n");
      return;
    }
    fusion.absorbing[conv].consumers.push_back(split);
    fusion.absorbed.insert(split);
    LLVM_DEBUG(llvm::dbgs() << "causal_conv1d at " << conv.getLoc()
                            << " writes the pieces of its split\n");
  };
  for (auto [index, op] : llvm::enumerate(ops)) {
    if (auto conv = dyn_cast<CausalConv1dOp>(op)) {
      planConvSplit(conv, index);
      continue;
    }
    auto linear = dyn_cast<LinearOp>(op);
    if (!linear)
      continue;
    Value result = linear.getResult();
    auto why = [&]() -> std::string {
      if (result == logits)
        return "its result is the entry output";
      auto it = readers.find(result);
      if (it == readers.end() || it->second.size() != 1)
        return "its result does not have exactly one reader";
      Operation *consumer = it->second.front();
      if (fusion.absorbed.contains(consumer))
        return "its reader is absorbed by another linear";
      AbsorbedEpilogue &plan = fusion.absorbing[op];
      size_t at = position.lookup(consumer);
      if (inTail(at) != inTail(index))
        return "its reader is on the other side of the prefill_last tail";
      auto type = cast<RankedTensorType>(result.getType());
      if (auto split = dyn_cast<SplitOp>(consumer)) {
        if (static_cast<int64_t>(split.getAxis()) != type.getRank() - 1)
          return "its split is not along the features";
        for (Value piece : split.getResults())
          if (piece == logits)
            return "a piece of its split is the entry output";
        plan.consumers.push_back(consumer);
        if (GatedMlp g = gatedMlp(split); g.act) {
          plan.consumers.append({g.act, g.mul});
          plan.glu = stringifyActivationKind(g.act.getKind()).str();
          plan.gluGate = g.gate;
        }
        return "";
      }
      auto add = dyn_cast<AddOp>(consumer);
      if (!add)
        return "its reader is neither a split nor an add";
      if (add.getResult() == logits)
        return "its add is the entry output";
      if (add.getLhs().getType() != type || add.getRhs().getType() != type ||
          add.getType() != type)
        return "its add broadcasts or changes the type";
      Value residual =
          resolve(add.getLhs()) == result ? add.getRhs() : add.getLhs();
      // The epilogue reads the residual at the linear's launch: it must be
      // computed by then (its storage, through reshape views).
      Value storage = resolve(residual);
      while (auto reshape = storage.getDefiningOp<ReshapeOp>())
        storage = resolve(reshape.getInput());
      if (Operation *def = storage.getDefiningOp()) {
        auto pos = position.find(def);
        if (pos == position.end() || pos->second >= index)
          return "its residual is computed after it";
      }
      plan.consumers.push_back(consumer);
      plan.residual = residual;
      return "";
    }();
    if (!why.empty()) {
      fusion.absorbing.erase(op);
      LLVM_DEBUG(llvm::dbgs() << "linear at " << linear.getLoc()
                              << " keeps its epilogue: " << why << "\n");
      continue;
    }
    for (Operation *consumer : fusion.absorbing[op].consumers) {
      fusion.absorbed.insert(consumer);
      LLVM_DEBUG(llvm::dbgs()
                 << "linear at " << linear.getLoc() << " absorbs the "
                 << consumer->getName() << "\n");
    }
  }
  return fusion;
}

} // namespace braid
