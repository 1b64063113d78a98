// Negative tests of the braid verifiers: one case per rule of BraidOps.cpp,
// plus the ODS-level constraints (element types, ranked tensors, enum values,
// required attributes, parents, region shape) that users hit in practice.
//
// RUN: braid-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// braid.weight
//===----------------------------------------------------------------------===//

// weight: the name must not be empty.
func.func @weight_empty_name() {
  // expected-error @+1 {{'braid.weight' op needs a non-empty weight name}}
  %0 = braid.weight "" : tensor<64xf32>
  return
}

// -----

// weight: the shape must be static.
func.func @weight_dynamic_shape() {
  // expected-error @+1 {{'braid.weight' op weight 'lm_head.weight' must have a static shape, got 'tensor<?x64xf32>'}}
  %0 = braid.weight "lm_head.weight" : tensor<?x64xf32>
  return
}

// -----

// weight (ODS): the result must be a float tensor.
func.func @weight_int_type() {
  // expected-error @+1 {{'braid.weight' op result #0 must be ranked tensor of floating-point values, but got 'tensor<64xi32>'}}
  %0 = braid.weight "w" : tensor<64xi32>
  return
}

// -----

// weight (ODS): the name attribute is required.
func.func @weight_no_name() {
  // expected-error @+1 {{'braid.weight' op requires attribute 'name'}}
  %0 = "braid.weight"() : () -> tensor<64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.embedding
//===----------------------------------------------------------------------===//

// -----

// embedding: 'ids' must have rank 2.
func.func @embedding_ids_rank(%ids: tensor<?xi64>, %table: tensor<32000x64xf32>) {
  // expected-error @+1 {{'braid.embedding' op 'ids' must have rank 2, got 'tensor<?xi64>'}}
  %0 = braid.embedding %ids, %table : (tensor<?xi64>, tensor<32000x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// embedding: 'table' must have rank 2.
func.func @embedding_table_rank(%ids: tensor<?x?xi64>, %table: tensor<32000xf32>) {
  // expected-error @+1 {{'braid.embedding' op 'table' must have rank 2, got 'tensor<32000xf32>'}}
  %0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<32000xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// embedding: 'result' must have rank 3.
func.func @embedding_result_rank(%ids: tensor<?x?xi64>, %table: tensor<32000x64xf32>) {
  // expected-error @+1 {{'braid.embedding' op 'result' must have rank 3, got 'tensor<?x64xf32>'}}
  %0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<32000x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

// embedding: result dim 0 (batch) must match ids dim 0.
func.func @embedding_batch(%ids: tensor<2x?xi64>, %table: tensor<32000x64xf32>) {
  // expected-error @+1 {{'braid.embedding' op 'result' dim 0 (batch) is 3 but 'ids' dim 0 is 2}}
  %0 = braid.embedding %ids, %table : (tensor<2x?xi64>, tensor<32000x64xf32>) -> tensor<3x?x64xf32>
  return
}

// -----

// embedding: result dim 1 (seq) must match ids dim 1.
func.func @embedding_seq(%ids: tensor<?x7xi64>, %table: tensor<32000x64xf32>) {
  // expected-error @+1 {{'braid.embedding' op 'result' dim 1 (seq) is 8 but 'ids' dim 1 is 7}}
  %0 = braid.embedding %ids, %table : (tensor<?x7xi64>, tensor<32000x64xf32>) -> tensor<?x8x64xf32>
  return
}

// -----

// embedding: result dim 2 (hidden) must match table dim 1.
func.func @embedding_hidden(%ids: tensor<?x?xi64>, %table: tensor<32000x64xf32>) {
  // expected-error @+1 {{'braid.embedding' op 'result' dim 2 (hidden) is 128 but 'table' dim 1 is 64}}
  %0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<32000x64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// embedding: the result has the element type of the table.
func.func @embedding_element_type(%ids: tensor<?x?xi64>, %table: tensor<32000x64xbf16>) {
  // expected-error @+1 {{'braid.embedding' op 'result' has element type 'f32' but 'table' has 'bf16'}}
  %0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<32000x64xbf16>) -> tensor<?x?x64xf32>
  return
}

// -----

// embedding (ODS): 'ids' must be an i32 or i64 tensor.
func.func @embedding_float_ids(%ids: tensor<?x?xf32>, %table: tensor<32000x64xf32>) {
  // expected-error @+1 {{'braid.embedding' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<?x?xf32>'}}
  %0 = braid.embedding %ids, %table : (tensor<?x?xf32>, tensor<32000x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// embedding (ODS): ids of another integer width are rejected.
func.func @embedding_i16_ids(%ids: tensor<?x?xi16>, %table: tensor<32000x64xf32>) {
  // expected-error @+1 {{'braid.embedding' op operand #0 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<?x?xi16>'}}
  %0 = braid.embedding %ids, %table : (tensor<?x?xi16>, tensor<32000x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// embedding (ODS): the table must be a float tensor.
func.func @embedding_int_table(%ids: tensor<?x?xi64>, %table: tensor<32000x64xi8>) {
  // expected-error @+1 {{'braid.embedding' op operand #1 must be ranked tensor of floating-point values, but got 'tensor<32000x64xi8>'}}
  %0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<32000x64xi8>) -> tensor<?x?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.rms_norm
//===----------------------------------------------------------------------===//

// -----

// rms_norm: 'input' must have rank at least 1.
func.func @rms_norm_input_rank(%x: tensor<f32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'braid.rms_norm' op 'input' must have rank at least 1, got 'tensor<f32>'}}
  %0 = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : (tensor<f32>, tensor<64xf32>) -> tensor<f32>
  return
}

// -----

// rms_norm: 'weight' must have rank 1.
func.func @rms_norm_weight_rank(%x: tensor<?x?x64xf32>, %w: tensor<1x64xf32>) {
  // expected-error @+1 {{'braid.rms_norm' op 'weight' must have rank 1, got 'tensor<1x64xf32>'}}
  %0 = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<1x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// rms_norm: 'weight' dim 0 must match the last dim of 'input' (hidden).
func.func @rms_norm_weight_hidden(%x: tensor<?x?x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'braid.rms_norm' op 'weight' dim 0 (hidden) is 32 but 'input' dim 2 is 64}}
  %0 = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// rms_norm: the result has the type of 'input'.
func.func @rms_norm_result_type(%x: tensor<?x?x64xbf16>, %w: tensor<64xbf16>) {
  // expected-error @+1 {{'braid.rms_norm' op 'result' has type 'tensor<?x?x64xf32>' but 'input' has type 'tensor<?x?x64xbf16>'; they must be equal}}
  %0 = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xbf16>, tensor<64xbf16>) -> tensor<?x?x64xf32>
  return
}

// -----

// rms_norm: 'epsilon' must be positive.
func.func @rms_norm_epsilon(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'braid.rms_norm' op attribute 'epsilon' is 0.000000e+00, must be positive}}
  %0 = braid.rms_norm %x, %w {epsilon = 0.0 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// rms_norm (ODS): 'epsilon' is required.
func.func @rms_norm_no_epsilon(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'braid.rms_norm' op requires attribute 'epsilon'}}
  %0 = braid.rms_norm %x, %w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// rms_norm (ODS): 'epsilon' must be an f64 attribute.
func.func @rms_norm_f32_epsilon(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'braid.rms_norm' op attribute 'epsilon' failed to satisfy constraint: 64-bit float attribute}}
  %0 = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.layer_norm
//===----------------------------------------------------------------------===//

// -----

// layer_norm: 'input' must have rank at least 1.
func.func @layer_norm_input_rank(%x: tensor<f32>) {
  // expected-error @+1 {{'braid.layer_norm' op 'input' must have rank at least 1, got 'tensor<f32>'}}
  %0 = braid.layer_norm %x {epsilon = 1.0e-05 : f64} : (tensor<f32>) -> tensor<f32>
  return
}

// -----

// layer_norm: the result has the type of 'input'.
func.func @layer_norm_result_type(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer_norm' op 'result' has type 'tensor<?x?x32xf32>' but 'input' has type 'tensor<?x?x64xf32>'; they must be equal}}
  %0 = braid.layer_norm %x {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

// layer_norm: 'epsilon' must be positive.
func.func @layer_norm_epsilon(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer_norm' op attribute 'epsilon' is -1.000000e-05, must be positive}}
  %0 = braid.layer_norm %x {epsilon = -1.0e-05 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// layer_norm: 'weight' must have rank 1.
func.func @layer_norm_weight_rank(%x: tensor<?x?x64xf32>, %w: tensor<1x64xf32>) {
  // expected-error @+1 {{'braid.layer_norm' op 'weight' must have rank 1, got 'tensor<1x64xf32>'}}
  %0 = braid.layer_norm %x weight %w {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<1x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// layer_norm: 'weight' dim 0 must match the last dim of 'input' (hidden).
func.func @layer_norm_weight_hidden(%x: tensor<?x?x64xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{'braid.layer_norm' op 'weight' dim 0 (hidden) is 128 but 'input' dim 2 is 64}}
  %0 = braid.layer_norm %x weight %w {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// layer_norm: 'bias' must have rank 1.
func.func @layer_norm_bias_rank(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %b: tensor<f32>) {
  // expected-error @+1 {{'braid.layer_norm' op 'bias' must have rank 1, got 'tensor<f32>'}}
  %0 = braid.layer_norm %x weight %w bias %b {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<f32>) -> tensor<?x?x64xf32>
  return
}

// -----

// layer_norm: 'bias' dim 0 must match the last dim of 'input' (hidden).
func.func @layer_norm_bias_hidden(%x: tensor<?x?x64xf32>, %b: tensor<63xf32>) {
  // expected-error @+1 {{'braid.layer_norm' op 'bias' dim 0 (hidden) is 63 but 'input' dim 2 is 64}}
  %0 = braid.layer_norm %x bias %b {epsilon = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<63xf32>) -> tensor<?x?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.linear
//===----------------------------------------------------------------------===//

// -----

// linear: 'input' must have rank at least 1.
func.func @linear_input_rank(%x: tensor<f32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'braid.linear' op 'input' must have rank at least 1, got 'tensor<f32>'}}
  %0 = braid.linear %x, %w : (tensor<f32>, tensor<128x64xf32>) -> tensor<128xf32>
  return
}

// -----

// linear: 'weight' must have rank 2.
func.func @linear_weight_rank(%x: tensor<?x?x64xf32>, %w: tensor<2x128x64xf32>) {
  // expected-error @+1 {{'braid.linear' op 'weight' must have rank 2, got 'tensor<2x128x64xf32>'}}
  %0 = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<2x128x64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// linear: 'weight' dim 1 (in_features) must match the last dim of 'input'.
func.func @linear_in_features(%x: tensor<?x?x64xf32>, %w: tensor<128x32xf32>) {
  // expected-error @+1 {{'braid.linear' op 'weight' dim 1 (in_features) is 32 but 'input' dim 2 is 64}}
  %0 = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// linear: 'result' must have rank at least 1.
func.func @linear_result_min_rank(%x: tensor<64xf32>, %w: tensor<1x64xf32>) {
  // expected-error @+1 {{'braid.linear' op 'result' must have rank at least 1, got 'tensor<f32>'}}
  %0 = braid.linear %x, %w : (tensor<64xf32>, tensor<1x64xf32>) -> tensor<f32>
  return
}

// -----

// linear: 'result' must have the rank of 'input'.
func.func @linear_result_rank(%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'braid.linear' op 'result' must have the rank of 'input' (3)}}
  %0 = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  return
}

// -----

// linear: the leading dims of 'result' must match those of 'input'.
func.func @linear_leading(%x: tensor<2x?x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'braid.linear' op 'result' dim 0 (leading) is 4 but 'input' dim 0 is 2}}
  %0 = braid.linear %x, %w : (tensor<2x?x64xf32>, tensor<128x64xf32>) -> tensor<4x?x128xf32>
  return
}

// -----

// linear: the last dim of 'result' must be weight dim 0 (out_features).
func.func @linear_out_features(%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'braid.linear' op 'result' dim 2 (out_features) is 256 but 'weight' dim 0 is 128}}
  %0 = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x256xf32>
  return
}

// -----

// linear: the result has the element type of 'input'.
func.func @linear_element_type(%x: tensor<?x?x64xbf16>, %w: tensor<128x64xbf16>) {
  // expected-error @+1 {{'braid.linear' op 'result' has element type 'f32' but 'input' has 'bf16'}}
  %0 = braid.linear %x, %w : (tensor<?x?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x?x128xf32>
  return
}

// -----

// linear: 'bias' must have rank 1.
func.func @linear_bias_rank(%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<1x128xf32>) {
  // expected-error @+1 {{'braid.linear' op 'bias' must have rank 1, got 'tensor<1x128xf32>'}}
  %0 = braid.linear %x, %w bias %b : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<1x128xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// linear: 'bias' dim 0 must be weight dim 0 (out_features).
func.func @linear_bias_out_features(%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'braid.linear' op 'bias' dim 0 (out_features) is 64 but 'weight' dim 0 is 128}}
  %0 = braid.linear %x, %w bias %b : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// linear (ODS): operands must be ranked tensors.
func.func @linear_unranked(%x: tensor<*xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'braid.linear' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<*xf32>'}}
  %0 = "braid.linear"(%x, %w) : (tensor<*xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.rope
//===----------------------------------------------------------------------===//

// -----

// rope: 'input' must have rank 4.
func.func @rope_input_rank(%q: tensor<?x?x1024xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{'braid.rope' op 'input' must have rank 4, got 'tensor<?x?x1024xf32>'}}
  %0 = braid.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x1024xf32>, tensor<?x?xi64>) -> tensor<?x?x1024xf32>
  return
}

// -----

// rope: 'positions' must have rank 2.
func.func @rope_positions_rank(%q: tensor<?x?x16x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.rope' op 'positions' must have rank 2, got 'tensor<?xi64>'}}
  %0 = braid.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?xi64>) -> tensor<?x?x16x64xf32>
  return
}

// -----

// rope: 'positions' dim 0 (batch) must match 'input' dim 0.
func.func @rope_batch(%q: tensor<2x?x16x64xf32>, %pos: tensor<1x?xi64>) {
  // expected-error @+1 {{'braid.rope' op 'positions' dim 0 (batch) is 1 but 'input' dim 0 is 2}}
  %0 = braid.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e+04 : f64} : (tensor<2x?x16x64xf32>, tensor<1x?xi64>) -> tensor<2x?x16x64xf32>
  return
}

// -----

// rope: 'positions' dim 1 (seq) must match 'input' dim 1.
func.func @rope_seq(%q: tensor<?x5x16x64xf32>, %pos: tensor<?x6xi64>) {
  // expected-error @+1 {{'braid.rope' op 'positions' dim 1 (seq) is 6 but 'input' dim 1 is 5}}
  %0 = braid.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e+04 : f64} : (tensor<?x5x16x64xf32>, tensor<?x6xi64>) -> tensor<?x5x16x64xf32>
  return
}

// -----

// rope: the result has the type of 'input'.
func.func @rope_result_type(%q: tensor<?x?x16x64xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{'braid.rope' op 'result' has type 'tensor<?x?x16x64xf16>' but 'input' has type 'tensor<?x?x16x64xf32>'; they must be equal}}
  %0 = braid.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf16>
  return
}

// -----

// rope: 'rotary_dim' must be at least 2.
func.func @rope_rotary_dim_small(%q: tensor<?x?x16x64xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{'braid.rope' op attribute 'rotary_dim' is 0, must be at least 2}}
  %0 = braid.rope %q, %pos {rotary_dim = 0 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
  return
}

// -----

// rope: 'rotary_dim' must be even.
func.func @rope_rotary_dim_odd(%q: tensor<?x?x16x64xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{'braid.rope' op attribute 'rotary_dim' is 33, must be even (channels rotate in pairs)}}
  %0 = braid.rope %q, %pos {rotary_dim = 33 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
  return
}

// -----

// rope: 'theta' must be positive.
func.func @rope_theta(%q: tensor<?x?x16x64xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{'braid.rope' op attribute 'theta' is 0.000000e+00, must be positive}}
  %0 = braid.rope %q, %pos {rotary_dim = 64 : i64, theta = 0.0 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
  return
}

// -----

// rope: 'rotary_dim' may not exceed the head dim.
func.func @rope_rotary_dim_large(%q: tensor<?x?x16x64xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{'braid.rope' op attribute 'rotary_dim' is 128 but 'input' dim 3 (head_dim) is only 64}}
  %0 = braid.rope %q, %pos {rotary_dim = 128 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xi64>) -> tensor<?x?x16x64xf32>
  return
}

// -----

// rope (ODS): 'positions' must be an integer tensor.
func.func @rope_float_positions(%q: tensor<?x?x16x64xf32>, %pos: tensor<?x?xf32>) {
  // expected-error @+1 {{'braid.rope' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<?x?xf32>'}}
  %0 = braid.rope %q, %pos {rotary_dim = 64 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x16x64xf32>, tensor<?x?xf32>) -> tensor<?x?x16x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.add / braid.mul (shared broadcast verifier)
//===----------------------------------------------------------------------===//

// -----

// add: the result has the type of 'lhs'.
func.func @add_result_type(%a: tensor<?x?x64xf32>, %b: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.add' op 'result' has type 'tensor<?x?x64xf16>' but 'lhs' has type 'tensor<?x?x64xf32>'; they must be equal}}
  %0 = braid.add %a, %b : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf16>
  return
}

// -----

// add: 'rhs' has the element type of 'lhs'.
func.func @add_rhs_element_type(%a: tensor<?x?x64xf32>, %b: tensor<64xbf16>) {
  // expected-error @+1 {{'braid.add' op 'rhs' has element type 'bf16' but 'lhs' has 'f32'}}
  %0 = braid.add %a, %b : (tensor<?x?x64xf32>, tensor<64xbf16>) -> tensor<?x?x64xf32>
  return
}

// -----

// add: 'rhs' may not have a higher rank than 'lhs'.
func.func @add_rhs_rank(%a: tensor<?x64xf32>, %b: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.add' op 'rhs' has rank 3 but 'lhs' only 2; 'rhs' broadcasts over leading dims only}}
  %0 = braid.add %a, %b : (tensor<?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

// add: the dims of 'rhs' must match the trailing dims of 'lhs'.
func.func @add_broadcast_dim(%a: tensor<?x?x64xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{'braid.add' op 'rhs' dim 0 (broadcast) is 32 but 'lhs' dim 2 is 64}}
  %0 = braid.add %a, %b : (tensor<?x?x64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// mul: the result has the type of 'lhs' (no broadcast of the result).
func.func @mul_result_type(%a: tensor<?x?x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'braid.mul' op 'result' has type 'tensor<64xf32>' but 'lhs' has type 'tensor<?x?x64xf32>'; they must be equal}}
  %0 = braid.mul %a, %b : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<64xf32>
  return
}

// -----

// mul: 'rhs' has the element type of 'lhs'.
func.func @mul_rhs_element_type(%a: tensor<?x?x64xf32>, %b: tensor<?x?x64xf16>) {
  // expected-error @+1 {{'braid.mul' op 'rhs' has element type 'f16' but 'lhs' has 'f32'}}
  %0 = braid.mul %a, %b : (tensor<?x?x64xf32>, tensor<?x?x64xf16>) -> tensor<?x?x64xf32>
  return
}

// -----

// mul: 'rhs' may not have a higher rank than 'lhs'.
func.func @mul_rhs_rank(%a: tensor<64xf32>, %b: tensor<1x64xf32>) {
  // expected-error @+1 {{'braid.mul' op 'rhs' has rank 2 but 'lhs' only 1; 'rhs' broadcasts over leading dims only}}
  %0 = braid.mul %a, %b : (tensor<64xf32>, tensor<1x64xf32>) -> tensor<64xf32>
  return
}

// -----

// mul: the dims of 'rhs' must match the trailing dims of 'lhs' (no size-1 broadcast).
func.func @mul_broadcast_dim(%a: tensor<?x8x64xf32>, %b: tensor<1x64xf32>) {
  // expected-error @+1 {{'braid.mul' op 'rhs' dim 0 (broadcast) is 1 but 'lhs' dim 1 is 8}}
  %0 = braid.mul %a, %b : (tensor<?x8x64xf32>, tensor<1x64xf32>) -> tensor<?x8x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.activation / braid.scale (ODS only)
//===----------------------------------------------------------------------===//

// -----

// activation (ODS): the operand and result types must be equal.
func.func @activation_type(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.activation' op requires the same type for all operands and results}}
  %0 = "braid.activation"(%x) <{kind = 1 : i32}> : (tensor<?x?x64xf32>) -> tensor<?x?x64xf16>
  return
}

// -----

// activation (ODS): the kind must be a known activation.
func.func @activation_unknown_kind(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.activation' op attribute 'kind' failed to satisfy constraint: element-wise activation function}}
  %0 = "braid.activation"(%x) {kind = 42 : i32} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// activation (ODS): the custom form names one of the activation kinds.
func.func @activation_unknown_keyword(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'kind' [identity, silu, gelu, gelu_tanh, relu, relu2, sigmoid, softplus, tanh]}}
  %0 = braid.activation swish %x : tensor<?x?x64xf32>
  return
}

// -----

// activation (ODS): integer tensors are rejected.
func.func @activation_int(%x: tensor<?x?x64xi32>) {
  // expected-error @+1 {{'braid.activation' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<?x?x64xi32>'}}
  %0 = braid.activation relu %x : tensor<?x?x64xi32>
  return
}

// -----

// scale (ODS): the operand and result types must be equal.
func.func @scale_type(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.scale' op requires the same type for all operands and results}}
  %0 = "braid.scale"(%x) <{factor = 2.0 : f64}> : (tensor<?x?x64xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

// scale (ODS): 'factor' is required.
func.func @scale_no_factor(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.scale' op requires attribute 'factor'}}
  %0 = braid.scale %x : tensor<?x?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.concat
//===----------------------------------------------------------------------===//

// -----

// concat: at least one input is needed.
func.func @concat_no_inputs() {
  // expected-error @+1 {{'braid.concat' op needs at least one input}}
  %0 = braid.concat {axis = 0 : i64} : () -> tensor<4xf32>
  return
}

// -----

// concat: 'axis' must be a dimension of the result.
func.func @concat_axis(%a: tensor<?x?x64xf32>, %b: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.concat' op attribute 'axis' is 3, must be in [0, 3)}}
  %0 = braid.concat %a, %b {axis = 3 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// concat: a negative 'axis' is rejected.
func.func @concat_negative_axis(%a: tensor<?x?x64xf32>, %b: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.concat' op attribute 'axis' is -1, must be in [0, 3)}}
  %0 = braid.concat %a, %b {axis = -1 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// concat: every input has the rank of the result.
func.func @concat_input_rank(%a: tensor<?x?x64xf32>, %b: tensor<?x64xf32>) {
  // expected-error @+1 {{'braid.concat' op 'input #1' must have rank 3, got 'tensor<?x64xf32>'}}
  %0 = braid.concat %a, %b {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// concat: every input has the element type of the result.
func.func @concat_element_type(%a: tensor<?x?x64xf32>, %b: tensor<?x?x64xbf16>) {
  // expected-error @+1 {{'braid.concat' op 'input #1' has element type 'bf16' but 'result' has 'f32'}}
  %0 = braid.concat %a, %b {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xbf16>) -> tensor<?x?x128xf32>
  return
}

// -----

// concat: dims other than 'axis' must match the result.
func.func @concat_non_axis(%a: tensor<2x?x64xf32>, %b: tensor<3x?x64xf32>) {
  // expected-error @+1 {{'braid.concat' op 'input #1' dim 0 (non-axis) is 3 but 'result' dim 0 is 2}}
  %0 = braid.concat %a, %b {axis = 2 : i64} : (tensor<2x?x64xf32>, tensor<3x?x64xf32>) -> tensor<2x?x128xf32>
  return
}

// -----

// concat: the result's 'axis' dim is the sum of the inputs' sizes on it.
func.func @concat_axis_sum(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>) {
  // expected-error @+1 {{'braid.concat' op 'result' dim 2 (sum of input sizes on axis) is 128, expected 96}}
  %0 = braid.concat %a, %b {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// concat (ODS): 'axis' must be an i64 attribute.
func.func @concat_axis_i32(%a: tensor<?x?x64xf32>, %b: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.concat' op attribute 'axis' failed to satisfy constraint: 64-bit signless integer attribute}}
  %0 = braid.concat %a, %b {axis = 2 : i32} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.split
//===----------------------------------------------------------------------===//

// -----

// split: 'axis' must be a dimension of the input.
func.func @split_axis(%p: tensor<?x?x296xf32>) {
  // expected-error @+1 {{'braid.split' op attribute 'axis' is 3, must be in [0, 3)}}
  %0:2 = braid.split %p {axis = 3 : i64, sizes = array<i64: 128, 168>} : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x168xf32>)
  return
}

// -----

// split: 'sizes' has one entry per result.
func.func @split_sizes_count(%p: tensor<?x?x296xf32>) {
  // expected-error @+1 {{'braid.split' op attribute 'sizes' has 3 entries but the op has 2 results}}
  %0:2 = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 160, 8>} : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x168xf32>)
  return
}

// -----

// split: every entry of 'sizes' must be positive.
func.func @split_sizes_positive(%p: tensor<?x?x296xf32>) {
  // expected-error @+1 {{'braid.split' op attribute 'sizes' entry 1 is 0, must be positive}}
  %0:3 = braid.split %p {axis = 2 : i64, sizes = array<i64: 296, 0, 0>} : (tensor<?x?x296xf32>) -> (tensor<?x?x296xf32>, tensor<?x?x0xf32>, tensor<?x?x0xf32>)
  return
}

// -----

// split: 'sizes' must add up to the input's 'axis' dim.
func.func @split_sizes_sum(%p: tensor<?x?x296xf32>) {
  // expected-error @+1 {{'braid.split' op 'input' dim 2 (sum of 'sizes') is 296, expected 288}}
  %0:2 = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 160>} : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>)
  return
}

// -----

// split: every result has the rank of the input.
func.func @split_result_rank(%p: tensor<?x?x296xf32>) {
  // expected-error @+1 {{'braid.split' op 'result #1' must have rank 3, got 'tensor<?x168xf32>'}}
  %0:2 = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 168>} : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x168xf32>)
  return
}

// -----

// split: every result has the element type of the input.
func.func @split_element_type(%p: tensor<?x?x296xf32>) {
  // expected-error @+1 {{'braid.split' op 'result #0' has element type 'f16' but 'input' has 'f32'}}
  %0:2 = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 168>} : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf16>, tensor<?x?x168xf32>)
  return
}

// -----

// split: each result's 'axis' dim is its 'sizes' entry.
func.func @split_result_axis(%p: tensor<?x?x296xf32>) {
  // expected-error @+1 {{'braid.split' op 'result #1' dim 2 ('sizes' entry) is 160, expected 168}}
  %0:2 = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 168>} : (tensor<?x?x296xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>)
  return
}

// -----

// split: dims other than 'axis' must match the input.
func.func @split_non_axis(%p: tensor<2x?x296xf32>) {
  // expected-error @+1 {{'braid.split' op 'result #0' dim 0 (non-axis) is 4 but 'input' dim 0 is 2}}
  %0:2 = braid.split %p {axis = 2 : i64, sizes = array<i64: 128, 168>} : (tensor<2x?x296xf32>) -> (tensor<4x?x128xf32>, tensor<2x?x168xf32>)
  return
}

//===----------------------------------------------------------------------===//
// braid.reshape
//===----------------------------------------------------------------------===//

// -----

// reshape: the result has the element type of the input.
func.func @reshape_element_type(%q: tensor<?x?x256xf32>) {
  // expected-error @+1 {{'braid.reshape' op 'result' has element type 'bf16' but 'input' has 'f32'}}
  %0 = braid.reshape %q : (tensor<?x?x256xf32>) -> tensor<?x?x4x64xbf16>
  return
}

// -----

// reshape: the number of dynamic dims is kept.
func.func @reshape_dynamic_count(%q: tensor<?x?x256xf32>) {
  // expected-error @+1 {{'braid.reshape' op 'input' has 2 dynamic dims but 'result' 1; dynamic dims must be kept}}
  %0 = braid.reshape %q : (tensor<?x?x256xf32>) -> tensor<?x256xf32>
  return
}

// -----

// reshape: each dynamic dim stays at its position.
func.func @reshape_dynamic_position(%q: tensor<?x?x256xf32>) {
  // expected-error @+1 {{'braid.reshape' op 'input' dim 1 is dynamic, so 'result' dim 1 must be dynamic too}}
  %0 = braid.reshape %q : (tensor<?x?x256xf32>) -> tensor<?x256x?xf32>
  return
}

// -----

// reshape: the product of the static dims is kept.
func.func @reshape_static_product(%q: tensor<?x?x256xf32>) {
  // expected-error @+1 {{'braid.reshape' op 'input' has 256 elements per dynamic index but 'result' has 192}}
  %0 = braid.reshape %q : (tensor<?x?x256xf32>) -> tensor<?x?x3x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.attention
//===----------------------------------------------------------------------===//

// -----

// attention: 'num_heads' must be at least 1.
func.func @attention_num_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op attribute 'num_heads' is 0, must be at least 1}}
  %0 = braid.attention %q, %k, %v {num_heads = 0 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'num_kv_heads' must be at least 1.
func.func @attention_num_kv_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op attribute 'num_kv_heads' is 0, must be at least 1}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 0 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'num_heads' must be a multiple of 'num_kv_heads' (GQA groups).
func.func @attention_gqa_groups(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x3x64xf32>, %v: tensor<?x?x3x64xf32>) {
  // expected-error @+1 {{'braid.attention' op attribute 'num_heads' (8) must be a multiple of 'num_kv_heads' (3)}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 3 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x3x64xf32>, tensor<?x?x3x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'q' must have rank 4.
func.func @attention_q_rank(%q: tensor<?x?x512xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'q' must have rank 4, got 'tensor<?x?x512xf32>'}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x512xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'k' must have rank 4.
func.func @attention_k_rank(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x128xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'k' must have rank 4, got 'tensor<?x?x128xf32>'}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x128xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'v' must have rank 4.
func.func @attention_v_rank(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x128xf32>) {
  // expected-error @+1 {{'braid.attention' op 'v' must have rank 4, got 'tensor<?x?x128xf32>'}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'output' must have rank 4.
func.func @attention_output_rank(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'output' must have rank 4, got 'tensor<?x?x512xf32>'}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x512xf32>
  return
}

// -----

// attention: 'q' dim 2 is 'num_heads'.
func.func @attention_q_heads(%q: tensor<?x?x4x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'q' dim 2 (num_heads) is 4, expected 8}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x4x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'k' dim 2 is 'num_kv_heads'.
func.func @attention_k_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'k' dim 2 (num_kv_heads) is 4, expected 2}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'v' dim 2 is 'num_kv_heads'.
func.func @attention_v_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'v' dim 2 (num_kv_heads) is 8, expected 2}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'k' dim 3 (head_dim) must match 'q' dim 3.
func.func @attention_head_dim(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'k' dim 3 (head_dim) is 32 but 'q' dim 3 is 64}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'k' dim 0 (batch) must match 'q' dim 0.
func.func @attention_k_batch(%q: tensor<2x?x8x64xf32>, %k: tensor<1x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'k' dim 0 (batch) is 1 but 'q' dim 0 is 2}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<2x?x8x64xf32>, tensor<1x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<2x?x8x64xf32>
  return
}

// -----

// attention: 'v' dim 0 (batch) must match 'q' dim 0.
func.func @attention_v_batch(%q: tensor<2x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<3x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'v' dim 0 (batch) is 3 but 'q' dim 0 is 2}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<2x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<3x?x2x64xf32>) -> tensor<2x?x8x64xf32>
  return
}

// -----

// attention: 'v' dim 1 (kv_seq) must match 'k' dim 1.
func.func @attention_kv_seq(%q: tensor<?x?x8x64xf32>, %k: tensor<?x16x2x64xf32>, %v: tensor<?x17x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'v' dim 1 (kv_seq) is 17 but 'k' dim 1 is 16}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x16x2x64xf32>, tensor<?x17x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'output' dim 0 (batch) must match 'q' dim 0.
func.func @attention_output_batch(%q: tensor<2x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'output' dim 0 (batch) is 1 but 'q' dim 0 is 2}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<2x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<1x?x8x64xf32>
  return
}

// -----

// attention: 'output' dim 1 (seq) must match 'q' dim 1.
func.func @attention_output_seq(%q: tensor<?x1x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'output' dim 1 (seq) is 4 but 'q' dim 1 is 1}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x1x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x4x8x64xf32>
  return
}

// -----

// attention: 'output' dim 2 is 'num_heads'.
func.func @attention_output_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'output' dim 2 (num_heads) is 2, expected 8}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x2x64xf32>
  return
}

// -----

// attention: 'output' dim 3 (v_head_dim) must match 'v' dim 3.
func.func @attention_output_v_head_dim(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x32xf32>) {
  // expected-error @+1 {{'braid.attention' op 'output' dim 3 (v_head_dim) is 64 but 'v' dim 3 is 32}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x32xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'scale' must be positive.
func.func @attention_scale(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op attribute 'scale' is -1.250000e-01, must be positive}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = -0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'sliding_window' must be at least 1.
func.func @attention_sliding_window(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op attribute 'sliding_window' is 0, must be at least 1}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64, sliding_window = 0 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'softcap' must be positive.
func.func @attention_softcap(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op attribute 'softcap' is 0.000000e+00, must be positive}}
  %0 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64, softcap = 0.0 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// attention: 'k_cache', 'v_cache' and 'cache_position' come together (only reachable in generic form).
func.func @attention_cache_together(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>) {
  // expected-error @+1 {{'braid.attention' op 'k_cache', 'v_cache' and 'cache_position' must be given together}}
  %0:2 = "braid.attention"(%q, %k, %v, %kc) <{num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}> : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: with a cache the op returns both updated caches.
func.func @attention_cache_results(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op returns 1 updated caches, expected 2 (k_cache and v_cache)}}
  %0:2 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: without a cache the op returns no updated caches.
func.func @attention_no_cache_results(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{'braid.attention' op returns 2 updated caches, expected 0 without a cache}}
  %0:3 = braid.attention %q, %k, %v {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: 'k_cache' must have rank 4.
func.func @attention_k_cache_rank(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x4096x128xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'k_cache' must have rank 4, got 'tensor<?x4096x128xf32>'}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x4096x128xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x4096x128xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: 'k_cache' dim 0 (batch) must match 'q' dim 0.
func.func @attention_k_cache_batch(%q: tensor<2x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<4x2x4096x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'k_cache' dim 0 (batch) is 4 but 'q' dim 0 is 2}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<2x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<4x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<2x?x8x64xf32>, tensor<4x2x4096x64xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: 'k_cache' dim 1 is 'num_kv_heads' (caches are head-major).
func.func @attention_k_cache_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x4096x2x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'k_cache' dim 1 (num_kv_heads) is 4096, expected 2}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x4096x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x4096x2x64xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: 'k_cache' dim 3 (head_dim) must match 'k' dim 3.
func.func @attention_k_cache_head_dim(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x128xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'k_cache' dim 3 (head_dim) is 128 but 'k' dim 3 is 64}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x128xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x128xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: 'v_cache' must have rank 4.
func.func @attention_v_cache_rank(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x4096x128xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'v_cache' must have rank 4, got 'tensor<?x4096x128xf32>'}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x4096x128xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x4096x128xf32>)
  return
}

// -----

// attention: 'v_cache' dim 0 (batch) must match 'q' dim 0.
func.func @attention_v_cache_batch(%q: tensor<2x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<1x2x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'v_cache' dim 0 (batch) is 1 but 'q' dim 0 is 2}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<2x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<1x2x4096x64xf32>, tensor<?xi64>) -> (tensor<2x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<1x2x4096x64xf32>)
  return
}

// -----

// attention: 'v_cache' dim 1 is 'num_kv_heads'.
func.func @attention_v_cache_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x8x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'v_cache' dim 1 (num_kv_heads) is 8, expected 2}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x8x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x8x4096x64xf32>)
  return
}

// -----

// attention: 'v_cache' dim 2 (max_seq) must match 'k_cache' dim 2.
func.func @attention_v_cache_max_seq(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x2048x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'v_cache' dim 2 (max_seq) is 2048 but 'k_cache' dim 2 is 4096}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x2048x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x2048x64xf32>)
  return
}

// -----

// attention: 'v_cache' dim 3 (v_head_dim) must match 'v' dim 3.
func.func @attention_v_cache_head_dim(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x4096x32xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'v_cache' dim 3 (v_head_dim) is 32 but 'v' dim 3 is 64}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x32xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x32xf32>)
  return
}

// -----

// attention: 'cache_position' must have rank 1.
func.func @attention_cache_position_rank(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'cache_position' must have rank 1, got 'tensor<?x?xi64>'}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: 'cache_position' dim 0 (batch) must match 'q' dim 0.
func.func @attention_cache_position_batch(%q: tensor<2x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<3xi64>) {
  // expected-error @+1 {{'braid.attention' op 'cache_position' dim 0 (batch) is 3 but 'q' dim 0 is 2}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<2x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<3xi64>) -> (tensor<2x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: the updated k_cache has the type of 'k_cache'.
func.func @attention_updated_k_cache(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'updated k_cache' has type 'tensor<?x2x4096x64xbf16>' but 'k_cache' has type 'tensor<?x2x4096x64xf32>'; they must be equal}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xbf16>, tensor<?x2x4096x64xf32>)
  return
}

// -----

// attention: the updated v_cache has the type of 'v_cache'.
func.func @attention_updated_v_cache(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.attention' op 'updated v_cache' has type 'tensor<?x2x8192x64xf32>' but 'v_cache' has type 'tensor<?x2x4096x64xf32>'; they must be equal}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x8192x64xf32>)
  return
}

// -----

// attention (ODS): 'cache_position' must be an integer tensor.
func.func @attention_float_cache_position(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %kc: tensor<?x2x4096x64xf32>, %vc: tensor<?x2x4096x64xf32>, %pos: tensor<?xf32>) {
  // expected-error @+1 {{'braid.attention' op operand #5 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<?xf32>'}}
  %0:3 = braid.attention %q, %k, %v cache(%kc, %vc, %pos) {num_heads = 8 : i64, num_kv_heads = 2 : i64, scale = 0.125 : f64} : (tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>, tensor<?xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x2x4096x64xf32>, tensor<?x2x4096x64xf32>)
  return
}

//===----------------------------------------------------------------------===//
// braid.mla
//===----------------------------------------------------------------------===//

// -----

// mla: 'num_heads' must be at least 1.
func.func @mla_num_heads(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op attribute 'num_heads' is 0, must be at least 1}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 0 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'kv_lora_rank' must be at least 1.
func.func @mla_kv_lora_rank(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op attribute 'kv_lora_rank' is 0, must be at least 1}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 0 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'qk_nope_head_dim' must not be negative.
func.func @mla_nope_dim(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op attribute 'qk_nope_head_dim' is -1, must be at least 0}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = -1 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'qk_rope_head_dim' must not be negative.
func.func @mla_rope_dim(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op attribute 'qk_rope_head_dim' is -16, must be at least 0}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = -16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'v_head_dim' must be at least 1.
func.func @mla_v_head_dim(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op attribute 'v_head_dim' is 0, must be at least 1}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 0 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: the query/key head dim 'qk_nope_head_dim' + 'qk_rope_head_dim' must be positive.
func.func @mla_qk_dim_zero(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'qk_nope_head_dim' + 'qk_rope_head_dim' must be positive}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 0 : i64, qk_rope_head_dim = 0 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'scale' must be positive.
func.func @mla_scale(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op attribute 'scale' is 0.000000e+00, must be positive}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 0.0 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'q' must have rank 4.
func.func @mla_q_rank(%q: tensor<?x?x384xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'q' must have rank 4, got 'tensor<?x?x384xf32>'}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x384xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'q' dim 2 is 'num_heads'.
func.func @mla_q_heads(%q: tensor<?x?x16x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'q' dim 2 (num_heads) is 16, expected 8}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x16x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'q' dim 3 is 'qk_nope_head_dim' + 'qk_rope_head_dim'.
func.func @mla_q_head_dim(%q: tensor<?x?x8x32xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'q' dim 3 (qk_nope_head_dim + qk_rope_head_dim) is 32, expected 48}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x32xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'kv_latent' must have rank 3.
func.func @mla_kv_latent_rank(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x1x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'kv_latent' must have rank 3, got 'tensor<?x?x1x64xf32>'}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x1x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'kv_latent' dim 0 (batch) must match 'q' dim 0.
func.func @mla_kv_latent_batch(%q: tensor<2x?x8x48xf32>, %c: tensor<4x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'kv_latent' dim 0 (batch) is 4 but 'q' dim 0 is 2}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<2x?x8x48xf32>, tensor<4x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<2x?x8x32xf32>
  return
}

// -----

// mla: 'kv_latent' dim 2 is 'kv_lora_rank'.
func.func @mla_kv_latent_lora_rank(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x80xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'kv_latent' dim 2 (kv_lora_rank) is 80, expected 64}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x80xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'k_rope' must have rank 3.
func.func @mla_k_rope_rank(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x1x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'k_rope' must have rank 3, got 'tensor<?x?x1x16xf32>'}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x1x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'k_rope' dim 0 (batch) must match 'q' dim 0.
func.func @mla_k_rope_batch(%q: tensor<2x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<1x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'k_rope' dim 0 (batch) is 1 but 'q' dim 0 is 2}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<2x?x8x48xf32>, tensor<?x?x64xf32>, tensor<1x?x16xf32>, tensor<512x64xf32>) -> tensor<2x?x8x32xf32>
  return
}

// -----

// mla: 'k_rope' dim 1 (kv_seq) must match 'kv_latent' dim 1.
func.func @mla_k_rope_kv_seq(%q: tensor<?x?x8x48xf32>, %c: tensor<?x10x64xf32>, %kr: tensor<?x11x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'k_rope' dim 1 (kv_seq) is 11 but 'kv_latent' dim 1 is 10}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x10x64xf32>, tensor<?x11x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'k_rope' dim 2 is 'qk_rope_head_dim'.
func.func @mla_k_rope_dim(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x32xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'k_rope' dim 2 (qk_rope_head_dim) is 32, expected 16}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<512x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'kv_up' must have rank 2.
func.func @mla_kv_up_rank(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<8x64x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'kv_up' must have rank 2, got 'tensor<8x64x64xf32>'}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<8x64x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'kv_up' dim 0 is 'num_heads' * ('qk_nope_head_dim' + 'v_head_dim').
func.func @mla_kv_up_rows(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<256x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'kv_up' dim 0 (num_heads * (qk_nope_head_dim + v_head_dim)) is 256, expected 512}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<256x64xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'kv_up' dim 1 is 'kv_lora_rank'.
func.func @mla_kv_up_cols(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x32xf32>) {
  // expected-error @+1 {{'braid.mla' op 'kv_up' dim 1 (kv_lora_rank) is 32, expected 64}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x32xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: 'output' must have rank 4.
func.func @mla_output_rank(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'output' must have rank 4, got 'tensor<?x?x256xf32>'}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x256xf32>
  return
}

// -----

// mla: 'output' dim 0 (batch) must match 'q' dim 0.
func.func @mla_output_batch(%q: tensor<2x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'output' dim 0 (batch) is 1 but 'q' dim 0 is 2}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<2x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<1x?x8x32xf32>
  return
}

// -----

// mla: 'output' dim 1 (seq) must match 'q' dim 1.
func.func @mla_output_seq(%q: tensor<?x1x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'output' dim 1 (seq) is 2 but 'q' dim 1 is 1}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x1x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x2x8x32xf32>
  return
}

// -----

// mla: 'output' dim 2 is 'num_heads'.
func.func @mla_output_heads(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'output' dim 2 (num_heads) is 4, expected 8}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x4x32xf32>
  return
}

// -----

// mla: 'output' dim 3 is 'v_head_dim'.
func.func @mla_output_v_head_dim(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op 'output' dim 3 (v_head_dim) is 48, expected 32}}
  %0 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> tensor<?x?x8x48xf32>
  return
}

// -----

// mla: 'latent_cache' and 'cache_position' come together (only reachable in generic form).
func.func @mla_cache_together(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x4096x80xf32>) {
  // expected-error @+1 {{'braid.mla' op 'latent_cache' and 'cache_position' must be given together}}
  %0:2 = "braid.mla"(%q, %c, %kr, %wkv, %lc) <{kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0>}> : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x80xf32>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>)
  return
}

// -----

// mla: with 'latent_cache' the op returns the updated cache.
func.func @mla_cache_no_updated(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x4096x80xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.mla' op returns no updated cache although 'latent_cache' is given}}
  %0 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x80xf32>, tensor<?xi64>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// mla: without 'latent_cache' the op returns no updated cache.
func.func @mla_updated_no_cache(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.mla' op returns an updated cache without a 'latent_cache'}}
  %0:2 = braid.mla %q, %c, %kr, %wkv {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>)
  return
}

// -----

// mla: 'latent_cache' must have rank 3.
func.func @mla_latent_cache_rank(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x1x4096x80xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.mla' op 'latent_cache' must have rank 3, got 'tensor<?x1x4096x80xf32>'}}
  %0:2 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x1x4096x80xf32>, tensor<?xi64>) -> (tensor<?x?x8x32xf32>, tensor<?x1x4096x80xf32>)
  return
}

// -----

// mla: 'latent_cache' dim 0 (batch) must match 'q' dim 0.
func.func @mla_latent_cache_batch(%q: tensor<2x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<3x4096x80xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.mla' op 'latent_cache' dim 0 (batch) is 3 but 'q' dim 0 is 2}}
  %0:2 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<2x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<3x4096x80xf32>, tensor<?xi64>) -> (tensor<2x?x8x32xf32>, tensor<3x4096x80xf32>)
  return
}

// -----

// mla: 'latent_cache' dim 2 is 'kv_lora_rank' + 'qk_rope_head_dim'.
func.func @mla_latent_cache_width(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x4096x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.mla' op 'latent_cache' dim 2 (kv_lora_rank + qk_rope_head_dim) is 64, expected 80}}
  %0:2 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x64xf32>, tensor<?xi64>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x64xf32>)
  return
}

// -----

// mla: 'cache_position' must have rank 1.
func.func @mla_cache_position_rank(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x4096x80xf32>, %pos: tensor<?x1xi64>) {
  // expected-error @+1 {{'braid.mla' op 'cache_position' must have rank 1, got 'tensor<?x1xi64>'}}
  %0:2 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x80xf32>, tensor<?x1xi64>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>)
  return
}

// -----

// mla: 'cache_position' dim 0 (batch) must match 'q' dim 0.
func.func @mla_cache_position_batch(%q: tensor<2x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x4096x80xf32>, %pos: tensor<1xi64>) {
  // expected-error @+1 {{'braid.mla' op 'cache_position' dim 0 (batch) is 1 but 'q' dim 0 is 2}}
  %0:2 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<2x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x80xf32>, tensor<1xi64>) -> (tensor<2x?x8x32xf32>, tensor<?x4096x80xf32>)
  return
}

// -----

// mla: the updated cache has the type of 'latent_cache'.
func.func @mla_updated_cache_type(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x4096x80xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{'braid.mla' op 'updated cache' has type 'tensor<?x4096x80xbf16>' but 'latent_cache' has type 'tensor<?x4096x80xf32>'; they must be equal}}
  %0:2 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x80xf32>, tensor<?xi64>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xbf16>)
  return
}

// -----

// mla (ODS): 'cache_position' must be an integer tensor.
func.func @mla_float_cache_position(%q: tensor<?x?x8x48xf32>, %c: tensor<?x?x64xf32>, %kr: tensor<?x?x16xf32>, %wkv: tensor<512x64xf32>, %lc: tensor<?x4096x80xf32>, %pos: tensor<?xf32>) {
  // expected-error @+1 {{'braid.mla' op operand #5 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<?xf32>'}}
  %0:2 = braid.mla %q, %c, %kr, %wkv cache(%lc, %pos) {kv_lora_rank = 64 : i64, num_heads = 8 : i64, qk_nope_head_dim = 32 : i64, qk_rope_head_dim = 16 : i64, scale = 1.440000e-01 : f64, v_head_dim = 32 : i64} : (tensor<?x?x8x48xf32>, tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<512x64xf32>, tensor<?x4096x80xf32>, tensor<?xf32>) -> (tensor<?x?x8x32xf32>, tensor<?x4096x80xf32>)
  return
}

//===----------------------------------------------------------------------===//
// braid.causal_conv1d
//===----------------------------------------------------------------------===//

// -----

// causal_conv1d: 'kernel_size' must be at least 1.
func.func @causal_conv1d_kernel_size(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op attribute 'kernel_size' is 0, must be at least 1}}
  %0 = braid.causal_conv1d silu %x, %w {kernel_size = 0 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>) -> tensor<?x?x160xf32>
  return
}

// -----

// causal_conv1d: the activation is identity or silu.
func.func @causal_conv1d_activation(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op activation 'gelu' is not supported; use identity or silu}}
  %0 = braid.causal_conv1d gelu %x, %w {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>) -> tensor<?x?x160xf32>
  return
}

// -----

// causal_conv1d: 'input' must have rank 3.
func.func @causal_conv1d_input_rank(%x: tensor<?x160xf32>, %w: tensor<160x4xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'input' must have rank 3, got 'tensor<?x160xf32>'}}
  %0 = braid.causal_conv1d silu %x, %w {kernel_size = 4 : i64} : (tensor<?x160xf32>, tensor<160x4xf32>) -> tensor<?x160xf32>
  return
}

// -----

// causal_conv1d: 'weight' must have rank 2.
func.func @causal_conv1d_weight_rank(%x: tensor<?x?x160xf32>, %w: tensor<160x1x4xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'weight' must have rank 2, got 'tensor<160x1x4xf32>'}}
  %0 = braid.causal_conv1d silu %x, %w {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x1x4xf32>) -> tensor<?x?x160xf32>
  return
}

// -----

// causal_conv1d: 'weight' dim 0 (channels) must match 'input' dim 2.
func.func @causal_conv1d_weight_channels(%x: tensor<?x?x160xf32>, %w: tensor<128x4xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'weight' dim 0 (channels) is 128 but 'input' dim 2 is 160}}
  %0 = braid.causal_conv1d silu %x, %w {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<128x4xf32>) -> tensor<?x?x160xf32>
  return
}

// -----

// causal_conv1d: 'weight' dim 1 is 'kernel_size'.
func.func @causal_conv1d_weight_kernel(%x: tensor<?x?x160xf32>, %w: tensor<160x3xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'weight' dim 1 (kernel_size) is 3, expected 4}}
  %0 = braid.causal_conv1d silu %x, %w {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x3xf32>) -> tensor<?x?x160xf32>
  return
}

// -----

// causal_conv1d: 'output' has the type of 'input'.
func.func @causal_conv1d_output_type(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'output' has type 'tensor<?x?x160xbf16>' but 'input' has type 'tensor<?x?x160xf32>'; they must be equal}}
  %0 = braid.causal_conv1d silu %x, %w {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>) -> tensor<?x?x160xbf16>
  return
}

// -----

// causal_conv1d: 'bias' must have rank 1.
func.func @causal_conv1d_bias_rank(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>, %b: tensor<160x1xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'bias' must have rank 1, got 'tensor<160x1xf32>'}}
  %0 = braid.causal_conv1d silu %x, %w bias %b {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<160x1xf32>) -> tensor<?x?x160xf32>
  return
}

// -----

// causal_conv1d: 'bias' dim 0 (channels) must match 'input' dim 2.
func.func @causal_conv1d_bias_channels(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>, %b: tensor<128xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'bias' dim 0 (channels) is 128 but 'input' dim 2 is 160}}
  %0 = braid.causal_conv1d silu %x, %w bias %b {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<128xf32>) -> tensor<?x?x160xf32>
  return
}

// -----

// causal_conv1d: with 'conv_state' the op returns the updated state.
func.func @causal_conv1d_state_no_update(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>, %st: tensor<?x160x3xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op returns no updated state although 'conv_state' is given}}
  %0 = braid.causal_conv1d silu %x, %w state %st {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<?x160x3xf32>) -> tensor<?x?x160xf32>
  return
}

// -----

// causal_conv1d: without 'conv_state' the op returns no updated state.
func.func @causal_conv1d_update_no_state(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op returns an updated state without a 'conv_state'}}
  %0:2 = braid.causal_conv1d silu %x, %w {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>) -> (tensor<?x?x160xf32>, tensor<?x160x3xf32>)
  return
}

// -----

// causal_conv1d: 'conv_state' must have rank 3.
func.func @causal_conv1d_state_rank(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>, %st: tensor<?x480xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'conv_state' must have rank 3, got 'tensor<?x480xf32>'}}
  %0:2 = braid.causal_conv1d silu %x, %w state %st {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<?x480xf32>) -> (tensor<?x?x160xf32>, tensor<?x480xf32>)
  return
}

// -----

// causal_conv1d: 'conv_state' dim 0 (batch) must match 'input' dim 0.
func.func @causal_conv1d_state_batch(%x: tensor<2x?x160xf32>, %w: tensor<160x4xf32>, %st: tensor<1x160x3xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'conv_state' dim 0 (batch) is 1 but 'input' dim 0 is 2}}
  %0:2 = braid.causal_conv1d silu %x, %w state %st {kernel_size = 4 : i64} : (tensor<2x?x160xf32>, tensor<160x4xf32>, tensor<1x160x3xf32>) -> (tensor<2x?x160xf32>, tensor<1x160x3xf32>)
  return
}

// -----

// causal_conv1d: 'conv_state' dim 1 (channels) must match 'input' dim 2.
func.func @causal_conv1d_state_channels(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>, %st: tensor<?x3x160xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'conv_state' dim 1 (channels) is 3 but 'input' dim 2 is 160}}
  %0:2 = braid.causal_conv1d silu %x, %w state %st {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<?x3x160xf32>) -> (tensor<?x?x160xf32>, tensor<?x3x160xf32>)
  return
}

// -----

// causal_conv1d: 'conv_state' dim 2 is 'kernel_size' - 1.
func.func @causal_conv1d_state_width(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>, %st: tensor<?x160x4xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'conv_state' dim 2 (kernel_size - 1) is 4, expected 3}}
  %0:2 = braid.causal_conv1d silu %x, %w state %st {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<?x160x4xf32>) -> (tensor<?x?x160xf32>, tensor<?x160x4xf32>)
  return
}

// -----

// causal_conv1d: the updated state has the type of 'conv_state'.
func.func @causal_conv1d_updated_state_type(%x: tensor<?x?x160xf32>, %w: tensor<160x4xf32>, %st: tensor<?x160x3xf32>) {
  // expected-error @+1 {{'braid.causal_conv1d' op 'updated state' has type 'tensor<?x160x3xbf16>' but 'conv_state' has type 'tensor<?x160x3xf32>'; they must be equal}}
  %0:2 = braid.causal_conv1d silu %x, %w state %st {kernel_size = 4 : i64} : (tensor<?x?x160xf32>, tensor<160x4xf32>, tensor<?x160x3xf32>) -> (tensor<?x?x160xf32>, tensor<?x160x3xbf16>)
  return
}

//===----------------------------------------------------------------------===//
// braid.selective_scan
//===----------------------------------------------------------------------===//

// -----

// selective_scan: 'dt_rank' must be at least 1.
func.func @selective_scan_dt_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op attribute 'dt_rank' is 0, must be at least 1}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 0 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'state_size' must be at least 1.
func.func @selective_scan_state_size(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op attribute 'state_size' is 0, must be at least 1}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 0 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'norm_epsilon' must be positive.
func.func @selective_scan_norm_epsilon(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op attribute 'norm_epsilon' is 0.000000e+00, must be positive}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, norm_epsilon = 0.0 : f64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'input' must have rank 3.
func.func @selective_scan_input_rank(%x: tensor<?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'input' must have rank 3, got 'tensor<?x128xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x128xf32>
  return
}

// -----

// selective_scan: 'output' has the type of 'input'.
func.func @selective_scan_output_type(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'output' has type 'tensor<?x?x128xbf16>' but 'input' has type 'tensor<?x?x128xf32>'; they must be equal}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xbf16>
  return
}

// -----

// selective_scan: 'x_proj' must have rank 2.
func.func @selective_scan_x_proj_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'x_proj' must have rank 2, got 'tensor<40xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'x_proj' dim 0 is 'dt_rank' + 2 * 'state_size'.
func.func @selective_scan_x_proj_rows(%x: tensor<?x?x128xf32>, %xp: tensor<24x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'x_proj' dim 0 (dt_rank + 2 * state_size) is 24, expected 40}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<24x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'x_proj' dim 1 (d_inner) must match 'input' dim 2.
func.func @selective_scan_x_proj_cols(%x: tensor<?x?x128xf32>, %xp: tensor<40x64xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'x_proj' dim 1 (d_inner) is 64 but 'input' dim 2 is 128}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x64xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'dt_proj' must have rank 2.
func.func @selective_scan_dt_proj_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<1024xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'dt_proj' must have rank 2, got 'tensor<1024xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<1024xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'dt_proj' dim 0 (d_inner) must match 'input' dim 2.
func.func @selective_scan_dt_proj_rows(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<8x128xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'dt_proj' dim 0 (d_inner) is 8 but 'input' dim 2 is 128}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<8x128xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'dt_proj' dim 1 is 'dt_rank'.
func.func @selective_scan_dt_proj_cols(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x4xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'dt_proj' dim 1 (dt_rank) is 4, expected 8}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x4xf32>, tensor<128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'dt_bias' must have rank 1.
func.func @selective_scan_dt_bias_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<1x128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'dt_bias' must have rank 1, got 'tensor<1x128xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<1x128xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'dt_bias' dim 0 (d_inner) must match 'input' dim 2.
func.func @selective_scan_dt_bias_size(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<64xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'dt_bias' dim 0 (d_inner) is 64 but 'input' dim 2 is 128}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<64xf32>, tensor<128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'A' must have rank 2.
func.func @selective_scan_a_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<2048xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'A' must have rank 2, got 'tensor<2048xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<2048xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'A' dim 0 (d_inner) must match 'input' dim 2.
func.func @selective_scan_a_rows(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<16x128xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'A' dim 0 (d_inner) is 16 but 'input' dim 2 is 128}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<16x128xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'A' dim 1 is 'state_size'.
func.func @selective_scan_a_cols(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x8xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'A' dim 1 (state_size) is 8, expected 16}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x8xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'gate' has the type of 'input'.
func.func @selective_scan_gate_type(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %z: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'gate' has type 'tensor<?x?x64xf32>' but 'input' has type 'tensor<?x?x128xf32>'; they must be equal}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a gate %z {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'D' must have rank 1.
func.func @selective_scan_d_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %d: tensor<128x1xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'D' must have rank 1, got 'tensor<128x1xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a skip %d {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<128x1xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'D' dim 0 (d_inner) must match 'input' dim 2.
func.func @selective_scan_d_size(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %d: tensor<64xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'D' dim 0 (d_inner) is 64 but 'input' dim 2 is 128}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a skip %d {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'dt_norm', 'b_norm' and 'c_norm' come together (only reachable in generic form).
func.func @selective_scan_norms_together(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %dtn: tensor<8xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'dt_norm', 'b_norm' and 'c_norm' must be given together}}
  %0 = "braid.selective_scan"(%x, %xp, %dtp, %dtb, %a, %dtn) <{dt_rank = 8 : i64, state_size = 16 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0>}> : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<8xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'dt_norm' must have rank 1.
func.func @selective_scan_dt_norm_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %dtn: tensor<1x8xf32>, %bn: tensor<16xf32>, %cn: tensor<16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'dt_norm' must have rank 1, got 'tensor<1x8xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a norms(%dtn, %bn, %cn) {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<1x8xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'dt_norm' dim 0 is 'dt_rank'.
func.func @selective_scan_dt_norm_size(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %dtn: tensor<16xf32>, %bn: tensor<16xf32>, %cn: tensor<16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'dt_norm' dim 0 (dt_rank) is 16, expected 8}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a norms(%dtn, %bn, %cn) {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'b_norm' must have rank 1.
func.func @selective_scan_b_norm_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %dtn: tensor<8xf32>, %bn: tensor<1x16xf32>, %cn: tensor<16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'b_norm' must have rank 1, got 'tensor<1x16xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a norms(%dtn, %bn, %cn) {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<8xf32>, tensor<1x16xf32>, tensor<16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'b_norm' dim 0 is 'state_size'.
func.func @selective_scan_b_norm_size(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %dtn: tensor<8xf32>, %bn: tensor<8xf32>, %cn: tensor<16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'b_norm' dim 0 (state_size) is 8, expected 16}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a norms(%dtn, %bn, %cn) {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'c_norm' must have rank 1.
func.func @selective_scan_c_norm_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %dtn: tensor<8xf32>, %bn: tensor<16xf32>, %cn: tensor<16x1xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'c_norm' must have rank 1, got 'tensor<16x1xf32>'}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a norms(%dtn, %bn, %cn) {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<8xf32>, tensor<16xf32>, tensor<16x1xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: 'c_norm' dim 0 is 'state_size'.
func.func @selective_scan_c_norm_size(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %dtn: tensor<8xf32>, %bn: tensor<16xf32>, %cn: tensor<32xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'c_norm' dim 0 (state_size) is 32, expected 16}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a norms(%dtn, %bn, %cn) {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<8xf32>, tensor<16xf32>, tensor<32xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: with 'state' the op returns the final state.
func.func @selective_scan_state_no_final(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %h: tensor<?x128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op returns no final state although 'state' is given}}
  %0 = braid.selective_scan %x, %xp, %dtp, %dtb, %a state %h {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<?x128x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// selective_scan: without 'state' the op returns no final state.
func.func @selective_scan_final_no_state(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op returns a final state without an input 'state'}}
  %0:2 = braid.selective_scan %x, %xp, %dtp, %dtb, %a {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
  return
}

// -----

// selective_scan: 'state' must have rank 3.
func.func @selective_scan_state_rank(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %h: tensor<?x2048xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'state' must have rank 3, got 'tensor<?x2048xf32>'}}
  %0:2 = braid.selective_scan %x, %xp, %dtp, %dtb, %a state %h {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<?x2048xf32>) -> (tensor<?x?x128xf32>, tensor<?x2048xf32>)
  return
}

// -----

// selective_scan: 'state' dim 0 (batch) must match 'input' dim 0.
func.func @selective_scan_state_batch(%x: tensor<1x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %h: tensor<4x128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'state' dim 0 (batch) is 4 but 'input' dim 0 is 1}}
  %0:2 = braid.selective_scan %x, %xp, %dtp, %dtb, %a state %h {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<1x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<4x128x16xf32>) -> (tensor<1x?x128xf32>, tensor<4x128x16xf32>)
  return
}

// -----

// selective_scan: 'state' dim 1 (d_inner) must match 'input' dim 2.
func.func @selective_scan_state_d_inner(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %h: tensor<?x16x128xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'state' dim 1 (d_inner) is 16 but 'input' dim 2 is 128}}
  %0:2 = braid.selective_scan %x, %xp, %dtp, %dtb, %a state %h {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<?x16x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x16x128xf32>)
  return
}

// -----

// selective_scan: 'state' dim 2 is 'state_size'.
func.func @selective_scan_state_size_dim(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %h: tensor<?x128x8xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'state' dim 2 (state_size) is 8, expected 16}}
  %0:2 = braid.selective_scan %x, %xp, %dtp, %dtb, %a state %h {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<?x128x8xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x8xf32>)
  return
}

// -----

// selective_scan: the final state has the type of 'state'.
func.func @selective_scan_final_state_type(%x: tensor<?x?x128xf32>, %xp: tensor<40x128xf32>, %dtp: tensor<128x8xf32>, %dtb: tensor<128xf32>, %a: tensor<128x16xf32>, %h: tensor<?x128x16xf32>) {
  // expected-error @+1 {{'braid.selective_scan' op 'final state' has type 'tensor<?x128x16xbf16>' but 'state' has type 'tensor<?x128x16xf32>'; they must be equal}}
  %0:2 = braid.selective_scan %x, %xp, %dtp, %dtb, %a state %h {dt_rank = 8 : i64, state_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<40x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128x16xf32>, tensor<?x128x16xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xbf16>)
  return
}

//===----------------------------------------------------------------------===//
// braid.ssd_scan
//===----------------------------------------------------------------------===//

// -----

// ssd_scan: 'num_heads' must be at least 1.
func.func @ssd_scan_num_heads(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op attribute 'num_heads' is 0, must be at least 1}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 0 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'head_dim' must be at least 1.
func.func @ssd_scan_head_dim(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op attribute 'head_dim' is 0, must be at least 1}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 0 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'num_groups' must be at least 1.
func.func @ssd_scan_num_groups(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op attribute 'num_groups' is 0, must be at least 1}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 0 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'state_size' must be at least 1.
func.func @ssd_scan_state_size(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op attribute 'state_size' is -1, must be at least 1}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = -1 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'chunk_size' must be at least 1.
func.func @ssd_scan_chunk_size(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op attribute 'chunk_size' is 0, must be at least 1}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 0 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'num_heads' must be a multiple of 'num_groups'.
func.func @ssd_scan_groups_divide_heads(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x3x128xf32>, %c: tensor<?x?x3x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op attribute 'num_heads' (8) must be a multiple of 'num_groups' (3)}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 3 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x3x128xf32>, tensor<?x?x3x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: the dt limits satisfy 0 <= dt_min (negative dt_min).
func.func @ssd_scan_dt_min_negative(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op dt limits must satisfy 0 <= dt_min <= dt_max, got [-1.000000, inf]}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, dt_min = -1.0 : f64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: the dt limits satisfy dt_min <= dt_max.
func.func @ssd_scan_dt_min_above_max(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op dt limits must satisfy 0 <= dt_min <= dt_max, got [0.100000, 0.001000]}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, dt_max = 0.001 : f64, dt_min = 0.1 : f64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'input' must have rank 4.
func.func @ssd_scan_input_rank(%x: tensor<?x?x512xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'input' must have rank 4, got 'tensor<?x?x512xf32>'}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x512xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x512xf32>
  return
}

// -----

// ssd_scan: 'input' dim 2 is 'num_heads'.
func.func @ssd_scan_input_heads(%x: tensor<?x?x16x32xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'input' dim 2 (num_heads) is 16, expected 8}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x16x32xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x16x32xf32>
  return
}

// -----

// ssd_scan: 'input' dim 3 is 'head_dim'.
func.func @ssd_scan_input_head_dim(%x: tensor<?x?x8x32xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'input' dim 3 (head_dim) is 32, expected 64}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x32xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x32xf32>
  return
}

// -----

// ssd_scan: 'output' has the type of 'input'.
func.func @ssd_scan_output_type(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'output' has type 'tensor<?x?x8x64xbf16>' but 'input' has type 'tensor<?x?x8x64xf32>'; they must be equal}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xbf16>
  return
}

// -----

// ssd_scan: 'dt' must have rank 3.
func.func @ssd_scan_dt_rank(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8x1xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'dt' must have rank 3, got 'tensor<?x?x8x1xf32>'}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8x1xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'dt' dim 0 (batch) must match 'input' dim 0.
func.func @ssd_scan_dt_batch(%x: tensor<1x?x8x64xf32>, %dt: tensor<2x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'dt' dim 0 (batch) is 2 but 'input' dim 0 is 1}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<1x?x8x64xf32>, tensor<2x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<1x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'dt' dim 1 (seq) must match 'input' dim 1.
func.func @ssd_scan_dt_seq(%x: tensor<?x32x8x64xf32>, %dt: tensor<?x16x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'dt' dim 1 (seq) is 16 but 'input' dim 1 is 32}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x32x8x64xf32>, tensor<?x16x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x32x8x64xf32>
  return
}

// -----

// ssd_scan: 'dt' dim 2 is 'num_heads'.
func.func @ssd_scan_dt_heads(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x1xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'dt' dim 2 (num_heads) is 1, expected 8}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x1xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'A' must have rank 1.
func.func @ssd_scan_a_rank(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8x1xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'A' must have rank 1, got 'tensor<8x1xf32>'}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8x1xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'A' dim 0 is 'num_heads'.
func.func @ssd_scan_a_heads(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<4xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'A' dim 0 (num_heads) is 4, expected 8}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<4xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'B' must have rank 4.
func.func @ssd_scan_b_rank(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x256xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'B' must have rank 4, got 'tensor<?x?x256xf32>'}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x256xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'B' dim 0 (batch) must match 'input' dim 0.
func.func @ssd_scan_b_batch(%x: tensor<1x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<3x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'B' dim 0 (batch) is 3 but 'input' dim 0 is 1}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<1x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<3x?x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<1x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'B' dim 1 (seq) must match 'input' dim 1.
func.func @ssd_scan_b_seq(%x: tensor<?x5x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x7x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'B' dim 1 (seq) is 7 but 'input' dim 1 is 5}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x5x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x7x2x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x5x8x64xf32>
  return
}

// -----

// ssd_scan: 'B' dim 2 is 'num_groups'.
func.func @ssd_scan_b_groups(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x1x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'B' dim 2 (num_groups) is 1, expected 2}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x1x128xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'B' dim 3 is 'state_size'.
func.func @ssd_scan_b_state(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x64xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'B' dim 3 (state_size) is 64, expected 128}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'C' must have rank 4.
func.func @ssd_scan_c_rank(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x256xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'C' must have rank 4, got 'tensor<?x?x256xf32>'}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x256xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'C' dim 0 (batch) must match 'input' dim 0.
func.func @ssd_scan_c_batch(%x: tensor<1x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<3x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'C' dim 0 (batch) is 3 but 'input' dim 0 is 1}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<1x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<3x?x2x128xf32>) -> tensor<1x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'C' dim 1 (seq) must match 'input' dim 1.
func.func @ssd_scan_c_seq(%x: tensor<?x5x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x7x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'C' dim 1 (seq) is 7 but 'input' dim 1 is 5}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x5x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x7x2x128xf32>) -> tensor<?x5x8x64xf32>
  return
}

// -----

// ssd_scan: 'C' dim 2 is 'num_groups'.
func.func @ssd_scan_c_groups(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x8x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'C' dim 2 (num_groups) is 8, expected 2}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x8x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'C' dim 3 is 'state_size'.
func.func @ssd_scan_c_state(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x256xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'C' dim 3 (state_size) is 256, expected 128}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x256xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'D' must have rank 1.
func.func @ssd_scan_d_rank(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %d: tensor<8x64xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'D' must have rank 1, got 'tensor<8x64xf32>'}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c skip %d {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<8x64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'D' dim 0 is 'num_heads'.
func.func @ssd_scan_d_heads(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %d: tensor<64xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'D' dim 0 (num_heads) is 64, expected 8}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c skip %d {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<64xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'dt_bias' must have rank 1.
func.func @ssd_scan_dt_bias_rank(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %dtb: tensor<1x8xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'dt_bias' must have rank 1, got 'tensor<1x8xf32>'}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c dt_bias %dtb {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<1x8xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: 'dt_bias' dim 0 is 'num_heads'.
func.func @ssd_scan_dt_bias_heads(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %dtb: tensor<16xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'dt_bias' dim 0 (num_heads) is 16, expected 8}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c dt_bias %dtb {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<16xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: with 'initial_state' the op returns the final state.
func.func @ssd_scan_state_no_final(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %h: tensor<?x8x64x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op returns no final state although 'initial_state' is given}}
  %0 = braid.ssd_scan %x, %dt, %a, %b, %c state %h {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<?x8x64x128xf32>) -> tensor<?x?x8x64xf32>
  return
}

// -----

// ssd_scan: without 'initial_state' the op returns no final state.
func.func @ssd_scan_final_no_state(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op returns a final state without an 'initial_state'}}
  %0:2 = braid.ssd_scan %x, %dt, %a, %b, %c {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xf32>)
  return
}

// -----

// ssd_scan: 'initial_state' must have rank 4.
func.func @ssd_scan_state_rank(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %h: tensor<?x8x8192xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'initial_state' must have rank 4, got 'tensor<?x8x8192xf32>'}}
  %0:2 = braid.ssd_scan %x, %dt, %a, %b, %c state %h {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<?x8x8192xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x8192xf32>)
  return
}

// -----

// ssd_scan: 'initial_state' dim 0 (batch) must match 'input' dim 0.
func.func @ssd_scan_state_batch(%x: tensor<1x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %h: tensor<2x8x64x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'initial_state' dim 0 (batch) is 2 but 'input' dim 0 is 1}}
  %0:2 = braid.ssd_scan %x, %dt, %a, %b, %c state %h {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<1x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<2x8x64x128xf32>) -> (tensor<1x?x8x64xf32>, tensor<2x8x64x128xf32>)
  return
}

// -----

// ssd_scan: 'initial_state' dim 1 is 'num_heads'.
func.func @ssd_scan_state_heads(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %h: tensor<?x4x64x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'initial_state' dim 1 (num_heads) is 4, expected 8}}
  %0:2 = braid.ssd_scan %x, %dt, %a, %b, %c state %h {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<?x4x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x4x64x128xf32>)
  return
}

// -----

// ssd_scan: 'initial_state' dim 2 is 'head_dim'.
func.func @ssd_scan_state_head_dim(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %h: tensor<?x8x128x64xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'initial_state' dim 2 (head_dim) is 128, expected 64}}
  %0:2 = braid.ssd_scan %x, %dt, %a, %b, %c state %h {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<?x8x128x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x128x64xf32>)
  return
}

// -----

// ssd_scan: 'initial_state' dim 3 is 'state_size'.
func.func @ssd_scan_state_size_dim(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %h: tensor<?x8x64x64xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'initial_state' dim 3 (state_size) is 64, expected 128}}
  %0:2 = braid.ssd_scan %x, %dt, %a, %b, %c state %h {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<?x8x64x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x64xf32>)
  return
}

// -----

// ssd_scan: the final state has the type of 'initial_state'.
func.func @ssd_scan_final_state_type(%x: tensor<?x?x8x64xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x128xf32>, %c: tensor<?x?x2x128xf32>, %h: tensor<?x8x64x128xf32>) {
  // expected-error @+1 {{'braid.ssd_scan' op 'final state' has type 'tensor<?x8x64x128xbf16>' but 'initial_state' has type 'tensor<?x8x64x128xf32>'; they must be equal}}
  %0:2 = braid.ssd_scan %x, %dt, %a, %b, %c state %h {chunk_size = 256 : i64, head_dim = 64 : i64, num_groups = 2 : i64, num_heads = 8 : i64, state_size = 128 : i64} : (tensor<?x?x8x64xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x128xf32>, tensor<?x?x2x128xf32>, tensor<?x8x64x128xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x64x128xbf16>)
  return
}

//===----------------------------------------------------------------------===//
// braid.gated_rms_norm
//===----------------------------------------------------------------------===//

// -----

// gated_rms_norm: 'input' must have rank at least 1.
func.func @gated_rms_norm_input_rank(%x: tensor<f32>, %z: tensor<f32>, %w: tensor<1xf32>) {
  // expected-error @+1 {{'braid.gated_rms_norm' op 'input' must have rank at least 1, got 'tensor<f32>'}}
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 64 : i64} : (tensor<f32>, tensor<f32>, tensor<1xf32>) -> tensor<f32>
  return
}

// -----

// gated_rms_norm: 'gate' has the type of 'input'.
func.func @gated_rms_norm_gate_type(%x: tensor<?x?x128xf32>, %z: tensor<?x?x64xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{'braid.gated_rms_norm' op 'gate' has type 'tensor<?x?x64xf32>' but 'input' has type 'tensor<?x?x128xf32>'; they must be equal}}
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x64xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// gated_rms_norm: the result has the type of 'input'.
func.func @gated_rms_norm_result_type(%x: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{'braid.gated_rms_norm' op 'result' has type 'tensor<?x?x128xf16>' but 'input' has type 'tensor<?x?x128xf32>'; they must be equal}}
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf16>
  return
}

// -----

// gated_rms_norm: 'weight' must have rank 1.
func.func @gated_rms_norm_weight_rank(%x: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<2x64xf32>) {
  // expected-error @+1 {{'braid.gated_rms_norm' op 'weight' must have rank 1, got 'tensor<2x64xf32>'}}
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<2x64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// gated_rms_norm: 'weight' dim 0 (hidden) must match the last dim of 'input'.
func.func @gated_rms_norm_weight_hidden(%x: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'braid.gated_rms_norm' op 'weight' dim 0 (hidden) is 64 but 'input' dim 2 is 128}}
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// gated_rms_norm: 'group_size' must be at least 1.
func.func @gated_rms_norm_group_size(%x: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{'braid.gated_rms_norm' op attribute 'group_size' is 0, must be at least 1}}
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 0 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// gated_rms_norm: 'epsilon' must be positive.
func.func @gated_rms_norm_epsilon(%x: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{'braid.gated_rms_norm' op attribute 'epsilon' is -1.000000e+00, must be positive}}
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = -1.0 : f64, group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

// gated_rms_norm: the last dim of 'input' must be a multiple of 'group_size'.
func.func @gated_rms_norm_group_divides(%x: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{'braid.gated_rms_norm' op 'input' last dim (hidden) is 128, not a multiple of attribute 'group_size' (48)}}
  %0 = braid.gated_rms_norm %x, %z, %w {epsilon = 1.000000e-05 : f64, group_size = 48 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.moe
//===----------------------------------------------------------------------===//

// -----

// moe: 'num_experts' must be at least 1.
func.func @moe_num_experts(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op attribute 'num_experts' is 0, must be at least 1}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 0 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'top_k' must be at least 1.
func.func @moe_top_k(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op attribute 'top_k' is 0, must be at least 1}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 0 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'top_k' may not exceed 'num_experts'.
func.func @moe_top_k_exceeds(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op attribute 'top_k' (8) exceeds 'num_experts' (4)}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 8 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'routed_scaling' must be positive.
func.func @moe_routed_scaling(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op attribute 'routed_scaling' is 0.000000e+00, must be positive}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, routed_scaling = 0.0 : f64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'input' must have rank 3.
func.func @moe_input_rank(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'input' must have rank 3, got 'tensor<?x64xf32>'}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x64xf32>
  return
}

// -----

// moe: the result has the type of 'input'.
func.func @moe_result_type(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'result' has type 'tensor<?x?x64xbf16>' but 'input' has type 'tensor<?x?x64xf32>'; they must be equal}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xbf16>
  return
}

// -----

// moe: 'router' must have rank 2.
func.func @moe_router_rank(%x: tensor<?x?x64xf32>, %r: tensor<256xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'router' must have rank 2, got 'tensor<256xf32>'}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<256xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'router' dim 0 is 'num_experts'.
func.func @moe_router_experts(%x: tensor<?x?x64xf32>, %r: tensor<8x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'router' dim 0 (num_experts) is 8, expected 4}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<8x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'router' dim 1 (hidden) must match 'input' dim 2.
func.func @moe_router_hidden(%x: tensor<?x?x64xf32>, %r: tensor<4x32xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'router' dim 1 (hidden) is 32 but 'input' dim 2 is 64}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x32xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'gate_up' must have rank 3.
func.func @moe_gate_up_rank(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<1024x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'gate_up' must have rank 3, got 'tensor<1024x64xf32>'}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<1024x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'gate_up' dim 0 is 'num_experts'.
func.func @moe_gate_up_experts(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<2x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'gate_up' dim 0 (num_experts) is 2, expected 4}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<2x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'gate_up' dim 2 (hidden) must match 'input' dim 2.
func.func @moe_gate_up_hidden(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x128xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'gate_up' dim 2 (hidden) is 128 but 'input' dim 2 is 64}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x128xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'down' must have rank 3.
func.func @moe_down_rank(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<256x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'down' must have rank 3, got 'tensor<256x128xf32>'}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<256x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'down' dim 0 is 'num_experts'.
func.func @moe_down_experts(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<3x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'down' dim 0 (num_experts) is 3, expected 4}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<3x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'down' dim 1 (hidden) must match 'input' dim 2 (down is [experts, hidden, expert_dim]).
func.func @moe_down_hidden(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x128x64xf32>) {
  // expected-error @+1 {{'braid.moe' op 'down' dim 1 (hidden) is 128 but 'input' dim 2 is 64}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x128x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'gate_up' dim 1 is 2 * expert_dim (expert_dim from 'down' dim 2).
func.func @moe_gate_up_expert_dim(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x128x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{'braid.moe' op 'gate_up' dim 1 (2 * expert_dim) is 128, expected 256}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x128x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'router_bias' must have rank 1.
func.func @moe_router_bias_rank(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %rb: tensor<1x4xf32>) {
  // expected-error @+1 {{'braid.moe' op 'router_bias' must have rank 1, got 'tensor<1x4xf32>'}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d router_bias %rb {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<1x4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'router_bias' dim 0 is 'num_experts'.
func.func @moe_router_bias_experts(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %rb: tensor<8xf32>) {
  // expected-error @+1 {{'braid.moe' op 'router_bias' dim 0 (num_experts) is 8, expected 4}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d router_bias %rb {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<8xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'shared_gate_up' and 'shared_down' come together (only reachable in generic form).
func.func @moe_shared_together(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %sgu: tensor<512x64xf32>) {
  // expected-error @+1 {{'braid.moe' op 'shared_gate_up' and 'shared_down' must be given together}}
  %0 = "braid.moe"(%x, %r, %gu, %d, %sgu) <{activation = 1 : i32, num_experts = 4 : i64, routing = 0 : i32, top_k = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 1, 0>}> : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<512x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'shared_gate_up' must have rank 2.
func.func @moe_shared_gate_up_rank(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %sgu: tensor<1x512x64xf32>, %sd: tensor<64x256xf32>) {
  // expected-error @+1 {{'braid.moe' op 'shared_gate_up' must have rank 2, got 'tensor<1x512x64xf32>'}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d shared(%sgu, %sd) {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<1x512x64xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'shared_gate_up' dim 1 (hidden) must match 'input' dim 2.
func.func @moe_shared_gate_up_hidden(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %sgu: tensor<512x32xf32>, %sd: tensor<64x256xf32>) {
  // expected-error @+1 {{'braid.moe' op 'shared_gate_up' dim 1 (hidden) is 32 but 'input' dim 2 is 64}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d shared(%sgu, %sd) {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<512x32xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'shared_down' must have rank 2.
func.func @moe_shared_down_rank(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %sgu: tensor<512x64xf32>, %sd: tensor<16384xf32>) {
  // expected-error @+1 {{'braid.moe' op 'shared_down' must have rank 2, got 'tensor<16384xf32>'}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d shared(%sgu, %sd) {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<512x64xf32>, tensor<16384xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'shared_down' dim 0 (hidden) must match 'input' dim 2.
func.func @moe_shared_down_hidden(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %sgu: tensor<512x64xf32>, %sd: tensor<256x64xf32>) {
  // expected-error @+1 {{'braid.moe' op 'shared_down' dim 0 (hidden) is 256 but 'input' dim 2 is 64}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d shared(%sgu, %sd) {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<512x64xf32>, tensor<256x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe: 'shared_gate_up' dim 0 is 2 * shared_dim (shared_dim from 'shared_down' dim 1).
func.func @moe_shared_gate_up_dim(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>, %sgu: tensor<256x64xf32>, %sd: tensor<64x256xf32>) {
  // expected-error @+1 {{'braid.moe' op 'shared_gate_up' dim 0 (2 * shared_dim) is 256, expected 512}}
  %0 = braid.moe softmax_topk silu %x, %r, %gu, %d shared(%sgu, %sd) {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>, tensor<256x64xf32>, tensor<64x256xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// moe (ODS): the routing mode must be a known one.
func.func @moe_unknown_routing(%x: tensor<?x?x64xf32>, %r: tensor<4x64xf32>, %gu: tensor<4x256x64xf32>, %d: tensor<4x64x128xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'routing' [softmax_topk, topk_softmax, sigmoid_topk]}}
  %0 = braid.moe top1 silu %x, %r, %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<?x?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x128xf32>) -> tensor<?x?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.merge
//===----------------------------------------------------------------------===//

// -----

// merge: at least one branch is needed.
func.func @merge_no_branches() {
  // expected-error @+1 {{'braid.merge' op needs at least one branch}}
  %0 = braid.merge sum : () -> tensor<?x?x64xf32>
  return
}

// -----

// merge: every branch has the type of the result.
func.func @merge_branch_type(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x32xf32>) {
  // expected-error @+1 {{'braid.merge' op 'branch #1' has type 'tensor<?x?x32xf32>' but 'result' has type 'tensor<?x?x64xf32>'; they must be equal}}
  %0 = braid.merge sum %b0, %b1 : (tensor<?x?x64xf32>, tensor<?x?x32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: 'multipliers' only applies to sum and mean.
func.func @merge_multipliers_mode(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>, %w: tensor<64x128xf32>) {
  // expected-error @+1 {{'braid.merge' op attribute 'multipliers' applies only to sum and mean merges, not 'concat_proj'}}
  %0 = braid.merge concat_proj %b0, %b1 weight %w {multipliers = array<f64: 1.0, 2.0>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: 'multipliers' has one entry per branch.
func.func @merge_multipliers_count(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.merge' op attribute 'multipliers' has 3 entries for 2 branches}}
  %0 = braid.merge sum %b0, %b1 {multipliers = array<f64: 1.0, 2.0, 3.0>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: the result must have rank at least 1.
func.func @merge_result_rank(%b0: tensor<f32>, %b1: tensor<f32>) {
  // expected-error @+1 {{'braid.merge' op 'result' must have rank at least 1, got 'tensor<f32>'}}
  %0 = braid.merge sum %b0, %b1 : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return
}

// -----

// merge: a sum merge takes no 'weight'.
func.func @merge_sum_weight(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'braid.merge' op a 'sum' merge takes no 'weight'}}
  %0 = braid.merge sum %b0, %b1 weight %w : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: a mean merge takes no 'weight'.
func.func @merge_mean_weight(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>, %w: tensor<64x128xf32>) {
  // expected-error @+1 {{'braid.merge' op a 'mean' merge takes no 'weight'}}
  %0 = braid.merge mean %b0, %b1 weight %w : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: a concat_proj merge needs a 'weight'.
func.func @merge_concat_proj_no_weight(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.merge' op a 'concat_proj' merge needs a 'weight' [hidden, n * hidden]}}
  %0 = braid.merge concat_proj %b0, %b1 : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: the concat_proj 'weight' must have rank 2.
func.func @merge_concat_proj_weight_rank(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>, %w: tensor<128xf32>) {
  // expected-error @+1 {{'braid.merge' op 'weight' must have rank 2, got 'tensor<128xf32>'}}
  %0 = braid.merge concat_proj %b0, %b1 weight %w : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: the concat_proj 'weight' dim 0 (hidden) must match the branches' last dim.
func.func @merge_concat_proj_weight_hidden(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>, %w: tensor<128x128xf32>) {
  // expected-error @+1 {{'braid.merge' op 'weight' dim 0 (hidden) is 128 but 'branch #0' dim 2 is 64}}
  %0 = braid.merge concat_proj %b0, %b1 weight %w : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<128x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: the concat_proj 'weight' dim 1 is branches * hidden.
func.func @merge_concat_proj_weight_width(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>, %b2: tensor<?x?x64xf32>, %w: tensor<64x128xf32>) {
  // expected-error @+1 {{'braid.merge' op 'weight' dim 1 (branches * hidden) is 128, expected 192}}
  %0 = braid.merge concat_proj %b0, %b1, %b2 weight %w : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: an attention merge needs a scoring 'weight'.
func.func @merge_attention_no_weight(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.merge' op an 'attention' merge needs a scoring 'weight' [hidden]}}
  %0 = braid.merge attention %b0, %b1 : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: the attention 'weight' must have rank 1.
func.func @merge_attention_weight_rank(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>, %w: tensor<64x2xf32>) {
  // expected-error @+1 {{'braid.merge' op 'weight' must have rank 1, got 'tensor<64x2xf32>'}}
  %0 = braid.merge attention %b0, %b1 weight %w : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// merge: the attention 'weight' dim 0 (hidden) must match the branches' last dim.
func.func @merge_attention_weight_hidden(%b0: tensor<?x?x64xf32>, %b1: tensor<?x?x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'braid.merge' op 'weight' dim 0 (hidden) is 32 but 'branch #0' dim 2 is 64}}
  %0 = braid.merge attention %b0, %b1 weight %w : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// braid.layer / braid.yield
//===----------------------------------------------------------------------===//

// -----

// layer: the body takes one argument per input.
func.func @layer_arg_count(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer' op body takes 2 arguments but the layer has 1 inputs}}
  %0 = braid.layer mlp (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>, %y: tensor<?x?x64xf32>):
    braid.yield %x : tensor<?x?x64xf32>
  }
  return
}

// -----

// layer: each body argument has the type of its input.
func.func @layer_arg_type(%h: tensor<?x?x64xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{'braid.layer' op body argument #1 has type 'tensor<?x?xi32>' but input #1 has type 'tensor<?x?xi64>'}}
  %0 = braid.layer attention (%h, %pos) : (tensor<?x?x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>, %p: tensor<?x?xi32>):
    braid.yield %x : tensor<?x?x64xf32>
  }
  return
}

// -----

// layer: the body yields one value per result.
func.func @layer_yield_count(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer' op body yields 2 values but the layer has 1 results}}
  %0 = braid.layer mlp (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    braid.yield %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  }
  return
}

// -----

// layer: each yielded value has the type of its result.
func.func @layer_yield_type(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer' op body yields 'tensor<?x?x64xf32>' as value #0 but result #0 has type 'tensor<?x?x64xbf16>'}}
  %0 = braid.layer mlp (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xbf16> {
  ^bb0(%x: tensor<?x?x64xf32>):
    braid.yield %x : tensor<?x?x64xf32>
  }
  return
}

// -----

// layer: a parallel layer needs at least 2 nested layers (here: 1).
func.func @layer_parallel_one_branch(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer' op a 'parallel' layer needs at least 2 nested layers (its branches), found 1}}
  %0 = braid.layer parallel (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %a = braid.layer attention (%x) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%y: tensor<?x?x64xf32>):
      braid.yield %y : tensor<?x?x64xf32>
    }
    braid.yield %a : tensor<?x?x64xf32>
  }
  return
}

// -----

// layer: a parallel layer needs at least 2 nested layers (here: none).
func.func @layer_parallel_no_branch(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer' op a 'parallel' layer needs at least 2 nested layers (its branches), found 0}}
  %0 = braid.layer parallel (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    braid.yield %x : tensor<?x?x64xf32>
  }
  return
}

// -----

// layer: only parallel and shared layers may contain nested layers.
func.func @layer_nested_in_mixer(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer' op a 'mamba2' layer may not contain nested layers; use a 'parallel' or 'shared' layer to group blocks}}
  %0 = braid.layer mamba2 (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %a = braid.layer mlp (%x) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%y: tensor<?x?x64xf32>):
      braid.yield %y : tensor<?x?x64xf32>
    }
    braid.yield %a : tensor<?x?x64xf32>
  }
  return
}

// -----

// layer (ODS): the body is isolated from above; values come in as inputs.
func.func @layer_isolated(%h: tensor<?x?x64xf32>, %w: tensor<64xf32>) {
  // expected-note @+1 {{required by region isolation constraints}}
  %0 = braid.layer mlp (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    // expected-error @+1 {{using value defined outside the region}}
    %y = braid.mul %x, %w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    braid.yield %y : tensor<?x?x64xf32>
  }
  return
}

// -----

// layer (ODS): the body region has exactly one block.
func.func @layer_no_block(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer' op region #0 ('body') failed to verify constraint: region with 1 blocks}}
  %0 = "braid.layer"(%h) <{kind = 3 : i32}> ({
  }) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// layer (ODS): the body block ends with a terminator.
func.func @layer_empty_block(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.layer' op expects a non-empty block}}
  %0 = "braid.layer"(%h) <{kind = 3 : i32}> ({
  ^bb0(%x: tensor<?x?x64xf32>):
  }) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

// layer (ODS): the kind must be a known layer kind.
func.func @layer_unknown_kind(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'kind' [mamba, mamba2, attention, mlp, moe, parallel, shared]}}
  %0 = braid.layer transformer (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    braid.yield %x : tensor<?x?x64xf32>
  }
  return
}

// -----

// yield (ODS): only a braid.layer body may hold a braid.yield.
func.func @yield_outside_layer(%h: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'braid.yield' op expects parent op 'braid.layer'}}
  braid.yield %h : tensor<?x?x64xf32>
}

// -----

// linear: the weight's element type must match the input's.
func.func @linear_weight_element_type(%x: tensor<?x?x64xf32>, %w: tensor<128x64xbf16>) {
  // expected-error @+1 {{'braid.linear' op 'weight' has element type 'bf16' but 'input' has 'f32'}}
  %y = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x64xbf16>) -> tensor<?x?x128xf32>
  return
}

// -----

// attention: k must have the element type of q.
func.func @attention_k_element_type(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xbf16>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'braid.attention' op 'k' has element type 'bf16' but 'q' has 'f32'}}
  %o = braid.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xbf16>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

// attention: v must have the element type of q.
func.func @attention_v_element_type(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xbf16>) {
  // expected-error @+1 {{'braid.attention' op 'v' has element type 'bf16' but 'q' has 'f32'}}
  %o = braid.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xbf16>) -> tensor<?x?x4x16xf32>
  return
}

// -----

// attention: the output has the element type of q.
func.func @attention_output_element_type(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'braid.attention' op 'output' has element type 'bf16' but 'q' has 'f32'}}
  %o = braid.attention %q, %k, %v {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.25 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xbf16>
  return
}
