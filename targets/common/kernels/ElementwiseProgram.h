//===- ElementwiseProgram.h - the fused_elementwise expression program -*- C++
//-*-===//
//
// The region of a `braid.fused_elementwise` op, serialized as text so that it
// travels through launch attributes and the bundle manifest unchanged. Shared
// by the op verifier, the CPU reference kernel (which interprets it) and the
// GPU specializer (which prints it as straight-line C++). Plain C++17; no
// LLVM, MLIR or CUDA headers.
//
// A program is a list of instructions separated by ';'. Instruction i
// defines value %i; operands name earlier values. The program's value is
// that of its last instruction. All values are f32; comparisons give 1 or 0
// and `select` takes any non-zero condition as true.
//
//   in K          element of input K at the current index
//   cst V         the f32 constant V (decimal, read with strtof)
//   OP %a         unary: neg abs exp log log1p sqrt rsqrt tanh erf isnan
//   OP %a %b      binary: add sub mul div pow max min maxnum minnum
//                 lt le gt ge eq ne
//   select %c %a %b
//
// `max`/`min` propagate NaN (ONNX Max/Min, arith.maximumf); `maxnum` and
// `minnum` return the other operand (fmaxf, arith.maxnumf).
//
// Example, exp(x - m) / s: "in 0; in 1; sub %0 %1; exp %2; in 2; div %3 %4"
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_KERNELS_ELEMENTWISEPROGRAM_H
#define BRAID_TARGETS_COMMON_KERNELS_ELEMENTWISEPROGRAM_H

#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace braid {
namespace ewp {

enum class Op {
  In,
  Cst,
  // unary
  Neg,
  Abs,
  Exp,
  Log,
  Log1p,
  Sqrt,
  Rsqrt,
  Tanh,
  Erf,
  IsNan,
  // binary
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Max,
  Min,
  MaxNum,
  MinNum,
  Lt,
  Le,
  Gt,
  Ge,
  Eq,
  Ne,
  // ternary
  Select,
};

struct OpInfo {
  Op op;
  const char *name;
  int arity; // operands that are values (in/cst: 0)
};

inline const OpInfo *opTable(size_t &count) {
  static const OpInfo table[] = {
      {Op::In, "in", 0},         {Op::Cst, "cst", 0},
      {Op::Neg, "neg", 1},       {Op::Abs, "abs", 1},
      {Op::Exp, "exp", 1},       {Op::Log, "log", 1},
      {Op::Log1p, "log1p", 1},   {Op::Sqrt, "sqrt", 1},
      {Op::Rsqrt, "rsqrt", 1},   {Op::Tanh, "tanh", 1},
      {Op::Erf, "erf", 1},       {Op::IsNan, "isnan", 1},
      {Op::Add, "add", 2},       {Op::Sub, "sub", 2},
      {Op::Mul, "mul", 2},       {Op::Div, "div", 2},
      {Op::Pow, "pow", 2},       {Op::Max, "max", 2},
      {Op::Min, "min", 2},       {Op::MaxNum, "maxnum", 2},
      {Op::MinNum, "minnum", 2}, {Op::Lt, "lt", 2},
      {Op::Le, "le", 2},         {Op::Gt, "gt", 2},
      {Op::Ge, "ge", 2},         {Op::Eq, "eq", 2},
      {Op::Ne, "ne", 2},         {Op::Select, "select", 3},
  };
  count = sizeof(table) / sizeof(table[0]);
  return table;
}

inline const OpInfo *findOp(std::string_view name) {
  size_t n;
  const OpInfo *table = opTable(n);
  for (size_t i = 0; i < n; ++i)
    if (name == table[i].name)
      return &table[i];
  return nullptr;
}

inline const OpInfo &infoOf(Op op) {
  size_t n;
  const OpInfo *table = opTable(n);
  for (size_t i = 0; i < n; ++i)
    if (table[i].op == op)
      return table[i];
  return table[0];
}

struct Instr {
  Op op = Op::Cst;
  int args[3] = {-1, -1, -1}; // value operands
  int input = -1;             // `in`: the input index
  float value = 0.0f;         // `cst`
};

struct Program {
  std::vector<Instr> code;
  /// Largest input index read, plus one.
  int numInputsRead = 0;
};

/// Reduction applied over the reduction loops to the program's value.
enum class Reduce { None, Sum, Max, Min, Prod };

inline bool parseReduce(std::string_view name, Reduce &out) {
  if (name == "none")
    out = Reduce::None;
  else if (name == "sum")
    out = Reduce::Sum;
  else if (name == "max")
    out = Reduce::Max;
  else if (name == "min")
    out = Reduce::Min;
  else if (name == "prod")
    out = Reduce::Prod;
  else
    return false;
  return true;
}

/// Parses `text`; on failure returns false and says which instruction and
/// what is wrong in `error`.
inline bool parseProgram(std::string_view text, Program &out,
                         std::string &error) {
  out = Program();
  size_t pos = 0;
  auto fail = [&](size_t index, const std::string &what) {
    error = "instruction " + std::to_string(index) + ": " + what;
    return false;
  };
  while (pos <= text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view item = text.substr(pos, end - pos);
    pos = end + 1;
    // Split on spaces.
    std::vector<std::string> words;
    size_t i = 0;
    while (i < item.size()) {
      while (i < item.size() && item[i] == ' ')
        ++i;
      size_t j = i;
      while (j < item.size() && item[j] != ' ')
        ++j;
      if (j > i)
        words.emplace_back(item.substr(i, j - i));
      i = j;
    }
    size_t index = out.code.size();
    if (words.empty()) {
      if (end == text.size() && !out.code.empty())
        break;
      return fail(index, "is empty");
    }
    const OpInfo *info = findOp(words[0]);
    if (!info)
      return fail(index, "unknown operation '" + words[0] + "'");
    Instr instr;
    instr.op = info->op;
    size_t want = info->arity == 0 ? 1 : size_t(info->arity);
    if (words.size() != want + 1)
      return fail(index, "'" + words[0] + "' takes " + std::to_string(want) +
                             " operand" + (want == 1 ? "" : "s") + ", got " +
                             std::to_string(words.size() - 1));
    if (info->op == Op::In || info->op == Op::Cst) {
      const char *begin = words[1].c_str();
      char *stop = nullptr;
      if (info->op == Op::In) {
        long k = std::strtol(begin, &stop, 10);
        if (*stop || stop == begin || k < 0)
          return fail(index, "bad input index '" + words[1] + "'");
        instr.input = int(k);
        if (int(k) + 1 > out.numInputsRead)
          out.numInputsRead = int(k) + 1;
      } else {
        instr.value = std::strtof(begin, &stop);
        if (*stop || stop == begin)
          return fail(index, "bad constant '" + words[1] + "'");
      }
    } else {
      for (int a = 0; a < info->arity; ++a) {
        const std::string &w = words[1 + a];
        char *stop = nullptr;
        long v = w.size() > 1 && w[0] == '%'
                     ? std::strtol(w.c_str() + 1, &stop, 10)
                     : -1;
        if (v < 0 || (stop && *stop))
          return fail(index, "operand '" + w + "' is not a value (%N)");
        if (size_t(v) >= index)
          return fail(index, "operand '" + w + "' is not defined before it");
        instr.args[a] = int(v);
      }
    }
    out.code.push_back(instr);
    if (end == text.size())
      break;
  }
  if (out.code.empty()) {
    error = "the program is empty";
    return false;
  }
  return true;
}

/// The f32 semantics of each operation, for the CPU interpreter (the GPU
/// specializer prints the same expressions).
inline float apply(Op op, float a, float b, float c) {
  switch (op) {
  case Op::Neg:
    return -a;
  case Op::Abs:
    return std::fabs(a);
  case Op::Exp:
    return std::exp(a);
  case Op::Log:
    return std::log(a);
  case Op::Log1p:
    return std::log1p(a);
  case Op::Sqrt:
    return std::sqrt(a);
  case Op::Rsqrt:
    return 1.0f / std::sqrt(a);
  case Op::Tanh:
    return std::tanh(a);
  case Op::Erf:
    return std::erf(a);
  case Op::IsNan:
    return std::isnan(a) ? 1.0f : 0.0f;
  case Op::Add:
    return a + b;
  case Op::Sub:
    return a - b;
  case Op::Mul:
    return a * b;
  case Op::Div:
    return a / b;
  case Op::Pow:
    return std::pow(a, b);
  case Op::Max:
    return std::isnan(a) || std::isnan(b) ? NAN : (a > b ? a : b);
  case Op::Min:
    return std::isnan(a) || std::isnan(b) ? NAN : (a < b ? a : b);
  case Op::MaxNum:
    return std::fmax(a, b);
  case Op::MinNum:
    return std::fmin(a, b);
  case Op::Lt:
    return a < b ? 1.0f : 0.0f;
  case Op::Le:
    return a <= b ? 1.0f : 0.0f;
  case Op::Gt:
    return a > b ? 1.0f : 0.0f;
  case Op::Ge:
    return a >= b ? 1.0f : 0.0f;
  case Op::Eq:
    return a == b ? 1.0f : 0.0f;
  case Op::Ne:
    return a != b ? 1.0f : 0.0f;
  case Op::Select:
    return a != 0.0f ? b : c;
  case Op::In:
  case Op::Cst:
    break;
  }
  return 0.0f;
}

/// acc (+) v for the reduction kinds.
inline float combine(Reduce r, float acc, float v) {
  switch (r) {
  case Reduce::Sum:
    return acc + v;
  case Reduce::Prod:
    return acc * v;
  case Reduce::Max:
    return std::isnan(acc) || std::isnan(v) ? NAN : (v > acc ? v : acc);
  case Reduce::Min:
    return std::isnan(acc) || std::isnan(v) ? NAN : (v < acc ? v : acc);
  case Reduce::None:
    break;
  }
  return v;
}

} // namespace ewp
} // namespace braid

#endif // BRAID_TARGETS_COMMON_KERNELS_ELEMENTWISEPROGRAM_H
