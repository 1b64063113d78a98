//===- PrologueFusion.cpp - norms a GEMM launch absorbs -------------------===//
//
// See PrologueFusion.h. Decisions are logged under
// -debug-only=braid-prologue-fusion.
//
//===----------------------------------------------------------------------===//
#include "passes/PrologueFusion.h"

#include "dialects/Braid/BraidOps.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "braid-prologue-fusion"

using namespace mlir;

namespace braid {

PrologueFusion planPrologueFusion(ArrayRef<Operation *> ops,
                                  llvm::function_ref<Value(Value)> resolve,
                                  Value returned) {
  // Every reader of every (resolved) value, with the operand it reads.
  llvm::DenseMap<Value, SmallVector<OpOperand *, 2>> readers;
  for (Operation *op : ops)
    for (OpOperand &operand : op->getOpOperands())
      readers[resolve(operand.get())].push_back(&operand);
  Value logits = returned ? resolve(returned) : Value();

  PrologueFusion fusion;
  for (Operation *op : ops) {
    auto norm = dyn_cast<RMSNormOp>(op);
    if (!norm)
      continue;
    Value result = norm.getResult();
    SmallVector<Operation *, 2> linears;
    auto why = [&]() -> std::string {
      if (result == logits)
        return "its result is the entry output";
      auto it = readers.find(result);
      if (it == readers.end())
        return "its result has no reader";
      for (OpOperand *use : it->second) {
        auto linear = dyn_cast<LinearOp>(use->getOwner());
        if (!linear)
          return "'" + use->getOwner()->getName().getStringRef().str() +
                 "' reads its result";
        // Operand 0 is the input; as weight or bias the GEMM would need
        // the normalized values themselves.
        if (use->getOperandNumber() != 0)
          return "a linear reads its result as its weight or bias";
        if (!llvm::is_contained(linears, linear.getOperation()))
          linears.push_back(linear);
      }
      return "";
    }();
    if (!why.empty()) {
      LLVM_DEBUG(llvm::dbgs() << "rms_norm at " << norm.getLoc()
                              << " keeps its launch: " << why << "\n");
      continue;
    }
    fusion.absorbed.insert(norm);
    for (Operation *linear : linears) {
      fusion.linears[linear] = {norm, norm.getInput(), norm.getWeight(),
                                norm.getEpsilon().convertToDouble()};
      LLVM_DEBUG(llvm::dbgs()
                 << "linear at " << linear->getLoc()
                 << " folds the rms_norm at " << norm.getLoc() << "\n");
    }
  }
  return fusion;
}

unsigned foldNormWeights(PrologueFusion &fusion, ArrayRef<Operation *> ops,
                         WeightBindings &bindings,
                         llvm::function_ref<Value(Value)> resolve) {
  // The linears of each absorbed norm, in launch order (bindings created
  // here keep a stable order in the manifest).
  llvm::MapVector<Operation *, SmallVector<Operation *, 2>> byNorm;
  for (Operation *op : ops)
    if (const FoldedNorm *folded = fusion.normOf(op))
      if (!llvm::is_contained(byNorm[folded->norm], op))
        byNorm[folded->norm].push_back(op);
  unsigned count = 0;
  for (auto &[norm, linears] : byNorm) {
    auto g =
        resolve(cast<RMSNormOp>(norm).getWeight()).getDefiningOp<WeightOp>();
    auto why = [&]() -> std::string {
      if (!g)
        return "its weight is not a braid.weight";
      for (Operation *linear : linears) {
        auto w = resolve(cast<LinearOp>(linear).getWeight())
                     .getDefiningOp<WeightOp>();
        if (!w)
          return "a linear's weight is not a braid.weight";
        if (!bindings.isExclusive(w))
          return "weight '" + w.getName().str() + "' has other uses";
        launch::WeightOp binding = bindings.lookup(w.getName());
        if (binding && binding->hasAttr(kWeightColumnScaleAttr))
          return "weight '" + w.getName().str() +
                 "' already has a column scale";
      }
      return "";
    }();
    if (!why.empty()) {
      LLVM_DEBUG(llvm::dbgs() << "rms_norm at " << norm->getLoc()
                              << " keeps its weight: " << why << "\n");
      continue;
    }
    bindings.getOrCreate(g); // the runtime reads g for the factors
    StringAttr name = g.getNameAttr();
    for (Operation *linear : linears) {
      auto w =
          resolve(cast<LinearOp>(linear).getWeight()).getDefiningOp<WeightOp>();
      bindings.getOrCreate(w)->setAttr(kWeightColumnScaleAttr, name);
      fusion.linears[linear].weightFolded = true;
      LLVM_DEBUG(llvm::dbgs() << "weight '" << w.getName() << "' takes the "
                              << "columns of '" << name.getValue() << "'\n");
    }
    ++count;
  }
  return count;
}

} // namespace braid
