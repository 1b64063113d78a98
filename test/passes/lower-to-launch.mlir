// RUN: braid-opt %s -split-input-file -braid-lower-to-launch | FileCheck %s
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch | FileCheck %s --check-prefix=SAME
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch | braid-opt -split-input-file | FileCheck %s
//
// -braid-lower-to-launch on small hand-written models. Arena offsets and
// sizes are in bytes per token, computed by hand from BufferPlanning.h: each
// value's size rounded up to 64, placed first-fit in order of definition,
// alive from its defining launch to its last reader, both ends included.
// The SAME prefix checks that decode runs exactly the launches of prefill.
// The third run re-parses the output.

// A chain where the planner must reuse space (f32, hidden 8 = 32 B -> 64,
// width 24 = 96 B -> 128). Launches and live intervals:
//   0 h0 = embedding        [0,6] 64   -> 0
//   1 a  = linear h0        [1,4] 128  -> 64    (h0 live)
//   2 b  = silu a           [2,3] 128  -> 192   (h0, a live)
//   3 c  = gelu b           [3,4] 128  -> 320   (b dies at 3, still live: inclusive)
//   4 d  = add c, a         [4,5] 128  -> 192   (reuses b; a, c die here but are live)
//   5 e  = linear d         [5,6] 64   -> 64    (reuses a)
//   6 f  = add e, h0        [6,7] 64   -> 128   (h0, e live at 6)
//   7 logits = linear f     -> the output buffer, not the arena
// Peak 320 + 128 = 448; without reuse 64 + 4 * 128 + 64 + 64 = 704.
// CHECK-LABEL: module attributes {launch.naive_bytes_per_token = 704 : i64} {
// CHECK-NEXT: launch.weight "embed" : [16, 8] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 16, 8>, tensor = "embed"}]}
// CHECK-NEXT: launch.weight "w1" : [24, 8] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 24, 8>, tensor = "w1"}]}
// CHECK-NEXT: launch.weight "w2" : [8, 24] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 8, 24>, tensor = "w2"}]}
// CHECK-NEXT: launch.weight "lm_head" : [16, 8] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 16, 8>, tensor = "lm_head"}]}
// CHECK-NEXT: launch.arena {bytes_per_token = 448 : i64}
// CHECK-NEXT: launch.entry "prefill" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
// CHECK-NEXT: launch.kernel "embedding" "" [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<weight "embed" : [16, 8] x f32>] -> [#launch.buffer<arena 0 : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<weight "w1" : [24, 8] x f32>, unit] -> [#launch.buffer<arena 64 : [B, T, 24] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "activation" "" [#launch.buffer<arena 64 : [B, T, 24] x f32>] -> [#launch.buffer<arena 192 : [B, T, 24] x f32>] attrs {kind = "silu"}
// CHECK-NEXT: launch.kernel "activation" "" [#launch.buffer<arena 192 : [B, T, 24] x f32>] -> [#launch.buffer<arena 320 : [B, T, 24] x f32>] attrs {kind = "gelu"}
// CHECK-NEXT: launch.kernel "add" "" [#launch.buffer<arena 320 : [B, T, 24] x f32>, #launch.buffer<arena 64 : [B, T, 24] x f32>] -> [#launch.buffer<arena 192 : [B, T, 24] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 192 : [B, T, 24] x f32>, #launch.buffer<weight "w2" : [8, 24] x f32>, unit] -> [#launch.buffer<arena 64 : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "add" "" [#launch.buffer<arena 64 : [B, T, 8] x f32>, #launch.buffer<arena 0 : [B, T, 8] x f32>] -> [#launch.buffer<arena 128 : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 128 : [B, T, 8] x f32>, #launch.buffer<weight "lm_head" : [16, 8] x f32>, unit] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>] attrs {}
// CHECK-NEXT: {{^ *}$}}
// CHECK-NEXT: launch.entry "decode" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
// CHECK-NOT: func.func
// SAME-LABEL: launch.naive_bytes_per_token = 704
// SAME: launch.entry "prefill"
// SAME-NEXT: [[K0:launch.kernel.*]]
// SAME-NEXT: [[K1:launch.kernel.*]]
// SAME-NEXT: [[K2:launch.kernel.*]]
// SAME-NEXT: [[K3:launch.kernel.*]]
// SAME-NEXT: [[K4:launch.kernel.*]]
// SAME-NEXT: [[K5:launch.kernel.*]]
// SAME-NEXT: [[K6:launch.kernel.*]]
// SAME-NEXT: [[K7:launch.kernel.*]]
// SAME-NEXT: {{^ *}$}}
// SAME-NEXT: launch.entry "decode"
// SAME-NEXT: [[K0]]
// SAME-NEXT: [[K1]]
// SAME-NEXT: [[K2]]
// SAME-NEXT: [[K3]]
// SAME-NEXT: [[K4]]
// SAME-NEXT: [[K5]]
// SAME-NEXT: [[K6]]
// SAME-NEXT: [[K7]]
// SAME-NEXT: {{^ *}$}}
// SAME-NEXT: {{^ *}$}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %w1 = braid.weight "w1" : tensor<24x8xf32>
  %a = braid.linear %h0, %w1 : (tensor<?x?x8xf32>, tensor<24x8xf32>) -> tensor<?x?x24xf32>
  %b = braid.activation silu %a : tensor<?x?x24xf32>
  %c = braid.activation gelu %b : tensor<?x?x24xf32>
  %d = braid.add %c, %a : (tensor<?x?x24xf32>, tensor<?x?x24xf32>) -> tensor<?x?x24xf32>
  %w2 = braid.weight "w2" : tensor<8x24xf32>
  %e = braid.linear %d, %w2 : (tensor<?x?x24xf32>, tensor<8x24xf32>) -> tensor<?x?x8xf32>
  %f = braid.add %e, %h0 : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %lm = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %f, %lm : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// A reshape is a view: no launch, and its readers see the bytes of its input
// under the new shape. The view also keeps its input alive:
//   0 x = embedding      [0,2] 64 -> 0
//   1 q = linear x       [1,3] 64 -> 64     (read at 3 through the view q4)
//   2 y = silu x         [2,5] 64 -> 128    (q still live: not 64)
//   3 r = rope q4        [3,4] 64 -> 0      (x dead; q live at 3: not 64)
//   4 o = linear rf      [4,5] 64 -> 64     (rf is r as [B, T, 16])
//   5 logits = add o, y  -> output
// A view of a weight names the weight with the view's shape.
// CHECK-LABEL: module attributes {launch.naive_bytes_per_token = 320 : i64} {
// CHECK: launch.weight "wo" : [8, 2, 8] x f32
// CHECK-NEXT: launch.arena {bytes_per_token = 192 : i64}
// CHECK-NEXT: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding" "" [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<weight "embed" : [16, 8] x f32>] -> [#launch.buffer<arena 0 : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<weight "wq" : [16, 8] x f32>, unit] -> [#launch.buffer<arena 64 : [B, T, 16] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "activation" "" [#launch.buffer<arena 0 : [B, T, 8] x f32>] -> [#launch.buffer<arena 128 : [B, T, 8] x f32>] attrs {kind = "silu"}
// CHECK-NEXT: launch.kernel "rope" "" [#launch.buffer<arena 64 : [B, T, 2, 8] x f32>, #launch.buffer<input "positions" : [B, T] x i64>] -> [#launch.buffer<arena 0 : [B, T, 2, 8] x f32>] attrs {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 0 : [B, T, 16] x f32>, #launch.buffer<weight "wo" : [8, 16] x f32>, unit] -> [#launch.buffer<arena 64 : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "add" "" [#launch.buffer<arena 64 : [B, T, 8] x f32>, #launch.buffer<arena 128 : [B, T, 8] x f32>] -> [#launch.buffer<output "logits" : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: {{^ *}$}}
// CHECK-NOT: "reshape"
// CHECK: launch.entry "decode"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %wq = braid.weight "wq" : tensor<16x8xf32>
  %q = braid.linear %x, %wq : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  %q4 = braid.reshape %q : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
  %y = braid.activation silu %x : tensor<?x?x8xf32>
  %r = braid.rope %q4, %pos {rotary_dim = 8 : i64, theta = 1.0e+04 : f64}
      : (tensor<?x?x2x8xf32>, tensor<?x?xi64>) -> tensor<?x?x2x8xf32>
  %rf = braid.reshape %r : (tensor<?x?x2x8xf32>) -> tensor<?x?x16xf32>
  %wo3 = braid.weight "wo" : tensor<8x2x8xf32>
  %wo = braid.reshape %wo3 : (tensor<8x2x8xf32>) -> tensor<8x16xf32>
  %o = braid.linear %rf, %wo : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
  %logits = braid.add %o, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %logits : tensor<?x?x8xf32>
}

// -----

// States, one per stateful op, named after the layer path, in order of first
// use; each launch names its state as an operand (in the op's operand order,
// absent optional operands as unit) and again as a result (updated in place):
//   causal_conv1d  conv_state [B, C, K-1] = [B, 6, 3], element type of x
//   selective_scan ssm_state  [B, D, N]   = [B, 6, 3], f32
//   ssd_scan       ssm_state  [B, H, P, N] = [B, 2, 3, 3], f32
//   attention      k_cache [B, Hkv, S, Dk] = [B, 1, S, 3], v_cache with v's
//                  head dim [B, 1, S, 6], and the cache_position input
// An unnamed layer is named by its kind. Every value is 24 B or less (-> 64);
// intervals: h0 [0,2] 0, xc [1,2] 64, h1 [2,5] 128, dt [3,5] 0, b [4,5] 64,
// h2 [5,7] 192, kl [6,7] 0, a [7,8] 64, y [8,9] 0; prefill_last's gathered
// last rows of y [9,9] 64: peak 256 (576 + 64 bytes without reuse).
// CHECK-LABEL: module attributes {launch.naive_bytes_per_token = 640 : i64} {
// CHECK: launch.weight "lm_head" : [6, 6] x f32
// CHECK-NEXT: launch.arena {bytes_per_token = 256 : i64}
// CHECK-NEXT: launch.state "layers.0.mamba.conv_state" : [B, 6, 3] x f32
// CHECK-NEXT: launch.state "layers.0.mamba.ssm_state" : [B, 6, 3] x f32
// CHECK-NEXT: launch.state "layers.1.mamba.ssm_state" : [B, 2, 3, 3] x f32
// CHECK-NEXT: launch.state "attention.k_cache" : [B, 1, S, 3] x f32
// CHECK-NEXT: launch.state "attention.v_cache" : [B, 1, S, 6] x f32
// CHECK-NEXT: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding" "" [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<weight "embed" : [16, 6] x f32>] -> [#launch.buffer<arena 0 : [B, T, 6] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "causal_conv1d" "layers.0.mamba" [#launch.buffer<arena 0 : [B, T, 6] x f32>, #launch.buffer<weight "layers.0.conv" : [6, 4] x f32>, unit, #launch.buffer<state "layers.0.mamba.conv_state" : [B, 6, 3] x f32>] -> [#launch.buffer<arena 64 : [B, T, 6] x f32>, #launch.buffer<state "layers.0.mamba.conv_state" : [B, 6, 3] x f32>] attrs {activation = "silu", kernel_size = 4 : i64}
// CHECK-NEXT: launch.kernel "selective_scan" "layers.0.mamba" [#launch.buffer<arena 64 : [B, T, 6] x f32>, #launch.buffer<weight "layers.0.x_proj" : [8, 6] x f32>, #launch.buffer<weight "layers.0.dt_proj" : [6, 2] x f32>, #launch.buffer<weight "layers.0.dt_bias" : [6] x f32>, #launch.buffer<weight "layers.0.A" : [6, 3] x f32>, #launch.buffer<arena 0 : [B, T, 6] x f32>, unit, unit, unit, unit, #launch.buffer<state "layers.0.mamba.ssm_state" : [B, 6, 3] x f32>] -> [#launch.buffer<arena 128 : [B, T, 6] x f32>, #launch.buffer<state "layers.0.mamba.ssm_state" : [B, 6, 3] x f32>] attrs {dt_rank = 2 : i64, norm_epsilon = {{.*}} : f64, state_size = 3 : i64}
// CHECK-NEXT: launch.kernel "linear" "layers.1.mamba" [#launch.buffer<arena 128 : [B, T, 6] x f32>, #launch.buffer<weight "layers.1.w_dt" : [2, 6] x f32>, unit] -> [#launch.buffer<arena 0 : [B, T, 2] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "layers.1.mamba" [#launch.buffer<arena 128 : [B, T, 6] x f32>, #launch.buffer<weight "layers.1.w_b" : [3, 6] x f32>, unit] -> [#launch.buffer<arena 64 : [B, T, 3] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "ssd_scan" "layers.1.mamba" [#launch.buffer<arena 128 : [B, T, 2, 3] x f32>, #launch.buffer<arena 0 : [B, T, 2] x f32>, #launch.buffer<weight "layers.1.A" : [2] x f32>, #launch.buffer<arena 64 : [B, T, 1, 3] x f32>, #launch.buffer<arena 64 : [B, T, 1, 3] x f32>, unit, unit, #launch.buffer<state "layers.1.mamba.ssm_state" : [B, 2, 3, 3] x f32>] -> [#launch.buffer<arena 192 : [B, T, 2, 3] x f32>, #launch.buffer<state "layers.1.mamba.ssm_state" : [B, 2, 3, 3] x f32>] attrs {chunk_size = 8 : i64, dt_min = 0.000000e+00 : f64, dt_softplus = true, head_dim = 3 : i64, num_groups = 1 : i64, num_heads = 2 : i64, state_size = 3 : i64}
// CHECK-NEXT: launch.kernel "linear" "attention" [#launch.buffer<arena 192 : [B, T, 6] x f32>, #launch.buffer<weight "layers.2.wk" : [3, 6] x f32>, unit] -> [#launch.buffer<arena 0 : [B, T, 3] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "attention" "attention" [#launch.buffer<arena 192 : [B, T, 2, 3] x f32>, #launch.buffer<arena 0 : [B, T, 1, 3] x f32>, #launch.buffer<arena 192 : [B, T, 1, 6] x f32>, #launch.buffer<state "attention.k_cache" : [B, 1, S, 3] x f32>, #launch.buffer<state "attention.v_cache" : [B, 1, S, 6] x f32>, #launch.buffer<input "cache_position" : [B] x i64>] -> [#launch.buffer<arena 64 : [B, T, 2, 6] x f32>, #launch.buffer<state "attention.k_cache" : [B, 1, S, 3] x f32>, #launch.buffer<state "attention.v_cache" : [B, 1, S, 6] x f32>] attrs {causal = true, num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 5.000000e-01 : f64}
// CHECK-NEXT: launch.kernel "linear" "attention" [#launch.buffer<arena 64 : [B, T, 12] x f32>, #launch.buffer<weight "layers.2.wo" : [6, 12] x f32>, unit] -> [#launch.buffer<arena 0 : [B, T, 6] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 0 : [B, T, 6] x f32>, #launch.buffer<weight "lm_head" : [6, 6] x f32>, unit] -> [#launch.buffer<output "logits" : [B, T, 6] x f32>] attrs {}
// CHECK-NEXT: {{^ *}$}}
// CHECK-NOT: launch.state
// CHECK: launch.entry "decode"
// SAME-LABEL: launch.naive_bytes_per_token = 640
// SAME: launch.entry "prefill"
// SAME-NEXT: [[S0:launch.kernel.*]]
// SAME-NEXT: [[S1:launch.kernel.*]]
// SAME-NEXT: [[S2:launch.kernel.*]]
// SAME-NEXT: [[S3:launch.kernel.*]]
// SAME-NEXT: [[S4:launch.kernel.*]]
// SAME-NEXT: [[S5:launch.kernel.*]]
// SAME-NEXT: [[S6:launch.kernel.*]]
// SAME-NEXT: [[S7:launch.kernel.*]]
// SAME-NEXT: [[S8:launch.kernel.*]]
// SAME-NEXT: [[S9:launch.kernel.*]]
// SAME-NEXT: {{^ *}$}}
// SAME-NEXT: launch.entry "decode"
// SAME-NEXT: [[S0]]
// SAME-NEXT: [[S1]]
// SAME-NEXT: [[S2]]
// SAME-NEXT: [[S3]]
// SAME-NEXT: [[S4]]
// SAME-NEXT: [[S5]]
// SAME-NEXT: [[S6]]
// SAME-NEXT: [[S7]]
// SAME-NEXT: [[S8]]
// SAME-NEXT: [[S9]]
// SAME-NEXT: {{^ *}$}}
// prefill_last: the same launches through the last layer, then lm_head on
// each sequence's last row.
// SAME-NEXT: launch.entry "prefill_last"
// SAME-NEXT: [[S0]]
// SAME-NEXT: [[S1]]
// SAME-NEXT: [[S2]]
// SAME-NEXT: [[S3]]
// SAME-NEXT: [[S4]]
// SAME-NEXT: [[S5]]
// SAME-NEXT: [[S6]]
// SAME-NEXT: [[S7]]
// SAME-NEXT: [[S8]]
// SAME-NEXT: launch.kernel "gather_last" "" [#launch.buffer<arena 0 : [B, T, 6] x f32>] -> [#launch.buffer<arena 64 : [B, 1, 6] x f32>] attrs {}
// SAME-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 64 : [B, 1, 6] x f32>, #launch.buffer<weight "lm_head" : [6, 6] x f32>, unit] -> [#launch.buffer<output "logits" : [B, 1, 6] x f32>] attrs {}
// SAME-NEXT: {{^ *}$}}
// SAME-NEXT: {{^ *}$}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x6xf32> {
  %table = braid.weight "embed" : tensor<16x6xf32>
  %h0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x6xf32>) -> tensor<?x?x6xf32>
  %h1 = braid.layer mamba (%h0) {index = 0 : i64, name = "layers.0.mamba"}
      : (tensor<?x?x6xf32>) -> tensor<?x?x6xf32> {
  ^bb0(%x: tensor<?x?x6xf32>):
    %cw = braid.weight "layers.0.conv" : tensor<6x4xf32>
    %xp = braid.weight "layers.0.x_proj" : tensor<8x6xf32>
    %dtp = braid.weight "layers.0.dt_proj" : tensor<6x2xf32>
    %dtb = braid.weight "layers.0.dt_bias" : tensor<6xf32>
    %A = braid.weight "layers.0.A" : tensor<6x3xf32>
    %xc = braid.causal_conv1d silu %x, %cw {kernel_size = 4 : i64}
        : (tensor<?x?x6xf32>, tensor<6x4xf32>) -> tensor<?x?x6xf32>
    %y = braid.selective_scan %xc, %xp, %dtp, %dtb, %A gate %x {dt_rank = 2 : i64, state_size = 3 : i64}
        : (tensor<?x?x6xf32>, tensor<8x6xf32>, tensor<6x2xf32>, tensor<6xf32>, tensor<6x3xf32>, tensor<?x?x6xf32>) -> tensor<?x?x6xf32>
    braid.yield %y : tensor<?x?x6xf32>
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64, name = "layers.1.mamba"}
      : (tensor<?x?x6xf32>) -> tensor<?x?x6xf32> {
  ^bb0(%x: tensor<?x?x6xf32>):
    %A = braid.weight "layers.1.A" : tensor<2xf32>
    %wdt = braid.weight "layers.1.w_dt" : tensor<2x6xf32>
    %wb = braid.weight "layers.1.w_b" : tensor<3x6xf32>
    %dt = braid.linear %x, %wdt : (tensor<?x?x6xf32>, tensor<2x6xf32>) -> tensor<?x?x2xf32>
    %b = braid.linear %x, %wb : (tensor<?x?x6xf32>, tensor<3x6xf32>) -> tensor<?x?x3xf32>
    %b4 = braid.reshape %b : (tensor<?x?x3xf32>) -> tensor<?x?x1x3xf32>
    %x4 = braid.reshape %x : (tensor<?x?x6xf32>) -> tensor<?x?x2x3xf32>
    %y4 = braid.ssd_scan %x4, %dt, %A, %b4, %b4
        {num_heads = 2 : i64, head_dim = 3 : i64, num_groups = 1 : i64, state_size = 3 : i64, chunk_size = 8 : i64}
        : (tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x3xf32>, tensor<?x?x1x3xf32>) -> tensor<?x?x2x3xf32>
    %y = braid.reshape %y4 : (tensor<?x?x2x3xf32>) -> tensor<?x?x6xf32>
    braid.yield %y : tensor<?x?x6xf32>
  }
  %h3 = braid.layer attention (%h2) {index = 2 : i64}
      : (tensor<?x?x6xf32>) -> tensor<?x?x6xf32> {
  ^bb0(%x: tensor<?x?x6xf32>):
    %wk = braid.weight "layers.2.wk" : tensor<3x6xf32>
    %wo = braid.weight "layers.2.wo" : tensor<6x12xf32>
    %q = braid.reshape %x : (tensor<?x?x6xf32>) -> tensor<?x?x2x3xf32>
    %kl = braid.linear %x, %wk : (tensor<?x?x6xf32>, tensor<3x6xf32>) -> tensor<?x?x3xf32>
    %k = braid.reshape %kl : (tensor<?x?x3xf32>) -> tensor<?x?x1x3xf32>
    %v = braid.reshape %x : (tensor<?x?x6xf32>) -> tensor<?x?x1x6xf32>
    %a = braid.attention %q, %k, %v {num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 0.5 : f64}
        : (tensor<?x?x2x3xf32>, tensor<?x?x1x3xf32>, tensor<?x?x1x6xf32>) -> tensor<?x?x2x6xf32>
    %af = braid.reshape %a : (tensor<?x?x2x6xf32>) -> tensor<?x?x12xf32>
    %y = braid.linear %af, %wo : (tensor<?x?x12xf32>, tensor<6x12xf32>) -> tensor<?x?x6xf32>
    braid.yield %y : tensor<?x?x6xf32>
  }
  %lm = braid.weight "lm_head" : tensor<6x6xf32>
  %logits = braid.linear %h3, %lm : (tensor<?x?x6xf32>, tensor<6x6xf32>) -> tensor<?x?x6xf32>
  return %logits : tensor<?x?x6xf32>
}

// -----

// State names: a stateful op outside any layer is under "model"; nested
// layers join their names with "/"; a second state of the same kind in one
// layer gets "#1". mla gets latent_cache [B, S, kv_lora_rank +
// qk_rope_head_dim] and cache_position. A variadic operand segment (merge's
// branches) is expanded and an absent optional one after it is unit.
// CHECK-LABEL: module attributes {launch.naive_bytes_per_token = 704 : i64} {
// CHECK: launch.arena {bytes_per_token = 320 : i64}
// CHECK-NEXT: launch.state "model.conv_state" : [B, 8, 1] x f32
// CHECK-NEXT: launch.state "layers.0/mixer.conv_state" : [B, 8, 2] x f32
// CHECK-NEXT: launch.state "layers.0/mixer.conv_state#1" : [B, 8, 3] x f32
// CHECK-NEXT: launch.state "layers.0/mla.latent_cache" : [B, S, 6] x f32
// CHECK-NEXT: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "causal_conv1d" "" [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<weight "conv" : [8, 2] x f32>, #launch.buffer<weight "conv.bias" : [8] x f32>, #launch.buffer<state "model.conv_state" : [B, 8, 1] x f32>] -> [#launch.buffer<arena 64 : [B, T, 8] x f32>, #launch.buffer<state "model.conv_state" : [B, 8, 1] x f32>] attrs {activation = "identity", kernel_size = 2 : i64}
// CHECK-NEXT: launch.kernel "causal_conv1d" "layers.0/mixer" {{.*}}#launch.buffer<state "layers.0/mixer.conv_state" : [B, 8, 2] x f32>] -> [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<state "layers.0/mixer.conv_state" : [B, 8, 2] x f32>] attrs {activation = "silu", kernel_size = 3 : i64}
// CHECK-NEXT: launch.kernel "causal_conv1d" "layers.0/mixer" {{.*}}#launch.buffer<state "layers.0/mixer.conv_state#1" : [B, 8, 3] x f32>] -> [#launch.buffer<arena 128 : [B, T, 8] x f32>, #launch.buffer<state "layers.0/mixer.conv_state#1" : [B, 8, 3] x f32>] attrs {activation = "silu", kernel_size = 4 : i64}
// CHECK-NEXT: launch.kernel "split" "layers.0/mla" [#launch.buffer<arena 64 : [B, T, 8] x f32>] -> [#launch.buffer<arena 0 : [B, T, 4] x f32>, #launch.buffer<arena 192 : [B, T, 2] x f32>, #launch.buffer<arena 256 : [B, T, 2] x f32>] attrs {axis = 2 : i64, sizes = array<i64: 4, 2, 2>}
// CHECK-NEXT: launch.kernel "mla" "layers.0/mla" [#launch.buffer<arena 64 : [B, T, 2, 4] x f32>, #launch.buffer<arena 0 : [B, T, 4] x f32>, #launch.buffer<arena 192 : [B, T, 2] x f32>, #launch.buffer<weight "layers.0.kv_up" : [8, 4] x f32>, #launch.buffer<state "layers.0/mla.latent_cache" : [B, S, 6] x f32>, #launch.buffer<input "cache_position" : [B] x i64>] -> [#launch.buffer<arena 256 : [B, T, 2, 2] x f32>, #launch.buffer<state "layers.0/mla.latent_cache" : [B, S, 6] x f32>] attrs {causal = true, {{.*}}}
// CHECK-NEXT: launch.kernel "concat" "layers.0/mla" [#launch.buffer<arena 256 : [B, T, 4] x f32>, #launch.buffer<arena 256 : [B, T, 4] x f32>] -> [#launch.buffer<arena 0 : [B, T, 8] x f32>] attrs {axis = 2 : i64}
// CHECK-NEXT: launch.kernel "merge" "layers.0" [#launch.buffer<arena 128 : [B, T, 8] x f32>, #launch.buffer<arena 0 : [B, T, 8] x f32>, unit] -> [#launch.buffer<arena 64 : [B, T, 8] x f32>] attrs {mode = "sum"}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 64 : [B, T, 8] x f32>, #launch.buffer<weight "lm_head" : [8, 8] x f32>, unit] -> [#launch.buffer<output "logits" : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: {{^ *}$}}
// CHECK-NOT: launch.state
// CHECK: launch.entry "decode"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %cw = braid.weight "conv" : tensor<8x2xf32>
  %cb = braid.weight "conv.bias" : tensor<8xf32>
  %c = braid.causal_conv1d identity %x, %cw bias %cb {kernel_size = 2 : i64}
      : (tensor<?x?x8xf32>, tensor<8x2xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %h = braid.layer parallel (%c) {index = 0 : i64, name = "layers.0"}
      : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  ^bb0(%in: tensor<?x?x8xf32>):
    %m = braid.layer mamba (%in) {name = "mixer"} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    ^bb0(%u: tensor<?x?x8xf32>):
      %w3 = braid.weight "layers.0.conv3" : tensor<8x3xf32>
      %w4 = braid.weight "layers.0.conv4" : tensor<8x4xf32>
      %a = braid.causal_conv1d silu %u, %w3 {kernel_size = 3 : i64}
          : (tensor<?x?x8xf32>, tensor<8x3xf32>) -> tensor<?x?x8xf32>
      %b = braid.causal_conv1d silu %a, %w4 {kernel_size = 4 : i64}
          : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
      braid.yield %b : tensor<?x?x8xf32>
    }
    %l = braid.layer attention (%in) {name = "mla"} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    ^bb0(%u: tensor<?x?x8xf32>):
      %up = braid.weight "layers.0.kv_up" : tensor<8x4xf32>
      %q = braid.reshape %u : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
      %lat:3 = braid.split %u {axis = 2 : i64, sizes = array<i64: 4, 2, 2>}
          : (tensor<?x?x8xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>)
      %o = braid.mla %q, %lat#0, %lat#1, %up
          {num_heads = 2 : i64, kv_lora_rank = 4 : i64, qk_nope_head_dim = 2 : i64,
           qk_rope_head_dim = 2 : i64, v_head_dim = 2 : i64, scale = 0.5 : f64}
          : (tensor<?x?x2x4xf32>, tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<8x4xf32>) -> tensor<?x?x2x2xf32>
      %o2 = braid.reshape %o : (tensor<?x?x2x2xf32>) -> tensor<?x?x4xf32>
      %o8 = braid.concat %o2, %o2 {axis = 2 : i64} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
      braid.yield %o8 : tensor<?x?x8xf32>
    }
    %s = braid.merge sum %m, %l : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %s : tensor<?x?x8xf32>
  }
  %lm = braid.weight "lm_head" : tensor<8x8xf32>
  %logits = braid.linear %h, %lm : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return %logits : tensor<?x?x8xf32>
}

// -----

// Weights: a shared weight used in two layers gets one launch.weight; the
// front end's bindings (launch.weight already in the module) are kept as they
// are, with no identity binding added for their names; unbound weights get
// an identity binding from a tensor of the same name, in order of first use.
// CHECK-LABEL: module attributes {launch.naive_bytes_per_token = 320 : i64} {
// CHECK-NEXT: launch.weight "lm_head" : [16, 8] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 16, 8>, tensor = "model.embed_tokens.weight"}], tied_aliases = ["lm_head.weight"]}
// CHECK-NEXT: launch.weight "layers.0.A" : [8] x f32 {axis = 0 : i64, combine = "single", elementwise = "neg_exp", group_size = 0 : i64, sources = [{shape = array<i64: 8>, tensor = "model.layers.0.A_log"}]}
// CHECK-NEXT: launch.weight "embed_tokens" : [16, 8] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 16, 8>, tensor = "embed_tokens"}]}
// CHECK-NEXT: launch.weight "shared.proj" : [8, 8] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 8, 8>, tensor = "shared.proj"}]}
// CHECK-NEXT: launch.arena {bytes_per_token = 128 : i64}
// CHECK-NEXT: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding" "" [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<weight "embed_tokens" : [16, 8] x f32>]
// CHECK-NEXT: launch.kernel "linear" "layers.0" [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<weight "shared.proj" : [8, 8] x f32>, unit]
// CHECK-NEXT: launch.kernel "mul" "layers.0" [#launch.buffer<arena 64 : [B, T, 8] x f32>, #launch.buffer<weight "layers.0.A" : [8] x f32>]
// CHECK-NEXT: launch.kernel "linear" "layers.1" [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<weight "shared.proj" : [8, 8] x f32>, unit]
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 64 : [B, T, 8] x f32>, #launch.buffer<weight "lm_head" : [16, 8] x f32>, unit] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>]
// CHECK-NOT: launch.weight
// CHECK: launch.entry "decode"
// CHECK-NOT: launch.weight
launch.weight "lm_head" : [16, 8] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", tied_aliases = ["lm_head.weight"],
    sources = [{tensor = "model.embed_tokens.weight", shape = array<i64: 16, 8>}]}
launch.weight "layers.0.A" : [8] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "neg_exp", sources = [{tensor = "model.layers.0.A_log", shape = array<i64: 8>}]}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed_tokens" : tensor<16x8xf32>
  %x = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %h1 = braid.layer shared (%x) {index = 0 : i64, name = "layers.0"} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  ^bb0(%u: tensor<?x?x8xf32>):
    %w = braid.weight "shared.proj" : tensor<8x8xf32>
    %A = braid.weight "layers.0.A" : tensor<8xf32>
    %y = braid.linear %u, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %z = braid.mul %y, %A : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    braid.yield %z : tensor<?x?x8xf32>
  }
  %h2 = braid.layer shared (%h1) {index = 1 : i64, name = "layers.1"} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  ^bb0(%u: tensor<?x?x8xf32>):
    %w = braid.weight "shared.proj" : tensor<8x8xf32>
    %y = braid.linear %u, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %y : tensor<?x?x8xf32>
  }
  %lm = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %h2, %lm : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// Logits yielded by a layer are still written straight into the output
// buffer, and a model with nothing else to keep needs one arena slot.
// CHECK-LABEL: module attributes {launch.naive_bytes_per_token = 64 : i64} {
// CHECK: launch.arena {bytes_per_token = 64 : i64}
// CHECK-NEXT: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding" "" {{.*}} -> [#launch.buffer<arena 0 : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "head" [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<weight "lm_head" : [16, 8] x f32>, unit] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>] attrs {}
// CHECK-NEXT: {{^ *}$}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %t = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %l = braid.layer mlp (%x) {name = "head"} : (tensor<?x?x8xf32>) -> tensor<?x?x16xf32> {
  ^bb0(%u: tensor<?x?x8xf32>):
    %w = braid.weight "lm_head" : tensor<16x8xf32>
    %y = braid.linear %u, %w : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
    braid.yield %y : tensor<?x?x16xf32>
  }
  return %l : tensor<?x?x16xf32>
}
