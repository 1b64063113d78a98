// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="greedy-entry=true" | FileCheck %s
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="greedy-entry=true fuse-decode-steps=true" | FileCheck %s --check-prefix=STEPS
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch | FileCheck %s --check-prefix=OFF
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="greedy-entry=true" | braid-opt -split-input-file | FileCheck %s
//
// -braid-lower-to-launch with greedy-entry: a decode_greedy entry follows
// decode with the same launches on the same buffers, then one greedy_next
// launch that reads the logits and updates input_ids, positions and
// cache_position in place. OFF shows that without the option there is no
// such entry.

// A norm + lm_head model: decode_greedy repeats decode's three launches,
// buffer for buffer, and ends with greedy_next on the [B, T, 16] logits.
// CHECK-LABEL: module
// CHECK: launch.entry "decode" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
// CHECK-NEXT: launch.kernel "embedding" "" [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<weight "embed" : [16, 8] x f32>] -> [#launch.buffer<arena [[H:[0-9]+]] : [B, T, 8] x f32>]
// CHECK-NEXT: launch.kernel "rms_norm" "" [#launch.buffer<arena [[H]] : [B, T, 8] x f32>, #launch.buffer<weight "norm" : [8] x f32>] -> [#launch.buffer<arena [[N:[0-9]+]] : [B, T, 8] x f32>]
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[N]] : [B, T, 8] x f32>, #launch.buffer<weight "lm_head" : [16, 8] x f32>, unit] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>]
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: launch.entry "decode_greedy" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
// CHECK-NEXT: launch.kernel "embedding" "" [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<weight "embed" : [16, 8] x f32>] -> [#launch.buffer<arena [[H]] : [B, T, 8] x f32>]
// CHECK-NEXT: launch.kernel "rms_norm" "" [#launch.buffer<arena [[H]] : [B, T, 8] x f32>, #launch.buffer<weight "norm" : [8] x f32>] -> [#launch.buffer<arena [[N]] : [B, T, 8] x f32>]
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[N]] : [B, T, 8] x f32>, #launch.buffer<weight "lm_head" : [16, 8] x f32>, unit] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>]
// CHECK-NEXT: launch.kernel "greedy_next" "" [#launch.buffer<output "logits" : [B, T, 16] x f32>] -> [#launch.buffer<input "input_ids" : [B, T] x i64>, #launch.buffer<input "positions" : [B, T] x i64>, #launch.buffer<input "cache_position" : [B] x i64>] attrs {}
// CHECK-NEXT: {{^ *}}}
// CHECK-NEXT: {{^}}}
// OFF-LABEL: module
// OFF-NOT: decode_greedy
// OFF-NOT: greedy_next
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %nw = braid.weight "norm" : tensor<8xf32>
  %n = braid.rms_norm %h, %nw {epsilon = 1.000000e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %lw = braid.weight "lm_head" : tensor<16x8xf32>
  %logits = braid.linear %n, %lw : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// With fused decode steps decode plans its own arena: decode_greedy takes
// decode's launches as they are, mamba2_step included.
// STEPS-LABEL: module
// STEPS: launch.entry "decode"
// STEPS: launch.kernel "mamba2_step" "" [#launch.buffer<arena [[XBC:[0-9]+]] : [B, T, 16] x f32>
// STEPS: launch.entry "decode_greedy"
// STEPS-NEXT: launch.kernel "embedding"
// STEPS-NEXT: launch.kernel "linear"
// STEPS-NEXT: launch.kernel "split"
// STEPS-NEXT: launch.kernel "mamba2_step" "" [#launch.buffer<arena [[XBC]] : [B, T, 16] x f32>
// STEPS-NEXT: launch.kernel "linear"
// STEPS-NEXT: launch.kernel "linear" "" {{.*}} -> [#launch.buffer<output "logits" : [B, T, 16] x f32>]
// STEPS-NEXT: launch.kernel "greedy_next"
// STEPS-NEXT: {{^ *}}}
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
