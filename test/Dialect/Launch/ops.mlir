// Round trip of every launch op and every #launch.buffer kind in custom form,
// through a second parse, and through the generic form: weights with each
// combine kind, both elementwise transforms and tied aliases; states with B and
// S; the arena; entries with and without kernels; kernels over arena, weight,
// state, input and output buffers, with absent (unit) operands.
//
// RUN: braid-opt %s | FileCheck %s
// RUN: braid-opt %s | braid-opt | FileCheck %s
// RUN: braid-opt %s --mlir-print-op-generic | braid-opt | FileCheck %s
// RUN: braid-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// weight, combine single with neg_exp: A = -exp(A_log).
// CHECK-LABEL: launch.weight "layers.0.mixer.A" : [8] x f32
// CHECK-SAME: {axis = 0 : i64, combine = "single", elementwise = "neg_exp", group_size = 0 : i64, sources = [{shape = array<i64: 8>, tensor = "model.layers.0.mamba.A_log"}]}
// GENERIC: "launch.weight"() <{axis = 0 : i64, combine = "single", element_type = f32, elementwise = "neg_exp", group_size = 0 : i64, name = "layers.0.mixer.A", shape = array<i64: 8>, sources = [{shape = array<i64: 8>, tensor = "model.layers.0.mamba.A_log"}]}> : () -> ()
launch.weight "layers.0.mixer.A" : [8] x f32 {combine = "single", axis = 0 : i64,
    group_size = 0 : i64, elementwise = "neg_exp",
    sources = [{tensor = "model.layers.0.mamba.A_log", shape = array<i64: 8>}]}

// weight, combine concat along axis 0 (q, k, v into one projection), bf16.
// CHECK-LABEL: launch.weight "layers.1.attn.qkv" : [128, 64] x bf16
// CHECK-SAME: {axis = 0 : i64, combine = "concat", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 64, 64>, tensor = "q_proj"}, {shape = array<i64: 32, 64>, tensor = "k_proj"}, {shape = array<i64: 32, 64>, tensor = "v_proj"}]}
launch.weight "layers.1.attn.qkv" : [128, 64] x bf16 {combine = "concat", axis = 0 : i64,
    group_size = 0 : i64, elementwise = "identity",
    sources = [{tensor = "q_proj", shape = array<i64: 64, 64>},
               {tensor = "k_proj", shape = array<i64: 32, 64>},
               {tensor = "v_proj", shape = array<i64: 32, 64>}]}

// weight, combine concat along axis 1.
// CHECK-LABEL: launch.weight "cat1" : [4, 6] x f16
// CHECK-SAME: {axis = 1 : i64, combine = "concat", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 4, 2>, tensor = "a"}, {shape = array<i64: 4, 4>, tensor = "b"}]}
launch.weight "cat1" : [4, 6] x f16 {combine = "concat", axis = 1 : i64,
    group_size = 0 : i64, elementwise = "identity",
    sources = [{tensor = "a", shape = array<i64: 4, 2>}, {tensor = "b", shape = array<i64: 4, 4>}]}

// weight, combine stack: per-expert matrices on a new leading axis.
// CHECK-LABEL: launch.weight "layers.2.moe.down" : [2, 64, 32] x f32
// CHECK-SAME: {axis = 0 : i64, combine = "stack", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 64, 32>, tensor = "experts.0.down"}, {shape = array<i64: 64, 32>, tensor = "experts.1.down"}]}
launch.weight "layers.2.moe.down" : [2, 64, 32] x f32 {combine = "stack", axis = 0 : i64,
    group_size = 0 : i64, elementwise = "identity",
    sources = [{tensor = "experts.0.down", shape = array<i64: 64, 32>},
               {tensor = "experts.1.down", shape = array<i64: 64, 32>}]}

// weight, combine stack_of_concat: groups of 2 (gate, up) concatenated, then
// stacked per expert.
// CHECK-LABEL: launch.weight "layers.2.moe.gate_up" : [2, 64, 64] x f32
// CHECK-SAME: {axis = 0 : i64, combine = "stack_of_concat", elementwise = "identity", group_size = 2 : i64, sources = [{shape = array<i64: 32, 64>, tensor = "e0.gate"}, {shape = array<i64: 32, 64>, tensor = "e0.up"}, {shape = array<i64: 32, 64>, tensor = "e1.gate"}, {shape = array<i64: 32, 64>, tensor = "e1.up"}]}
launch.weight "layers.2.moe.gate_up" : [2, 64, 64] x f32 {combine = "stack_of_concat",
    axis = 0 : i64, group_size = 2 : i64, elementwise = "identity",
    sources = [{tensor = "e0.gate", shape = array<i64: 32, 64>}, {tensor = "e0.up", shape = array<i64: 32, 64>},
               {tensor = "e1.gate", shape = array<i64: 32, 64>}, {tensor = "e1.up", shape = array<i64: 32, 64>}]}

// weight with tied aliases (an LM head sharing the embedding's storage) and a
// source whose shape differs from the weight's (reshape after combining).
// CHECK-LABEL: launch.weight "lm_head" : [256, 64] x f32
// CHECK-SAME: {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 256, 1, 64>, tensor = "model.embed_tokens.weight"}], tied_aliases = ["lm_head.weight", "output.weight"]}
launch.weight "lm_head" : [256, 64] x f32 {combine = "single", axis = 0 : i64,
    group_size = 0 : i64, elementwise = "identity", tied_aliases = ["lm_head.weight", "output.weight"],
    sources = [{tensor = "model.embed_tokens.weight", shape = array<i64: 256, 1, 64>}]}

// states: conv state [B, C, K-1], SSM state [B, H, P, N], KV cache with the
// session's maximum length S, a static-only shape, and a bf16 state.
// CHECK-LABEL: launch.state "layers.0.mixer.conv_state" : [B, 160, 3] x f32
// CHECK-NEXT: launch.state "layers.0.mixer.ssm_state" : [B, 8, 16, 16] x f32
// CHECK-NEXT: launch.state "layers.1.mixer.k_cache" : [B, 2, S, 16] x f32
// CHECK-NEXT: launch.state "layers.1.mixer.v_cache" : [B, 2, S, 16] x bf16
// CHECK-NEXT: launch.state "counter" : [4] x i64
// GENERIC: "launch.state"() <{element_type = f32, name = "layers.1.mixer.k_cache", shape = array<i64: -1, 2, -3, 16>}> : () -> ()
launch.state "layers.0.mixer.conv_state" : [B, 160, 3] x f32
launch.state "layers.0.mixer.ssm_state" : [B, 8, 16, 16] x f32
launch.state "layers.1.mixer.k_cache" : [B, 2, S, 16] x f32
launch.state "layers.1.mixer.v_cache" : [B, 2, S, 16] x bf16
launch.state "counter" : [4] x i64

// arena: the planned bytes per token.
// CHECK-LABEL: launch.arena {bytes_per_token = 4096 : i64}
// GENERIC: "launch.arena"() <{bytes_per_token = 4096 : i64}> : () -> ()
launch.arena {bytes_per_token = 4096 : i64}

// entry with kernels over every buffer kind: input (ids [B, T] and
// cache_position [B]), weight, arena slices at several offsets, a state that
// is both operand and result, an absent optional operand (unit), the output.
// CHECK-LABEL: launch.entry "prefill" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
// CHECK-NEXT: launch.kernel "embedding" "" [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<weight "embed_tokens" : [256, 64] x f32>] -> [#launch.buffer<arena 0 : [B, T, 64] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "rms_norm" "layers.0.mixer" [#launch.buffer<arena 0 : [B, T, 64] x f32>, #launch.buffer<weight "layers.0.mixer.norm" : [64] x f32>] -> [#launch.buffer<arena 256 : [B, T, 64] x f32>] attrs {epsilon = 1.000000e-05 : f64}
// CHECK-NEXT: launch.kernel "causal_conv1d" "layers.0.mixer" [#launch.buffer<arena 256 : [B, T, 64] x f32>, #launch.buffer<weight "conv" : [64, 4] x f32>, unit, #launch.buffer<state "layers.0.mixer.conv_state" : [B, 64, 3] x f32>] -> [#launch.buffer<arena 512 : [B, T, 64] x f32>, #launch.buffer<state "layers.0.mixer.conv_state" : [B, 64, 3] x f32>] attrs {activation = "silu", kernel_size = 4 : i64}
// CHECK-NEXT: launch.kernel "attention" "layers.1.mixer" [#launch.buffer<arena 0 : [B, T, 4, 16] x bf16>, #launch.buffer<arena 128 : [B, T, 2, 16] x bf16>, #launch.buffer<arena 192 : [B, T, 2, 16] x bf16>, #launch.buffer<state "layers.1.mixer.k_cache" : [B, 2, S, 16] x bf16>, #launch.buffer<state "layers.1.mixer.v_cache" : [B, 2, S, 16] x bf16>, #launch.buffer<input "cache_position" : [B] x i64>] -> [#launch.buffer<arena 1024 : [B, T, 4, 16] x bf16>, #launch.buffer<state "layers.1.mixer.k_cache" : [B, 2, S, 16] x bf16>, #launch.buffer<state "layers.1.mixer.v_cache" : [B, 2, S, 16] x bf16>] attrs {causal = true, num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f64, softcap = "inf"}
// CHECK-NEXT: launch.kernel "split" "" [#launch.buffer<arena 64 : [B, T, 6] x f32>] -> [#launch.buffer<arena 0 : [B, T, 2] x f32>, #launch.buffer<arena 128 : [B, T, 4] x f32>] attrs {axis = 2 : i64, sizes = array<i64: 2, 4>}
// CHECK-NEXT: launch.kernel "layer_norm" "" [#launch.buffer<arena 0 : [B, T] x f32>, unit, unit] -> [#launch.buffer<output "logits" : [B, T] x f32>] attrs {epsilon = 1.000000e-05 : f64}
// CHECK-NEXT: }
// GENERIC: "launch.kernel"() <{attrs = {epsilon = 1.000000e-05 : f64}, family = "rms_norm", operands = [#launch.buffer<arena 0 : [B, T, 64] x f32>, #launch.buffer<weight "layers.0.mixer.norm" : [64] x f32>], results = [#launch.buffer<arena 256 : [B, T, 64] x f32>], source = "layers.0.mixer"}> : () -> ()
launch.entry "prefill" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
  launch.kernel "embedding" "" [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<weight "embed_tokens" : [256, 64] x f32>]
      -> [#launch.buffer<arena 0 : [B, T, 64] x f32>] attrs {}
  launch.kernel "rms_norm" "layers.0.mixer"
      [#launch.buffer<arena 0 : [B, T, 64] x f32>, #launch.buffer<weight "layers.0.mixer.norm" : [64] x f32>]
      -> [#launch.buffer<arena 256 : [B, T, 64] x f32>] attrs {epsilon = 1.0e-05 : f64}
  launch.kernel "causal_conv1d" "layers.0.mixer"
      [#launch.buffer<arena 256 : [B, T, 64] x f32>, #launch.buffer<weight "conv" : [64, 4] x f32>, unit,
       #launch.buffer<state "layers.0.mixer.conv_state" : [B, 64, 3] x f32>]
      -> [#launch.buffer<arena 512 : [B, T, 64] x f32>, #launch.buffer<state "layers.0.mixer.conv_state" : [B, 64, 3] x f32>]
      attrs {kernel_size = 4 : i64, activation = "silu"}
  launch.kernel "attention" "layers.1.mixer"
      [#launch.buffer<arena 0 : [B, T, 4, 16] x bf16>, #launch.buffer<arena 128 : [B, T, 2, 16] x bf16>,
       #launch.buffer<arena 192 : [B, T, 2, 16] x bf16>,
       #launch.buffer<state "layers.1.mixer.k_cache" : [B, 2, S, 16] x bf16>,
       #launch.buffer<state "layers.1.mixer.v_cache" : [B, 2, S, 16] x bf16>,
       #launch.buffer<input "cache_position" : [B] x i64>]
      -> [#launch.buffer<arena 1024 : [B, T, 4, 16] x bf16>,
          #launch.buffer<state "layers.1.mixer.k_cache" : [B, 2, S, 16] x bf16>,
          #launch.buffer<state "layers.1.mixer.v_cache" : [B, 2, S, 16] x bf16>]
      attrs {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal = true, scale = 0.25 : f64, softcap = "inf"}
  launch.kernel "split" "" [#launch.buffer<arena 64 : [B, T, 6] x f32>]
      -> [#launch.buffer<arena 0 : [B, T, 2] x f32>, #launch.buffer<arena 128 : [B, T, 4] x f32>]
      attrs {axis = 2 : i64, sizes = array<i64: 2, 4>}
  launch.kernel "layer_norm" "" [#launch.buffer<arena 0 : [B, T] x f32>, unit, unit]
      -> [#launch.buffer<output "logits" : [B, T] x f32>] attrs {epsilon = 1.0e-05 : f64}
}

// entry with no kernels, no inputs and no outputs; kernels with no operands
// or no results.
// CHECK-LABEL: launch.entry "decode" attributes {inputs = [], outputs = []} {
// CHECK-NEXT: launch.kernel "fill" "init" [] -> [#launch.buffer<state "counter" : [4] x i64>] attrs {value = 0 : i64}
// CHECK-NEXT: launch.kernel "sink" "" [#launch.buffer<output "logits" : [B, T, 256] x f32>] -> [] attrs {}
// CHECK-NEXT: }
// CHECK-NEXT: launch.entry "empty" attributes {inputs = ["input_ids"], outputs = ["logits"]} {
// CHECK-NEXT: }
launch.entry "decode" attributes {inputs = [], outputs = []} {
  launch.kernel "fill" "init" [] -> [#launch.buffer<state "counter" : [4] x i64>] attrs {value = 0 : i64}
  launch.kernel "sink" "" [#launch.buffer<output "logits" : [B, T, 256] x f32>] -> [] attrs {}
}
launch.entry "empty" attributes {inputs = ["input_ids"], outputs = ["logits"]} {
}

// Buffer names are escaped when printed, so any name survives the round trip;
// scalar ([]) and integer buffers, and the symbols of state and input buffers.
// CHECK-LABEL: launch.entry "names"
// CHECK-NEXT: launch.kernel "k" "" [#launch.buffer<weight "a\22b\\c" : [] x f32>, #launch.buffer<state "s" : [B, S, 1] x i32>, #launch.buffer<input "positions" : [B, T] x i64>] -> [#launch.buffer<arena 0 : [B, T, 3, 5, 7] x i8>] attrs {}
launch.entry "names" attributes {inputs = [], outputs = []} {
  launch.kernel "k" "" [#launch.buffer<weight "a\"b\\c" : [] x f32>, #launch.buffer<state "s" : [B, S, 1] x i32>, #launch.buffer<input "positions" : [B, T] x i64>]
      -> [#launch.buffer<arena 0 : [B, T, 3, 5, 7] x i8>] attrs {}
}
