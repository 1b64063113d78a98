//===- LaunchOps.td - operations of the launch dialect ------*- tablegen -*-===//
#ifndef LAUNCH_OPS_TD
#define LAUNCH_OPS_TD

include "dialects/Launch/LaunchDialect.td"
include "mlir/IR/BuiltinAttributes.td"

def Launch_WeightOp : Launch_Op<"weight"> {
  let summary = "how one weight is prepared from checkpoint tensors";
  let description = [{
    A weight-prep step: the IR weight `name` (`shape`, `element_type`) is
    built from the checkpoint tensors in `sources` (each a dictionary with
    `tensor` and `shape`) by combining them (`combine`: single, concat along
    `axis`, stack, stack_of_concat in groups of `group_size`), applying
    `elementwise` (identity, or neg_exp for `A = -exp(A_log)`) and
    reshaping to `shape`. The runtime performs it when a session loads
    weights; `tied_aliases` lists other checkpoint names of the same storage.

    A source may instead be `{init = "...", shape = ...}`: values made
    from `shape` alone, for weights that start without a checkpoint tensor
    (the Mamba2 layers of `braid-hybridize`). `zeros`, `ones`;
    `uniform_fan_in`: U(-1, 1) / sqrt(last dim), from a generator seeded by
    the weight name and source index; `conv_identity` (`[channels, width]`):
    1 at the last tap, so a causal convolution passes the current token
    through; `mamba2_A_log`: `log(1 + 15 i / (n - 1))`, so that `neg_exp`
    gives A spread over [-16, -1]; `mamba2_dt_bias`: the inverse softplus of
    dt spread geometrically over [0.001, 0.1].

    Example:

    ```mlir
    launch.weight "layers.0.mixer.A" : [8] x f32 {combine = "single", axis = 0 : i64,
        group_size = 0 : i64, elementwise = "neg_exp",
        sources = [{tensor = "model.layers.0.mamba.A_log", shape = array<i64: 8>} ]}
    launch.weight "layers.1.mixer.in_proj_bias" : [56] x f32 {combine = "concat", axis = 0 : i64,
        group_size = 0 : i64, elementwise = "identity",
        sources = [{init = "ones", shape = array<i64: 16>},
                   {tensor = "model.layers.1.self_attn.v_proj.bias", shape = array<i64: 8>},
                   {init = "zeros", shape = array<i64: 32>} ]}
    ```
  }];
  let arguments = (ins StrAttr:$name, DenseI64ArrayAttr:$shape,
                   TypeAttr:$element_type, ArrayAttr:$sources,
                   StrAttr:$combine, I64Attr:$axis, I64Attr:$group_size,
                   StrAttr:$elementwise,
                   OptionalAttr<StrArrayAttr>:$tied_aliases);
  let assemblyFormat = [{
    $name `:` custom<SymbolicShape>($shape) `x` $element_type attr-dict
  }];
  let hasVerifier = 1;
}

def Launch_StateOp : Launch_Op<"state"> {
  let summary = "a persistent per-session buffer";
  let description = [{
    A buffer that the session owns and that persists across entry calls: a
    KV cache, a convolution state or an SSM state. It is zeroed when a
    sequence starts (prefill). Its shape may use `B` and `S`.

    Example:

    ```mlir
    launch.state "layers.1.mixer.k_cache" : [B, 2, S, 16] x f32
    ```
  }];
  let arguments = (ins StrAttr:$name, DenseI64ArrayAttr:$shape,
                   TypeAttr:$element_type);
  let assemblyFormat = [{
    $name `:` custom<SymbolicShape>($shape) `x` $element_type attr-dict
  }];
  let hasVerifier = 1;
}

def Launch_ArenaOp : Launch_Op<"arena"> {
  let summary = "the planned scratch memory of the entries";
  let description = [{
    Every transient value of an entry has shape `[B, T, ...]`; the planner
    gives each an offset in bytes per token so that the arena needs
    `bytes_per_token * B * T` bytes. Values whose lifetimes do not overlap
    share space.

    Example:

    ```mlir
    launch.arena {bytes_per_token = 4096 : i64}
    ```
  }];
  let arguments = (ins I64Attr:$bytes_per_token);
  let assemblyFormat = "attr-dict";
}

def Launch_EntryOp : Launch_Op<"entry", [NoTerminator, SingleBlock]> {
  let summary = "an entry function: kernel launches run in order";
  let description = [{
    `prefill` runs B new sequences of T tokens (states zeroed first);
    `decode` runs one token per sequence (T = 1) and updates the states in
    place; `prefill_last` is `prefill` whose final position-wise ops (norm,
    lm_head) run on each sequence's last position only, after a
    `gather_last` launch copies those rows into a `[B, 1, H]` buffer: its
    logits are `[B, 1, V]`. `decode_greedy` is `decode` followed by a
    `greedy_next` launch that writes each sequence's argmax into
    `input_ids` and advances `positions` and `cache_position` in place, so
    that greedy generation can run step after step without the host.
    `inputs` and `outputs` name the entry's I/O buffers (input_ids,
    positions, cache_position; logits).

    Example:

    ```mlir
    launch.entry "decode" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
      launch.kernel "embedding" "embed" [...] -> [...] attrs {}
    }
    ```
  }];
  let arguments = (ins StrAttr:$name, StrArrayAttr:$inputs,
                   StrArrayAttr:$outputs);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$name attr-dict-with-keyword $body";
}

def Launch_KernelOp : Launch_Op<"kernel", [HasParent<"EntryOp">]> {
  let summary = "one kernel launch";
  let description = [{
    Launches the kernel `family` (named after the `braid` op it implements)
    on planned buffers. `operands` follows the braid op's operand order
    (`unit` for an absent optional operand), `results` its result order; a
    state may appear in both (updated in place). `attrs` holds the op's
    attributes with enums as keyword strings; `source` names the block the
    launch came from.

    Example:

    ```mlir
    launch.kernel "rms_norm" "layers.0.mixer"
        [#launch.buffer<arena 0 : [B, T, 64] x f32>, #launch.buffer<weight "layers.0.mixer.norm" : [64] x f32>]
        -> [#launch.buffer<arena 256 : [B, T, 64] x f32>] attrs {epsilon = 1.0e-05 : f64}
    ```
  }];
  let arguments = (ins StrAttr:$family, StrAttr:$source, ArrayAttr:$operands,
                   ArrayAttr:$results, DictionaryAttr:$attrs);
  let assemblyFormat = [{
    $family $source $operands `->` $results `attrs` $attrs attr-dict
  }];
  let hasVerifier = 1;
}

#endif // LAUNCH_OPS_TD
