// RUN: braid-opt %s -split-input-file -braid-lower-to-launch -verify-diagnostics
//
// -braid-lower-to-launch on model functions it cannot lower: each case names
// the op or function at fault and what the pass expected instead.

// A causal_conv1d that already carries its conv state: entry specialization
// adds the states, so the model function must be stateless. (Reported before
// the state result, which is not [B, T, ...], could be blamed instead.)
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x6xf32> {
  %t = braid.weight "embed" : tensor<16x6xf32>
  %w = braid.weight "conv" : tensor<6x4xf32>
  %s0 = braid.weight "s0" : tensor<2x6x3xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x6xf32>) -> tensor<?x?x6xf32>
  // expected-error @+1 {{'braid.causal_conv1d' op already carries its conv_state; entry specialization adds states itself, so lower a stateless model function}}
  %y, %s = braid.causal_conv1d silu %x, %w state %s0 {kernel_size = 4 : i64}
      : (tensor<?x?x6xf32>, tensor<6x4xf32>, tensor<2x6x3xf32>) -> (tensor<?x?x6xf32>, tensor<2x6x3xf32>)
  return %y : tensor<?x?x6xf32>
}

// -----

// An ssd_scan with an initial state.
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x2x3xf32> {
  %t = braid.weight "embed" : tensor<16x6xf32>
  %A = braid.weight "A" : tensor<2xf32>
  %h = braid.weight "h" : tensor<1x2x3x3xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x6xf32>) -> tensor<?x?x6xf32>
  %x4 = braid.reshape %x : (tensor<?x?x6xf32>) -> tensor<?x?x2x3xf32>
  %parts:2 = braid.split %x {axis = 2 : i64, sizes = array<i64: 2, 4>}
      : (tensor<?x?x6xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x4xf32>)
  %bc = braid.reshape %x : (tensor<?x?x6xf32>) -> tensor<?x?x2x3xf32>
  // expected-error @+1 {{'braid.ssd_scan' op already carries its initial_state}}
  %y, %hf = braid.ssd_scan %x4, %parts#0, %A, %bc, %bc state %h
      {num_heads = 2 : i64, head_dim = 3 : i64, num_groups = 2 : i64, state_size = 3 : i64, chunk_size = 8 : i64}
      : (tensor<?x?x2x3xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x2x3xf32>, tensor<?x?x2x3xf32>, tensor<1x2x3x3xf32>)
      -> (tensor<?x?x2x3xf32>, tensor<1x2x3x3xf32>)
  return %y : tensor<?x?x2x3xf32>
}

// -----

// A selective_scan with a state. (The KV caches of attention and the latent
// cache of mla take a [batch] cache_position, which a model function of
// (input_ids, positions) cannot produce; their check is the same.)
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x6xf32> {
  %t = braid.weight "embed" : tensor<16x6xf32>
  %xp = braid.weight "x_proj" : tensor<8x6xf32>
  %dtp = braid.weight "dt_proj" : tensor<6x2xf32>
  %dtb = braid.weight "dt_bias" : tensor<6xf32>
  %A = braid.weight "A" : tensor<6x3xf32>
  %s0 = braid.weight "s0" : tensor<1x6x3xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x6xf32>) -> tensor<?x?x6xf32>
  // expected-error @+1 {{'braid.selective_scan' op already carries its state}}
  %y, %s = braid.selective_scan %x, %xp, %dtp, %dtb, %A state %s0 {dt_rank = 2 : i64, state_size = 3 : i64}
      : (tensor<?x?x6xf32>, tensor<8x6xf32>, tensor<6x2xf32>, tensor<6xf32>, tensor<6x3xf32>, tensor<1x6x3xf32>)
      -> (tensor<?x?x6xf32>, tensor<1x6x3xf32>)
  return %y : tensor<?x?x6xf32>
}

// -----

// A transient value that is not [batch, seq, ...]: a projection of two
// weights gives a static matrix, which the per-token arena cannot hold.
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %t = braid.weight "embed" : tensor<16x8xf32>
  %w = braid.weight "w" : tensor<8x8xf32>
  // expected-error @+1 {{'braid.linear' op produces 'tensor<16x8xf32>', but transient values must be [batch, seq, static dims] to be planned}}
  %t2 = braid.linear %t, %w : (tensor<16x8xf32>, tensor<8x8xf32>) -> tensor<16x8xf32>
  %x = braid.embedding %ids, %t2 : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %y = braid.activation silu %x : tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// A transient value with a dynamic feature dimension has no size per token.
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %t = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  // expected-error @+1 {{'braid.concat' op produces 'tensor<?x?x?xf32>', but transient values must be [batch, seq, static dims] to be planned}}
  %c = braid.concat %x, %x {axis = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x?xf32>
  %y = braid.activation silu %x : tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// The model function takes (input_ids, positions): a third argument is
// rejected.
// expected-error @+1 {{'func.func' op the model function must take (input_ids, positions) and return logits, got '(tensor<?x?xi64>, tensor<?x?xi64>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>'}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>, %h: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %y = braid.activation silu %h : tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// ... and returns the logits only.
// expected-error @+1 {{'func.func' op the model function must take (input_ids, positions) and return logits, got '(tensor<?x?xi64>, tensor<?x?xi64>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>)'}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %t = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %y = braid.activation silu %x : tensor<?x?x8xf32>
  return %x, %y : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// -----

// Exactly one model function per module.
// expected-error @+1 {{expected exactly one model function, found 2}}
module {
  func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
    %t = braid.weight "embed" : tensor<16x8xf32>
    %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
    return %x : tensor<?x?x8xf32>
  }
  func.func @helper(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    return %x : tensor<?x?x8xf32>
  }
}

// -----

// A module without a model function has nothing to lower.
// expected-error @+1 {{expected exactly one model function, found 0}}
module {
  launch.arena {bytes_per_token = 0 : i64}
}

// -----

// The logits must be written by a kernel: a reshape is a view of another
// value's bytes, not an output buffer.
// expected-error @+1 {{'func.func' op the returned logits must be produced by a kernel (not a view, weight or input)}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x2x4xf32> {
  %t = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %l = braid.reshape %x : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  return %l : tensor<?x?x2x4xf32>
}

// -----

// ... nor a weight.
// expected-error @+1 {{'func.func' op the returned logits must be produced by a kernel (not a view, weight or input)}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<16x8xf32> {
  %t = braid.weight "embed" : tensor<16x8xf32>
  return %t : tensor<16x8xf32>
}

// -----

// ... nor an input.
// expected-error @+1 {{'func.func' op the returned logits must be produced by a kernel (not a view, weight or input)}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?xi64> {
  return %pos : tensor<?x?xi64>
}

// -----

// Two braid.weight ops of one name are one storage: their types must agree.
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %t = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  // expected-error @+1 {{'braid.weight' op weight 'embed' is used as 'tensor<8x8xf32>' here but as 'tensor<16x8xf32>' before}}
  %w = braid.weight "embed" : tensor<8x8xf32>
  %y = braid.linear %x, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// A front-end binding must describe the weight as the model uses it.
// expected-error @+1 {{'launch.weight' op binds 'embed' as 'tensor<16x8xbf16>', but the model uses it as 'tensor<16x8xf32>'}}
launch.weight "embed" : [16, 8] x bf16 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "model.embed_tokens.weight", shape = array<i64: 16, 8>}]}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %t = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %y = braid.activation silu %x : tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// Only braid ops name kernel families: another dialect's op in the model
// function is rejected rather than launched as an unknown kernel ("cast").
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %t = braid.weight "embed" : tensor<16x8xf32>
  %x = braid.embedding %ids, %t : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  // expected-error @+1 {{'tensor.cast' op is not a braid op; only braid ops lower to kernel launches}}
  %c = tensor.cast %x : tensor<?x?x8xf32> to tensor<?x?x8xf32>
  %y = braid.activation silu %c : tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
