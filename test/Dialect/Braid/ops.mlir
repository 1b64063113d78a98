// Round trip of every braid op in custom form, through a second parse, and
// through the generic form. Covers each optional operand, optional result and
// optional attribute of every op.
//
// RUN: braid-opt %s | FileCheck %s
// RUN: braid-opt %s | braid-opt | FileCheck %s
// RUN: braid-opt %s --mlir-print-op-generic | braid-opt | FileCheck %s

// weight: a named static parameter, any float element type.
// CHECK-LABEL: func @weight(
// CHECK-SAME: ) -> (tensor<32000x2048xbf16>, tensor<2048xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.weight "model.embed_tokens.weight" : tensor<32000x2048xbf16>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.weight "model.norm.weight" : tensor<2048xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<32000x2048xbf16>, tensor<2048xf32>
func.func @weight() -> (tensor<32000x2048xbf16>, tensor<2048xf32>) {
  %0 = braid.weight "model.embed_tokens.weight" : tensor<32000x2048xbf16>
  %1 = braid.weight "model.norm.weight" : tensor<2048xf32>
  return %0, %1 : tensor<32000x2048xbf16>, tensor<2048xf32>
}

// embedding: i64 and i32 token ids gather rows of the table.
// CHECK-LABEL: func @embedding(
// CHECK-SAME: %[[IDS:arg[0-9]+]]: tensor<?x?xi64>, %[[IDS32:arg[0-9]+]]: tensor<?x?xi32>, %[[TABLE:arg[0-9]+]]: tensor<32000x2048xf32>) -> (tensor<?x?x2048xf32>, tensor<?x?x2048xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.embedding %[[IDS]], %[[TABLE]] : (tensor<?x?xi64>, tensor<32000x2048xf32>) -> tensor<?x?x2048xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.embedding %[[IDS32]], %[[TABLE]] : (tensor<?x?xi32>, tensor<32000x2048xf32>) -> tensor<?x?x2048xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x?x2048xf32>, tensor<?x?x2048xf32>
func.func @embedding(%ids: tensor<?x?xi64>, %ids32: tensor<?x?xi32>, %table: tensor<32000x2048xf32>) -> (tensor<?x?x2048xf32>, tensor<?x?x2048xf32>) {
  %0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<32000x2048xf32>) -> tensor<?x?x2048xf32>
  %1 = braid.embedding %ids32, %table : (tensor<?x?xi32>, tensor<32000x2048xf32>) -> tensor<?x?x2048xf32>
  return %0, %1 : tensor<?x?x2048xf32>, tensor<?x?x2048xf32>
}

// rms_norm: weight over the last dimension, epsilon attribute.
// CHECK-LABEL: func @rms_norm(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x2048xbf16>, %[[W:arg[0-9]+]]: tensor<2048xbf16>) -> tensor<?x?x2048xbf16> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-05 : f64} : (tensor<?x?x2048xbf16>, tensor<2048xbf16>) -> tensor<?x?x2048xbf16>
// CHECK-NEXT: return %[[V0]] : tensor<?x?x2048xbf16>
func.func @rms_norm(%x: tensor<?x?x2048xbf16>, %w: tensor<2048xbf16>) -> tensor<?x?x2048xbf16> {
  %0 = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : (tensor<?x?x2048xbf16>, tensor<2048xbf16>) -> tensor<?x?x2048xbf16>
  return %0 : tensor<?x?x2048xbf16>
}

// layer_norm: all four combinations of the optional weight and bias.
// CHECK-LABEL: func @layer_norm(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[W:arg[0-9]+]]: tensor<64xf32>, %[[B:arg[0-9]+]]: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.layer_norm %[[X]] weight %[[W]] bias %[[B]] {epsilon = 1.000000e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.layer_norm %[[X]] weight %[[W]] {epsilon = 1.000000e-03 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.layer_norm %[[X]] bias %[[B]] {epsilon = 1.000000e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = braid.layer_norm %[[X]] {epsilon = 1.000000e-05 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]], %[[V3]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @layer_norm(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.layer_norm %x weight %w bias %b {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %1 = braid.layer_norm %x weight %w {epsilon = 1.0e-03 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %2 = braid.layer_norm %x bias %b {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %3 = braid.layer_norm %x {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0, %1, %2, %3 : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// linear: projection without bias, with bias, and on a rank-2 input.
// CHECK-LABEL: func @linear(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[X2:arg[0-9]+]]: tensor<?x64xf32>, %[[W:arg[0-9]+]]: tensor<128x64xf32>, %[[B:arg[0-9]+]]: tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x128xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.linear %[[X]], %[[W]] : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.linear %[[X]], %[[W]] bias %[[B]] : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.linear %[[X2]], %[[W]] : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]] : tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x128xf32>
func.func @linear(%x: tensor<?x?x64xf32>, %x2: tensor<?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x128xf32>) {
  %0 = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
  %1 = braid.linear %x, %w bias %b : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  %2 = braid.linear %x2, %w : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  return %0, %1, %2 : tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x128xf32>
}

// rope: full rotary (NeoX layout), partial rotary, and interleaved (GPT-J) with i32 positions.
// CHECK-LABEL: func @rope(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<?x?x16x64xf32>, %[[POS:arg[0-9]+]]: tensor<?x?xi64>, %[[POS32:arg[0-9]+]]: tensor<?x?xi32>) -> (tensor<?x?x16x64xf32>, tensor<?x?x16x64xf32>, tensor<?x?x16x64xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.rope %[[Q]], %[[POS]] {rotary_dim = 64 : i64, theta = 1.000000e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.rope %[[Q]], %[[POS]] {rotary_dim = 32 : i64, theta = 5.000000e+05 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.rope %[[Q]], %[[POS32]] {interleaved, rotary_dim = 64 : i64, theta = 1.000000e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi32>) -> tensor<?x?x16x64xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]] : tensor<?x?x16x64xf32>, tensor<?x?x16x64xf32>, tensor<?x?x16x64xf32>
func.func @rope(%q: tensor<?x?x16x64xf32>, %pos: tensor<?x?xi64>, %pos32: tensor<?x?xi32>) -> (tensor<?x?x16x64xf32>, tensor<?x?x16x64xf32>, tensor<?x?x16x64xf32>) {
  %0 = braid.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
  %1 = braid.rope %q, %pos {rotary_dim = 32 : i64, theta = 5.0e+05 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
  %2 = braid.rope %q, %pos32 {interleaved, rotary_dim = 64 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi32>) -> tensor<?x?x16x64xf32>
  return %0, %1, %2 : tensor<?x?x16x64xf32>, tensor<?x?x16x64xf32>, tensor<?x?x16x64xf32>
}

// activation: every activation kind.
// CHECK-LABEL: func @activation(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.activation identity %[[X]] : tensor<?x?x128xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.activation silu %[[V0]] : tensor<?x?x128xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.activation gelu %[[V1]] : tensor<?x?x128xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = braid.activation gelu_tanh %[[V2]] : tensor<?x?x128xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = braid.activation relu %[[V3]] : tensor<?x?x128xf32>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = braid.activation relu2 %[[V4]] : tensor<?x?x128xf32>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = braid.activation sigmoid %[[V5]] : tensor<?x?x128xf32>
// CHECK-NEXT: %[[V7:[a-z0-9_]+]] = braid.activation softplus %[[V6]] : tensor<?x?x128xf32>
// CHECK-NEXT: %[[V8:[a-z0-9_]+]] = braid.activation tanh %[[V7]] : tensor<?x?x128xf32>
// CHECK-NEXT: return %[[V8]] : tensor<?x?x128xf32>
func.func @activation(%x: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
  %0 = braid.activation identity %x : tensor<?x?x128xf32>
  %1 = braid.activation silu %0 : tensor<?x?x128xf32>
  %2 = braid.activation gelu %1 : tensor<?x?x128xf32>
  %3 = braid.activation gelu_tanh %2 : tensor<?x?x128xf32>
  %4 = braid.activation relu %3 : tensor<?x?x128xf32>
  %5 = braid.activation relu2 %4 : tensor<?x?x128xf32>
  %6 = braid.activation sigmoid %5 : tensor<?x?x128xf32>
  %7 = braid.activation softplus %6 : tensor<?x?x128xf32>
  %8 = braid.activation tanh %7 : tensor<?x?x128xf32>
  return %8 : tensor<?x?x128xf32>
}

// add and mul: same-type operands and trailing-dimension broadcast of rank 1 and 2.
// CHECK-LABEL: func @add_mul(
// CHECK-SAME: %[[A:arg[0-9]+]]: tensor<?x?x128xf32>, %[[B:arg[0-9]+]]: tensor<?x?x128xf32>, %[[V:arg[0-9]+]]: tensor<128xf32>, %[[M:arg[0-9]+]]: tensor<?x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.add %[[A]], %[[B]] : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.add %[[A]], %[[V]] : (tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.mul %[[A]], %[[B]] : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = braid.mul %[[A]], %[[V]] : (tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = braid.mul %[[A]], %[[M]] : (tensor<?x?x128xf32>, tensor<?x128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]], %[[V3]], %[[V4]] : tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
func.func @add_mul(%a: tensor<?x?x128xf32>, %b: tensor<?x?x128xf32>, %v: tensor<128xf32>, %m: tensor<?x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
  %0 = braid.add %a, %b : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %1 = braid.add %a, %v : (tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  %2 = braid.mul %a, %b : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %3 = braid.mul %a, %v : (tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  %4 = braid.mul %a, %m : (tensor<?x?x128xf32>, tensor<?x128xf32>) -> tensor<?x?x128xf32>
  return %0, %1, %2, %3, %4 : tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
}

// scale: multiplication by a compile-time factor.
// CHECK-LABEL: func @scale(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.scale %[[X]] {factor = 1.200000e+01 : f64} : tensor<?x?x64xf32>
// CHECK-NEXT: return %[[V0]] : tensor<?x?x64xf32>
func.func @scale(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.scale %x {factor = 1.2e+01 : f64} : tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// concat: two inputs on the feature axis, three inputs on the dynamic sequence axis.
// CHECK-LABEL: func @concat(
// CHECK-SAME: %[[H:arg[0-9]+]]: tensor<?x?x64xf32>, %[[E:arg[0-9]+]]: tensor<?x?x64xf32>, %[[S:arg[0-9]+]]: tensor<2x?x64xf32>, %[[T:arg[0-9]+]]: tensor<2x7x64xf32>) -> (tensor<?x?x128xf32>, tensor<2x?x64xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.concat %[[H]], %[[E]] {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.concat %[[S]], %[[T]], %[[S]] {axis = 1 : i64} : (tensor<2x?x64xf32>, tensor<2x7x64xf32>, tensor<2x?x64xf32>) -> tensor<2x?x64xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x?x128xf32>, tensor<2x?x64xf32>
func.func @concat(%h: tensor<?x?x64xf32>, %e: tensor<?x?x64xf32>, %s: tensor<2x?x64xf32>, %t: tensor<2x7x64xf32>) -> (tensor<?x?x128xf32>, tensor<2x?x64xf32>) {
  %0 = braid.concat %h, %e {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
  %1 = braid.concat %s, %t, %s {axis = 1 : i64} : (tensor<2x?x64xf32>, tensor<2x7x64xf32>, tensor<2x?x64xf32>) -> tensor<2x?x64xf32>
  return %0, %1 : tensor<?x?x128xf32>, tensor<2x?x64xf32>
}

// split: Mamba2's fused projection into gate, conv input and dt.
// CHECK-LABEL: func @split(
// CHECK-SAME: %[[P:arg[0-9]+]]: tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>) {
// CHECK-NEXT: %[[PARTS:[a-z0-9_]+]]:3 = braid.split %[[P]] {axis = 2 : i64, sizes = array<i64: 128, 160, 8>} : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>)
// CHECK-NEXT: return %[[PARTS]]#0, %[[PARTS]]#1, %[[PARTS]]#2 : tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>
func.func @split(%p: tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>) {
  %parts:3 = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 160, 8>} : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>)
  return %parts#0, %parts#1, %parts#2 : tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x8xf32>
}

// reshape: split into heads and merge them back, keeping dynamic batch/seq.
// CHECK-LABEL: func @reshape(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<?x?x256xf32>) -> tensor<?x?x256xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.reshape %[[Q]] : (tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.reshape %[[V0]] : (tensor<?x?x4x64xf32>) -> tensor<?x?x256xf32>
// CHECK-NEXT: return %[[V1]] : tensor<?x?x256xf32>
func.func @reshape(%q: tensor<?x?x256xf32>) -> tensor<?x?x256xf32> {
  %0 = braid.reshape %q : (tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32>
  %1 = braid.reshape %0 : (tensor<?x?x4x64xf32>) -> tensor<?x?x256xf32>
  return %1 : tensor<?x?x256xf32>
}

// attention: GQA prefill without a cache, default causal.
// CHECK-LABEL: func @attention(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<?x?x8x64xf32>, %[[K:arg[0-9]+]]: tensor<?x?x2x64xf32>, %[[V:arg[0-9]+]]: tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.attention %[[Q]], %[[K]], %[[V]] {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
// CHECK-NEXT: return %[[V0]] : tensor<?x?x8x64xf32>
func.func @attention(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32> {
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return %0 : tensor<?x?x8x64xf32>
}

// attention: decode with a KV cache returns both updated caches.
// CHECK-LABEL: func @attention_cache(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<?x?x8x64xf32>, %[[K:arg[0-9]+]]: tensor<?x?x2x64xf32>, %[[V:arg[0-9]+]]: tensor<?x?x2x64xf32>, %[[KC:arg[0-9]+]]: tensor<?x2x4096x64xf32>, %[[VC:arg[0-9]+]]: tensor<?x2x4096x64xf32>, %[[POS:arg[0-9]+]]: tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>) {
// CHECK-NEXT: %[[O:[a-z0-9_]+]], %[[CACHES:[a-z0-9_]+]]:2 = braid.attention %[[Q]], %[[K]], %[[V]] cache(%[[KC]], %[[VC]], %[[POS]]) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>)
// CHECK-NEXT: return %[[O]], %[[CACHES]]#0, %[[CACHES]]#1 : tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>
func.func @attention_cache(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>) {
  %o, %caches:2 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>)
  return %o, %caches#0, %caches#1 : tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>
}

// attention: MQA, non-causal, sliding window, logit softcap and a separate v head dim.
// CHECK-LABEL: func @attention_window_softcap(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<?x?x8x64xf32>, %[[K:arg[0-9]+]]: tensor<?x?x1x64xf32>, %[[V:arg[0-9]+]]: tensor<?x?x1x32xf32>) -> tensor<?x?x8x32xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.attention %[[Q]], %[[K]], %[[V]] {causal = false, num_heads = 8 : i64, num_kv_heads = 1 : i64, scale = 1.250000e-01 : f64, sliding_window = 4096 : i64, softcap = 5.000000e+01 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x1x64xf32>, tensor<?x?x1x32xf32>) -> tensor<?x?x8x32xf32>
// CHECK-NEXT: return %[[V0]] : tensor<?x?x8x32xf32>
func.func @attention_window_softcap(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x1x64xf32>, %v: tensor<?x?x1x32xf32>) -> tensor<?x?x8x32xf32> {
  %0 = braid.attention %q, %k, %v {causal = false, num_heads = 8 : i64, num_kv_heads = 1 : i64, scale = 1.250000e-01 : f64, sliding_window = 4096 : i64, softcap = 5.000000e+01 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x1x64xf32>, tensor<?x?x1x32xf32>) -> tensor<?x?x8x32xf32>
  return %0 : tensor<?x?x8x32xf32>
}

// mla: multi-latent attention without a cache.
// CHECK-LABEL: func @mla(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<?x?x8x48xf32>, %[[C:arg[0-9]+]]: tensor<?x?x64xf32>, %[[KR:arg[0-9]+]]: tensor<?x?x16xf32>, %[[WKV:arg[0-9]+]]: tensor<512x64xf32>) -> tensor<?x?x8x32xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.mla %[[Q]], %[[C]], %[[KR]], %[[WKV]] {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
// CHECK-NEXT: return %[[V0]] : tensor<?x?x8x32xf32>
func.func @mla(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) -> tensor<?x?x8x32xf32> {
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return %0 : tensor<?x?x8x32xf32>
}

// mla: with a latent cache, non-causal, returning the updated cache.
// CHECK-LABEL: func @mla_cache(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<?x?x8x48xf32>, %[[C:arg[0-9]+]]: tensor<?x?x64xf32>, %[[KR:arg[0-9]+]]: tensor<?x?x16xf32>, %[[WKV:arg[0-9]+]]: tensor<512x64xf32>, %[[LC:arg[0-9]+]]: tensor<?x4096x80xf32>, %[[POS:arg[0-9]+]]: tensor<?xi32>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>) {
// CHECK-NEXT: %[[O:[a-z0-9_]+]], %[[LC2:[a-z0-9_]+]] = braid.mla %[[Q]], %[[C]], %[[KR]], %[[WKV]] cache(%[[LC]], %[[POS]]) {causal = false, kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x80xf32>, tensor<?xi32>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>)
// CHECK-NEXT: return %[[O]], %[[LC2]] : tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>
func.func @mla_cache(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x4096x80xf32>, %pos: tensor<?xi32>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>) {
  %o, %lc2 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {causal = false, kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x80xf32>, tensor<?xi32>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>)
  return %o, %lc2 : tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>
}

// causal_conv1d: silu with bias, identity without bias, with a state with and without bias.
// CHECK-LABEL: func @causal_conv1d(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x160xf32>, %[[W:arg[0-9]+]]: tensor<160x4xf32>, %[[B:arg[0-9]+]]: tensor<160xf32>, %[[ST:arg[0-9]+]]: tensor<?x160x3xf32>) -> (tensor<?x?x160xf32>, tensor<?x?x160xf32>, tensor<?x?x160xf32>, tensor<?x160x3xf32>, tensor<?x?x160xf32>, tensor<?x160x3xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.causal_conv1d silu %[[X]], %[[W]] bias %[[B]] {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>) -> tensor<?x?x160xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.causal_conv1d identity %[[X]], %[[W]] {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>) -> tensor<?x?x160xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = braid.causal_conv1d silu %[[X]], %[[W]] bias %[[B]] state %[[ST]] {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>, tensor<?x160x3xf32>) -> (tensor<?x?x160xf32>, tensor<?x160x3xf32>)
// CHECK-NEXT: %[[V4:[a-z0-9_]+]], %[[V5:[a-z0-9_]+]] = braid.causal_conv1d silu %[[X]], %[[W]] state %[[ST]] {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<?x160x3xf32>) -> (tensor<?x?x160xf32>, tensor<?x160x3xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]], %[[V3]], %[[V4]], %[[V5]] : tensor<?x?x160xf32>, tensor<?x?x160xf32>, tensor<?x?x160xf32>, tensor<?x160x3xf32>, tensor<?x?x160xf32>, tensor<?x160x3xf32>
func.func @causal_conv1d(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>, %b: tensor<160xf32>, %st: tensor<?x160x3xf32>) -> (tensor<?x?x160xf32>, tensor<?x?x160xf32>, tensor<?x?x160xf32>, tensor<?x160x3xf32>, tensor<?x?x160xf32>, tensor<?x160x3xf32>) {
  %0 = braid.causal_conv1d silu %x, %w bias %b {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>) -> tensor<?x?x160xf32>
  %1 = braid.causal_conv1d identity %x, %w {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>) -> tensor<?x?x160xf32>
  %2, %3 = braid.causal_conv1d silu %x, %w bias %b state %st {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160xf32>, tensor<?x160x3xf32>) -> (tensor<?x?x160xf32>, tensor<?x160x3xf32>)
  %4, %5 = braid.causal_conv1d silu %x, %w state %st {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<?x160x3xf32>) -> (tensor<?x?x160xf32>, tensor<?x160x3xf32>)
  return %0, %1, %2, %3, %4, %5 : tensor<?x?x160xf32>, tensor<?x?x160xf32>, tensor<?x?x160xf32>, tensor<?x160x3xf32>, tensor<?x?x160xf32>, tensor<?x160x3xf32>
}

// selective_scan: only the required operands.
// CHECK-LABEL: func @selective_scan(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x128xf32>, %[[XP:arg[0-9]+]]: tensor<40x128xf32>, %[[DTP:arg[0-9]+]]: tensor<128x8xf32>, %[[DTB:arg[0-9]+]]: tensor<128xf32>, %[[A:arg[0-9]+]]: tensor<128x16xf32>) -> tensor<?x?x128xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.selective_scan %[[X]], %[[XP]], %[[DTP]], %[[DTB]], %[[A]] {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: return %[[V0]] : tensor<?x?x128xf32>
func.func @selective_scan(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) -> tensor<?x?x128xf32> {
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}

// selective_scan: gate and skip (Mamba1), then Jamba's dt/B/C norms with a custom epsilon.
// CHECK-LABEL: func @selective_scan_gate_skip_norms(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x128xf32>, %[[XP:arg[0-9]+]]: tensor<40x128xf32>, %[[DTP:arg[0-9]+]]: tensor<128x8xf32>, %[[DTB:arg[0-9]+]]: tensor<128xf32>, %[[A:arg[0-9]+]]: tensor<128x16xf32>, %[[Z:arg[0-9]+]]: tensor<?x?x128xf32>, %[[D:arg[0-9]+]]: tensor<128xf32>, %[[DTN:arg[0-9]+]]: tensor<8xf32>, %[[BN:arg[0-9]+]]: tensor<16xf32>, %[[CN:arg[0-9]+]]: tensor<16xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.selective_scan %[[X]], %[[XP]], %[[DTP]], %[[DTB]], %[[A]] gate %[[Z]] skip %[[D]] {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.selective_scan %[[X]], %[[XP]], %[[DTP]], %[[DTB]], %[[A]] norms(%[[DTN]], %[[BN]], %[[CN]]) {dt_rank = 8 : i64, norm_epsilon = 1.000000e-05 : f64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<8xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x?x128xf32>, tensor<?x?x128xf32>
func.func @selective_scan_gate_skip_norms(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %z: tensor<?x?x128xf32>, %d: tensor<128xf32>, %dtn: tensor<8xf32>, %bn: tensor<16xf32>, %cn: tensor<16xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a gate %z skip %d {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  %1 = braid.selective_scan %x, %xp, %dtp, %dtb, %a norms(%dtn, %bn, %cn) {dt_rank = 8 : i64, norm_epsilon = 1.000000e-05 : f64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<8xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x?x128xf32>
  return %0, %1 : tensor<?x?x128xf32>, tensor<?x?x128xf32>
}

// selective_scan: with an fp32 state (returns the final state), alone and with every optional operand.
// CHECK-LABEL: func @selective_scan_state(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x128xbf16>, %[[XP:arg[0-9]+]]: tensor<40x128xbf16>, %[[DTP:arg[0-9]+]]: tensor<128x8xbf16>, %[[DTB:arg[0-9]+]]: tensor<128xbf16>, %[[A:arg[0-9]+]]: tensor<128x16xf32>, %[[Z:arg[0-9]+]]: tensor<?x?x128xbf16>, %[[D:arg[0-9]+]]: tensor<128xf32>, %[[DTN:arg[0-9]+]]: tensor<8xbf16>, %[[BN:arg[0-9]+]]: tensor<16xbf16>, %[[CN:arg[0-9]+]]: tensor<16xbf16>, %[[H:arg[0-9]+]]: tensor<?x128x16xf32>) -> (tensor<?x?x128xbf16>, tensor<?x128x16xf32>, tensor<?x?x128xbf16>, tensor<?x128x16xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = braid.selective_scan %[[X]], %[[XP]], %[[DTP]], %[[DTB]], %[[A]] state %[[H]] {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xbf16>, tensor<40x128xbf16>, tensor<128x8xbf16>, tensor<128xbf16>, tensor<128x16xf32>, tensor<?x128x16xf32>) -> (tensor<?x?x128xbf16>, tensor<?x128x16xf32>)
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = braid.selective_scan %[[X]], %[[XP]], %[[DTP]], %[[DTB]], %[[A]] gate %[[Z]] skip %[[D]] norms(%[[DTN]], %[[BN]], %[[CN]]) state %[[H]] {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xbf16>, tensor<40x128xbf16>, tensor<128x8xbf16>, tensor<128xbf16>, tensor<128x16xf32>, tensor<?x?x128xbf16>, tensor<128xf32>, tensor<8xbf16>, tensor<16xbf16>, tensor<16xbf16>, tensor<?x128x16xf32>) -> (tensor<?x?x128xbf16>, tensor<?x128x16xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]], %[[V3]] : tensor<?x?x128xbf16>, tensor<?x128x16xf32>, tensor<?x?x128xbf16>, tensor<?x128x16xf32>
func.func @selective_scan_state(%x: tensor<?x?x128xbf16>, %xp: tensor<40x128xbf16>, %dtp: tensor<128x8xbf16>, %dtb: tensor<128xbf16>, %a: tensor<128x16xf32>, %z: tensor<?x?x128xbf16>, %d: tensor<128xf32>, %dtn: tensor<8xbf16>, %bn: tensor<16xbf16>, %cn: tensor<16xbf16>, %h: tensor<?x128x16xf32>) -> (tensor<?x?x128xbf16>, tensor<?x128x16xf32>, tensor<?x?x128xbf16>, tensor<?x128x16xf32>) {
  %0, %1 = braid.selective_scan %x, %xp, %dtp, %dtb, %a state %h {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xbf16>, tensor<40x128xbf16>, tensor<128x8xbf16>, tensor<128xbf16>, tensor<128x16xf32>, tensor<?x128x16xf32>) -> (tensor<?x?x128xbf16>, tensor<?x128x16xf32>)
  %2, %3 = braid.selective_scan %x, %xp, %dtp, %dtb, %a gate %z skip %d norms(%dtn, %bn, %cn) state %h {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xbf16>, tensor<40x128xbf16>, tensor<128x8xbf16>, tensor<128xbf16>, tensor<128x16xf32>, tensor<?x?x128xbf16>, tensor<128xf32>, tensor<8xbf16>, tensor<16xbf16>, tensor<16xbf16>, tensor<?x128x16xf32>) -> (tensor<?x?x128xbf16>, tensor<?x128x16xf32>)
  return %0, %1, %2, %3 : tensor<?x?x128xbf16>, tensor<?x128x16xf32>, tensor<?x?x128xbf16>, tensor<?x128x16xf32>
}

// ssd_scan: required operands only, and with skip and dt_bias (Bamba shapes, 2 groups).
// CHECK-LABEL: func @ssd_scan(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x8x64xf32>, %[[DT:arg[0-9]+]]: tensor<?x?x8xf32>, %[[A:arg[0-9]+]]: tensor<8xf32>, %[[B:arg[0-9]+]]: tensor<?x?x2x128xf32>, %[[C:arg[0-9]+]]: tensor<?x?x2x128xf32>, %[[D:arg[0-9]+]]: tensor<8xf32>, %[[DTB:arg[0-9]+]]: tensor<8xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.ssd_scan %[[X]], %[[DT]], %[[A]], %[[B]], %[[C]] {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.ssd_scan %[[X]], %[[DT]], %[[A]], %[[B]], %[[C]] skip %[[D]] dt_bias %[[DTB]] {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8x64xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>
func.func @ssd_scan(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %d: tensor<8xf32>, %dtb: tensor<8xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>) {
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  %1 = braid.ssd_scan %x, %dt, %a, %b, %c skip %d dt_bias %dtb {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x?x8x64xf32>
  return %0, %1 : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>
}

// ssd_scan: with an initial state, dt limits (dt_min, dt_max) and dt_softplus = false.
// CHECK-LABEL: func @ssd_scan_state(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x8x64xf32>, %[[DT:arg[0-9]+]]: tensor<?x?x8xf32>, %[[A:arg[0-9]+]]: tensor<8xf32>, %[[B:arg[0-9]+]]: tensor<?x?x1x128xf32>, %[[C:arg[0-9]+]]: tensor<?x?x1x128xf32>, %[[D:arg[0-9]+]]: tensor<8xf32>, %[[DTB:arg[0-9]+]]: tensor<8xf32>, %[[H:arg[0-9]+]]: tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>, tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = braid.ssd_scan %[[X]], %[[DT]], %[[A]], %[[B]], %[[C]] state %[[H]] {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 1 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>, tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = braid.ssd_scan %[[X]], %[[DT]], %[[A]], %[[B]], %[[C]] skip %[[D]] dt_bias %[[DTB]] state %[[H]] {chunk_size = 128 : i64, dt_max = 1.000000e-01 : f64, dt_min = 1.000000e-03 : f64, dt_softplus = false, head_dim = 64 : i64, num_groups = 1 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]], %[[V3]] : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>, tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>
func.func @ssd_scan_state(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x1x128xf32>, %c: tensor<?x?x1x128xf32>, %d: tensor<8xf32>, %dtb: tensor<8xf32>, %h: tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>, tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>) {
  %0, %1 = braid.ssd_scan %x, %dt, %a, %b, %c state %h {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 1 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>, tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
  %2, %3 = braid.ssd_scan %x, %dt, %a, %b, %c skip %d dt_bias %dtb state %h {chunk_size = 128 : i64, dt_max = 1.000000e-01 : f64, dt_min = 1.000000e-03 : f64, dt_softplus = false, head_dim = 64 : i64, num_groups = 1 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x128xf32>, tensor<?x?x1x128xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
  return %0, %1, %2, %3 : tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>, tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>
}

// gated_rms_norm: default (gate before norm) and norm_before_gate.
// CHECK-LABEL: func @gated_rms_norm(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x128xf32>, %[[Z:arg[0-9]+]]: tensor<?x?x128xf32>, %[[W:arg[0-9]+]]: tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.gated_rms_norm %[[X]], %[[Z]], %[[W]] {epsilon = 1.000000e-05 : f64, group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.gated_rms_norm %[[X]], %[[Z]], %[[W]] {epsilon = 1.000000e-03 : f64, group_size = 128 : i64, norm_before_gate = true} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x?x128xf32>, tensor<?x?x128xf32>
func.func @gated_rms_norm(%x: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>) {
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  %1 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-03 : f64, group_size = 128 : i64, norm_before_gate = true} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return %0, %1 : tensor<?x?x128xf32>, tensor<?x?x128xf32>
}

// moe: every routing mode, without optional operands.
// CHECK-LABEL: func @moe(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[R:arg[0-9]+]]: tensor<4x64xf32>, %[[GU:arg[0-9]+]]: tensor<4x256x64xf32>, %[[D:arg[0-9]+]]: tensor<4x64x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.moe softmax_topk silu %[[X]], %[[R]], %[[GU]], %[[D]] {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.moe topk_softmax gelu %[[X]], %[[R]], %[[GU]], %[[D]] {num_experts = 4 : i64, top_k = 1 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.moe sigmoid_topk silu %[[X]], %[[R]], %[[GU]], %[[D]] {normalize_topk = true, num_experts = 4 : i64, routed_scaling = 2.500000e+00 : f64, top_k = 4 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @moe(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  %1 = braid.moe topk_softmax gelu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 1 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  %2 = braid.moe sigmoid_topk silu %x, %r, %gu, %d {normalize_topk = true, num_experts = 4 : i64, routed_scaling = 2.500000e+00 : f64, top_k = 4 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return %0, %1, %2 : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// moe: router bias, shared expert, and both together.
// CHECK-LABEL: func @moe_bias_shared(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[R:arg[0-9]+]]: tensor<4x64xf32>, %[[GU:arg[0-9]+]]: tensor<4x256x64xf32>, %[[D:arg[0-9]+]]: tensor<4x64x128xf32>, %[[RB:arg[0-9]+]]: tensor<4xf32>, %[[SGU:arg[0-9]+]]: tensor<512x64xf32>, %[[SD:arg[0-9]+]]: tensor<64x256xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.moe softmax_topk silu %[[X]], %[[R]], %[[GU]], %[[D]] router_bias %[[RB]] {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.moe softmax_topk silu %[[X]], %[[R]], %[[GU]], %[[D]] shared(%[[SGU]], %[[SD]]) {normalize_topk = true, num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<512x64xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.moe sigmoid_topk silu %[[X]], %[[R]], %[[GU]], %[[D]] router_bias %[[RB]] shared(%[[SGU]], %[[SD]]) {num_experts = 4 : i64, routed_scaling = 2.500000e+00 : f64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<4xf32>, tensor<512x64xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @moe_bias_shared(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %rb: tensor<4xf32>, %sgu: tensor<512x64xf32>, %sd: tensor<64x256xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d router_bias %rb {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  %1 = braid.moe softmax_topk silu %x, %r, %gu, %d shared(%sgu, %sd) {normalize_topk = true, num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<512x64xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
  %2 = braid.moe sigmoid_topk silu %x, %r, %gu, %d router_bias %rb shared(%sgu, %sd) {num_experts = 4 : i64, routed_scaling = 2.500000e+00 : f64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<4xf32>, tensor<512x64xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
  return %0, %1, %2 : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// moe: a dynamic expert_dim / shared_dim leaves the matching gate_up dims unchecked (regression: no 'expected 0').
// CHECK-LABEL: func @moe_dynamic_expert_dim(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[R:arg[0-9]+]]: tensor<4x64xf32>, %[[GU:arg[0-9]+]]: tensor<4x256x64xf32>, %[[D:arg[0-9]+]]: tensor<4x64x?xf32>, %[[SGU:arg[0-9]+]]: tensor<512x64xf32>, %[[SD:arg[0-9]+]]: tensor<64x?xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.moe softmax_topk silu %[[X]], %[[R]], %[[GU]], %[[D]] shared(%[[SGU]], %[[SD]]) {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x?xf32>, tensor<512x64xf32>, tensor<64x?xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[V0]] : tensor<?x?x64xf32>
func.func @moe_dynamic_expert_dim(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x?xf32>, %sgu: tensor<512x64xf32>, %sd: tensor<64x?xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d shared(%sgu, %sd) {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x?xf32>, tensor<512x64xf32>, tensor<64x?xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// merge: sum (plain and with multipliers) and mean.
// CHECK-LABEL: func @merge_sum_mean(
// CHECK-SAME: %[[A:arg[0-9]+]]: tensor<?x?x64xf32>, %[[S:arg[0-9]+]]: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.merge sum %[[A]], %[[S]] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.merge sum %[[A]], %[[S]] {multipliers = array<f64: 1.000000e+00, 5.000000e-01>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.merge mean %[[A]], %[[S]], %[[A]] {multipliers = array<f64: 2.000000e+00, 1.000000e+00, 1.000000e+00>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]], %[[V2]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @merge_sum_mean(%a: tensor<?x?x64xf32>, %s: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.merge sum %a, %s : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %1 = braid.merge sum %a, %s {multipliers = array<f64: 1.0, 5.000000e-01>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %2 = braid.merge mean %a, %s, %a {multipliers = array<f64: 2.0, 1.0, 1.0>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0, %1, %2 : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// merge: concat_proj with a [hidden, n * hidden] weight and attention with a [hidden] scoring weight.
// CHECK-LABEL: func @merge_weighted(
// CHECK-SAME: %[[A:arg[0-9]+]]: tensor<?x?x64xf32>, %[[S:arg[0-9]+]]: tensor<?x?x64xf32>, %[[WP:arg[0-9]+]]: tensor<64x128xf32>, %[[WS:arg[0-9]+]]: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.merge concat_proj %[[A]], %[[S]] weight %[[WP]] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.merge attention %[[A]], %[[S]] weight %[[WS]] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @merge_weighted(%a: tensor<?x?x64xf32>, %s: tensor<?x?x64xf32>, %wp: tensor<64x128xf32>, %ws: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.merge concat_proj %a, %s weight %wp : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  %1 = braid.merge attention %a, %s weight %ws : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0, %1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// default-valued attributes (causal = true, dt_softplus = true, ...) are elided when printed.
// CHECK-LABEL: func @default_attrs_elided(
// CHECK-SAME: %[[Q:arg[0-9]+]]: tensor<?x?x8x64xf32>, %[[K:arg[0-9]+]]: tensor<?x?x2x64xf32>, %[[X:arg[0-9]+]]: tensor<?x?x128xf32>, %[[Z:arg[0-9]+]]: tensor<?x?x128xf32>, %[[W:arg[0-9]+]]: tensor<128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x128xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.attention %[[Q]], %[[K]], %[[K]] {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.gated_rms_norm %[[X]], %[[Z]], %[[W]] {epsilon = 1.000000e-05 : f64, group_size = 128 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x?x8x64xf32>, tensor<?x?x128xf32>
func.func @default_attrs_elided(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %x: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x128xf32>) {
  %0 = braid.attention %q, %k, %k {causal = true, num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  %1 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 128 : i64, norm_before_gate = false} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return %0, %1 : tensor<?x?x8x64xf32>, tensor<?x?x128xf32>
}

// layer: mamba and mamba2 mixers, the second threading conv and SSM state through extra inputs and results.
// CHECK-LABEL: func @layer_mamba(
// CHECK-SAME: %[[H:arg[0-9]+]]: tensor<?x?x64xf32>, %[[CS:arg[0-9]+]]: tensor<?x160x3xf32>, %[[SS:arg[0-9]+]]: tensor<?x8x64x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>) {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.layer mamba(%[[H]]) {index = 0 : i64, name = "backbone.layers.0"} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: ^bb0(%[[X:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: %[[W:[a-z0-9_]+]] = braid.weight "backbone.layers.0.norm.weight" : tensor<64xf32>
// CHECK-NEXT: %[[N:[a-z0-9_]+]] = braid.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[R:[a-z0-9_]+]] = braid.add %[[X]], %[[N]] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: braid.yield %[[R]] : tensor<?x?x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[V1:[a-z0-9_]+]]:3 = braid.layer mamba2(%[[V0]], %[[CS]], %[[SS]]) {index = 1 : i64} : (tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>) {
// CHECK-NEXT: ^bb0(%[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[C:arg[0-9]+]]: tensor<?x160x3xf32>, %[[S:arg[0-9]+]]: tensor<?x8x64x128xf32>):
// CHECK-NEXT: braid.yield %[[X]], %[[C]], %[[S]] : tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[V1]]#0, %[[V1]]#1, %[[V1]]#2 : tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>
func.func @layer_mamba(%h: tensor<?x?x64xf32>, %cs: tensor<?x160x3xf32>, %ss: tensor<?x8x64x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>) {
  %0 = braid.layer mamba (%h) {index = 0 : i64, name = "backbone.layers.0"} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %w = braid.weight "backbone.layers.0.norm.weight" : tensor<64xf32>
    %n = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %n : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }
  %1:3 = braid.layer mamba2 (%0, %cs, %ss) {index = 1 : i64} : (tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>) -> (tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>) {
  ^bb0(%x: tensor<?x?x64xf32>, %c: tensor<?x160x3xf32>, %s: tensor<?x8x64x128xf32>):
    braid.yield %x, %c, %s : tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>
  }
  return %1#0, %1#1, %1#2 : tensor<?x?x64xf32>, tensor<?x160x3xf32>, tensor<?x8x64x128xf32>
}

// layer: an attention block followed by mlp and moe feed-forward blocks.
// CHECK-LABEL: func @layer_attention_mlp_moe(
// CHECK-SAME: %[[H:arg[0-9]+]]: tensor<?x?x64xf32>, %[[POS:arg[0-9]+]]: tensor<?x?xi64>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.layer attention(%[[H]], %[[POS]]) {index = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: ^bb0(%[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[P:arg[0-9]+]]: tensor<?x?xi64>):
// CHECK-NEXT: %[[WQ:[a-z0-9_]+]] = braid.weight "layers.2.q_proj.weight" : tensor<64x64xf32>
// CHECK-NEXT: %[[Q:[a-z0-9_]+]] = braid.linear %[[X]], %[[WQ]] : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[Q4:[a-z0-9_]+]] = braid.reshape %[[Q]] : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
// CHECK-NEXT: %[[QR:[a-z0-9_]+]] = braid.rope %[[Q4]], %[[P]] {rotary_dim = 16 : i64, theta = 1.000000e+04 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?xi64>) -> tensor<?x?x4x16xf32>
// CHECK-NEXT: %[[O:[a-z0-9_]+]] = braid.attention %[[QR]], %[[QR]], %[[Q4]] {num_heads = 4 : i64, num_kv_heads = 4 : i64, scale = 2.500000e-01 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x4x16xf32>, tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
// CHECK-NEXT: %[[O3:[a-z0-9_]+]] = braid.reshape %[[O]] : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[R:[a-z0-9_]+]] = braid.add %[[X]], %[[O3]] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: braid.yield %[[R]] : tensor<?x?x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = braid.layer mlp(%[[V0]]) {index = 3 : i64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: ^bb0(%[[X:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: %[[WU:[a-z0-9_]+]] = braid.weight "layers.3.up_proj.weight" : tensor<256x64xf32>
// CHECK-NEXT: %[[WD:[a-z0-9_]+]] = braid.weight "layers.3.down_proj.weight" : tensor<64x256xf32>
// CHECK-NEXT: %[[U:[a-z0-9_]+]] = braid.linear %[[X]], %[[WU]] : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
// CHECK-NEXT: %[[A:[a-z0-9_]+]] = braid.activation relu2 %[[U]] : tensor<?x?x256xf32>
// CHECK-NEXT: %[[D:[a-z0-9_]+]] = braid.linear %[[A]], %[[WD]] : (tensor<?x?x256xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: braid.yield %[[D]] : tensor<?x?x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = braid.layer moe(%[[V1]]) {index = 4 : i64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: ^bb0(%[[X:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: %[[R:[a-z0-9_]+]] = braid.weight "layers.4.router.weight" : tensor<4x64xf32>
// CHECK-NEXT: %[[GU:[a-z0-9_]+]] = braid.weight "layers.4.experts.gate_up" : tensor<4x256x64xf32>
// CHECK-NEXT: %[[D:[a-z0-9_]+]] = braid.weight "layers.4.experts.down" : tensor<4x64x128xf32>
// CHECK-NEXT: %[[Y:[a-z0-9_]+]] = braid.moe softmax_topk silu %[[X]], %[[R]], %[[GU]], %[[D]] {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: braid.yield %[[Y]] : tensor<?x?x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[V2]] : tensor<?x?x64xf32>
func.func @layer_attention_mlp_moe(%h: tensor<?x?x64xf32>, %pos: tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  %0 = braid.layer attention (%h, %pos) {index = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>, %p: tensor<?x?xi64>):
    %wq = braid.weight "layers.2.q_proj.weight" : tensor<64x64xf32>
    %q = braid.linear %x, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
    %q4 = braid.reshape %q : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
    %qr = braid.rope %q4, %p {rotary_dim = 16 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?xi64>) -> tensor<?x?x4x16xf32>
    %o = braid.attention %qr, %qr, %q4 {num_heads = 4 : i64, num_kv_heads = 4 : i64, scale = 2.500000e-01 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x4x16xf32>, tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
    %o3 = braid.reshape %o : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
    %r = braid.add %x, %o3 : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }
  %1 = braid.layer mlp (%0) {index = 3 : i64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %wu = braid.weight "layers.3.up_proj.weight" : tensor<256x64xf32>
    %wd = braid.weight "layers.3.down_proj.weight" : tensor<64x256xf32>
    %u = braid.linear %x, %wu : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
    %a = braid.activation relu2 %u : tensor<?x?x256xf32>
    %d = braid.linear %a, %wd : (tensor<?x?x256xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
    braid.yield %d : tensor<?x?x64xf32>
  }
  %2 = braid.layer moe (%1) {index = 4 : i64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %r = braid.weight "layers.4.router.weight" : tensor<4x64xf32>
    %gu = braid.weight "layers.4.experts.gate_up" : tensor<4x256x64xf32>
    %d = braid.weight "layers.4.experts.down" : tensor<4x64x128xf32>
    %y = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
    braid.yield %y : tensor<?x?x64xf32>
  }
  return %2 : tensor<?x?x64xf32>
}

// layer: a parallel block (Falcon-H1) whose nested attention and mamba2 layers are merged.
// CHECK-LABEL: func @layer_parallel(
// CHECK-SAME: %[[H:arg[0-9]+]]: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.layer parallel(%[[H]]) {index = 5 : i64, name = "model.layers.5"} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: ^bb0(%[[X:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: %[[A:[a-z0-9_]+]] = braid.layer attention(%[[X]]) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: ^bb0(%[[Y:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: %[[S:[a-z0-9_]+]] = braid.scale %[[Y]] {factor = 5.000000e-01 : f64} : tensor<?x?x64xf32>
// CHECK-NEXT: braid.yield %[[S]] : tensor<?x?x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[M:[a-z0-9_]+]] = braid.layer mamba2(%[[X]]) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: ^bb0(%[[Y:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: %[[G:[a-z0-9_]+]] = braid.activation silu %[[Y]] : tensor<?x?x64xf32>
// CHECK-NEXT: braid.yield %[[G]] : tensor<?x?x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[R:[a-z0-9_]+]] = braid.merge sum %[[A]], %[[M]] {multipliers = array<f64: 1.000000e+00, 2.500000e-01>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: braid.yield %[[R]] : tensor<?x?x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[V0]] : tensor<?x?x64xf32>
func.func @layer_parallel(%h: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.layer parallel (%h) {index = 5 : i64, name = "model.layers.5"} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %a = braid.layer attention (%x) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%y: tensor<?x?x64xf32>):
      %s = braid.scale %y {factor = 5.000000e-01 : f64} : tensor<?x?x64xf32>
      braid.yield %s : tensor<?x?x64xf32>
    }
    %m = braid.layer mamba2 (%x) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%y: tensor<?x?x64xf32>):
      %g = braid.activation silu %y : tensor<?x?x64xf32>
      braid.yield %g : tensor<?x?x64xf32>
    }
    %r = braid.merge sum %a, %m {multipliers = array<f64: 1.000000e+00, 2.500000e-01>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }
  return %0 : tensor<?x?x64xf32>
}

// layer: a shared block (Zamba2) reading concat(hidden, embeddings), with nested attention and mlp layers.
// CHECK-LABEL: func @layer_shared(
// CHECK-SAME: %[[H:arg[0-9]+]]: tensor<?x?x64xf32>, %[[E:arg[0-9]+]]: tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.layer shared(%[[H]], %[[E]]) {name = "shared_transformer"} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
// CHECK-NEXT: ^bb0(%[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[Y:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: %[[C:[a-z0-9_]+]] = braid.concat %[[X]], %[[Y]] {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: %[[A:[a-z0-9_]+]] = braid.layer attention(%[[C]]) : (tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
// CHECK-NEXT: ^bb0(%[[Z:arg[0-9]+]]: tensor<?x?x128xf32>):
// CHECK-NEXT: braid.yield %[[Z]] : tensor<?x?x128xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[M:[a-z0-9_]+]] = braid.layer mlp(%[[A]]) : (tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
// CHECK-NEXT: ^bb0(%[[Z:arg[0-9]+]]: tensor<?x?x128xf32>):
// CHECK-NEXT: braid.yield %[[Z]] : tensor<?x?x128xf32>
// CHECK-NEXT: }
// CHECK-NEXT: braid.yield %[[M]] : tensor<?x?x128xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[V0]] : tensor<?x?x128xf32>
func.func @layer_shared(%h: tensor<?x?x64xf32>, %e: tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
  %0 = braid.layer shared (%h, %e) {name = "shared_transformer"} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
  ^bb0(%x: tensor<?x?x64xf32>, %y: tensor<?x?x64xf32>):
    %c = braid.concat %x, %y {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
    %a = braid.layer attention (%c) : (tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
    ^bb0(%z: tensor<?x?x128xf32>):
      braid.yield %z : tensor<?x?x128xf32>
    }
    %m = braid.layer mlp (%a) : (tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
    ^bb0(%z: tensor<?x?x128xf32>):
      braid.yield %z : tensor<?x?x128xf32>
    }
    braid.yield %m : tensor<?x?x128xf32>
  }
  return %0 : tensor<?x?x128xf32>
}

// layer and yield: a shared block without nested layers, and a layer yielding nothing (terminator elided).
// CHECK-LABEL: func @layer_shared_flat_and_empty(
// CHECK-SAME: %[[H:arg[0-9]+]]: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: %[[V0:[a-z0-9_]+]] = braid.layer shared(%[[H]]) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
// CHECK-NEXT: ^bb0(%[[X:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: braid.yield %[[X]] : tensor<?x?x64xf32>
// CHECK-NEXT: }
// CHECK-NEXT: braid.layer mlp() : () -> () {
// CHECK-NEXT: }
// CHECK-NEXT: return %[[V0]] : tensor<?x?x64xf32>
func.func @layer_shared_flat_and_empty(%h: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.layer shared (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    braid.yield %x : tensor<?x?x64xf32>
  }
  braid.layer mlp () : () -> () {
    braid.yield
  }
  return %0 : tensor<?x?x64xf32>
}
