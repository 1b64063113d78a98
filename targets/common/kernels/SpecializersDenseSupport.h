//===- SpecializersDenseSupport.h - shared by the dense specializers -----===//
//
// What SpecializersDense.cpp (the element-wise, norm, rope, embedding,
// structural and conv families) and SpecializersGemm.cpp (linear, moe,
// merge) both use: the B / T counts of a launch's dims, literals, the
// launch reader (Launch, Buf), the translation-unit builder (Source), the
// geometry helpers, the row-kernel and map shapes. Internal to those two
// files (namespace braid::gpu::dense).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_SPECIALIZERSDENSESUPPORT_H
#define BRAID_TARGETS_COMMON_KERNELS_SPECIALIZERSDENSESUPPORT_H

#include "targets/common/kernels/Specializers.h"

#include "dialects/Launch/LaunchOps.h"
#include "runtime/include/braid/kernel_abi.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <optional>

namespace braid::gpu::dense {

using launch::BufferAttr;
using launch::BufferKind;

inline constexpr const char *kBf16Type = "braid::dev::bf16";

//===----------------------------------------------------------------------===//
// Counts in terms of B and T
//===----------------------------------------------------------------------===//

/// factor * (B if b) * (T if t): the size of a set of dims.
struct Count {
  int64_t factor = 1;
  bool b = false, t = false;
  bool ok = true; // false: uses S, or a symbol twice

  bool isStatic() const { return !b && !t; }
  /// An int64_t C++ expression in terms of `p` (BraidKernelParams).
  std::string expr() const {
    std::string s = "(static_cast<int64_t>(" + std::to_string(factor) + ")";
    if (b)
      s += " * p.batch";
    if (t)
      s += " * p.tokens";
    return s + ")";
  }
  /// ceil(count * mul / divisor) as a DimExpr.
  DimExpr dim(int64_t divisor, int64_t mul = 1) const {
    DimExpr d;
    int64_t f = factor * mul;
    if (b && t)
      d.perBatchToken = f;
    else if (b)
      d.perBatch = f;
    else if (t)
      d.perToken = f;
    else
      d.constant = f;
    d.divisor = std::max<int64_t>(1, divisor);
    return d;
  }
};

inline Count countOf(llvm::ArrayRef<int64_t> dims) {
  Count c;
  for (int64_t d : dims) {
    if (d == launch::kDimBatch) {
      c.ok &= !c.b;
      c.b = true;
    } else if (d == launch::kDimTokens) {
      c.ok &= !c.t;
      c.t = true;
    } else if (d < 0) {
      c.ok = false;
    } else {
      c.factor *= d;
    }
  }
  return c;
}

//===----------------------------------------------------------------------===//
// Literals
//===----------------------------------------------------------------------===//

inline std::string boolLit(bool v) { return v ? "true" : "false"; }

inline int64_t nextPow2(int64_t v) {
  int64_t p = 1;
  while (p < v)
    p <<= 1;
  return p;
}

/// Largest power of two <= limit that divides n (>= 1).
inline int64_t vecWidth(int64_t n, int64_t limit) {
  int64_t v = 1;
  while (v * 2 <= limit && n % (v * 2) == 0)
    v *= 2;
  return v;
}

inline std::optional<std::string> activationEnum(llvm::StringRef kind) {
  std::optional<std::string> e =
      llvm::StringSwitch<std::optional<std::string>>(kind)
          .Case("identity", "Identity")
          .Case("silu", "Silu")
          .Case("gelu", "Gelu")
          .Case("gelu_tanh", "GeluTanh")
          .Case("relu", "Relu")
          .Case("relu2", "Relu2")
          .Case("sigmoid", "Sigmoid")
          .Case("softplus", "Softplus")
          .Case("tanh", "Tanh")
          .Default(std::nullopt);
  if (!e)
    return std::nullopt;
  return "braid::dev::Act::" + *e;
}

//===----------------------------------------------------------------------===//
// Buffers and the launch
//===----------------------------------------------------------------------===//

struct Buf {
  BufferAttr attr;   // null when the optional operand is absent
  int index = -1;    // position in BraidKernelParams::buffers
  std::string type;  // C++ storage element type
  bool present() const { return static_cast<bool>(attr); }
  llvm::ArrayRef<int64_t> shape() const { return attr.getShape(); }
  int64_t rank() const { return static_cast<int64_t>(shape().size()); }
  int64_t dim(int64_t i) const { return shape()[i < 0 ? i + rank() : i]; }
  int64_t bytes() const { return type == "float" || type == "int32_t" ? 4
                                 : type == "int64_t"                   ? 8
                                                                       : 2; }
  /// `static_cast<const T *>(p.buffers[i])`, or a typed nullptr.
  std::string ptr(bool isConst = true) const {
    std::string t = (isConst ? "const " : "") + type + " *";
    if (!present())
      return "static_cast<" + t + ">(nullptr)";
    return "static_cast<" + t + ">(p.buffers[" + std::to_string(index) + "])";
  }
};

/// The storage type of a buffer: its element type in the launch IR (bf16
/// models carry bf16 activations and weights there, fp32 states).
inline std::string storageType(BufferAttr b, const Target &target) {
  (void)target;
  mlir::Type et = b.getElementType();
  if (et.isInteger(64))
    return "int64_t";
  if (et.isInteger(32))
    return "int32_t";
  if (et.isBF16())
    return kBf16Type;
  if (et.isF32())
    return "float";
  return "";
}

class Launch {
public:
  Launch(launch::KernelOp op, const Target &target, llvm::StringRef name)
      : op(op), target(target), name(name.str()) {
    // Operands, then results: their indices in BraidKernelParams::buffers.
    int index = 0;
    auto read = [&](mlir::ArrayAttr attrs, llvm::SmallVector<Buf> &bufs) {
      for (mlir::Attribute a : attrs) {
        Buf b;
        b.attr = llvm::dyn_cast<BufferAttr>(a);
        b.index = index++;
        if (b.present())
          b.type = storageType(b.attr, target);
        bufs.push_back(b);
      }
    };
    read(op.getOperands(), ins);
    read(op.getResults(), outs);
    if (auto entry = op->getParentOfType<launch::EntryOp>())
      decode = launch::isDecodeEntry(entry.getName());
    tooMany = index > BRAID_MAX_KERNEL_BUFFERS_HOST;
    require(!tooMany, "the launch has " + llvm::Twine(index) +
                          " buffers; kernels take at most " +
                          llvm::Twine(BRAID_MAX_KERNEL_BUFFERS_HOST) +
                          " (BRAID_MAX_KERNEL_BUFFERS)");
  }

  static constexpr int BRAID_MAX_KERNEL_BUFFERS_HOST = BRAID_MAX_KERNEL_BUFFERS;

  mutable launch::KernelOp op;
  const Target &target;
  std::string name;
  llvm::SmallVector<Buf> ins, outs;
  bool decode = false; // T == 1 (the decode entry)
  bool tooMany = false;
  std::string problem; // first error

  /// Whether the launch's main float operand is bf16 (tensor-core path).
  bool bf16() const {
    for (const Buf &b : ins)
      if (b.present() && (b.type == kBf16Type || b.type == "float"))
        return b.type == kBf16Type;
    return target.bf16;
  }
  const Buf &in(size_t i) const {
    static const Buf none;
    return i < ins.size() ? ins[i] : none;
  }
  const Buf &out(size_t i) const {
    static const Buf none;
    return i < outs.size() ? outs[i] : none;
  }

  /// Records the first problem; returns false so checks can chain.
  bool require(bool cond, const llvm::Twine &what) {
    if (!cond && problem.empty())
      problem = what.str();
    return cond && problem.empty();
  }
  bool ok() const { return problem.empty(); }

  llvm::Error error() const { return launchError(op, problem); }

  // Attributes.
  mlir::Attribute attr(llvm::StringRef key) const {
    return op.getAttrs().get(key);
  }
  std::optional<int64_t> getInt(llvm::StringRef key) {
    if (auto a = llvm::dyn_cast_or_null<mlir::IntegerAttr>(attr(key)))
      return a.getInt();
    require(false, "attribute '" + key + "' is missing or not an integer");
    return std::nullopt;
  }
  std::optional<double> getFloat(llvm::StringRef key,
                                 std::optional<double> dflt = std::nullopt) {
    mlir::Attribute a = attr(key);
    if (auto f = llvm::dyn_cast_or_null<mlir::FloatAttr>(a))
      return f.getValueAsDouble();
    if (auto i = llvm::dyn_cast_or_null<mlir::IntegerAttr>(a))
      return static_cast<double>(i.getInt());
    if (!a && dflt)
      return dflt;
    require(false, "attribute '" + key + "' is missing or not a float");
    return std::nullopt;
  }
  std::string getString(llvm::StringRef key) {
    if (auto s = llvm::dyn_cast_or_null<mlir::StringAttr>(attr(key)))
      return s.getValue().str();
    require(false, "attribute '" + key + "' is missing or not a string");
    return "";
  }
  /// Unit or bool attribute; absent means `dflt`.
  bool getBool(llvm::StringRef key, bool dflt = false) const {
    mlir::Attribute a = attr(key);
    if (!a)
      return dflt;
    if (auto b = llvm::dyn_cast<mlir::BoolAttr>(a))
      return b.getValue();
    if (auto i = llvm::dyn_cast<mlir::IntegerAttr>(a))
      return i.getInt() != 0;
    return llvm::isa<mlir::UnitAttr>(a) ? true : dflt;
  }

  /// Requires `b` present with a float storage type.
  bool floatBuf(const Buf &b, llvm::StringRef what) {
    return require(b.present(), "'" + what + "' is missing") &&
           require(b.type == "float" || b.type == kBf16Type,
                   "'" + what + "' must be a float buffer (f32 or bf16)");
  }
  bool intBuf(const Buf &b, llvm::StringRef what) {
    return require(b.present(), "'" + what + "' is missing") &&
           require(b.type == "int64_t",
                   "'" + what + "' must be an i64 buffer");
  }
  bool staticDims(const Buf &b, llvm::ArrayRef<int64_t> dims,
                  llvm::StringRef what) {
    for (int64_t d : dims)
      if (!require(d >= 0, "'" + what +
                               "' needs static dimensions here, got a "
                               "symbolic one"))
        return false;
    (void)b;
    return true;
  }
  bool countOk(const Count &c, llvm::StringRef what) {
    return require(c.ok, "'" + what +
                             "' has a shape this target cannot size "
                             "(symbol S, or B / T twice)");
  }

  std::string fn(llvm::StringRef suffix) const {
    return name + "_" + suffix.str();
  }
};

/// The translation unit under construction.
struct Source {
  std::string text;
  explicit Source(const Launch &l, std::initializer_list<const char *> headers) {
    text = "// Generated by braid (targets/common/kernels/SpecializersDense.cpp)"
           "\n// family: " +
           l.op.getFamily().str() + "  element type: " + (l.bf16() ? "bf16" : "f32") + "\n";
    for (const char *h : headers)
      text += std::string("#include \"targets/common/kernels/") + h + "\"\n";
    text += "\n";
  }
  /// `cluster` > 1: blocks run in thread-block clusters of (cluster, 1, 1)
  /// (sm_90+; the grid's x is a multiple of it). `bodyWaits`: the entry only
  /// allows dependents and the body calls waitForPrerequisiteGrids() itself,
  /// after requesting what no kernel writes (weights). `tensorMaps`: the
  /// entry takes the launch's BraidTensorMaps as `maps` (kernel_abi.h).
  void kernel(const std::string &fname, int64_t threads, int64_t minBlocks,
              const std::string &body, int64_t cluster = 1,
              bool bodyWaits = false, bool tensorMaps = false) {
    text +=
        "extern \"C\" __global__ void " +
        (cluster > 1
             ? "__cluster_dims__(" + std::to_string(cluster) + ", 1, 1) "
             : std::string()) +
        "__launch_bounds__(" + std::to_string(threads) + ", " +
        std::to_string(minBlocks) + ")\n" + fname + "(BraidKernelParams p" +
        (tensorMaps ? ", const __grid_constant__ BraidTensorMaps maps" : "") +
        ") {\n" +
        (bodyWaits ? "  BRAID_KERNEL_PROLOGUE_READS_FIRST();\n"
                   : "  BRAID_KERNEL_PROLOGUE();\n") +
        "  using namespace braid::dev;\n" + body + "}\n\n";
  }
};

inline KernelInvocation invocation(std::string function, DimExpr gx,
                                   DimExpr gy, DimExpr gz, int64_t threads,
                                   int64_t shared) {
  KernelInvocation k;
  k.function = std::move(function);
  k.grid = {gx, gy, gz};
  k.block = {threads, 1, 1};
  k.sharedBytes = shared;
  return k;
}

/// Blocks of a grid-stride map over `count` items, `perBlock` items each,
/// as a DimExpr.
inline DimExpr mapBlocks(const Count &count, int64_t perBlock,
                         int64_t mul = 1) {
  return count.dim(perBlock, mul);
}
//===----------------------------------------------------------------------===//
// Row kernels (the norms, and the norm of a linear that folds one)
//===----------------------------------------------------------------------===//

/// Team size, threads per block and vector width of a row kernel over rows
/// of `g` elements.
struct RowShape {
  int64_t v, team, threads;
  int64_t teams() const { return threads / team; }
};

inline RowShape rowShape(int64_t g, int64_t limit) {
  RowShape s;
  s.v = vecWidth(g, limit);
  int64_t chunks = (g + s.v - 1) / s.v;
  // About four chunks per thread; at least 8 threads, at most a block.
  s.team = std::clamp<int64_t>(nextPow2((chunks + 3) / 4), 8, 1024);
  s.threads = std::max<int64_t>(s.team, 128);
  return s;
}

//===----------------------------------------------------------------------===//
// Maps (element-wise grids)
//===----------------------------------------------------------------------===//

inline constexpr int64_t kMapThreads = 256;
/// Chunks per thread a map's grid is sized for (grid-stride beyond).
inline constexpr int64_t kMapItems = 4;

/// The vector width of a map over `count` elements touching `bufs`.
inline int64_t mapVec(const Count &count,
                      std::initializer_list<const Buf *> bufs) {
  int64_t limit = 8;
  for (const Buf *b : bufs)
    if (b->present())
      limit = std::min<int64_t>(limit, 16 / b->bytes());
  return vecWidth(count.factor, limit);
}

//===----------------------------------------------------------------------===//
// The GEMM families (SpecializersGemm.cpp)
//===----------------------------------------------------------------------===//

llvm::Expected<KernelPlan> specializeLinear(launch::KernelOp op,
                                            const Target &target,
                                            llvm::StringRef name);
llvm::Expected<KernelPlan> specializeMoE(launch::KernelOp op,
                                         const Target &target,
                                         llvm::StringRef name);
llvm::Expected<KernelPlan> specializeMerge(launch::KernelOp op,
                                           const Target &target,
                                           llvm::StringRef name);

} // namespace braid::gpu::dense

#endif // BRAID_TARGETS_COMMON_KERNELS_SPECIALIZERSDENSESUPPORT_H
