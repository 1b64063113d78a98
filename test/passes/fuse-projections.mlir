// RUN: braid-opt %s -split-input-file -braid-fuse-projections | FileCheck %s

!x = tensor<?x?x64xf32>

// q/k/v of one input with no front-end bindings: one linear over a weight
// bound as the concat of tensors named like the originals, then a split.
// CHECK-LABEL: module @qkv_unbound
// CHECK:         launch.weight "attn.q_proj+k_proj+v_proj" : [128, 64] x f32
// CHECK-SAME:      combine = "concat"
// CHECK-SAME:      sources = [{shape = array<i64: 64, 64>, tensor = "attn.q_proj"}, {shape = array<i64: 32, 64>, tensor = "attn.k_proj"}, {shape = array<i64: 32, 64>, tensor = "attn.v_proj"}]
// CHECK:         func.func @forward(%[[X:.+]]: tensor<?x?x64xf32>)
// CHECK:         %[[W:.+]] = braid.weight "attn.q_proj+k_proj+v_proj" : tensor<128x64xf32>
// CHECK-NEXT:    %[[QKV:.+]] = braid.linear %[[X]], %[[W]] : {{.*}} -> tensor<?x?x128xf32>
// CHECK-NEXT:    %[[S:.+]]:3 = braid.split %[[QKV]] {axis = 2 : i64, sizes = array<i64: 64, 32, 32>}
// CHECK-NOT:     braid.linear
// CHECK:         return %[[S]]#0, %[[S]]#1, %[[S]]#2
module @qkv_unbound {
  func.func @forward(%x: !x) -> (!x, tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
    %wq = braid.weight "attn.q_proj" : tensor<64x64xf32>
    %q = braid.linear %x, %wq : (!x, tensor<64x64xf32>) -> !x
    %wk = braid.weight "attn.k_proj" : tensor<32x64xf32>
    %k = braid.linear %x, %wk : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %wv = braid.weight "attn.v_proj" : tensor<32x64xf32>
    %v = braid.linear %x, %wv : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    return %q, %k, %v : !x, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// Bound weights and biases: the fused bindings concatenate the checkpoint
// sources (a concat source list flattens in), the fused bias likewise, a
// scale step becomes per-row factors, and the old bindings go away.
// CHECK-LABEL: module @bound_with_bias
// CHECK-NOT:     launch.weight "l.a"
// CHECK:         launch.weight "l.a+b" : [48, 64] x f32
// CHECK-SAME:      combine = "concat"
// CHECK-SAME:      scale = array<f64: 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 5.000000e-01
// CHECK-SAME:      sources = [{shape = array<i64: 16, 64>, tensor = "ck.a.weight"}, {shape = array<i64: 16, 64>, tensor = "ck.b_gate.weight"}, {shape = array<i64: 16, 64>, tensor = "ck.b_up.weight"}]
// CHECK:         launch.weight "l.a_bias+b_bias" : [48] x f32
// CHECK-SAME:      sources = [{shape = array<i64: 16>, tensor = "ck.a.bias"}, {shape = array<i64: 32>, tensor = "ck.b.bias"}]
// CHECK:         braid.linear %{{.+}}, %{{.+}} bias %{{.+}} : {{.*}} -> tensor<?x?x48xf32>
// CHECK-NEXT:    braid.split {{.*}} sizes = array<i64: 16, 32>
// CHECK-NOT:     braid.linear
module @bound_with_bias {
  launch.weight "l.a" : [16, 64] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 16, 64>, tensor = "ck.a.weight"}]}
  launch.weight "l.b" : [32, 64] x f32 {axis = 0 : i64, combine = "concat", elementwise = "identity", group_size = 0 : i64, scale = array<f64: 0.5>, sources = [{shape = array<i64: 16, 64>, tensor = "ck.b_gate.weight"}, {shape = array<i64: 16, 64>, tensor = "ck.b_up.weight"}]}
  launch.weight "l.a_bias" : [16] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 16>, tensor = "ck.a.bias"}]}
  launch.weight "l.b_bias" : [32] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 32>, tensor = "ck.b.bias"}]}
  func.func @forward(%x: !x) -> (tensor<?x?x16xf32>, tensor<?x?x32xf32>) {
    %wa = braid.weight "l.a" : tensor<16x64xf32>
    %ba = braid.weight "l.a_bias" : tensor<16xf32>
    %a = braid.linear %x, %wa bias %ba : (!x, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %wb = braid.weight "l.b" : tensor<32x64xf32>
    %bb = braid.weight "l.b_bias" : tensor<32xf32>
    %b = braid.linear %x, %wb bias %bb : (!x, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    return %a, %b : tensor<?x?x16xf32>, tensor<?x?x32xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// A reader of the first projection before the second is computed: the fused
// linear goes where the first one was, so every reader still follows it.
// CHECK-LABEL: module @use_in_between
// CHECK:         %[[L:.+]] = braid.linear
// CHECK-NEXT:    %[[S:.+]]:2 = braid.split %[[L]]
// CHECK-NEXT:    braid.activation silu %[[S]]#0
// CHECK-NOT:     braid.linear
module @use_in_between {
  func.func @forward(%x: !x) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>) {
    %wa = braid.weight "a" : tensor<16x64xf32>
    %a = braid.linear %x, %wa : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    %g = braid.activation silu %a : tensor<?x?x16xf32>
    %wb = braid.weight "b" : tensor<16x64xf32>
    %b = braid.linear %x, %wb : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    return %g, %b : tensor<?x?x16xf32>, tensor<?x?x16xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// Linears of different inputs stay apart.
// CHECK-LABEL: module @different_inputs
// CHECK-NOT:     launch.weight
// CHECK:         braid.linear %{{.+}}, %{{.+}} : {{.*}} -> tensor<?x?x16xf32>
// CHECK:         braid.linear %{{.+}}, %{{.+}} : {{.*}} -> tensor<?x?x16xf32>
// CHECK-NOT:     braid.split
module @different_inputs {
  func.func @forward(%x: !x, %y: !x) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>) {
    %wa = braid.weight "a" : tensor<16x64xf32>
    %a = braid.linear %x, %wa : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    %wb = braid.weight "b" : tensor<16x64xf32>
    %b = braid.linear %y, %wb : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    return %a, %b : tensor<?x?x16xf32>, tensor<?x?x16xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// Only compatible members join: a computed weight, a stacked binding (not
// rows of a concatenation) and a linear with a bias where the group has none
// stay as they are; the two plain ones fuse.
// CHECK-LABEL: module @incompatible_members
// CHECK:         launch.weight "stacked" : [16, 64] x f32
// CHECK:         launch.weight "a+b" : [32, 64] x f32
// CHECK:         braid.linear %[[X:[^,]+]], %[[W:[^,]+]] :
// CHECK-SAME:      -> tensor<?x?x32xf32>
// CHECK:         braid.linear %[[X]], %{{.+}} : (tensor<?x?x64xf32>, tensor<16x64xf32>)
// CHECK:         braid.linear %[[X]], %{{.+}} : (tensor<?x?x64xf32>, tensor<16x64xf32>)
// CHECK:         braid.linear %[[X]], %{{.+}} bias
module @incompatible_members {
  launch.weight "stacked" : [16, 64] x f32 {axis = 0 : i64, combine = "stack", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 16, 64>, tensor = "t"}]}
  func.func @forward(%x: !x, %w: tensor<16x64xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>) {
    %wa = braid.weight "a" : tensor<16x64xf32>
    %a = braid.linear %x, %wa : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    %c = braid.linear %x, %w : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    %ws = braid.weight "stacked" : tensor<16x64xf32>
    %s = braid.linear %x, %ws : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    %wd = braid.weight "d" : tensor<16x64xf32>
    %bd = braid.weight "d_bias" : tensor<16xf32>
    %d = braid.linear %x, %wd bias %bd : (!x, tensor<16x64xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %wb = braid.weight "b" : tensor<16x64xf32>
    %b = braid.linear %x, %wb : (!x, tensor<16x64xf32>) -> tensor<?x?x16xf32>
    return %a, %c, %s, %d, %b : tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
  }
}

// -----

!x = tensor<?x?x64xf32>

// A parallel layer (Falcon-H1): the attention branch's q/k and the Mamba2
// branch's in_proj read the shared normed input through their block
// arguments; one linear in the parallel layer computes all three, one split
// also cuts in_proj into its pieces, and each branch receives its pieces as
// new inputs.
// CHECK-LABEL: module @parallel_branches
// CHECK:         launch.weight "p.attn.q_proj+attn.k_proj+ssm.in_proj" : [112, 64] x f32
// CHECK:         braid.layer parallel
// CHECK:         %[[N:.+]] = braid.rms_norm
// CHECK-NEXT:    %[[W:.+]] = braid.weight "p.attn.q_proj+attn.k_proj+ssm.in_proj" : tensor<112x64xf32>
// CHECK-NEXT:    %[[L:.+]] = braid.linear %[[N]], %[[W]]
// CHECK-NEXT:    %[[S:.+]]:4 = braid.split %[[L]] {axis = 2 : i64, sizes = array<i64: 32, 32, 16, 32>}
// CHECK-NEXT:    braid.layer attention(%[[N]], %[[S]]#0, %[[S]]#1)
// CHECK-NEXT:    ^bb0(%{{.+}}: tensor<?x?x64xf32>, %[[Q:.+]]: tensor<?x?x32xf32>, %[[K:.+]]: tensor<?x?x32xf32>):
// CHECK-NOT:       braid.linear
// CHECK:           braid.add %[[Q]], %[[K]]
// CHECK:         braid.layer mamba2(%[[N]], %[[S]]#2, %[[S]]#3)
// CHECK-NEXT:    ^bb0(%{{.+}}: tensor<?x?x64xf32>, %{{.+}}: tensor<?x?x16xf32>, %[[Y:.+]]: tensor<?x?x32xf32>):
// CHECK-NEXT:      braid.yield %[[Y]]
module @parallel_branches {
  func.func @forward(%h: !x) -> !x {
    %r = braid.layer parallel(%h) {name = "p"} : (!x) -> !x {
    ^bb0(%a0: !x):
      %nw = braid.weight "p.norm" : tensor<64xf32>
      %n = braid.rms_norm %a0, %nw {epsilon = 1.0e-05 : f64} : (!x, tensor<64xf32>) -> !x
      %att = braid.layer attention(%n) {name = "p.attn"} : (!x) -> tensor<?x?x32xf32> {
      ^bb0(%a1: !x):
        %wq = braid.weight "p.attn.q_proj" : tensor<32x64xf32>
        %q = braid.linear %a1, %wq : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
        %wk = braid.weight "p.attn.k_proj" : tensor<32x64xf32>
        %k = braid.linear %a1, %wk : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
        %s = braid.add %q, %k : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
        braid.yield %s : tensor<?x?x32xf32>
      }
      %ssm = braid.layer mamba2(%n) {name = "p.ssm"} : (!x) -> tensor<?x?x32xf32> {
      ^bb0(%a2: !x):
        %wi = braid.weight "p.ssm.in_proj" : tensor<48x64xf32>
        %i = braid.linear %a2, %wi : (!x, tensor<48x64xf32>) -> tensor<?x?x48xf32>
        %z, %y = braid.split %i {axis = 2 : i64, sizes = array<i64: 16, 32>} : (tensor<?x?x48xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x32xf32>)
        braid.yield %y : tensor<?x?x32xf32>
      }
      %m = braid.merge sum %att, %ssm : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
      %wo = braid.weight "p.out" : tensor<64x32xf32>
      %o = braid.linear %m, %wo : (tensor<?x?x32xf32>, tensor<64x32xf32>) -> !x
      braid.yield %o : !x
    }
    return %r : !x
  }
}

// -----

!x = tensor<?x?x64xf32>

// Two projections inside one branch of a parallel layer, and none in the
// other: the branch fuses them itself, nothing moves out.
// CHECK-LABEL: module @one_branch_only
// CHECK:         braid.layer attention(%{{[^,)]+}})
// CHECK:           braid.weight "p.attn.q_proj+k_proj"
// CHECK:         braid.layer mlp
module @one_branch_only {
  func.func @forward(%h: !x) -> tensor<?x?x32xf32> {
    %r = braid.layer parallel(%h) {name = "p"} : (!x) -> tensor<?x?x32xf32> {
    ^bb0(%a0: !x):
      %att = braid.layer attention(%a0) {name = "p.attn"} : (!x) -> tensor<?x?x32xf32> {
      ^bb0(%a1: !x):
        %wq = braid.weight "p.attn.q_proj" : tensor<32x64xf32>
        %q = braid.linear %a1, %wq : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
        %wk = braid.weight "p.attn.k_proj" : tensor<32x64xf32>
        %k = braid.linear %a1, %wk : (!x, tensor<32x64xf32>) -> tensor<?x?x32xf32>
        %s = braid.add %q, %k : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
        braid.yield %s : tensor<?x?x32xf32>
      }
      %mlp = braid.layer mlp(%a0) {name = "p.mlp"} : (!x) -> tensor<?x?x32xf32> {
      ^bb0(%a2: !x):
        %g = braid.activation silu %a2 : !x
        %z, %y = braid.split %g {axis = 2 : i64, sizes = array<i64: 32, 32>} : (!x) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>)
        braid.yield %y : tensor<?x?x32xf32>
      }
      %m = braid.merge sum %att, %mlp : (tensor<?x?x32xf32>, tensor<?x?x32xf32>) -> tensor<?x?x32xf32>
      braid.yield %m : tensor<?x?x32xf32>
    }
    return %r : tensor<?x?x32xf32>
  }
}
