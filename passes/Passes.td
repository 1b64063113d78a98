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

    * `parallel-merge`: a `parallel` layer with attention and recurrent
      branches adds them with a plain `sum` (or `mean`) whose multipliers
      are absent or all equal,
      and no branch is normalized (`rms_norm`, `layer_norm`,
      `gated_rms_norm`) or scaled (`scale`, `mul`) before the merge.
      Attention and SSM outputs have different magnitudes, so a plain sum
      lets one branch drown the other: Hymba normalizes each branch and
      learns a per-branch scale, Falcon-H1 tunes a separate output
      multiplier per branch. Act by giving the merge distinct
      `multipliers`, normalizing the branches, or using a learned merge
      (`concat_proj`, `attention`). One warning per function, on the
      first such layer, listing them all.
    * `attention-ratio`: a hybrid (some recurrent and some attention
      mixers) with fewer than 1 attention mixer in 16 mixers. Recurrent
      layers compress the context into a fixed-size state and lose exact
      recall; published hybrids keep at least about 1 attention mixer in
      11 (Jamba 1 in 8, Nemotron-H-8B 1 in 7, Bamba-9B and Granite-4.0-H
      about 1 in 10), and distilled hybrids (Mamba-in-the-Llama) lose
      quality step by step as attention is removed. Act by adding
      attention layers, or by keeping more of them in `braid-hybridize`
      (`keep`).
    * `attention-placement`: a hybrid of at least 8 mixers whose attention
      mixers all sit in the first quarter or all in the last quarter of
      the mixer stack. Published hybrids spread attention through the
      depth (Jamba every 8th layer, Nemotron-H and Bamba evenly), so that
      no long run of recurrent layers goes without exact retrieval.
      Act by spreading the attention layers (e.g. `braid-interleave`
      with `attention-period`).

    Mixers are counted in stack order; shared blocks are flattened and a
    `parallel` layer counts as one mixer that is both recurrent and
    attention.

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

def BraidInterleave : Pass<"braid-interleave", "mlir::ModuleOp"> {
  let summary = "expand a layer pattern over block templates into a stack";
  let description = [{
    Builds a concrete layer stack from block templates and a layer pattern
    (Nemotron-H style `M-M*-M`, Jamba style period/offset, or an index list).

    **Templates.** A template is a top-level `braid.layer` of a model
    function carrying `braid.template = "C"`, a one-character tag that the
    pattern uses. The templates of a function form one chain in place of
    the stack: each takes the hidden state as input #0 and returns the new
    hidden state as its only result, of the same type; the next template
    reads it as its input #0, and only the last template's result is used
    after the chain (by the final norm and head). Further inputs
    (positions, embeddings) are side inputs that every instance receives
    as the template does; they must come from outside the chain. Before
    the pass the function is an ordinary model with one block per
    template, so it verifies and lints. Weight names use the placeholder
    `{L}` for the layer index (`layers.{L}.mixer.in_proj`); a weight
    without `{L}` is an error (every instance would share it) unless it
    sits in a `shared` layer, whose weights are shared on purpose.

    **Expansion.** The chain is replaced by one clone of a template per
    pattern position, in order, each reading the previous one's result.
    An instance gets its `index`, `{L}` replaced by that index in its
    `name`, its nested layers' names and every `braid.weight` name, and
    loses `braid.template`. Nested layers that carry an `index` get the
    same index.

    **Bindings.** A module-level `launch.weight` whose name has `{L}` is a
    template binding: it becomes one binding per instance that uses that
    weight, with `{L}` replaced in its name, its source tensor names and
    its tied aliases (`model.layers.{L}.mamba.in_proj.weight`). A template
    binding that no instance uses is dropped.

    **Pattern forms** (give exactly one):

    * `pattern`: one character per block, each block its own layer index
      (position 0, 1, ...), as Nemotron-H's `hybrid_override_pattern`.
      `(...)xN` repeats a group N times and nests: `(M-M*-)x2M`.
      Characters other than `(`, `)` are template tags.
    * `layers=N` with a period or index list, Jamba style: layer `i` is
      its mixer followed by its feed-forward block, both with index `i`.
      The mixer is `*` (attention) when `i % attention-period ==
      attention-offset` or `i` is in `attention-layers`, else `M`. The
      feed-forward block is `E` (MoE) when `i % expert-period ==
      expert-offset` or `i` is in `expert-layers`, else `-` (MLP); without
      an expert rule and without a `-` template, layers have no
      feed-forward block. The letters are Nemotron-H's: `M` recurrent
      mixer, `*` attention, `-` MLP, `E` MoE.

    Errors name the option, the pattern character and its position
    (counted from 1), the missing template, or the template and operand
    that break the chain convention.

    Example (Jamba: attention every 8th layer from 4, MoE every other
    layer from 1):

    ```
    braid-opt --braid-interleave="layers=32 attention-period=8 attention-offset=4 expert-period=2 expert-offset=1" templates.mlir
    braid-opt --braid-interleave="pattern=(M-M*-)x2M-" templates.mlir
    ```
  }];
  let options = [
    Option<"pattern", "pattern", "std::string", /*default=*/"\"\"",
           "layer pattern: one template tag per block, (...)xN repeats">,
    Option<"layers", "layers", "int64_t", /*default=*/"0",
           "number of layers for the period/index-list form">,
    Option<"attentionPeriod", "attention-period", "int64_t",
           /*default=*/"0", "layer i is attention when i % period == offset">,
    Option<"attentionOffset", "attention-offset", "int64_t",
           /*default=*/"0", "offset of the attention layers in their period">,
    ListOption<"attentionLayers", "attention-layers", "int64_t",
               "indices of the attention layers (instead of a period)">,
    Option<"expertPeriod", "expert-period", "int64_t", /*default=*/"0",
           "layer i has an MoE block when i % period == offset">,
    Option<"expertOffset", "expert-offset", "int64_t", /*default=*/"0",
           "offset of the MoE layers in their period">,
    ListOption<"expertLayers", "expert-layers", "int64_t",
               "indices of the layers with an MoE block (instead of a "
               "period)">
  ];
  let dependentDialects = ["::braid::BraidDialect"];
}

def BraidHybridize : Pass<"braid-hybridize", "mlir::ModuleOp"> {
  let summary = "replace the least sensitive attention layers by Mamba2";
  let description = [{
    Turns a transformer into an attention/Mamba2 hybrid the way
    AMD-HybridLM and Mamba-in-the-Llama do: the user measures, for every
    attention layer, how much the model suffers when that layer alone is
    replaced (e.g. the KL divergence of the outputs) and gives those
    `scores` in stack order with the number of attention layers to
    `keep`. The pass replaces the others, lowest score first; on equal
    scores the later layer is replaced first (a fixed rule, so that the
    choice depends only on the scores). A remark on the model function lists
    the replaced and the kept layers with their scores.

    **What is replaced.** Top-level `braid.layer attention` blocks of the
    pre-norm form: a norm of the block input, q/k/v projections
    (`braid.linear`, bias optional) of that norm, reshapes to heads,
    optional `rope` on q and k, `braid.attention`, reshape, o projection,
    optional residual multiplier (`scale`, as Granite has), residual `add`. Anything else in the block (scales, q/k norms, a KV
    cache) is an error naming the op, as is attention nested in a
    `parallel` or `shared` layer.

    **The Mamba2 block** (same `index` and `name`, input: the hidden state
    only) mirrors the attention as Mamba-in-the-Llama does: heads = the
    query heads `H`, head_dim = the attention's value head dim `P`, state
    size `N` = the q/k head dim (option `state-size`), B and x per KV head
    (`G` of them) repeated to the `H` heads as GQA shares them, C per
    head. Ops: the attention's own norm (same weight), `in_proj` (one
    linear with bias) split into z `[H*P]`, xBC `[G*P + G*N + H*N]` and dt
    `[H]`, `causal_conv1d` silu over xBC, split into x, B, C, x and B
    repeated from `G` to `H` heads (reshape, concat, reshape), `ssd_scan`
    (`num_groups = H`, `chunk-size`), `gated_rms_norm` with the z gate per
    head (`group_size = P`, the norm's epsilon), `out_proj` (with the o
    bias when there is one), the attention's residual multiplier if any,
    and the residual `add`.

    **Initialization, in the binding table.** New `launch.weight` ops
    record how each new weight starts; bindings of the removed attention
    weights are dropped. `in_proj` rows are `[z | x | B | C | dt]`:
    x from `v_proj`, B from `k_proj`, C from `q_proj` (the attention's own
    sources, concatenated along axis 0), z and dt rows zero. `in_proj_bias`
    is `[ones | v bias | k bias | q bias | zeros]` (zeros where the
    attention has no bias): a constant gate that the per-head norm divides
    out, so the block starts as the ungated linear-attention form of the
    layer it replaces. `out_proj` is `o_proj` (and `out_proj_bias` the o
    bias). The others use `init` sources: `conv` `conv_identity` (the
    convolution passes the current token through), `conv_bias` `zeros`,
    `dt_bias` `mamba2_dt_bias` (dt spread over [0.001, 0.1]), `A`
    `mamba2_A_log` with `neg_exp` (A spread over [-16, -1]), `D` and
    `gate_norm` `ones`. When `state-size` differs from the q/k head dim,
    B and C cannot start from k/q: their rows use `uniform_fan_in`, with
    a warning. Weights that the module binds to nothing start from a
    checkpoint tensor of their own name, as `braid-lower-to-launch` would
    bind them. (Bundle format 1 cannot carry `init` sources yet; see
    docs/bundle.md.)

    Example:

    ```
    braidc llama/ --emit=braid | braid-opt --braid-hybridize="scores=0.31,0.02,0.12,0.08 keep=2"
    ```
  }];
  let options = [
    ListOption<"scores", "scores", "double",
               "sensitivity of each attention layer in stack order (lower "
               "= safer to replace), e.g. KL divergence when it alone is "
               "swapped">,
    Option<"keep", "keep", "int64_t", /*default=*/"-1",
           "how many attention layers to keep (required)">,
    Option<"stateSize", "state-size", "int64_t", /*default=*/"0",
           "SSM state size; 0: the attention's q/k head dim">,
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"256",
           "chunk size of the SSD scan">,
    Option<"convKernel", "conv-kernel", "int64_t", /*default=*/"4",
           "width of the causal convolution">
  ];
  let dependentDialects = ["::braid::BraidDialect",
                           "::braid::launch::LaunchDialect"];
}

def BraidFoldWeightScales : Pass<"braid-fold-weight-scales", "mlir::ModuleOp"> {
  let summary = "fold constant multipliers of linears into their weights";
  let description = [{
    muP-style models (Granite, Falcon-H1) multiply activations by constants
    around their projections. Where the product is the same linear function
    of the input, the pass moves the constant into the weight and removes
    the multiplication, so no kernel runs for it. The weights are changed at
    load: the binding (`launch.weight`, created as braid-lower-to-launch
    would when the front end bound none) gets a `scale` prep step, one
    factor or one per row (docs/bundle.md), that the runtime applies after
    `elementwise`; kernels see plain weights.

    Folds, each exact in real arithmetic (fp32 results differ by rounding
    only):

    * output: `braid.scale` of a linear's result, `(x W^T + b) c = x (c
      W)^T + c b`; through `braid.split` along the features, the factor of
      each piece goes to its rows (Falcon-H1's per-channel `ssm_multipliers`
      on `in_proj`, `mlp_multipliers` on gate/up, Granite's residual and
      logits multipliers);
    * input: a `braid.scale` read only by linears, `(c x) W^T + b = x (c
      W)^T + b` (Falcon-H1's attention and SSM input multipliers);
    * embedding: a `braid.scale` of a `braid.embedding` (a gather) scales
      the table;
    * merge: the `multipliers` of a `sum`/`mean` merge go into the linear
      that produces a branch, directly or as what a nested layer yields
      (Falcon-H1's attention and SSM output multipliers).

    Nothing folds through a nonlinearity, into a value that has another
    reader, or into a weight whose name is used by another `braid.weight`
    (shared or tied storage). A `concat` of all the pieces of a `split` in
    order, which the per-piece folds leave behind, becomes the split's
    input (`populateFoldWeightScalesPatterns`).

    Example:

    ```mlir
    %y = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %z = braid.scale %y {factor = 5.0e-01 : f64} : tensor<?x?x32xf32>
    // becomes
    %z = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    // with: launch.weight "w" : [32, 64] x f32 {..., scale = array<f64: 5.0e-01>}
    ```
  }];
  let dependentDialects = ["::braid::BraidDialect",
                           "::braid::launch::LaunchDialect"];
}

def BraidFuseProjections : Pass<"braid-fuse-projections", "mlir::ModuleOp"> {
  let summary = "merge linears that read the same input into one GEMM";
  let description = [{
    `braid.linear` ops of one block that read the same value (q/k/v
    projections, a separate gate/up pair) become one `braid.linear` over a
    weight whose rows are the originals' rows in order (the bias likewise),
    followed by a `braid.split` along the features that gives the original
    results. In a `parallel` layer (Falcon-H1) the projections that the
    branches compute from the layer's shared input through their block
    arguments join the group too: the fused linear runs in the parallel
    layer and each branch receives its piece as a new input.

    The fused weight is named after the originals, joined by `+` after
    their common prefix (`layers.0.attn.q_proj+k_proj+v_proj`), and bound at load as the `concat` along rows of the
    originals' checkpoint sources (their bindings, or a tensor of their own
    name when unbound), keeping a `scale` prep step as per-row factors.
    Bindings that no weight uses any more are removed.

    A linear joins a group only when its weight (and bias) is a
    `braid.weight`, its weight and result element types and bias presence
    match the group's, and its binding concatenates: combine `single` or
    `concat` along rows with sources of whole rows, the same `elementwise`
    as the group, no tied aliases. Others stay as they are (the reason is
    printed with `-debug-only=braid-fuse-projections`). A split of a
    piece that only a second split reads merges with it
    (`populateFuseProjectionsPatterns`).

    Example:

    ```mlir
    %q = braid.linear %x, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    %k = braid.linear %x, %wk : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    // becomes
    %w = braid.weight "attn.q_proj+k_proj" : tensor<96x64xf32>
    %qk = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
    %q, %k = braid.split %qk {axis = 2 : i64, sizes = array<i64: 64, 32>}
        : (tensor<?x?x96xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)
    ```
  }];
  let dependentDialects = ["::braid::BraidDialect",
                           "::braid::launch::LaunchDialect"];
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
       attention reads `cache_position`; when the ops after the last layer
       are position-wise (final norm, lm_head, scales) and read one value
       from the layers, a third entry `prefill_last` runs them on each
       sequence's last position only (a `gather_last` launch copies that
       row into a `[B, 1, H]` buffer), giving logits `[B, 1, V]`;
    3. plans the arena by liveness: every transient value is `[B, T, ...]`,
       so offsets are planned in bytes per token and values whose lifetimes
       do not overlap share space (`launch.arena` records the peak);
    4. emits one `launch.kernel` per braid op (reshape is a view); every
       weight gets a `launch.weight` prep step: the front end's binding when
       the module already holds one for that name (HF imports do), else an
       identity binding to a checkpoint tensor of the same name and shape.

    With `fuse-epilogues` (braidc sets it when fusion is on), a
    `braid.linear` launch also does the work of its result's only reader:
    a `split` along the features becomes one `linear` launch with one
    result buffer per piece (no split launch, no wide buffer); an `add`
    whose other operand is computed before the linear becomes a `linear`
    launch with that operand as a fourth operand, the residual, added in
    the epilogue into the add's buffer; and a gated MLP (a split into two
    halves, an `activation` of one of them, the gate, `mul` by the other)
    becomes one `linear` launch with attribute `glu = "<activation>"` (and
    `glu_gate = 1` when the gate is the second half) that writes only the
    product (passes/EpilogueFusion.h has the rules). The residual's
    buffer stays live through the launch, so the planner never lets the
    result share its bytes.

    The function is removed; the module then holds only launch ops.

    Example:

    With `fuse-decode-steps` (braidc sets it when fusion is on), the decode
    entry, where every sequence advances by one token, runs each Mamba2
    mixer's `causal_conv1d -> split -> ssd_scan -> gate` chain (the gate a
    `gated_rms_norm`, a `mul` by `silu(z)`, or none) as one `mamba2_step`
    launch that updates the conv and SSM states and writes only the gated
    output (passes/DecodeFusion.h has the rules and the launch contract).
    The decode entry then plans its own buffers; the arena is the larger of
    the plans.

    With `fuse-decode-norms` (braidc sets it when fusion is on), an
    `rms_norm` of the decode entry whose result only `linear` launches read
    as their input gets no launch and no buffer: each of those launches
    reads the norm's input and weight and normalizes its rows itself
    (attribute `norm_eps`; passes/PrologueFusion.h has the rules and the
    launch contract). At one token per sequence the norm is a fixed launch
    cost.

    With `fuse-norms` (braidc sets it when fusion is on), such a norm gets
    no launch in any entry, prefill included, when its weight `g` and the
    weight of every linear that reads it are `braid.weight`s and each
    linear's weight is used by that linear alone: the linears' bindings get
    `column_scale = "<g's name>"` (the runtime multiplies every row of the
    weight by g at load) and their launches take no norm weight. With
    `row-sums` too, in the prefill entries the linear launch that writes
    the norm's input also writes, just past it, the sums of the squares of
    each row per 128 columns (attribute `row_sumsq`, an extra result) and
    the folding launches read them (operand 5): on sm_90a their GEMM
    scales its accumulators by each row's rsqrt, so no pass over the
    activations is left of the norm. Other engines would only compute the
    sums to ignore them, so braidc sets `row-sums` when sm_90a is among the
    targets.

    With `greedy-entry` (braidc sets it), a fourth entry `decode_greedy` runs
    the decode launches and then one `greedy_next` launch: each sequence's
    argmax over its logits (the lowest index among equal maxima) becomes its
    next `input_ids` entry, and its `positions` and `cache_position` advance
    by one, in place. Greedy generation then runs step after step on the
    device with no host work in between (the runtime copies the ids aside
    per step and reads them back once).

    ```
    braid-opt --braid-lower-to-launch model.mlir
    braid-opt --braid-lower-to-launch="fuse-epilogues=true" model.mlir
    braid-opt --braid-lower-to-launch="fuse-decode-steps=true" model.mlir
    braid-opt --braid-lower-to-launch="fuse-decode-norms=true" model.mlir
    braid-opt --braid-lower-to-launch="fuse-norms=true" model.mlir
    braid-opt --braid-lower-to-launch="fuse-norms=true row-sums=true" model.mlir
    braid-opt --braid-lower-to-launch="greedy-entry=true" model.mlir
    ```
  }];
  let options = [
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"false",
           "linear launches write their split's pieces, add their residual "
           "and compute gated MLPs in the epilogue">,
    Option<"fuseDecodeSteps", "fuse-decode-steps", "bool", /*default=*/"false",
           "in the decode entry, each Mamba2 mixer's conv, split, scan and "
           "gate run as one mamba2_step launch">,
    Option<"fuseDecodeNorms", "fuse-decode-norms", "bool", /*default=*/"false",
           "in the decode entry, linear launches normalize their input rows "
           "themselves in place of an rms_norm that only they read">,
    Option<"fuseNorms", "fuse-norms", "bool", /*default=*/"false",
           "in every entry, linear launches normalize their input rows "
           "themselves in place of an rms_norm that only they read, the "
           "norm's weight folded into theirs at load (column_scale)">,
    Option<"rowSums", "row-sums", "bool", /*default=*/"false",
           "with fuse-norms, in the prefill entries the linear launch that "
           "writes a folded norm's input also writes its rows' sums of "
           "squares for the folding launches (their sm_90a GEMM scales its "
           "rows in the epilogue; braidc sets it when sm_90a is a target)">,
    Option<"greedyEntry", "greedy-entry", "bool", /*default=*/"false",
           "add the decode_greedy entry: decode, then each sequence's argmax "
           "becomes its next input id and its positions advance">
  ];
  let dependentDialects = ["::braid::launch::LaunchDialect"];
}

def BraidLowerLinalg : Pass<"braid-lower-linalg", "mlir::ModuleOp"> {
  let summary = "turn fused linalg.generic ops into braid.fused_elementwise";
  let description = [{
    The ONNX importer writes ops that no braid op expresses as
    `linalg.generic` on tensors; `linalg-fuse-elementwise-ops` merges their
    chains first. This pass turns each remaining generic into one
    `braid.fused_elementwise` (kernel family `fused_elementwise`): its body
    becomes the serialized expression program, its indexing maps the
    per-input loop maps, and a reduction (`arith.addf` / `maximumf` /
    `minimumf` / `mulf` of the accumulator, initialized by a `linalg.fill`
    of a constant) the `reduce` kind and `init`. Then the `tensor.empty`,
    `tensor.dim`, `linalg.fill` and constants left behind are erased.

    Errors name the generic (its location is the ONNX node) and the piece
    that has no program form: an op of the body, an indexing map that is
    not a projected permutation with constant-0 broadcasts, an output map
    that is not the identity on the parallel loops, several results, or a
    reduction that is not one of the above.

    Example:

    ```
    braid-opt --linalg-fuse-elementwise-ops --braid-lower-linalg model.mlir
    ```
  }];
  let dependentDialects = ["::braid::BraidDialect"];
}

#endif // BRAID_PASSES_TD
