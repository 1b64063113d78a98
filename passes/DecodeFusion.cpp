//===- DecodeFusion.cpp - one launch per Mamba2 mixer step in decode -----===//
//
// See DecodeFusion.h. Decisions are logged under
// -debug-only=braid-decode-fusion.
//
//===----------------------------------------------------------------------===//
#include "passes/DecodeFusion.h"

#include "dialects/Braid/BraidOps.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "braid-decode-fusion"

using namespace mlir;

namespace braid {

namespace {

/// Readers of every resolved value, looking through reshapes (a reshape is
/// a view: its readers read the same bytes).
class ReaderIndex {
public:
  ReaderIndex(ArrayRef<Operation *> ops,
              llvm::function_ref<Value(Value)> resolve, Value logits)
      : resolve(resolve), logits(logits) {
    for (auto [index, op] : llvm::enumerate(ops)) {
      position[op] = index;
      for (Value operand : op->getOperands())
        readers[resolve(operand)].push_back(op);
    }
  }

  /// The one non-reshape reader of `value` and the value it reads (the
  /// last reshape of the chain, or `value`), or null when the value has
  /// more or fewer readers or is the entry output.
  std::pair<Operation *, Value> onlyReader(Value value) const {
    value = resolve(value);
    while (true) {
      auto it = readers.find(value);
      if (value == logits || it == readers.end() || it->second.size() != 1)
        return {nullptr, Value()};
      Operation *reader = it->second.front();
      auto reshape = dyn_cast<ReshapeOp>(reader);
      if (!reshape)
        return {reader, value};
      value = resolve(reshape.getResult());
    }
  }

  /// Whether `value` (through views) is computed before op index `at`.
  bool computedBefore(Value value, size_t at) const {
    value = resolve(value);
    while (auto reshape = value.getDefiningOp<ReshapeOp>())
      value = resolve(reshape.getInput());
    Operation *def = value.getDefiningOp();
    if (!def || isa<WeightOp>(def))
      return true;
    auto it = position.find(def);
    return it != position.end() && it->second < at;
  }

  Value resolved(Value value) const { return resolve(value); }

private:
  llvm::function_ref<Value(Value)> resolve;
  Value logits;
  llvm::DenseMap<Value, SmallVector<Operation *, 2>> readers;
  llvm::DenseMap<Operation *, size_t> position;
};

/// Why `conv` does not start a Mamba2 step ("" when `step` now holds one).
std::string matchStep(CausalConv1dOp conv, size_t at, const ReaderIndex &idx,
                      Mamba2Step &step) {
  if (conv.getConvState())
    return "it already carries its state";
  auto [splitOp, convOut] = idx.onlyReader(conv.getOutput());
  auto split = dyn_cast_or_null<SplitOp>(splitOp);
  if (!split || split.getNumResults() != 3)
    return "its output is not read by one split into three pieces";
  auto convType = cast<RankedTensorType>(conv.getOutput().getType());
  if (static_cast<int64_t>(split.getAxis()) != convType.getRank() - 1)
    return "its split is not along the channels";
  // x, B and C, each read by the scan only, in that operand slot.
  SSDScanOp scan;
  static constexpr unsigned slots[] = {0, 3, 4};
  for (auto [piece, slot] : llvm::zip(split.getResults(), slots)) {
    auto [reader, read] = idx.onlyReader(piece);
    auto s = dyn_cast_or_null<SSDScanOp>(reader);
    if (!s || (scan && s != scan) || idx.resolved(s->getOperand(slot)) != read)
      return "its pieces are not the x, B and C of one ssd_scan";
    scan = s;
  }
  if (scan.getInitialState())
    return "its scan already carries its state";
  for (Value input : {scan.getDt(), conv.getInput()})
    if (!idx.computedBefore(input, at))
      return "the scan's dt or the conv's input is computed after the conv";
  step.conv = conv;
  step.split = split;
  step.scan = scan;
  step.result = scan.getOutput();
  auto [gateOp, y] = idx.onlyReader(scan.getOutput());
  if (auto norm = dyn_cast_or_null<GatedRMSNormOp>(gateOp)) {
    if (idx.resolved(norm.getInput()) != y)
      return "";
    if (!idx.computedBefore(norm.getGate(), at))
      return "";
    step.gate = {norm};
    step.gateKind = "norm";
    step.z = norm.getGate();
    step.normWeight = norm.getWeight();
    step.result = norm.getResult();
  } else if (auto mul = dyn_cast_or_null<MulOp>(gateOp)) {
    Value other = idx.resolved(mul.getLhs()) == y ? mul.getRhs() : mul.getLhs();
    auto act = other.getDefiningOp<ActivationOp>();
    if (!act || act.getKind() != ActivationKind::silu ||
        idx.onlyReader(act.getResult()).first != mul ||
        mul.getLhs().getType() != mul.getRhs().getType() ||
        !idx.computedBefore(act.getInput(), at))
      return "";
    step.gate = {act, mul};
    step.gateKind = "silu";
    step.z = act.getInput();
    step.result = mul.getResult();
  }
  return "";
}

} // namespace

DecodeFusion planDecodeFusion(ArrayRef<Operation *> ops,
                              llvm::function_ref<Value(Value)> resolve,
                              Value returned) {
  ReaderIndex idx(ops, resolve, returned ? resolve(returned) : Value());
  DecodeFusion fusion;
  for (auto [index, op] : llvm::enumerate(ops)) {
    auto conv = dyn_cast<CausalConv1dOp>(op);
    if (!conv)
      continue;
    Mamba2Step step;
    std::string why = matchStep(conv, index, idx, step);
    if (!why.empty()) {
      LLVM_DEBUG(llvm::dbgs()
                 << "conv at " << conv.getLoc()
                 << " keeps its launches in decode: " << why << "\n");
      continue;
    }
    LLVM_DEBUG(llvm::dbgs()
               << "conv at " << conv.getLoc()
               << " starts a mamba2_step with gate " << step.gateKind << "\n");
    fusion.absorbed.insert(step.split);
    fusion.absorbed.insert(step.scan);
    for (Operation *gate : step.gate)
      fusion.absorbed.insert(gate);
    fusion.steps[op] = std::move(step);
  }
  return fusion;
}

} // namespace braid
