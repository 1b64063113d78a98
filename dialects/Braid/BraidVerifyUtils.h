//===- BraidVerifyUtils.h - shape checks for braid verifiers ----*- C++ -*-===//
//
// A small checker that verifiers use to compare ranks, dimensions and
// attributes. It reports only the first problem, in words that name the
// operand, the dimension index and its meaning, so that a user can find the
// value at fault, e.g.
//   'weight' dim 1 (in_features) is 32 but 'input' dim 2 is 64
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_DIALECTS_BRAID_BRAIDVERIFYUTILS_H
#define BRAID_DIALECTS_BRAID_BRAIDVERIFYUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

namespace braid {

class ShapeChecker {
public:
  explicit ShapeChecker(mlir::Operation *op) : op(op) {}

  /// `value` (called `name`) must be a ranked tensor of rank `rank`.
  ShapeChecker &rank(llvm::StringRef name, mlir::Value value, int64_t rank);
  /// `value` must have rank at least `rank`.
  ShapeChecker &minRank(llvm::StringRef name, mlir::Value value, int64_t rank);
  /// Dimension `dim` of `value` must equal `expected` unless it is dynamic.
  /// `meaning` says what the dimension is ("hidden", "num_heads"...).
  ShapeChecker &dimIs(llvm::StringRef name, mlir::Value value, int64_t dim,
                      int64_t expected, llvm::StringRef meaning);
  /// Dimension `aDim` of `a` must equal dimension `bDim` of `b` where both
  /// are static.
  ShapeChecker &dimsMatch(llvm::StringRef aName, mlir::Value a, int64_t aDim,
                          llvm::StringRef bName, mlir::Value b, int64_t bDim,
                          llvm::StringRef meaning);
  /// `a` and `b` must have the same type.
  ShapeChecker &sameType(llvm::StringRef aName, mlir::Value a,
                         llvm::StringRef bName, mlir::Value b);
  /// `a` and `b` must have the same element type.
  ShapeChecker &sameElementType(llvm::StringRef aName, mlir::Value a,
                                llvm::StringRef bName, mlir::Value b);
  /// The integer attribute `attr` must be at least `minimum`.
  ShapeChecker &attrAtLeast(llvm::StringRef attr, int64_t value,
                            int64_t minimum);
  /// The float attribute `attr` must be strictly positive.
  ShapeChecker &attrPositive(llvm::StringRef attr, double value);
  /// Fails with `message` unless `condition` holds.
  ShapeChecker &require(bool condition, const llvm::Twine &message);

  /// Negative dimension indices count from the end, as in Python.
  static int64_t normalizeDim(mlir::Value value, int64_t dim);

  bool ok() const { return !failed; }
  operator llvm::LogicalResult() const {
    return failed ? llvm::failure() : llvm::success();
  }

private:
  mlir::RankedTensorType typeOf(mlir::Value value) const;
  mlir::InFlightDiagnostic error();

  mlir::Operation *op;
  bool failed = false;
};

} // namespace braid

#endif // BRAID_DIALECTS_BRAID_BRAIDVERIFYUTILS_H
