// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true fuse-decode-norms=true greedy-entry=true" | FileCheck %s
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true" | FileCheck %s --check-prefix=OFF
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true fuse-decode-norms=true greedy-entry=true" | braid-opt -split-input-file | FileCheck %s
//
// -braid-lower-to-launch with fuse-decode-norms (passes/PrologueFusion.h): in
// the decode entry an rms_norm read only by linears (as their input) is done
// by those linear launches: operands input (un-normalized), weight, bias or
// unit, residual or unit, norm weight, attribute norm_eps. Prefill keeps the
// norm. OFF shows decode without the option. Offsets are bytes per token
// (f32, each size rounded up to 64).

// A pre-norm residual block: the input norm folds into the linear that also
// takes the residual add in its epilogue, the final norm into lm_head (the
// logits linear). Prefill still runs both norms.
// CHECK-LABEL: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "rms_norm"
// CHECK-NEXT: launch.kernel "linear"
// CHECK-NEXT: launch.kernel "rms_norm"
// CHECK-NEXT: launch.kernel "linear"
// CHECK-LABEL: launch.entry "decode"
// CHECK-NEXT: launch.kernel "embedding" "" [{{.*}}] -> [#launch.buffer<arena [[H:[0-9]+]] : [B, T, 8] x f32>]
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[H]] : [B, T, 8] x f32>, #launch.buffer<weight "w" : [8, 8] x f32>, unit, #launch.buffer<arena [[H]] : [B, T, 8] x f32>, #launch.buffer<weight "n1" : [8] x f32>] -> [#launch.buffer<arena [[R:[0-9]+]] : [B, T, 8] x f32>] attrs {norm_eps = 9.9999999999999995E-7 : f64}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[R]] : [B, T, 8] x f32>, #launch.buffer<weight "lm_head" : [16, 8] x f32>, unit, unit, #launch.buffer<weight "nf" : [8] x f32>] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>] attrs {norm_eps = 1.000000e-05 : f64}
// CHECK-NEXT: {{^ *}}}{{ *$}}
// OFF-LABEL: launch.entry "decode"
// OFF-NEXT: launch.kernel "embedding"
// OFF-NEXT: launch.kernel "rms_norm"
// OFF-NEXT: launch.kernel "linear"
// OFF-NEXT: launch.kernel "rms_norm"
// OFF-NEXT: launch.kernel "linear"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %n1 = braid.weight "n1" : tensor<8xf32>
  %a = braid.rms_norm %h, %n1 {epsilon = 1.0e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %w = braid.weight "w" : tensor<8x8xf32>
  %p = braid.linear %a, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %r = braid.add %h, %p : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %nf = braid.weight "nf" : tensor<8xf32>
  %f = braid.rms_norm %r, %nf {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %lw = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %f, %lw : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// Composes with the GLU, split and residual epilogues: the pre-MLP norm
// folds into the gate/up linear (glu = "silu", one product result), and a
// norm read by two linears folds into both: one writes split pieces, the
// other adds a residual (operand 3, before the norm weight). No rms_norm
// launch is left in decode, nor in decode_greedy (its copy).
// CHECK-LABEL: launch.entry "decode"
// CHECK-NEXT: launch.kernel "embedding" "" [{{.*}}] -> [#launch.buffer<arena [[H:[0-9]+]] : [B, T, 4] x f32>]
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[H]] : [B, T, 4] x f32>, #launch.buffer<weight "gate_up" : [16, 4] x f32>, unit, unit, #launch.buffer<weight "n1" : [4] x f32>] -> [#launch.buffer<arena [[P:[0-9]+]] : [B, T, 8] x f32>] attrs {glu = "silu", norm_eps = 1.000000e-05 : f64}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[P]] : [B, T, 8] x f32>, #launch.buffer<weight "down" : [4, 8] x f32>, unit] -> [#launch.buffer<arena [[D:[0-9]+]] : [B, T, 4] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[D]] : [B, T, 4] x f32>, #launch.buffer<weight "qkv" : [12, 4] x f32>, unit, unit, #launch.buffer<weight "n2" : [4] x f32>] -> [#launch.buffer<arena [[Q:[0-9]+]] : [B, T, 4] x f32>, #launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>] attrs {norm_eps = 1.000000e-05 : f64}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[D]] : [B, T, 4] x f32>, #launch.buffer<weight "side" : [4, 4] x f32>, unit, #launch.buffer<arena [[Q]] : [B, T, 4] x f32>, #launch.buffer<weight "n2" : [4] x f32>] -> [{{.*}}] attrs {norm_eps = 1.000000e-05 : f64}
// CHECK-NOT: "rms_norm"
// CHECK: launch.entry "decode_greedy"
// CHECK-NOT: "rms_norm"
// CHECK: greedy_next
// OFF-LABEL: launch.entry "decode"
// OFF: launch.kernel "rms_norm"
// OFF: launch.kernel "rms_norm"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x4xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x4xf32>) -> tensor<?x?x4xf32>
  %n1 = braid.weight "n1" : tensor<4xf32>
  %a = braid.rms_norm %h, %n1 {epsilon = 1.0e-05 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %gw = braid.weight "gate_up" : tensor<16x4xf32>
  %gu = braid.linear %a, %gw : (tensor<?x?x4xf32>, tensor<16x4xf32>) -> tensor<?x?x16xf32>
  %g, %u = braid.split %gu {axis = 2 : i64, sizes = array<i64: 8, 8>}
      : (tensor<?x?x16xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>)
  %s = braid.activation silu %g : tensor<?x?x8xf32>
  %m = braid.mul %s, %u : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %dw = braid.weight "down" : tensor<4x8xf32>
  %d = braid.linear %m, %dw : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
  %n2 = braid.weight "n2" : tensor<4xf32>
  %b = braid.rms_norm %d, %n2 {epsilon = 1.0e-05 : f64} : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %qw = braid.weight "qkv" : tensor<12x4xf32>
  %qkv = braid.linear %b, %qw : (tensor<?x?x4xf32>, tensor<12x4xf32>) -> tensor<?x?x12xf32>
  %q, %kv = braid.split %qkv {axis = 2 : i64, sizes = array<i64: 4, 8>}
      : (tensor<?x?x12xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x8xf32>)
  %sw = braid.weight "side" : tensor<4x4xf32>
  %sd = braid.linear %b, %sw : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
  %kv4 = braid.reshape %kv : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  %k, %v = braid.split %kv4 {axis = 2 : i64, sizes = array<i64: 1, 1>}
      : (tensor<?x?x2x4xf32>) -> (tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>)
  %k4 = braid.reshape %k : (tensor<?x?x1x4xf32>) -> tensor<?x?x4xf32>
  %t = braid.add %q, %sd : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %t2 = braid.add %t, %k4 : (tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %lw = braid.weight "lm_head" : tensor<16x4xf32>
  %logits = braid.linear %t2, %lw : (tensor<?x?x4xf32>, tensor<16x4xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// What keeps its launch: a norm that something other than a linear also
// reads (here the add that the linear absorbs as its residual), and a norm
// that is the entry output.
// CHECK-LABEL: launch.entry "decode"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "rms_norm"
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[A:[0-9]+]] : [B, T, 8] x f32>, #launch.buffer<weight "w" : [8, 8] x f32>, unit, #launch.buffer<arena [[A]] : [B, T, 8] x f32>] -> [{{.*}}] attrs {}{{$}}
// CHECK-NEXT: launch.kernel "rms_norm"
// CHECK-NEXT: {{^ *}}}{{ *$}}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %n1 = braid.weight "n1" : tensor<8xf32>
  %a = braid.rms_norm %h, %n1 {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %w = braid.weight "w" : tensor<8x8xf32>
  %p = braid.linear %a, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %r = braid.add %a, %p : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %nf = braid.weight "nf" : tensor<8xf32>
  %f = braid.rms_norm %r, %nf {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  return %f : tensor<?x?x8xf32>
}
