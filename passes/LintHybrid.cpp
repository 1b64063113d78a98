//===- LintHybrid.cpp - design-rule warnings for hybrid stacks ------------===//
//
// Reads the block structure of each model function (its `braid.layer` ops)
// and warns where the stack departs from what hybrid-architecture studies
// found to work. See Passes.td for the rules.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/Braid/BraidOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "braid-lint-hybrid"

namespace braid {
#define GEN_PASS_DEF_BRAIDLINTHYBRID
#include "passes/Passes.h.inc"
} // namespace braid

using namespace mlir;
using namespace braid;

namespace {

enum class Role { Recurrent, Attention, FeedForward, Other };

Role roleOf(LayerKind kind) {
  switch (kind) {
  case LayerKind::mamba:
  case LayerKind::mamba2:
    return Role::Recurrent;
  case LayerKind::attention:
    return Role::Attention;
  case LayerKind::mlp:
  case LayerKind::moe:
    return Role::FeedForward;
  default:
    return Role::Other;
  }
}

/// "layer 3 ('model.layers.3')" or "layer #2" when the layer has no index.
std::string describe(LayerOp layer, size_t position) {
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

std::string joinNames(ArrayRef<std::string> names) {
  return llvm::join(names, ", ");
}

/// One mixer position in a sequential stack and whether a feed-forward
/// block follows it before the next mixer.
struct MixerSlot {
  LayerOp layer;
  std::string label;
  bool recurrent = false;
  bool attention = false;
  bool followedByFeedForward = false;
};

class LintHybridPass
    : public braid::impl::BraidLintHybridBase<LintHybridPass> {
public:
  using BraidLintHybridBase::BraidLintHybridBase;

  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) { lintSequential(func); });
    getOperation().walk([&](LayerOp layer) {
      if (layer.getKind() == LayerKind::parallel)
        lintParallel(layer);
    });
    if (warningsAsErrors && foundProblem)
      signalPassFailure();
  }

private:
  /// Reports at the layer's location only: attaching the op itself would
  /// print the whole layer body after every finding.
  InFlightDiagnostic report(Operation *op) {
    foundProblem = true;
    return warningsAsErrors ? mlir::emitError(op->getLoc())
                            : mlir::emitWarning(op->getLoc());
  }

  /// Appends the mixer slots of `layer` (flattening shared blocks) and marks
  /// the previous slot when `layer` is a feed-forward block.
  void collectSlots(LayerOp layer, SmallVectorImpl<MixerSlot> &slots,
                    size_t &position) {
    size_t here = position++;
    if (layer.getKind() == LayerKind::shared) {
      for (LayerOp nested : layer.getNestedLayers())
        collectSlots(nested, slots, position);
      return;
    }
    if (layer.getKind() == LayerKind::parallel) {
      MixerSlot slot{layer, describe(layer, here)};
      layer.walk([&](LayerOp nested) {
        slot.recurrent |= roleOf(nested.getKind()) == Role::Recurrent;
        slot.attention |= roleOf(nested.getKind()) == Role::Attention;
      });
      if (slot.recurrent || slot.attention)
        slots.push_back(slot);
      return;
    }
    switch (roleOf(layer.getKind())) {
    case Role::Recurrent:
    case Role::Attention: {
      MixerSlot slot{layer, describe(layer, here)};
      slot.recurrent = roleOf(layer.getKind()) == Role::Recurrent;
      slot.attention = !slot.recurrent;
      slots.push_back(slot);
      break;
    }
    case Role::FeedForward:
      if (!slots.empty())
        slots.back().followedByFeedForward = true;
      break;
    case Role::Other:
      break;
    }
  }

  /// Rule ffn-balance, sequential form.
  void lintSequential(func::FuncOp func) {
    SmallVector<MixerSlot> slots;
    size_t position = 0;
    for (auto layer : func.getBody().getOps<LayerOp>())
      collectSlots(layer, slots, position);

    bool hasRecurrent = llvm::any_of(slots, [](auto &s) { return s.recurrent; });
    bool hasAttention = llvm::any_of(slots, [](auto &s) { return s.attention; });
    LLVM_DEBUG(llvm::dbgs() << "lint " << func.getSymName() << ": "
                            << slots.size() << " mixer slots\n");
    if (!hasRecurrent || !hasAttention)
      return;

    SmallVector<std::string> recurrentWith, recurrentWithout;
    SmallVector<std::string> attentionWith, attentionWithout;
    LayerOp firstRecurrentWithout, firstAttentionWithout;
    for (MixerSlot &slot : slots) {
      if (slot.recurrent && !slot.attention) {
        (slot.followedByFeedForward ? recurrentWith : recurrentWithout)
            .push_back(slot.label);
        if (!slot.followedByFeedForward && !firstRecurrentWithout)
          firstRecurrentWithout = slot.layer;
      }
      if (slot.attention && !slot.recurrent) {
        (slot.followedByFeedForward ? attentionWith : attentionWithout)
            .push_back(slot.label);
        if (!slot.followedByFeedForward && !firstAttentionWithout)
          firstAttentionWithout = slot.layer;
      }
    }

    if (!recurrentWith.empty() && attentionWith.empty() &&
        !attentionWithout.empty())
      report(firstAttentionWithout)
          << "feed-forward blocks follow only the Mamba part of this hybrid ("
          << joinNames(recurrentWith) << ") and never its attention ("
          << joinNames(attentionWithout)
          << "); one-sided feed-forward placement degrades hybrids. "
             "Balanced placement puts a feed-forward block after the "
             "attention layers too (or after every mixer)";
    if (!attentionWith.empty() && recurrentWith.empty() &&
        !recurrentWithout.empty())
      report(firstRecurrentWithout)
          << "feed-forward blocks follow only the attention part of this "
             "hybrid ("
          << joinNames(attentionWith) << ") and never its Mamba layers ("
          << joinNames(recurrentWithout)
          << "); one-sided feed-forward placement degrades hybrids. "
             "Balanced placement puts a feed-forward block after the Mamba "
             "layers too (or after every mixer)";
  }

  /// A branch of a parallel layer: a chain of nested layers.
  struct Branch {
    SmallVector<LayerOp> layers;
    bool hasMixer = false;
    bool hasFeedForward = false;
  };

  /// The branches that `layer`'s inputs come from, following the ops of the
  /// parallel body (scales, residual adds, merges...) back to nested layers.
  static llvm::SmallSetVector<size_t, 4>
  sourceBranches(LayerOp layer, Block &body,
                 const llvm::DenseMap<Operation *, size_t> &branchOf) {
    llvm::SmallSetVector<size_t, 4> sources;
    llvm::SmallPtrSet<Operation *, 16> seen;
    SmallVector<Value> work(layer.getInputs().begin(), layer.getInputs().end());
    while (!work.empty()) {
      Operation *def = work.pop_back_val().getDefiningOp();
      if (!def || def->getBlock() != &body || !seen.insert(def).second)
        continue;
      if (auto it = branchOf.find(def); it != branchOf.end())
        sources.insert(it->second);
      else
        work.append(def->operand_begin(), def->operand_end());
    }
    return sources;
  }

  /// Rule ffn-balance, parallel form: one branch carries a feed-forward
  /// block and another mixer branch does not. A nested layer joins the
  /// branch its inputs come from; one that reads several branches runs after
  /// their merge and belongs to none.
  void lintParallel(LayerOp parallel) {
    SmallVector<Branch> branches;
    llvm::DenseMap<Operation *, size_t> branchOf;
    Block &body = parallel.getBody().front();
    for (LayerOp nested : parallel.getNestedLayers()) {
      llvm::SmallSetVector<size_t, 4> sources =
          sourceBranches(nested, body, branchOf);
      if (sources.size() > 1)
        continue;
      std::optional<size_t> parent;
      if (sources.size() == 1)
        parent = sources.front();
      if (!parent) {
        parent = branches.size();
        branches.emplace_back();
      }
      Branch &branch = branches[*parent];
      branch.layers.push_back(nested);
      Role role = roleOf(nested.getKind());
      branch.hasMixer |= role == Role::Recurrent || role == Role::Attention;
      branch.hasFeedForward |= role == Role::FeedForward;
      branchOf[nested] = *parent;
    }

    SmallVector<std::string> with, without;
    for (Branch &branch : branches) {
      if (!branch.hasMixer)
        continue;
      LayerOp head = branch.layers.front();
      std::string label =
          (stringifyLayerKind(head.getKind()) + " branch").str();
      (branch.hasFeedForward ? with : without).push_back(label);
    }
    if (with.empty() || without.empty())
      return;
    report(parallel)
        << "in this parallel hybrid layer a feed-forward block follows only "
           "the "
        << joinNames(with) << ", not the " << joinNames(without)
        << "; one-sided feed-forward placement degrades hybrids. Balanced "
           "placement gives every branch its own feed-forward block or puts "
           "one after the merge";
  }

  bool foundProblem = false;
};

} // namespace
