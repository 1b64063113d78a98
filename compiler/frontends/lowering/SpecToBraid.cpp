//===- SpecToBraid.cpp - ModelSpec to the braid dialect -------------------===//
//
// Follows the execution semantics written at the top of ModelSpec.h. Every
// weight name and shape comes from frontend::enumerateWeights, so the IR and
// the binding table cannot drift apart; asking for a weight that the spec
// does not enumerate is reported as an internal inconsistency.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/lowering/SpecToBraid.h"

#include "dialects/Braid/BraidOps.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Debug.h"

#include <cmath>

#define DEBUG_TYPE "braid-spec-lowering"

using namespace mlir;
using namespace braid;
using namespace braid::frontend;

/// A block of the model spec (mlir::Block is the IR block).
using SpecBlock = braid::frontend::Block;

namespace {

/// A value flowing between blocks: the hidden state and, after a shared
/// block whose output feeds the next block's input, that pending output.
struct StackState {
  Value hidden;
  Value pending;
};

/// What the body of a block may read besides its input.
struct BlockContext {
  Value positions;  // [batch, seq] i64, when a rope attention needs them
  Value embeddings; // the scaled embeddings, for Zamba2's shared blocks
  /// Prefix of the shared-block invocation whose adapters apply, and the
  /// adapters of the definition block being lowered.
  std::string adapterPrefix;
  std::string adapterRole;
  std::vector<LoRAAdapter> adapters;
};

class SpecLowering {
public:
  SpecLowering(const ModelSpec &spec, MLIRContext &context)
      : spec(spec), context(context),
        builder(UnknownLoc::get(&context), &context) {
    for (WeightDesc &weight : enumerateWeights(spec))
      weightShapes[weight.name] = weight.shape;
    switch (spec.dtype) {
    case DType::F32:
      elementType = builder.getF32Type();
      break;
    case DType::F16:
      elementType = builder.getF16Type();
      break;
    case DType::BF16:
      elementType = builder.getBF16Type();
      break;
    }
  }

  llvm::Expected<OwningOpRef<ModuleOp>> run(const BindingTable *bindings);

private:
  //===--- errors --------------------------------------------------------===//

  /// Records the first problem; lowering goes on so the builder state stays
  /// consistent, and run() reports it.
  Value fail(const Twine &message) {
    if (firstError.empty())
      firstError = message.str();
    return {};
  }

  //===--- types and weights ---------------------------------------------===//

  /// tensor<?x?x d0 x d1 ... x elt>: an activation with dynamic batch/seq.
  RankedTensorType activation(ArrayRef<int64_t> featureDims) {
    SmallVector<int64_t> shape = {ShapedType::kDynamic, ShapedType::kDynamic};
    shape.append(featureDims.begin(), featureDims.end());
    return RankedTensorType::get(shape, elementType);
  }

  static int64_t lastDim(Value value) {
    return llvm::cast<RankedTensorType>(value.getType()).getShape().back();
  }

  Value weight(const std::string &name) {
    auto it = weightShapes.find(name);
    if (it == weightShapes.end()) {
      // A placeholder keeps the IR well-formed until run() reports.
      fail("internal: the lowering needs weight '" + name +
           "' but the spec does not enumerate it");
      return WeightOp::create(builder,
                              RankedTensorType::get({1}, elementType),
                              builder.getStringAttr(name));
    }
    usedWeights.insert(name);
    return WeightOp::create(
        builder, RankedTensorType::get(it->second, elementType),
        builder.getStringAttr(name));
  }

  bool hasWeight(const std::string &name) const {
    return weightShapes.count(name) != 0;
  }

  //===--- small op helpers ----------------------------------------------===//

  Value scale(Value input, double factor) {
    if (factor == 1.0)
      return input;
    return ScaleOp::create(builder, input, builder.getF64FloatAttr(factor));
  }

  Value act(Activation kind, Value input) {
    return ActivationOp::create(builder, toDialect(kind), input);
  }

  Value add(Value lhs, Value rhs) {
    return AddOp::create(builder, lhs.getType(), lhs, rhs);
  }

  Value mul(Value lhs, Value rhs) {
    return MulOp::create(builder, lhs.getType(), lhs, rhs);
  }

  SmallVector<Value> split(Value input, ArrayRef<int64_t> sizes) {
    SmallVector<Type> types;
    for (int64_t size : sizes)
      types.push_back(activation({size}));
    auto op = SplitOp::create(builder, types, input, /*axis=*/2,
                              builder.getDenseI64ArrayAttr(sizes));
    return SmallVector<Value>(op.getResults());
  }

  Value concat(ValueRange inputs) {
    int64_t total = 0;
    for (Value input : inputs)
      total += lastDim(input);
    return ConcatOp::create(builder, activation({total}), inputs, /*axis=*/2);
  }

  Value reshape(Value input, ArrayRef<int64_t> featureDims) {
    return ReshapeOp::create(builder, activation(featureDims), input);
  }

  /// x @ W^T (+ b), plus a LoRA adapter when the current shared invocation
  /// has one for this projection.
  Value linear(Value input, const std::string &prefix, StringRef leaf,
               bool bias, const BlockContext &ctx) {
    Value w = weight(prefix + "." + leaf.str());
    int64_t out = llvm::cast<RankedTensorType>(w.getType()).getDimSize(0);
    Value b = bias ? weight(prefix + "." + leaf.str() + "_bias") : Value();
    Value result =
        LinearOp::create(builder, activation({out}), input, w, b);
    for (const LoRAAdapter &adapter : ctx.adapters) {
      if (adapter.projection != leaf)
        continue;
      std::string base =
          ctx.adapterPrefix + "." + ctx.adapterRole + "." + leaf.str();
      Value down = LinearOp::create(builder, activation({adapter.rank}), input,
                                    weight(base + ".lora_a"), Value());
      Value up = LinearOp::create(builder, activation({out}), down,
                                  weight(base + ".lora_b"), Value());
      result = add(result, up);
    }
    return result;
  }

  Value norm(Value input, const NormSpec &spec, const std::string &name) {
    switch (spec.kind) {
    case NormKind::None:
      return input;
    case NormKind::RMS:
      return RMSNormOp::create(builder, input.getType(), input, weight(name),
                               builder.getF64FloatAttr(spec.eps));
    case NormKind::Layer:
      return LayerNormOp::create(
          builder, input.getType(), input, weight(name),
          spec.bias ? weight(name + "_bias") : Value(),
          builder.getF64FloatAttr(spec.eps));
    }
    llvm_unreachable("unknown norm kind");
  }

  static ActivationKind toDialect(Activation kind) {
    switch (kind) {
    case Activation::Identity:
      return ActivationKind::identity;
    case Activation::Silu:
      return ActivationKind::silu;
    case Activation::Gelu:
      return ActivationKind::gelu;
    case Activation::GeluTanh:
      return ActivationKind::gelu_tanh;
    case Activation::Relu:
      return ActivationKind::relu;
    case Activation::Relu2:
      return ActivationKind::relu2;
    case Activation::Sigmoid:
      return ActivationKind::sigmoid;
    case Activation::Softplus:
      return ActivationKind::softplus;
    case Activation::Tanh:
      return ActivationKind::tanh;
    }
    llvm_unreachable("unknown activation");
  }

  static LayerKind toDialect(BlockKind kind) {
    switch (kind) {
    case BlockKind::Mamba:
      return LayerKind::mamba;
    case BlockKind::Mamba2:
      return LayerKind::mamba2;
    case BlockKind::Attention:
      return LayerKind::attention;
    case BlockKind::MLP:
      return LayerKind::mlp;
    case BlockKind::MoE:
      return LayerKind::moe;
    case BlockKind::Parallel:
      return LayerKind::parallel;
    case BlockKind::Shared:
      return LayerKind::shared;
    }
    llvm_unreachable("unknown block kind");
  }

  //===--- blocks --------------------------------------------------------===//

  /// One launch.weight per binding, at the start of the module.
  void emitBindings(const BindingTable &bindings);

  /// Whether `block` (or anything nested in it) needs the positions.
  bool needsPositions(const SpecBlock &block) const;

  /// Emits `braid.layer` for `block` reading `inputs`; `body` builds the
  /// layer's result from the region arguments (same order as `inputs`).
  Value layer(const SpecBlock &block, ArrayRef<Value> inputs, Type resultType,
              llvm::function_ref<Value(ArrayRef<Value>)> body);

  /// apply(b, h) of ModelSpec.h as one braid.layer; returns the new state.
  StackState lowerStackBlock(const SpecBlock &block, StackState state,
                             const BlockContext &outer);

  /// F_b(x): the block's function on its normalized input.
  Value lowerBody(const SpecBlock &block, Value x, const BlockContext &ctx);

  Value lowerMamba(const SpecBlock &block, const MambaSpec &m, Value x,
                   const BlockContext &ctx);
  Value lowerMamba2(const SpecBlock &block, const Mamba2Spec &m, Value x,
                    const BlockContext &ctx);
  Value lowerAttention(const SpecBlock &block, const AttentionSpec &a, Value x,
                       const BlockContext &ctx);
  Value lowerMLP(const SpecBlock &block, const MLPSpec &m, Value x,
                 const BlockContext &ctx);
  Value lowerMoE(const SpecBlock &block, const MoESpec &m, Value x);
  Value lowerParallel(const SpecBlock &block, const ParallelSpec &p, Value x,
                      const BlockContext &ctx);
  Value lowerShared(const SpecBlock &block, const SharedSpec &s, Value x,
                    const BlockContext &ctx);

  /// A block nested in a parallel or shared layer: its own braid.layer with
  /// norm, multiplier and residual as the spec says.
  Value lowerNestedBlock(const SpecBlock &block, Value input,
                         const BlockContext &ctx);

  const ModelSpec &spec;
  MLIRContext &context;
  ImplicitLocOpBuilder builder;
  Type elementType;
  llvm::StringMap<std::vector<int64_t>> weightShapes;
  llvm::StringSet<> usedWeights;
  std::string firstError;
};

} // namespace

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

bool SpecLowering::needsPositions(const SpecBlock &block) const {
  if (block.is<AttentionSpec>())
    return block.as<AttentionSpec>().rope.enabled;
  if (block.is<ParallelSpec>())
    return llvm::any_of(block.as<ParallelSpec>().branches,
                        [&](const SpecBlock &b) { return needsPositions(b); });
  if (block.is<SharedSpec>()) {
    const SharedDefinition &def =
        spec.sharedDefinitions[block.as<SharedSpec>().definition];
    return llvm::any_of(def.blocks,
                        [&](const SpecBlock &b) { return needsPositions(b); });
  }
  return false;
}

Value SpecLowering::layer(const SpecBlock &block, ArrayRef<Value> inputs,
                          Type resultType,
                          llvm::function_ref<Value(ArrayRef<Value>)> body) {
  Location loc = NameLoc::get(builder.getStringAttr(block.prefix));
  IntegerAttr index =
      block.layer >= 0 ? builder.getI64IntegerAttr(block.layer) : IntegerAttr();
  auto op = LayerOp::create(builder, loc, TypeRange{resultType},
                            toDialect(block.kind()), ValueRange(inputs), index,
                            builder.getStringAttr(block.prefix));
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  for (Value input : inputs) {
    argTypes.push_back(input.getType());
    argLocs.push_back(loc);
  }
  OpBuilder::InsertionGuard guard(builder);
  mlir::Block *entry = builder.createBlock(&op.getBody(), {}, argTypes, argLocs);
  builder.setInsertionPointToStart(entry);
  Location outer = builder.getLoc();
  builder.setLoc(loc);
  SmallVector<Value> args(entry->getArguments());
  Value result = body(args);
  YieldOp::create(builder, ValueRange{result});
  builder.setLoc(outer);
  return op.getResult(0);
}

StackState SpecLowering::lowerStackBlock(const SpecBlock &block, StackState state,
                                         const BlockContext &outer) {
  bool positions = needsPositions(block);
  bool embeddings =
      block.is<SharedSpec>() && block.as<SharedSpec>().concatEmbeddings;
  bool producesPending =
      block.is<SharedSpec>() &&
      block.as<SharedSpec>().output == SharedSpec::Output::NextInput;

  SmallVector<Value> inputs = {state.hidden};
  if (state.pending)
    inputs.push_back(state.pending);
  if (positions)
    inputs.push_back(outer.positions);
  if (embeddings)
    inputs.push_back(outer.embeddings);

  Value result = layer(block, inputs, state.hidden.getType(),
                       [&](ArrayRef<Value> args) {
    size_t next = 0;
    Value h = args[next++];
    Value pending = state.pending ? args[next++] : Value();
    BlockContext ctx;
    ctx.positions = positions ? args[next++] : Value();
    ctx.embeddings = embeddings ? args[next++] : Value();
    Value normInput = pending ? add(h, pending) : h;
    Value x = scale(norm(normInput, block.norm, block.prefix + ".norm"),
                    block.inputMultiplier);
    Value f = lowerBody(block, x, ctx);
    if (!f)
      return h;
    if (producesPending)
      return f;
    Value out = scale(f, block.residualMultiplier);
    return block.residual ? add(h, out) : out;
  });

  if (producesPending)
    return {state.hidden, result};
  return {result, Value()};
}

Value SpecLowering::lowerNestedBlock(const SpecBlock &block, Value input,
                                     const BlockContext &ctx) {
  bool positions = needsPositions(block);
  SmallVector<Value> inputs = {input};
  if (positions)
    inputs.push_back(ctx.positions);
  Type resultType = input.getType();
  if (block.is<AttentionSpec>())
    resultType = activation({block.as<AttentionSpec>().outputDim});
  else if (!block.residual && block.is<MLPSpec>())
    resultType = activation({spec.hiddenSize});
  return layer(block, inputs, resultType, [&](ArrayRef<Value> args) {
    BlockContext inner = ctx;
    inner.positions = positions ? args[1] : Value();
    Value h = args[0];
    Value x = scale(norm(h, block.norm, block.prefix + ".norm"),
                    block.inputMultiplier);
    Value f = lowerBody(block, x, inner);
    if (!f)
      return h;
    Value out = scale(f, block.residualMultiplier);
    return block.residual ? add(h, out) : out;
  });
}

Value SpecLowering::lowerBody(const SpecBlock &block, Value x,
                              const BlockContext &ctx) {
  return std::visit(
      [&](const auto &body) -> Value {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, MambaSpec>)
          return lowerMamba(block, body, x, ctx);
        else if constexpr (std::is_same_v<T, Mamba2Spec>)
          return lowerMamba2(block, body, x, ctx);
        else if constexpr (std::is_same_v<T, AttentionSpec>)
          return lowerAttention(block, body, x, ctx);
        else if constexpr (std::is_same_v<T, MLPSpec>)
          return lowerMLP(block, body, x, ctx);
        else if constexpr (std::is_same_v<T, MoESpec>)
          return lowerMoE(block, body, x);
        else if constexpr (std::is_same_v<T, ParallelSpec>)
          return lowerParallel(block, body, x, ctx);
        else
          return lowerShared(block, body, x, ctx);
      },
      block.body);
}

//===----------------------------------------------------------------------===//
// Mixers
//===----------------------------------------------------------------------===//

Value SpecLowering::lowerMamba(const SpecBlock &block, const MambaSpec &m, Value x,
                               const BlockContext &ctx) {
  const std::string &p = block.prefix;
  if (!m.dtProjBias)
    return fail(p + ": Mamba1 without a dt_proj bias is not supported by "
                    "braid.selective_scan");
  if (m.activation != Activation::Silu)
    return fail(p + ": Mamba1 activation '" + toString(m.activation) +
                "' is not supported; braid.selective_scan gates with silu");
  Value projected = linear(x, p, "in_proj", m.inProjBias, ctx);
  SmallVector<Value> parts = split(projected, {m.dInner, m.dInner});
  Value conv = CausalConv1dOp::create(
                   builder, parts[0].getType(), Type(), parts[0],
                   weight(p + ".conv"),
                   m.convBias ? weight(p + ".conv_bias") : Value(), Value(),
                   m.convKernel, ActivationKind::silu)
                   .getOutput();
  Value dtNorm, bNorm, cNorm;
  if (m.dtBCNorm) {
    dtNorm = weight(p + ".dt_norm");
    bNorm = weight(p + ".b_norm");
    cNorm = weight(p + ".c_norm");
  }
  Value scanned =
      SelectiveScanOp::create(
          builder, conv.getType(), Type(), conv, weight(p + ".x_proj"),
          weight(p + ".dt_proj"), weight(p + ".dt_bias"), weight(p + ".A"),
          /*gate=*/parts[1], m.skip ? weight(p + ".D") : Value(), dtNorm,
          bNorm, cNorm, /*state=*/Value(), m.dtRank, m.stateSize,
          llvm::APFloat(m.dtBCNormEps))
          .getOutput();
  return linear(scanned, p, "out_proj", m.outProjBias, ctx);
}

Value SpecLowering::lowerMamba2(const SpecBlock &block, const Mamba2Spec &m,
                                Value x, const BlockContext &ctx) {
  const std::string &p = block.prefix;
  if (m.activation != Activation::Silu &&
      m.activation != Activation::Identity)
    return fail(p + ": Mamba2 conv activation '" + toString(m.activation) +
                "' is not supported by braid.causal_conv1d");
  int64_t dInner = m.dInner(), groupState = m.numGroups * m.stateSize;
  const std::array<double, 5> &sectionMul = m.inProjMultipliers;

  Value projected = linear(x, p, "in_proj", m.inProjBias, ctx);
  SmallVector<Value> zxbcdt =
      split(projected, {dInner, m.convChannels(), m.numHeads});
  Value z = scale(zxbcdt[0], sectionMul[0]);
  Value xBC = zxbcdt[1];
  if (sectionMul[1] != 1.0 || sectionMul[2] != 1.0 || sectionMul[3] != 1.0) {
    SmallVector<Value> pieces = split(xBC, {dInner, groupState, groupState});
    xBC = concat({scale(pieces[0], sectionMul[1]),
                  scale(pieces[1], sectionMul[2]),
                  scale(pieces[2], sectionMul[3])});
  }
  Value dt = scale(zxbcdt[2], sectionMul[4]);

  ActivationKind convAct = m.activation == Activation::Silu
                               ? ActivationKind::silu
                               : ActivationKind::identity;
  Value conv = CausalConv1dOp::create(
                   builder, xBC.getType(), Type(), xBC, weight(p + ".conv"),
                   m.convBias ? weight(p + ".conv_bias") : Value(), Value(),
                   m.convKernel, convAct)
                   .getOutput();
  SmallVector<Value> xbc = split(conv, {dInner, groupState, groupState});
  Value xs = reshape(xbc[0], {m.numHeads, m.headDim});
  Value bs = reshape(xbc[1], {m.numGroups, m.stateSize});
  Value cs = reshape(xbc[2], {m.numGroups, m.stateSize});
  Value dt3 = reshape(dt, {m.numHeads});

  FloatAttr dtMax =
      std::isinf(m.dtMax) ? FloatAttr() : builder.getF64FloatAttr(m.dtMax);
  auto scan = SSDScanOp::create(
      builder, xs.getType(), Type(), xs, dt3, weight(p + ".A"), bs, cs,
      m.skip ? weight(p + ".D") : Value(), weight(p + ".dt_bias"),
      /*initial_state=*/Value(), builder.getI64IntegerAttr(m.numHeads),
      builder.getI64IntegerAttr(m.headDim),
      builder.getI64IntegerAttr(m.numGroups),
      builder.getI64IntegerAttr(m.stateSize),
      builder.getI64IntegerAttr(m.chunkSize), builder.getBoolAttr(true),
      builder.getF64FloatAttr(m.dtMin), dtMax);
  Value y = reshape(scan.getOutput(), {dInner});

  if (m.gateNorm) {
    int64_t group = m.gateNormGroupSize > 0 ? m.gateNormGroupSize : dInner;
    y = GatedRMSNormOp::create(builder, y.getType(), y, z,
                               weight(p + ".gate_norm"), group,
                               llvm::APFloat(m.gateNormEps), m.normBeforeGate);
  } else {
    y = mul(y, act(Activation::Silu, z));
  }
  return linear(y, p, "out_proj", m.outProjBias, ctx);
}

Value SpecLowering::lowerAttention(const SpecBlock &block, const AttentionSpec &a,
                                   Value x, const BlockContext &ctx) {
  const std::string &p = block.prefix;
  Value q = linear(x, p, "q_proj", a.qkvBias, ctx);
  Value k = scale(linear(x, p, "k_proj", a.qkvBias, ctx), a.keyMultiplier);
  Value v = linear(x, p, "v_proj", a.qkvBias, ctx);
  q = reshape(q, {a.numHeads, a.headDim});
  k = reshape(k, {a.numKVHeads, a.headDim});
  v = reshape(v, {a.numKVHeads, a.headDim});
  if (a.rope.enabled) {
    auto rope = [&](Value t) -> Value {
      return RopeOp::create(builder, t.getType(), t, ctx.positions,
                            builder.getI64IntegerAttr(a.rope.rotaryDim),
                            builder.getF64FloatAttr(a.rope.theta),
                            a.rope.interleaved ? builder.getUnitAttr()
                                               : UnitAttr());
    };
    q = rope(q);
    k = rope(k);
  }
  IntegerAttr window = a.slidingWindow
                           ? builder.getI64IntegerAttr(*a.slidingWindow)
                           : IntegerAttr();
  FloatAttr softcap =
      a.softcap ? builder.getF64FloatAttr(*a.softcap) : FloatAttr();
  Value o = AttentionOp::create(
                builder, q.getType(), TypeRange{}, q, k, v, Value(), Value(),
                Value(), builder.getI64IntegerAttr(a.numHeads),
                builder.getI64IntegerAttr(a.numKVHeads),
                builder.getBoolAttr(true), builder.getF64FloatAttr(a.scale),
                window, softcap)
                .getOutput();
  o = reshape(o, {a.numHeads * a.headDim});
  return linear(o, p, "o_proj", a.oBias, ctx);
}

//===----------------------------------------------------------------------===//
// Feed-forward
//===----------------------------------------------------------------------===//

Value SpecLowering::lowerMLP(const SpecBlock &block, const MLPSpec &m, Value x,
                             const BlockContext &ctx) {
  const std::string &p = block.prefix;
  Value hidden;
  if (m.gated) {
    Value gateUp = linear(x, p, "gate_up_proj", m.bias, ctx);
    SmallVector<Value> parts = split(gateUp, {m.intermediate, m.intermediate});
    Value gate = act(m.activation, scale(parts[0], m.gateMultiplier));
    hidden = mul(gate, parts[1]);
  } else {
    hidden = act(m.activation, linear(x, p, "up_proj", m.bias, ctx));
  }
  return scale(linear(hidden, p, "down_proj", m.bias, ctx), m.downMultiplier);
}

Value SpecLowering::lowerMoE(const SpecBlock &block, const MoESpec &m, Value x) {
  const std::string &p = block.prefix;
  // braid.moe covers the routing of Jamba and GraniteMoeHybrid; the other
  // variants need op support first.
  if (m.selectionBias)
    return fail(p + ": MoE with a selection bias (e_score_correction_bias) "
                    "is not supported by braid.moe yet");
  if (m.numGroups > 1)
    return fail(p + ": grouped expert selection (n_group " +
                Twine(m.numGroups) + ") is not supported by braid.moe yet");
  if (m.latentDim > 0)
    return fail(p + ": latent MoE (latent dim " + Twine(m.latentDim) +
                ") is not supported by braid.moe yet");
  if (!m.gatedExperts ||
      (m.sharedIntermediate > 0 && !m.sharedGated))
    return fail(p + ": MoE with non-gated experts is not supported by "
                    "braid.moe yet");
  using SpecRouting = frontend::MoERouting;
  ::braid::MoERouting dialectRouting =
      m.routing == SpecRouting::SoftmaxTopK ? ::braid::MoERouting::softmax_topk
      : m.routing == SpecRouting::TopKSoftmax
          ? ::braid::MoERouting::topk_softmax
          : ::braid::MoERouting::sigmoid_topk;
  Value sharedGateUp, sharedDown;
  if (m.sharedIntermediate > 0) {
    sharedGateUp = weight(p + ".shared_expert.gate_up_proj");
    sharedDown = weight(p + ".shared_expert.down_proj");
  }
  return MoEOp::create(builder, x.getType(), dialectRouting, x,
                       weight(p + ".router"),
                       weight(p + ".experts.gate_up_proj"),
                       weight(p + ".experts.down_proj"),
                       m.routerBias ? weight(p + ".router_bias") : Value(),
                       sharedGateUp, sharedDown, m.numExperts, m.topK,
                       m.normalizeTopK, llvm::APFloat(m.routedScaling),
                       toDialect(m.activation));
}

//===----------------------------------------------------------------------===//
// Parallel and shared blocks
//===----------------------------------------------------------------------===//

Value SpecLowering::lowerParallel(const SpecBlock &block, const ParallelSpec &p,
                                  Value x, const BlockContext &ctx) {
  SmallVector<Value> outputs;
  for (const SpecBlock &branch : p.branches)
    outputs.push_back(lowerNestedBlock(branch, x, ctx));
  ::braid::MergeMode mode;
  Value mergeWeight;
  switch (p.merge) {
  case frontend::MergeMode::Sum:
    mode = ::braid::MergeMode::sum;
    break;
  case frontend::MergeMode::Mean:
    mode = ::braid::MergeMode::mean;
    break;
  case frontend::MergeMode::ConcatProj:
    mode = ::braid::MergeMode::concat_proj;
    mergeWeight = weight(block.prefix + ".merge");
    break;
  case frontend::MergeMode::Attention:
    mode = ::braid::MergeMode::attention;
    mergeWeight = weight(block.prefix + ".merge");
    break;
  }
  DenseF64ArrayAttr multipliers =
      p.multipliers.empty() ? DenseF64ArrayAttr()
                            : builder.getDenseF64ArrayAttr(p.multipliers);
  return MergeOp::create(builder, outputs.front().getType(), mode, outputs,
                         mergeWeight, multipliers);
}

Value SpecLowering::lowerShared(const SpecBlock &block, const SharedSpec &s,
                                Value x, const BlockContext &ctx) {
  const SharedDefinition &def = spec.sharedDefinitions[s.definition];
  Value h = s.concatEmbeddings ? concat({x, ctx.embeddings}) : x;
  for (const auto &[index, member] : llvm::enumerate(def.blocks)) {
    BlockContext inner = ctx;
    inner.adapterPrefix = block.prefix;
    inner.adapterRole = StringRef(member.prefix).rsplit('.').second.str();
    inner.adapters.clear();
    for (const LoRAAdapter &adapter : s.adapters)
      if (adapter.block == index)
        inner.adapters.push_back(adapter);
    h = lowerNestedBlock(member, h, inner);
  }
  if (s.outputLinear)
    h = linear(h, block.prefix, "linear", /*bias=*/false, BlockContext());
  return h;
}

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

static StringRef combineName(WeightTransform::Combine combine) {
  switch (combine) {
  case WeightTransform::Combine::Single:
    return "single";
  case WeightTransform::Combine::Concat:
    return "concat";
  case WeightTransform::Combine::Stack:
    return "stack";
  case WeightTransform::Combine::StackOfConcat:
    return "stack_of_concat";
  }
  llvm_unreachable("unknown combine");
}

void SpecLowering::emitBindings(const BindingTable &bindings) {
  for (const WeightBinding &binding : bindings.bindings) {
    SmallVector<Attribute> sources;
    for (const TensorSource &source : binding.sources) {
      NamedAttrList dict;
      dict.set("tensor", builder.getStringAttr(source.tensor));
      dict.set("shape", builder.getDenseI64ArrayAttr(source.shape));
      dict.set("dtype", builder.getStringAttr(toString(binding.dtype)));
      sources.push_back(dict.getDictionary(&context));
    }
    SmallVector<StringRef> aliases(binding.tiedAliases.begin(),
                                   binding.tiedAliases.end());
    bool negExp = binding.transform.elementwise ==
                  WeightTransform::Elementwise::NegExp;
    launch::WeightOp::create(
        builder, builder.getStringAttr(binding.irName),
        builder.getDenseI64ArrayAttr(binding.shape),
        TypeAttr::get(elementType), builder.getArrayAttr(sources),
        builder.getStringAttr(combineName(binding.transform.combine)),
        builder.getI64IntegerAttr(binding.transform.axis),
        builder.getI64IntegerAttr(binding.transform.groupSize),
        builder.getStringAttr(negExp ? "neg_exp" : "identity"),
        aliases.empty() ? ArrayAttr() : builder.getStrArrayAttr(aliases));
  }
}

llvm::Expected<OwningOpRef<ModuleOp>>
SpecLowering::run(const BindingTable *bindings) {
  OwningOpRef<ModuleOp> module = ModuleOp::create(builder);
  if (!spec.name.empty())
    module->setSymNameAttr(builder.getStringAttr(spec.name));
  builder.setInsertionPointToEnd(module->getBody());
  if (bindings)
    emitBindings(*bindings);

  auto ids = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, builder.getI64Type());
  RankedTensorType logitsType = activation({spec.vocabSize});
  auto func = func::FuncOp::create(builder, "forward",
                                   builder.getFunctionType({ids, ids},
                                                           {logitsType}));
  func.setArgAttr(0, "braid.name", builder.getStringAttr("input_ids"));
  func.setArgAttr(1, "braid.name", builder.getStringAttr("positions"));
  mlir::Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);

  Value embedded = EmbeddingOp::create(builder, activation({spec.hiddenSize}),
                                       entry->getArgument(0),
                                       weight("embed"));
  embedded = scale(embedded, spec.embeddingMultiplier);

  BlockContext outer;
  outer.positions = entry->getArgument(1);
  outer.embeddings = embedded;
  StackState state{embedded, Value()};
  for (const SpecBlock &block : spec.blocks) {
    LLVM_DEBUG(llvm::dbgs() << "lowering " << block.prefix << "\n");
    state = lowerStackBlock(block, state, outer);
  }
  Value h = state.pending ? add(state.hidden, state.pending) : state.hidden;
  h = norm(h, spec.finalNorm, "final_norm");
  Value head = spec.tieWordEmbeddings ? weight("embed") : weight("lm_head");
  Value logits = LinearOp::create(builder, logitsType, h, head, Value());
  logits = scale(logits, spec.logitsMultiplier);
  func::ReturnOp::create(builder, logits);

  if (!firstError.empty())
    return llvm::createStringError(firstError);
  for (const auto &entry : weightShapes)
    if (!usedWeights.contains(entry.getKey()))
      return llvm::createStringError(
          "internal: weight '" + entry.getKey().str() +
          "' is enumerated by the spec but the lowering never reads it");
  if (failed(verify(*module)))
    return llvm::createStringError(
        "internal: the braid IR built from the spec does not verify (see "
        "the diagnostics above)");
  return std::move(module);
}

llvm::Expected<OwningOpRef<ModuleOp>>
braid::lowerSpecToBraid(const ModelSpec &spec, MLIRContext &context,
                        const BindingTable *bindings) {
  context.loadDialect<BraidDialect, launch::LaunchDialect, func::FuncDialect>();
  return SpecLowering(spec, context).run(bindings);
}
