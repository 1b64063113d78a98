//===- BraidOps.cpp - verifiers of the braid ops --------------------------===//
//
// Every verifier names the operand, dimension or attribute at fault; see
// BraidVerifyUtils.h for the wording. Dynamic dimensions (`?`) are accepted
// wherever a static size is expected: they are checked when known.
//
//===----------------------------------------------------------------------===//
#include "dialects/Braid/BraidOps.h"
#include "dialects/Braid/BraidVerifyUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace braid;

static int64_t i64(uint64_t attr) { return static_cast<int64_t>(attr); }

static int64_t dimOf(Value value, int64_t dim) {
  auto type = llvm::cast<RankedTensorType>(value.getType());
  return type.getDimSize(ShapeChecker::normalizeDim(value, dim));
}

//===----------------------------------------------------------------------===//
// Weights and embeddings
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty weight name");
  if (!getType().hasStaticShape())
    return emitOpError("weight '")
           << getName() << "' must have a static shape, got " << getType();
  return success();
}

LogicalResult EmbeddingOp::verify() {
  ShapeChecker c(*this);
  Value out = getResult();
  c.rank("ids", getIds(), 2)
      .rank("table", getTable(), 2)
      .rank("result", out, 3)
      .dimsMatch("result", out, 0, "ids", getIds(), 0, "batch")
      .dimsMatch("result", out, 1, "ids", getIds(), 1, "seq")
      .dimsMatch("result", out, 2, "table", getTable(), 1, "hidden")
      .sameElementType("result", out, "table", getTable());
  return c;
}

//===----------------------------------------------------------------------===//
// Norms, projections, rotary embedding
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  ShapeChecker c(*this);
  c.minRank("input", getInput(), 1)
      .rank("weight", getWeight(), 1)
      .dimsMatch("weight", getWeight(), 0, "input", getInput(), -1, "hidden")
      .sameType("result", getResult(), "input", getInput())
      .attrPositive("epsilon", getEpsilon().convertToDouble());
  return c;
}

LogicalResult LayerNormOp::verify() {
  ShapeChecker c(*this);
  c.minRank("input", getInput(), 1)
      .sameType("result", getResult(), "input", getInput())
      .attrPositive("epsilon", getEpsilon().convertToDouble());
  if (Value weight = getWeight())
    c.rank("weight", weight, 1)
        .dimsMatch("weight", weight, 0, "input", getInput(), -1, "hidden");
  if (Value bias = getBias())
    c.rank("bias", bias, 1)
        .dimsMatch("bias", bias, 0, "input", getInput(), -1, "hidden");
  return c;
}

LogicalResult LinearOp::verify() {
  ShapeChecker c(*this);
  Value in = getInput(), w = getWeight(), out = getResult();
  c.minRank("input", in, 1)
      .rank("weight", w, 2)
      .dimsMatch("weight", w, 1, "input", in, -1, "in_features")
      .minRank("result", out, 1);
  if (!c.ok())
    return failure();
  int64_t rank = llvm::cast<RankedTensorType>(in.getType()).getRank();
  c.require(llvm::cast<RankedTensorType>(out.getType()).getRank() == rank,
            "'result' must have the rank of 'input' (" + Twine(rank) + ")");
  for (int64_t d = 0; d + 1 < rank && c.ok(); ++d)
    c.dimsMatch("result", out, d, "input", in, d, "leading");
  c.dimsMatch("result", out, -1, "weight", w, 0, "out_features")
      .sameElementType("result", out, "input", in)
      .sameElementType("weight", w, "input", in);
  if (Value bias = getBias())
    c.rank("bias", bias, 1)
        .dimsMatch("bias", bias, 0, "weight", w, 0, "out_features");
  return c;
}

LogicalResult RopeOp::verify() {
  ShapeChecker c(*this);
  Value in = getInput();
  c.rank("input", in, 4)
      .rank("positions", getPositions(), 2)
      .dimsMatch("positions", getPositions(), 0, "input", in, 0, "batch")
      .dimsMatch("positions", getPositions(), 1, "input", in, 1, "seq")
      .sameType("result", getResult(), "input", in)
      .attrAtLeast("rotary_dim", i64(getRotaryDim()), 2)
      .require(i64(getRotaryDim()) % 2 == 0,
               "attribute 'rotary_dim' is " + Twine(i64(getRotaryDim())) +
                   ", must be even (channels rotate in pairs)")
      .attrPositive("theta", getTheta().convertToDouble());
  if (!c.ok())
    return failure();
  int64_t headDim = dimOf(in, 3);
  c.require(ShapedType::isDynamic(headDim) || i64(getRotaryDim()) <= headDim,
            "attribute 'rotary_dim' is " + Twine(i64(getRotaryDim())) +
                " but 'input' dim 3 (head_dim) is only " + Twine(headDim));
  return c;
}

//===----------------------------------------------------------------------===//
// Element-wise math and shape plumbing
//===----------------------------------------------------------------------===//

/// `rhs` must equal `lhs` in type or match its trailing dimensions.
static LogicalResult verifyBroadcastBinary(Operation *op, Value lhs, Value rhs,
                                           Value result) {
  ShapeChecker c(op);
  auto lhsType = llvm::cast<RankedTensorType>(lhs.getType());
  auto rhsType = llvm::cast<RankedTensorType>(rhs.getType());
  int64_t offset = lhsType.getRank() - rhsType.getRank();
  c.sameType("result", result, "lhs", lhs)
      .sameElementType("rhs", rhs, "lhs", lhs)
      .require(offset >= 0, "'rhs' has rank " + Twine(rhsType.getRank()) +
                                " but 'lhs' only " +
                                Twine(lhsType.getRank()) +
                                "; 'rhs' broadcasts over leading dims only");
  for (int64_t d = 0; c.ok() && d < rhsType.getRank(); ++d)
    c.dimsMatch("rhs", rhs, d, "lhs", lhs, d + offset, "broadcast");
  return c;
}

LogicalResult AddOp::verify() {
  return verifyBroadcastBinary(*this, getLhs(), getRhs(), getResult());
}

LogicalResult MulOp::verify() {
  return verifyBroadcastBinary(*this, getLhs(), getRhs(), getResult());
}

LogicalResult ConcatOp::verify() {
  ShapeChecker c(*this);
  auto outType = llvm::cast<RankedTensorType>(getResult().getType());
  int64_t rank = outType.getRank();
  int64_t axis = i64(getAxis());
  c.require(!getInputs().empty(), "needs at least one input")
      .require(axis >= 0 && axis < rank,
               "attribute 'axis' is " + Twine(axis) +
                   ", must be in [0, " + Twine(rank) + ")");
  int64_t total = 0;
  for (auto [i, input] : llvm::enumerate(getInputs())) {
    std::string name = ("input #" + Twine(i)).str();
    c.rank(name, input, rank).sameElementType(name, input, "result",
                                              getResult());
    for (int64_t d = 0; c.ok() && d < rank; ++d)
      if (d != axis)
        c.dimsMatch(name, input, d, "result", getResult(), d, "non-axis");
    if (!c.ok())
      return failure();
    int64_t size = dimOf(input, axis);
    total = (ShapedType::isDynamic(size) || ShapedType::isDynamic(total))
                ? ShapedType::kDynamic
                : total + size;
  }
  if (!ShapedType::isDynamic(total))
    c.dimIs("result", getResult(), axis, total, "sum of input sizes on axis");
  return c;
}

LogicalResult SplitOp::verify() {
  ShapeChecker c(*this);
  auto inType = llvm::cast<RankedTensorType>(getInput().getType());
  int64_t rank = inType.getRank();
  int64_t axis = i64(getAxis());
  ArrayRef<int64_t> sizes = getSizes();
  c.require(axis >= 0 && axis < rank, "attribute 'axis' is " + Twine(axis) +
                                          ", must be in [0, " + Twine(rank) +
                                          ")")
      .require(sizes.size() == getResults().size(),
               "attribute 'sizes' has " + Twine(sizes.size()) +
                   " entries but the op has " + Twine(getResults().size()) +
                   " results");
  int64_t total = 0;
  for (auto [i, size] : llvm::enumerate(sizes)) {
    c.require(size > 0, "attribute 'sizes' entry " + Twine(i) + " is " +
                            Twine(size) + ", must be positive");
    total += size;
  }
  if (!c.ok())
    return failure();
  c.dimIs("input", getInput(), axis, total, "sum of 'sizes'");
  for (auto [i, result] : llvm::enumerate(getResults())) {
    std::string name = ("result #" + Twine(i)).str();
    c.rank(name, result, rank).sameElementType(name, result, "input",
                                               getInput());
    for (int64_t d = 0; c.ok() && d < rank; ++d) {
      if (d == axis)
        c.dimIs(name, result, d, sizes[i], "'sizes' entry");
      else
        c.dimsMatch(name, result, d, "input", getInput(), d, "non-axis");
    }
  }
  return c;
}

LogicalResult ReshapeOp::verify() {
  auto inType = llvm::cast<RankedTensorType>(getInput().getType());
  auto outType = llvm::cast<RankedTensorType>(getResult().getType());
  ShapeChecker c(*this);
  c.sameElementType("result", getResult(), "input", getInput());
  // Dynamic dimensions are the leading batch/seq dims; they must stay put.
  int64_t inDynamic = inType.getNumDynamicDims();
  int64_t outDynamic = outType.getNumDynamicDims();
  c.require(inDynamic == outDynamic,
            "'input' has " + Twine(inDynamic) + " dynamic dims but 'result' " +
                Twine(outDynamic) + "; dynamic dims must be kept");
  for (int64_t d = 0; c.ok() && d < inType.getRank(); ++d) {
    if (!inType.isDynamicDim(d))
      continue;
    c.require(d < outType.getRank() && outType.isDynamicDim(d),
              "'input' dim " + Twine(d) +
                  " is dynamic, so 'result' dim " + Twine(d) +
                  " must be dynamic too");
  }
  if (!c.ok())
    return failure();
  auto staticProduct = [](RankedTensorType type) {
    int64_t product = 1;
    for (int64_t size : type.getShape())
      if (!ShapedType::isDynamic(size))
        product *= size;
    return product;
  };
  c.require(staticProduct(inType) == staticProduct(outType),
            "'input' has " + Twine(staticProduct(inType)) +
                " elements per dynamic index but 'result' has " +
                Twine(staticProduct(outType)));
  return c;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  ShapeChecker c(*this);
  Value q = getQ(), k = getK(), v = getV(), out = getOutput();
  int64_t heads = i64(getNumHeads()), kvHeads = i64(getNumKvHeads());
  c.attrAtLeast("num_heads", heads, 1).attrAtLeast("num_kv_heads", kvHeads, 1);
  if (!c.ok())
    return failure();
  c.require(heads % kvHeads == 0,
            "attribute 'num_heads' (" + Twine(heads) +
                ") must be a multiple of 'num_kv_heads' (" + Twine(kvHeads) +
                ")")
      .rank("q", q, 4)
      .rank("k", k, 4)
      .rank("v", v, 4)
      .rank("output", out, 4)
      .dimIs("q", q, 2, heads, "num_heads")
      .dimIs("k", k, 2, kvHeads, "num_kv_heads")
      .dimIs("v", v, 2, kvHeads, "num_kv_heads")
      .dimsMatch("k", k, 3, "q", q, 3, "head_dim")
      .dimsMatch("k", k, 0, "q", q, 0, "batch")
      .dimsMatch("v", v, 0, "q", q, 0, "batch")
      .dimsMatch("v", v, 1, "k", k, 1, "kv_seq")
      .dimsMatch("output", out, 0, "q", q, 0, "batch")
      .dimsMatch("output", out, 1, "q", q, 1, "seq")
      .dimIs("output", out, 2, heads, "num_heads")
      .dimsMatch("output", out, 3, "v", v, 3, "v_head_dim")
      .sameElementType("k", k, "q", q)
      .sameElementType("v", v, "q", q)
      .sameElementType("output", out, "q", q)
      .attrPositive("scale", getScale().convertToDouble());
  if (auto window = getSlidingWindow())
    c.attrAtLeast("sliding_window", i64(*window), 1);
  if (auto softcap = getSoftcap())
    c.attrPositive("softcap", softcap->convertToDouble());
  if (!c.ok())
    return failure();

  Value kCache = getKCache(), vCache = getVCache(), pos = getCachePosition();
  bool anyCache = kCache || vCache || pos;
  c.require(!anyCache || (kCache && vCache && pos),
            "'k_cache', 'v_cache' and 'cache_position' must be given together");
  size_t expectedUpdates = anyCache ? 2 : 0;
  c.require(getUpdatedCaches().size() == expectedUpdates,
            "returns " + Twine(getUpdatedCaches().size()) +
                " updated caches, expected " + Twine(expectedUpdates) +
                (anyCache ? " (k_cache and v_cache)" : " without a cache"));
  if (!anyCache || !c.ok())
    return c;
  c.rank("k_cache", kCache, 4)
      .dimsMatch("k_cache", kCache, 0, "q", q, 0, "batch")
      .dimIs("k_cache", kCache, 1, kvHeads, "num_kv_heads")
      .dimsMatch("k_cache", kCache, 3, "k", k, 3, "head_dim")
      .rank("v_cache", vCache, 4)
      .dimsMatch("v_cache", vCache, 0, "q", q, 0, "batch")
      .dimIs("v_cache", vCache, 1, kvHeads, "num_kv_heads")
      .dimsMatch("v_cache", vCache, 2, "k_cache", kCache, 2, "max_seq")
      .dimsMatch("v_cache", vCache, 3, "v", v, 3, "v_head_dim")
      .rank("cache_position", pos, 1)
      .dimsMatch("cache_position", pos, 0, "q", q, 0, "batch")
      .sameType("updated k_cache", getUpdatedCaches()[0], "k_cache", kCache)
      .sameType("updated v_cache", getUpdatedCaches()[1], "v_cache", vCache);
  return c;
}

LogicalResult MLAOp::verify() {
  ShapeChecker c(*this);
  int64_t heads = i64(getNumHeads()), rank = i64(getKvLoraRank());
  int64_t nope = i64(getQkNopeHeadDim()), rope = i64(getQkRopeHeadDim());
  int64_t vDim = i64(getVHeadDim());
  c.attrAtLeast("num_heads", heads, 1)
      .attrAtLeast("kv_lora_rank", rank, 1)
      .attrAtLeast("qk_nope_head_dim", nope, 0)
      .attrAtLeast("qk_rope_head_dim", rope, 0)
      .attrAtLeast("v_head_dim", vDim, 1)
      .require(nope + rope > 0,
               "'qk_nope_head_dim' + 'qk_rope_head_dim' must be positive")
      .attrPositive("scale", getScale().convertToDouble())
      .rank("q", getQ(), 4)
      .dimIs("q", getQ(), 2, heads, "num_heads")
      .dimIs("q", getQ(), 3, nope + rope, "qk_nope_head_dim + qk_rope_head_dim")
      .rank("kv_latent", getKvLatent(), 3)
      .dimsMatch("kv_latent", getKvLatent(), 0, "q", getQ(), 0, "batch")
      .dimIs("kv_latent", getKvLatent(), 2, rank, "kv_lora_rank")
      .rank("k_rope", getKRope(), 3)
      .dimsMatch("k_rope", getKRope(), 0, "q", getQ(), 0, "batch")
      .dimsMatch("k_rope", getKRope(), 1, "kv_latent", getKvLatent(), 1,
                 "kv_seq")
      .dimIs("k_rope", getKRope(), 2, rope, "qk_rope_head_dim")
      .rank("kv_up", getKvUp(), 2)
      .dimIs("kv_up", getKvUp(), 0, heads * (nope + vDim),
             "num_heads * (qk_nope_head_dim + v_head_dim)")
      .dimIs("kv_up", getKvUp(), 1, rank, "kv_lora_rank")
      .rank("output", getOutput(), 4)
      .dimsMatch("output", getOutput(), 0, "q", getQ(), 0, "batch")
      .dimsMatch("output", getOutput(), 1, "q", getQ(), 1, "seq")
      .dimIs("output", getOutput(), 2, heads, "num_heads")
      .dimIs("output", getOutput(), 3, vDim, "v_head_dim");
  if (!c.ok())
    return failure();
  Value cache = getLatentCache(), pos = getCachePosition();
  c.require(!cache == !pos,
            "'latent_cache' and 'cache_position' must be given together")
      .require(!cache == !getUpdatedCache(),
               cache ? "returns no updated cache although 'latent_cache' is "
                       "given"
                     : "returns an updated cache without a 'latent_cache'");
  if (!cache || !c.ok())
    return c;
  c.rank("latent_cache", cache, 3)
      .dimsMatch("latent_cache", cache, 0, "q", getQ(), 0, "batch")
      .dimIs("latent_cache", cache, 2, rank + rope,
             "kv_lora_rank + qk_rope_head_dim")
      .rank("cache_position", pos, 1)
      .dimsMatch("cache_position", pos, 0, "q", getQ(), 0, "batch")
      .sameType("updated cache", getUpdatedCache(), "latent_cache", cache);
  return c;
}

//===----------------------------------------------------------------------===//
// State-space ops
//===----------------------------------------------------------------------===//

LogicalResult CausalConv1dOp::verify() {
  ShapeChecker c(*this);
  Value in = getInput(), w = getWeight();
  int64_t width = i64(getKernelSize());
  ActivationKind act = getActivation();
  c.attrAtLeast("kernel_size", width, 1)
      .require(act == ActivationKind::identity || act == ActivationKind::silu,
               "activation '" + stringifyActivationKind(act) +
                   "' is not supported; use identity or silu")
      .rank("input", in, 3)
      .rank("weight", w, 2)
      .dimsMatch("weight", w, 0, "input", in, 2, "channels")
      .dimIs("weight", w, 1, width, "kernel_size")
      .sameType("output", getOutput(), "input", in);
  if (Value bias = getBias())
    c.rank("bias", bias, 1).dimsMatch("bias", bias, 0, "input", in, 2,
                                      "channels");
  Value state = getConvState();
  c.require(!state == !getUpdatedState(),
            state ? "returns no updated state although 'conv_state' is given"
                  : "returns an updated state without a 'conv_state'");
  if (state && c.ok())
    c.rank("conv_state", state, 3)
        .dimsMatch("conv_state", state, 0, "input", in, 0, "batch")
        .dimsMatch("conv_state", state, 1, "input", in, 2, "channels")
        .dimIs("conv_state", state, 2, width - 1, "kernel_size - 1")
        .sameType("updated state", getUpdatedState(), "conv_state", state);
  return c;
}

LogicalResult SelectiveScanOp::verify() {
  ShapeChecker c(*this);
  Value in = getInput();
  int64_t rank = i64(getDtRank()), n = i64(getStateSize());
  c.attrAtLeast("dt_rank", rank, 1)
      .attrAtLeast("state_size", n, 1)
      .attrPositive("norm_epsilon", getNormEpsilon().convertToDouble())
      .rank("input", in, 3)
      .sameType("output", getOutput(), "input", in)
      .rank("x_proj", getXProj(), 2)
      .dimIs("x_proj", getXProj(), 0, rank + 2 * n,
             "dt_rank + 2 * state_size")
      .dimsMatch("x_proj", getXProj(), 1, "input", in, 2, "d_inner")
      .rank("dt_proj", getDtProj(), 2)
      .dimsMatch("dt_proj", getDtProj(), 0, "input", in, 2, "d_inner")
      .dimIs("dt_proj", getDtProj(), 1, rank, "dt_rank")
      .rank("dt_bias", getDtBias(), 1)
      .dimsMatch("dt_bias", getDtBias(), 0, "input", in, 2, "d_inner")
      .rank("A", getA(), 2)
      .dimsMatch("A", getA(), 0, "input", in, 2, "d_inner")
      .dimIs("A", getA(), 1, n, "state_size");
  if (Value gate = getGate())
    c.sameType("gate", gate, "input", in);
  if (Value d = getD())
    c.rank("D", d, 1).dimsMatch("D", d, 0, "input", in, 2, "d_inner");
  bool anyNorm = getDtNorm() || getBNorm() || getCNorm();
  c.require(!anyNorm || (getDtNorm() && getBNorm() && getCNorm()),
            "'dt_norm', 'b_norm' and 'c_norm' must be given together");
  if (anyNorm && c.ok())
    c.rank("dt_norm", getDtNorm(), 1)
        .dimIs("dt_norm", getDtNorm(), 0, rank, "dt_rank")
        .rank("b_norm", getBNorm(), 1)
        .dimIs("b_norm", getBNorm(), 0, n, "state_size")
        .rank("c_norm", getCNorm(), 1)
        .dimIs("c_norm", getCNorm(), 0, n, "state_size");
  Value state = getState();
  c.require(!state == !getFinalState(),
            state ? "returns no final state although 'state' is given"
                  : "returns a final state without an input 'state'");
  if (state && c.ok())
    c.rank("state", state, 3)
        .dimsMatch("state", state, 0, "input", in, 0, "batch")
        .dimsMatch("state", state, 1, "input", in, 2, "d_inner")
        .dimIs("state", state, 2, n, "state_size")
        .sameType("final state", getFinalState(), "state", state);
  return c;
}

LogicalResult SSDScanOp::verify() {
  ShapeChecker c(*this);
  Value x = getInput();
  int64_t heads = i64(getNumHeads()), headDim = i64(getHeadDim());
  int64_t groups = i64(getNumGroups()), n = i64(getStateSize());
  c.attrAtLeast("num_heads", heads, 1)
      .attrAtLeast("head_dim", headDim, 1)
      .attrAtLeast("num_groups", groups, 1)
      .attrAtLeast("state_size", n, 1)
      .attrAtLeast("chunk_size", i64(getChunkSize()), 1);
  if (!c.ok())
    return failure();
  double dtMin = getDtMin().convertToDouble();
  double dtMax = getDtMax() ? getDtMax()->convertToDouble() : INFINITY;
  c.require(heads % groups == 0,
            "attribute 'num_heads' (" + Twine(heads) +
                ") must be a multiple of 'num_groups' (" + Twine(groups) + ")")
      .require(dtMin >= 0.0 && dtMin <= dtMax,
               "dt limits must satisfy 0 <= dt_min <= dt_max, got [" +
                   Twine(std::to_string(dtMin)) + ", " +
                   std::to_string(dtMax) + "]")
      .rank("input", x, 4)
      .dimIs("input", x, 2, heads, "num_heads")
      .dimIs("input", x, 3, headDim, "head_dim")
      .sameType("output", getOutput(), "input", x)
      .rank("dt", getDt(), 3)
      .dimsMatch("dt", getDt(), 0, "input", x, 0, "batch")
      .dimsMatch("dt", getDt(), 1, "input", x, 1, "seq")
      .dimIs("dt", getDt(), 2, heads, "num_heads")
      .rank("A", getA(), 1)
      .dimIs("A", getA(), 0, heads, "num_heads");
  for (auto [name, bc] : {std::pair<StringRef, Value>{"B", getB()},
                          std::pair<StringRef, Value>{"C", getC()}})
    c.rank(name, bc, 4)
        .dimsMatch(name, bc, 0, "input", x, 0, "batch")
        .dimsMatch(name, bc, 1, "input", x, 1, "seq")
        .dimIs(name, bc, 2, groups, "num_groups")
        .dimIs(name, bc, 3, n, "state_size");
  if (Value d = getD())
    c.rank("D", d, 1).dimIs("D", d, 0, heads, "num_heads");
  if (Value bias = getDtBias())
    c.rank("dt_bias", bias, 1).dimIs("dt_bias", bias, 0, heads, "num_heads");
  Value state = getInitialState();
  c.require(!state == !getFinalState(),
            state ? "returns no final state although 'initial_state' is given"
                  : "returns a final state without an 'initial_state'");
  if (state && c.ok())
    c.rank("initial_state", state, 4)
        .dimsMatch("initial_state", state, 0, "input", x, 0, "batch")
        .dimIs("initial_state", state, 1, heads, "num_heads")
        .dimIs("initial_state", state, 2, headDim, "head_dim")
        .dimIs("initial_state", state, 3, n, "state_size")
        .sameType("final state", getFinalState(), "initial_state", state);
  return c;
}

LogicalResult GatedRMSNormOp::verify() {
  ShapeChecker c(*this);
  Value in = getInput();
  int64_t group = i64(getGroupSize());
  c.minRank("input", in, 1)
      .sameType("gate", getGate(), "input", in)
      .sameType("result", getResult(), "input", in)
      .rank("weight", getWeight(), 1)
      .dimsMatch("weight", getWeight(), 0, "input", in, -1, "hidden")
      .attrAtLeast("group_size", group, 1)
      .attrPositive("epsilon", getEpsilon().convertToDouble());
  if (!c.ok())
    return failure();
  int64_t hidden = dimOf(in, -1);
  c.require(ShapedType::isDynamic(hidden) || hidden % group == 0,
            "'input' last dim (hidden) is " + Twine(hidden) +
                ", not a multiple of attribute 'group_size' (" + Twine(group) +
                ")");
  return c;
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

LogicalResult MoEOp::verify() {
  ShapeChecker c(*this);
  Value x = getInput();
  int64_t experts = i64(getNumExperts()), topK = i64(getTopK());
  c.attrAtLeast("num_experts", experts, 1)
      .attrAtLeast("top_k", topK, 1)
      .require(topK <= experts, "attribute 'top_k' (" + Twine(topK) +
                                    ") exceeds 'num_experts' (" +
                                    Twine(experts) + ")")
      .attrPositive("routed_scaling", getRoutedScaling().convertToDouble())
      .rank("input", x, 3)
      .sameType("result", getResult(), "input", x)
      .rank("router", getRouter(), 2)
      .dimIs("router", getRouter(), 0, experts, "num_experts")
      .dimsMatch("router", getRouter(), 1, "input", x, 2, "hidden")
      .rank("gate_up", getGateUp(), 3)
      .dimIs("gate_up", getGateUp(), 0, experts, "num_experts")
      .dimsMatch("gate_up", getGateUp(), 2, "input", x, 2, "hidden")
      .rank("down", getDown(), 3)
      .dimIs("down", getDown(), 0, experts, "num_experts")
      .dimsMatch("down", getDown(), 1, "input", x, 2, "hidden");
  if (!c.ok())
    return failure();
  // expert_dim and shared_dim are read from 'down' and 'shared_down'; a
  // dynamic one leaves the matching 'gate_up' dim unchecked.
  int64_t expertDim = dimOf(getDown(), 2);
  if (!ShapedType::isDynamic(expertDim))
    c.dimIs("gate_up", getGateUp(), 1, 2 * expertDim, "2 * expert_dim");
  if (Value bias = getRouterBias())
    c.rank("router_bias", bias, 1)
        .dimIs("router_bias", bias, 0, experts, "num_experts");
  Value sharedGateUp = getSharedGateUp(), sharedDown = getSharedDown();
  c.require(!sharedGateUp == !sharedDown,
            "'shared_gate_up' and 'shared_down' must be given together");
  if (sharedGateUp && c.ok()) {
    c.rank("shared_gate_up", sharedGateUp, 2)
        .dimsMatch("shared_gate_up", sharedGateUp, 1, "input", x, 2, "hidden")
        .rank("shared_down", sharedDown, 2)
        .dimsMatch("shared_down", sharedDown, 0, "input", x, 2, "hidden");
    int64_t sharedDim = c.ok() ? dimOf(sharedDown, 1) : ShapedType::kDynamic;
    if (!ShapedType::isDynamic(sharedDim))
      c.dimIs("shared_gate_up", sharedGateUp, 0, 2 * sharedDim,
              "2 * shared_dim");
  }
  return c;
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

LogicalResult MergeOp::verify() {
  ShapeChecker c(*this);
  auto branches = getBranches();
  size_t count = branches.size();
  c.require(count >= 1, "needs at least one branch");
  for (auto [i, branch] : llvm::enumerate(branches))
    c.sameType(("branch #" + Twine(i)).str(), branch, "result", getResult());
  if (!c.ok())
    return failure();
  MergeMode mode = getMode();
  bool scales = mode == MergeMode::sum || mode == MergeMode::mean;
  if (auto multipliers = getMultipliers()) {
    c.require(scales, "attribute 'multipliers' applies only to sum and mean "
                      "merges, not '" +
                          stringifyMergeMode(mode) + "'")
        .require(multipliers->size() == count,
                 "attribute 'multipliers' has " + Twine(multipliers->size()) +
                     " entries for " + Twine(count) + " branches");
  }
  Value weight = getWeight();
  Value first = branches.front();
  c.minRank("result", getResult(), 1);
  switch (mode) {
  case MergeMode::sum:
  case MergeMode::mean:
    c.require(!weight, "a '" + stringifyMergeMode(mode) +
                           "' merge takes no 'weight'");
    break;
  case MergeMode::concat_proj:
    c.require(weight != nullptr,
              "a 'concat_proj' merge needs a 'weight' [hidden, n * hidden]");
    if (weight && c.ok()) {
      int64_t hidden = dimOf(first, -1);
      c.rank("weight", weight, 2)
          .dimsMatch("weight", weight, 0, "branch #0", first, -1, "hidden");
      if (!ShapedType::isDynamic(hidden))
        c.dimIs("weight", weight, 1, static_cast<int64_t>(count) * hidden,
                "branches * hidden");
    }
    break;
  case MergeMode::attention:
    c.require(weight != nullptr,
              "an 'attention' merge needs a scoring 'weight' [hidden]");
    if (weight && c.ok())
      c.rank("weight", weight, 1)
          .dimsMatch("weight", weight, 0, "branch #0", first, -1, "hidden");
    break;
  }
  return c;
}

LogicalResult LayerOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("body takes ")
           << body.getNumArguments() << " arguments but the layer has "
           << getInputs().size() << " inputs";
  for (auto [i, pair] :
       llvm::enumerate(llvm::zip(body.getArgumentTypes(), getInputs()))) {
    auto [argType, input] = pair;
    if (argType != input.getType())
      return emitOpError("body argument #")
             << i << " has type " << argType << " but input #" << i
             << " has type " << input.getType();
  }
  auto yield = llvm::cast<YieldOp>(body.getTerminator());
  if (yield.getValues().size() != getResults().size())
    return emitOpError("body yields ")
           << yield.getValues().size() << " values but the layer has "
           << getResults().size() << " results";
  for (auto [i, pair] : llvm::enumerate(
           llvm::zip(yield.getValues().getTypes(), getResultTypes()))) {
    auto [yielded, result] = pair;
    if (yielded != result)
      return emitOpError("body yields ")
             << yielded << " as value #" << i << " but result #" << i
             << " has type " << result;
  }
  size_t nested = llvm::range_size(getNestedLayers());
  switch (getKind()) {
  case LayerKind::parallel:
    if (nested < 2)
      return emitOpError("a 'parallel' layer needs at least 2 nested layers "
                         "(its branches), found ")
             << nested;
    break;
  case LayerKind::shared:
    break;
  default:
    if (nested != 0)
      return emitOpError("a '")
             << stringifyLayerKind(getKind())
             << "' layer may not contain nested layers; use a 'parallel' or "
                "'shared' layer to group blocks";
  }
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Braid/BraidOps.cpp.inc"
