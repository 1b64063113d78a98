//===- SpecializersSequence.cpp - attention, mla and the scans on GPUs ----===//
//
// Reads one launch.kernel of a sequence family (attributes, buffer shapes
// and kinds), fills the plain shape structs of SequencePlans.h and turns
// the resulting plan into a KernelPlan. The device code lives in
// Attention.cuh, SSD.cuh and SelectiveScan.cuh.
//
// Element types in the generated code follow the launch IR, as for the
// dense families: a bf16 model carries bf16 activations, weights and KV
// caches there (the attention tiles copy with cp.async, no conversion) and
// fp32 SSM states; an f32 cache under bf16 activations still works (the
// kernels convert on the fly). ids and cache positions are int64.
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/SequencePlans.h"
#include "targets/common/kernels/Specializers.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSwitch.h"

#include <cmath>

using namespace mlir;

namespace braid::gpu {

namespace {

using launch::BufferAttr;
using launch::BufferKind;
using launch::KernelOp;

/// Reading one launch, with errors that name the family and the launch.
class LaunchReader {
public:
  LaunchReader(KernelOp op, const Target &target)
      : op(op), target(target), family(op.getFamily().str()) {}

  llvm::Error error(const llvm::Twine &what) const {
    return llvm::createStringError(family + " (" + op.getSource().str() +
                                   "): " + what.str());
  }

  size_t operandCount() const { return op.getOperands().size(); }
  size_t resultCount() const { return op.getResults().size(); }
  BufferAttr operand(size_t i) const {
    return i < operandCount() ? dyn_cast<BufferAttr>(op.getOperands()[i])
                              : BufferAttr();
  }
  BufferAttr result(size_t i) const {
    return i < resultCount() ? dyn_cast<BufferAttr>(op.getResults()[i])
                             : BufferAttr();
  }
  /// Index in BraidKernelParams::buffers, or -1 when absent.
  int operandIndex(size_t i) const { return operand(i) ? int(i) : -1; }
  int resultIndex(size_t i) const {
    return result(i) ? int(operandCount() + i) : -1;
  }

  bool has(StringRef name) const { return bool(op.getAttrs().get(name)); }
  int64_t integer(StringRef name, int64_t dflt = 0) const {
    if (auto a = op.getAttrs().getAs<IntegerAttr>(name))
      return a.getInt();
    return dflt;
  }
  double real(StringRef name, double dflt = 0.0) const {
    if (auto a = op.getAttrs().getAs<FloatAttr>(name))
      return a.getValueAsDouble();
    return dflt;
  }
  bool boolean(StringRef name, bool dflt) const {
    if (auto a = op.getAttrs().getAs<BoolAttr>(name))
      return a.getValue();
    return dflt;
  }

  /// The C++ element type of `buffer` in the generated code.
  llvm::Expected<std::string> elemType(BufferAttr buffer, StringRef what) const {
    Type type = buffer.getElementType();
    if (type.isBF16())
      return std::string(seq::kBf16);
    if (type.isF32())
      return std::string(seq::kF32);
    std::string text;
    llvm::raw_string_ostream os(text);
    type.print(os);
    return error("'" + what + "' has element type " + text +
                 ", which the GPU kernels do not read yet");
  }

  /// Static size of dimension `dim` of `buffer`, 0 when symbolic.
  static int64_t staticDim(BufferAttr buffer, size_t dim) {
    ArrayRef<int64_t> shape = buffer.getShape();
    return dim < shape.size() && shape[dim] > 0 ? shape[dim] : 0;
  }

  mutable KernelOp op;
  const Target &target;
  std::string family;
};

seq::Target seqTarget(const Target &target) {
  seq::Target t;
  if (target.vendor == "hip") {
    // CDNA: wave64, and 64 KiB of LDS per workgroup on gfx90a and gfx942.
    // gfx950 has 160 KiB, but planning all three to 64 KiB keeps one
    // translation unit per shape for the three code objects.
    t.warpSize = 64;
    t.maxShared = 64 * 1024;
    return t;
  }
  StringRef arch = target.arch;
  t.wgmma = arch == "sm_90a"; // the attention prefill's wgmma kernel
  if (arch.consume_front("sm_")) {
    unsigned sm = 0;
    if (!arch.take_while([](char c) { return c >= '0' && c <= '9'; })
             .getAsInteger(10, sm))
      t.sm = int(sm);
  }
  return t;
}

DimExpr toDimExpr(const seq::Dim &d) {
  DimExpr e;
  e.constant = d.constant;
  e.perBatch = d.perBatch;
  e.perToken = d.perToken;
  e.perBatchToken = d.perBatchToken;
  e.divisor = d.divisor;
  return e;
}

KernelPlan toKernelPlan(const seq::Plan &plan) {
  KernelPlan out;
  out.source = plan.source;
  for (const seq::Launch &l : plan.launches) {
    KernelInvocation inv;
    inv.function = l.function;
    for (int i = 0; i < 3; ++i) {
      inv.grid[i] = toDimExpr(l.grid[i]);
      inv.block[i] = l.block[i];
    }
    inv.sharedBytes = l.sharedBytes;
    inv.minRows = l.minRows;
    inv.maxRows = l.maxRows;
    out.invocations.push_back(inv);
  }
  out.workspaceBytes = toDimExpr(plan.workspace);
  out.hot = true;
  return out;
}

/// Every present float buffer of the launch must have one element type
/// (the kernels take one activation type per family, plus weights/state).
llvm::Error requireSame(const LaunchReader &r, const std::string &expected,
                        std::initializer_list<std::pair<BufferAttr, const char *>>
                            buffers) {
  for (auto [buffer, name] : buffers) {
    if (!buffer)
      continue;
    auto type = r.elemType(buffer, name);
    if (!type)
      return type.takeError();
    if (*type != expected)
      return r.error(llvm::Twine("'") + name + "' is " + *type + " but 'q'/'x' is " +
                     expected + "; mixed element types are not supported");
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeAttention(KernelOp op, const Target &target,
                                               StringRef name) {
  LaunchReader r(op, target);
  BufferAttr q = r.operand(0), k = r.operand(1), v = r.operand(2);
  BufferAttr kc = r.operand(3), vc = r.operand(4), pos = r.operand(5);
  BufferAttr out = r.result(0);
  if (!q || !k || !v || !out)
    return r.error("needs q, k, v and an output buffer");
  if (q.getShape().size() != 4 || k.getShape().size() != 4 ||
      v.getShape().size() != 4)
    return r.error("q, k and v must be rank 4 ([batch, seq, heads, dim])");
  if (q.getShape()[0] != launch::kDimBatch)
    return r.error("q's batch dimension must be the symbolic B");

  seq::AttentionShape s;
  auto elem = r.elemType(q, "q");
  if (!elem)
    return elem.takeError();
  s.elem = *elem;
  if (auto err = requireSame(r, s.elem, {{k, "k"}, {v, "v"}, {out, "output"}}))
    return std::move(err);
  s.heads = r.integer("num_heads");
  s.kvHeads = r.integer("num_kv_heads");
  s.headDim = LaunchReader::staticDim(q, 3);
  s.valueDim = LaunchReader::staticDim(v, 3);
  if (!s.headDim || !s.valueDim)
    return r.error("head dims must be static");
  if (LaunchReader::staticDim(q, 2) != s.heads ||
      LaunchReader::staticDim(k, 2) != s.kvHeads ||
      LaunchReader::staticDim(k, 3) != s.headDim)
    return r.error("q/k shapes do not match num_heads/num_kv_heads/head_dim");
  s.causal = r.boolean("causal", true);
  s.window = r.integer("sliding_window", 0);
  s.scale = r.real("scale", 1.0);
  s.softcap = r.real("softcap", 0.0);
  s.tokens = LaunchReader::staticDim(q, 1);
  s.cached = kc || vc || pos;
  s.q = 0;
  s.k = 1;
  s.v = 2;
  s.out = r.resultIndex(0);
  if (s.cached) {
    if (!kc || !vc || !r.result(1) || !r.result(2))
      return r.error("a KV cache needs k_cache, v_cache and both updated "
                     "caches as results");
    if (kc.getElementType() != vc.getElementType())
      return r.error("k_cache and v_cache must have one element type");
    auto cacheElem = r.elemType(kc, "k_cache");
    if (!cacheElem)
      return cacheElem.takeError();
    s.cacheElem = *cacheElem;
    if (k.getShape()[1] != q.getShape()[1])
      return r.error("with a cache, k must have the query's sequence length");
    s.kCache = 3;
    s.vCache = 4;
    s.pos = r.operandIndex(5);
    s.kCacheOut = r.resultIndex(1);
    s.vCacheOut = r.resultIndex(2);
    s.maxSeq = LaunchReader::staticDim(kc, 2);
    if (s.pos >= 0 && !pos.getElementType().isInteger(64))
      return r.error("cache_position must be i64");
  } else {
    s.kvSeq = LaunchReader::staticDim(k, 1);
    if (s.kvSeq == 0 && k.getShape()[1] != q.getShape()[1])
      return r.error("k's sequence length must be T or static");
  }
  seq::Plan plan;
  std::string err = seq::planAttention(s, seqTarget(target), name.str(), plan);
  if (!err.empty())
    return r.error(err);
  return toKernelPlan(plan);
}

//===----------------------------------------------------------------------===//
// ssd_scan
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeSsd(KernelOp op, const Target &target,
                                         StringRef name) {
  LaunchReader r(op, target);
  BufferAttr x = r.operand(0), dt = r.operand(1), A = r.operand(2),
             B = r.operand(3), C = r.operand(4), D = r.operand(5),
             bias = r.operand(6), init = r.operand(7);
  BufferAttr y = r.result(0), fin = r.result(1);
  if (!x || !dt || !A || !B || !C || !y)
    return r.error("needs input, dt, A, B, C and an output buffer");
  if (bool(init) != bool(fin))
    return r.error("initial_state and the final state come together");
  seq::SsdShape s;
  auto elem = r.elemType(x, "input");
  if (!elem)
    return elem.takeError();
  s.elem = *elem;
  if (auto err =
          requireSame(r, s.elem, {{dt, "dt"}, {B, "B"}, {C, "C"}, {y, "output"}}))
    return std::move(err);
  auto weight = r.elemType(A, "A");
  if (!weight)
    return weight.takeError();
  s.weight = *weight;
  for (auto [buf, what] : {std::pair{D, "D"}, std::pair{bias, "dt_bias"}})
    if (buf) {
      auto t = r.elemType(buf, what);
      if (!t)
        return t.takeError();
      if (*t != s.weight)
        return r.error(llvm::Twine("'") + what + "' and 'A' differ in element type");
    }
  if (init) {
    auto st = r.elemType(init, "initial_state");
    if (!st)
      return st.takeError();
    s.state = *st;
  }
  s.heads = r.integer("num_heads");
  s.headDim = r.integer("head_dim");
  s.groups = r.integer("num_groups", 1);
  s.stateSize = r.integer("state_size");
  s.chunk = r.integer("chunk_size");
  s.softplus = r.boolean("dt_softplus", true);
  s.dtMin = r.real("dt_min", 0.0);
  double dtMax = r.real("dt_max", INFINITY);
  s.hasDtMax = r.has("dt_max") && std::isfinite(dtMax);
  s.dtMax = s.hasDtMax ? dtMax : 0.0;
  s.x = 0;
  s.dt = 1;
  s.A = 2;
  s.B = 3;
  s.C = 4;
  s.D = r.operandIndex(5);
  s.bias = r.operandIndex(6);
  s.stateIn = r.operandIndex(7);
  s.y = r.resultIndex(0);
  s.stateOut = r.resultIndex(1);
  if (x.getShape().size() != 4 || LaunchReader::staticDim(x, 2) != s.heads ||
      LaunchReader::staticDim(x, 3) != s.headDim ||
      LaunchReader::staticDim(B, 2) != s.groups ||
      LaunchReader::staticDim(B, 3) != s.stateSize)
    return r.error("input/B shapes do not match the attributes");
  if (x.getShape()[0] != launch::kDimBatch ||
      x.getShape()[1] != launch::kDimTokens)
    return r.error("input must be [B, T, heads, head_dim]");
  seq::Plan plan;
  std::string err = seq::planSsd(s, seqTarget(target), name.str(), plan);
  if (!err.empty())
    return r.error(err);
  return toKernelPlan(plan);
}

//===----------------------------------------------------------------------===//
// mamba2_step
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan>
specializeMamba2Step(KernelOp op, const Target &target, StringRef name) {
  LaunchReader r(op, target);
  if (r.operandCount() != 11 || r.resultCount() != 3)
    return r.error("needs 11 operands and 3 results (passes/DecodeFusion.h)");
  BufferAttr xbc = r.operand(0), convW = r.operand(1), convBias = r.operand(2),
             convState = r.operand(3), dt = r.operand(4), A = r.operand(5),
             D = r.operand(6), dtBias = r.operand(7), ssm = r.operand(8),
             z = r.operand(9), normW = r.operand(10), y = r.result(0);
  if (!xbc || !convW || !convState || !dt || !A || !ssm || !y)
    return r.error("needs xBC, the conv weight and state, dt, A, the SSM "
                   "state and an output buffer");
  seq::Mamba2StepShape s;
  auto elem = r.elemType(xbc, "xBC");
  if (!elem)
    return elem.takeError();
  s.elem = *elem;
  if (auto err = requireSame(r, s.elem, {{dt, "dt"}, {z, "z"}, {y, "output"}}))
    return std::move(err);
  auto weight = r.elemType(A, "A");
  if (!weight)
    return weight.takeError();
  s.weight = *weight;
  if (auto err = requireSame(r, s.weight,
                             {{convW, "conv weight"},
                              {convBias, "conv bias"},
                              {D, "D"},
                              {dtBias, "dt_bias"},
                              {normW, "norm weight"}}))
    return std::move(err);
  for (auto [buf, what] :
       {std::pair{convState, "conv_state"}, std::pair{ssm, "ssm_state"}})
    if (!buf.getElementType().isF32())
      return r.error(llvm::Twine("'") + what + "' must be f32");
  s.heads = r.integer("num_heads");
  s.headDim = r.integer("head_dim");
  s.groups = r.integer("num_groups", 1);
  s.stateSize = r.integer("state_size");
  s.convK = r.integer("kernel_size");
  auto act = op.getAttrs().getAs<StringAttr>("activation");
  if (!act || (act.getValue() != "silu" && act.getValue() != "identity"))
    return r.error("conv activation must be silu or identity");
  s.convSilu = act.getValue() == "silu";
  s.hasConvBias = bool(convBias);
  s.hasD = bool(D);
  s.hasDtBias = bool(dtBias);
  s.softplus = r.boolean("dt_softplus", true);
  s.dtMin = r.real("dt_min", 0.0);
  double dtMax = r.real("dt_max", INFINITY);
  s.hasDtMax = r.has("dt_max") && std::isfinite(dtMax);
  s.dtMax = s.hasDtMax ? dtMax : 0.0;
  auto gate = op.getAttrs().getAs<StringAttr>("gate");
  StringRef gateKind = gate ? gate.getValue() : "";
  s.gate = llvm::StringSwitch<int>(gateKind)
               .Case("none", 0)
               .Case("norm", 1)
               .Case("silu", 2)
               .Default(-1);
  if (s.gate < 0)
    return r.error("attribute 'gate' is '" + gateKind +
                   "', expected none, norm or silu");
  if (s.gate != 0 && !z)
    return r.error("gate '" + gateKind + "' needs the z operand");
  if (s.gate == 1) {
    if (!normW)
      return r.error("gate 'norm' needs the norm weight");
    s.normGroup = r.integer("group_size");
    s.normFirst = r.boolean("norm_before_gate", false);
    s.eps = r.real("epsilon", 1e-6);
  }
  const int64_t channels = s.heads * s.headDim + 2 * s.groups * s.stateSize;
  if (xbc.getShape().size() != 3 || xbc.getShape()[0] != launch::kDimBatch ||
      xbc.getShape()[1] != launch::kDimTokens ||
      LaunchReader::staticDim(xbc, 2) != channels)
    return r.error("xBC must be [B, T, " + std::to_string(channels) +
                   "] (num_heads * head_dim + 2 * num_groups * state_size)");
  seq::Plan plan;
  std::string err = seq::planMamba2Step(s, seqTarget(target), name.str(), plan);
  if (!err.empty())
    return r.error(err);
  return toKernelPlan(plan);
}

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeSelectiveScan(KernelOp op,
                                                   const Target &target,
                                                   StringRef name) {
  LaunchReader r(op, target);
  BufferAttr x = r.operand(0), xProj = r.operand(1), dtProj = r.operand(2),
             dtBias = r.operand(3), A = r.operand(4), gate = r.operand(5),
             D = r.operand(6), dtNorm = r.operand(7), bNorm = r.operand(8),
             cNorm = r.operand(9), state = r.operand(10);
  BufferAttr y = r.result(0), fin = r.result(1);
  if (!x || !xProj || !dtProj || !dtBias || !A || !y)
    return r.error("needs input, x_proj, dt_proj, dt_bias, A and an output");
  if (bool(state) != bool(fin))
    return r.error("state and the final state come together");
  if (bool(dtNorm) != bool(bNorm) || bool(bNorm) != bool(cNorm))
    return r.error("dt_norm, b_norm and c_norm come together");
  seq::SelectiveShape s;
  auto elem = r.elemType(x, "input");
  if (!elem)
    return elem.takeError();
  s.elem = *elem;
  if (auto err = requireSame(r, s.elem, {{gate, "gate"}, {y, "output"}}))
    return std::move(err);
  auto weight = r.elemType(xProj, "x_proj");
  if (!weight)
    return weight.takeError();
  s.weight = *weight;
  for (auto [buf, what] :
       {std::pair{dtProj, "dt_proj"}, std::pair{dtBias, "dt_bias"},
        std::pair{A, "A"}, std::pair{D, "D"}, std::pair{dtNorm, "dt_norm"},
        std::pair{bNorm, "b_norm"}, std::pair{cNorm, "c_norm"}})
    if (buf) {
      auto t = r.elemType(buf, what);
      if (!t)
        return t.takeError();
      if (*t != s.weight)
        return r.error(llvm::Twine("'") + what +
                       "' and 'x_proj' differ in element type");
    }
  if (state) {
    auto st = r.elemType(state, "state");
    if (!st)
      return st.takeError();
    s.state = *st;
  }
  s.inner = LaunchReader::staticDim(x, 2);
  s.rank = r.integer("dt_rank");
  s.stateSize = r.integer("state_size");
  s.eps = r.real("norm_epsilon", 1e-6);
  if (x.getShape().size() != 3 || x.getShape()[0] != launch::kDimBatch ||
      x.getShape()[1] != launch::kDimTokens || !s.inner)
    return r.error("input must be [B, T, d_inner] with a static d_inner");
  s.x = 0;
  s.xProj = 1;
  s.dtProj = 2;
  s.dtBias = 3;
  s.A = 4;
  s.gate = r.operandIndex(5);
  s.D = r.operandIndex(6);
  s.dtNorm = r.operandIndex(7);
  s.bNorm = r.operandIndex(8);
  s.cNorm = r.operandIndex(9);
  s.stateIn = r.operandIndex(10);
  s.y = r.resultIndex(0);
  s.stateOut = r.resultIndex(1);
  seq::Plan plan;
  std::string err =
      seq::planSelectiveScan(s, seqTarget(target), name.str(), plan);
  if (!err.empty())
    return r.error(err);
  return toKernelPlan(plan);
}

//===----------------------------------------------------------------------===//
// mla
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeMla(KernelOp op, const Target &target,
                                         StringRef) {
  LaunchReader r(op, target);
  return r.error("multi-latent attention is not supported on the " +
                 target.vendor + " target yet (use the cpu target)");
}

} // namespace

Specializer findSequenceSpecializer(llvm::StringRef family) {
  return llvm::StringSwitch<Specializer>(family)
      .Case("attention", &specializeAttention)
      .Case("ssd_scan", &specializeSsd)
      .Case("mamba2_step", &specializeMamba2Step)
      .Case("selective_scan", &specializeSelectiveScan)
      .Case("mla", &specializeMla)
      .Default(nullptr);
}

} // namespace braid::gpu
