//===- Pipeline.cpp - braidc's compilation pipeline -----------------------===//
#include "compiler/pipelines/Pipeline.h"

#include "dialects/Braid/BraidOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

namespace braid {

LogicalResult dumpStage(const PipelineOptions &options, unsigned index,
                        StringRef stage, ModuleOp module) {
  if (options.dumpIRDir.empty())
    return success();
  if (std::error_code ec =
          llvm::sys::fs::create_directories(options.dumpIRDir)) {
    llvm::errs() << options.dumpIRDir << ": error: cannot create the IR "
                 << "dump folder: " << ec.message() << "\n";
    return failure();
  }
  llvm::SmallString<256> path(options.dumpIRDir);
  llvm::sys::path::append(path, llvm::formatv("{0:2}-{1}.mlir", index, stage)
                                    .str());
  // formatv pads with spaces; dump names use zeros so they sort.
  std::string name = llvm::sys::path::filename(path).str();
  std::replace(name.begin(), name.begin() + 2, ' ', '0');
  llvm::sys::path::remove_filename(path);
  llvm::sys::path::append(path, name);

  std::string error;
  auto file = mlir::openOutputFile(path, &error);
  if (!file) {
    llvm::errs() << path << ": error: " << error << "\n";
    return failure();
  }
  module.print(file->os());
  file->keep();
  return success();
}

LogicalResult
runBraidStages(ModuleOp module, const PipelineOptions &options,
               llvm::function_ref<LogicalResult(PassManager &)> configure) {
  struct Stage {
    const char *name;
    std::function<void(PassManager &)> populate;
  };
  std::vector<Stage> stages = {
      {"canonicalize",
       [](PassManager &pm) { pm.addPass(mlir::createCanonicalizerPass()); }},
  };
  // ONNX ops without a braid op arrive as linalg.generic (OnnxGeneric.cpp):
  // upstream fusion merges their chains, then each becomes one launch.
  bool hasLinalg = false;
  module.walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "linalg")
      hasLinalg = true;
  });
  if (hasLinalg) {
    // Like epilogue fusion it rebinds no weight, so it runs on ONNX models
    // (whose `fusion` is off); --no-fusion keeps one launch per generic.
    if (options.fuseEpilogues)
      stages.push_back({"fuse-elementwise", [](PassManager &pm) {
                          pm.addPass(
                              mlir::createLinalgElementwiseOpFusionPass());
                          pm.addPass(mlir::createCanonicalizerPass());
                          pm.addPass(mlir::createCSEPass());
                        }});
    stages.push_back({"lower-linalg", [](PassManager &pm) {
                        pm.addPass(createBraidLowerLinalg());
                      }});
  }
  if (options.lint != LintMode::Off) {
    BraidLintHybridOptions lintOptions;
    lintOptions.warningsAsErrors = options.lint == LintMode::Error;
    stages.push_back({"lint-hybrid", [lintOptions](PassManager &pm) {
                        pm.addPass(createBraidLintHybrid(lintOptions));
                      }});
  }
  if (options.fusion) {
    stages.push_back({"fold-weight-scales", [](PassManager &pm) {
                        pm.addPass(createBraidFoldWeightScales());
                      }});
    stages.push_back({"fuse-projections", [](PassManager &pm) {
                        pm.addPass(createBraidFuseProjections());
                      }});
  }
  if (options.lowerToLaunch) {
    BraidLowerToLaunchOptions lowerOptions;
    lowerOptions.fuseEpilogues = options.fuseEpilogues;
    lowerOptions.fuseDecodeSteps = options.fuseDecodeSteps;
    lowerOptions.fuseDecodeNorms = options.fuseDecodeNorms;
    lowerOptions.fuseNorms = options.fuseNorms;
    lowerOptions.rowSums = options.rowSums;
    lowerOptions.greedyEntry = options.greedyEntry;
    stages.push_back({"lower-to-launch", [lowerOptions](PassManager &pm) {
                        pm.addPass(createBraidLowerToLaunch(lowerOptions));
                      }});
  }

  unsigned index = 1;
  for (Stage &stage : stages) {
    if (options.unfusedCopy && StringRef(stage.name) == "fold-weight-scales")
      *options.unfusedCopy = module.clone();
    PassManager pm(module->getContext());
    if (failed(configure(pm)))
      return failure();
    stage.populate(pm);
    if (failed(pm.run(module)))
      return failure();
    if (failed(dumpStage(options, index++, stage.name, module)))
      return failure();
  }
  return success();
}

} // namespace braid
