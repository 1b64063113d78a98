//===- SpecializersDense.cpp - GPU plans of the dense kernel families -----===//
//
// activation, add, mul, scale, rms_norm, layer_norm, gated_rms_norm, rope,
// embedding, split, concat, gather_last, greedy_next, causal_conv1d; the
// GEMM families (linear, moe, merge) are in SpecializersGemm.cpp.
//
// Each specializer reads one launch.kernel (attributes, buffer shapes with
// the symbolic B / T), picks the device template and its constants
// (targets/common/kernels/*.cuh), and writes a translation unit whose
// extern "C" entry points take BraidKernelParams by value. The run-time
// sizes (rows = B * T * ...) are C++ expressions of params.batch and
// params.tokens in the source and DimExprs in the launch geometry.
//
// Storage types follow the launch IR: in a bf16 model the activations and
// weights are bf16 buffers and the states f32; the GEMM engine follows the
// operand type (tensor cores for bf16, exact fp32 FMA for f32).
//
// Buffer contract: every buffer base pointer is 16-byte aligned (the
// runtime's allocations are; arena offsets are multiples of 64 bytes per
// token). Kernels with more than 48 KiB of dynamic shared memory need
// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES set to sharedBytes.
// Compile without --use_fast_math: rope and the activations rely on
// full-range sinf/cosf/expf for the fp32 tolerance.
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/SpecializersDenseSupport.h"

#include <numeric>

namespace braid::gpu {

namespace dense {
namespace {

//===----------------------------------------------------------------------===//
// Element-wise families
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeActivation(launch::KernelOp op,
                                                const Target &target,
                                                llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &x = l.in(0), &y = l.out(0);
  std::string kind = l.getString("kind");
  std::optional<std::string> act = activationEnum(kind);
  l.require(act.has_value(), "activation '" + kind + "' is unknown") &&
      l.floatBuf(x, "input") && l.floatBuf(y, "result") &&
      l.require(x.shape() == y.shape(), "'result' must have the input's shape");
  Count n = x.present() ? countOf(x.shape()) : Count();
  l.countOk(n, "input");
  if (!l.ok())
    return l.error();
  int64_t v = mapVec(n, {&x, &y});
  Source src(l, {"Elementwise.cuh"});
  src.kernel(l.fn("main"), kMapThreads, 1,
             "  activationMap<" + *act + ", " + std::to_string(v) + ">(" +
                 x.ptr() + ", " + y.ptr(false) + ", " + n.expr() + ");\n");
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(
      invocation(l.fn("main"), mapBlocks(n, kMapThreads * v * kMapItems),
                 DimExpr::fixed(1), DimExpr::fixed(1), kMapThreads, 0));
  return plan;
}

llvm::Expected<KernelPlan> specializeBinary(launch::KernelOp op,
                                            const Target &target,
                                            llvm::StringRef name, bool mul) {
  Launch l(op, target, name);
  const Buf &a = l.in(0), &b = l.in(1), &y = l.out(0);
  l.floatBuf(a, "lhs") && l.floatBuf(b, "rhs") && l.floatBuf(y, "result") &&
      l.require(a.shape() == y.shape(), "'result' must have the shape of 'lhs'") &&
      l.require(b.rank() <= a.rank(), "'rhs' has a higher rank than 'lhs'");
  int64_t inner = 0;
  if (l.ok() && b.shape() != a.shape()) {
    // Trailing-dimension broadcast: rhs matches the last dims of lhs.
    int64_t offset = a.rank() - b.rank();
    for (int64_t d = 0; d < b.rank() && l.ok(); ++d)
      l.require(b.dim(d) == a.dim(d + offset),
                "'rhs' dim " + std::to_string(d) +
                    " does not match the trailing dims of 'lhs'");
    l.staticDims(b, b.shape(), "rhs");
    inner = 1;
    for (int64_t d : b.shape())
      inner *= d;
    if (inner == 0)
      inner = 0;
  }
  Count n = a.present() ? countOf(a.shape()) : Count();
  l.countOk(n, "lhs");
  if (!l.ok())
    return l.error();
  int64_t v = mapVec(n, {&a, &b, &y});
  if (inner)
    v = vecWidth(inner, v);
  Source src(l, {"Elementwise.cuh"});
  src.kernel(l.fn("main"), kMapThreads, 1,
             std::string("  binaryMap<") +
                 (mul ? "BinaryOp::Mul" : "BinaryOp::Add") + ", " +
                 std::to_string(inner) + ", " + std::to_string(v) + ">(" +
                 a.ptr() + ", " + b.ptr() + ", " + y.ptr(false) + ", " +
                 n.expr() + ");\n");
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(
      invocation(l.fn("main"), mapBlocks(n, kMapThreads * v * kMapItems),
                 DimExpr::fixed(1), DimExpr::fixed(1), kMapThreads, 0));
  return plan;
}

llvm::Expected<KernelPlan> specializeAdd(launch::KernelOp op,
                                         const Target &target,
                                         llvm::StringRef name) {
  return specializeBinary(op, target, name, false);
}
llvm::Expected<KernelPlan> specializeMul(launch::KernelOp op,
                                         const Target &target,
                                         llvm::StringRef name) {
  return specializeBinary(op, target, name, true);
}

llvm::Expected<KernelPlan> specializeScale(launch::KernelOp op,
                                           const Target &target,
                                           llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &x = l.in(0), &y = l.out(0);
  std::optional<double> factor = l.getFloat("factor");
  l.floatBuf(x, "input") && l.floatBuf(y, "result") &&
      l.require(x.shape() == y.shape(), "'result' must have the input's shape");
  Count n = x.present() ? countOf(x.shape()) : Count();
  l.countOk(n, "input");
  if (!l.ok())
    return l.error();
  int64_t v = mapVec(n, {&x, &y});
  Source src(l, {"Elementwise.cuh"});
  src.kernel(l.fn("main"), kMapThreads, 1,
             "  scaleMap<" + std::to_string(v) + ">(" + x.ptr() + ", " +
                 y.ptr(false) + ", " + n.expr() + ", " +
                 floatLit(static_cast<float>(*factor)) + ");\n");
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(
      invocation(l.fn("main"), mapBlocks(n, kMapThreads * v * kMapItems),
                 DimExpr::fixed(1), DimExpr::fixed(1), kMapThreads, 0));
  return plan;
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeNorm(launch::KernelOp op,
                                          const Target &target,
                                          llvm::StringRef name,
                                          llvm::StringRef family) {
  Launch l(op, target, name);
  const Buf &x = l.in(0);
  const Buf &y = l.out(0);
  Buf gate, w, b;
  std::string kind;
  int64_t groupSize = 0;
  if (family == "rms_norm") {
    w = l.in(1);
    kind = "NormKind::Rms";
  } else if (family == "layer_norm") {
    w = l.in(1);
    b = l.in(2);
    kind = "NormKind::Layer";
  } else {
    gate = l.in(1);
    w = l.in(2);
    kind = l.getBool("norm_before_gate") ? "NormKind::GatedFirst"
                                         : "NormKind::GatedAfter";
    if (std::optional<int64_t> g = l.getInt("group_size"))
      groupSize = *g;
  }
  std::optional<double> eps = l.getFloat("epsilon");
  l.floatBuf(x, "input") && l.floatBuf(y, "result") &&
      l.require(x.rank() >= 1 && x.shape() == y.shape(),
                "'result' must have the input's shape") &&
      l.require(x.dim(-1) >= 0, "'input' last dim must be static");
  if (l.ok() && family != "layer_norm")
    l.floatBuf(w, "weight");
  if (l.ok() && w.present())
    l.floatBuf(w, "weight") &&
        l.require(w.rank() == 1 && w.dim(0) == x.dim(-1),
                  "'weight' must be [hidden]");
  if (l.ok() && b.present())
    l.floatBuf(b, "bias") &&
        l.require(b.rank() == 1 && b.dim(0) == x.dim(-1),
                  "'bias' must be [hidden]");
  if (l.ok() && gate.attr)
    l.floatBuf(gate, "gate") &&
        l.require(gate.shape() == x.shape(), "'gate' must have the input's shape");
  const int64_t H = l.ok() ? x.dim(-1) : 1;
  if (groupSize == 0)
    groupSize = H;
  l.require(groupSize >= 1 && H % groupSize == 0,
            "last dim is not a multiple of group_size");
  Count rows = x.present() ? countOf(x.shape().drop_back()) : Count();
  l.countOk(rows, "input");
  if (!l.ok())
    return l.error();

  const int64_t groups = H / groupSize;
  int64_t limit = 8;
  for (const Buf *bb : std::initializer_list<const Buf *>{&x, &y, &gate, &w, &b})
    if (bb->present())
      limit = std::min<int64_t>(limit, 16 / bb->bytes());
  RowShape s = rowShape(groupSize, limit);
  const std::string tw = w.present() ? w.type : x.type;
  auto str = [](int64_t v) { return std::to_string(v); };
  Source src(l, {"Norms.cuh"});
  std::string body =
      "  rowNorm<" + kind + ", " + x.type + ", " + tw + ", " + y.type + ", " +
      str(groupSize) + ", " + str(groups) + ", " + str(s.team) + ", " +
      str(s.v) + ", " + boolLit(w.present()) + ", " + boolLit(b.present()) +
      ">(" + x.ptr() + ", " + (gate.present() ? gate.ptr() : "static_cast<const " + x.type + " *>(nullptr)") +
      ", " + (w.present() ? w.ptr() : "static_cast<const " + tw + " *>(nullptr)") +
      ", " + (b.present() ? b.ptr() : "static_cast<const " + tw + " *>(nullptr)") +
      ", " + y.ptr(false) + ", " + rows.expr() + " * " + str(groups) + ", " +
      floatLit(static_cast<float>(*eps)) + ");\n";
  src.kernel(l.fn("main"), s.threads, 1, body);
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(invocation(l.fn("main"),
                                        rows.dim(s.teams(), groups),
                                        DimExpr::fixed(1), DimExpr::fixed(1),
                                        s.threads, 0));
  return plan;
}

llvm::Expected<KernelPlan> specializeRmsNorm(launch::KernelOp op,
                                             const Target &t,
                                             llvm::StringRef n) {
  return specializeNorm(op, t, n, "rms_norm");
}
llvm::Expected<KernelPlan> specializeLayerNorm(launch::KernelOp op,
                                               const Target &t,
                                               llvm::StringRef n) {
  return specializeNorm(op, t, n, "layer_norm");
}
llvm::Expected<KernelPlan> specializeGatedRmsNorm(launch::KernelOp op,
                                                  const Target &t,
                                                  llvm::StringRef n) {
  return specializeNorm(op, t, n, "gated_rms_norm");
}

//===----------------------------------------------------------------------===//
// rope, embedding
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeRope(launch::KernelOp op,
                                          const Target &target,
                                          llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &x = l.in(0), &pos = l.in(1), &y = l.out(0);
  std::optional<int64_t> rot = l.getInt("rotary_dim");
  std::optional<double> theta = l.getFloat("theta");
  bool interleaved = l.getBool("interleaved");
  l.floatBuf(x, "input") && l.intBuf(pos, "positions") &&
      l.floatBuf(y, "result") &&
      l.require(x.rank() == 4, "'input' must be [batch, seq, heads, head_dim]") &&
      l.require(x.shape() == y.shape(), "'result' must have the input's shape") &&
      l.require(pos.shape() == x.shape().take_front(2),
                "'positions' must be [batch, seq] of 'input'") &&
      l.require(x.dim(2) >= 0 && x.dim(3) >= 0, "heads and head_dim must be static") &&
      l.require(*rot >= 2 && *rot % 2 == 0 && *rot <= x.dim(3),
                "rotary_dim must be even and in [2, head_dim]") &&
      l.require(*theta > 0, "theta must be positive");
  Count tokens = x.present() ? countOf(x.shape().take_front(2)) : Count();
  l.countOk(tokens, "input");
  if (!l.ok())
    return l.error();
  const int64_t H = x.dim(2), D = x.dim(3), R = *rot, half = R / 2;
  // inv_freq exactly as the CPU reference computes it (fp32 steps).
  std::string table = "__constant__ float " + l.fn("inv_freq") + "[" +
                      std::to_string(half) + "] = {";
  for (int64_t i = 0; i < half; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(R);
    float inv = 1.0f / std::pow(static_cast<float>(*theta), exponent);
    table += (i ? ", " : "") + floatLit(inv);
  }
  table += "};\n\n";
  // V channels per access: 16 bytes where D and the rotary halves (pairs of
  // neighbours when interleaved) allow, so no vector straddles a half. HG
  // heads per thread share the V angles.
  const int64_t v = vecWidth(std::gcd(D, interleaved ? R : half),
                             std::min(16 / x.bytes(), 16 / y.bytes()));
  int64_t hg = 1;
  for (int64_t g = 2; g <= 4; ++g)
    if (H % g == 0)
      hg = g;
  auto str = [](int64_t n) { return std::to_string(n); };
  Source src(l, {"Rope.cuh"});
  src.text += table;
  src.kernel(l.fn("main"), kMapThreads, 1,
             "  ropeMap<" + x.type + ", " + y.type + ", " + str(H) + ", " +
                 str(D) + ", " + str(R) + ", " + boolLit(interleaved) + ", " +
                 str(v) + ", " + str(hg) + ">(" + x.ptr() + ", " + pos.ptr() +
                 ", " + y.ptr(false) + ", " + tokens.expr() + ", " +
                 l.fn("inv_freq") + ");\n");
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(
      invocation(l.fn("main"), tokens.dim(kMapThreads, H / hg * (D / v)),
                 DimExpr::fixed(1), DimExpr::fixed(1), kMapThreads, 0));
  return plan;
}

llvm::Expected<KernelPlan> specializeEmbedding(launch::KernelOp op,
                                               const Target &target,
                                               llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &ids = l.in(0), &table = l.in(1), &y = l.out(0);
  l.intBuf(ids, "ids") && l.floatBuf(table, "table") &&
      l.floatBuf(y, "result") &&
      l.require(table.rank() == 2, "'table' must be [vocab, hidden]") &&
      l.staticDims(table, table.shape(), "table") &&
      l.require(y.rank() == ids.rank() + 1 && y.dim(-1) == table.dim(1),
                "'result' must be ids' shape + [hidden]");
  Count tokens = ids.present() ? countOf(ids.shape()) : Count();
  l.countOk(tokens, "ids");
  if (!l.ok())
    return l.error();
  const int64_t vocab = table.dim(0), hidden = table.dim(1);
  int64_t v = vecWidth(hidden, std::min<int64_t>(16 / table.bytes(),
                                                 16 / y.bytes()));
  Source src(l, {"Embedding.cuh"});
  src.kernel(l.fn("main"), kMapThreads, 1,
             "  embeddingGather<" + table.type + ", " + y.type + ", " +
                 std::to_string(vocab) + ", " + std::to_string(hidden) + ", " +
                 std::to_string(v) + ">(" + ids.ptr() + ", " + table.ptr() +
                 ", " + y.ptr(false) + ", " + tokens.expr() + ");\n");
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(invocation(
      l.fn("main"), tokens.dim(kMapThreads * kMapItems, hidden / v),
      DimExpr::fixed(1), DimExpr::fixed(1), kMapThreads, 0));
  return plan;
}

//===----------------------------------------------------------------------===//
// split, concat, merge
//===----------------------------------------------------------------------===//

/// outer (dynamic) x [axis dim] x inner (static) view of a shape.
struct AxisView {
  Count outer;
  int64_t axisDim = 0, inner = 1;
};

bool axisView(Launch &l, const Buf &b, int64_t axis, AxisView &v,
              llvm::StringRef what) {
  if (!l.require(axis >= 0 && axis < b.rank(),
                 "attribute 'axis' is out of range for '" + what + "'"))
    return false;
  v.outer = countOf(b.shape().take_front(axis));
  v.axisDim = b.dim(axis);
  v.inner = 1;
  for (int64_t d : b.shape().drop_front(axis + 1)) {
    if (!l.require(d >= 0, "'" + what + "' dims after the axis must be static"))
      return false;
    v.inner *= d;
  }
  return l.require(v.axisDim >= 0, "'" + what + "' axis dim must be static") &&
         l.countOk(v.outer, what);
}

llvm::Expected<KernelPlan> specializeSplitConcat(launch::KernelOp op,
                                                 const Target &target,
                                                 llvm::StringRef name,
                                                 bool split) {
  Launch l(op, target, name);
  std::optional<int64_t> axis = l.getInt("axis");
  const llvm::SmallVector<Buf> &pieces = split ? l.outs : l.ins;
  const Buf &whole = split ? l.in(0) : l.out(0);
  AxisView view;
  if (l.ok() && l.floatBuf(whole, split ? "input" : "result"))
    axisView(l, whole, *axis, view, split ? "input" : "result");
  l.require(!pieces.empty(), "needs at least one piece");
  llvm::SmallVector<int64_t> sizes;
  if (split) {
    if (auto s = llvm::dyn_cast_or_null<mlir::DenseI64ArrayAttr>(l.attr("sizes")))
      sizes.assign(s.asArrayRef().begin(), s.asArrayRef().end());
    l.require(sizes.size() == pieces.size(),
              "attribute 'sizes' must have one entry per result");
  }
  int64_t total = 0;
  for (size_t i = 0; i < pieces.size() && l.ok(); ++i) {
    const Buf &piece = pieces[i];
    std::string what = (split ? "result #" : "input #") + std::to_string(i);
    if (!l.floatBuf(piece, what) ||
        !l.require(piece.rank() == whole.rank(), "'" + what + "' rank differs"))
      break;
    for (int64_t d = 0; d < whole.rank(); ++d)
      if (d != *axis)
        l.require(piece.dim(d) == whole.dim(d),
                  "'" + what + "' dim " + std::to_string(d) + " differs");
    if (!split)
      sizes.push_back(piece.dim(*axis));
    l.require(piece.dim(*axis) == sizes[i] && sizes[i] > 0,
              "'" + what + "' axis size does not match");
    total += sizes[i];
  }
  if (l.ok())
    l.require(total == view.axisDim, "piece sizes do not add up to the axis");
  if (!l.ok())
    return l.error();

  int64_t limit = 16 / whole.bytes();
  for (const Buf &p : pieces)
    limit = std::min<int64_t>(limit, 16 / p.bytes());
  int64_t v = limit;
  for (int64_t s : sizes)
    v = vecWidth(s * view.inner, v);
  const int64_t row = view.axisDim * view.inner;
  auto str = [](int64_t x) { return std::to_string(x); };

  std::string body;
  for (size_t i = 0; i < pieces.size(); ++i)
    body += "  auto *piece" + str(i) + " = " + pieces[i].ptr(!split) + ";\n";
  body += "  auto *whole = " + whole.ptr(split) + ";\n";
  body += "  chunkMap<" + str(v) + ", " + str(row) + ">(" + view.outer.expr() +
          ", [&](int64_t o, int r) {\n    float v[" + str(v) + "];\n";
  if (split)
    body += "    loadVec<" + str(v) + ">(whole + o * " + str(row) + " + r, v);\n";
  int64_t off = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    body += std::string("    ") + (split ? "splitPiece<" : "concatPiece<") +
            str(v) + ", " + str(view.inner) + ", " + str(off) + ", " +
            str(sizes[i]) + ">(piece" + str(i) + ", o, r, v);\n";
    off += sizes[i];
  }
  if (!split)
    body += "    storeVec<" + str(v) + ">(whole + o * " + str(row) + " + r, v);\n";
  body += "  });\n";
  Source src(l, {"Structure.cuh"});
  src.kernel(l.fn("main"), kMapThreads, 1, body);
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(invocation(
      l.fn("main"), view.outer.dim(kMapThreads * kMapItems, row / v),
      DimExpr::fixed(1), DimExpr::fixed(1), kMapThreads, 0));
  return plan;
}

llvm::Expected<KernelPlan> specializeSplit(launch::KernelOp op,
                                           const Target &t, llvm::StringRef n) {
  return specializeSplitConcat(op, t, n, true);
}
llvm::Expected<KernelPlan> specializeConcat(launch::KernelOp op,
                                            const Target &t,
                                            llvm::StringRef n) {
  return specializeSplitConcat(op, t, n, false);
}

/// gather_last: [B, T, H] -> [B, 1, H], each sequence's last row; the
/// prefill_last entry runs its tail (final norm, lm_head) on these rows.
llvm::Expected<KernelPlan> specializeGatherLast(launch::KernelOp op,
                                                const Target &target,
                                                llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &x = l.in(0), &y = l.out(0);
  if (l.floatBuf(x, "input") && l.floatBuf(y, "result") &&
      l.require(l.ins.size() == 1 && l.outs.size() == 1,
                "takes one input and one result") &&
      l.require(x.rank() == 3 && x.dim(0) == launch::kDimBatch &&
                    x.dim(1) == launch::kDimTokens && x.dim(2) > 0,
                "'input' must be [B, T, H]") &&
      l.require(y.rank() == 3 && y.dim(0) == launch::kDimBatch &&
                    y.dim(1) == 1 && y.dim(2) == x.dim(2),
                "'result' must be [B, 1, H] with the input's H"))
    l.require(x.type == y.type, "'input' and 'result' types differ");
  if (!l.ok())
    return l.error();
  const int64_t hidden = x.dim(2);
  const int64_t v = vecWidth(hidden, 16 / x.bytes());
  auto str = [](int64_t n) { return std::to_string(n); };
  Source src(l, {"Structure.cuh"});
  src.kernel(l.fn("main"), kMapThreads, 1,
             "  gatherLast<" + str(v) + ", " + str(hidden) + ">(" + x.ptr() +
                 ", " + y.ptr(false) + ", p.batch, p.tokens);\n");
  Count rows = countOf({launch::kDimBatch});
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(
      invocation(l.fn("main"), rows.dim(kMapThreads * kMapItems, hidden / v),
                 DimExpr::fixed(1), DimExpr::fixed(1), kMapThreads, 0));
  return plan;
}

/// greedy_next: [B, 1, V] logits -> each sequence's argmax into input_ids
/// [B, 1], positions [B, 1] and cache_position [B] advanced by one in place
/// (the end of the decode_greedy entry). One block per sequence.
llvm::Expected<KernelPlan> specializeGreedyNext(launch::KernelOp op,
                                                const Target &target,
                                                llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &logits = l.in(0);
  if (l.require(l.ins.size() == 1 && l.outs.size() == 3,
                "takes the logits and updates input_ids, positions and "
                "cache_position") &&
      l.floatBuf(logits, "logits") &&
      l.require(logits.rank() == 3 && logits.dim(0) == launch::kDimBatch &&
                    logits.dim(1) == launch::kDimTokens && logits.dim(2) > 0,
                "'logits' must be [B, T, V] with a static V") &&
      l.intBuf(l.out(0), "input_ids") && l.intBuf(l.out(1), "positions") &&
      l.intBuf(l.out(2), "cache_position"))
    l.require(l.out(0).rank() == 2 && l.out(1).rank() == 2 &&
                  l.out(2).rank() == 1,
              "input_ids and positions must be [B, T], cache_position [B]");
  if (!l.ok())
    return l.error();
  const int64_t vocab = logits.dim(2);
  const int64_t v = vecWidth(vocab, 16 / logits.bytes());
  constexpr int64_t kThreads = 512;
  auto str = [](int64_t n) { return std::to_string(n); };
  Source src(l, {"Sampling.cuh"});
  src.kernel(l.fn("main"), kThreads, 1,
             "  greedyNext<" + str(vocab) + ", " + str(v) + ", " +
                 str(kThreads) + ">(" + logits.ptr() + ", " +
                 l.out(0).ptr(false) + ", " + l.out(1).ptr(false) + ", " +
                 l.out(2).ptr(false) + ");\n");
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(invocation(
      l.fn("main"), countOf({launch::kDimBatch}).dim(1), DimExpr::fixed(1),
      DimExpr::fixed(1), kThreads, 0));
  return plan;
}

//===----------------------------------------------------------------------===//
// causal_conv1d
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeConv(launch::KernelOp op,
                                          const Target &target,
                                          llvm::StringRef name) {
  Launch l(op, target, name);
  const Buf &x = l.in(0), &w = l.in(1), &bias = l.in(2), &state = l.in(3);
  // The output, or the column pieces of the split it absorbed
  // (passes/EpilogueFusion.h), then the updated state.
  const size_t pieces =
      l.outs.size() - (state.present() && !l.outs.empty() ? 1 : 0);
  const Buf &y = l.out(0), &newState = l.out(pieces);
  std::optional<int64_t> width = l.getInt("kernel_size");
  std::string actName = l.getString("activation");
  l.require(actName == "identity" || actName == "silu",
            "activation '" + actName +
                "' is not supported; use identity or silu") &&
      l.floatBuf(x, "input") && l.floatBuf(w, "weight") &&
      l.floatBuf(y, "output") &&
      l.require(x.rank() == 3, "'input' must be [batch, seq, channels]") &&
      l.require(x.dim(2) >= 0, "channels must be static") &&
      l.require(*width >= 1, "kernel_size must be at least 1") &&
      l.require(w.rank() == 2 && w.dim(0) == x.dim(2) && w.dim(1) == *width,
                "'weight' must be [channels, kernel_size]") &&
      l.require(pieces >= 1, "the launch has no output");
  int64_t columns = 0;
  for (size_t i = 0; l.ok() && i < pieces; ++i) {
    const Buf &p = l.out(i);
    l.floatBuf(p, "output") &&
        l.require(p.type == y.type, "the output pieces must share a type") &&
        l.require(p.rank() == 3 &&
                      p.shape().take_front(2) == x.shape().take_front(2),
                  "an output piece must be [batch, seq, width] of the "
                  "input's batch and seq") &&
        l.require(p.dim(2) >= 1, "an output piece's width must be static");
    columns += p.dim(2);
  }
  if (l.ok())
    l.require(columns == x.dim(2), "the output pieces' widths add up to " +
                                       std::to_string(columns) +
                                       ", not the input's " +
                                       std::to_string(x.dim(2)) + " channels");
  if (l.ok() && bias.present())
    l.floatBuf(bias, "bias") &&
        l.require(bias.rank() == 1 && bias.dim(0) == x.dim(2),
                  "'bias' must be [channels]");
  if (l.ok() && state.present())
    l.floatBuf(state, "conv_state") && l.floatBuf(newState, "updated state") &&
        l.require(state.rank() == 3 && state.dim(0) == x.dim(0) &&
                      state.dim(1) == x.dim(2) && state.dim(2) == *width - 1,
                  "'conv_state' must be [batch, channels, kernel_size - 1]") &&
        l.require(newState.shape() == state.shape() &&
                      newState.type == state.type,
                  "'updated state' must match 'conv_state'");
  Count batch = x.present() ? countOf(x.shape().take_front(1)) : Count();
  Count seq = x.present() ? countOf(x.shape().slice(1, 1)) : Count();
  l.countOk(batch, "input");
  l.countOk(seq, "input");
  if (!l.ok())
    return l.error();
  const int64_t C = x.dim(2), W = *width;
  // A thread: V channels (one 16-byte access where C allows) by a chunk of
  // tt tokens, loaded u at a time; 64 threads waste few lanes at the
  // Mamba2 widths (4352 / 8 = 544 groups: 9 blocks). 48-token chunks
  // measured fastest (H200, bamba-1.5b, T = 4096: 0.0446 ms against 0.0564
  // for 32 and 0.0532 for 64; test/gpu/small_kernels_bench.cu): at 6 blocks
  // of 64 threads per SM (153 registers) the grid is about one wave.
  // One vector of V channels lies in one piece: V divides every width.
  int64_t v = vecWidth(C, std::min(16 / x.bytes(), 16 / y.bytes()));
  for (size_t i = 0; i < pieces; ++i)
    while (l.out(i).dim(2) % v)
      v /= 2;
  const int64_t threads = 64, u = 8;
  const int64_t tt = (std::max<int64_t>(48, W - 1) + u - 1) / u * u;
  auto str = [](int64_t n) { return std::to_string(n); };
  const std::string ts = state.present() ? state.type : "float";
  std::string piecesType = "ConvPieces<" + y.type, piecePtrs;
  for (size_t i = 0; i < pieces; ++i) {
    piecesType += ", " + str(l.out(i).dim(2));
    piecePtrs += (i ? ", " : "") + l.out(i).ptr(false);
  }
  piecesType += ">";
  Source src(l, {"Conv.cuh"});
  std::string body =
      "  const " + piecesType + " out{{" + piecePtrs + "}};\n" +
      "  causalConv1d<" + x.type + ", " + w.type + ", " + ts + ", " +
      piecesType + ", " + str(C) + ", " + str(W) + ", " + str(v) + ", " +
      str(tt) + ", " + str(u) + ", " + boolLit(bias.present()) + ", " +
      boolLit(state.present()) + ", " +
      (actName == "silu" ? "Act::Silu" : "Act::Identity") + ">(" + x.ptr() +
      ", " + w.ptr() + ", " +
      (bias.present() ? bias.ptr()
                      : "static_cast<const " + w.type + " *>(nullptr)") +
      ", " +
      (state.present() ? state.ptr() : "static_cast<const float *>(nullptr)") +
      ", " +
      (state.present() ? newState.ptr(false)
                       : "static_cast<float *>(nullptr)") +
      ", out, static_cast<int>(" + seq.expr() + "));\n";
  // Six blocks an SM, as the kernel ran with one output (164 registers):
  // the pieces' run-time row stride took it to 188 registers and five
  // blocks, 0.54 -> 0.73 ms over the bamba-1.5b prefill's 20 convs (H200);
  // bounded, 168 and no spills, 0.53 ms. HIP reads the bound's second
  // number as waves per EU (80 VGPRs and spills on gfx942): none there.
  src.kernel(l.fn("main"), threads, l.target.isHip() ? 1 : 6, body);
  KernelPlan plan;
  plan.source = std::move(src.text);
  plan.invocations.push_back(
      invocation(l.fn("main"), DimExpr::fixed((C / v + threads - 1) / threads),
                 seq.dim(tt), batch.dim(1), threads, 0));
  return plan;
}

} // namespace
} // namespace dense

Specializer findDenseSpecializer(llvm::StringRef family) {
  using namespace dense;
  return llvm::StringSwitch<Specializer>(family)
      .Case("linear", &specializeLinear)
      .Case("moe", &specializeMoE)
      .Case("activation", &specializeActivation)
      .Case("add", &specializeAdd)
      .Case("mul", &specializeMul)
      .Case("scale", &specializeScale)
      .Case("rms_norm", &specializeRmsNorm)
      .Case("layer_norm", &specializeLayerNorm)
      .Case("gated_rms_norm", &specializeGatedRmsNorm)
      .Case("rope", &specializeRope)
      .Case("embedding", &specializeEmbedding)
      .Case("split", &specializeSplit)
      .Case("concat", &specializeConcat)
      .Case("gather_last", &specializeGatherLast)
      .Case("greedy_next", &specializeGreedyNext)
      .Case("merge", &specializeMerge)
      .Case("causal_conv1d", &specializeConv)
      .Default(nullptr);
}

} // namespace braid::gpu
