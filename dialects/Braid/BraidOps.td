//===- BraidOps.td - operations of the braid dialect --------*- tablegen -*-===//
//
// Every op has a summary, a description with an example and a verifier whose
// messages name the operand, dimension or attribute at fault.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_OPS_TD
#define BRAID_OPS_TD

include "dialects/Braid/BraidDialect.td"
include "mlir/IR/OpAsmInterface.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Braid_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Braid_IntTensor : RankedTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Weights and embeddings
//===----------------------------------------------------------------------===//

def Braid_WeightOp : Braid_Op<"weight", [Pure]> {
  let summary = "a named model parameter";
  let description = [{
    Produces the parameter called `name`. The front end's weight binding
    table maps the name to a checkpoint tensor and the load-time transform
    that produces this value (transpose, `-exp(A_log)`, concatenation, dtype
    cast). Parameters have static shapes. Two `braid.weight` ops with the
    same name denote the same storage (Zamba2's shared blocks rely on this).

    Example:

    ```mlir
    %w = braid.weight "layers.0.mixer.in_proj" : tensor<4368x2048xbf16>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Braid_EmbeddingOp : Braid_Op<"embedding", [Pure]> {
  let summary = "token embedding lookup";
  let description = [{
    Gathers rows of `table` (`[vocab, hidden]`) for integer `ids`
    (`[batch, seq]`), giving `[batch, seq, hidden]`.

    Example:

    ```mlir
    %h = braid.embedding %ids, %table
        : (tensor<?x?xi64>, tensor<32000x2048xf32>) -> tensor<?x?x2048xf32>
    ```
  }];
  let arguments = (ins Braid_IntTensor:$ids, Braid_FloatTensor:$table);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Norms, projections, rotary embedding
//===----------------------------------------------------------------------===//

def Braid_RMSNormOp : Braid_Op<"rms_norm", [Pure]> {
  let summary = "root-mean-square normalization over the last dimension";
  let description = [{
    `y = x / sqrt(mean(x^2, -1) + epsilon) * weight`, computed in fp32 and
    returned in the element type of `x`. `weight` has the size of the last
    dimension of `x`.

    Example:

    ```mlir
    %y = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x2048xf32>, tensor<2048xf32>) -> tensor<?x?x2048xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, Braid_FloatTensor:$weight,
                   F64Attr:$epsilon);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Braid_LayerNormOp : Braid_Op<"layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "layer normalization over the last dimension";
  let description = [{
    `y = (x - mean) / sqrt(var + epsilon) * weight + bias` over the last
    dimension. `weight` and `bias` are optional (Jamba's dt/B/C norms carry
    only a weight).

    Example:

    ```mlir
    %y = braid.layer_norm %x weight %w bias %b {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input,
                   Optional<Braid_FloatTensor>:$weight,
                   Optional<Braid_FloatTensor>:$bias, F64Attr:$epsilon);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`weight` $weight^)? (`bias` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Braid_LinearOp : Braid_Op<"linear", [Pure]> {
  let summary = "affine projection of the last dimension";
  let description = [{
    `y[..., n] = sum_k x[..., k] * weight[n, k] + bias[n]`. The weight is
    `[out_features, in_features]`; the bias, when present, is
    `[out_features]`.

    Example:

    ```mlir
    %y = braid.linear %x, %w bias %b
        : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, Braid_FloatTensor:$weight,
                   Optional<Braid_FloatTensor>:$bias);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Braid_RopeOp : Braid_Op<"rope", [Pure]> {
  let summary = "rotary position embedding of the leading rotary_dim channels";
  let description = [{
    Rotates the first `rotary_dim` channels of each head of `input`
    (`[batch, seq, heads, head_dim]`) by angles `position * theta^(-2i /
    rotary_dim)`; the remaining `head_dim - rotary_dim` channels pass through
    (partial rotary, as Bamba and Falcon use). By default the two halves of
    the rotary channels form the pairs (GPT-NeoX / Llama layout); with
    `interleaved`, adjacent channels do (GPT-J layout). `positions` is
    `[batch, seq]`.

    Example (Bamba, rotary fraction 0.5 of head_dim 64):

    ```mlir
    %qr = braid.rope %q, %pos {rotary_dim = 32 : i64, theta = 1.0e+04 : f64}
        : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, Braid_IntTensor:$positions,
                   I64Attr:$rotary_dim, F64Attr:$theta,
                   UnitAttr:$interleaved);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $positions attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Element-wise math and shape plumbing
//===----------------------------------------------------------------------===//

def Braid_ActivationOp : Braid_Op<"activation", [Pure, SameOperandsAndResultType]> {
  let summary = "element-wise activation function";
  let description = [{
    Applies the activation named by `kind` (identity, silu, gelu, gelu_tanh,
    relu, relu2 = squared relu as Nemotron-H uses, sigmoid, softplus, tanh)
    to every element.

    Example:

    ```mlir
    %y = braid.activation silu %x : tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Braid_ActivationKind:$kind, Braid_FloatTensor:$input);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($result)";
  let hasFolder = 1;
}

class Braid_BinaryOp<string mnemonic, string what>
    : Braid_Op<mnemonic, [Pure]> {
  let summary = "element-wise " # what # " with trailing-dimension broadcast";
  let arguments = (ins Braid_FloatTensor:$lhs, Braid_FloatTensor:$rhs);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Braid_AddOp : Braid_BinaryOp<"add", "addition"> {
  let description = [{
    `result = lhs + rhs`. `rhs` either has the type of `lhs` or matches its
    trailing dimensions (a per-channel bias); the result has the type of
    `lhs`. Residual connections use it.

    Example:

    ```mlir
    %r = braid.add %h, %y
        : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    ```
  }];
}

def Braid_MulOp : Braid_BinaryOp<"mul", "multiplication"> {
  let description = [{
    `result = lhs * rhs` with the broadcast rule of `braid.add`. Gates
    (`silu(gate) * up`) and per-channel multiplier vectors (Falcon-H1's
    muP multipliers on the Mamba2 input projection) use it.

    Example:

    ```mlir
    %g = braid.mul %a, %m
        : (tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    ```
  }];
}

def Braid_ScaleOp : Braid_Op<"scale", [Pure, SameOperandsAndResultType]> {
  let summary = "multiplication by a compile-time constant";
  let description = [{
    `result = input * factor`. Carries the scalar multipliers of muP-style
    models (embedding, residual, logits multipliers) so that fusion passes
    can fold them into weights or epilogues. A factor of 1 folds away and
    nested scales combine.

    Example:

    ```mlir
    %y = braid.scale %x {factor = 1.2e+01 : f64} : tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, F64Attr:$factor);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Braid_ConcatOp : Braid_Op<"concat", [Pure]> {
  let summary = "concatenation along one axis";
  let description = [{
    Joins `inputs` along `axis`; every other dimension must agree. Zamba2's
    shared blocks read `concat(hidden, embeddings)`.

    Example:

    ```mlir
    %c = braid.concat %h, %e {axis = 2 : i64}
        : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Variadic<Braid_FloatTensor>:$inputs, I64Attr:$axis);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $inputs attr-dict `:` functional-type($inputs, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Braid_SplitOp : Braid_Op<"split", [Pure]> {
  let summary = "split along one axis into pieces of given sizes";
  let description = [{
    Cuts `input` along `axis` into consecutive pieces of `sizes`, which must
    add up to the size of that axis. Mamba2's fused input projection is
    split into gate, conv input and dt this way.

    Example:

    ```mlir
    %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 160, 8>}
        : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>)
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, I64Attr:$axis,
                   DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Braid_FloatTensor>:$results);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type($input, results)
  }];
  let hasVerifier = 1;
}

def Braid_ReshapeOp : Braid_Op<"reshape", [Pure]> {
  let summary = "reshape that keeps the dynamic leading dimensions";
  let description = [{
    Changes the static trailing dimensions of `input`, for example splitting
    `[batch, seq, heads * head_dim]` into `[batch, seq, heads, head_dim]` or
    merging them back. Dynamic dimensions must stay in place, and the
    product of the static dimensions must not change.

    Example:

    ```mlir
    %q4 = braid.reshape %q : (tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type($input, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Braid_AttentionOp : Braid_Op<"attention", [Pure, AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention with GQA/MQA and optional KV cache";
  let description = [{
    `q` is `[batch, seq, num_heads, head_dim]`, `k` and `v` are
    `[batch, kv_seq, num_kv_heads, head_dim]` (`v` may have its own head
    dim). Each group of `num_heads / num_kv_heads` query heads shares one KV
    head (GQA; MQA when `num_kv_heads = 1`). Scores are `scale * q.k`,
    passed through `softcap * tanh(s / softcap)` when `softcap` is set,
    masked causally when `causal` is true and to the last `sliding_window`
    keys when that is set.

    With a KV cache, `k_cache` and `v_cache` are `[batch, num_kv_heads,
    max_seq, head_dim]` and `cache_position` (`[batch]`) counts the tokens
    already cached per sequence; the new keys and values are written at that
    position, attention runs over the cache, and the op returns the updated
    caches after the output.

    Example (prefill, GQA 4/2):

    ```mlir
    %o = braid.attention %q, %k, %v
        {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal = true, scale = 0.25 : f64}
        : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$q, Braid_FloatTensor:$k,
                   Braid_FloatTensor:$v,
                   Optional<Braid_FloatTensor>:$k_cache,
                   Optional<Braid_FloatTensor>:$v_cache,
                   Optional<Braid_IntTensor>:$cache_position,
                   I64Attr:$num_heads, I64Attr:$num_kv_heads,
                   DefaultValuedAttr<BoolAttr, "true">:$causal,
                   F64Attr:$scale,
                   OptionalAttr<I64Attr>:$sliding_window,
                   OptionalAttr<F64Attr>:$softcap);
  let results = (outs Braid_FloatTensor:$output,
                  Variadic<Braid_FloatTensor>:$updated_caches);
  let assemblyFormat = [{
    $q `,` $k `,` $v
    (`cache` `(` $k_cache^ `,` $v_cache `,` $cache_position `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Braid_MLAOp : Braid_Op<"mla", [Pure, AttrSizedOperandSegments]> {
  let summary = "multi-latent attention over a low-rank compressed KV";
  let description = [{
    Multi-latent attention (DeepSeek-V2, AMD-HybridLM): keys and values are
    reconstructed per head from a shared low-rank latent.

    * `q`: `[batch, seq, num_heads, qk_nope_head_dim + qk_rope_head_dim]`,
      its rotary part already rotated;
    * `kv_latent`: `[batch, kv_seq, kv_lora_rank]`, the normalized
      compressed KV;
    * `k_rope`: `[batch, kv_seq, qk_rope_head_dim]`, the decoupled rotary
      key shared by all heads, already rotated;
    * `kv_up`: `[num_heads * (qk_nope_head_dim + v_head_dim), kv_lora_rank]`,
      the up-projection giving each head's non-rotary key and value.

    With a cache, `latent_cache` is `[batch, max_seq, kv_lora_rank +
    qk_rope_head_dim]` (latent and rotary key side by side) and
    `cache_position` is `[batch]`; the op then also returns the updated
    cache. Output: `[batch, seq, num_heads, v_head_dim]`.

    Example:

    ```mlir
    %o = braid.mla %q, %c, %kr, %wkv
        {num_heads = 8 : i64, kv_lora_rank = 64 : i64, qk_nope_head_dim = 32 : i64,
         qk_rope_head_dim = 16 : i64, v_head_dim = 32 : i64, scale = 0.144 : f64}
        : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>)
        -> tensor<?x?x8x32xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$q, Braid_FloatTensor:$kv_latent,
                   Braid_FloatTensor:$k_rope, Braid_FloatTensor:$kv_up,
                   Optional<Braid_FloatTensor>:$latent_cache,
                   Optional<Braid_IntTensor>:$cache_position,
                   I64Attr:$num_heads, I64Attr:$kv_lora_rank,
                   I64Attr:$qk_nope_head_dim, I64Attr:$qk_rope_head_dim,
                   I64Attr:$v_head_dim, F64Attr:$scale,
                   DefaultValuedAttr<BoolAttr, "true">:$causal);
  let results = (outs Braid_FloatTensor:$output,
                  Optional<Braid_FloatTensor>:$updated_cache);
  let assemblyFormat = [{
    $q `,` $kv_latent `,` $k_rope `,` $kv_up
    (`cache` `(` $latent_cache^ `,` $cache_position `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// State-space ops
//===----------------------------------------------------------------------===//

def Braid_CausalConv1dOp : Braid_Op<"causal_conv1d", [Pure, AttrSizedOperandSegments]> {
  let summary = "causal depthwise 1-D convolution with optional state and activation";
  let description = [{
    Per channel `c`: `y[b, t, c] = act(bias[c] + sum_j weight[c, j] *
    x[b, t - (kernel_size - 1) + j, c])`, where positions before the first
    token read zeros, or the last `kernel_size - 1` inputs of the previous
    call when `conv_state` (`[batch, channels, kernel_size - 1]`) is given.
    With a state the op also returns the new state. `activation` is
    `identity` or `silu`, written right after the op name.

    Example (Mamba2 prefill, d_conv 4):

    ```mlir
    %y = braid.causal_conv1d silu %xbc, %w bias %b {kernel_size = 4 : i64}
        : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>) -> tensor<?x?x160xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, Braid_FloatTensor:$weight,
                   Optional<Braid_FloatTensor>:$bias,
                   Optional<Braid_FloatTensor>:$conv_state,
                   I64Attr:$kernel_size, Braid_ActivationKind:$activation);
  let results = (outs Braid_FloatTensor:$output,
                  Optional<Braid_FloatTensor>:$updated_state);
  let assemblyFormat = [{
    $activation $input `,` $weight (`bias` $bias^)? (`state` $conv_state^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Braid_SelectiveScanOp : Braid_Op<"selective_scan", [Pure, AttrSizedOperandSegments]> {
  let summary = "Mamba1 selective scan with its dt/B/C projection";
  let description = [{
    The SSM core of a Mamba1 block, after the causal convolution:

    1. `[dt_low, B, C] = split(x @ x_proj^T, [dt_rank, state_size, state_size])`;
    2. optional RMS norms of `dt_low`, `B`, `C` (Jamba) with weights
       `dt_norm`, `b_norm`, `c_norm` and `norm_epsilon`;
    3. `dt = softplus(dt_low @ dt_proj^T + dt_bias)`;
    4. per channel `d` and state `n`:
       `h = exp(dt * A[d, n]) * h + dt * B[n] * x[d]`,
       `y[d] = sum_n C[n] * h[d, n] + D[d] * x[d]`;
    5. `y = y * silu(z)` when the gate `z` is given.

    Shapes: `x`, `z`: `[batch, seq, d_inner]`; `x_proj`: `[dt_rank + 2 *
    state_size, d_inner]`; `dt_proj`: `[d_inner, dt_rank]`; `dt_bias`, `D`:
    `[d_inner]`; `A`: `[d_inner, state_size]` (already `-exp(A_log)`);
    norm weights `[dt_rank]`, `[state_size]`, `[state_size]`; `state`:
    `[batch, d_inner, state_size]` (fp32 recommended). With a state the op
    starts from it and also returns the final state.

    Example:

    ```mlir
    %y = braid.selective_scan %x, %xp, %dtp, %dtb, %A gate %z skip %D
        {dt_rank = 4 : i64, state_size = 16 : i64, norm_epsilon = 1.0e-06 : f64}
        : (tensor<?x?x128xf32>, tensor<36x128xf32>, tensor<128x4xf32>, tensor<128xf32>,
           tensor<128x16xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, Braid_FloatTensor:$x_proj,
                   Braid_FloatTensor:$dt_proj, Braid_FloatTensor:$dt_bias,
                   Braid_FloatTensor:$A,
                   Optional<Braid_FloatTensor>:$gate,
                   Optional<Braid_FloatTensor>:$D,
                   Optional<Braid_FloatTensor>:$dt_norm,
                   Optional<Braid_FloatTensor>:$b_norm,
                   Optional<Braid_FloatTensor>:$c_norm,
                   Optional<Braid_FloatTensor>:$state,
                   I64Attr:$dt_rank, I64Attr:$state_size,
                   DefaultValuedAttr<F64Attr, "1.0e-6">:$norm_epsilon);
  let results = (outs Braid_FloatTensor:$output,
                  Optional<Braid_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $input `,` $x_proj `,` $dt_proj `,` $dt_bias `,` $A
    (`gate` $gate^)? (`skip` $D^)?
    (`norms` `(` $dt_norm^ `,` $b_norm `,` $c_norm `)`)?
    (`state` $state^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Braid_SSDScanOp : Braid_Op<"ssd_scan", [Pure, AttrSizedOperandSegments]> {
  let summary = "Mamba2 state-space duality (SSD) chunked scan";
  let description = [{
    The SSM core of a Mamba2 block. With `dt' = clamp(softplus(dt +
    dt_bias), dt_min, dt_max)` (softplus only when `dt_softplus`, clamping
    only where the limits are finite) and head `h` reading group
    `h / (num_heads / num_groups)` of `B` and `C`:

    `state[h] = exp(dt'[h] * A[h]) * state[h] + dt'[h] * x[h] (outer) B[g]`,
    `y[h] = state[h] . C[g] + D[h] * x[h]`.

    Kernels evaluate it in chunks of `chunk_size` tokens (the SSD form);
    `chunk_size` is part of the op because it fixes how prefill splits the
    sequence. Shapes: `x`: `[batch, seq, num_heads, head_dim]`; `dt`:
    `[batch, seq, num_heads]`; `A`, `D`, `dt_bias`: `[num_heads]` (`A`
    already `-exp(A_log)`); `B`, `C`: `[batch, seq, num_groups,
    state_size]`; `initial_state`: `[batch, num_heads, head_dim,
    state_size]`. With an initial state the op also returns the final state.
    Gating and the gated norm follow as separate ops.

    Example (Bamba-1.5B shapes):

    ```mlir
    %y = braid.ssd_scan %x, %dt, %A, %B, %C skip %D dt_bias %dtb
        {num_heads = 64 : i64, head_dim = 64 : i64, num_groups = 1 : i64,
         state_size = 128 : i64, chunk_size = 256 : i64}
        : (tensor<?x?x64x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x1x128xf32>,
           tensor<?x?x1x128xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64x64xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, Braid_FloatTensor:$dt,
                   Braid_FloatTensor:$A, Braid_FloatTensor:$B,
                   Braid_FloatTensor:$C,
                   Optional<Braid_FloatTensor>:$D,
                   Optional<Braid_FloatTensor>:$dt_bias,
                   Optional<Braid_FloatTensor>:$initial_state,
                   I64Attr:$num_heads, I64Attr:$head_dim, I64Attr:$num_groups,
                   I64Attr:$state_size, I64Attr:$chunk_size,
                   DefaultValuedAttr<BoolAttr, "true">:$dt_softplus,
                   DefaultValuedAttr<F64Attr, "0.0">:$dt_min,
                   OptionalAttr<F64Attr>:$dt_max);
  let results = (outs Braid_FloatTensor:$output,
                  Optional<Braid_FloatTensor>:$final_state);
  let assemblyFormat = [{
    $input `,` $dt `,` $A `,` $B `,` $C (`skip` $D^)? (`dt_bias` $dt_bias^)?
    (`state` $initial_state^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Braid_GatedRMSNormOp : Braid_Op<"gated_rms_norm", [Pure]> {
  let summary = "RMS norm with a SiLU gate, normalized per group";
  let description = [{
    Mamba2's output norm. With `norm_before_gate = false` (the Mamba2
    default): `y = rmsnorm(x * silu(gate)) * weight`; with
    `norm_before_gate = true`: `y = rmsnorm(x) * weight * silu(gate)`. The
    mean of squares runs over groups of `group_size` channels of the last
    dimension (`d_inner / n_groups` in Mamba2), so the last dimension must be
    a multiple of `group_size`.

    Example:

    ```mlir
    %y = braid.gated_rms_norm %x, %z, %w {group_size = 64 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Braid_FloatTensor:$input, Braid_FloatTensor:$gate,
                   Braid_FloatTensor:$weight, I64Attr:$group_size,
                   F64Attr:$epsilon,
                   DefaultValuedAttr<BoolAttr, "false">:$norm_before_gate);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gate `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

def Braid_MoEOp : Braid_Op<"moe", [Pure, AttrSizedOperandSegments]> {
  let summary = "mixture-of-experts feed-forward with optional shared experts";
  let description = [{
    Routes each token of `input` (`[batch, seq, hidden]`) to `top_k` of
    `num_experts` gated MLP experts:

    1. `logits = input @ router^T (+ router_bias)`, `router`:
       `[num_experts, hidden]`;
    2. expert weights by `routing`: `softmax_topk` (softmax over all experts,
       keep the top k; renormalized to sum 1 when `normalize_topk`),
       `topk_softmax` (softmax over the top-k logits) or `sigmoid_topk`;
       multiplied by `routed_scaling`;
    3. expert `e`: `down[e] @ (act(gate) * up)` with `[gate; up] =
       gate_up[e] @ x`; `gate_up`: `[num_experts, 2 * expert_dim, hidden]`,
       `down`: `[num_experts, hidden, expert_dim]`;
       (`act` is the activation written after the routing mode);
    4. plus, when given, a shared expert that every token uses:
       `shared_gate_up`: `[2 * shared_dim, hidden]`, `shared_down`:
       `[hidden, shared_dim]` (GraniteMoeHybrid).

    Example (Jamba-style top-2 of 4):

    ```mlir
    %y = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64}
        : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>)
        -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Braid_MoERouting:$routing, Braid_FloatTensor:$input,
                   Braid_FloatTensor:$router, Braid_FloatTensor:$gate_up,
                   Braid_FloatTensor:$down,
                   Optional<Braid_FloatTensor>:$router_bias,
                   Optional<Braid_FloatTensor>:$shared_gate_up,
                   Optional<Braid_FloatTensor>:$shared_down,
                   I64Attr:$num_experts, I64Attr:$top_k,
                   DefaultValuedAttr<BoolAttr, "false">:$normalize_topk,
                   DefaultValuedAttr<F64Attr, "1.0">:$routed_scaling,
                   Braid_ActivationKind:$activation);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $routing $activation $input `,` $router `,` $gate_up `,` $down
    (`router_bias` $router_bias^)?
    (`shared` `(` $shared_gate_up^ `,` $shared_down `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Structure: merges of parallel branches and layers
//===----------------------------------------------------------------------===//

def Braid_MergeOp : Braid_Op<"merge", [Pure, AttrSizedOperandSegments]> {
  let summary = "combine the outputs of parallel branches";
  let description = [{
    Combines `branches` of identical type:

    * `sum`: `sum_i multipliers[i] * branch_i` (Falcon-H1 adds its attention
      and Mamba2 outputs, each with its own output multiplier);
    * `mean`: `(1/n) sum_i multipliers[i] * branch_i`;
    * `concat_proj`: `concat(branch_i) @ weight^T` with `weight`
      `[hidden, n * hidden]`;
    * `attention`: per token, scores `s_i = branch_i . weight` with `weight`
      `[hidden]`, `softmax` over the branches, and the score-weighted sum.

    `multipliers` defaults to all ones and only applies to `sum` and `mean`.
    A merge of one branch folds to that branch; all-one multipliers are
    dropped.

    Example:

    ```mlir
    %m = braid.merge sum %attn, %ssm {multipliers = array<f64: 1.0, 0.5>}
        : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Braid_MergeMode:$mode,
                   Variadic<Braid_FloatTensor>:$branches,
                   Optional<Braid_FloatTensor>:$weight,
                   OptionalAttr<DenseF64ArrayAttr>:$multipliers);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    $mode $branches (`weight` $weight^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Braid_FusedElementwiseOp : Braid_Op<"fused_elementwise", [Pure]> {
  let summary = "a fused element-wise region with an optional trailing reduction";
  let description = [{
    One loop nest over `loop_sizes` (-1: a dynamic loop, the batch or
    sequence dimension) computing `program` (an expression over the inputs,
    targets/common/kernels/ElementwiseProgram.h) at every index. Input `i`
    reads, for each of its dimensions in order, the loop given by its slice
    of `input_maps` (the inputs' ranks concatenated; -1: a broadcast
    dimension of size 1). Loops listed in `reduction_dims` are reduced with
    `reduce` (`sum`, `max`, `min`, `prod`) starting from `init`; the result
    has the other loops as its dimensions, in order. Without reduction
    (`reduce = "none"`) every loop is a result dimension. Made by
    `braid-lower-linalg` from a fused `linalg.generic`; launches the kernel
    family `fused_elementwise`.

    Example (the row sums of `exp(x - m)`, `m` a per-row maximum):

    ```mlir
    %s = braid.fused_elementwise(%x, %m) {program = "in 0; in 1; sub %0 %1; exp %2",
        loop_sizes = array<i64: -1, -1, 64>, input_maps = array<i64: 0, 1, 2, 0, 1>,
        reduction_dims = array<i64: 2>, reduce = "sum", init = 0.0 : f64}
        : (tensor<?x?x64xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Variadic<Braid_FloatTensor>:$inputs, StrAttr:$program,
                   DenseI64ArrayAttr:$loop_sizes, DenseI64ArrayAttr:$input_maps,
                   DenseI64ArrayAttr:$reduction_dims,
                   DefaultValuedAttr<StrAttr, "\"none\"">:$reduce,
                   DefaultValuedAttr<F64Attr, "0.0">:$init);
  let results = (outs Braid_FloatTensor:$result);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, results)
  }];
  let hasVerifier = 1;
}

def Braid_LayerOp : Braid_Op<"layer", [
    IsolatedFromAbove, SingleBlockImplicitTerminator<"YieldOp">,
    RecursiveMemoryEffects]> {
  let summary = "one block of the model, named by its kind";
  let description = [{
    A region holding one block of the model: a mixer (`mamba`, `mamba2`,
    `attention`), a feed-forward block (`mlp`, `moe`), a `parallel` block
    whose body runs several nested layers on the same input and merges them,
    or a `shared` block whose weights are reused at several depths
    (Zamba2). `index` is the block's position in the stack; `name` is
    free-form (a front end puts the source layer name there).

    The region is isolated from above: everything it reads comes in as
    operands, so passes can clone, reorder and interleave whole blocks. Its
    entry block takes one argument per operand, of the same type, and ends
    with `braid.yield` of the layer's results.

    Example:

    ```mlir
    %h1 = braid.layer mlp (%h0) {index = 1 : i64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%x: tensor<?x?x64xf32>):
      %y = braid.activation silu %x : tensor<?x?x64xf32>
      braid.yield %y : tensor<?x?x64xf32>
    }
    ```
  }];
  let arguments = (ins Braid_LayerKind:$kind, Variadic<AnyType>:$inputs,
                   OptionalAttr<I64Attr>:$index, OptionalAttr<StrAttr>:$name);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kind `(` $inputs `)` attr-dict `:` functional-type($inputs, results)
    $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Nested layers directly inside this one (branches of a parallel block).
    auto getNestedLayers() { return getBody().front().getOps<LayerOp>(); }
  }];
}

def Braid_YieldOp : Braid_Op<"yield", [
    Pure, Terminator, ReturnLike, HasParent<"LayerOp">]> {
  let summary = "return values from a braid.layer body";
  let description = [{
    Terminates the body of a `braid.layer`; its operands become the layer's
    results and must match their types.

    Example:

    ```mlir
    braid.yield %h : tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ /* nothing to yield */ }]>];
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

#endif // BRAID_OPS_TD
