// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-decode-steps=true" | FileCheck %s
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch | FileCheck %s --check-prefix=OFF
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-decode-steps=true" | braid-opt -split-input-file | FileCheck %s
//
// -braid-lower-to-launch with fuse-decode-steps (passes/DecodeFusion.h): in
// the decode entry a Mamba2 mixer's conv -> split -> ssd_scan -> gate chain
// is one mamba2_step launch; prefill keeps the separate launches. OFF shows
// decode without the option. Offsets are bytes per token (f32, each size
// rounded up to 64).

// A gated-norm mixer: prefill runs conv, split, scan and norm; decode one
// mamba2_step that reads xBC, dt and z with both states and writes the
// norm's output to a buffer of its own.
// CHECK-LABEL: module
// CHECK: launch.entry "prefill"
// CHECK: launch.kernel "causal_conv1d"
// CHECK-NEXT: launch.kernel "split"
// CHECK-NEXT: launch.kernel "ssd_scan"
// CHECK-NEXT: launch.kernel "gated_rms_norm"
// CHECK: launch.entry "decode"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "linear"
// CHECK-NEXT: launch.kernel "split" "" [#launch.buffer<arena {{[0-9]+}} : [B, T, 26] x f32>] -> [#launch.buffer<arena [[Z:[0-9]+]] : [B, T, 8] x f32>, #launch.buffer<arena [[XBC:[0-9]+]] : [B, T, 16] x f32>, #launch.buffer<arena [[DT:[0-9]+]] : [B, T, 2] x f32>]
// CHECK-NEXT: launch.kernel "mamba2_step" "" [#launch.buffer<arena [[XBC]] : [B, T, 16] x f32>, #launch.buffer<weight "conv" : [16, 4] x f32>, unit, #launch.buffer<state "model.conv_state" : [B, 16, 3] x f32>, #launch.buffer<arena [[DT]] : [B, T, 2] x f32>, #launch.buffer<weight "A" : [2] x f32>, #launch.buffer<weight "D" : [2] x f32>, unit, #launch.buffer<state "model.ssm_state" : [B, 2, 4, 4] x f32>, #launch.buffer<arena [[Z]] : [B, T, 8] x f32>, #launch.buffer<weight "norm" : [8] x f32>] -> [#launch.buffer<arena [[Y:[0-9]+]] : [B, T, 8] x f32>, #launch.buffer<state "model.conv_state" : [B, 16, 3] x f32>, #launch.buffer<state "model.ssm_state" : [B, 2, 4, 4] x f32>] attrs {activation = "silu", chunk_size = 4 : i64, dt_min = 0.000000e+00 : f64, dt_softplus = true, epsilon = 1.000000e-05 : f64, gate = "norm", group_size = 8 : i64, head_dim = 4 : i64, kernel_size = 4 : i64, norm_before_gate = false, num_groups = 1 : i64, num_heads = 2 : i64, state_size = 4 : i64}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[Y]] : [B, T, 8] x f32>, #launch.buffer<weight "out"
// CHECK-NOT: "ssd_scan"
// OFF-LABEL: module
// OFF: launch.entry "decode"
// OFF: launch.kernel "causal_conv1d"
// OFF-NEXT: launch.kernel "split"
// OFF-NEXT: launch.kernel "ssd_scan"
// OFF-NEXT: launch.kernel "gated_rms_norm"
// OFF-NOT: mamba2_step
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %w = braid.weight "in" : tensor<26x8xf32>
  %p = braid.linear %h, %w : (tensor<?x?x8xf32>, tensor<26x8xf32>) -> tensor<?x?x26xf32>
  %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 8, 16, 2>}
      : (tensor<?x?x26xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x16xf32>, tensor<?x?x2xf32>)
  %cw = braid.weight "conv" : tensor<16x4xf32>
  %c = braid.causal_conv1d silu %xbc, %cw {kernel_size = 4 : i64}
      : (tensor<?x?x16xf32>, tensor<16x4xf32>) -> tensor<?x?x16xf32>
  %x, %b, %cc = braid.split %c {axis = 2 : i64, sizes = array<i64: 8, 4, 4>}
      : (tensor<?x?x16xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>)
  %x4 = braid.reshape %x : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  %b4 = braid.reshape %b : (tensor<?x?x4xf32>) -> tensor<?x?x1x4xf32>
  %c4 = braid.reshape %cc : (tensor<?x?x4xf32>) -> tensor<?x?x1x4xf32>
  %A = braid.weight "A" : tensor<2xf32>
  %D = braid.weight "D" : tensor<2xf32>
  %y = braid.ssd_scan %x4, %dt, %A, %b4, %c4 skip %D {chunk_size = 4 : i64, head_dim = 4 : i64, num_groups = 1 : i64, num_heads = 2 : i64, state_size = 4 : i64}
      : (tensor<?x?x2x4xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>, tensor<2xf32>) -> tensor<?x?x2x4xf32>
  %y8 = braid.reshape %y : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
  %nw = braid.weight "norm" : tensor<8xf32>
  %g = braid.gated_rms_norm %y8, %z, %nw {epsilon = 1.000000e-05 : f64, group_size = 8 : i64}
      : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %ow = braid.weight "out" : tensor<8x8xf32>
  %o = braid.linear %g, %ow : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %lw = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %o, %lw : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// A SiLU gate (Falcon-H1: y * silu(z)), no conv bias and no D: the step
// absorbs the activation and the mul; the chain in prefill is unchanged.
// CHECK-LABEL: module
// CHECK: launch.entry "prefill"
// CHECK: launch.kernel "activation"
// CHECK-NEXT: launch.kernel "mul"
// CHECK: launch.entry "decode"
// CHECK: launch.kernel "mamba2_step" "" {{.*}} #launch.buffer<weight "A" : [2] x f32>, unit, #launch.buffer<weight "dt_bias" : [2] x f32>,
// CHECK-SAME: #launch.buffer<arena {{[0-9]+}} : [B, T, 8] x f32>, unit] -> [
// CHECK-SAME: gate = "silu"
// CHECK-NOT: "activation"
// CHECK-NOT: "mul"
// CHECK: launch.kernel "linear"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %w = braid.weight "in" : tensor<26x8xf32>
  %p = braid.linear %h, %w : (tensor<?x?x8xf32>, tensor<26x8xf32>) -> tensor<?x?x26xf32>
  %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 8, 16, 2>}
      : (tensor<?x?x26xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x16xf32>, tensor<?x?x2xf32>)
  %cw = braid.weight "conv" : tensor<16x4xf32>
  %c = braid.causal_conv1d silu %xbc, %cw {kernel_size = 4 : i64}
      : (tensor<?x?x16xf32>, tensor<16x4xf32>) -> tensor<?x?x16xf32>
  %x, %b, %cc = braid.split %c {axis = 2 : i64, sizes = array<i64: 8, 4, 4>}
      : (tensor<?x?x16xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>)
  %x4 = braid.reshape %x : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  %b4 = braid.reshape %b : (tensor<?x?x4xf32>) -> tensor<?x?x1x4xf32>
  %c4 = braid.reshape %cc : (tensor<?x?x4xf32>) -> tensor<?x?x1x4xf32>
  %A = braid.weight "A" : tensor<2xf32>
  %bias = braid.weight "dt_bias" : tensor<2xf32>
  %y = braid.ssd_scan %x4, %dt, %A, %b4, %c4 dt_bias %bias {chunk_size = 4 : i64, head_dim = 4 : i64, num_groups = 1 : i64, num_heads = 2 : i64, state_size = 4 : i64}
      : (tensor<?x?x2x4xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>, tensor<2xf32>) -> tensor<?x?x2x4xf32>
  %y8 = braid.reshape %y : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
  %s = braid.activation silu %z : tensor<?x?x8xf32>
  %g = braid.mul %y8, %s : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %ow = braid.weight "out" : tensor<8x8xf32>
  %o = braid.linear %g, %ow : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %lw = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %o, %lw : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// The conv's B piece has a second reader: no step, decode keeps the
// separate launches.
// CHECK-LABEL: module
// CHECK: launch.entry "decode"
// CHECK: launch.kernel "causal_conv1d"
// CHECK-NEXT: launch.kernel "split"
// CHECK-NEXT: launch.kernel "ssd_scan"
// CHECK-NOT: mamba2_step
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %w = braid.weight "in" : tensor<26x8xf32>
  %p = braid.linear %h, %w : (tensor<?x?x8xf32>, tensor<26x8xf32>) -> tensor<?x?x26xf32>
  %z, %xbc, %dt = braid.split %p {axis = 2 : i64, sizes = array<i64: 8, 16, 2>}
      : (tensor<?x?x26xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x16xf32>, tensor<?x?x2xf32>)
  %cw = braid.weight "conv" : tensor<16x4xf32>
  %c = braid.causal_conv1d silu %xbc, %cw {kernel_size = 4 : i64}
      : (tensor<?x?x16xf32>, tensor<16x4xf32>) -> tensor<?x?x16xf32>
  %x, %b, %cc = braid.split %c {axis = 2 : i64, sizes = array<i64: 8, 4, 4>}
      : (tensor<?x?x16xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x4xf32>)
  %x4 = braid.reshape %x : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
  %b4 = braid.reshape %b : (tensor<?x?x4xf32>) -> tensor<?x?x1x4xf32>
  %c4 = braid.reshape %cc : (tensor<?x?x4xf32>) -> tensor<?x?x1x4xf32>
  %A = braid.weight "A" : tensor<2xf32>
  %y = braid.ssd_scan %x4, %dt, %A, %b4, %c4 {chunk_size = 4 : i64, head_dim = 4 : i64, num_groups = 1 : i64, num_heads = 2 : i64, state_size = 4 : i64}
      : (tensor<?x?x2x4xf32>, tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x1x4xf32>, tensor<?x?x1x4xf32>) -> tensor<?x?x2x4xf32>
  %y8 = braid.reshape %y : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
  %bb = braid.concat %y8, %b {axis = 2 : i64} : (tensor<?x?x8xf32>, tensor<?x?x4xf32>) -> tensor<?x?x12xf32>
  %lw = braid.weight "lm_head" : tensor<16x12xf32>
  %logits = braid.linear %bb, %lw : (tensor<?x?x12xf32>, tensor<16x12xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}
