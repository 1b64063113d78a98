//===- LaunchDialect.cpp - the launch dialect -----------------------------===//
#include "dialects/Launch/LaunchOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace braid::launch;

#include "dialects/Launch/LaunchDialect.cpp.inc"
#include "dialects/Launch/LaunchEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Launch/LaunchAttrs.cpp.inc"

void LaunchDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Launch/LaunchAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/Launch/LaunchOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Symbolic shapes: [B, T, 64]
//===----------------------------------------------------------------------===//

std::string braid::launch::formatDim(int64_t dim) {
  switch (dim) {
  case kDimBatch:
    return "B";
  case kDimTokens:
    return "T";
  case kDimMaxSeq:
    return "S";
  default:
    return std::to_string(dim);
  }
}

static void printShape(llvm::raw_ostream &os, ArrayRef<int64_t> shape) {
  os << "[";
  llvm::interleaveComma(shape, os,
                        [&](int64_t dim) { os << formatDim(dim); });
  os << "]";
}

static ParseResult parseShape(AsmParser &parser,
                              SmallVectorImpl<int64_t> &shape) {
  return parser.parseCommaSeparatedList(
      AsmParser::Delimiter::Square, [&]() -> ParseResult {
        StringRef symbol;
        if (succeeded(parser.parseOptionalKeyword(&symbol, {"B", "T", "S"}))) {
          shape.push_back(symbol == "B"   ? kDimBatch
                          : symbol == "T" ? kDimTokens
                                          : kDimMaxSeq);
          return success();
        }
        int64_t dim;
        SMLoc loc = parser.getCurrentLocation();
        if (parser.parseInteger(dim))
          return failure();
        // -1..-3 encode B, T, S: a negative number must not alias them.
        if (dim < 0)
          return parser.emitError(loc, "dimension ")
                 << dim << " is negative; expected a size or B, T, S";
        shape.push_back(dim);
        return success();
      });
}

static ParseResult parseSymbolicShape(OpAsmParser &parser,
                                      DenseI64ArrayAttr &shape) {
  SmallVector<int64_t> dims;
  if (parseShape(parser, dims))
    return failure();
  shape = parser.getBuilder().getDenseI64ArrayAttr(dims);
  return success();
}

static void printSymbolicShape(OpAsmPrinter &printer, Operation *,
                               DenseI64ArrayAttr shape) {
  printShape(printer.getStream(), shape.asArrayRef());
}

/// A dimension is a positive size or one of the symbols the context allows.
/// `firstIndex` is the position of `shape[0]` in the whole shape, so that
/// the message names the dimension as the user wrote it.
static LogicalResult verifyDims(function_ref<InFlightDiagnostic()> emitError,
                                ArrayRef<int64_t> shape,
                                ArrayRef<int64_t> allowedSymbols,
                                StringRef what, size_t firstIndex = 0) {
  for (auto [index, dim] : llvm::enumerate(shape)) {
    if (dim > 0 || llvm::is_contained(allowedSymbols, dim))
      continue;
    auto diag = emitError();
    diag << what << " dim " << firstIndex + index << " is " << formatDim(dim);
    if (dim < 0 && dim >= kDimMaxSeq)
      diag << ", a symbol not allowed here";
    else
      diag << ", must be positive";
    return diag;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// BufferAttr
//===----------------------------------------------------------------------===//

Attribute BufferAttr::parse(AsmParser &parser, Type) {
  StringRef kindName;
  if (parser.parseLess() || parser.parseKeyword(&kindName))
    return {};
  std::optional<BufferKind> kind = symbolizeBufferKind(kindName);
  if (!kind) {
    parser.emitError(parser.getCurrentLocation(), "unknown buffer kind '")
        << kindName << "'; expected arena, weight, state, input or output";
    return {};
  }
  std::string name;
  int64_t offset = 0;
  if (*kind == BufferKind::arena ? parser.parseInteger(offset)
                                 : parser.parseString(&name))
    return {};
  SmallVector<int64_t> shape;
  Type elementType;
  if (parser.parseColon() || parseShape(parser, shape) ||
      parser.parseKeyword("x") || parser.parseType(elementType) ||
      parser.parseGreater())
    return {};
  return parser.getChecked<BufferAttr>(parser.getContext(), *kind, name,
                                       offset, shape, elementType);
}

void BufferAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyBufferKind(getKind()) << " ";
  if (getKind() == BufferKind::arena)
    printer << getOffset();
  else
    printer.printString(getName());
  printer << " : ";
  printShape(printer.getStream(), getShape());
  printer << " x " << getElementType() << ">";
}

LogicalResult
BufferAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                   BufferKind kind, StringRef name, int64_t offset,
                   ArrayRef<int64_t> shape, Type elementType) {
  if (!elementType.isIntOrFloat())
    return emitError() << "buffer element type " << elementType
                       << " is not an integer or float type";
  if (kind == BufferKind::arena) {
    if (offset < 0)
      return emitError() << "arena offset is " << offset
                         << ", must not be negative";
    // [B, 1, ...]: one row per sequence (prefill_last's gathered last
    // positions), which fits in the slot planned for [B, T, ...].
    if (shape.size() < 2 || shape[0] != kDimBatch ||
        (shape[1] != kDimTokens && shape[1] != 1))
      return emitError() << "arena buffers have shape [B, T, ...] or [B, 1, "
                            "...]";
    return verifyDims(emitError, shape.drop_front(2), {}, "arena buffer",
                      /*firstIndex=*/2);
  }
  if (name.empty())
    return emitError() << stringifyBufferKind(kind) << " buffers need a name";
  return verifyDims(emitError, shape, {kDimBatch, kDimTokens, kDimMaxSeq},
                    stringifyBufferKind(kind).str() + " buffer");
}

int64_t BufferAttr::getStaticBytes() const {
  int64_t bytes = getElementType().getIntOrFloatBitWidth() / 8;
  for (int64_t dim : getShape())
    if (dim > 0)
      bytes *= dim;
  return bytes;
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  static constexpr StringRef combines[] = {"single", "concat", "stack",
                                           "stack_of_concat"};
  if (!llvm::is_contained(combines, getCombine()))
    return emitOpError("combine '")
           << getCombine()
           << "' is not one of single, concat, stack, stack_of_concat";
  if (getElementwise() != "identity" && getElementwise() != "neg_exp")
    return emitOpError("elementwise '")
           << getElementwise() << "' is not identity or neg_exp";
  if (getSources().empty())
    return emitOpError("weight '") << getName() << "' has no sources";
  // Initializers a source may name instead of a checkpoint tensor (weights
  // that braid-hybridize adds start from them).
  static constexpr StringRef inits[] = {"zeros",          "ones",
                                        "uniform_fan_in", "conv_identity",
                                        "mamba2_A_log",   "mamba2_dt_bias"};
  for (auto [index, source] : llvm::enumerate(getSources())) {
    auto dict = llvm::dyn_cast<DictionaryAttr>(source);
    auto tensor = dict ? dict.getAs<StringAttr>("tensor") : StringAttr();
    auto init = dict ? dict.getAs<StringAttr>("init") : StringAttr();
    auto shape = dict ? dict.getAs<DenseI64ArrayAttr>("shape")
                      : DenseI64ArrayAttr();
    if (!shape || (bool(tensor) == bool(init)))
      return emitOpError("source #")
             << index
             << " must be {tensor = \"...\", shape = array<i64: ...>} or "
                "{init = \"...\", shape = array<i64: ...>}";
    if (init && !llvm::is_contained(inits, init.getValue()))
      return emitOpError("source #")
             << index << " has init '" << init.getValue()
             << "'; expected one of " << llvm::join(llvm::ArrayRef<StringRef>(inits), ", ");
    if (init && init.getValue() == "conv_identity" && shape.size() != 2)
      return emitOpError("source #")
             << index << ": init 'conv_identity' needs a [channels, width] "
             << "shape, got rank " << shape.size();
    if (init && failed(verifyDims([&] { return emitOpError(); },
                                  shape.asArrayRef(), {},
                                  ("source #" + Twine(index)).str())))
      return failure();
  }
  return verifyDims([&] { return emitOpError(); }, getShape(), {}, "weight");
}

LogicalResult StateOp::verify() {
  return verifyDims([&] { return emitOpError(); }, getShape(),
                    {kDimBatch, kDimMaxSeq}, "state");
}

LogicalResult KernelOp::verify() {
  if (getFamily().empty())
    return emitOpError("needs a kernel family");
  for (auto [index, operand] : llvm::enumerate(getOperands()))
    if (!llvm::isa<BufferAttr, UnitAttr>(operand))
      return emitOpError("operand #")
             << index << " must be a #launch.buffer or unit (absent)";
  for (auto [index, result] : llvm::enumerate(getResults()))
    if (!llvm::isa<BufferAttr>(result))
      return emitOpError("result #") << index << " must be a #launch.buffer";
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Launch/LaunchOps.cpp.inc"
