// An unbalanced hybrid: feed-forward blocks follow the Mamba2 layers only.
//
// Five decoder layers over hidden size 32: Mamba2 at 0, 1, 3 (4 heads x 16,
// 1 group, state 8, chunk 16, conv width 4), attention at 2 and 4 (2 query
// heads / 1 KV head of 16, full rotary), and a SiLU-gated MLP (64, gate and
// up projections in one weight) after each Mamba2 layer but none after the
// attention layers. Studies of hybrid designs found this one-sided
// placement to hurt quality, and `braid-lint-hybrid` says so:
//
//   braid-opt examples/unbalanced_hybrid.mlir --braid-lint-hybrid
//   ... warning: feed-forward blocks follow only the Mamba part of this hybrid
//       (layer 0 (...), layer 1 (...), layer 3 (...)) and never its attention
//       (layer 2 (...), layer 4 (...)); ...
//
// The fix is an `mlp` block after layers 2 and 4 too (see bamba_tiny.mlir).
// No checkpoint has this architecture: it is an example for the lint. Weight
// names follow the scheme of bamba_tiny.mlir.

func.func @forward(%ids: tensor<?x?xi64>, %positions: tensor<?x?xi64>) -> tensor<?x?x128xf32> {
  %embed = braid.weight "embed_tokens" : tensor<128x32xf32>
  %h0 = braid.embedding %ids, %embed
      : (tensor<?x?xi64>, tensor<128x32xf32>) -> tensor<?x?x32xf32>

  // ---- Layer 0: Mamba2 + MLP ----------------------------------------------
  %m0 = braid.layer mamba2 (%h0) {index = 0 : i64, name = "layers.0.mamba"}
      : (tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  ^bb0(%x: tensor<?x?x32xf32>):
    %norm_w = braid.weight "layers.0.input_layernorm" : tensor<32xf32>
    %in_proj = braid.weight "layers.0.mamba.in_proj" : tensor<148x32xf32>
    %conv_w = braid.weight "layers.0.mamba.conv1d" : tensor<80x4xf32>
    %A = braid.weight "layers.0.mamba.A" : tensor<4xf32>
    %dt_bias = braid.weight "layers.0.mamba.dt_bias" : tensor<4xf32>
    %gnorm_w = braid.weight "layers.0.mamba.norm" : tensor<64xf32>
    %out_proj = braid.weight "layers.0.mamba.out_proj" : tensor<32x64xf32>
    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %p = braid.linear %n, %in_proj : (tensor<?x?x32xf32>, tensor<148x32xf32>) -> tensor<?x?x148xf32>
    %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 64, 80, 4>}
        : (tensor<?x?x148xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x80xf32>, tensor<?x?x4xf32>)
    %c = braid.causal_conv1d silu %xbc, %conv_w {kernel_size = 4 : i64}
        : (tensor<?x?x80xf32>, tensor<80x4xf32>) -> tensor<?x?x80xf32>
    %xs, %B, %C = braid.split %c {axis = 2 : i64, sizes = array<i64: 64, 8, 8>}
        : (tensor<?x?x80xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>)
    %xh = braid.reshape %xs : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
    %Bg = braid.reshape %B : (tensor<?x?x8xf32>) -> tensor<?x?x1x8xf32>
    %Cg = braid.reshape %C : (tensor<?x?x8xf32>) -> tensor<?x?x1x8xf32>
    %yh = braid.ssd_scan %xh, %dt, %A, %Bg, %Cg dt_bias %dt_bias
        {num_heads = 4 : i64, head_dim = 16 : i64, num_groups = 1 : i64,
         state_size = 8 : i64, chunk_size = 16 : i64}
        : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x1x8xf32>,
           tensor<?x?x1x8xf32>, tensor<4xf32>) -> tensor<?x?x4x16xf32>
    %y = braid.reshape %yh : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
    %g = braid.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %o = braid.linear %g, %out_proj : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %r = braid.add %x, %o : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
    braid.yield %r : tensor<?x?x32xf32>
  }

  %h1 = braid.layer mlp (%m0) {index = 0 : i64, name = "layers.0.feed_forward"}
      : (tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  ^bb0(%x: tensor<?x?x32xf32>):
    %norm_w = braid.weight "layers.0.pre_ff_layernorm" : tensor<32xf32>
    %w_gate_up = braid.weight "layers.0.feed_forward.gate_up_proj" : tensor<128x32xf32>
    %w_down = braid.weight "layers.0.feed_forward.down_proj" : tensor<32x64xf32>
    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %gu = braid.linear %n, %w_gate_up : (tensor<?x?x32xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
    %gate, %up = braid.split %gu {axis = 2 : i64, sizes = array<i64: 64, 64>}
        : (tensor<?x?x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    %act = braid.activation silu %gate : tensor<?x?x64xf32>
    %m = braid.mul %act, %up : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    %o = braid.linear %m, %w_down : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %r = braid.add %x, %o : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
    braid.yield %r : tensor<?x?x32xf32>
  }

  // ---- Layer 1: Mamba2 + MLP ----------------------------------------------
  %m1 = braid.layer mamba2 (%h1) {index = 1 : i64, name = "layers.1.mamba"}
      : (tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  ^bb0(%x: tensor<?x?x32xf32>):
    %norm_w = braid.weight "layers.1.input_layernorm" : tensor<32xf32>
    %in_proj = braid.weight "layers.1.mamba.in_proj" : tensor<148x32xf32>
    %conv_w = braid.weight "layers.1.mamba.conv1d" : tensor<80x4xf32>
    %A = braid.weight "layers.1.mamba.A" : tensor<4xf32>
    %dt_bias = braid.weight "layers.1.mamba.dt_bias" : tensor<4xf32>
    %gnorm_w = braid.weight "layers.1.mamba.norm" : tensor<64xf32>
    %out_proj = braid.weight "layers.1.mamba.out_proj" : tensor<32x64xf32>
    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %p = braid.linear %n, %in_proj : (tensor<?x?x32xf32>, tensor<148x32xf32>) -> tensor<?x?x148xf32>
    %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 64, 80, 4>}
        : (tensor<?x?x148xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x80xf32>, tensor<?x?x4xf32>)
    %c = braid.causal_conv1d silu %xbc, %conv_w {kernel_size = 4 : i64}
        : (tensor<?x?x80xf32>, tensor<80x4xf32>) -> tensor<?x?x80xf32>
    %xs, %B, %C = braid.split %c {axis = 2 : i64, sizes = array<i64: 64, 8, 8>}
        : (tensor<?x?x80xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>)
    %xh = braid.reshape %xs : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
    %Bg = braid.reshape %B : (tensor<?x?x8xf32>) -> tensor<?x?x1x8xf32>
    %Cg = braid.reshape %C : (tensor<?x?x8xf32>) -> tensor<?x?x1x8xf32>
    %yh = braid.ssd_scan %xh, %dt, %A, %Bg, %Cg dt_bias %dt_bias
        {num_heads = 4 : i64, head_dim = 16 : i64, num_groups = 1 : i64,
         state_size = 8 : i64, chunk_size = 16 : i64}
        : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x1x8xf32>,
           tensor<?x?x1x8xf32>, tensor<4xf32>) -> tensor<?x?x4x16xf32>
    %y = braid.reshape %yh : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
    %g = braid.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %o = braid.linear %g, %out_proj : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %r = braid.add %x, %o : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
    braid.yield %r : tensor<?x?x32xf32>
  }

  %h2 = braid.layer mlp (%m1) {index = 1 : i64, name = "layers.1.feed_forward"}
      : (tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  ^bb0(%x: tensor<?x?x32xf32>):
    %norm_w = braid.weight "layers.1.pre_ff_layernorm" : tensor<32xf32>
    %w_gate_up = braid.weight "layers.1.feed_forward.gate_up_proj" : tensor<128x32xf32>
    %w_down = braid.weight "layers.1.feed_forward.down_proj" : tensor<32x64xf32>
    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %gu = braid.linear %n, %w_gate_up : (tensor<?x?x32xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
    %gate, %up = braid.split %gu {axis = 2 : i64, sizes = array<i64: 64, 64>}
        : (tensor<?x?x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    %act = braid.activation silu %gate : tensor<?x?x64xf32>
    %m = braid.mul %act, %up : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    %o = braid.linear %m, %w_down : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %r = braid.add %x, %o : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
    braid.yield %r : tensor<?x?x32xf32>
  }

  // ---- Layer 2: attention, no MLP (the lint warns here) ---------------------
  %h3 = braid.layer attention (%h2, %positions) {index = 2 : i64, name = "layers.2.self_attn"}
      : (tensor<?x?x32xf32>, tensor<?x?xi64>) -> tensor<?x?x32xf32> {
  ^bb0(%x: tensor<?x?x32xf32>, %pos: tensor<?x?xi64>):
    %norm_w = braid.weight "layers.2.input_layernorm" : tensor<32xf32>
    %wq = braid.weight "layers.2.self_attn.q_proj" : tensor<32x32xf32>
    %wkv = braid.weight "layers.2.self_attn.kv_proj" : tensor<32x32xf32>
    %wo = braid.weight "layers.2.self_attn.o_proj" : tensor<32x32xf32>
    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
    %kv = braid.linear %n, %wkv : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
    %k, %v = braid.split %kv {axis = 2 : i64, sizes = array<i64: 16, 16>}
        : (tensor<?x?x32xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>)
    %qh = braid.reshape %q : (tensor<?x?x32xf32>) -> tensor<?x?x2x16xf32>
    %kh = braid.reshape %k : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    %vh = braid.reshape %v : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    %qr = braid.rope %qh, %pos {rotary_dim = 16 : i64, theta = 1.0e+04 : f64}
        : (tensor<?x?x2x16xf32>, tensor<?x?xi64>) -> tensor<?x?x2x16xf32>
    %kr = braid.rope %kh, %pos {rotary_dim = 16 : i64, theta = 1.0e+04 : f64}
        : (tensor<?x?x1x16xf32>, tensor<?x?xi64>) -> tensor<?x?x1x16xf32>
    %a = braid.attention %qr, %kr, %vh {num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 2.500000e-01 : f64}
        : (tensor<?x?x2x16xf32>, tensor<?x?x1x16xf32>, tensor<?x?x1x16xf32>) -> tensor<?x?x2x16xf32>
    %af = braid.reshape %a : (tensor<?x?x2x16xf32>) -> tensor<?x?x32xf32>
    %o = braid.linear %af, %wo : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
    %r = braid.add %x, %o : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
    braid.yield %r : tensor<?x?x32xf32>
  }

  // ---- Layer 3: Mamba2 + MLP ----------------------------------------------
  %m3 = braid.layer mamba2 (%h3) {index = 3 : i64, name = "layers.3.mamba"}
      : (tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  ^bb0(%x: tensor<?x?x32xf32>):
    %norm_w = braid.weight "layers.3.input_layernorm" : tensor<32xf32>
    %in_proj = braid.weight "layers.3.mamba.in_proj" : tensor<148x32xf32>
    %conv_w = braid.weight "layers.3.mamba.conv1d" : tensor<80x4xf32>
    %A = braid.weight "layers.3.mamba.A" : tensor<4xf32>
    %dt_bias = braid.weight "layers.3.mamba.dt_bias" : tensor<4xf32>
    %gnorm_w = braid.weight "layers.3.mamba.norm" : tensor<64xf32>
    %out_proj = braid.weight "layers.3.mamba.out_proj" : tensor<32x64xf32>
    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %p = braid.linear %n, %in_proj : (tensor<?x?x32xf32>, tensor<148x32xf32>) -> tensor<?x?x148xf32>
    %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 64, 80, 4>}
        : (tensor<?x?x148xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x80xf32>, tensor<?x?x4xf32>)
    %c = braid.causal_conv1d silu %xbc, %conv_w {kernel_size = 4 : i64}
        : (tensor<?x?x80xf32>, tensor<80x4xf32>) -> tensor<?x?x80xf32>
    %xs, %B, %C = braid.split %c {axis = 2 : i64, sizes = array<i64: 64, 8, 8>}
        : (tensor<?x?x80xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>)
    %xh = braid.reshape %xs : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
    %Bg = braid.reshape %B : (tensor<?x?x8xf32>) -> tensor<?x?x1x8xf32>
    %Cg = braid.reshape %C : (tensor<?x?x8xf32>) -> tensor<?x?x1x8xf32>
    %yh = braid.ssd_scan %xh, %dt, %A, %Bg, %Cg dt_bias %dt_bias
        {num_heads = 4 : i64, head_dim = 16 : i64, num_groups = 1 : i64,
         state_size = 8 : i64, chunk_size = 16 : i64}
        : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x1x8xf32>,
           tensor<?x?x1x8xf32>, tensor<4xf32>) -> tensor<?x?x4x16xf32>
    %y = braid.reshape %yh : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
    %g = braid.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %o = braid.linear %g, %out_proj : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %r = braid.add %x, %o : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
    braid.yield %r : tensor<?x?x32xf32>
  }

  %h4 = braid.layer mlp (%m3) {index = 3 : i64, name = "layers.3.feed_forward"}
      : (tensor<?x?x32xf32>) -> tensor<?x?x32xf32> {
  ^bb0(%x: tensor<?x?x32xf32>):
    %norm_w = braid.weight "layers.3.pre_ff_layernorm" : tensor<32xf32>
    %w_gate_up = braid.weight "layers.3.feed_forward.gate_up_proj" : tensor<128x32xf32>
    %w_down = braid.weight "layers.3.feed_forward.down_proj" : tensor<32x64xf32>
    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %gu = braid.linear %n, %w_gate_up : (tensor<?x?x32xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
    %gate, %up = braid.split %gu {axis = 2 : i64, sizes = array<i64: 64, 64>}
        : (tensor<?x?x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    %act = braid.activation silu %gate : tensor<?x?x64xf32>
    %m = braid.mul %act, %up : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    %o = braid.linear %m, %w_down : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %r = braid.add %x, %o : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
    braid.yield %r : tensor<?x?x32xf32>
  }

  // ---- Layer 4: attention, no MLP -----------------------------------------
  %h5 = braid.layer attention (%h4, %positions) {index = 4 : i64, name = "layers.4.self_attn"}
      : (tensor<?x?x32xf32>, tensor<?x?xi64>) -> tensor<?x?x32xf32> {
  ^bb0(%x: tensor<?x?x32xf32>, %pos: tensor<?x?xi64>):
    %norm_w = braid.weight "layers.4.input_layernorm" : tensor<32xf32>
    %wq = braid.weight "layers.4.self_attn.q_proj" : tensor<32x32xf32>
    %wkv = braid.weight "layers.4.self_attn.kv_proj" : tensor<32x32xf32>
    %wo = braid.weight "layers.4.self_attn.o_proj" : tensor<32x32xf32>
    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64} : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
    %kv = braid.linear %n, %wkv : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
    %k, %v = braid.split %kv {axis = 2 : i64, sizes = array<i64: 16, 16>}
        : (tensor<?x?x32xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>)
    %qh = braid.reshape %q : (tensor<?x?x32xf32>) -> tensor<?x?x2x16xf32>
    %kh = braid.reshape %k : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    %vh = braid.reshape %v : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    %qr = braid.rope %qh, %pos {rotary_dim = 16 : i64, theta = 1.0e+04 : f64}
        : (tensor<?x?x2x16xf32>, tensor<?x?xi64>) -> tensor<?x?x2x16xf32>
    %kr = braid.rope %kh, %pos {rotary_dim = 16 : i64, theta = 1.0e+04 : f64}
        : (tensor<?x?x1x16xf32>, tensor<?x?xi64>) -> tensor<?x?x1x16xf32>
    %a = braid.attention %qr, %kr, %vh {num_heads = 2 : i64, num_kv_heads = 1 : i64, scale = 2.500000e-01 : f64}
        : (tensor<?x?x2x16xf32>, tensor<?x?x1x16xf32>, tensor<?x?x1x16xf32>) -> tensor<?x?x2x16xf32>
    %af = braid.reshape %a : (tensor<?x?x2x16xf32>) -> tensor<?x?x32xf32>
    %o = braid.linear %af, %wo : (tensor<?x?x32xf32>, tensor<32x32xf32>) -> tensor<?x?x32xf32>
    %r = braid.add %x, %o : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
    braid.yield %r : tensor<?x?x32xf32>
  }

  // ---- Final norm and LM head (vocab 128) ---------------------------------
  %final_w = braid.weight "final_layernorm" : tensor<32xf32>
  %lm_head = braid.weight "lm_head" : tensor<128x32xf32>
  %hn = braid.rms_norm %h5, %final_w {epsilon = 1.0e-05 : f64}
      : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  %logits = braid.linear %hn, %lm_head
      : (tensor<?x?x32xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
  return %logits : tensor<?x?x128xf32>
}
