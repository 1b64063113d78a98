//===- Hybridize.cpp - replace attention layers by Mamba2 layers ----------===//
//
// See Passes.td for the choice rule, the Mamba2 block and how its weights
// start from the attention weights. The steps: check the options, find the
// attention layers in stack order, pick the ones to replace, match each
// against the pre-norm attention form (all before changing anything), then
// build each Mamba2 block and its bindings and drop the attention's.
//
//===----------------------------------------------------------------------===//
#include "passes/LayerNames.h"
#include "passes/Passes.h"

#include "dialects/Braid/BraidOps.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Debug.h"
#include "llvm/Support/Format.h"

#include <cmath>

#define DEBUG_TYPE "braid-hybridize"

namespace braid {
#define GEN_PASS_DEF_BRAIDHYBRIDIZE
#include "passes/Passes.h.inc"
} // namespace braid

using namespace mlir;
using namespace braid;

namespace {


std::string formatScore(double score) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%g", score);
  return text;
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(shape, os);
  os << "]";
  return text;
}

/// A pre-norm attention block, matched.
struct AttentionBlock {
  LayerOp layer;
  std::string label;
  Operation *norm = nullptr; // rms_norm or layer_norm of the block input
  LinearOp q, k, v, o;
  ScaleOp residualScale; // optional, between o and the residual add
  AttentionOp attention;
  int64_t hidden = 0, heads = 0, kvHeads = 0, qkDim = 0, valueDim = 0;
  Type elementType;
  double epsilon = 1e-5;
  std::string prefix; // of the new weight names
  int64_t stateSize = 0;
  /// Binding sources of the new weights that start from attention weights.
  SmallVector<Attribute> inProj, inProjBias, outProj, outProjBias;
};

/// Follows `value` back through an optional rope and a reshape to the
/// linear projection that made it; records the ops passed.
LinearOp projectionOf(Value value, bool allowRope,
                      llvm::SmallPtrSetImpl<Operation *> &matched) {
  if (auto rope = value.getDefiningOp<RopeOp>(); rope && allowRope) {
    matched.insert(rope);
    value = rope.getInput();
  }
  auto reshape = value.getDefiningOp<ReshapeOp>();
  if (!reshape)
    return {};
  matched.insert(reshape);
  auto linear = reshape.getInput().getDefiningOp<LinearOp>();
  if (linear)
    matched.insert(linear);
  return linear;
}

class HybridizePass : public braid::impl::BraidHybridizeBase<HybridizePass> {
public:
  using BraidHybridizeBase::BraidHybridizeBase;

  void runOnOperation() override;

private:
  LogicalResult checkOptions(Operation *anchor, size_t attentionLayers);
  FailureOr<AttentionBlock> match(LayerOp layer, const std::string &label);
  FailureOr<SmallVector<Attribute>> sourcesOf(WeightOp weight,
                                              const AttentionBlock &block);
  Attribute initSource(StringRef kind, ArrayRef<int64_t> shape);
  void bind(OpBuilder &builder, Location loc, StringRef name,
            ArrayRef<int64_t> shape, Type elementType,
            ArrayRef<Attribute> sources, StringRef elementwise = "identity");
  LogicalResult collectSources(AttentionBlock &block);
  void replace(AttentionBlock &block, OpBuilder &bindings);

  ModuleOp module;
  llvm::StringMap<launch::WeightOp> bindingOf;
};

//===----------------------------------------------------------------------===//
// Options and matching
//===----------------------------------------------------------------------===//

LogicalResult HybridizePass::checkOptions(Operation *anchor,
                                          size_t attentionLayers) {
  auto fail = [&]() {
    return mlir::emitError(anchor->getLoc(), "braid-hybridize: ");
  };
  if (scores.empty())
    return fail() << "needs scores=s0,s1,... (one sensitivity per attention "
                     "layer in stack order, lower = safer to replace)";
  if (keep == -1)
    return fail() << "needs keep=N, the number of attention layers to keep";
  if (keep < 0)
    return fail() << "keep=" << static_cast<int64_t>(keep)
                  << " must not be negative";
  if (scores.size() != attentionLayers)
    return fail() << "scores has " << scores.size()
                  << (scores.size() == 1 ? " value" : " values")
                  << " but the model has " << attentionLayers
                  << " attention layers; give one score per attention layer "
                     "in stack order";
  for (auto [i, score] : llvm::enumerate(scores))
    if (!std::isfinite(score))
      return fail() << "score #" << i << " is " << formatScore(score)
                    << "; scores must be finite numbers";
  if (keep > static_cast<int64_t>(attentionLayers))
    return fail() << "keep=" << static_cast<int64_t>(keep)
                  << " but the model has only " << attentionLayers
                  << " attention layers";
  if (stateSize < 0)
    return fail() << "state-size=" << static_cast<int64_t>(stateSize)
                  << " must be positive (or 0: the attention's head dim)";
  if (chunkSize < 1)
    return fail() << "chunk-size=" << static_cast<int64_t>(chunkSize)
                  << " must be at least 1";
  if (convKernel < 1)
    return fail() << "conv-kernel=" << static_cast<int64_t>(convKernel)
                  << " must be at least 1";
  return success();
}

FailureOr<AttentionBlock> HybridizePass::match(LayerOp layer,
                                               const std::string &label) {
  auto fail = [&](Operation *at) {
    return mlir::emitError(at->getLoc(), "braid-hybridize: ") << label << ": ";
  };
  static constexpr StringLiteral form =
      "braid-hybridize replaces pre-norm attention blocks (norm, q/k/v "
      "projections, reshapes, optional rope, attention, o projection, "
      "optional residual scale, residual add)";
  AttentionBlock block;
  block.layer = layer;
  block.label = label;
  Block &body = layer.getBody().front();
  if (layer.getInputs().empty() || layer.getNumResults() != 1 ||
      layer.getResult(0).getType() != layer.getInputs()[0].getType())
    return fail(layer) << "an attention block takes the hidden state as "
                          "input #0 and returns one value of its type";
  Value input = body.getArgument(0);
  auto hiddenType = dyn_cast<RankedTensorType>(input.getType());
  if (!hiddenType || hiddenType.getRank() != 3)
    return fail(layer) << "the hidden state must be [batch, seq, hidden], got "
                       << input.getType();

  auto attentions = llvm::to_vector(body.getOps<AttentionOp>());
  if (attentions.size() != 1)
    return fail(layer) << "expected one braid.attention in the block, found "
                       << attentions.size();
  AttentionOp attention = attentions.front();
  if (attention.getKCache())
    return fail(attention) << "the attention carries a KV cache; hybridize a "
                              "stateless model function";
  block.attention = attention;

  llvm::SmallPtrSet<Operation *, 32> matched;
  matched.insert(attention);
  block.q = projectionOf(attention.getQ(), /*allowRope=*/true, matched);
  block.k = projectionOf(attention.getK(), /*allowRope=*/true, matched);
  block.v = projectionOf(attention.getV(), /*allowRope=*/false, matched);
  if (!block.q || !block.k || !block.v)
    return fail(attention) << "q, k and v must each be a braid.linear "
                              "reshaped to heads (q and k optionally through "
                              "rope); "
                           << form;
  Value normed = block.q.getInput();
  if (block.k.getInput() != normed || block.v.getInput() != normed)
    return fail(attention) << "q, k and v must project the same value; "
                           << form;
  block.norm = normed.getDefiningOp();
  if (!isa_and_nonnull<RMSNormOp, LayerNormOp>(block.norm) ||
      block.norm->getOperand(0) != input)
    return fail(block.q) << "the q/k/v projections must read a norm "
                            "(rms_norm or layer_norm) of the block input; "
                         << form;
  matched.insert(block.norm);
  block.epsilon =
      isa<RMSNormOp>(block.norm)
          ? cast<RMSNormOp>(block.norm).getEpsilon().convertToDouble()
          : cast<LayerNormOp>(block.norm).getEpsilon().convertToDouble();

  // Output: reshape back, o projection, residual add, yield.
  Value output = attention.getOutput();
  auto outReshape = output.hasOneUse()
                        ? dyn_cast<ReshapeOp>(*output.getUsers().begin())
                        : ReshapeOp();
  auto o = outReshape && outReshape.getResult().hasOneUse()
               ? dyn_cast<LinearOp>(*outReshape.getResult().getUsers().begin())
               : LinearOp();
  // An optional residual multiplier (Granite) between o and the add.
  Value projected = o ? o.getResult() : Value();
  auto scale = projected && projected.hasOneUse()
                   ? dyn_cast<ScaleOp>(*projected.getUsers().begin())
                   : ScaleOp();
  if (scale)
    projected = scale.getResult();
  auto add = projected && projected.hasOneUse()
                 ? dyn_cast<AddOp>(*projected.getUsers().begin())
                 : AddOp();
  auto yield = cast<YieldOp>(body.getTerminator());
  if (!o || o.getInput() != outReshape.getResult() || !add ||
      !((add.getLhs() == input && add.getRhs() == projected) ||
        (add.getRhs() == input && add.getLhs() == projected)) ||
      yield.getValues().size() != 1 || yield.getValues()[0] != add.getResult())
    return fail(attention) << "the attention output must go through a "
                              "reshape and the o projection (and optionally "
                              "a scale) into the residual add that the block "
                              "yields; "
                           << form;
  block.o = o;
  block.residualScale = scale;
  if (scale)
    matched.insert(scale);
  matched.insert(outReshape);
  matched.insert(o);
  matched.insert(add);
  matched.insert(yield);

  // Parameters: every weight operand is a braid.weight of the block.
  for (Operation *op :
       {block.norm, block.q.getOperation(), block.k.getOperation(),
        block.v.getOperation(), block.o.getOperation()})
    for (Value operand : op->getOperands().drop_front()) {
      auto weight = operand.getDefiningOp<WeightOp>();
      if (!weight)
        return fail(op) << "the weights of '" << op->getName()
                        << "' must come from braid.weight ops in the block";
      matched.insert(weight);
    }
  for (Operation &op : body)
    if (!matched.contains(&op))
      return fail(&op) << "unexpected '" << op.getName()
                       << "' in the attention block; " << form;

  auto qType = cast<RankedTensorType>(attention.getQ().getType());
  auto vType = cast<RankedTensorType>(attention.getV().getType());
  block.hidden = hiddenType.getShape().back();
  block.heads = attention.getNumHeads();
  block.kvHeads = attention.getNumKvHeads();
  block.qkDim = qType.getShape()[3];
  block.valueDim = vType.getShape()[3];
  block.elementType = hiddenType.getElementType();
  if (auto name = layer.getName()) {
    block.prefix = name->str();
  } else {
    StringRef qName = block.q.getWeight().getDefiningOp<WeightOp>().getName();
    size_t dot = qName.rfind('.');
    block.prefix = dot == StringRef::npos
                       ? "layers." +
                             std::to_string(layer.getIndex().value_or(0)) +
                             ".mixer"
                       : qName.take_front(dot).str();
  }
  return block;
}

//===----------------------------------------------------------------------===//
// Bindings
//===----------------------------------------------------------------------===//

/// The checkpoint sources an attention weight is built from, as pieces of a
/// concatenation along axis 0: its binding's sources when the module binds
/// it (single, or concat along axis 0, identity, without reshaping), else a
/// tensor of its own name, as braid-lower-to-launch would bind it.
FailureOr<SmallVector<Attribute>>
HybridizePass::sourcesOf(WeightOp weight, const AttentionBlock &block) {
  ArrayRef<int64_t> shape = weight.getType().getShape();
  auto binding = bindingOf.lookup(weight.getName());
  if (!binding) {
    Builder b(&getContext());
    NamedAttrList source;
    source.set("tensor", weight.getNameAttr());
    source.set("shape", b.getDenseI64ArrayAttr(shape));
    return SmallVector<Attribute>{source.getDictionary(&getContext())};
  }
  auto fail = [&]() {
    return mlir::emitError(binding->getLoc(), "braid-hybridize: ")
           << block.label << ": cannot start the Mamba2 weights from '"
           << weight.getName() << "': ";
  };
  if (binding.getElementwise() != "identity")
    return fail() << "its binding applies '" << binding.getElementwise()
                  << "'; only identity bindings can be reused";
  bool single = binding.getCombine() == "single";
  bool concat0 = binding.getCombine() == "concat" && binding.getAxis() == 0;
  if (!single && !concat0)
    return fail() << "its binding combines its sources by '"
                  << binding.getCombine()
                  << "'; only single sources or a concat along axis 0 can "
                     "be reused";
  SmallVector<Attribute> sources;
  for (Attribute attr : binding.getSources()) {
    auto dict = cast<DictionaryAttr>(attr);
    ArrayRef<int64_t> sourceShape =
        dict.getAs<DenseI64ArrayAttr>("shape").asArrayRef();
    bool fits = single ? sourceShape == shape
                       : sourceShape.size() == shape.size() &&
                             sourceShape.drop_front() == shape.drop_front();
    if (!fits)
      return fail() << "its source has shape " << formatShape(sourceShape)
                    << ", which the binding reshapes to " << formatShape(shape)
                    << "; only sources of the weight's own layout can be "
                       "reused";
    sources.push_back(dict);
  }
  return sources;
}

Attribute HybridizePass::initSource(StringRef kind, ArrayRef<int64_t> shape) {
  Builder b(&getContext());
  NamedAttrList source;
  source.set("init", b.getStringAttr(kind));
  source.set("shape", b.getDenseI64ArrayAttr(shape));
  return source.getDictionary(&getContext());
}

/// Adds a binding; adjacent init pieces of the same kind are merged.
void HybridizePass::bind(OpBuilder &builder, Location loc, StringRef name,
                         ArrayRef<int64_t> shape, Type elementType,
                         ArrayRef<Attribute> pieces, StringRef elementwise) {
  SmallVector<Attribute> sources;
  for (Attribute piece : pieces) {
    auto dict = cast<DictionaryAttr>(piece);
    auto kind = dict.getAs<StringAttr>("init");
    auto last = sources.empty() ? DictionaryAttr()
                                : cast<DictionaryAttr>(sources.back());
    if (kind && last && last.getAs<StringAttr>("init") == kind) {
      SmallVector<int64_t> merged(
          last.getAs<DenseI64ArrayAttr>("shape").asArrayRef());
      merged[0] += dict.getAs<DenseI64ArrayAttr>("shape")[0];
      sources.back() = initSource(kind.getValue(), merged);
      continue;
    }
    sources.push_back(piece);
  }
  launch::WeightOp::create(
      builder, loc, name, shape, elementType, builder.getArrayAttr(sources),
      sources.size() == 1 ? "single" : "concat",
      /*axis=*/0, /*group_size=*/0, elementwise, ArrayAttr());
}

//===----------------------------------------------------------------------===//
// The Mamba2 block
//===----------------------------------------------------------------------===//

static WeightOp weightOf(LinearOp linear) {
  return linear.getWeight().getDefiningOp<WeightOp>();
}

static WeightOp biasOf(LinearOp linear) {
  return linear.getBias() ? linear.getBias().getDefiningOp<WeightOp>()
                          : WeightOp();
}

/// The in_proj rows are [z | x | B | C | dt]: x from v, B from k, C from q
/// (when the state size is the q/k head dim), the rest zero; the bias rows
/// [ones | v bias | k bias | q bias | zeros].
LogicalResult HybridizePass::collectSources(AttentionBlock &a) {
  const int64_t H = a.heads, G = a.kvHeads, P = a.valueDim, N = a.stateSize,
                D = a.hidden;
  const int64_t Dz = H * P, Dx = G * P, DB = G * N, DC = H * N;
  const bool fromQK = N == a.qkDim;
  auto append = [&](SmallVectorImpl<Attribute> &to, WeightOp weight,
                    StringRef orInit, ArrayRef<int64_t> shape) {
    if (!weight) {
      to.push_back(initSource(orInit, shape));
      return success();
    }
    FailureOr<SmallVector<Attribute>> sources = sourcesOf(weight, a);
    if (failed(sources))
      return failure();
    to.append(sources->begin(), sources->end());
    return success();
  };
  a.inProj.push_back(initSource("zeros", {Dz, D}));
  a.inProjBias.push_back(initSource("ones", {Dz}));
  if (failed(append(a.inProj, weightOf(a.v), "", {})) ||
      failed(append(a.inProjBias, biasOf(a.v), "zeros", {Dx})) ||
      failed(append(a.inProj, fromQK ? weightOf(a.k) : WeightOp(),
                    "uniform_fan_in", {DB, D})) ||
      failed(append(a.inProjBias, fromQK ? biasOf(a.k) : WeightOp(), "zeros",
                    {DB})) ||
      failed(append(a.inProj, fromQK ? weightOf(a.q) : WeightOp(),
                    "uniform_fan_in", {DC, D})) ||
      failed(append(a.inProjBias, fromQK ? biasOf(a.q) : WeightOp(), "zeros",
                    {DC})) ||
      failed(append(a.outProj, weightOf(a.o), "", {})) ||
      (biasOf(a.o) && failed(append(a.outProjBias, biasOf(a.o), "", {}))))
    return failure();
  a.inProj.push_back(initSource("zeros", {H, D}));
  a.inProjBias.push_back(initSource("zeros", {H}));
  return success();
}

void HybridizePass::replace(AttentionBlock &a, OpBuilder &bindings) {
  LayerOp old = a.layer;
  Location loc = old.getLoc();
  Type et = a.elementType;
  const int64_t H = a.heads, G = a.kvHeads, P = a.valueDim, N = a.stateSize,
                D = a.hidden, K = convKernel, repeat = H / G;
  const int64_t Dz = H * P, Dx = G * P, DB = G * N, DC = H * N,
                Cc = Dx + DB + DC, Dproj = Dz + Cc + H;
  constexpr int64_t dyn = ShapedType::kDynamic;
  auto act = [&](ArrayRef<int64_t> trailing) {
    SmallVector<int64_t> shape{dyn, dyn};
    shape.append(trailing.begin(), trailing.end());
    return RankedTensorType::get(shape, et);
  };

  // The block.
  OpBuilder b(old);
  auto hiddenType = cast<RankedTensorType>(old.getResult(0).getType());
  auto layer = LayerOp::create(b, loc, TypeRange{hiddenType}, LayerKind::mamba2,
                               ValueRange{old.getInputs()[0]},
                               old.getIndexAttr(), old.getNameAttr());
  Block *body =
      b.createBlock(&layer.getBody(), {}, TypeRange{hiddenType}, {loc});
  Value x = body->getArgument(0);
  IRMapping map;
  map.map(old.getBody().front().getArgument(0), x);
  for (Value operand : a.norm->getOperands().drop_front())
    if (!map.contains(operand))
      b.clone(*operand.getDefiningOp(), map);
  Value normed = b.clone(*a.norm, map)->getResult(0);

  auto weight = [&](StringRef suffix, ArrayRef<int64_t> shape) -> Value {
    return WeightOp::create(b, loc, RankedTensorType::get(shape, et),
                            a.prefix + "." + suffix.str());
  };
  auto reshape = [&](Value value, ArrayRef<int64_t> trailing) -> Value {
    return ReshapeOp::create(b, loc, act(trailing), value);
  };
  // [.., G * dim] -> [.., G * repeat, dim]: each of the G heads repeated
  // `repeat` times in a row, as GQA shares a KV head among its query heads.
  auto repeatHeads = [&](Value value, int64_t dim) -> Value {
    if (repeat == 1)
      return reshape(value, {G, dim});
    Value one = reshape(value, {G, 1, dim});
    SmallVector<Value> copies(repeat, one);
    Value all = ConcatOp::create(b, loc, act({G, repeat, dim}), copies,
                                 /*axis=*/3);
    return reshape(all, {H, dim});
  };

  Value inW = weight("in_proj", {Dproj, D});
  Value inB = weight("in_proj_bias", {Dproj});
  Value proj = LinearOp::create(b, loc, act({Dproj}), normed, inW, inB);
  auto zxbcdt =
      SplitOp::create(b, loc, TypeRange{act({Dz}), act({Cc}), act({H})}, proj,
                      /*axis=*/2, ArrayRef<int64_t>{Dz, Cc, H});
  Value convW = weight("conv", {Cc, K});
  Value convB = weight("conv_bias", {Cc});
  Value conv =
      CausalConv1dOp::create(b, loc, act({Cc}), Type(), zxbcdt.getResult(1),
                             convW, convB, Value(), K, ActivationKind::silu)
          .getOutput();
  auto xbc = SplitOp::create(b, loc, TypeRange{act({Dx}), act({DB}), act({DC})},
                             conv, /*axis=*/2, ArrayRef<int64_t>{Dx, DB, DC});
  Value xs = repeatHeads(xbc.getResult(0), P);
  Value bs = repeatHeads(xbc.getResult(1), N);
  Value cs = reshape(xbc.getResult(2), {H, N});
  Value dtBias = weight("dt_bias", {H});
  Value A = weight("A", {H});
  Value Dskip = weight("D", {H});
  Value y = SSDScanOp::create(
                b, loc, act({H, P}), Type(), xs, zxbcdt.getResult(2), A, bs, cs,
                Dskip, dtBias, Value(), H, P, /*num_groups=*/H, N, chunkSize,
                /*dt_softplus=*/true, llvm::APFloat(0.0), FloatAttr())
                .getOutput();
  Value gateNorm = weight("gate_norm", {Dz});
  Value gated = GatedRMSNormOp::create(
      b, loc, act({Dz}), reshape(y, {Dz}), zxbcdt.getResult(0), gateNorm,
      /*group_size=*/P, llvm::APFloat(a.epsilon),
      /*norm_before_gate=*/false);
  Value outW = weight("out_proj", {D, Dz});
  Value outB = biasOf(a.o) ? weight("out_proj_bias", {D}) : Value();
  Value out = LinearOp::create(b, loc, act({D}), gated, outW, outB);
  if (a.residualScale)
    out = ScaleOp::create(b, loc, out, a.residualScale.getFactorAttr());
  Value sum = AddOp::create(b, loc, hiddenType, x, out);
  YieldOp::create(b, loc, ValueRange{sum});

  old.getResult(0).replaceAllUsesWith(layer.getResult(0));
  old.erase();

  // Its bindings.
  auto name = [&](StringRef suffix) { return a.prefix + "." + suffix.str(); };
  bind(bindings, loc, name("in_proj"), {Dproj, D}, et, a.inProj);
  bind(bindings, loc, name("in_proj_bias"), {Dproj}, et, a.inProjBias);
  bind(bindings, loc, name("conv"), {Cc, K}, et,
       {initSource("conv_identity", {Cc, K})});
  bind(bindings, loc, name("conv_bias"), {Cc}, et, {initSource("zeros", {Cc})});
  bind(bindings, loc, name("dt_bias"), {H}, et,
       {initSource("mamba2_dt_bias", {H})});
  bind(bindings, loc, name("A"), {H}, et, {initSource("mamba2_A_log", {H})},
       "neg_exp");
  bind(bindings, loc, name("D"), {H}, et, {initSource("ones", {H})});
  bind(bindings, loc, name("gate_norm"), {Dz}, et, {initSource("ones", {Dz})});
  bind(bindings, loc, name("out_proj"), {D, Dz}, et, a.outProj);
  if (outB)
    bind(bindings, loc, name("out_proj_bias"), {D}, et, a.outProjBias);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

void HybridizePass::runOnOperation() {
  module = getOperation();

  // Attention layers in stack order: top-level layers of one function.
  func::FuncOp modelFunc;
  SmallVector<std::pair<LayerOp, std::string>> attention;
  for (auto func : module.getOps<func::FuncOp>()) {
    size_t position = 0;
    bool any = false;
    WalkResult nested = func.walk([&](LayerOp layer) {
      if (layer.getKind() != LayerKind::attention ||
          layer->getParentOp() == func)
        return WalkResult::advance();
      auto parent = cast<LayerOp>(layer->getParentOp());
      mlir::emitError(layer->getLoc(), "braid-hybridize: the attention layer")
          << (layer.getName() ? " '" + layer.getName()->str() + "'" : "")
          << " is nested in a '" << stringifyLayerKind(parent.getKind())
          << "' layer; braid-hybridize replaces top-level attention layers "
             "of a sequential stack";
      return WalkResult::interrupt();
    });
    if (nested.wasInterrupted())
      return signalPassFailure();
    for (auto layer : func.getBody().getOps<LayerOp>()) {
      if (layer.getKind() == LayerKind::attention) {
        attention.push_back({layer, describeLayer(layer, position)});
        any = true;
      }
      ++position;
    }
    if (!any)
      continue;
    if (modelFunc) {
      mlir::emitError(func->getLoc(), "braid-hybridize: both @")
          << modelFunc.getSymName() << " and @" << func.getSymName()
          << " have attention layers; hybridize a module with one model "
             "function";
      return signalPassFailure();
    }
    modelFunc = func;
  }
  if (!modelFunc) {
    mlir::emitError(module->getLoc(),
                    "braid-hybridize: the module has no attention layers "
                    "to replace");
    return signalPassFailure();
  }
  if (failed(checkOptions(modelFunc, attention.size())))
    return signalPassFailure();

  // Lowest score first; on equal scores the later layer first.
  SmallVector<size_t> order(attention.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  llvm::stable_sort(order, [&](size_t lhs, size_t rhs) {
    if (scores[lhs] != scores[rhs])
      return scores[lhs] < scores[rhs];
    return lhs > rhs;
  });
  size_t replaceCount = attention.size() - static_cast<size_t>(keep);
  SmallVector<bool> chosen(attention.size(), false);
  for (size_t i = 0; i < replaceCount; ++i)
    chosen[order[i]] = true;

  for (auto binding : module.getOps<launch::WeightOp>())
    bindingOf[binding.getName()] = binding;

  // Match every chosen layer and find its sources before changing anything.
  SmallVector<AttentionBlock, 4> blocks;
  bool warned = false;
  for (auto [i, entry] : llvm::enumerate(attention)) {
    if (!chosen[i])
      continue;
    FailureOr<AttentionBlock> block = match(entry.first, entry.second);
    if (failed(block))
      return signalPassFailure();
    block->stateSize = stateSize > 0 ? stateSize : block->qkDim;
    if (block->stateSize != block->qkDim && !warned) {
      warned = true;
      mlir::emitWarning(modelFunc->getLoc(), "braid-hybridize: state-size=")
          << block->stateSize << " differs from the attention's q/k head dim "
          << block->qkDim
          << ": B and C cannot start from k_proj and q_proj and start from "
             "uniform_fan_in instead";
    }
    if (failed(collectSources(*block)))
      return signalPassFailure();
    blocks.push_back(*block);
  }

  // The new names must be free.
  llvm::StringSet<> taken;
  module.walk([&](WeightOp weight) { taken.insert(weight.getName()); });
  for (auto &entry : bindingOf)
    taken.insert(entry.getKey());
  static constexpr StringLiteral newNames[] = {
      "in_proj", "in_proj_bias", "conv",     "conv_bias",    "dt_bias", "A",
      "D",       "gate_norm",    "out_proj", "out_proj_bias"};
  for (AttentionBlock &block : blocks)
    for (StringRef suffix : newNames) {
      std::string name = block.prefix + "." + suffix.str();
      if (taken.contains(name)) {
        mlir::emitError(block.layer->getLoc(), "braid-hybridize: ")
            << block.label << ": the Mamba2 weight name '" << name
            << "' is already taken in this module";
        return signalPassFailure();
      }
    }

  // Replace, recording which attention weights the layers used.
  llvm::StringSet<> dropped;
  for (AttentionBlock &block : blocks) {
    for (LinearOp linear : {block.q, block.k, block.v, block.o})
      for (Value operand : linear->getOperands().drop_front())
        dropped.insert(operand.getDefiningOp<WeightOp>().getName());
    // New bindings go where the attention's q binding was, else before the
    // model function.
    Operation *at = modelFunc;
    if (auto first = bindingOf.lookup(weightOf(block.q).getName()))
      at = first;
    OpBuilder bindings(at);
    replace(block, bindings);
  }

  // Drop the bindings that no braid.weight uses any more.
  llvm::StringSet<> used;
  module.walk([&](WeightOp weight) { used.insert(weight.getName()); });
  for (auto binding : llvm::to_vector(module.getOps<launch::WeightOp>()))
    if (dropped.contains(binding.getName()) &&
        !used.contains(binding.getName()))
      binding.erase();

  // The summary.
  SmallVector<std::string> replacedText, keptText;
  for (auto [i, entry] : llvm::enumerate(attention))
    (chosen[i] ? replacedText : keptText)
        .push_back(entry.second + " score " + formatScore(scores[i]));
  auto remark =
      mlir::emitRemark(modelFunc->getLoc(), "braid-hybridize: replaced ")
      << replaceCount << " of " << attention.size()
      << " attention layers by Mamba2 (keep=" << static_cast<int64_t>(keep)
      << ")";
  if (!replacedText.empty())
    remark << ": " << llvm::join(replacedText, "; ");
  if (!keptText.empty())
    remark << "; kept " << llvm::join(keptText, "; ");
  LLVM_DEBUG(llvm::dbgs() << "replaced " << replaceCount << " layers\n");
}

} // namespace
