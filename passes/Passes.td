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

def BraidLowerToLaunch : Pass<"braid-lower-to-launch", "mlir::ModuleOp"> {
  let summary = "specialize entries, plan buffers and emit launch ops";
  let description = [{
    Turns the model function (`func.func @forward` in the braid dialect)
    into the `launch` dialect:

    1. flattens `braid.layer` regions, remembering each op's layer path;
    2. specializes the entries `prefill` (B sequences of T tokens, states
       zeroed first) and `decode` (one token per sequence): stateful ops get
       persistent `launch.state` buffers named after their layer path
       (`<path>.conv_state`, `.ssm_state`, `.k_cache`, `.v_cache`) and
       attention reads `cache_position`;
    3. plans the arena by liveness: every transient value is `[B, T, ...]`,
       so offsets are planned in bytes per token and values whose lifetimes
       do not overlap share space (`launch.arena` records the peak);
    4. emits one `launch.kernel` per braid op (reshape is a view); every
       weight gets a `launch.weight` prep step: the front end's binding when
       the module already holds one for that name (HF imports do), else an
       identity binding to a checkpoint tensor of the same name and shape.

    The function is removed; the module then holds only launch ops.

    Example:

    ```
    braid-opt --braid-lower-to-launch model.mlir
    ```
  }];
  let dependentDialects = ["::braid::launch::LaunchDialect"];
}

#endif // BRAID_PASSES_TD
