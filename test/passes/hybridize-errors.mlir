// -braid-hybridize on inputs and options it refuses: each error names the
// layer, op, weight, binding or option at fault. Block and binding errors are
// checked with -verify-diagnostics on blocks.mlir; option errors on the
// stderr of runs over one valid model (model.mlir); the init sources that
// the pass writes into launch.weight ops, as the launch.weight verifier
// checks them, in bindings.mlir.
//
// RUN: split-file %s %t
// RUN: braid-opt %t/blocks.mlir -split-input-file -braid-hybridize="scores=1 keep=0" -verify-diagnostics
// RUN: braid-opt %t/bindings.mlir -split-input-file -verify-diagnostics
//
// RUN: not braid-opt %t/model.mlir -braid-hybridize 2>&1 | FileCheck %s --check-prefix=NOSCORES
// NOSCORES: model.mlir:{{[0-9]+}}:{{[0-9]+}}: error: braid-hybridize: needs scores=s0,s1,... (one sensitivity per attention layer in stack order, lower = safer to replace)
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1,2" 2>&1 | FileCheck %s --check-prefix=NOKEEP
// NOKEEP: error: braid-hybridize: needs keep=N, the number of attention layers to keep
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1,2,3 keep=1" 2>&1 | FileCheck %s --check-prefix=COUNT
// COUNT: error: braid-hybridize: scores has 3 values but the model has 2 attention layers; give one score per attention layer in stack order
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1,2 keep=3" 2>&1 | FileCheck %s --check-prefix=KEEPMORE
// KEEPMORE: error: braid-hybridize: keep=3 but the model has only 2 attention layers
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1,2 keep=-2" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: braid-hybridize: keep=-2 must not be negative
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1,inf keep=1" 2>&1 | FileCheck %s --check-prefix=INF
// INF: error: braid-hybridize: score #1 is inf; scores must be finite numbers
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1,2 keep=1 chunk-size=0" 2>&1 | FileCheck %s --check-prefix=CHUNK
// CHUNK: error: braid-hybridize: chunk-size=0 must be at least 1
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1,2 keep=1 conv-kernel=0" 2>&1 | FileCheck %s --check-prefix=CONV
// CONV: error: braid-hybridize: conv-kernel=0 must be at least 1
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1,2 keep=1 state-size=-4" 2>&1 | FileCheck %s --check-prefix=STATE
// STATE: error: braid-hybridize: state-size=-4 must be positive (or 0: the attention's head dim)
// An option error fails the pass before any change; no remark follows it:
// RUN: not braid-opt %t/model.mlir -braid-hybridize="scores=1 keep=0" 2>&1 | FileCheck %s --check-prefix=ONLY
// ONLY:     error: braid-hybridize: scores has 1 value but the model has 2 attention layers
// ONLY-NOT: remark
// ONLY-NOT: braid.layer mamba2

//--- model.mlir
!t = tensor<?x?x8xf32>
func.func @forward(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  %h2 = braid.layer attention (%h1, %pos) {index = 1 : i64, name = "layers.1.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.1.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.1.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.1.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.1.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.1.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h2 : !t
}

//--- blocks.mlir
!t = tensor<?x?x8xf32>

// Anything but the pre-norm form, here a scale on q, is named.
func.func @extra_op(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    // expected-error @below {{braid-hybridize: layer 0 ('layers.0.attn'): unexpected 'braid.scale' in the attention block; braid-hybridize replaces pre-norm attention blocks (norm, q/k/v projections, reshapes, optional rope, attention, o projection, optional residual scale, residual add)}}
    %qs = braid.scale %q {factor = 2.0 : f64} : tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x8xf32>

// The projections must read a norm of the block input.
func.func @no_norm(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    // expected-error @below {{layer 0 ('layers.0.attn'): the q/k/v projections must read a norm (rms_norm or layer_norm) of the block input}}
    %q = braid.linear %x, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %x, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %x, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x8xf32>

// q, k and v project one value (here v reads the un-normed input).
func.func @different_inputs(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %x, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    // expected-error @below {{layer 0 ('layers.0.attn'): q, k and v must project the same value}}
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x8xf32>

// The output goes through the o projection into the residual add.
func.func @no_residual(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    // expected-error @below {{layer 0 ('layers.0.attn'): the attention output must go through a reshape and the o projection (and optionally a scale) into the residual add that the block yields}}
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %y : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x8xf32>

// Weights are braid.weight ops of the block, not operands of the layer.
func.func @weight_operand(%h0: !t, %pos: tensor<?x?xi64>, %wq: tensor<8x8xf32>) -> !t {
  %h1 = braid.layer attention (%h0, %pos, %wq) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>, tensor<8x8xf32>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>, %wqa: tensor<8x8xf32>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    // expected-error @below {{layer 0 ('layers.0.attn'): the weights of 'braid.linear' must come from braid.weight ops in the block}}
    %q = braid.linear %n, %wqa : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x8xf32>

// A block with a KV cache is not a stateless model function.
func.func @kv_cache(%h0: !t, %pos: tensor<?x?xi64>, %kc: tensor<1x2x16x4xf32>, %vc: tensor<1x2x16x4xf32>, %cp: tensor<1xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos, %kc, %vc, %cp) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>, tensor<1x2x16x4xf32>, tensor<1x2x16x4xf32>, tensor<1xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>, %k0: tensor<1x2x16x4xf32>, %v0: tensor<1x2x16x4xf32>, %c0: tensor<1xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    // expected-error @below {{layer 0 ('layers.0.attn'): the attention carries a KV cache; hybridize a stateless model function}}
    %o4, %kn, %vn = braid.attention %q4, %k4, %v4 cache(%k0, %v0, %c0) {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<1x2x16x4xf32>, tensor<1x2x16x4xf32>, tensor<1xi64>) -> (tensor<?x?x2x4xf32>, tensor<1x2x16x4xf32>, tensor<1x2x16x4xf32>)
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x8xf32>

// Attention inside a parallel layer is not part of a sequential stack.
func.func @nested(%h0: !t, %fpos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer parallel (%h0, %fpos) {index = 0 : i64} : (!t, tensor<?x?xi64>) -> !t {
  ^bb0(%x0: !t, %pos: tensor<?x?xi64>):
    // expected-error @below {{braid-hybridize: the attention layer 'layers.0.attn' is nested in a 'parallel' layer; braid-hybridize replaces top-level attention layers of a sequential stack}}
    %a = braid.layer attention (%x0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
    ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
      %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
      %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
      %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
      %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
      %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
      %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
      %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
      %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
      %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
      %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
      %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
      %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
      %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
      %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
      %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
      %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
      braid.yield %r : tensor<?x?x8xf32>
    }
    %m = braid.layer mamba2 (%x0) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %a, %m : (!t, !t) -> !t
    braid.yield %r : !t
  }
  return %h1 : !t
}

// -----

// The attention weights must be reusable as concat pieces: a binding that
// transforms the tensor cannot start x.
// expected-error @below {{braid-hybridize: layer 0 ('layers.0.attn'): cannot start the Mamba2 weights from 'layers.0.attn.v_proj': its binding applies 'neg_exp'; only identity bindings can be reused}}
launch.weight "layers.0.attn.v_proj" : [8, 8] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "neg_exp", sources = [{tensor = "model.v", shape = array<i64: 8, 8>}]}
!t = tensor<?x?x8xf32>
func.func @transformed_binding(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

// A binding that reshapes its source cannot be a concat piece.
// expected-error @below {{cannot start the Mamba2 weights from 'layers.0.attn.k_proj': its source has shape [2, 4, 8], which the binding reshapes to [8, 8]; only sources of the weight's own layout can be reused}}
launch.weight "layers.0.attn.k_proj" : [8, 8] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.k", shape = array<i64: 2, 4, 8>}]}
!t = tensor<?x?x8xf32>
func.func @reshaping_binding(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

// A binding that stacks its sources cannot be a concat piece either.
// expected-error @below {{cannot start the Mamba2 weights from 'layers.0.attn.q_proj': its binding combines its sources by 'stack'; only single sources or a concat along axis 0 can be reused}}
launch.weight "layers.0.attn.q_proj" : [8, 8] x f32 {combine = "stack", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "a", shape = array<i64: 4, 8>}, {tensor = "b", shape = array<i64: 4, 8>}]}
!t = tensor<?x?x8xf32>
func.func @stacked_binding(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x8xf32>

// The new weight names must be free.
func.func @name_taken(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  // expected-error @below {{braid-hybridize: layer 0 ('layers.0.attn'): the Mamba2 weight name 'layers.0.attn.conv' is already taken in this module}}
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  %h2 = braid.layer mlp (%h1) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>):
    %w = braid.weight "layers.0.attn.conv" : tensor<8x8xf32>
    %y = braid.linear %x, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h2 : !t
}

// -----

!t = tensor<?x?x8xf32>

// Two blocks in one braid.attention-layer are not one attention.
func.func @two_attentions(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  // expected-error @below {{layer 0 ('layers.0.attn'): expected one braid.attention in the block, found 2}}
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o5 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x8xf32>

// One model function: attention layers in two functions are ambiguous.
func.func @first(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}
// expected-error @below {{braid-hybridize: both @first and @second have attention layers; hybridize a module with one model function}}
func.func @second(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// -----

// A model without attention layers.
// expected-error @below {{braid-hybridize: the module has no attention layers to replace}}
module {
  func.func @mamba_only(%h0: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
    ^bb0(%x: tensor<?x?x8xf32>):
      braid.yield %x : tensor<?x?x8xf32>
    }
    return %h1 : tensor<?x?x8xf32>
  }
}

//--- bindings.mlir

// The init sources of launch.weight (what braid-hybridize writes) as its
// verifier checks them. A valid weight mixing tensors and inits parses:
launch.weight "w" : [16, 4] x f32 {combine = "concat", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{init = "zeros", shape = array<i64: 4, 4>},
    {tensor = "v", shape = array<i64: 8, 4>}, {init = "uniform_fan_in", shape = array<i64: 4, 4>}]}
launch.weight "A" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "neg_exp", sources = [{init = "mamba2_A_log", shape = array<i64: 4>}]}

// -----

// An unknown initializer.
// expected-error @below {{'launch.weight' op source #0 has init 'random'; expected one of zeros, ones, uniform_fan_in, conv_identity, mamba2_A_log, mamba2_dt_bias}}
launch.weight "w" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{init = "random", shape = array<i64: 4>}]}

// -----

// A source is a tensor or an init, not both.
// expected-error @below {{'launch.weight' op source #1 must be {tensor = "...", shape = array<i64: ...>} or {init = "...", shape = array<i64: ...>}}}
launch.weight "w" : [8] x f32 {combine = "concat", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{init = "ones", shape = array<i64: 4>}, {tensor = "t", init = "ones", shape = array<i64: 4>}]}

// -----

// conv_identity makes a [channels, width] convolution weight.
// expected-error @below {{'launch.weight' op source #0: init 'conv_identity' needs a [channels, width] shape, got rank 1}}
launch.weight "w" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{init = "conv_identity", shape = array<i64: 4>}]}

// -----

// An init source has a positive shape.
// expected-error @below {{'launch.weight' op source #0 dim 0 is 0, must be positive}}
launch.weight "w" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{init = "zeros", shape = array<i64: 0>}]}
