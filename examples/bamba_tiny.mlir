// Bamba tiny, written by hand in the braid dialect.
//
// The architecture of the `bamba_tiny` golden (../shared/goldens/bamba_tiny/
// config.json, made by transformers' BambaForCausalLM with random weights):
//
//   hidden 64, vocab 256, 4 decoder layers, rms_norm_eps 1e-5, fp32;
//   layer 1 is attention (attn_layer_indices = [1]), layers 0, 2, 3 are Mamba2;
//   attention: GQA 4 query / 2 KV heads of head_dim 16, partial rotary 0.5
//     (rotary_dim 8), rope theta 1e4, no biases;
//   Mamba2: expand 2 (d_inner 128) = 8 heads x head_dim 16, 1 group,
//     state 16, chunk 16, conv width 4 with bias, no projection bias,
//     time_step_limit (0, inf);
//   every decoder layer ends with a SiLU-gated MLP (intermediate 128);
//   final RMS norm, untied lm head.
//
// Each decoder layer is two `braid.layer` blocks, both carrying the decoder
// layer's number as `index`: the mixer (`mamba2` or `attention`: pre-norm,
// mixer, residual add) and the feed-forward block (`mlp`: pre-norm, gated
// MLP, residual add). Regions are isolated from above, so the attention block
// takes the positions as a second operand.
//
// Weight names are the checkpoint names without the `model.` prefix and the
// `.weight` suffix. The binding table applies the load-time transforms:
// `layers.N.mamba.A` is `-exp(model.layers.N.mamba.A_log)`, and
// `layers.N.mamba.conv1d` is the [160, 1, 4] conv weight reshaped to [160, 4].
//
// This is a whole-model prefill graph without caches: no conv, SSM or KV
// state goes in or out.
//
//   braid-opt examples/bamba_tiny.mlir --braid-lint-hybrid   (verifies, no warnings)

func.func @forward(%ids: tensor<?x?xi64>, %positions: tensor<?x?xi64>) -> tensor<?x?x256xf32> {
  %embed = braid.weight "embed_tokens" : tensor<256x64xf32>
  %h0 = braid.embedding %ids, %embed
      : (tensor<?x?xi64>, tensor<256x64xf32>) -> tensor<?x?x64xf32>

  // ---- Decoder layer 0: Mamba2 mixer -------------------------------------
  %m0 = braid.layer mamba2 (%h0) {index = 0 : i64, name = "layers.0.mamba"}
      : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %norm_w = braid.weight "layers.0.input_layernorm" : tensor<64xf32>
    %in_proj = braid.weight "layers.0.mamba.in_proj" : tensor<296x64xf32>
    %conv_w = braid.weight "layers.0.mamba.conv1d" : tensor<160x4xf32>
    %conv_b = braid.weight "layers.0.mamba.conv1d.bias" : tensor<160xf32>
    %A = braid.weight "layers.0.mamba.A" : tensor<8xf32>
    %D = braid.weight "layers.0.mamba.D" : tensor<8xf32>
    %dt_bias = braid.weight "layers.0.mamba.dt_bias" : tensor<8xf32>
    %gnorm_w = braid.weight "layers.0.mamba.norm" : tensor<128xf32>
    %out_proj = braid.weight "layers.0.mamba.out_proj" : tensor<64x128xf32>

    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    // in_proj: [z (d_inner 128) | xBC (128 + 2 * 16 = 160) | dt (8 heads)]
    %p = braid.linear %n, %in_proj
        : (tensor<?x?x64xf32>, tensor<296x64xf32>) -> tensor<?x?x296xf32>
    %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 160, 8>}
        : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>)
    %xbc_c = braid.causal_conv1d silu %xbc, %conv_w bias %conv_b {kernel_size = 4 : i64}
        : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>) -> tensor<?x?x160xf32>
    %xs, %B, %C = braid.split %xbc_c {axis = 2 : i64, sizes = array<i64: 128, 16, 16>}
        : (tensor<?x?x160xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>)
    %xh = braid.reshape %xs : (tensor<?x?x128xf32>) -> tensor<?x?x8x16xf32>
    %Bg = braid.reshape %B : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    %Cg = braid.reshape %C : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    // dt' = softplus(dt + dt_bias); time_step_limit (0, inf) leaves dt_max unset.
    %yh = braid.ssd_scan %xh, %dt, %A, %Bg, %Cg skip %D dt_bias %dt_bias
        {num_heads = 8 : i64, head_dim = 16 : i64, num_groups = 1 : i64,
         state_size = 16 : i64, chunk_size = 16 : i64, dt_softplus = true}
        : (tensor<?x?x8x16xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x16xf32>,
           tensor<?x?x1x16xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8x16xf32>
    %y = braid.reshape %yh : (tensor<?x?x8x16xf32>) -> tensor<?x?x128xf32>
    // rmsnorm(y * silu(z)) over groups of d_inner / n_groups = 128 channels.
    %g = braid.gated_rms_norm %y, %z, %gnorm_w {group_size = 128 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %o = braid.linear %g, %out_proj
        : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }

  // ---- Decoder layer 0: gated MLP ----------------------------------------
  %h1 = braid.layer mlp (%m0) {index = 0 : i64, name = "layers.0.feed_forward"}
      : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %norm_w = braid.weight "layers.0.pre_ff_layernorm" : tensor<64xf32>
    %w_gate = braid.weight "layers.0.feed_forward.gate_proj" : tensor<128x64xf32>
    %w_up = braid.weight "layers.0.feed_forward.up_proj" : tensor<128x64xf32>
    %w_down = braid.weight "layers.0.feed_forward.down_proj" : tensor<64x128xf32>

    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %gate = braid.linear %n, %w_gate : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    %up = braid.linear %n, %w_up : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    %act = braid.activation silu %gate : tensor<?x?x128xf32>
    %gu = braid.mul %act, %up
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
    %o = braid.linear %gu, %w_down : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }

  // ---- Decoder layer 1: attention mixer ----------------------------------
  %m1 = braid.layer attention (%h1, %positions) {index = 1 : i64, name = "layers.1.self_attn"}
      : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>, %pos: tensor<?x?xi64>):
    %norm_w = braid.weight "layers.1.input_layernorm" : tensor<64xf32>
    %wq = braid.weight "layers.1.self_attn.q_proj" : tensor<64x64xf32>
    %wk = braid.weight "layers.1.self_attn.k_proj" : tensor<32x64xf32>
    %wv = braid.weight "layers.1.self_attn.v_proj" : tensor<32x64xf32>
    %wo = braid.weight "layers.1.self_attn.o_proj" : tensor<64x64xf32>

    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %qh = braid.reshape %q : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
    %kh = braid.reshape %k : (tensor<?x?x32xf32>) -> tensor<?x?x2x16xf32>
    %vh = braid.reshape %v : (tensor<?x?x32xf32>) -> tensor<?x?x2x16xf32>
    // Partial rotary: 0.5 * head_dim 16 = 8 channels rotate, 8 pass through.
    %qr = braid.rope %qh, %pos {rotary_dim = 8 : i64, theta = 1.0e+04 : f64}
        : (tensor<?x?x4x16xf32>, tensor<?x?xi64>) -> tensor<?x?x4x16xf32>
    %kr = braid.rope %kh, %pos {rotary_dim = 8 : i64, theta = 1.0e+04 : f64}
        : (tensor<?x?x2x16xf32>, tensor<?x?xi64>) -> tensor<?x?x2x16xf32>
    // GQA 4/2, scale = 1/sqrt(head_dim 16).
    %a = braid.attention %qr, %kr, %vh
        {num_heads = 4 : i64, num_kv_heads = 2 : i64, causal = true, scale = 2.500000e-01 : f64}
        : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
    %af = braid.reshape %a : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
    %o = braid.linear %af, %wo : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }

  // ---- Decoder layer 1: gated MLP ----------------------------------------
  %h2 = braid.layer mlp (%m1) {index = 1 : i64, name = "layers.1.feed_forward"}
      : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %norm_w = braid.weight "layers.1.pre_ff_layernorm" : tensor<64xf32>
    %w_gate = braid.weight "layers.1.feed_forward.gate_proj" : tensor<128x64xf32>
    %w_up = braid.weight "layers.1.feed_forward.up_proj" : tensor<128x64xf32>
    %w_down = braid.weight "layers.1.feed_forward.down_proj" : tensor<64x128xf32>

    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %gate = braid.linear %n, %w_gate : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    %up = braid.linear %n, %w_up : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    %act = braid.activation silu %gate : tensor<?x?x128xf32>
    %gu = braid.mul %act, %up
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
    %o = braid.linear %gu, %w_down : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }

  // ---- Decoder layer 2: Mamba2 mixer -------------------------------------
  %m2 = braid.layer mamba2 (%h2) {index = 2 : i64, name = "layers.2.mamba"}
      : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %norm_w = braid.weight "layers.2.input_layernorm" : tensor<64xf32>
    %in_proj = braid.weight "layers.2.mamba.in_proj" : tensor<296x64xf32>
    %conv_w = braid.weight "layers.2.mamba.conv1d" : tensor<160x4xf32>
    %conv_b = braid.weight "layers.2.mamba.conv1d.bias" : tensor<160xf32>
    %A = braid.weight "layers.2.mamba.A" : tensor<8xf32>
    %D = braid.weight "layers.2.mamba.D" : tensor<8xf32>
    %dt_bias = braid.weight "layers.2.mamba.dt_bias" : tensor<8xf32>
    %gnorm_w = braid.weight "layers.2.mamba.norm" : tensor<128xf32>
    %out_proj = braid.weight "layers.2.mamba.out_proj" : tensor<64x128xf32>

    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    // in_proj: [z (d_inner 128) | xBC (128 + 2 * 16 = 160) | dt (8 heads)]
    %p = braid.linear %n, %in_proj
        : (tensor<?x?x64xf32>, tensor<296x64xf32>) -> tensor<?x?x296xf32>
    %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 160, 8>}
        : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>)
    %xbc_c = braid.causal_conv1d silu %xbc, %conv_w bias %conv_b {kernel_size = 4 : i64}
        : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>) -> tensor<?x?x160xf32>
    %xs, %B, %C = braid.split %xbc_c {axis = 2 : i64, sizes = array<i64: 128, 16, 16>}
        : (tensor<?x?x160xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>)
    %xh = braid.reshape %xs : (tensor<?x?x128xf32>) -> tensor<?x?x8x16xf32>
    %Bg = braid.reshape %B : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    %Cg = braid.reshape %C : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    // dt' = softplus(dt + dt_bias); time_step_limit (0, inf) leaves dt_max unset.
    %yh = braid.ssd_scan %xh, %dt, %A, %Bg, %Cg skip %D dt_bias %dt_bias
        {num_heads = 8 : i64, head_dim = 16 : i64, num_groups = 1 : i64,
         state_size = 16 : i64, chunk_size = 16 : i64, dt_softplus = true}
        : (tensor<?x?x8x16xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x16xf32>,
           tensor<?x?x1x16xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8x16xf32>
    %y = braid.reshape %yh : (tensor<?x?x8x16xf32>) -> tensor<?x?x128xf32>
    // rmsnorm(y * silu(z)) over groups of d_inner / n_groups = 128 channels.
    %g = braid.gated_rms_norm %y, %z, %gnorm_w {group_size = 128 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %o = braid.linear %g, %out_proj
        : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }

  // ---- Decoder layer 2: gated MLP ----------------------------------------
  %h3 = braid.layer mlp (%m2) {index = 2 : i64, name = "layers.2.feed_forward"}
      : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %norm_w = braid.weight "layers.2.pre_ff_layernorm" : tensor<64xf32>
    %w_gate = braid.weight "layers.2.feed_forward.gate_proj" : tensor<128x64xf32>
    %w_up = braid.weight "layers.2.feed_forward.up_proj" : tensor<128x64xf32>
    %w_down = braid.weight "layers.2.feed_forward.down_proj" : tensor<64x128xf32>

    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %gate = braid.linear %n, %w_gate : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    %up = braid.linear %n, %w_up : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    %act = braid.activation silu %gate : tensor<?x?x128xf32>
    %gu = braid.mul %act, %up
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
    %o = braid.linear %gu, %w_down : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }

  // ---- Decoder layer 3: Mamba2 mixer -------------------------------------
  %m3 = braid.layer mamba2 (%h3) {index = 3 : i64, name = "layers.3.mamba"}
      : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %norm_w = braid.weight "layers.3.input_layernorm" : tensor<64xf32>
    %in_proj = braid.weight "layers.3.mamba.in_proj" : tensor<296x64xf32>
    %conv_w = braid.weight "layers.3.mamba.conv1d" : tensor<160x4xf32>
    %conv_b = braid.weight "layers.3.mamba.conv1d.bias" : tensor<160xf32>
    %A = braid.weight "layers.3.mamba.A" : tensor<8xf32>
    %D = braid.weight "layers.3.mamba.D" : tensor<8xf32>
    %dt_bias = braid.weight "layers.3.mamba.dt_bias" : tensor<8xf32>
    %gnorm_w = braid.weight "layers.3.mamba.norm" : tensor<128xf32>
    %out_proj = braid.weight "layers.3.mamba.out_proj" : tensor<64x128xf32>

    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    // in_proj: [z (d_inner 128) | xBC (128 + 2 * 16 = 160) | dt (8 heads)]
    %p = braid.linear %n, %in_proj
        : (tensor<?x?x64xf32>, tensor<296x64xf32>) -> tensor<?x?x296xf32>
    %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 160, 8>}
        : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>)
    %xbc_c = braid.causal_conv1d silu %xbc, %conv_w bias %conv_b {kernel_size = 4 : i64}
        : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>) -> tensor<?x?x160xf32>
    %xs, %B, %C = braid.split %xbc_c {axis = 2 : i64, sizes = array<i64: 128, 16, 16>}
        : (tensor<?x?x160xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>)
    %xh = braid.reshape %xs : (tensor<?x?x128xf32>) -> tensor<?x?x8x16xf32>
    %Bg = braid.reshape %B : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    %Cg = braid.reshape %C : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
    // dt' = softplus(dt + dt_bias); time_step_limit (0, inf) leaves dt_max unset.
    %yh = braid.ssd_scan %xh, %dt, %A, %Bg, %Cg skip %D dt_bias %dt_bias
        {num_heads = 8 : i64, head_dim = 16 : i64, num_groups = 1 : i64,
         state_size = 16 : i64, chunk_size = 16 : i64, dt_softplus = true}
        : (tensor<?x?x8x16xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x16xf32>,
           tensor<?x?x1x16xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8x16xf32>
    %y = braid.reshape %yh : (tensor<?x?x8x16xf32>) -> tensor<?x?x128xf32>
    // rmsnorm(y * silu(z)) over groups of d_inner / n_groups = 128 channels.
    %g = braid.gated_rms_norm %y, %z, %gnorm_w {group_size = 128 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %o = braid.linear %g, %out_proj
        : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }

  // ---- Decoder layer 3: gated MLP ----------------------------------------
  %h4 = braid.layer mlp (%m3) {index = 3 : i64, name = "layers.3.feed_forward"}
      : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %norm_w = braid.weight "layers.3.pre_ff_layernorm" : tensor<64xf32>
    %w_gate = braid.weight "layers.3.feed_forward.gate_proj" : tensor<128x64xf32>
    %w_up = braid.weight "layers.3.feed_forward.up_proj" : tensor<128x64xf32>
    %w_down = braid.weight "layers.3.feed_forward.down_proj" : tensor<64x128xf32>

    %n = braid.rms_norm %x, %norm_w {epsilon = 1.0e-05 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %gate = braid.linear %n, %w_gate : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    %up = braid.linear %n, %w_up : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    %act = braid.activation silu %gate : tensor<?x?x128xf32>
    %gu = braid.mul %act, %up
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
    %o = braid.linear %gu, %w_down : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }

  // ---- Final norm and LM head -------------------------------------------
  %final_w = braid.weight "final_layernorm" : tensor<64xf32>
  %lm_head = braid.weight "lm_head" : tensor<256x64xf32>
  %hn = braid.rms_norm %h4, %final_w {epsilon = 1.0e-05 : f64}
      : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %logits = braid.linear %hn, %lm_head
      : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  return %logits : tensor<?x?x256xf32>
}
