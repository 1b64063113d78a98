//===- WeightBindings.h - edit the launch.weight binding table --*- C++ -*-===//
//
// Fusion passes change what an IR weight holds (rows of several projections
// concatenated, a multiplier folded in). They say so in the module's binding
// table: the module-level `launch.weight` ops that the front end wrote (and
// that braid-lower-to-launch completes with identity bindings for weights
// the front end did not bind). These helpers find, create and edit those
// bindings so that both passes spell them the same way.
//
// The load-time prep step `scale` is a discardable attribute of
// `launch.weight` (DenseF64ArrayAttr): one factor for the whole weight, or
// one per index of its first dimension (per output row of a linear weight,
// per element of a bias). The runtime applies it after `elementwise`
// (docs/bundle.md, "Weights").
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_PASSES_WEIGHTBINDINGS_H
#define BRAID_PASSES_WEIGHTBINDINGS_H

#include "dialects/Braid/BraidOps.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

namespace braid {

/// Name of the discardable `scale` attribute of `launch.weight`.
inline constexpr llvm::StringLiteral kWeightScaleAttr = "scale";
/// Name of the discardable `column_scale` attribute of `launch.weight`: the
/// IR weight (1-D over the last dimension) that multiplies every row at load
/// (an rms_norm's weight folded into a linear; PrologueFusion.h).
inline constexpr llvm::StringLiteral kWeightColumnScaleAttr = "column_scale";

/// The module's binding table and how often each IR weight name is used.
class WeightBindings {
public:
  explicit WeightBindings(mlir::ModuleOp module);

  /// The binding of `name`, or null when the module has none (the weight
  /// then comes from a checkpoint tensor of its own name).
  launch::WeightOp lookup(llvm::StringRef name) const {
    return bindings.lookup(name);
  }
  /// The binding of `weight`, creating the identity binding that
  /// braid-lower-to-launch would give it when there is none.
  launch::WeightOp getOrCreate(WeightOp weight);
  /// Creates a binding (before the first function of the module).
  launch::WeightOp create(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                          mlir::Type elementType,
                          llvm::ArrayRef<mlir::Attribute> sources,
                          llvm::StringRef combine, llvm::StringRef elementwise);

  /// Whether `weight` is the only use of its name in the module and has a
  /// single use, so that changing its binding changes nothing else.
  bool isExclusive(WeightOp weight) const;
  /// Number of braid.weight ops named `name`.
  unsigned uses(llvm::StringRef name) const { return nameUses.lookup(name); }
  /// Records that a braid.weight op named `name` was added (+1) or erased
  /// (-1).
  void noteUse(llvm::StringRef name, int delta) { nameUses[name] += delta; }

  /// Erases the bindings in `names` that no braid.weight op uses any more.
  void eraseUnused(llvm::ArrayRef<std::string> names);

private:
  mlir::ModuleOp module;
  llvm::StringMap<launch::WeightOp> bindings;
  llvm::StringMap<unsigned> nameUses;
};

/// The binding's scale factors (empty: none).
llvm::SmallVector<double> getWeightScale(launch::WeightOp binding);
/// Multiplies the binding's scale by `factors` (one factor, or one per index
/// of the first dimension); keeps the shortest exact form (one factor when
/// all are equal, none when that factor is 1).
void multiplyWeightScale(launch::WeightOp binding,
                         llvm::ArrayRef<double> factors);

} // namespace braid

#endif // BRAID_PASSES_WEIGHTBINDINGS_H
