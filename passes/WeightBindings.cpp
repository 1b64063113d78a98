//===- WeightBindings.cpp - edit the launch.weight binding table ----------===//
#include "passes/WeightBindings.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace braid {

WeightBindings::WeightBindings(ModuleOp module) : module(module) {
  for (auto binding : module.getOps<launch::WeightOp>())
    bindings[binding.getName()] = binding;
  module.walk([&](WeightOp weight) { ++nameUses[weight.getName()]; });
}

launch::WeightOp WeightBindings::create(StringRef name, ArrayRef<int64_t> shape,
                                        Type elementType,
                                        ArrayRef<Attribute> sources,
                                        StringRef combine,
                                        StringRef elementwise) {
  OpBuilder builder(module.getContext());
  // Next to the other bindings, before the model function.
  auto funcs = module.getOps<func::FuncOp>();
  if (!funcs.empty())
    builder.setInsertionPoint(*funcs.begin());
  else
    builder.setInsertionPointToEnd(module.getBody());
  auto binding = launch::WeightOp::create(
      builder, module.getLoc(), builder.getStringAttr(name),
      builder.getDenseI64ArrayAttr(shape), TypeAttr::get(elementType),
      builder.getArrayAttr(sources), builder.getStringAttr(combine),
      builder.getI64IntegerAttr(0), builder.getI64IntegerAttr(0),
      builder.getStringAttr(elementwise), ArrayAttr());
  bindings[name] = binding;
  return binding;
}

launch::WeightOp WeightBindings::getOrCreate(WeightOp weight) {
  if (launch::WeightOp binding = lookup(weight.getName()))
    return binding;
  Builder b(module.getContext());
  auto type = weight.getType();
  NamedAttrList source;
  source.set("tensor", b.getStringAttr(weight.getName()));
  source.set("shape", b.getDenseI64ArrayAttr(type.getShape()));
  return create(weight.getName(), type.getShape(), type.getElementType(),
                {source.getDictionary(module.getContext())}, "single",
                "identity");
}

bool WeightBindings::isExclusive(WeightOp weight) const {
  return uses(weight.getName()) == 1 && weight->hasOneUse();
}

void WeightBindings::eraseUnused(ArrayRef<std::string> names) {
  for (const std::string &name : names) {
    if (uses(name) != 0)
      continue;
    if (launch::WeightOp binding = lookup(name)) {
      binding.erase();
      bindings.erase(name);
    }
  }
}

SmallVector<double> getWeightScale(launch::WeightOp binding) {
  if (auto scale = binding->getAttrOfType<DenseF64ArrayAttr>(kWeightScaleAttr))
    return SmallVector<double>(scale.asArrayRef());
  return {};
}

void multiplyWeightScale(launch::WeightOp binding, ArrayRef<double> factors) {
  SmallVector<double> scale = getWeightScale(binding);
  if (scale.empty())
    scale.push_back(1.0);
  int64_t rows = binding.getShape().empty() ? 1 : binding.getShape().front();
  auto expand = [&](SmallVector<double> &v) {
    if (v.size() == 1 && rows != 1)
      v.assign(rows, v.front());
  };
  SmallVector<double> by(factors);
  if (scale.size() != by.size()) {
    expand(scale);
    expand(by);
  }
  for (auto [s, f] : llvm::zip_equal(scale, by))
    s *= f;
  if (llvm::all_equal(scale))
    scale.resize(1);
  if (scale.size() == 1 && scale.front() == 1.0)
    binding->removeAttr(kWeightScaleAttr);
  else
    binding->setAttr(kWeightScaleAttr,
                     DenseF64ArrayAttr::get(binding.getContext(), scale));
}

} // namespace braid
