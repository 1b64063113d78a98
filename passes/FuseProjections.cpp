//===- FuseProjections.cpp - shared-input linears into one GEMM -----------===//
//
// See Passes.td for what the pass does. Blocks are processed top-down, so a
// parallel layer's branches are fused across (q/k/v with the Mamba2 in_proj)
// before a branch would fuse only its own projections. The fused weight is
// bound at load as the concatenation of the originals' checkpoint sources
// (WeightBindings.h); a group whose bindings cannot be concatenated stays
// unfused, with the reason under -debug-only=braid-fuse-projections.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/WeightBindings.h"

#include "dialects/Braid/BraidOps.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "braid-fuse-projections"

namespace braid {
#define GEN_PASS_DEF_BRAIDFUSEPROJECTIONS
#include "passes/Passes.h.inc"
} // namespace braid

using namespace mlir;
using namespace braid;

namespace {

/// `split(split(x)#i)` along the same axis, where the inner split is the only
/// reader of that piece, is one split of `x` into finer pieces. Fusing a
/// projection whose output was already split (Mamba2's in_proj) leaves this.
struct SplitOfSplit : OpRewritePattern<SplitOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SplitOp inner,
                                PatternRewriter &rewriter) const override {
    auto piece = dyn_cast<OpResult>(inner.getInput());
    auto outer = piece ? dyn_cast<SplitOp>(piece.getOwner()) : SplitOp();
    if (!outer || outer.getAxis() != inner.getAxis() || !piece.hasOneUse())
      return failure();
    unsigned index = piece.getResultNumber();
    SmallVector<int64_t> sizes;
    SmallVector<Type> types;
    for (unsigned i = 0; i < outer.getNumResults(); ++i) {
      if (i == index) {
        llvm::append_range(sizes, inner.getSizes());
        llvm::append_range(types, inner.getResultTypes());
      } else {
        sizes.push_back(outer.getSizes()[i]);
        types.push_back(outer.getResult(i).getType());
      }
    }
    rewriter.setInsertionPoint(outer);
    auto merged = SplitOp::create(rewriter, outer.getLoc(), types,
                                  outer.getInput(), outer.getAxisAttr(),
                                  rewriter.getDenseI64ArrayAttr(sizes));
    unsigned next = 0;
    for (unsigned i = 0; i < outer.getNumResults(); ++i) {
      if (i == index) {
        for (Value result : inner.getResults())
          rewriter.replaceAllUsesWith(result, merged.getResult(next++));
        continue;
      }
      rewriter.replaceAllUsesWith(outer.getResult(i), merged.getResult(next++));
    }
    rewriter.eraseOp(inner);
    rewriter.eraseOp(outer);
    return success();
  }
};

/// One linear that may join a group.
struct Candidate {
  LinearOp linear;
  WeightOp weight, bias;
  /// The nested layer (a branch of a parallel layer) that holds the linear,
  /// or null when the linear sits in the block being fused.
  LayerOp layer;
};

/// A weight's binding taken apart for concatenation along rows.
struct RowParts {
  SmallVector<Attribute> sources;
  std::string elementwise = "identity";
  SmallVector<double> rowScale; // one per row
};

class FuseProjectionsPass
    : public braid::impl::BraidFuseProjectionsBase<FuseProjectionsPass> {
public:
  void runOnOperation() override;

private:
  void fuseBlock(Block &block);
  /// The binding of `weight` as concatenable rows, or failure with the
  /// reason in debug output.
  FailureOr<RowParts> rowParts(WeightOp weight);
  /// The members of `candidates` that can be fused with the first
  /// compatible one.
  SmallVector<Candidate> selectGroup(ArrayRef<Candidate> candidates);
  void fuseGroup(Block &block, Value input, ArrayRef<Candidate> group);
  launch::WeightOp bindConcat(ArrayRef<WeightOp> parts, StringRef name,
                              ArrayRef<int64_t> shape, Type elementType);

  std::optional<WeightBindings> bindings;
  std::vector<std::string> replaced;
};

/// `layers.0.attn.q_proj`, `layers.0.attn.k_proj` ->
/// `layers.0.attn.q_proj+k_proj`.
std::string joinNames(ArrayRef<StringRef> names) {
  StringRef first = names.front();
  size_t common = first.size();
  for (StringRef name : names.drop_front()) {
    size_t n = 0;
    while (n < common && n < name.size() && name[n] == first[n])
      ++n;
    common = n;
  }
  // Back to the last '.' of the common prefix: share whole components only.
  size_t dot = first.substr(0, common).rfind('.');
  size_t prefix = dot == StringRef::npos ? 0 : dot + 1;
  std::string joined = first.substr(0, prefix).str();
  for (auto [i, name] : llvm::enumerate(names))
    joined += (i ? "+" : "") + name.substr(prefix).str();
  return joined;
}

} // namespace

FailureOr<RowParts> FuseProjectionsPass::rowParts(WeightOp weight) {
  auto type = weight.getType();
  RowParts parts;
  launch::WeightOp binding = bindings->lookup(weight.getName());
  if (!binding) {
    Builder b(&getContext());
    NamedAttrList source;
    source.set("tensor", b.getStringAttr(weight.getName()));
    source.set("shape", b.getDenseI64ArrayAttr(type.getShape()));
    parts.sources.push_back(source.getDictionary(&getContext()));
    parts.rowScale.assign(type.getShape().front(), 1.0);
    return parts;
  }
  auto reject = [&](const Twine &why) -> FailureOr<RowParts> {
    LLVM_DEBUG(llvm::dbgs() << "leaving '" << weight.getName()
                            << "' unfused: " << why << "\n");
    return failure();
  };
  StringRef combine = binding.getCombine();
  if (combine != "single" && combine != "concat")
    return reject("its binding combines by '" + combine +
                  "', which rows of a concatenation cannot hold");
  if (binding.getTiedAliases() && !binding.getTiedAliases()->empty())
    return reject("its binding has tied aliases, which only a single-source "
                  "weight can use");
  int64_t rank = type.getRank();
  for (Attribute attr : binding.getSources()) {
    auto shape = cast<DictionaryAttr>(attr).getAs<DenseI64ArrayAttr>("shape");
    if (shape.size() != rank ||
        shape.asArrayRef().drop_front() != type.getShape().drop_front())
      return reject("a source of shape [" +
                    llvm::join(llvm::map_range(
                                   shape.asArrayRef(),
                                   [](int64_t d) { return std::to_string(d); }),
                               ", ") +
                    "] is not a block of whole rows of the weight");
  }
  if (combine == "concat") {
    int64_t axis = binding.getAxis();
    if (axis != 0 && axis != -rank)
      return reject("its binding concatenates along axis " + Twine(axis) +
                    ", not along rows");
  }
  llvm::append_range(parts.sources, binding.getSources());
  parts.elementwise = binding.getElementwise().str();
  SmallVector<double> scale = getWeightScale(binding);
  int64_t rows = type.getShape().front();
  if (scale.size() <= 1)
    parts.rowScale.assign(rows, scale.empty() ? 1.0 : scale.front());
  else
    parts.rowScale = scale;
  return parts;
}

SmallVector<Candidate>
FuseProjectionsPass::selectGroup(ArrayRef<Candidate> candidates) {
  SmallVector<Candidate> group;
  std::string elementwise, biasElementwise;
  for (Candidate c : candidates) {
    if (!c.weight || (c.linear.getBias() && !c.bias)) {
      LLVM_DEBUG(llvm::dbgs() << "leaving the linear at " << c.linear.getLoc()
                              << " unfused: its weight or bias is computed, "
                                 "not a braid.weight\n");
      continue;
    }
    FailureOr<RowParts> parts = rowParts(c.weight);
    if (failed(parts))
      continue;
    FailureOr<RowParts> biasParts =
        c.bias ? rowParts(c.bias) : FailureOr<RowParts>(RowParts());
    if (failed(biasParts))
      continue;
    if (!group.empty()) {
      Candidate first = group.front();
      auto why = [&]() -> std::string {
        if (c.weight.getType().getElementType() !=
            first.weight.getType().getElementType())
          return "its weight has another element type";
        if (c.linear.getType().getElementType() !=
            first.linear.getType().getElementType())
          return "its result has another element type";
        if (bool(c.bias) != bool(first.bias))
          return "one of the linears has a bias and another has none";
        if (c.bias && c.bias.getType().getElementType() !=
                          first.bias.getType().getElementType())
          return "its bias has another element type";
        if (parts->elementwise != elementwise ||
            (c.bias && biasParts->elementwise != biasElementwise))
          return "its binding applies another elementwise transform";
        if (llvm::any_of(group, [&](Candidate g) {
              return g.weight.getName() == c.weight.getName();
            }))
          return "it uses the same weight as another member (CSE's job)";
        return "";
      }();
      if (!why.empty()) {
        LLVM_DEBUG(llvm::dbgs()
                   << "leaving '" << c.weight.getName()
                   << "' out of the group of '" << first.weight.getName()
                   << "': " << why << "\n");
        continue;
      }
    } else {
      elementwise = parts->elementwise;
      biasElementwise = biasParts->elementwise;
    }
    group.push_back(c);
  }
  return group;
}

launch::WeightOp FuseProjectionsPass::bindConcat(ArrayRef<WeightOp> parts,
                                                 StringRef name,
                                                 ArrayRef<int64_t> shape,
                                                 Type elementType) {
  // Zamba2's shared blocks fuse the same weights at every depth: one binding.
  if (launch::WeightOp existing = bindings->lookup(name))
    return existing;
  SmallVector<Attribute> sources;
  SmallVector<double> rows;
  std::string elementwise;
  for (WeightOp part : parts) {
    RowParts p = *rowParts(part); // checked by selectGroup
    llvm::append_range(sources, p.sources);
    llvm::append_range(rows, p.rowScale);
    elementwise = p.elementwise;
  }
  launch::WeightOp binding = bindings->create(name, shape, elementType, sources,
                                              "concat", elementwise);
  multiplyWeightScale(binding, rows);
  return binding;
}

void FuseProjectionsPass::fuseGroup(Block &block, Value input,
                                    ArrayRef<Candidate> group) {
  // The fused linear goes before the first member (or the first branch that
  // holds one): the input is defined before every member, and every reader
  // of a member's result comes after that member.
  Operation *first = nullptr;
  for (Candidate c : group) {
    Operation *at = c.layer ? c.layer.getOperation() : c.linear.getOperation();
    if (!first || at->isBeforeInBlock(first))
      first = at;
  }
  SmallVector<WeightOp> weights, biases;
  SmallVector<StringRef> names, biasNames;
  int64_t rows = 0;
  for (Candidate c : group) {
    weights.push_back(c.weight);
    names.push_back(c.weight.getName());
    if (c.bias) {
      biases.push_back(c.bias);
      biasNames.push_back(c.bias.getName());
    }
    rows += c.weight.getType().getShape().front();
  }
  Candidate lead = group.front();
  auto weightType = lead.weight.getType();
  SmallVector<int64_t> fusedShape(weightType.getShape());
  fusedShape.front() = rows;

  OpBuilder builder(first);
  Location loc = lead.linear.getLoc();
  std::string name = joinNames(names);
  bindConcat(weights, name, fusedShape, weightType.getElementType());
  auto fusedType =
      RankedTensorType::get(fusedShape, weightType.getElementType());
  Value weight =
      WeightOp::create(builder, loc, fusedType, builder.getStringAttr(name));
  bindings->noteUse(name, 1);
  Value bias;
  if (!biases.empty()) {
    std::string biasName = joinNames(biasNames);
    Type elementType = biases.front().getType().getElementType();
    bindConcat(biases, biasName, {rows}, elementType);
    bias = WeightOp::create(builder, loc,
                            RankedTensorType::get({rows}, elementType),
                            builder.getStringAttr(biasName));
    bindings->noteUse(biasName, 1);
  }
  auto inputType = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> outShape(inputType.getShape());
  outShape.back() = rows;
  Type resultElement = lead.linear.getType().getElementType();
  auto fused = LinearOp::create(builder, loc,
                                RankedTensorType::get(outShape, resultElement),
                                input, weight, bias);
  // A member whose result only a split along the features reads (Mamba2's
  // in_proj into z, xBC, dt) contributes that split's pieces directly, so
  // no second split runs (in a branch it would sit out of reach of
  // SplitOfSplit, behind the layer boundary).
  int64_t axis = inputType.getRank() - 1;
  auto innerSplit = [&](Candidate c) {
    Value result = c.linear.getResult();
    auto inner = result.hasOneUse() ? dyn_cast<SplitOp>(*result.user_begin())
                                    : SplitOp();
    return inner && static_cast<int64_t>(inner.getAxis()) == axis ? inner
                                                                  : SplitOp();
  };
  SmallVector<Type> pieceTypes;
  SmallVector<int64_t> pieceSizes;
  for (Candidate c : group) {
    if (SplitOp inner = innerSplit(c)) {
      llvm::append_range(pieceTypes, inner.getResultTypes());
      llvm::append_range(pieceSizes, inner.getSizes());
    } else {
      pieceTypes.push_back(c.linear.getType());
      pieceSizes.push_back(c.linear.getType().getShape().back());
    }
  }
  auto split = SplitOp::create(builder, loc, pieceTypes, fused.getResult(),
                               builder.getI64IntegerAttr(axis),
                               builder.getDenseI64ArrayAttr(pieceSizes));

  unsigned next = 0;
  for (Candidate c : group) {
    SplitOp inner = innerSplit(c);
    SmallVector<Value> olds = inner ? SmallVector<Value>(inner.getResults())
                                    : SmallVector<Value>{c.linear.getResult()};
    for (Value old : olds) {
      Value replacement = split.getResult(next++);
      if (c.layer) {
        // The branch now receives its projection instead of computing it.
        c.layer->insertOperands(c.layer->getNumOperands(), {replacement});
        replacement =
            c.layer.getBody().front().addArgument(replacement.getType(), loc);
      }
      old.replaceAllUsesWith(replacement);
    }
    if (inner)
      inner.erase();
    c.linear.erase();
    for (WeightOp w : {c.weight, c.bias}) {
      if (!w || !w->use_empty())
        continue;
      replaced.push_back(w.getName().str());
      bindings->noteUse(w.getName(), -1);
      w.erase();
    }
  }
  LLVM_DEBUG(llvm::dbgs() << "fused " << group.size() << " linears into '"
                          << name << "'\n");
}

void FuseProjectionsPass::fuseBlock(Block &block) {
  // Candidates by the value they read, in block order.
  llvm::MapVector<Value, SmallVector<Candidate>> byInput;
  auto candidate = [](LinearOp linear, LayerOp layer) {
    return Candidate{linear, linear.getWeight().getDefiningOp<WeightOp>(),
                     linear.getBias()
                         ? linear.getBias().getDefiningOp<WeightOp>()
                         : WeightOp(),
                     layer};
  };
  auto parent = dyn_cast_or_null<LayerOp>(block.getParentOp());
  bool parallel = parent && parent.getKind() == LayerKind::parallel;
  for (Operation &op : block) {
    if (auto linear = dyn_cast<LinearOp>(op)) {
      byInput[linear.getInput()].push_back(candidate(linear, LayerOp()));
      continue;
    }
    // The branches of a parallel layer read the same normed input through
    // their block arguments; their projections of it can join the group.
    auto layer = dyn_cast<LayerOp>(op);
    if (!parallel || !layer)
      continue;
    Block &body = layer.getBody().front();
    for (Operation &inner : body)
      if (auto linear = dyn_cast<LinearOp>(inner))
        if (auto arg = dyn_cast<BlockArgument>(linear.getInput());
            arg && arg.getOwner() == &body)
          byInput[layer.getInputs()[arg.getArgNumber()]].push_back(
              candidate(linear, layer));
  }
  for (auto &[input, candidates] : byInput) {
    if (candidates.size() < 2)
      continue;
    // Linears of one branch only are that branch's business: its own block
    // fuses them without moving them out.
    llvm::SmallPtrSet<Operation *, 4> owners;
    for (Candidate c : candidates)
      owners.insert(c.layer ? c.layer.getOperation() : nullptr);
    SmallVector<Candidate> considered;
    for (Candidate c : candidates)
      if (!c.layer || owners.size() > 1)
        considered.push_back(c);
    SmallVector<Candidate> group = selectGroup(considered);
    if (group.size() >= 2)
      fuseGroup(block, input, group);
  }
  // Then the blocks of the layers inside, which may still hold groups.
  for (Operation &op : block)
    if (auto layer = dyn_cast<LayerOp>(op))
      fuseBlock(layer.getBody().front());
}

void FuseProjectionsPass::runOnOperation() {
  ModuleOp module = getOperation();
  bindings.emplace(module);
  replaced.clear();
  for (auto func : module.getOps<func::FuncOp>())
    for (Block &block : func.getBody())
      fuseBlock(block);
  bindings->eraseUnused(replaced);

  RewritePatternSet patterns(&getContext());
  populateFuseProjectionsPatterns(patterns);
  if (failed(applyPatternsGreedily(module, std::move(patterns))))
    return signalPassFailure();
}

void braid::populateFuseProjectionsPatterns(RewritePatternSet &patterns) {
  patterns.add<SplitOfSplit>(patterns.getContext());
}
