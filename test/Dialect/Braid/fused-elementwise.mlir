// RUN: braid-opt %s -split-input-file -verify-diagnostics | FileCheck %s
//
// braid.fused_elementwise: valid forms round-trip; each invalid form is
// rejected with a message naming the attribute, input or dim at fault.

// A reduction over a middle loop with a broadcast input (map -1).
// CHECK-LABEL: func.func @valid_reduction
// CHECK: braid.fused_elementwise(%arg0, %arg1) {input_maps = array<i64: 0, 1, 2, 3, 0, 1, -1, 3>, loop_sizes = array<i64: -1, -1, 4, 8>, program = "in 0; in 1; sub %0 %1; exp %2", reduce = "sum", reduction_dims = array<i64: 2>}
func.func @valid_reduction(%x: tensor<?x?x4x8xf32>, %m: tensor<?x?x1x8xf32>) -> tensor<?x?x8xf32> {
  %s = braid.fused_elementwise(%x, %m) {program = "in 0; in 1; sub %0 %1; exp %2",
      loop_sizes = array<i64: -1, -1, 4, 8>, input_maps = array<i64: 0, 1, 2, 3, 0, 1, -1, 3>,
      reduction_dims = array<i64: 2>, reduce = "sum", init = 0.0 : f64}
      : (tensor<?x?x4x8xf32>, tensor<?x?x1x8xf32>) -> tensor<?x?x8xf32>
  return %s : tensor<?x?x8xf32>
}

// -----

// An unknown program operation, named with its instruction.
func.func @bad_program(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'braid.fused_elementwise' op 'program': instruction 1: unknown operation 'sin'}}
  %y = braid.fused_elementwise(%x) {program = "in 0; sin %0", loop_sizes = array<i64: -1, -1, 8>,
      input_maps = array<i64: 0, 1, 2>, reduction_dims = array<i64>}
      : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// An operand used before it is defined.
func.func @forward_reference(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'braid.fused_elementwise' op 'program': instruction 1: operand '%1' is not defined before it}}
  %y = braid.fused_elementwise(%x) {program = "in 0; exp %1", loop_sizes = array<i64: -1, -1, 8>,
      input_maps = array<i64: 0, 1, 2>, reduction_dims = array<i64>}
      : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// The program reads an input the op does not have.
func.func @missing_input(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'braid.fused_elementwise' op 'program' reads input 1 but the op has 1 inputs}}
  %y = braid.fused_elementwise(%x) {program = "in 0; in 1; add %0 %1", loop_sizes = array<i64: -1, -1, 8>,
      input_maps = array<i64: 0, 1, 2>, reduction_dims = array<i64>}
      : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// An input dim whose size differs from its loop's.
func.func @input_dim_mismatch(%x: tensor<?x?x6xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'braid.fused_elementwise' op input 0 dim 2 has size 6 but loop 2 has size 8}}
  %y = braid.fused_elementwise(%x) {program = "in 0", loop_sizes = array<i64: -1, -1, 8>,
      input_maps = array<i64: 0, 1, 2>, reduction_dims = array<i64>}
      : (tensor<?x?x6xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// A broadcast dim (map -1) must have size 1.
func.func @broadcast_not_one(%x: tensor<?x?x8xf32>, %w: tensor<4xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'braid.fused_elementwise' op input 1 dim 0 is broadcast (map -1) but has size 4}}
  %y = braid.fused_elementwise(%x, %w) {program = "in 0; in 1; add %0 %1", loop_sizes = array<i64: -1, -1, 8>,
      input_maps = array<i64: 0, 1, 2, -1>, reduction_dims = array<i64>}
      : (tensor<?x?x8xf32>, tensor<4xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// A reduction over a dynamic loop (the sequence) would mix tokens.
func.func @dynamic_reduction(%x: tensor<?x?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{'braid.fused_elementwise' op reduction loop 1 is dynamic; only static loops are reduced}}
  %y = braid.fused_elementwise(%x) {program = "in 0", loop_sizes = array<i64: -1, -1, 8>,
      input_maps = array<i64: 0, 1, 2>, reduction_dims = array<i64: 1>, reduce = "sum"}
      : (tensor<?x?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// reduce and reduction_dims must agree.
func.func @reduce_without_dims(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'braid.fused_elementwise' op 'reduce' is 'max' but 'reduction_dims' has 0 loops}}
  %y = braid.fused_elementwise(%x) {program = "in 0", loop_sizes = array<i64: -1, -1, 8>,
      input_maps = array<i64: 0, 1, 2>, reduction_dims = array<i64>, reduce = "max"}
      : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// The result keeps the parallel loops only.
func.func @result_rank(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'braid.fused_elementwise' op result has rank 3 but there are 2 parallel loops}}
  %y = braid.fused_elementwise(%x) {program = "in 0", loop_sizes = array<i64: -1, -1, 8>,
      input_maps = array<i64: 0, 1, 2>, reduction_dims = array<i64: 2>, reduce = "sum"}
      : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
