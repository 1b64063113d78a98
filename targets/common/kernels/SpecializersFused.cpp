//===- SpecializersFused.cpp - GPU plans of fused_elementwise -------------===//
//
// One kernel per launch, specialized to its region: the expression program
// (ElementwiseProgram.h) is printed as straight-line C++ over f32 values,
// loop sizes and input strides are constants, and only B and T come from
// BraidKernelParams.
//
// Every activation operand is [B, T, ...] with its dims 0 and 1 on loops 0
// and 1 (the importer never broadcasts across batch or sequence), so an
// element's offset is `token * perToken + inner offset`, with the inner
// offset a constant-folded function of the static loop indices. Weights
// read static loops only.
//
// Without reduction: a grid-stride map over the result, V elements per
// thread; inputs read with the result's own layout (same shape, identity
// map) and the result use 16-byte vector accesses (V = 4 f32 / 8 bf16 when
// the row length allows), the others per element. With a reduction: one
// warp (wave) per result element, lanes stride over the reduced elements
// and combine with shuffles (FusedElementwise.cuh, Portability.cuh).
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/ElementwiseProgram.h"
#include "targets/common/kernels/Specializers.h"

#include "dialects/Launch/LaunchOps.h"
#include "runtime/include/braid/kernel_abi.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>

namespace braid::gpu {

namespace {

using launch::BufferAttr;

constexpr int64_t kThreads = 256;
/// Items per thread a map's grid is sized for (grid-stride beyond).
constexpr int64_t kItems = 4;

std::string str(int64_t v) { return std::to_string(v); }

/// The C++ expression of one instruction over earlier values `v<k>`.
std::string expression(const ewp::Instr &ins) {
  auto a = [&](int k) { return "v" + str(ins.args[k]); };
  switch (ins.op) {
  case ewp::Op::Cst:
    return floatLit(ins.value);
  case ewp::Op::Neg:
    return "-" + a(0);
  case ewp::Op::Abs:
    return "fabsf(" + a(0) + ")";
  case ewp::Op::Exp:
    return "expf(" + a(0) + ")";
  case ewp::Op::Log:
    return "logf(" + a(0) + ")";
  case ewp::Op::Log1p:
    return "log1pf(" + a(0) + ")";
  case ewp::Op::Sqrt:
    return "sqrtf(" + a(0) + ")";
  case ewp::Op::Rsqrt:
    return "1.0f / sqrtf(" + a(0) + ")";
  case ewp::Op::Tanh:
    return "tanhf(" + a(0) + ")";
  case ewp::Op::Erf:
    return "erff(" + a(0) + ")";
  case ewp::Op::IsNan:
    return "ew::flag(" + a(0) + " != " + a(0) + ")";
  case ewp::Op::Add:
    return a(0) + " + " + a(1);
  case ewp::Op::Sub:
    return a(0) + " - " + a(1);
  case ewp::Op::Mul:
    return a(0) + " * " + a(1);
  case ewp::Op::Div:
    return a(0) + " / " + a(1);
  case ewp::Op::Pow:
    return "powf(" + a(0) + ", " + a(1) + ")";
  case ewp::Op::Max:
    return "ew::maxNan(" + a(0) + ", " + a(1) + ")";
  case ewp::Op::Min:
    return "ew::minNan(" + a(0) + ", " + a(1) + ")";
  case ewp::Op::MaxNum:
    return "fmaxf(" + a(0) + ", " + a(1) + ")";
  case ewp::Op::MinNum:
    return "fminf(" + a(0) + ", " + a(1) + ")";
  case ewp::Op::Lt:
    return "ew::flag(" + a(0) + " < " + a(1) + ")";
  case ewp::Op::Le:
    return "ew::flag(" + a(0) + " <= " + a(1) + ")";
  case ewp::Op::Gt:
    return "ew::flag(" + a(0) + " > " + a(1) + ")";
  case ewp::Op::Ge:
    return "ew::flag(" + a(0) + " >= " + a(1) + ")";
  case ewp::Op::Eq:
    return "ew::flag(" + a(0) + " == " + a(1) + ")";
  case ewp::Op::Ne:
    return "ew::flag(" + a(0) + " != " + a(1) + ")";
  case ewp::Op::Select:
    return "(" + a(0) + " != 0.0f ? " + a(1) + " : " + a(2) + ")";
  case ewp::Op::In:
    break;
  }
  return "";
}

/// One operand or the result as the kernel sees it.
struct Operand {
  BufferAttr attr;
  int index = 0;
  std::string type;            // C++ storage type
  bool activation = false;     // [B, T, ...]
  int64_t perToken = 1;        // activation: elements per token
  std::vector<int64_t> stride; // per loop (0: not read), loops >= 2 only
  bool contiguous = false;     // reads the result's own layout
};

std::string storageType(BufferAttr b) {
  mlir::Type et = b.getElementType();
  if (et.isF32())
    return "float";
  if (et.isBF16())
    return "braid::dev::bf16";
  return "";
}

llvm::Expected<KernelPlan> specializeFused(launch::KernelOp op,
                                           const Target &target,
                                           llvm::StringRef name) {
  (void)target;
  std::string problem;
  auto require = [&](bool cond, const llvm::Twine &what) {
    if (!cond && problem.empty())
      problem = what.str();
    return cond && problem.empty();
  };
  auto error = [&]() { return launchError(op, problem); };
  mlir::DictionaryAttr attrs = op.getAttrs();
  auto ints = [&](llvm::StringRef key) -> std::vector<int64_t> {
    if (auto a = attrs.getAs<mlir::DenseI64ArrayAttr>(key))
      return std::vector<int64_t>(a.asArrayRef());
    require(false, "attribute '" + key + "' is missing or not an i64 array");
    return {};
  };
  auto text = [&](llvm::StringRef key, llvm::StringRef dflt) -> std::string {
    if (auto a = attrs.getAs<mlir::StringAttr>(key))
      return a.getValue().str();
    return dflt.str();
  };
  std::vector<int64_t> loops = ints("loop_sizes");
  std::vector<int64_t> maps = ints("input_maps");
  std::vector<int64_t> reductions = ints("reduction_dims");
  std::string reduceName = text("reduce", "none");
  double init = 0.0;
  if (auto f = attrs.getAs<mlir::FloatAttr>("init"))
    init = f.getValueAsDouble();
  ewp::Program program;
  std::string parseError;
  bool parsed = ewp::parseProgram(text("program", ""), program, parseError);
  require(parsed, "'program': " + parseError);
  ewp::Reduce reduce = ewp::Reduce::None;
  require(ewp::parseReduce(reduceName, reduce),
          "'reduce' is '" + reduceName + "'");
  const int64_t numLoops = static_cast<int64_t>(loops.size());
  require(numLoops >= 2 && loops[0] == -1 && loops[1] == -1,
          "loops 0 and 1 must be batch and sequence (dynamic)");
  require(op.getResults().size() == 1, "expects one result");
  if (!problem.empty())
    return error();

  std::vector<bool> reduced(numLoops, false);
  for (int64_t d : reductions)
    if (require(d >= 2 && d < numLoops && loops[d] > 0,
                "reduction loop " + str(d) + " is not a static feature loop"))
      reduced[d] = true;

  // Operands: strides per static loop.
  std::vector<Operand> inputs;
  size_t next = 0;
  int index = 0;
  for (mlir::Attribute a : op.getOperands()) {
    Operand in;
    in.attr = llvm::dyn_cast<BufferAttr>(a);
    in.index = index++;
    if (!require(static_cast<bool>(in.attr),
                 "input " + str(in.index) + " is absent"))
      break;
    in.type = storageType(in.attr);
    require(!in.type.empty(),
            "input " + str(in.index) + " must be an f32 or bf16 buffer");
    llvm::ArrayRef<int64_t> shape = in.attr.getShape();
    in.activation = shape.size() >= 2 && shape[0] == launch::kDimBatch &&
                    (shape[1] == launch::kDimTokens || shape[1] == 1);
    in.stride.assign(numLoops, 0);
    int64_t stride = 1;
    std::vector<int64_t> dimStride(shape.size(), 0);
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
      dimStride[d] = stride;
      if (shape[d] > 0)
        stride *= shape[d];
    }
    if (!require(next + shape.size() <= maps.size(),
                 "'input_maps' is shorter than the inputs' ranks"))
      break;
    for (size_t d = 0; d < shape.size(); ++d) {
      int64_t loop = maps[next++];
      bool leading = in.activation && d < 2;
      if (leading) {
        require(loop == int64_t(d),
                "input " + str(in.index) + " dim " + str(d) +
                    " (batch or sequence) must read loop " + str(d));
        continue;
      }
      require(shape[d] >= 0, "input " + str(in.index) + " dim " + str(d) +
                                 " is symbolic; only dims 0 and 1 may be");
      if (loop == -1)
        continue;
      if (require(loop >= 2 && loop < numLoops,
                  "input " + str(in.index) + " dim " + str(d) + " reads loop " +
                      str(loop) + "; weights read static loops only"))
        in.stride[loop] += dimStride[d];
    }
    in.perToken = in.activation ? stride : 0;
    inputs.push_back(in);
  }
  require(next == maps.size(),
          "'input_maps' has more entries than the inputs' ranks");
  require(program.numInputsRead <= int(inputs.size()),
          "'program' reads input " + str(program.numInputsRead - 1) + " of " +
              str(inputs.size()));
  Operand out;
  if (problem.empty()) {
    out.attr = llvm::dyn_cast<BufferAttr>(op.getResults()[0]);
    out.index = index;
    out.type = out.attr ? storageType(out.attr) : "";
    require(!out.type.empty(), "the result must be an f32 or bf16 buffer");
  }
  require(index + 1 <= BRAID_MAX_KERNEL_BUFFERS,
          "the launch has " + str(index + 1) +
              " buffers; kernels take at most " +
              str(BRAID_MAX_KERNEL_BUFFERS));
  if (!problem.empty())
    return error();

  // The result: the parallel loops, [B, T, static...].
  llvm::ArrayRef<int64_t> outShape = out.attr.getShape();
  std::vector<int64_t> parallel; // static parallel loops, in order
  for (int64_t l = 2; l < numLoops; ++l)
    if (!reduced[l])
      parallel.push_back(l);
  require(outShape.size() == parallel.size() + 2 &&
              outShape[0] == launch::kDimBatch,
          "the result must be [batch, seq] then the parallel loops");
  int64_t inner = 1; // result elements per token
  for (size_t k = 0; problem.empty() && k < parallel.size(); ++k) {
    require(outShape[k + 2] == loops[parallel[k]], "result dim " + str(k + 2) +
                                                       " does not match loop " +
                                                       str(parallel[k]));
    inner *= loops[parallel[k]];
  }
  int64_t reducedCount = 1;
  std::vector<int64_t> reductionLoops;
  for (int64_t l = 2; l < numLoops; ++l)
    if (reduced[l]) {
      reductionLoops.push_back(l);
      reducedCount *= loops[l];
    }
  if (!problem.empty())
    return error();
  // Inputs read in the result's layout take vector loads.
  for (Operand &in : inputs) {
    if (!reductionLoops.empty() || !in.activation || in.perToken != inner)
      continue;
    int64_t stride = 1;
    bool same = true;
    for (size_t k = parallel.size(); k-- > 0;) {
      same &= in.stride[parallel[k]] == stride;
      stride *= loops[parallel[k]];
    }
    in.contiguous = same;
  }

  // B * T: the tokens of the call (T is 1 in prefill_last's tail).
  bool perSeqToken = outShape[1] == launch::kDimTokens;
  std::string tokens =
      std::string("(p.batch") + (perSeqToken ? " * p.tokens)" : ")");
  auto ptr = [](const Operand &o, bool isConst) {
    return "static_cast<" + std::string(isConst ? "const " : "") + o.type +
           " *>(p.buffers[" + str(o.index) + "])";
  };

  std::string body;
  for (const Operand &in : inputs)
    body += "  const " + in.type + " *__restrict__ in" + str(in.index) + " = " +
            ptr(in, true) + ";\n";
  body += "  " + out.type + " *__restrict__ out = " + ptr(out, false) + ";\n";
  // Loop indices of the static loops, from `q` (parallel, within a token)
  // and `r` (reduction).
  auto decompose = [&](const std::vector<int64_t> &ls, const std::string &q,
                       const std::string &indent) {
    std::string s;
    int64_t div = 1;
    for (size_t k = ls.size(); k-- > 0;) {
      s += indent + "const int64_t i" + str(ls[k]) + " = " + q + " / " +
           str(div) + " % " + str(loops[ls[k]]) + ";\n";
      div *= loops[ls[k]];
    }
    return s;
  };
  // The program, reading input K at token `tok` and the loop indices; for
  // contiguous inputs element j of a vector `x<K>`.
  auto emitProgram = [&](const std::string &indent, bool vectorLane) {
    std::string s;
    for (size_t k = 0; k < program.code.size(); ++k) {
      const ewp::Instr &ins = program.code[k];
      std::string value;
      if (ins.op == ewp::Op::In) {
        const Operand &in = inputs[ins.input];
        if (vectorLane && in.contiguous) {
          value = "x" + str(in.index) + "[j]";
        } else {
          std::string offset =
              in.activation ? "tok * " + str(in.perToken) : std::string("0");
          for (int64_t l = 2; l < numLoops; ++l)
            if (in.stride[l])
              offset += " + i" + str(l) + " * " + str(in.stride[l]);
          value = "toFloat(in" + str(in.index) + "[" + offset + "])";
        }
      } else {
        value = expression(ins);
      }
      s += indent + "const float v" + str(k) + " = " + value + ";\n";
    }
    return s;
  };
  const std::string last = "v" + str(program.code.size() - 1);

  KernelPlan plan;
  plan.source =
      "// Generated by braid (targets/common/kernels/"
      "SpecializersFused.cpp)\n// family: fused_elementwise\n"
      "// program: " +
      text("program", "") + "\n// reduce: " + reduceName +
      "\n#include \"targets/common/kernels/FusedElementwise.cuh\"\n\n";
  const std::string fn = name.str() + "_main";
  std::string kernel;
  KernelInvocation inv;
  inv.function = fn;
  inv.block = {kThreads, 1, 1};
  auto blocksOver = [&](int64_t perToken, int64_t perBlock) {
    DimExpr d;
    (perSeqToken ? d.perBatchToken : d.perBatch) = perToken;
    d.divisor = perBlock;
    return d;
  };
  if (reductionLoops.empty()) {
    // V: 16 bytes of the narrowest contiguous operand, dividing the row.
    int64_t limit = 16 / (out.type == "float" ? 4 : 2);
    for (const Operand &in : inputs)
      if (in.contiguous)
        limit = std::min<int64_t>(limit, 16 / (in.type == "float" ? 4 : 2));
    int64_t v = 1;
    while (v * 2 <= limit && inner % (v * 2) == 0)
      v *= 2;
    body += "  const int64_t n = " + tokens + " * " + str(inner) + ";\n";
    body += "  for (int64_t e = globalThreadId() * " + str(v) +
            "; e < n; e += globalThreadCount() * " + str(v) + ") {\n";
    body += "    const int64_t tok = e / " + str(inner) + ";\n    (void)tok;\n";
    body += "    const int64_t q0 = e % " + str(inner) + ";\n";
    for (const Operand &in : inputs)
      if (in.contiguous)
        body += "    float x" + str(in.index) + "[" + str(v) +
                "];\n    loadVec<" + str(v) + ">(in" + str(in.index) +
                " + e, x" + str(in.index) + ");\n";
    body += "    float y[" + str(v) + "];\n";
    body += "#pragma unroll\n    for (int j = 0; j < " + str(v) +
            "; ++j) {\n      const int64_t q = q0 + j;\n      (void)q;\n";
    body += decompose(parallel, "q", "      ");
    body += emitProgram("      ", true);
    body += "      y[j] = " + last + ";\n    }\n";
    body += "    storeVec<" + str(v) + ">(out + e, y);\n  }\n";
    inv.grid = {blocksOver(inner, kThreads * v * kItems), DimExpr::fixed(1),
                DimExpr::fixed(1)};
  } else {
    static const char *kinds[] = {"", "ew::Reduce::Sum", "ew::Reduce::Max",
                                  "ew::Reduce::Min", "ew::Reduce::Prod"};
    std::string kind = kinds[static_cast<int>(reduce)];
    body += "  const int64_t n = " + tokens + " * " + str(inner) + ";\n";
    body += "  const int64_t warps = blockSize() / kWarpSize;\n";
    body += "  for (int64_t o = int64_t(blockIdX()) * warps + warpId(); o < n; "
            "o += int64_t(gridDimX()) * warps) {\n";
    body += "    const int64_t tok = o / " + str(inner) + ";\n";
    body += "    const int64_t q = o % " + str(inner) + ";\n    (void)q;\n";
    body += decompose(parallel, "q", "    ");
    body += "    float acc = " + floatLit(static_cast<float>(init)) + ";\n";
    body += "    for (int64_t r = laneId(); r < " + str(reducedCount) +
            "; r += kWarpSize) {\n";
    body += decompose(reductionLoops, "r", "      ");
    body += emitProgram("      ", false);
    body +=
        "      acc = ew::combine<" + kind + ">(acc, " + last + ");\n    }\n";
    body += "    acc = ew::warpCombine<" + kind + ">(acc);\n";
    body += "    if (laneId() == 0)\n      out[o] = fromFloat<" + out.type +
            ">(acc);\n  }\n";
    // One warp per result element: blocks of kThreads / warp elements.
    int64_t perBlock = kThreads / target.warpSize();
    inv.grid = {blocksOver(inner, perBlock), DimExpr::fixed(1),
                DimExpr::fixed(1)};
  }
  plan.source += "extern \"C\" __global__ void __launch_bounds__(" +
                 str(kThreads) + ", 1)\n" + fn +
                 "(BraidKernelParams p) {\n  BRAID_KERNEL_PROLOGUE();\n"
                 "  using namespace braid::dev;\n" +
                 body + "}\n";
  plan.invocations.push_back(inv);
  return plan;
}

} // namespace

Specializer findFusedSpecializer(llvm::StringRef family) {
  return family == "fused_elementwise" ? &specializeFused : nullptr;
}

} // namespace braid::gpu
