// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true" | FileCheck %s
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch | FileCheck %s --check-prefix=OFF
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true" | braid-opt -split-input-file | FileCheck %s
//
// -braid-lower-to-launch with fuse-epilogues (passes/EpilogueFusion.h): a
// linear whose only reader is a split along the features writes the pieces
// itself, and one whose only reader is an add takes the add's other operand
// as a residual; a causal conv writes its split's pieces too. OFF shows the same models lowered without the option.
// Offsets are bytes per token (f32, each size rounded up to 64).

// The pieces of a split along the features: one linear launch with one
// result buffer per piece, no split launch and no buffer for the whole.
// CHECK-LABEL: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<weight "w" : [24, 8] x f32>, unit] -> [#launch.buffer<arena [[A:[0-9]+]] : [B, T, 16] x f32>, #launch.buffer<arena [[B:[0-9]+]] : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "activation" "" [#launch.buffer<arena [[A]] : [B, T, 16] x f32>]
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[B]] : [B, T, 8] x f32>, #launch.buffer<weight "w2"
// CHECK-NEXT: launch.kernel "mul"
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena {{[0-9]+}} : [B, T, 16] x f32>, #launch.buffer<weight "lm_head"
// CHECK-NOT: "split"
// CHECK: launch.entry "decode"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "linear" {{.*}} -> [#launch.buffer<arena [[A]] : [B, T, 16] x f32>, #launch.buffer<arena [[B]] : [B, T, 8] x f32>] attrs {}
// OFF-LABEL: launch.entry "prefill"
// OFF-NEXT: launch.kernel "embedding"
// OFF-NEXT: launch.kernel "linear" {{.*}} -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 24] x f32>] attrs {}
// OFF-NEXT: launch.kernel "split"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %w = braid.weight "w" : tensor<24x8xf32>
  %p = braid.linear %h, %w : (tensor<?x?x8xf32>, tensor<24x8xf32>) -> tensor<?x?x24xf32>
  %a, %b = braid.split %p {axis = 2 : i64, sizes = array<i64: 16, 8>}
      : (tensor<?x?x24xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x8xf32>)
  %s = braid.activation silu %a : tensor<?x?x16xf32>
  %bs = braid.reshape %b : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  %b2 = braid.reshape %bs : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
  %w2 = braid.weight "w2" : tensor<16x8xf32>
  %c = braid.linear %b2, %w2 : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  %m = braid.mul %s, %c : (tensor<?x?x16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  %lm = braid.weight "lm_head" : tensor<16x16xf32>
  %logits = braid.linear %m, %lm : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// Residual adds through layer boundaries (the mixer's out_proj is yielded,
// the add sits outside the layer): the linear reads the residual (the
// embedding at 0, then the first add's result) as a fourth operand and
// writes the add's buffer, which never shares bytes with the residual.
// CHECK-LABEL: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding" {{.*}} -> [#launch.buffer<arena 0 : [B, T, 8] x f32>]
// CHECK-NEXT: launch.kernel "rms_norm"
// CHECK-NEXT: launch.kernel "linear" "layers.0" [#launch.buffer<arena [[N:[0-9]+]] : [B, T, 8] x f32>, #launch.buffer<weight "o0" : [8, 8] x f32>, #launch.buffer<weight "b0" : [8] x f32>, #launch.buffer<arena 0 : [B, T, 8] x f32>] -> [#launch.buffer<arena [[H1:[0-9]+]] : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "rms_norm" "" [#launch.buffer<arena [[H1]] : [B, T, 8] x f32>
// CHECK-NEXT: launch.kernel "linear" "layers.1" [#launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>, #launch.buffer<weight "o1" : [8, 8] x f32>, unit, #launch.buffer<arena [[H1]] : [B, T, 8] x f32>] -> [#launch.buffer<arena [[H2:[0-9]+]] : [B, T, 8] x f32>] attrs {}
// CHECK-NOT: "add"
// CHECK: launch.kernel "linear" "" [#launch.buffer<arena [[H2]] : [B, T, 8] x f32>, #launch.buffer<weight "lm_head"
// OFF-LABEL: launch.entry "prefill"
// OFF: launch.kernel "linear" "layers.0" [{{.*}}, #launch.buffer<weight "b0" : [8] x f32>] -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>] attrs {}
// OFF-NEXT: launch.kernel "add"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %g = braid.weight "g" : tensor<8xf32>
  %n0 = braid.rms_norm %h0, %g {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %y0 = braid.layer mlp (%n0) {index = 0 : i64, name = "layers.0"}
      : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>):
    %o = braid.weight "o0" : tensor<8x8xf32>
    %b = braid.weight "b0" : tensor<8xf32>
    %y = braid.linear %x, %o bias %b : (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    braid.yield %y : tensor<?x?x8xf32>
  }
  %h1 = braid.add %h0, %y0 : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %n1 = braid.rms_norm %h1, %g {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %y1 = braid.layer mlp (%n1) {index = 1 : i64, name = "layers.1"}
      : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>):
    %o = braid.weight "o1" : tensor<8x8xf32>
    %y = braid.linear %x, %o : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %y : tensor<?x?x8xf32>
  }
  %h2 = braid.add %y1, %h1 : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %lm = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %h2, %lm : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// What stays apart: a linear read twice (split and add), an add whose other
// operand is computed after the linear, a linear read through a reshape
// (which a split then cuts), an add that broadcasts a bias, the logits.
// CHECK-LABEL: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "linear" {{.*}} -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "split"
// CHECK-NEXT: launch.kernel "add"
// CHECK-NEXT: launch.kernel "linear" {{.*}}, unit] -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "activation"
// CHECK-NEXT: launch.kernel "add"
// CHECK-NEXT: launch.kernel "linear" {{.*}}, unit] -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "split" {{.*}} attrs {axis = 2 : i64
// CHECK-NEXT: launch.kernel "linear" {{.*}}, unit] -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "add" {{.*}}#launch.buffer<weight "bias8"
// CHECK-NEXT: launch.kernel "concat"
// CHECK-NEXT: launch.kernel "add"
// CHECK-NEXT: launch.kernel "linear" {{.*}} -> [#launch.buffer<output "logits"
// CHECK-NEXT: {{^ *}$}}
// OFF-LABEL: launch.entry "prefill"
// OFF-COUNT-14: launch.kernel
// OFF-NEXT: {{^ *}$}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %w = braid.weight "w" : tensor<8x8xf32>
  %p = braid.linear %h, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %a, %b = braid.split %p {axis = 2 : i64, sizes = array<i64: 4, 4>}
      : (tensor<?x?x8xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>)
  %r = braid.add %p, %h : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %q = braid.linear %r, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %late = braid.activation silu %r : tensor<?x?x8xf32>
  %r2 = braid.add %q, %late : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %v = braid.linear %r2, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  %v0, %v1 = braid.split %v4 {axis = 2 : i64, sizes = array<i64: 1, 1>}
      : (tensor<?x?x2x4xf32>) -> (tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>)
  %t = braid.linear %r2, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %bias = braid.weight "bias8" : tensor<8xf32>
  %tb = braid.add %t, %bias : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %c = braid.concat %a, %b {axis = 2 : i64} : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x8xf32>
  %s = braid.add %c, %tb : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %lm = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %s, %lm : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// A gated MLP: gate/up GEMM, split, silu of the gate, mul by up become one
// linear launch with `glu` that writes only the [B, T, 8] product; the down
// projection then adds the residual. In the second MLP the activation is on
// the second half ([up; gate], as some ONNX exports concatenate them): the
// same launch with `glu_gate = 1`.
// CHECK-LABEL: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding" {{.*}} -> [#launch.buffer<arena 0 : [B, T, 4] x f32>]
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena 0 : [B, T, 4] x f32>, #launch.buffer<weight "gate_up" : [16, 4] x f32>, unit] -> [#launch.buffer<arena [[P:[0-9]+]] : [B, T, 8] x f32>] attrs {glu = "silu"}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[P]] : [B, T, 8] x f32>, #launch.buffer<weight "down" : [4, 8] x f32>, unit, #launch.buffer<arena 0 : [B, T, 4] x f32>] -> [#launch.buffer<arena [[H:[0-9]+]] : [B, T, 4] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[H]] : [B, T, 4] x f32>, #launch.buffer<weight "gate_up" : [16, 4] x f32>, unit] -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>] attrs {glu = "gelu", glu_gate = 1 : i64}
// CHECK-NEXT: launch.kernel "linear" {{.*}}, unit, #launch.buffer<arena [[H]] : [B, T, 4] x f32>] -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 4] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" {{.*}} -> [#launch.buffer<output "logits"
// OFF-LABEL: launch.entry "prefill"
// OFF-NEXT: launch.kernel "embedding"
// OFF-NEXT: launch.kernel "linear" {{.*}} -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 16] x f32>] attrs {}
// OFF-NEXT: launch.kernel "split"
// OFF-NEXT: launch.kernel "activation"
// OFF-NEXT: launch.kernel "mul"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x4xf32>
  %h0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x4xf32>) -> tensor<?x?x4xf32>
  %wgu = braid.weight "gate_up" : tensor<16x4xf32>
  %wd = braid.weight "down" : tensor<4x8xf32>
  %gu = braid.linear %h0, %wgu : (tensor<?x?x4xf32>, tensor<16x4xf32>) -> tensor<?x?x16xf32>
  %g, %u = braid.split %gu {axis = 2 : i64, sizes = array<i64: 8, 8>}
      : (tensor<?x?x16xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>)
  %a = braid.activation silu %g : tensor<?x?x8xf32>
  %p = braid.mul %a, %u : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %d = braid.linear %p, %wd : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  %h1 = braid.add %h0, %d : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %gu2 = braid.linear %h1, %wgu : (tensor<?x?x4xf32>, tensor<16x4xf32>) -> tensor<?x?x16xf32>
  %g2, %u2 = braid.split %gu2 {axis = 2 : i64, sizes = array<i64: 8, 8>}
      : (tensor<?x?x16xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>)
  %a2 = braid.activation gelu %u2 : tensor<?x?x8xf32>
  %p2 = braid.mul %g2, %a2 : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %d2 = braid.linear %p2, %wd : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  %h2 = braid.add %d2, %h1 : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %lm = braid.weight "lm_head" : tensor<16x4xf32>
  %logits = braid.linear %h2, %lm : (tensor<?x?x4xf32>, tensor<16x4xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// A causal conv whose output's only reader is a split along the features (a
// Mamba2 mixer's x, B, C) writes the pieces itself: one launch with a buffer
// per piece, then its state, and no split launch. The second conv's output
// has two readers (a split and an add) and keeps its one buffer.
// CHECK-LABEL: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "causal_conv1d" "" [#launch.buffer<arena 0 : [B, T, 8] x f32>, #launch.buffer<weight "conv" : [8, 4] x f32>, unit, #launch.buffer<state "model.conv_state" : [B, 8, 3] x f32>] -> [#launch.buffer<arena [[X:[0-9]+]] : [B, T, 4] x f32>, #launch.buffer<arena [[PB:[0-9]+]] : [B, T, 2] x f32>, #launch.buffer<arena [[PC:[0-9]+]] : [B, T, 2] x f32>, #launch.buffer<state "model.conv_state" : [B, 8, 3] x f32>] attrs {activation = "silu", kernel_size = 4 : i64}
// CHECK-NEXT: launch.kernel "mul" "" [#launch.buffer<arena [[PB]] : [B, T, 2] x f32>, #launch.buffer<arena [[PC]] : [B, T, 2] x f32>]
// CHECK-NEXT: launch.kernel "concat" "" [#launch.buffer<arena [[X]] : [B, T, 4] x f32>
// CHECK-NEXT: launch.kernel "causal_conv1d" {{.*}} -> [#launch.buffer<arena [[C2:[0-9]+]] : [B, T, 8] x f32>, #launch.buffer<state "model.conv_state#1" : [B, 8, 3] x f32>] attrs {activation = "identity", kernel_size = 4 : i64}
// CHECK-NEXT: launch.kernel "split" "" [#launch.buffer<arena [[C2]] : [B, T, 8] x f32>]
// CHECK-NEXT: launch.kernel "add"
// OFF-LABEL: launch.entry "prefill"
// OFF-NEXT: launch.kernel "embedding"
// OFF-NEXT: launch.kernel "causal_conv1d" {{.*}} -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>, #launch.buffer<state "model.conv_state" : [B, 8, 3] x f32>]
// OFF-NEXT: launch.kernel "split"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %wc = braid.weight "conv" : tensor<8x4xf32>
  %c = braid.causal_conv1d silu %h, %wc {kernel_size = 4 : i64} : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  %x, %b, %cc = braid.split %c {axis = 2 : i64, sizes = array<i64: 4, 2, 2>}
      : (tensor<?x?x8xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>)
  %bc = braid.mul %b, %cc : (tensor<?x?x2xf32>, tensor<?x?x2xf32>) -> tensor<?x?x2xf32>
  %xb = braid.concat %x, %bc, %bc {axis = 2 : i64} : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>) -> tensor<?x?x8xf32>
  %c2 = braid.causal_conv1d identity %xb, %wc {kernel_size = 4 : i64} : (tensor<?x?x8xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  %p, %q = braid.split %c2 {axis = 2 : i64, sizes = array<i64: 4, 4>}
      : (tensor<?x?x8xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>)
  %s = braid.add %c2, %xb : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %lm = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %s, %lm : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}
