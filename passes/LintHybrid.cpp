//===- LintHybrid.cpp - design-rule warnings for hybrid stacks ------------===//
//
// Reads the block structure of each model function (its `braid.layer` ops)
// and warns where the stack departs from what hybrid-architecture studies
// found to work. See Passes.td for the rules.
//
//===----------------------------------------------------------------------===//
#include "passes/LayerNames.h"
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

/// attention-ratio: fewer than 1 attention mixer in this many is reported.
constexpr size_t kMinAttentionShare = 16;
/// attention-placement applies to stacks of at least this many mixers.
constexpr size_t kMinPlacementMixers = 8;

class LintHybridPass
    : public braid::impl::BraidLintHybridBase<LintHybridPass> {
public:
  using BraidLintHybridBase::BraidLintHybridBase;

  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp func) {
      lintSequential(func);
      lintParallelMerges(func);
    });
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
      MixerSlot slot{layer, describeLayer(layer, here)};
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
      MixerSlot slot{layer, describeLayer(layer, here)};
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
    lintAttentionShare(slots);

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

  /// Rules attention-ratio and attention-placement, on the mixer slots of a
  /// hybrid (some recurrent and some attention mixers).
  void lintAttentionShare(ArrayRef<MixerSlot> slots) {
    SmallVector<size_t> positions;
    SmallVector<std::string> labels;
    for (auto [position, slot] : llvm::enumerate(slots))
      if (slot.attention) {
        positions.push_back(position);
        labels.push_back(slot.label);
      }
    size_t mixers = slots.size();
    LayerOp first = slots[positions.front()].layer;

    if (positions.size() * kMinAttentionShare < mixers)
      report(first) << "only " << positions.size() << " of the " << mixers
                    << " mixer layers of this hybrid are attention ("
                    << joinNames(labels) << "), fewer than 1 in "
                    << kMinAttentionShare
                    << "; recurrent layers lose exact recall of the context, "
                       "and published hybrids keep about 1 attention layer "
                       "in 7 to 11 (Jamba 1 in 8). Add attention layers, or "
                       "keep more of them when hybridizing";

    if (mixers < kMinPlacementMixers)
      return;
    size_t quarter = mixers / 4;
    bool allFirst = positions.back() < quarter;
    bool allLast = positions.front() >= mixers - quarter;
    if (!allFirst && !allLast)
      return;
    report(first) << "all attention layers of this hybrid ("
                  << joinNames(labels) << ") sit in the "
                  << (allFirst ? "first" : "last") << " quarter of its "
                  << mixers
                  << " mixer layers, leaving a long run of recurrent layers "
                     "without exact retrieval; published hybrids spread "
                     "attention through the depth (Jamba every 8th layer). "
                     "Spread the attention layers, e.g. with "
                     "braid-interleave's attention-period";
  }

  /// Whether `value`, a branch output merged in a parallel layer, is
  /// normalized or scaled: made by a norm, scale or mul, directly, through
  /// reshapes or as the yield of the nested layer that returns it.
  static bool isBalanced(Value value) {
    while (true) {
      Operation *def = value.getDefiningOp();
      if (!def)
        return false;
      if (isa<RMSNormOp, LayerNormOp, GatedRMSNormOp, ScaleOp, MulOp>(def))
        return true;
      if (auto reshape = dyn_cast<ReshapeOp>(def)) {
        value = reshape.getInput();
        continue;
      }
      if (auto layer = dyn_cast<LayerOp>(def)) {
        auto yield = cast<YieldOp>(layer.getBody().front().getTerminator());
        value = yield.getValues()[cast<OpResult>(value).getResultNumber()];
        continue;
      }
      return false;
    }
  }

  /// Rule parallel-merge: parallel layers with attention and recurrent
  /// branches whose merge adds the branches with equal weights and no branch
  /// normalized or scaled.
  void lintParallelMerges(func::FuncOp func) {
    SmallVector<LayerOp> flagged;
    SmallVector<std::string> labels;
    for (auto [position, top] :
         llvm::enumerate(func.getBody().getOps<LayerOp>()))
      top.walk<WalkOrder::PreOrder>([&](LayerOp layer) {
        if (layer.getKind() != LayerKind::parallel)
          return;
        bool recurrent = false, attention = false;
        for (LayerOp nested : layer.getNestedLayers()) {
          recurrent |= roleOf(nested.getKind()) == Role::Recurrent;
          attention |= roleOf(nested.getKind()) == Role::Attention;
        }
        if (!recurrent || !attention)
          return;
        for (auto merge : layer.getBody().front().getOps<MergeOp>()) {
          if (merge.getMode() != MergeMode::sum &&
              merge.getMode() != MergeMode::mean)
            continue;
          if (auto multipliers = merge.getMultipliers();
              multipliers && !llvm::all_equal(*multipliers))
            continue;
          if (llvm::any_of(merge.getBranches(), isBalanced))
            continue;
          flagged.push_back(layer);
          labels.push_back(describeLayer(layer, position));
          return;
        }
      });
    if (flagged.empty())
      return;
    report(flagged.front())
        << "parallel branches merged by a plain sum, none of them normalized "
           "or scaled, in "
        << joinNames(labels)
        << "; attention and SSM outputs differ in magnitude, so one branch "
           "can drown the other. Give the merge per-branch multipliers "
           "(Falcon-H1), normalize each branch (Hymba), or use a learned "
           "merge (concat_proj, attention)";
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
