//===- braid-opt.cpp - run Braid and MLIR passes on IR files --------------===//
//
// The `mlir-opt` of Braid: parses IR in the braid dialect (and the upstream
// dialects Braid models use), runs the requested passes and prints the
// result. Every Braid pass and the upstream transformation passes are
// registered; `braid-opt --help` lists them.
//
//===----------------------------------------------------------------------===//
#include "dialects/Braid/BraidDialect.h"
#include "dialects/Launch/LaunchDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerTransformsPasses();
  braid::registerBraidPasses();
  // Only the fusion the ONNX generic path runs (Pipeline.cpp).
  mlir::registerLinalgElementwiseOpFusionPass();

  mlir::DialectRegistry registry;
  registry.insert<braid::BraidDialect, braid::launch::LaunchDialect,
                  mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::tensor::TensorDialect, mlir::linalg::LinalgDialect,
                  mlir::math::MathDialect>();

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Braid optimizer: braid-dialect passes and lints\n",
      registry));
}
