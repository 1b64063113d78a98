//===- braidc.cpp - the Braid compiler driver -----------------------------===//
//
// Reads a model (Hugging Face config.json or folder, Braid DSL file), runs
// the front end and the braid-level pipeline, and writes the requested
// stage. See `braidc --help`.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/dsl/DSL.h"
#include "compiler/frontends/lowering/SpecToBraid.h"
#include "compiler/pipelines/Import.h"
#include "compiler/pipelines/Pipeline.h"
#include "dialects/Braid/BraidDialect.h"
#include "passes/Passes.h"
#include "runtime/include/braid/bundle_writer.h"
#include "targets/common/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;
using namespace braid;

namespace {

enum class Emit { DSL, Spec, Bindings, Braid, Launch, Source, Bundle };

cl::OptionCategory braidcCategory("braidc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model>"),
                               cl::Required, cl::cat(braidcCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(braidcCategory));

cl::opt<Emit> emit(
    "emit", cl::desc("Stage to write"), cl::init(Emit::Braid),
    cl::values(
        clEnumValN(Emit::DSL, "dsl", "the architecture as Braid DSL text"),
        clEnumValN(Emit::Spec, "spec",
                   "the ModelSpec as JSON (every field, for tools)"),
        clEnumValN(Emit::Bindings, "bindings",
                   "the weight binding table as JSON (IR weight -> "
                   "checkpoint tensors, shape, transform)"),
        clEnumValN(Emit::Braid, "braid",
                   "IR in the braid dialect after canonicalization and lint "
                   "(default)"),
        clEnumValN(Emit::Launch, "launch",
                   "IR in the launch dialect: entries prefill/decode, "
                   "states, arena plan, one op per kernel launch"),
        clEnumValN(Emit::Source, "source",
                   "generated kernel sources (not available yet: M1.4)"),
        clEnumValN(Emit::Bundle, "bundle",
                   "the runnable bundle (needs -o FILE; default when "
                   "--target is given)")),
    cl::cat(braidcCategory));

cl::opt<std::string> dumpIRDir(
    "dump-ir-dir",
    cl::desc("Write the IR after every pipeline stage into this folder as "
             "numbered files (00-import.mlir, 01-canonicalize.mlir, ...)"),
    cl::value_desc("dir"), cl::cat(braidcCategory));

cl::opt<std::string> weightsPath(
    "weights",
    cl::desc("Check the binding table against a .safetensors file or a "
             "checkpoint folder: every IR weight must find its tensor with "
             "the right shape and dtype, and every tensor must be bound"),
    cl::value_desc("path"), cl::cat(braidcCategory));

cl::opt<LintMode> lintMode(
    "lint", cl::desc("What braid-lint-hybrid findings do"),
    cl::init(LintMode::Warn),
    cl::values(clEnumValN(LintMode::Off, "off", "skip the lint"),
               clEnumValN(LintMode::Warn, "warn", "print warnings (default)"),
               clEnumValN(LintMode::Error, "error",
                          "treat findings as errors and fail")),
    cl::cat(braidcCategory));

cl::list<std::string> targets(
    "target",
    cl::desc("Targets to build the bundle for (comma-separated): cpu (the "
             "reference backend). cuda[:ARCH] and hip[:ARCH] come with "
             "milestones M1.4 and M1.5"),
    cl::value_desc("target"), cl::CommaSeparated, cl::cat(braidcCategory));

// Registered as "braid-stats" and renamed to "stats" in main(), once LLVM's
// own -stats (its statistics counters) has been moved to -llvm-stats.
cl::opt<bool> printStats(
    "braid-stats",
    cl::desc("Print launches per entry and kernel family, the planned arena "
             "(bytes per token, with and without reuse), state and weight "
             "sizes to stderr"),
    cl::cat(braidcCategory));

constexpr const char *overview = R"(Braid compiler driver

Compiles a hybrid recurrent/attention language model. The input is
  * a Hugging Face config.json, or a folder holding one (model_type bamba,
    nemotron_h, jamba, zamba2, falcon_h1, granitemoehybrid or llama), or
  * a Braid DSL file (.braid; see docs/dsl.md).

Examples:
  braidc model/config.json                      print the braid IR
  braidc model/ --emit=dsl                      show the architecture as DSL
  braidc model/ --weights model/ --emit=bindings
                                                check and print weight bindings
  braidc examples/jamba_style.braid --dump-ir-dir ir/
                                                IR after every stage in ir/
  braidc model/ --target=cpu -o model.bundle --stats
                                                compile a bundle for braid-run
  braidc model/ --mlir-print-ir-after-all       MLIR's own debugging flags work

Errors name the file, line and column (or the tensor, or the block) at fault,
and braidc exits with status 1.
)";

/// Prints every error in `error` on its own line; returns exit status 1.
int report(Error error) {
  handleAllErrors(std::move(error), [](const ErrorInfoBase &info) {
    std::string message = info.message();
    // Front-end errors already carry "file:line:col: error:".
    if (StringRef(message).contains(": error: "))
      errs() << message << "\n";
    else
      WithColor::error(errs(), "braidc") << message << "\n";
  });
  return 1;
}

int fail(const Twine &message) {
  WithColor::error(errs(), "braidc") << message << "\n";
  return 1;
}

/// Opens `-o` and writes `text` to it.
int writeOutput(function_ref<void(raw_ostream &)> write) {
  std::string error;
  std::unique_ptr<ToolOutputFile> output =
      mlir::openOutputFile(outputPath, &error);
  if (!output)
    return fail(error);
  write(output->os());
  output->keep();
  return 0;
}

/// Checks --target values; only the CPU reference target exists so far.
int checkTargets() {
  for (const std::string &target : targets) {
    StringRef name = StringRef(target).split(':').first;
    if (name == "cpu")
      continue;
    if (name == "cuda" || name == "hip")
      return fail("--target=" + target + " is not available yet: " +
                  (name == "cuda" ? "CUDA code generation lands with "
                                    "milestone M1.4"
                                  : "HIP code generation lands with "
                                    "milestone M1.5") +
                  "; use --target=cpu");
    return fail("unknown target '" + target +
                "'; expected cpu, cuda[:ARCH] or hip[:ARCH]");
  }
  return 0;
}

/// Serializes the launch module into a bundle at -o.
int writeBundleFile(mlir::ModuleOp module, const frontend::LoadedModel &model) {
  if (outputPath == "-")
    return fail("--emit=bundle writes a binary file; give it with -o FILE");
  ManifestInfo info;
  info.model = model.spec.name;
  info.vocabSize = model.spec.vocabSize;
  info.hiddenSize = model.spec.hiddenSize;
  info.targets.assign(targets.begin(), targets.end());
  if (info.targets.empty())
    info.targets.push_back("cpu");
  Expected<json::Value> manifest = buildManifest(module, info);
  if (!manifest)
    return report(manifest.takeError());
  std::string text = formatv("{0:1}", *manifest).str();
  std::string error = rt::writeBundle(outputPath, text, {});
  if (!error.empty())
    return fail(error);
  return 0;
}

/// --stats: launch counts and the arena plan. When the pipeline stopped at
/// the braid dialect, a copy is lowered just for the numbers.
mlir::LogicalResult reportStats(mlir::ModuleOp module, bool lowered) {
  mlir::OwningOpRef<mlir::ModuleOp> copy;
  if (!lowered) {
    copy = module.clone();
    mlir::PassManager pm(module->getContext());
    pm.addPass(createBraidLowerToLaunch());
    if (failed(pm.run(*copy)))
      return mlir::failure();
    module = *copy;
  }
  printLaunchStats(module, errs());
  return mlir::success();
}

int run() {
  if (int status = checkTargets())
    return status;
  if (targets.getNumOccurrences() && !emit.getNumOccurrences())
    emit = Emit::Bundle;
  if (emit == Emit::Source)
    return fail("--emit=source is not available yet: kernel code generation "
                "lands with milestone M1.4; use --emit=braid, launch or "
                "bundle");

  Expected<frontend::LoadedModel> model = importModel(inputPath);
  if (!model)
    return report(model.takeError());
  if (!weightsPath.empty())
    if (Error error = checkWeights(*model, weightsPath))
      return report(std::move(error));

  switch (emit) {
  case Emit::DSL:
    return writeOutput([&](raw_ostream &os) {
      os << frontend::printDSL(model->spec);
    });
  case Emit::Spec:
    return writeOutput([&](raw_ostream &os) {
      os << formatv("{0:2}", frontend::toJSON(model->spec)) << "\n";
    });
  case Emit::Bindings:
    return writeOutput([&](raw_ostream &os) {
      os << formatv("{0:2}", frontend::toJSON(model->bindings)) << "\n";
    });
  default:
    break;
  }

  mlir::MLIRContext context;
  Expected<mlir::OwningOpRef<mlir::ModuleOp>> module =
      lowerSpecToBraid(model->spec, context, &model->bindings);
  if (!module)
    return report(module.takeError());

  PipelineOptions options;
  options.dumpIRDir = dumpIRDir;
  options.lint = lintMode;
  options.lowerToLaunch = emit == Emit::Launch || emit == Emit::Bundle;
  if (failed(dumpStage(options, 0, "import", **module)))
    return 1;
  auto configure = [](mlir::PassManager &pm) {
    return mlir::applyPassManagerCLOptions(pm);
  };
  if (failed(runBraidStages(**module, options, configure)))
    return 1;
  if (printStats && failed(reportStats(**module, options.lowerToLaunch)))
    return 1;
  if (emit == Emit::Bundle)
    return writeBundleFile(**module, *model);
  return writeOutput([&](raw_ostream &os) { (*module)->print(os); });
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  cl::HideUnrelatedOptions({&braidcCategory, &cl::getGeneralCategory()});
  auto &registered = cl::getRegisteredOptions();
  if (auto it = registered.find("stats"); it != registered.end())
    it->second->setArgStr("llvm-stats");
  printStats.setArgStr("stats");
  cl::ParseCommandLineOptions(argc, argv, overview);
  return run();
}
