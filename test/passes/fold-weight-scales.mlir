// RUN: braid-opt %s -split-input-file -braid-fold-weight-scales | FileCheck %s

!x = tensor<?x?x64xf32>

// A scale of a linear's output goes into the weight and the bias; the
// unbound weights get identity bindings with a `scale` step.
// CHECK-LABEL: module @output_scale
// CHECK:         launch.weight "w" : [32, 64] x f32
// CHECK-SAME:      scale = array<f64: 2.500000e-01>
// CHECK-SAME:      sources = [{shape = array<i64: 32, 64>, tensor = "w"}]
// CHECK:         launch.weight "b" : [32] x f32
// CHECK-SAME:      scale = array<f64: 2.500000e-01>
// CHECK:         %[[Y:.+]] = braid.linear
// CHECK-NOT:     braid.scale
// CHECK:         return %[[Y]]
module @output_scale {
  func.func @forward(%x: !x) -> tensor<?x?x32xf32> {
    %w = braid.weight "w" : tensor<32x64xf32>
    %b = braid.weight "b" : tensor<32xf32>
    %y = braid.linear %x, %w bias %b : (!x, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    %z = braid.scale %y {factor = 2.5e-01 : f64} : tensor<?x?x32xf32>
    return %z : tensor<?x?x32xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// Per-piece scales after splits of the output (Falcon-H1's ssm_multipliers
// on in_proj) become per-row factors of a bound weight, multiplying the
// scale it had; the concat of the pieces in order becomes the split input.
// CHECK-LABEL: module @split_pieces
// CHECK:         launch.weight "in_proj" : [6, 64] x f32
// CHECK-SAME:      elementwise = "identity"
// CHECK-SAME:      scale = array<f64: 1.000000e+00, 1.000000e+00, 6.000000e+00, 8.000000e+00, 8.000000e+00, 1.000000e+00>
// CHECK-SAME:      sources = [{shape = array<i64: 6, 64>, tensor = "ck.in_proj"}]
// CHECK:         %[[L:.+]] = braid.linear
// CHECK-NEXT:    %[[S:.+]]:2 = braid.split %[[L]] {axis = 2 : i64, sizes = array<i64: 2, 4>}
// CHECK-NOT:     braid.scale
// CHECK-NOT:     braid.concat
// CHECK:         return %[[S]]#0, %[[S]]#1
module @split_pieces {
  launch.weight "in_proj" : [6, 64] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, scale = array<f64: 2.0>, sources = [{shape = array<i64: 6, 64>, tensor = "ck.in_proj"}]}
  func.func @forward(%x: !x) -> (tensor<?x?x2xf32>, tensor<?x?x4xf32>) {
    %w = braid.weight "in_proj" : tensor<6x64xf32>
    %y = braid.linear %x, %w : (!x, tensor<6x64xf32>) -> tensor<?x?x6xf32>
    %z, %xbc = braid.split %y {axis = 2 : i64, sizes = array<i64: 2, 4>} : (tensor<?x?x6xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x4xf32>)
    %z2 = braid.scale %z {factor = 0.5 : f64} : tensor<?x?x2xf32>
    %p, %q, %r = braid.split %xbc {axis = 2 : i64, sizes = array<i64: 1, 2, 1>} : (tensor<?x?x4xf32>) -> (tensor<?x?x1xf32>, tensor<?x?x2xf32>, tensor<?x?x1xf32>)
    %p2 = braid.scale %p {factor = 3.0 : f64} : tensor<?x?x1xf32>
    %q2 = braid.scale %q {factor = 4.0 : f64} : tensor<?x?x2xf32>
    %r2 = braid.scale %r {factor = 0.5 : f64} : tensor<?x?x1xf32>
    %c = braid.concat %p2, %q2, %r2 {axis = 2 : i64} : (tensor<?x?x1xf32>, tensor<?x?x2xf32>, tensor<?x?x1xf32>) -> tensor<?x?x4xf32>
    return %z2, %c : tensor<?x?x2xf32>, tensor<?x?x4xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// A scale read only by linears (Falcon-H1's attention_in_multiplier before
// q/k/v) goes into each weight, not into the biases.
// CHECK-LABEL: module @input_scale
// CHECK-DAG:     launch.weight "q" : [16, 64] x f32 {{.*}}scale = array<f64: 5.000000e-01>
// CHECK-DAG:     launch.weight "k" : [16, 64] x f32 {{.*}}scale = array<f64: 5.000000e-01>
// CHECK-NOT:     launch.weight "kb"
// CHECK:         func.func @forward(%[[X:[^:]+]]:
// CHECK-NOT:     braid.scale
// CHECK:         braid.linear %[[X]], %{{.+}} :
// CHECK:         braid.linear %[[X]], %{{.+}} bias
module @input_scale {
  func.func @forward(%x: !x) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>) {
    %s = braid.scale %x {factor = 0.5 : f64} : !x
    %wq = braid.weight "q" : tensor<16x64xf32>
    %q = braid.linear %s, %wq : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    %wk = braid.weight "k" : tensor<16x64xf32>
    %bk = braid.weight "kb" : tensor<16xf32>
    %k = braid.linear %s, %wk bias %bk : (!x, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    return %q, %k : tensor<?x?x16xf32>, tensor<?x?x16xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// Merge multipliers (Falcon-H1's attention/SSM output multipliers) go into
// the linear each branch layer yields; the merge becomes a plain sum.
// CHECK-LABEL: module @merge_multipliers
// CHECK:         launch.weight "a.o" : [64, 64] x f32 {{.*}}scale = array<f64: 9.000000e-01>
// CHECK:         launch.weight "b.o" : [64, 64] x f32 {{.*}}scale = array<f64: 1.300000e+00>
// CHECK:         braid.merge sum %{{.+}}, %{{.+}} : (
module @merge_multipliers {
  func.func @forward(%h: !x) -> !x {
    %r = braid.layer parallel(%h) {name = "p"} : (!x) -> !x {
    ^bb0(%a0: !x):
      %a = braid.layer attention(%a0) {name = "a"} : (!x) -> !x {
      ^bb0(%a1: !x):
        %w = braid.weight "a.o" : tensor<64x64xf32>
        %y = braid.linear %a1, %w : (!x, tensor<64x64xf32>) -> !x
        braid.yield %y : !x
      }
      %b = braid.layer mamba2(%a0) {name = "b"} : (!x) -> !x {
      ^bb0(%a2: !x):
        %w = braid.weight "b.o" : tensor<64x64xf32>
        %y = braid.linear %a2, %w : (!x, tensor<64x64xf32>) -> !x
        braid.yield %y : !x
      }
      %m = braid.merge sum %a, %b {multipliers = array<f64: 0.9, 1.3>} : (!x, !x) -> !x
      braid.yield %m : !x
    }
    return %r : !x
  }
}

// -----

!x = tensor<?x?x64xf32>

// A nonlinearity between the linear and the scale: nothing folds.
// CHECK-LABEL: module @through_nonlinearity
// CHECK-NOT:     launch.weight
// CHECK:         braid.linear
// CHECK-NEXT:    braid.activation silu
// CHECK-NEXT:    braid.scale
module @through_nonlinearity {
  func.func @forward(%x: !x) -> tensor<?x?x32xf32> {
    %w = braid.weight "w" : tensor<32x64xf32>
    %y = braid.linear %x, %w : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %a = braid.activation silu %y : tensor<?x?x32xf32>
    %z = braid.scale %a {factor = 2.0 : f64} : tensor<?x?x32xf32>
    return %z : tensor<?x?x32xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// The linear's output has another reader besides the scale (a use in
// between): that reader needs the unscaled value, so nothing folds.
// CHECK-LABEL: module @other_reader
// CHECK-NOT:     launch.weight
// CHECK:         %[[Y:.+]] = braid.linear
// CHECK-NEXT:    braid.activation silu %[[Y]]
// CHECK-NEXT:    braid.scale %[[Y]]
module @other_reader {
  func.func @forward(%x: !x) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
    %w = braid.weight "w" : tensor<32x64xf32>
    %y = braid.linear %x, %w : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %a = braid.activation silu %y : tensor<?x?x32xf32>
    %z = braid.scale %y {factor = 2.0 : f64} : tensor<?x?x32xf32>
    return %a, %z : tensor<?x?x32xf32>, tensor<?x?x32xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// A weight whose name another braid.weight also uses (shared or tied
// storage), and an input scale with a non-linear reader: nothing folds.
// CHECK-LABEL: module @shared_weight
// CHECK-NOT:     launch.weight
// CHECK:         braid.scale %{{.+}} {factor = 2.000000e+00 : f64}
// CHECK:         braid.scale %{{.+}} {factor = 3.000000e+00 : f64}
module @shared_weight {
  func.func @forward(%x: !x) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>, !x) {
    %w = braid.weight "w" : tensor<32x64xf32>
    %y = braid.linear %x, %w : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %z = braid.scale %y {factor = 2.0 : f64} : tensor<?x?x32xf32>
    %w2 = braid.weight "w" : tensor<32x64xf32>
    %s = braid.scale %x {factor = 3.0 : f64} : !x
    %y2 = braid.linear %s, %w2 : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %a = braid.activation silu %s : !x
    return %z, %y2, %a : tensor<?x?x32xf32>, tensor<?x?x32xf32>, !x
  }
}
