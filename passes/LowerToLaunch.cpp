//===- LowerToLaunch.cpp - braid model function to launch ops -------------===//
//
// See Passes.td for what the pass does. The steps are kept apart: flatten the
// layer regions, assign every value a buffer (weight, input, output, arena
// slot or a view of another value), plan the arena, then emit the entries.
//
//===----------------------------------------------------------------------===//
#include "passes/BufferPlanning.h"
#include "passes/DecodeFusion.h"
#include "passes/EpilogueFusion.h"
#include "passes/Passes.h"
#include "passes/PrologueFusion.h"

#include "dialects/Braid/BraidOps.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "braid-lower-to-launch"

namespace braid {
#define GEN_PASS_DEF_BRAIDLOWERTOLAUNCH
#include "passes/Passes.h.inc"
} // namespace braid

using namespace mlir;
using namespace braid;
using launch::BufferAttr;
using launch::BufferKind;

namespace {

/// A braid op of the flattened model with the path of layers it sits in.
struct FlatOp {
  Operation *op;
  std::string path;
};

/// Where a value lives.
struct Placement {
  BufferKind kind = BufferKind::arena;
  std::string name;     // weight, input or output name
  int64_t interval = -1; // arena: index of its live interval
};

class LowerToLaunchPass
    : public braid::impl::BraidLowerToLaunchBase<LowerToLaunchPass> {
public:
  using BraidLowerToLaunchBase::BraidLowerToLaunchBase;
  void runOnOperation() override;

private:
  //===--- flattening ----------------------------------------------------===//

  Value resolve(Value value) const {
    while (true) {
      auto it = forwarded.find(value);
      if (it == forwarded.end())
        return value;
      value = it->second;
    }
  }

  void flatten(mlir::Block &block, const std::string &path);

  //===--- placement -----------------------------------------------------===//

  LogicalResult place(func::FuncOp func);
  /// The value whose bytes `value` uses (through reshape views).
  Value storageOf(Value value) const {
    value = resolve(value);
    while (auto reshape = value.getDefiningOp<ReshapeOp>())
      value = resolve(reshape.getInput());
    return value;
  }
  FailureOr<BufferAttr> bufferFor(Value value, Location loc);

  //===--- the last-position tail (entry prefill_last) --------------------===//

  LogicalResult findTail();
  launch::KernelOp emitGatherLast(OpBuilder &builder);

  //===--- greedy generation on the device (entry decode_greedy) ----------===//

  /// After `decode`: an entry with its launches, then greedy_next.
  void emitGreedyEntry(OpBuilder &builder, launch::EntryOp decode);

  //===--- emission ------------------------------------------------------===//

  std::string stateName(const FlatOp &flat, StringRef suffix);
  BufferAttr stateBuffer(const FlatOp &flat, StringRef suffix,
                         ArrayRef<int64_t> shape, Type elementType);
  FailureOr<launch::KernelOp> emitKernel(OpBuilder &builder,
                                         const FlatOp &flat);
  FailureOr<launch::KernelOp> emitMamba2Step(OpBuilder &builder,
                                             const FlatOp &flat,
                                             const Mamba2Step &step);
  const FlatOp &flatOf(Operation *op) const;
  DictionaryAttr kernelAttrs(Operation *op);
  LogicalResult emitWeights(OpBuilder &builder, ModuleOp module);

  llvm::DenseMap<Value, Value> forwarded;
  std::vector<FlatOp> ops;
  /// Consumers that linear launches absorb (fuse-epilogues).
  EpilogueFusion epilogues;
  /// Mamba2 mixer steps that run as one launch in decode
  /// (fuse-decode-steps), and whether the entry being planned is decode.
  DecodeFusion decodeSteps;
  bool inDecode = false;
  const Mamba2Step *stepOf(Operation *op) const {
    return inDecode ? decodeSteps.stepOf(op) : nullptr;
  }
  /// rms_norms that linear launches do: in every entry where their weight
  /// moved into the linears' weights (fuse-norms), else in the decode entry
  /// (fuse-decode-norms).
  PrologueFusion norms;
  /// Norms that only the decode entry folds.
  llvm::DenseSet<Operation *> decodeOnlyNorms;
  const FoldedNorm *normOf(Operation *op) const {
    const FoldedNorm *norm = norms.normOf(op);
    if (!norm || norm->weightFolded)
      return norm;
    return inDecode && fuseDecodeNorms ? norm : nullptr;
  }
  bool normAbsorbed(Operation *op) const {
    if (!norms.absorbed.contains(op))
      return false;
    return !decodeOnlyNorms.contains(op) || (inDecode && fuseDecodeNorms);
  }
  /// Row sums of squares (fuse-norms with row-sums, prefill entries): the
  /// linear launch
  /// writing a weight-folded norm's input also writes, just past that
  /// buffer in its arena interval, the sums of the squares of each row over
  /// each 128 columns ([B, T, ceil(N / 128)] f32, attribute `row_sumsq`),
  /// and the linears folding the norm read them (operand 5): on sm_90a
  /// their GEMM then scales its rows in the epilogue without reading them
  /// twice. Keyed by the storage value of the norm input; `offset` is the
  /// sums' byte offset per token past the value's own bytes.
  struct RowSums {
    int64_t groups = 0, offset = 0;
  };
  /// Storage value of a weight-folded norm's input -> that input's width.
  llvm::DenseMap<Value, int64_t> rowSumsWanted;
  llvm::DenseMap<Value, RowSums> rowSumsOf;
  /// Whether the entry being emitted writes and reads row sums (not decode:
  /// its skinny GEMMs sum their rows as they stream them).
  bool emitRowSums = false;
  FailureOr<BufferAttr> rowSumsBuffer(Value storage, Location loc);
  /// Ops of the current entry that get no launch of their own.
  bool noLaunch(Operation *op) const {
    return isa<WeightOp, ReshapeOp>(op) || epilogues.absorbed.contains(op) ||
           normAbsorbed(op) || (inDecode && decodeSteps.absorbed.contains(op));
  }
  /// The values a launch of `op` writes, and the values it reads.
  SmallVector<Value> launchResults(Operation *op) const;
  SmallVector<Value> launchReads(Operation *op) const;
  Value returned;

  llvm::DenseMap<Value, Placement> placements;
  std::vector<LiveInterval> intervals;
  ArenaPlan plan;
  llvm::StringMap<std::pair<std::vector<int64_t>, Type>> weights;
  std::vector<std::string> weightOrder; // first use, for a stable output

  /// States in creation order with their shapes, and the name each stateful
  /// op got (an op's suffixes share one base name).
  std::vector<std::tuple<std::string, std::vector<int64_t>, Type>> states;

  /// The tail: the position-wise ops after the last layer (final norm,
  /// lm_head, logit scales), which prefill_last runs on one row per
  /// sequence. `tailStart` indexes `ops`; `hidden` is the one [B, T, H]
  /// value the tail reads from before it, `gathered` the arena interval of
  /// its last rows. No tail (tailStart unset): no prefill_last entry.
  std::optional<size_t> tailStart;
  Value hidden;
  int64_t gathered = -1;
  /// While emitting prefill_last's tail: reads of `hidden` become reads of
  /// the gathered rows and T becomes 1 in every [B, T, ...] buffer.
  bool lastOnly = false;
  llvm::StringSet<> stateNames;
  llvm::DenseMap<std::pair<Operation *, StringRef>, std::string> opStates;
};

} // namespace

//===----------------------------------------------------------------------===//
// Flattening
//===----------------------------------------------------------------------===//

void LowerToLaunchPass::flatten(mlir::Block &block, const std::string &path) {
  for (Operation &op : block) {
    if (auto layer = dyn_cast<LayerOp>(op)) {
      std::string name = layer.getName()
                             ? layer.getName()->str()
                             : stringifyLayerKind(layer.getKind()).str();
      // Front ends name nested layers by their full prefix
      // ("layers.0.mixer.attention" inside "layers.0.mixer"); keep the path
      // short then, and join with '/' only where names restart (Zamba2's
      // shared blocks: "layers.3.shared/shared.0.mixer").
      std::string inner = path.empty() || StringRef(name).starts_with(path + ".")
                              ? name
                              : path + "/" + name;
      mlir::Block &body = layer.getBody().front();
      for (auto [arg, input] : llvm::zip(body.getArguments(), layer.getInputs()))
        forwarded[arg] = input;
      flatten(body, inner);
      auto yield = cast<YieldOp>(body.getTerminator());
      for (auto [result, value] :
           llvm::zip(layer.getResults(), yield.getValues()))
        forwarded[result] = value;
      continue;
    }
    if (isa<YieldOp>(op))
      continue;
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      if (ret.getNumOperands() == 1)
        returned = ret.getOperand(0);
      continue;
    }
    ops.push_back({&op, path});
  }
}

//===----------------------------------------------------------------------===//
// Placement and planning
//===----------------------------------------------------------------------===//

/// Bytes per token of a [B, T, ...] value, or failure for other shapes.
static FailureOr<int64_t> bytesPerToken(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() < 2 || !type.isDynamicDim(0) ||
      !type.isDynamicDim(1))
    return failure();
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  for (int64_t dim : type.getShape().drop_front(2)) {
    if (ShapedType::isDynamic(dim))
      return failure();
    bytes *= dim;
  }
  return bytes;
}

/// The state a stateful op already carries as an operand, if any.
static std::optional<StringRef> carriedState(Operation *op) {
  return TypeSwitch<Operation *, std::optional<StringRef>>(op)
      .Case([](CausalConv1dOp o) {
        return o.getConvState() ? std::optional<StringRef>("conv_state")
                                : std::nullopt;
      })
      .Case([](SSDScanOp o) {
        return o.getInitialState() ? std::optional<StringRef>("initial_state")
                                   : std::nullopt;
      })
      .Case([](SelectiveScanOp o) {
        return o.getState() ? std::optional<StringRef>("state") : std::nullopt;
      })
      .Case([](AttentionOp o) {
        return o.getKCache() ? std::optional<StringRef>("KV cache")
                             : std::nullopt;
      })
      .Case([](MLAOp o) {
        return o.getLatentCache() ? std::optional<StringRef>("latent cache")
                                  : std::nullopt;
      })
      .Default([](Operation *) { return std::nullopt; });
}

SmallVector<Value> LowerToLaunchPass::launchResults(Operation *op) const {
  if (const Mamba2Step *step = stepOf(op))
    return {step->result};
  return epilogues.launchResults(op);
}

SmallVector<Value> LowerToLaunchPass::launchReads(Operation *op) const {
  SmallVector<Value> reads(op->getOperands());
  if (Value residual = epilogues.residualOf(op))
    reads.push_back(residual);
  // A folded norm's result has no buffer; its input (and its weight, unless
  // that is folded into the linear's) is read.
  if (const FoldedNorm *norm = normOf(op)) {
    reads.push_back(norm->input);
    if (!norm->weightFolded)
      reads.push_back(norm->weight);
  }
  if (const Mamba2Step *step = stepOf(op)) {
    reads.append(step->scan->getOperands().begin(),
                 step->scan->getOperands().end());
    for (Value v : {step->z, step->normWeight})
      if (v)
        reads.push_back(v);
  }
  return reads;
}

/// Plans the buffers of the current entry (prefill and prefill_last share
/// one plan; decode has its own when it fuses Mamba2 steps, whose launch
/// reads the conv input while writing the step's output).
LogicalResult LowerToLaunchPass::place(func::FuncOp func) {
  static constexpr StringRef inputNames[] = {"input_ids", "positions"};
  placements.clear();
  intervals.clear();
  rowSumsOf.clear();
  gathered = -1;
  if (func.getNumArguments() != 2 || func.getNumResults() != 1)
    return func.emitOpError("the model function must take (input_ids, "
                            "positions) and return logits, got ")
           << func.getFunctionType();
  for (auto [index, arg] : llvm::enumerate(func.getArguments()))
    placements[arg] = {BufferKind::input, inputNames[index].str(), -1};

  int64_t launchIndex = 0, tailLaunch = -1;
  for (auto [index, flat] : llvm::enumerate(ops)) {
    Operation *op = flat.op;
    if (tailStart && index == *tailStart)
      tailLaunch = launchIndex;
    // Kernel families are braid ops; anything else would name a kernel that
    // no backend has.
    if (!isa_and_nonnull<BraidDialect>(op->getDialect()))
      return op->emitOpError("is not a braid op; only braid ops lower to "
                             "kernel launches");
    if (auto weight = dyn_cast<WeightOp>(op)) {
      placements[weight.getResult()] = {BufferKind::weight,
                                        weight.getName().str(), -1};
      auto [it, inserted] = weights.try_emplace(
          weight.getName(), std::vector<int64_t>(weight.getType().getShape()),
          weight.getType().getElementType());
      if (inserted)
        weightOrder.push_back(weight.getName().str());
      else if (llvm::ArrayRef(it->second.first) !=
                   weight.getType().getShape() ||
               it->second.second != weight.getType().getElementType())
        // Same name, same storage: one launch.weight cannot serve both.
        return weight.emitOpError("weight '")
               << weight.getName() << "' is used as " << weight.getType()
               << " here but as "
               << RankedTensorType::get(it->second.first, it->second.second)
               << " before";
      continue;
    }
    if (noLaunch(op))
      continue;
    // Before the results are planned: a carried state's result is not
    // [B, T, ...] and would otherwise be reported as a bad transient value.
    if (std::optional<StringRef> state = carriedState(op))
      return op->emitOpError("already carries its ")
             << *state
             << "; entry specialization adds states itself, so lower a "
                "stateless model function";
    for (Value operand : launchReads(op)) {
      auto it = placements.find(storageOf(operand));
      if (it != placements.end() && it->second.kind == BufferKind::arena)
        intervals[it->second.interval].last = launchIndex;
    }
    for (Value result : launchResults(op)) {
      if (result == resolve(returned)) {
        placements[result] = {BufferKind::output, "logits", -1};
        continue;
      }
      FailureOr<int64_t> bytes = bytesPerToken(result);
      if (failed(bytes))
        return op->emitOpError("produces ")
               << result.getType()
               << ", but transient values must be [batch, seq, static dims] "
                  "to be planned";
      placements[result] = {BufferKind::arena, "",
                            static_cast<int64_t>(intervals.size())};
      // A linear's only result that a weight-folded norm reads (as rows of
      // the same width, not through a reshape that changes them): its row
      // sums follow it in the same interval (64-byte aligned).
      int64_t width =
          cast<RankedTensorType>(result.getType()).getShape().back();
      if (isa<LinearOp>(op) && launchResults(op).size() == 1 &&
          rowSumsWanted.lookup(result) == width) {
        int64_t groups = (width + 127) / 128;
        int64_t offset = (*bytes + 63) / 64 * 64;
        rowSumsOf[result] = {groups, offset};
        *bytes = offset + groups * 4;
      }
      intervals.push_back({*bytes, launchIndex, launchIndex});
    }
    ++launchIndex;
  }
  Value logits = resolve(returned);
  if (!logits || placements.lookup(logits).kind != BufferKind::output)
    return func.emitOpError("the returned logits must be produced by a "
                            "kernel (not a view, weight or input)");
  // prefill_last copies the last row of `hidden` into its own slot just
  // before the tail's first launch and reads it where the tail reads
  // `hidden`: the slot is live over `hidden`'s tail readers, which keeps it
  // apart from `hidden` and from every value the tail writes. prefill and
  // decode leave the slot unused; it costs one row's bytes per token at the
  // end of the network, where little else is live.
  if (tailStart && placements.lookup(hidden).kind == BufferKind::arena) {
    const LiveInterval &from = intervals[placements.lookup(hidden).interval];
    gathered = static_cast<int64_t>(intervals.size());
    intervals.push_back({from.bytes, tailLaunch, from.last});
  } else {
    tailStart.reset();
  }
  plan = planArena(intervals);
  return success();
}

/// [B, T, static...] for activations; static shapes for weights.
static SmallVector<int64_t> symbolicShape(RankedTensorType type) {
  SmallVector<int64_t> shape(type.getShape());
  if (shape.size() >= 1 && ShapedType::isDynamic(shape[0]))
    shape[0] = launch::kDimBatch;
  if (shape.size() >= 2 && ShapedType::isDynamic(shape[1]))
    shape[1] = launch::kDimTokens;
  return shape;
}

FailureOr<BufferAttr> LowerToLaunchPass::bufferFor(Value value, Location loc) {
  Value storage = storageOf(value);
  auto it = placements.find(storage);
  if (it == placements.end())
    return emitError(loc, "internal: no buffer for a value of type ")
           << value.getType();
  auto type = cast<RankedTensorType>(resolve(value).getType());
  const Placement &placement = it->second;
  int64_t offset = placement.kind == BufferKind::arena
                       ? plan.offsets[placement.interval]
                       : 0;
  // Entry outputs (the logits) are f32 whatever the activation type
  // (docs/bundle.md): in a bf16 model the kernel writing them converts.
  Type elementType = placement.kind == BufferKind::output
                         ? Type(Float32Type::get(&getContext()))
                         : type.getElementType();
  SmallVector<int64_t> shape = symbolicShape(type);
  if (lastOnly) {
    if (storage == hidden)
      offset = plan.offsets[gathered];
    if (shape.size() >= 2 && shape[1] == launch::kDimTokens)
      shape[1] = 1;
  }
  return BufferAttr::get(&getContext(), placement.kind, placement.name, offset,
                         shape, elementType);
}

FailureOr<BufferAttr> LowerToLaunchPass::rowSumsBuffer(Value storage,
                                                       Location loc) {
  auto it = rowSumsOf.find(storage);
  auto placed = placements.find(storage);
  if (it == rowSumsOf.end() || placed == placements.end())
    return emitError(loc, "internal: no row sums for a value of type ")
           << storage.getType();
  return BufferAttr::get(
      &getContext(), BufferKind::arena, "",
      plan.offsets[placed->second.interval] + it->second.offset,
      {launch::kDimBatch, launch::kDimTokens, it->second.groups},
      Float32Type::get(&getContext()));
}

//===----------------------------------------------------------------------===//
// The last-position tail
//===----------------------------------------------------------------------===//

/// Families that compute each token's row from that row alone, so running
/// them on the last rows only gives the last rows of the full result.
static bool isRowWise(Operation *op) {
  return isa<RMSNormOp, LayerNormOp, LinearOp, ScaleOp, ActivationOp, AddOp,
             MulOp, ReshapeOp, WeightOp>(op);
}

LogicalResult LowerToLaunchPass::findTail() {
  // The tail starts after the last op inside a layer; models without layers
  // (hand-written IR) have no block structure to cut at.
  size_t start = ops.size();
  while (start > 0 && ops[start - 1].path.empty())
    --start;
  if (start == 0 || start == ops.size())
    return failure();
  llvm::SmallPtrSet<Operation *, 8> inTail;
  for (size_t i = start; i < ops.size(); ++i) {
    if (!isRowWise(ops[i].op)) {
      LLVM_DEBUG(llvm::dbgs() << "no prefill_last: '" << ops[i].op->getName()
                              << "' after the last layer is not row-wise\n");
      return failure();
    }
    inTail.insert(ops[i].op);
  }
  Value from;
  for (size_t i = start; i < ops.size(); ++i)
    for (Value operand : ops[i].op->getOperands()) {
      Value storage = storageOf(operand);
      Operation *def = storage.getDefiningOp();
      if (def && (inTail.contains(def) || isa<WeightOp>(def)))
        continue;
      if (from && from != storage) {
        LLVM_DEBUG(llvm::dbgs() << "no prefill_last: the tail reads more "
                                   "than one value from the layers\n");
        return failure();
      }
      from = storage;
    }
  auto type = from ? dyn_cast<RankedTensorType>(from.getType()) : nullptr;
  if (!type || type.getRank() != 3 || failed(bytesPerToken(from)))
    return failure();
  tailStart = start;
  hidden = from;
  return success();
}

void LowerToLaunchPass::emitGreedyEntry(OpBuilder &builder,
                                        launch::EntryOp decode) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointAfter(decode);
  auto entry = launch::EntryOp::create(builder, decode.getLoc(),
                                       builder.getStringAttr("decode_greedy"),
                                       decode.getInputs(), decode.getOutputs());
  Block &body = entry.getBody().emplaceBlock();
  builder.setInsertionPointToEnd(&body);
  BufferAttr logits;
  for (Operation &op : decode.getBody().front()) {
    builder.clone(op);
    if (auto kernel = dyn_cast<launch::KernelOp>(op))
      for (Attribute result : kernel.getResults())
        if (auto buffer = dyn_cast<BufferAttr>(result);
            buffer && buffer.getKind() == BufferKind::output)
          logits = buffer;
  }
  MLIRContext *ctx = &getContext();
  Type i64 = builder.getI64Type();
  constexpr int64_t B = launch::kDimBatch, T = launch::kDimTokens;
  auto input = [&](StringRef name, ArrayRef<int64_t> shape) -> Attribute {
    return BufferAttr::get(ctx, BufferKind::input, name, 0, shape, i64);
  };
  launch::KernelOp::create(
      builder, decode.getLoc(), builder.getStringAttr("greedy_next"),
      builder.getStringAttr(""), builder.getArrayAttr({logits}),
      builder.getArrayAttr({input("input_ids", {B, T}),
                            input("positions", {B, T}),
                            input("cache_position", {B})}),
      builder.getDictionaryAttr({}));
}

launch::KernelOp LowerToLaunchPass::emitGatherLast(OpBuilder &builder) {
  Location loc = hidden.getLoc();
  auto type = cast<RankedTensorType>(hidden.getType());
  const Placement &placement = placements.lookup(hidden);
  SmallVector<int64_t> rows = symbolicShape(type);
  auto source = BufferAttr::get(&getContext(), placement.kind, placement.name,
                                plan.offsets[placement.interval], rows,
                                type.getElementType());
  rows[1] = 1;
  auto last =
      BufferAttr::get(&getContext(), BufferKind::arena, "",
                      plan.offsets[gathered], rows, type.getElementType());
  return launch::KernelOp::create(
      builder, loc, builder.getStringAttr("gather_last"),
      builder.getStringAttr(""), builder.getArrayAttr({source}),
      builder.getArrayAttr({last}), builder.getDictionaryAttr({}));
}

//===----------------------------------------------------------------------===//
// States
//===----------------------------------------------------------------------===//

std::string LowerToLaunchPass::stateName(const FlatOp &flat, StringRef suffix) {
  auto key = std::make_pair(flat.op, suffix);
  if (auto it = opStates.find(key); it != opStates.end())
    return it->second;
  std::string base = flat.path.empty() ? "model" : flat.path;
  std::string name = base + "." + suffix.str();
  for (int copy = 1; stateNames.contains(name); ++copy)
    name = base + "." + suffix.str() + "#" + std::to_string(copy);
  stateNames.insert(name);
  opStates[key] = name;
  return name;
}

BufferAttr LowerToLaunchPass::stateBuffer(const FlatOp &flat, StringRef suffix,
                                          ArrayRef<int64_t> shape,
                                          Type elementType) {
  bool known = opStates.count({flat.op, suffix});
  std::string name = stateName(flat, suffix);
  if (!known)
    states.emplace_back(name, std::vector<int64_t>(shape), elementType);
  return BufferAttr::get(&getContext(), BufferKind::state, name, 0, shape,
                         elementType);
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

DictionaryAttr LowerToLaunchPass::kernelAttrs(Operation *op) {
  Builder b(&getContext());
  NamedAttrList attrs;
  for (NamedAttribute attr : op->getAttrDictionary())
    if (attr.getName() != "operandSegmentSizes" &&
        attr.getName() != "resultSegmentSizes")
      attrs.set(attr.getName(), attr.getValue());
  // Enums travel as keywords and default-valued attributes are always
  // present (the CpuKernels.h contract).
  TypeSwitch<Operation *>(op)
      .Case([&](ActivationOp o) {
        attrs.set("kind", b.getStringAttr(stringifyActivationKind(o.getKind())));
      })
      .Case([&](CausalConv1dOp o) {
        attrs.set("activation",
                  b.getStringAttr(stringifyActivationKind(o.getActivation())));
      })
      .Case([&](MoEOp o) {
        attrs.set("routing",
                  b.getStringAttr(stringifyMoERouting(o.getRouting())));
        attrs.set("activation",
                  b.getStringAttr(stringifyActivationKind(o.getActivation())));
        attrs.set("normalize_topk", b.getBoolAttr(o.getNormalizeTopk()));
        attrs.set("routed_scaling", b.getF64FloatAttr(
                                        o.getRoutedScaling().convertToDouble()));
      })
      .Case([&](MergeOp o) {
        attrs.set("mode", b.getStringAttr(stringifyMergeMode(o.getMode())));
      })
      .Case([&](AttentionOp o) {
        attrs.set("causal", b.getBoolAttr(o.getCausal()));
      })
      .Case([&](MLAOp o) { attrs.set("causal", b.getBoolAttr(o.getCausal())); })
      .Case([&](SSDScanOp o) {
        attrs.set("dt_softplus", b.getBoolAttr(o.getDtSoftplus()));
        attrs.set("dt_min", b.getF64FloatAttr(o.getDtMin().convertToDouble()));
      })
      .Case([&](SelectiveScanOp o) {
        attrs.set("norm_epsilon",
                  b.getF64FloatAttr(o.getNormEpsilon().convertToDouble()));
      })
      .Case([&](GatedRMSNormOp o) {
        attrs.set("norm_before_gate", b.getBoolAttr(o.getNormBeforeGate()));
      });
  return attrs.getDictionary(&getContext());
}

const FlatOp &LowerToLaunchPass::flatOf(Operation *op) const {
  for (const FlatOp &flat : ops)
    if (flat.op == op)
      return flat;
  llvm_unreachable("op of a decode step is not among the flattened ops");
}

/// The decode launch of a Mamba2 step (DecodeFusion.h has the contract):
/// the conv's and the scan's operands with their states, the gate's input
/// and weight, and one attribute dictionary merged from the chain's ops.
FailureOr<launch::KernelOp>
LowerToLaunchPass::emitMamba2Step(OpBuilder &builder, const FlatOp &flat,
                                  const Mamba2Step &step) {
  auto conv = cast<CausalConv1dOp>(step.conv);
  auto scan = cast<SSDScanOp>(step.scan);
  Location loc = conv.getLoc();
  Attribute unit = builder.getUnitAttr();
  auto buffer = [&](Value value) -> FailureOr<Attribute> {
    if (!value)
      return unit;
    FailureOr<BufferAttr> b = bufferFor(value, loc);
    if (failed(b))
      return failure();
    return Attribute(*b);
  };
  constexpr int64_t B = launch::kDimBatch;
  int64_t channels =
      cast<RankedTensorType>(conv.getInput().getType()).getShape().back();
  BufferAttr convState = stateBuffer(
      flat, "conv_state", {B, channels, int64_t(conv.getKernelSize()) - 1},
      builder.getF32Type());
  BufferAttr ssmState =
      stateBuffer(flatOf(scan), "ssm_state",
                  {B, int64_t(scan.getNumHeads()), int64_t(scan.getHeadDim()),
                   int64_t(scan.getStateSize())},
                  builder.getF32Type());
  SmallVector<Attribute> operands;
  for (Value v : {conv.getInput(), conv.getWeight(), conv.getBias()}) {
    FailureOr<Attribute> b = buffer(v);
    if (failed(b))
      return failure();
    operands.push_back(*b);
  }
  operands.push_back(convState);
  for (Value v : {scan.getDt(), scan.getA(), scan.getD(), scan.getDtBias()}) {
    FailureOr<Attribute> b = buffer(v);
    if (failed(b))
      return failure();
    operands.push_back(*b);
  }
  operands.push_back(ssmState);
  for (Value v : {step.z, step.normWeight}) {
    FailureOr<Attribute> b = buffer(v);
    if (failed(b))
      return failure();
    operands.push_back(*b);
  }
  FailureOr<Attribute> result = buffer(step.result);
  if (failed(result))
    return failure();

  NamedAttrList attrs(kernelAttrs(conv));
  for (NamedAttribute attr : kernelAttrs(scan))
    attrs.set(attr.getName(), attr.getValue());
  if (step.gateKind == "norm")
    for (NamedAttribute attr : kernelAttrs(step.gate.front()))
      attrs.set(attr.getName(), attr.getValue());
  attrs.set("gate", builder.getStringAttr(step.gateKind));
  return launch::KernelOp::create(
      builder, loc, builder.getStringAttr("mamba2_step"),
      builder.getStringAttr(flat.path), builder.getArrayAttr(operands),
      builder.getArrayAttr({*result, convState, ssmState}),
      attrs.getDictionary(&getContext()));
}

FailureOr<launch::KernelOp> LowerToLaunchPass::emitKernel(OpBuilder &builder,
                                                          const FlatOp &flat) {
  Operation *op = flat.op;
  Location loc = op->getLoc();
  if (const Mamba2Step *step = stepOf(op))
    return emitMamba2Step(builder, flat, *step);
  SmallVector<Attribute> operands, results;
  const FoldedNorm *norm = normOf(op);
  for (OpOperand &operand : op->getOpOperands()) {
    // A linear folding its input's norm reads the norm's input instead.
    Value value =
        norm && operand.getOperandNumber() == 0 ? norm->input : operand.get();
    FailureOr<BufferAttr> buffer = bufferFor(value, loc);
    if (failed(buffer))
      return failure();
    operands.push_back(*buffer);
  }
  for (Value result : launchResults(op)) {
    FailureOr<BufferAttr> buffer = bufferFor(result, loc);
    if (failed(buffer))
      return failure();
    results.push_back(*buffer);
  }
  // The row sums this launch writes for the next one's folded norm.
  bool writesRowSums = false;
  if (emitRowSums && isa<LinearOp>(op) && results.size() == 1 &&
      rowSumsOf.contains(storageOf(launchResults(op).front()))) {
    FailureOr<BufferAttr> buffer =
        rowSumsBuffer(storageOf(launchResults(op).front()), loc);
    if (failed(buffer))
      return failure();
    results.push_back(*buffer);
    writesRowSums = true;
  }

  // Absent optional operands of a given segment: `unit`. The segment sizes
  // tell where they are; state operands are then filled in below.
  auto expand = [&](ArrayRef<int32_t> segments) {
    SmallVector<Attribute> full;
    size_t next = 0;
    for (int32_t size : segments)
      for (int32_t i = 0; i < std::max(size, 1); ++i)
        full.push_back(size == 0 ? Attribute(builder.getUnitAttr())
                                 : operands[next++]);
    operands = full;
  };
  if (auto segments =
          op->getAttrOfType<DenseI32ArrayAttr>("operandSegmentSizes"))
    expand(segments.asArrayRef());
  else if (auto props = op->getPropertiesAsAttribute())
    if (auto dict = dyn_cast<DictionaryAttr>(props))
      if (auto segments = dict.getAs<DenseI32ArrayAttr>("operandSegmentSizes"))
        expand(segments.asArrayRef());

  // linear's bias is its only optional operand, so it has no segment sizes;
  // an absent bias is still passed as `unit` like every absent operand.
  if (auto linear = dyn_cast<LinearOp>(op); linear && !linear.getBias())
    operands.push_back(builder.getUnitAttr());
  if (Value residual = epilogues.residualOf(op)) {
    FailureOr<BufferAttr> buffer = bufferFor(residual, loc);
    if (failed(buffer))
      return failure();
    operands.push_back(*buffer);
  } else if (norm) {
    operands.push_back(builder.getUnitAttr());
  }
  // The folded norm's weight after the (possibly absent) residual, or
  // unit where it is folded into the linear's weight (PrologueFusion.h has
  // the contract).
  if (norm && norm->weightFolded) {
    operands.push_back(builder.getUnitAttr());
    // The input rows' sums of squares, where the launch that wrote them
    // did (not for prefill_last's gathered rows).
    Value storage = storageOf(norm->input);
    if (emitRowSums && rowSumsOf.contains(storage) &&
        !(lastOnly && storage == hidden)) {
      FailureOr<BufferAttr> buffer = rowSumsBuffer(storage, loc);
      if (failed(buffer))
        return failure();
      operands.push_back(*buffer);
    }
  } else if (norm) {
    FailureOr<BufferAttr> buffer = bufferFor(norm->weight, loc);
    if (failed(buffer))
      return failure();
    operands.push_back(*buffer);
  }

  auto inputBuffer = [&](StringRef name, ArrayRef<int64_t> shape) {
    return BufferAttr::get(&getContext(), BufferKind::input, name, 0, shape,
                           builder.getI64Type());
  };
  constexpr int64_t B = launch::kDimBatch, S = launch::kDimMaxSeq;

  // Carried states were refused in place(); every stateful op gets its
  // persistent states here.
  TypeSwitch<Operation *>(op)
      .Case([&](CausalConv1dOp o) {
        auto type = cast<RankedTensorType>(o.getInput().getType());
        int64_t channels = type.getShape().back();
        BufferAttr state =
            stateBuffer(flat, "conv_state",
                        {B, channels, int64_t(o.getKernelSize()) - 1},
                        builder.getF32Type());
        operands[3] = state;
        results.push_back(state);
      })
      .Case([&](SSDScanOp o) {
        BufferAttr state = stateBuffer(
            flat, "ssm_state",
            {B, int64_t(o.getNumHeads()), int64_t(o.getHeadDim()),
             int64_t(o.getStateSize())},
            builder.getF32Type());
        operands[7] = state;
        results.push_back(state);
      })
      .Case([&](SelectiveScanOp o) {
        auto type = cast<RankedTensorType>(o.getInput().getType());
        BufferAttr state = stateBuffer(
            flat, "ssm_state",
            {B, type.getShape().back(), int64_t(o.getStateSize())},
            builder.getF32Type());
        operands[10] = state;
        results.push_back(state);
      })
      .Case([&](AttentionOp o) {
        auto kType = cast<RankedTensorType>(o.getK().getType());
        auto vType = cast<RankedTensorType>(o.getV().getType());
        int64_t kvHeads = o.getNumKvHeads();
        // A bf16 model keeps its KV cache in bf16: decode attention reads
        // half the bytes and copies tiles without converting them.
        Type cacheType = kType.getElementType().isBF16()
                             ? kType.getElementType()
                             : Type(builder.getF32Type());
        BufferAttr kCache = stateBuffer(
            flat, "k_cache", {B, kvHeads, S, kType.getShape()[3]}, cacheType);
        BufferAttr vCache = stateBuffer(
            flat, "v_cache", {B, kvHeads, S, vType.getShape()[3]}, cacheType);
        operands[3] = kCache;
        operands[4] = vCache;
        operands[5] = inputBuffer("cache_position", {B});
        results.push_back(kCache);
        results.push_back(vCache);
      })
      .Case([&](MLAOp o) {
        BufferAttr cache = stateBuffer(
            flat, "latent_cache",
            {B, S, int64_t(o.getKvLoraRank() + o.getQkRopeHeadDim())},
            builder.getF32Type());
        operands[4] = cache;
        operands[5] = inputBuffer("cache_position", {B});
        results.push_back(cache);
      });

  DictionaryAttr attrs = kernelAttrs(op);
  if (StringRef glu = epilogues.gluOf(op); !glu.empty()) {
    NamedAttrList list(attrs);
    list.set("glu", builder.getStringAttr(glu));
    if (epilogues.gluGateOf(op) != 0)
      list.set("glu_gate", builder.getI64IntegerAttr(epilogues.gluGateOf(op)));
    attrs = list.getDictionary(&getContext());
  }
  if (norm || writesRowSums) {
    NamedAttrList list(attrs);
    if (norm)
      list.set("norm_eps", builder.getF64FloatAttr(norm->epsilon));
    if (writesRowSums)
      list.set("row_sumsq", builder.getBoolAttr(true));
    attrs = list.getDictionary(&getContext());
  }
  StringRef family = op->getName().stripDialect();
  return launch::KernelOp::create(
      builder, loc, builder.getStringAttr(family),
      builder.getStringAttr(flat.path), builder.getArrayAttr(operands),
      builder.getArrayAttr(results), attrs);
}

//===----------------------------------------------------------------------===//
// Weights and the whole pass
//===----------------------------------------------------------------------===//

LogicalResult LowerToLaunchPass::emitWeights(OpBuilder &builder,
                                             ModuleOp module) {
  llvm::StringSet<> bound;
  for (auto weight : module.getOps<launch::WeightOp>()) {
    bound.insert(weight.getName());
    // A front-end binding must describe the weight the model uses.
    auto it = weights.find(weight.getName());
    if (it != weights.end() &&
        (llvm::ArrayRef(it->second.first) != weight.getShape() ||
         it->second.second != weight.getElementType()))
      return weight.emitOpError("binds '")
             << weight.getName() << "' as "
             << RankedTensorType::get(weight.getShape(),
                                      weight.getElementType())
             << ", but the model uses it as "
             << RankedTensorType::get(it->second.first, it->second.second);
  }
  // Weights the front end did not bind come straight from a tensor of the
  // same name and shape (hand-written IR, DSL models).
  for (const std::string &name : weightOrder) {
    if (bound.contains(name))
      continue;
    auto &[shape, elementType] = weights[name];
    NamedAttrList source;
    source.set("tensor", builder.getStringAttr(name));
    source.set("shape", builder.getDenseI64ArrayAttr(shape));
    launch::WeightOp::create(
        builder, module.getLoc(), builder.getStringAttr(name),
        builder.getDenseI64ArrayAttr(shape), TypeAttr::get(elementType),
        builder.getArrayAttr({source.getDictionary(&getContext())}),
        builder.getStringAttr("single"), builder.getI64IntegerAttr(0),
        builder.getI64IntegerAttr(0), builder.getStringAttr("identity"),
        ArrayAttr());
  }
  return success();
}

void LowerToLaunchPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto funcs = llvm::to_vector(module.getOps<func::FuncOp>());
  if (funcs.size() != 1) {
    module.emitError("expected exactly one model function, found ")
        << funcs.size();
    return signalPassFailure();
  }
  func::FuncOp func = funcs.front();
  flatten(func.getBody().front(), "");
  (void)findTail(); // no tail: no prefill_last entry, not an error
  auto resolver = [this](Value v) { return resolve(v); };
  SmallVector<Operation *> flatOps = llvm::to_vector(
      llvm::map_range(ops, [](const FlatOp &f) { return f.op; }));
  if (fuseEpilogues)
    epilogues = planEpilogueFusion(flatOps, resolver, returned, tailStart);
  if (fuseDecodeSteps)
    decodeSteps = planDecodeFusion(flatOps, resolver, returned);
  if (fuseDecodeNorms || fuseNorms)
    norms = planPrologueFusion(flatOps, resolver, returned);
  if (fuseNorms) {
    WeightBindings bindings(module);
    [[maybe_unused]] unsigned folded =
        foldNormWeights(norms, flatOps, bindings, resolver);
    LLVM_DEBUG(llvm::dbgs() << folded << " rms_norms folded in every entry\n");
  }
  for (auto &[linear, norm] : norms.linears) {
    if (!norm.weightFolded)
      decodeOnlyNorms.insert(norm.norm);
    else if (rowSums)
      rowSumsWanted[storageOf(norm.input)] =
          cast<RankedTensorType>(norm.input.getType()).getShape().back();
  }
  if (failed(place(func)))
    return signalPassFailure();
  LLVM_DEBUG(llvm::dbgs() << ops.size() << " ops, " << intervals.size()
                          << " arena values, peak " << plan.peakBytes
                          << " bytes/token\n");

  OpBuilder builder(&getContext());
  builder.setInsertionPoint(func);
  if (failed(emitWeights(builder, module)))
    return signalPassFailure();
  // The arena holds the largest of the entries' plans.
  int64_t arenaBytes = plan.peakBytes, naiveBytes = plan.naiveBytes;

  // prefill_last is prefill whose tail (final norm, lm_head) runs on each
  // sequence's last position only: generation samples nothing else, and the
  // full [B, T, V] logits cost an lm_head GEMM over every row and their copy
  // back. It runs the same layers, so it leaves the same states.
  SmallVector<StringRef> entryNames = {"prefill", "decode"};
  if (tailStart)
    entryNames.push_back("prefill_last");
  SmallVector<launch::EntryOp> entries;
  for (StringRef name : entryNames) {
    auto entry = launch::EntryOp::create(
        builder, func.getLoc(), builder.getStringAttr(name),
        builder.getStrArrayAttr({"input_ids", "positions", "cache_position"}),
        builder.getStrArrayAttr({"logits"}));
    entry.getBody().emplaceBlock();
    entries.push_back(entry);
  }
  for (launch::EntryOp entry : entries) {
    OpBuilder inner = OpBuilder::atBlockEnd(&entry.getBody().front());
    bool last = entry.getName() == "prefill_last";
    emitRowSums = entry.getName() != "decode";
    bool decode = entry.getName() == "decode" &&
                  (!decodeSteps.steps.empty() ||
                   (fuseDecodeNorms && !decodeOnlyNorms.empty()));
    if (decode != inDecode) {
      inDecode = decode;
      if (failed(place(func)))
        return signalPassFailure();
      arenaBytes = std::max(arenaBytes, plan.peakBytes);
    }
    for (auto [index, flat] : llvm::enumerate(ops)) {
      if (last && index == *tailStart) {
        emitGatherLast(inner);
        lastOnly = true;
      }
      if (noLaunch(flat.op))
        continue;
      if (failed(emitKernel(inner, flat)))
        return signalPassFailure();
    }
    lastOnly = false;
  }
  if (greedyEntry)
    emitGreedyEntry(builder, entries[1]);
  // The arena and the states, now that the entries have named them, before
  // the entries.
  builder.setInsertionPoint(entries.front());
  launch::ArenaOp::create(builder, func.getLoc(),
                          builder.getI64IntegerAttr(arenaBytes));
  for (auto &[name, shape, elementType] : states)
    launch::StateOp::create(builder, func.getLoc(), builder.getStringAttr(name),
                            builder.getDenseI64ArrayAttr(shape),
                            TypeAttr::get(elementType));
  module->setAttr("launch.naive_bytes_per_token",
                  builder.getI64IntegerAttr(naiveBytes));
  func.erase();
}
