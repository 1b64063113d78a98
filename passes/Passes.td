//===- Passes.td - Braid passes ----------------------------*- tablegen -*-===//
//
// One pass per file in passes/, each with a lit test named after it under
// test/passes/.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_PASSES_TD
#define BRAID_PASSES_TD

include "mlir/Pass/PassBase.td"

def BraidLintHybrid : Pass<"braid-lint-hybrid", "mlir::ModuleOp"> {
  let summary = "warn about hybrid-architecture design choices known to hurt";
  let description = [{
    Checks a model's block structure against the design rules that studies
    of hybrid recurrent/attention models agree on and reports each finding
    as a warning on the offending `braid.layer`, naming the layers and
    saying what a balanced design looks like. The IR is not changed.

    Rules:

    * `ffn-balance`: in a hybrid that has both recurrent mixers (`mamba`,
      `mamba2`) and `attention` mixers, feed-forward blocks (`mlp`, `moe`)
      placed after only one of the two components degrade quality. The
      sequential form: feed-forward blocks follow some Mamba mixers but no
      attention mixer, or the reverse. The parallel form: inside a
      `parallel` layer, one branch carries a feed-forward block and another
      does not. Balanced placement puts a feed-forward block after every
      mixer (Bamba, Jamba), or after both components in proportion, or
      after the merge of a parallel pair (Falcon-H1).

    Example:

    ```
    braid-opt --braid-lint-hybrid model.mlir
    ```
  }];
  let options = [
    Option<"warningsAsErrors", "warnings-as-errors", "bool",
           /*default=*/"false",
           "report findings as errors and fail the pass">
  ];
  let dependentDialects = ["::braid::BraidDialect"];
}

#endif // BRAID_PASSES_TD
