//===- ShapeCheckerTest.cpp - verifier wording and dimension rules --------===//
//
// Parses small modules and checks that verifiers accept dynamic dimensions
// and that their messages name the operand, the dimension and its meaning.
//
//===----------------------------------------------------------------------===//
#include "dialects/Braid/BraidDialect.h"
#include "dialects/Braid/BraidOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

class VerifierTest : public ::testing::Test {
protected:
  VerifierTest() {
    context.loadDialect<braid::BraidDialect, func::FuncDialect>();
  }

  /// Parses and verifies `body` wrapped in a function taking `args`; returns
  /// the first diagnostic, or "" when the module verifies.
  std::string firstError(llvm::StringRef args, llvm::StringRef body) {
    std::string source = ("func.func @f(" + args + ") {\n" + body +
                          "\n  return\n}\n")
                             .str();
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      if (message.empty())
        message = diag.str();
      return success();
    });
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(source, ParserConfig(&context));
    return module ? "" : (message.empty() ? "<parse failed>" : message);
  }

  MLIRContext context;
};

TEST_F(VerifierTest, LinearAcceptsDynamicLeadingDims) {
  EXPECT_EQ(firstError("%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>",
                       "  %y = braid.linear %x, %w : (tensor<?x?x64xf32>, "
                       "tensor<128x64xf32>) -> tensor<?x?x128xf32>"),
            "");
}

TEST_F(VerifierTest, LinearNamesInFeaturesMismatch) {
  std::string error =
      firstError("%x: tensor<?x?x64xf32>, %w: tensor<128x32xf32>",
                 "  %y = braid.linear %x, %w : (tensor<?x?x64xf32>, "
                 "tensor<128x32xf32>) -> tensor<?x?x128xf32>");
  EXPECT_NE(error.find("'weight' dim 1 (in_features) is 32 but 'input' dim 2 "
                       "is 64"),
            std::string::npos)
      << error;
}

TEST_F(VerifierTest, NegativeDimsCountFromTheEnd) {
  std::string error = firstError(
      "%x: tensor<2x5x64xf32>, %w: tensor<48xf32>",
      "  %y = braid.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : "
      "(tensor<2x5x64xf32>, tensor<48xf32>) -> tensor<2x5x64xf32>");
  EXPECT_NE(error.find("'input' dim 2"), std::string::npos) << error;
}

TEST_F(VerifierTest, SSDScanNamesGroupDivisibility) {
  std::string error = firstError(
      "%x: tensor<1x8x6x4xf32>, %dt: tensor<1x8x6xf32>, %a: tensor<6xf32>, "
      "%b: tensor<1x8x4x2xf32>",
      "  %y = braid.ssd_scan %x, %dt, %a, %b, %b {num_heads = 6 : i64, "
      "head_dim = 4 : i64, num_groups = 4 : i64, state_size = 2 : i64, "
      "chunk_size = 4 : i64} : (tensor<1x8x6x4xf32>, tensor<1x8x6xf32>, "
      "tensor<6xf32>, tensor<1x8x4x2xf32>, tensor<1x8x4x2xf32>) -> "
      "tensor<1x8x6x4xf32>");
  EXPECT_NE(error.find("'num_heads' (6) must be a multiple of 'num_groups' "
                       "(4)"),
            std::string::npos)
      << error;
}

} // namespace
