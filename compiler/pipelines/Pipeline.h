//===- Pipeline.h - braidc's compilation pipeline ---------------*- C++ -*-===//
//
// The stages braidc runs on a model, in order, each with a name used for IR
// dumps (`--dump-ir-dir`): 00-import, 01-canonicalize, 02-lint-hybrid,
// 03-fold-weight-scales, 04-fuse-projections, 05-lower-to-launch (numbers
// shift when a stage is turned off).
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_COMPILER_PIPELINES_PIPELINE_H
#define BRAID_COMPILER_PIPELINES_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace braid {

enum class LintMode { Off, Warn, Error };

struct PipelineOptions {
  /// Write the IR after every stage into this folder ("" = no dumps).
  std::string dumpIRDir;
  LintMode lint = LintMode::Warn;
  /// Run the fusion passes (braid-fold-weight-scales, then
  /// braid-fuse-projections) after canonicalization and lint.
  bool fusion = true;
  /// Let braid-lower-to-launch fuse GEMM epilogues (fuse-epilogues) and
  /// the decode entry's Mamba2 steps (fuse-decode-steps): they change no
  /// weight, so they also apply where `fusion` cannot run.
  bool fuseEpilogues = true;
  bool fuseDecodeSteps = true;
  /// The decode entry's linears normalize their input rows in place of an
  /// rms_norm launch (fuse-decode-norms).
  bool fuseDecodeNorms = true;
  /// Every entry's linears normalize their input rows in place of an
  /// rms_norm launch, the norm's weight folded into theirs at load
  /// (fuse-norms: a `column_scale` step that names IR weights, so packed
  /// weights take it too).
  bool fuseNorms = true;
  /// With fuseNorms, prefill's linears write the row sums of squares that
  /// the folding GEMMs read (row-sums): only sm_90a's engine uses them, so
  /// braidc sets it when sm_90a is a target.
  bool rowSums = false;
  /// Add the decode_greedy entry (greedy generation without the host
  /// between steps; not a fusion: on with --no-fusion too).
  bool greedyEntry = true;
  /// When set and fusion runs, receives a copy of the module as it was just
  /// before the fusion stages (braidc --stats compares the two).
  mlir::OwningOpRef<mlir::ModuleOp> *unfusedCopy = nullptr;
  /// Also run braid-lower-to-launch (entries, states, arena plan).
  bool lowerToLaunch = false;
};

/// Writes `module` as `<dir>/<NN>-<stage>.mlir`; no-op when dir is empty.
mlir::LogicalResult dumpStage(const PipelineOptions &options, unsigned index,
                              llvm::StringRef stage, mlir::ModuleOp module);

/// Runs the stages after import: canonicalize, lint, fusion, and with
/// `lowerToLaunch` the lowering to the launch dialect.
/// `configure` applies the MLIR command-line pass-manager options (IR
/// printing, timing, crash reproducers) to each pass manager.
mlir::LogicalResult
runBraidStages(mlir::ModuleOp module, const PipelineOptions &options,
               llvm::function_ref<mlir::LogicalResult(mlir::PassManager &)>
                   configure);

} // namespace braid

#endif // BRAID_COMPILER_PIPELINES_PIPELINE_H
