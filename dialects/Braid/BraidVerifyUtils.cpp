//===- BraidVerifyUtils.cpp - shape checks for braid verifiers ------------===//
#include "dialects/Braid/BraidVerifyUtils.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;

namespace braid {

static std::string dimText(int64_t size) {
  return ShapedType::isDynamic(size) ? "?" : std::to_string(size);
}

RankedTensorType ShapeChecker::typeOf(Value value) const {
  return llvm::dyn_cast<RankedTensorType>(value.getType());
}

InFlightDiagnostic ShapeChecker::error() {
  failed = true;
  return op->emitOpError();
}

int64_t ShapeChecker::normalizeDim(Value value, int64_t dim) {
  auto type = llvm::cast<RankedTensorType>(value.getType());
  return dim < 0 ? dim + type.getRank() : dim;
}

ShapeChecker &ShapeChecker::rank(StringRef name, Value value, int64_t rank) {
  if (failed)
    return *this;
  RankedTensorType type = typeOf(value);
  if (!type)
    error() << "'" << name << "' must be a ranked tensor";
  else if (type.getRank() != rank)
    error() << "'" << name << "' must have rank " << rank << ", got "
            << type;
  return *this;
}

ShapeChecker &ShapeChecker::minRank(StringRef name, Value value,
                                    int64_t rank) {
  if (failed)
    return *this;
  RankedTensorType type = typeOf(value);
  if (!type)
    error() << "'" << name << "' must be a ranked tensor";
  else if (type.getRank() < rank)
    error() << "'" << name << "' must have rank at least " << rank
            << ", got " << type;
  return *this;
}

ShapeChecker &ShapeChecker::dimIs(StringRef name, Value value, int64_t dim,
                                  int64_t expected, StringRef meaning) {
  if (failed)
    return *this;
  dim = normalizeDim(value, dim);
  int64_t actual = typeOf(value).getDimSize(dim);
  if (!ShapedType::isDynamic(actual) && actual != expected)
    error() << "'" << name << "' dim " << dim << " (" << meaning << ") is "
            << actual << ", expected " << expected;
  return *this;
}

ShapeChecker &ShapeChecker::dimsMatch(StringRef aName, Value a, int64_t aDim,
                                      StringRef bName, Value b, int64_t bDim,
                                      StringRef meaning) {
  if (failed)
    return *this;
  aDim = normalizeDim(a, aDim);
  bDim = normalizeDim(b, bDim);
  int64_t aSize = typeOf(a).getDimSize(aDim);
  int64_t bSize = typeOf(b).getDimSize(bDim);
  if (!ShapedType::isDynamic(aSize) && !ShapedType::isDynamic(bSize) &&
      aSize != bSize)
    error() << "'" << aName << "' dim " << aDim << " (" << meaning << ") is "
            << dimText(aSize) << " but '" << bName << "' dim " << bDim
            << " is " << dimText(bSize);
  return *this;
}

ShapeChecker &ShapeChecker::sameType(StringRef aName, Value a, StringRef bName,
                                     Value b) {
  if (failed)
    return *this;
  if (a.getType() != b.getType())
    error() << "'" << aName << "' has type " << a.getType() << " but '"
            << bName << "' has type " << b.getType()
            << "; they must be equal";
  return *this;
}

ShapeChecker &ShapeChecker::sameElementType(StringRef aName, Value a,
                                            StringRef bName, Value b) {
  if (failed)
    return *this;
  Type aElem = typeOf(a).getElementType();
  Type bElem = typeOf(b).getElementType();
  if (aElem != bElem)
    error() << "'" << aName << "' has element type " << aElem << " but '"
            << bName << "' has " << bElem;
  return *this;
}

ShapeChecker &ShapeChecker::attrAtLeast(StringRef attr, int64_t value,
                                        int64_t minimum) {
  if (failed)
    return *this;
  if (value < minimum)
    error() << "attribute '" << attr << "' is " << value
            << ", must be at least " << minimum;
  return *this;
}

ShapeChecker &ShapeChecker::attrPositive(StringRef attr, double value) {
  if (failed)
    return *this;
  if (!(value > 0.0))
    error() << "attribute '" << attr << "' is " << value
            << ", must be positive";
  return *this;
}

ShapeChecker &ShapeChecker::require(bool condition, const llvm::Twine &message) {
  if (failed || condition)
    return *this;
  error() << message;
  return *this;
}

} // namespace braid
