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
#include "compiler/pipelines/LaunchStats.h"
#include "compiler/pipelines/Pipeline.h"
#include "dialects/Braid/BraidDialect.h"
#include "passes/Passes.h"
#include "runtime/include/braid/bundle_writer.h"
#include "targets/common/Manifest.h"
#include "targets/cuda/Emitter.h"
#include "targets/hip/Emitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;
using namespace braid;

namespace {

enum class Emit { DSL, Spec, Bindings, Braid, Launch, Source, Kernels, Bundle };

enum class DTypeChoice { F32, BF16 };

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
                   "the generated GPU kernel sources, one translation unit "
                   "per distinct specialization (default target: cuda; "
                   "with --dump-ir-dir, written there as kernels/k<hash>.cu)"),
        clEnumValN(Emit::Kernels, "kernels",
                   "compile the GPU kernels (into the kernel cache) and "
                   "print registers, shared memory and spills per kernel "
                   "and architecture"),
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
             "reference backend); cuda (cubins for sm_80 and sm_90a plus PTX "
             "for compute_90) or cuda:ARCH for one of them (ARCH = sm_80, "
             "sm_90a, compute_90); hip (AMD code objects for gfx90a, gfx942 "
             "and gfx950) or hip:ARCH for one of them. HIP kernels are "
             "verified by compiling, by their code-object metadata and by "
             "their disassembly only: no AMD GPU has run them (docs/amd.md)"),
    cl::value_desc("target"), cl::CommaSeparated, cl::cat(braidcCategory));

cl::opt<DTypeChoice> dtype(
    "dtype",
    cl::desc("Element type of the model's activations and weights (states "
             "stay f32); default f32, or bf16 when every target is a GPU"),
    cl::values(clEnumValN(DTypeChoice::F32, "f32",
                          "32-bit floats (the CPU backend; GPU validation)"),
               clEnumValN(DTypeChoice::BF16, "bf16",
                          "bfloat16 with f32 accumulation (GPU targets)")),
    cl::cat(braidcCategory));

cl::opt<std::string> kernelCache(
    "kernel-cache",
    cl::desc("Folder that caches compiled GPU kernels by the hash of their "
             "source and flags (default: $XDG_CACHE_HOME/braid/kernels or "
             "~/.cache/braid/kernels)"),
    cl::value_desc("dir"), cl::cat(braidcCategory));

cl::opt<unsigned> kernelJobs(
    "kernel-jobs",
    cl::desc("GPU kernel compilations to run in parallel (default: Ninja's "
             "choice, about the number of cores)"),
    cl::value_desc("n"), cl::init(0), cl::cat(braidcCategory));

cl::opt<bool> allowMissingKernels(
    "allow-missing-kernels",
    cl::desc("With --emit=source or kernels: leave out launches whose kernel "
             "family has no GPU specializer yet (warning) instead of "
             "failing; a bundle always needs every kernel"),
    cl::cat(braidcCategory));

cl::opt<bool> checkSpills(
    "check-spills",
    cl::desc("Fail when a hot GPU kernel (GEMM, attention, scans) spills "
             "registers to local memory, per ptxas's resource report (CUDA), "
             "or uses scratch or spills, per the code object's metadata "
             "(HIP)"),
    cl::cat(braidcCategory));

cl::opt<bool> noFusion(
    "no-fusion",
    cl::desc("Skip the fusion passes (braid-fold-weight-scales, "
             "braid-fuse-projections): one launch per braid op of the "
             "imported model"),
    cl::cat(braidcCategory));

cl::opt<bool> noDecodeSteps(
    "no-decode-steps",
    cl::desc("Keep each Mamba2 mixer of the decode entry as separate launches "
             "(conv, split, scan, gate) instead of one mamba2_step launch; "
             "for comparing the two"),
    cl::cat(braidcCategory));

cl::opt<bool> noDecodeNorms(
    "no-decode-norms",
    cl::desc("Keep each rms_norm of the decode entry as its own launch "
             "instead of folding it into the linear launches that read it; "
             "for comparing the two"),
    cl::cat(braidcCategory));

cl::opt<bool> noFoldNorms(
    "no-fold-norms",
    cl::desc("Keep each rms_norm as its own launch in prefill instead of "
             "folding its weight into the weights of the linears that read "
             "it (which then normalize their rows themselves, in every "
             "entry); decode still folds it unless --no-decode-norms; for "
             "comparing the two"),
    cl::cat(braidcCategory));

// Registered as "braid-stats" and renamed to "stats" in main(), once LLVM's
// own -stats (its statistics counters) has been moved to -llvm-stats.
cl::opt<bool> printStats(
    "braid-stats",
    cl::desc("Print launches per entry and kernel family, the planned arena "
             "(bytes per token, with and without reuse), state and weight "
             "sizes, and launches and bytes moved per layer before and "
             "after fusion to stderr"),
    cl::cat(braidcCategory));

constexpr const char *overview = R"(Braid compiler driver

Compiles a hybrid recurrent/attention language model. The input is
  * a Hugging Face config.json, or a folder holding one (model_type bamba,
    nemotron_h, jamba, zamba2, falcon_h1, granitemoehybrid or llama), or
  * a Braid DSL file (.braid; see docs/dsl.md), or
  * an ONNX model (.onnx; see docs/onnx.md), whose weights the bundle packs.

Examples:
  braidc model/config.json                      print the braid IR
  braidc model/ --emit=dsl                      show the architecture as DSL
  braidc model/ --weights model/ --emit=bindings
                                                check and print weight bindings
  braidc examples/jamba_style.braid --dump-ir-dir ir/
                                                IR after every stage in ir/
  braidc model/ --target=cpu -o model.bundle --stats
                                                compile a bundle for braid-run
  braidc model/ --target=cuda -o model.bundle   bf16 CUDA kernels for sm_80,
                                                sm_90a and PTX (needs nvcc)
  braidc model/ --target=cuda:sm_90a --emit=source
                                                the generated CUDA sources
  braidc model/ --target=cuda --emit=kernels --check-spills
                                                compile, report registers and
                                                fail on spills in hot kernels
  braidc model/ --target=hip:gfx942 --emit=kernels --check-spills
                                                AMD code objects (clang 22):
                                                VGPRs, LDS, scratch per kernel.
                                                Compiled and inspected only:
                                                never run on an AMD GPU here
  braidc model/ --mlir-print-ir-after-all       MLIR's own debugging flags work

Errors name the file, line and column (or the tensor, or the block) at fault,
and braidc exits with status 1.
)";

/// Prints every error in `error` on its own line; returns exit status 1.
int report(Error error) {
  handleAllErrors(std::move(error), [](const ErrorInfoBase &info) {
    std::string message = info.message();
    // Front-end errors already carry "file:line:col: error:" (nvcc's
    // diagnostics, quoted on later lines, do not count).
    if (StringRef(message).split('\n').first.contains(": error: "))
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

/// What --target asked for.
struct TargetSet {
  bool cpu = false;
  std::vector<std::string> cudaArchs; // in cuda::knownArchs() order
  std::vector<std::string> hipArchs;  // in hip::knownArchs() order
  bool anyGpu() const { return !cudaArchs.empty() || !hipArchs.empty(); }
  bool gpuOnly() const { return !cpu && anyGpu(); }
};
TargetSet targetSet;

/// Parses --target values into targetSet.
int checkTargets() {
  std::vector<std::string> archs, hipArchs;
  for (const std::string &target : targets) {
    auto [name, arch] = StringRef(target).split(':');
    if (name == "cpu" && arch.empty()) {
      targetSet.cpu = true;
      continue;
    }
    if (name == "cuda") {
      if (arch.empty()) {
        for (StringRef known : cuda::knownArchs())
          archs.push_back(known.str());
        continue;
      }
      if (!llvm::is_contained(cuda::knownArchs(), arch))
        return fail("unknown CUDA architecture '" + arch + "' in --target=" +
                    target + "; expected " +
                    join(cuda::knownArchs(), ", ") +
                    " (or plain cuda for all of them)");
      archs.push_back(arch.str());
      continue;
    }
    if (name == "hip") {
      if (arch.empty()) {
        for (StringRef known : hip::knownArchs())
          hipArchs.push_back(known.str());
        continue;
      }
      if (!llvm::is_contained(hip::knownArchs(), arch))
        return fail("unknown HIP architecture '" + arch + "' in --target=" +
                    target + "; expected " + join(hip::knownArchs(), ", ") +
                    " (or plain hip for all of them)");
      hipArchs.push_back(arch.str());
      continue;
    }
    return fail("unknown target '" + target +
                "'; expected cpu, cuda[:ARCH] or hip[:ARCH]");
  }
  for (StringRef known : cuda::knownArchs())
    if (llvm::is_contained(archs, known))
      targetSet.cudaArchs.push_back(known.str());
  for (StringRef known : hip::knownArchs())
    if (llvm::is_contained(hipArchs, known))
      targetSet.hipArchs.push_back(known.str());
  return 0;
}

cuda::EmitterOptions cudaOptions() {
  cuda::EmitterOptions options;
  options.archs = targetSet.cudaArchs;
  options.cacheDir = kernelCache;
  options.jobs = kernelJobs;
  options.checkSpills = checkSpills;
  options.allowMissing = allowMissingKernels;
  return options;
}

hip::EmitterOptions hipOptions() {
  hip::EmitterOptions options;
  options.archs = targetSet.hipArchs;
  options.cacheDir = kernelCache;
  options.jobs = kernelJobs;
  options.checkSpills = checkSpills;
  options.allowMissing = allowMissingKernels;
  return options;
}

void warnMissing(const gpu::GpuCode &code) {
  if (!code.missing.empty())
    WithColor::warning(errs(), "braidc")
        << "no " << (code.vendor == "hip" ? "HIP" : "CUDA")
        << " kernels yet for " << join(code.missing, ", ")
        << "; those launches were left out\n";
}

/// --emit=source: the translation units, printed or written to
/// <dump-ir-dir>/kernels/.
int emitSources(mlir::ModuleOp module) {
  // CUDA units first, then HIP units (their hashes differ: vendor salt).
  std::vector<gpu::GpuCode> codes;
  if (!targetSet.cudaArchs.empty()) {
    Expected<gpu::GpuCode> code = cuda::planCuda(module, cudaOptions());
    if (!code)
      return report(code.takeError());
    codes.push_back(std::move(*code));
  }
  if (!targetSet.hipArchs.empty()) {
    Expected<gpu::GpuCode> code = hip::planHip(module, hipOptions());
    if (!code)
      return report(code.takeError());
    codes.push_back(std::move(*code));
  }
  for (const gpu::GpuCode &code : codes)
    warnMissing(code);
  if (!dumpIRDir.empty()) {
    SmallString<256> dir(dumpIRDir);
    sys::path::append(dir, "kernels");
    for (const gpu::GpuCode &code : codes)
      if (Error error = code.vendor == "hip" ? hip::writeSources(code, dir)
                                             : cuda::writeSources(code, dir))
        return report(std::move(error));
    return 0;
  }
  return writeOutput([&](raw_ostream &os) {
    for (const gpu::GpuCode &code : codes) {
      if (code.vendor == "hip")
        hip::printSources(code, os);
      else
        cuda::printSources(code, os);
    }
  });
}

/// Compiles the CUDA kernels (cached); with --stats, prints their resources.
Expected<cuda::CudaBuild> buildCudaCode(mlir::ModuleOp module) {
  Expected<cuda::CudaBuild> build =
      cuda::buildCuda(module, cudaOptions(), errs());
  if (!build)
    return build.takeError();
  warnMissing(build->code);
  if (!dumpIRDir.empty()) {
    SmallString<256> dir(dumpIRDir);
    sys::path::append(dir, "kernels");
    if (Error error = cuda::writeSources(build->code, dir))
      return std::move(error);
  }
  if (printStats && emit != Emit::Kernels)
    cuda::printResources(*build, errs());
  return build;
}

/// Compiles the HIP kernels (cached); with --stats, prints their metadata.
Expected<hip::HipBuild> buildHipCode(mlir::ModuleOp module) {
  Expected<hip::HipBuild> build = hip::buildHip(module, hipOptions(), errs());
  if (!build)
    return build.takeError();
  warnMissing(build->code);
  if (!dumpIRDir.empty()) {
    SmallString<256> dir(dumpIRDir);
    sys::path::append(dir, "kernels");
    if (Error error = hip::writeSources(build->code, dir))
      return std::move(error);
  }
  if (printStats && emit != Emit::Kernels)
    hip::printResources(*build, errs());
  return build;
}

/// Serializes the launch module into a bundle at -o, with the code sections
/// of its GPU targets.
int writeBundleFile(mlir::ModuleOp module, const frontend::LoadedModel &model) {
  if (outputPath == "-")
    return fail("--emit=bundle writes a binary file; give it with -o FILE");
  ManifestInfo info;
  info.model = model.spec.name;
  info.vocabSize = model.spec.vocabSize;
  info.hiddenSize = model.spec.hiddenSize;
  if (targetSet.cpu || !targetSet.anyGpu())
    info.targets.push_back("cpu");
  std::vector<rt::BundleSection> sections;
  std::optional<cuda::CudaBuild> cudaBuild;
  if (!targetSet.cudaArchs.empty()) {
    Expected<cuda::CudaBuild> build = buildCudaCode(module);
    if (!build)
      return report(build.takeError());
    cudaBuild = std::move(*build);
    info.targets.push_back("cuda");
    info.targets.insert(info.targets.end(), targetSet.cudaArchs.begin(),
                        targetSet.cudaArchs.end());
    info.gpuCode.push_back(&cudaBuild->code);
    for (auto &[name, bytes] : cudaBuild->sections)
      sections.push_back({name, std::move(bytes)});
  }
  std::optional<hip::HipBuild> hipBuild;
  if (!targetSet.hipArchs.empty()) {
    Expected<hip::HipBuild> build = buildHipCode(module);
    if (!build)
      return report(build.takeError());
    hipBuild = std::move(*build);
    info.targets.push_back("hip");
    info.targets.insert(info.targets.end(), targetSet.hipArchs.begin(),
                        targetSet.hipArchs.end());
    info.gpuCode.push_back(&hipBuild->code);
    for (auto &[name, bytes] : hipBuild->sections)
      sections.push_back({name, std::move(bytes)});
  }
  // ONNX models carry their weights: pack them (docs/bundle.md, `weights`).
  if (!model.packedWeights.empty())
    sections.push_back({"weights", model.packedWeights});
  Expected<json::Value> manifest = buildManifest(module, info);
  if (!manifest)
    return report(manifest.takeError());
  std::string text = formatv("{0:1}", *manifest).str();
  std::string error = rt::writeBundle(outputPath, text, sections);
  if (!error.empty())
    return fail(error);
  return 0;
}

/// --stats: launch counts and the arena plan. When the pipeline stopped at
/// the braid dialect, a copy is lowered just for the numbers.
/// Whether prefill's linears should write the row sums of squares that the
/// folded norms' GEMMs read: only sm_90a's TMA engine uses them (elsewhere
/// they would cost a pass over each result for nothing).
bool rowSumsUsed() { return llvm::is_contained(targetSet.cudaArchs, "sm_90a"); }

mlir::LogicalResult reportStats(mlir::ModuleOp module, bool lowered,
                                mlir::ModuleOp unfused) {
  mlir::OwningOpRef<mlir::ModuleOp> copy;
  if (!lowered) {
    copy = module.clone();
    mlir::PassManager pm(module->getContext());
    // Lowered as the pipeline would have lowered it.
    BraidLowerToLaunchOptions lowerOptions;
    lowerOptions.fuseEpilogues = !noFusion;
    lowerOptions.fuseDecodeSteps = !noFusion && !noDecodeSteps;
    lowerOptions.fuseDecodeNorms = !noFusion && !noDecodeNorms;
    lowerOptions.fuseNorms = !noFusion && !noFoldNorms;
    lowerOptions.rowSums = rowSumsUsed();
    pm.addPass(createBraidLowerToLaunch(lowerOptions));
    if (failed(pm.run(*copy)))
      return mlir::failure();
    module = *copy;
  }
  printLaunchStats(module, errs());
  return printFusionStats(unfused, module, errs());
}

int run() {
  if (int status = checkTargets())
    return status;
  if (targets.getNumOccurrences() && !emit.getNumOccurrences())
    emit = Emit::Bundle;
  if (emit == Emit::Source || emit == Emit::Kernels) {
    if (!targets.getNumOccurrences())
      targetSet.cudaArchs.assign(cuda::knownArchs().begin(),
                                 cuda::knownArchs().end());
    if (!targetSet.anyGpu())
      return fail(Twine("--emit=") +
                  (emit == Emit::Source ? "source" : "kernels") +
                  " needs a GPU target (--target=cuda[:ARCH] or "
                  "hip[:ARCH]); the cpu target runs the reference kernels "
                  "and generates none");
  }
  if (allowMissingKernels && emit == Emit::Bundle)
    return fail("--allow-missing-kernels only works with --emit=source or "
                "--emit=kernels: a bundle needs a kernel for every launch");
  DTypeChoice elementType =
      dtype.getNumOccurrences()
          ? dtype.getValue()
          : (targetSet.gpuOnly() ? DTypeChoice::BF16 : DTypeChoice::F32);
  if (elementType == DTypeChoice::BF16 && targetSet.cpu)
    return fail("--dtype=bf16 cannot run on the cpu target: the reference "
                "backend computes in f32; drop cpu from --target or use "
                "--dtype=f32");

  Expected<frontend::LoadedModel> model = importModel(inputPath);
  if (!model)
    return report(model.takeError());
  if (!weightsPath.empty())
    if (Error error = checkWeights(*model, weightsPath))
      return report(std::move(error));

  if (model->kind == frontend::InputKind::ONNX &&
      (emit == Emit::DSL || emit == Emit::Spec || emit == Emit::Bindings))
    return fail("--emit=dsl, spec and bindings need a Hugging Face or DSL "
                "input; an ONNX model is imported straight to braid IR "
                "(--emit=braid)");
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

  // The element type of activations and weights; states stay f32
  // (braid-lower-to-launch), and the bindings keep the checkpoint's dtypes.
  model->spec.dtype = elementType == DTypeChoice::BF16 ? frontend::DType::BF16
                                                       : frontend::DType::F32;
  mlir::MLIRContext context;
  Expected<mlir::OwningOpRef<mlir::ModuleOp>> module =
      buildBraidModule(*model, inputPath, context);
  if (!module)
    return report(module.takeError());

  PipelineOptions options;
  options.dumpIRDir = dumpIRDir;
  options.lint = lintMode;
  // Packed weights (ONNX) are stored already transformed, under the IR
  // names: fused or rescaled weights would not find theirs.
  options.fusion = !noFusion && model->packedWeights.empty();
  // Epilogue fusion rebinds no weight: packed weights keep it.
  options.fuseEpilogues = !noFusion;
  options.fuseDecodeSteps = !noFusion && !noDecodeSteps;
  options.fuseDecodeNorms = !noFusion && !noDecodeNorms;
  options.fuseNorms = !noFusion && !noFoldNorms;
  options.rowSums = rowSumsUsed();
  mlir::OwningOpRef<mlir::ModuleOp> unfused;
  if (printStats)
    options.unfusedCopy = &unfused;
  options.lowerToLaunch = emit == Emit::Launch || emit == Emit::Bundle ||
                          emit == Emit::Source || emit == Emit::Kernels;
  if (failed(dumpStage(options, 0, "import", **module)))
    return 1;
  auto configure = [](mlir::PassManager &pm) {
    return mlir::applyPassManagerCLOptions(pm);
  };
  if (failed(runBraidStages(**module, options, configure)))
    return 1;
  if (printStats &&
      failed(reportStats(**module, options.lowerToLaunch, unfused.get())))
    return 1;
  if (emit == Emit::Bundle)
    return writeBundleFile(**module, *model);
  if (emit == Emit::Source)
    return emitSources(**module);
  if (emit == Emit::Kernels) {
    std::optional<cuda::CudaBuild> cudaBuild;
    std::optional<hip::HipBuild> hipBuild;
    if (!targetSet.cudaArchs.empty()) {
      Expected<cuda::CudaBuild> build = buildCudaCode(**module);
      if (!build)
        return report(build.takeError());
      cudaBuild = std::move(*build);
    }
    if (!targetSet.hipArchs.empty()) {
      Expected<hip::HipBuild> build = buildHipCode(**module);
      if (!build)
        return report(build.takeError());
      hipBuild = std::move(*build);
    }
    return writeOutput([&](raw_ostream &os) {
      if (cudaBuild)
        cuda::printResources(*cudaBuild, os);
      if (hipBuild)
        hip::printResources(*hipBuild, os);
    });
  }
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
  // The general category holds MLIR's debugging flags (--mlir-print-ir-*,
  // --mlir-timing, ...) but also every LLVM backend's knobs, which would bury
  // braidc's own: --help shows the MLIR ones, --help-hidden all of them.
  for (auto &entry : registered) {
    cl::Option *option = entry.second;
    if (!entry.first.starts_with("mlir-") &&
        llvm::is_contained(option->Categories, &cl::getGeneralCategory()) &&
        option->getOptionHiddenFlag() == cl::NotHidden)
      option->setHiddenFlag(cl::Hidden);
  }
  if (auto it = registered.find("stats"); it != registered.end())
    it->second->setArgStr("llvm-stats");
  printStats.setArgStr("stats");
  cl::ParseCommandLineOptions(argc, argv, overview);
  return run();
}
