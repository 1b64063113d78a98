// Tests of -braid-interleave: each pattern form over a set of block
// templates (see the pass description for the convention). Every part is
// its own input with its own options; each says what it shows. Errors:
// interleave-errors.mlir.
//
// RUN: split-file %s %t
// RUN: braid-opt %t/nemotron.mlir -braid-interleave="pattern=M-M*-M" | FileCheck %t/nemotron.mlir
// RUN: braid-opt %t/repeat.mlir -braid-interleave="pattern=(M*)x2-" | FileCheck %t/repeat.mlir
// RUN: braid-opt %t/nested.mlir -braid-interleave="pattern=((M-)x2*)x2" | FileCheck %t/nested.mlir
// RUN: braid-opt %t/jamba.mlir -braid-interleave="layers=4 attention-period=2 attention-offset=1 expert-period=2" | FileCheck %t/jamba.mlir
// RUN: braid-opt %t/list.mlir -braid-interleave="layers=4 attention-layers=1,3" | FileCheck %t/list.mlir
// RUN: braid-opt %t/list_ffn.mlir -braid-interleave="layers=3 attention-layers=2 expert-layers=0" | FileCheck %t/list_ffn.mlir
// RUN: braid-opt %t/nested_layers.mlir -split-input-file -braid-interleave="pattern=PSP" | FileCheck %t/nested_layers.mlir
// RUN: braid-opt %t/bindings.mlir -braid-interleave="pattern=M*M" | FileCheck %t/bindings.mlir
// The expanded stacks verify, and the lint reads them like any stack:
// RUN: braid-opt %t/jamba.mlir -braid-interleave="layers=16 attention-period=8 attention-offset=4 expert-period=2 expert-offset=1" -braid-lint-hybrid -o /dev/null 2>&1 | count 0

//--- nemotron.mlir

// Nemotron-H pattern: one block per character, each its own layer index;
// the attention template's positions operand is a side input that every
// instance gets; `{L}` becomes the index in layer and weight names; the
// templates are gone and the head reads the last instance.

!t = tensor<?x?x64xf32>
!w = tensor<64xf32>

func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> !t {
  %table = braid.weight "embed" : tensor<256x64xf32>
  %h0 = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<256x64xf32>) -> !t
  %m = braid.layer mamba2 (%h0) {braid.template = "M", name = "layers.{L}.mixer"} : (!t) -> !t {
  ^bb0(%x: !t):
    %w = braid.weight "layers.{L}.mixer.norm" : !w
    %y = braid.rms_norm %x, %w {epsilon = 1.0e-05 : f64} : (!t, !w) -> !t
    braid.yield %y : !t
  }
  %a = braid.layer attention (%m, %pos) {braid.template = "*", name = "layers.{L}.mixer"} : (!t, tensor<?x?xi64>) -> !t {
  ^bb0(%x: !t, %p: tensor<?x?xi64>):
    %w = braid.weight "layers.{L}.mixer.q_proj" : tensor<64x64xf32>
    %y = braid.linear %x, %w : (!t, tensor<64x64xf32>) -> !t
    braid.yield %y : !t
  }
  %f = braid.layer mlp (%a) {braid.template = "-", name = "layers.{L}.ffn"} : (!t) -> !t {
  ^bb0(%x: !t):
    %w = braid.weight "layers.{L}.ffn.down_proj" : tensor<64x64xf32>
    %y = braid.linear %x, %w : (!t, tensor<64x64xf32>) -> !t
    braid.yield %y : !t
  }
  %wn = braid.weight "final_norm" : !w
  %out = braid.rms_norm %f, %wn {epsilon = 1.0e-05 : f64} : (!t, !w) -> !t
  return %out : !t
}

// CHECK-LABEL: func.func @forward
// CHECK-NOT:   braid.template
// CHECK:       %[[H0:.*]] = braid.embedding
// CHECK:       %[[H1:.*]] = braid.layer mamba2(%[[H0]]) {index = 0 : i64, name = "layers.0.mixer"}
// CHECK:         braid.weight "layers.0.mixer.norm"
// CHECK:       %[[H2:.*]] = braid.layer mlp(%[[H1]]) {index = 1 : i64, name = "layers.1.ffn"}
// CHECK:         braid.weight "layers.1.ffn.down_proj"
// CHECK:       %[[H3:.*]] = braid.layer mamba2(%[[H2]]) {index = 2 : i64, name = "layers.2.mixer"}
// CHECK:         braid.weight "layers.2.mixer.norm"
// CHECK:       %[[H4:.*]] = braid.layer attention(%[[H3]], %arg1) {index = 3 : i64, name = "layers.3.mixer"}
// CHECK:         braid.weight "layers.3.mixer.q_proj"
// CHECK:       %[[H5:.*]] = braid.layer mlp(%[[H4]]) {index = 4 : i64, name = "layers.4.ffn"}
// CHECK:       %[[H6:.*]] = braid.layer mamba2(%[[H5]]) {index = 5 : i64, name = "layers.5.mixer"}
// CHECK-NOT:   braid.layer
// CHECK:       braid.rms_norm %[[H6]]
// CHECK-NOT:   {L}

//--- repeat.mlir

// A repeated group: (M*)x2- is M * M * -; a template may stay unused.

!t = tensor<?x?x64xf32>

func.func @repeat(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    %w = braid.weight "layers.{L}.w" : tensor<64xf32>
    %y = braid.mul %x, %w : (!t, tensor<64xf32>) -> !t
    braid.yield %y : !t
  }
  %a = braid.layer attention (%m) {braid.template = "*"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %e = braid.layer moe (%a) {braid.template = "E"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %f = braid.layer mlp (%e) {braid.template = "-"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %f : !t
}

// CHECK-LABEL: func.func @repeat
// CHECK:       braid.layer mamba2({{.*}}) {index = 0 : i64}
// CHECK:         braid.weight "layers.0.w"
// CHECK:       braid.layer attention({{.*}}) {index = 1 : i64}
// CHECK:       braid.layer mamba2({{.*}}) {index = 2 : i64}
// CHECK:         braid.weight "layers.2.w"
// CHECK:       braid.layer attention({{.*}}) {index = 3 : i64}
// CHECK:       braid.layer mlp({{.*}}) {index = 4 : i64}
// CHECK-NOT:   braid.layer
// CHECK:       return

//--- nested.mlir

// Nested groups: ((M-)x2*)x2 is M - M - * M - M - *.

!t = tensor<?x?x64xf32>

func.func @nested(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %f = braid.layer mlp (%m) {braid.template = "-"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %a = braid.layer attention (%f) {braid.template = "*"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %a : !t
}

// CHECK-LABEL: func.func @nested
// CHECK-COUNT-2: braid.layer mamba2({{.*}}) {index = {{[02]}} : i64}
// CHECK:       braid.layer attention({{.*}}) {index = 4 : i64}
// CHECK:       braid.layer mamba2({{.*}}) {index = 5 : i64}
// CHECK:       braid.layer mlp({{.*}}) {index = 6 : i64}
// CHECK:       braid.layer mamba2({{.*}}) {index = 7 : i64}
// CHECK:       braid.layer mlp({{.*}}) {index = 8 : i64}
// CHECK:       braid.layer attention({{.*}}) {index = 9 : i64}
// CHECK-NOT:   braid.layer

//--- jamba.mlir

// Jamba's period/offset form: layer i is a mixer (attention when
// i % 2 == 1) and a feed-forward block (MoE when i % 2 == 0), both with
// index i.

!t = tensor<?x?x64xf32>

func.func @jamba(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %m = braid.layer mamba (%h0) {braid.template = "M", name = "layers.{L}.mamba"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %f = braid.layer mlp (%m) {braid.template = "-", name = "layers.{L}.mlp"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %a = braid.layer attention (%f, %pos) {braid.template = "*", name = "layers.{L}.attn"} : (!t, tensor<?x?xi64>) -> !t {
  ^bb0(%x: !t, %p: tensor<?x?xi64>):
    braid.yield %x : !t
  }
  %e = braid.layer moe (%a) {braid.template = "E", name = "layers.{L}.moe"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %e : !t
}

// CHECK-LABEL: func.func @jamba
// CHECK:       braid.layer mamba({{.*}}) {index = 0 : i64, name = "layers.0.mamba"}
// CHECK:       braid.layer moe({{.*}}) {index = 0 : i64, name = "layers.0.moe"}
// CHECK:       braid.layer attention({{.*}}, %arg1) {index = 1 : i64, name = "layers.1.attn"}
// CHECK:       braid.layer mlp({{.*}}) {index = 1 : i64, name = "layers.1.mlp"}
// CHECK:       braid.layer mamba({{.*}}) {index = 2 : i64, name = "layers.2.mamba"}
// CHECK:       braid.layer moe({{.*}}) {index = 2 : i64, name = "layers.2.moe"}
// CHECK:       braid.layer attention({{.*}}, %arg1) {index = 3 : i64, name = "layers.3.attn"}
// CHECK:       braid.layer mlp({{.*}}) {index = 3 : i64, name = "layers.3.mlp"}
// CHECK-NOT:   braid.layer

//--- list.mlir

// An index list (Bamba's attn_layer_indices); without a '-' template and
// without an expert rule the layers have no feed-forward block.

!t = tensor<?x?x64xf32>

func.func @list(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %a = braid.layer attention (%m) {braid.template = "*"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %a : !t
}

// CHECK-LABEL: func.func @list
// CHECK:       braid.layer mamba2({{.*}}) {index = 0 : i64}
// CHECK:       braid.layer attention({{.*}}) {index = 1 : i64}
// CHECK:       braid.layer mamba2({{.*}}) {index = 2 : i64}
// CHECK:       braid.layer attention({{.*}}) {index = 3 : i64}
// CHECK-NOT:   braid.layer

//--- list_ffn.mlir

// Index lists for both rules: attention at 2, MoE at 0, MLP elsewhere.

!t = tensor<?x?x64xf32>

func.func @list_ffn(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %a = braid.layer attention (%m) {braid.template = "*"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %f = braid.layer mlp (%a) {braid.template = "-"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %e = braid.layer moe (%f) {braid.template = "E"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %e : !t
}

// CHECK-LABEL: func.func @list_ffn
// CHECK:       braid.layer mamba2({{.*}}) {index = 0 : i64}
// CHECK:       braid.layer moe({{.*}}) {index = 0 : i64}
// CHECK:       braid.layer mamba2({{.*}}) {index = 1 : i64}
// CHECK:       braid.layer mlp({{.*}}) {index = 1 : i64}
// CHECK:       braid.layer attention({{.*}}) {index = 2 : i64}
// CHECK:       braid.layer mlp({{.*}}) {index = 2 : i64}
// CHECK-NOT:   braid.layer

//--- nested_layers.mlir

// Templates holding nested layers: a Falcon-H1 style parallel block (its
// branches' names and indices follow the instance) and a Zamba2 style
// shared block whose weight has no {L} on purpose (all instances share it),
// reading the embeddings as a side input.

!t = tensor<?x?x64xf32>
!t2 = tensor<?x?x128xf32>

func.func @nested_layers(%h0: !t) -> !t {
  %p = braid.layer parallel (%h0) {braid.template = "P", name = "layers.{L}.mixer"} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) {index = 0 : i64, name = "layers.{L}.mixer.attention"} : (!t) -> !t {
    ^bb0(%y: !t):
      %w = braid.weight "layers.{L}.mixer.attention.o_proj" : tensor<64x64xf32>
      %o = braid.linear %y, %w : (!t, tensor<64x64xf32>) -> !t
      braid.yield %o : !t
    }
    %m = braid.layer mamba2 (%x) {name = "layers.{L}.mixer.mamba2"} : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %a, %m {multipliers = array<f64: 1.0, 0.5>} : (!t, !t) -> !t
    braid.yield %r : !t
  }
  %s = braid.layer shared (%p, %h0) {braid.template = "S", name = "layers.{L}.shared"} : (!t, !t) -> !t {
  ^bb0(%x: !t, %emb: !t):
    %c = braid.concat %x, %emb {axis = 2 : i64} : (!t, !t) -> !t2
    %f = braid.layer mlp (%c) {name = "shared.mlp"} : (!t2) -> !t {
    ^bb0(%y: !t2):
      %w = braid.weight "shared.mlp.down_proj" : tensor<64x128xf32>
      %d = braid.linear %y, %w : (!t2, tensor<64x128xf32>) -> !t
      braid.yield %d : !t
    }
    braid.yield %f : !t
  }
  return %s : !t
}

// CHECK-LABEL: func.func @nested_layers
// CHECK:       braid.layer parallel(%arg0) {index = 0 : i64, name = "layers.0.mixer"}
// CHECK:         braid.layer attention({{.*}}) {index = 0 : i64, name = "layers.0.mixer.attention"}
// CHECK:           braid.weight "layers.0.mixer.attention.o_proj"
// CHECK:         braid.layer mamba2({{.*}}) {name = "layers.0.mixer.mamba2"}
// CHECK:       %[[S:.*]] = braid.layer shared({{.*}}, %arg0) {index = 1 : i64, name = "layers.1.shared"}
// CHECK:           braid.weight "shared.mlp.down_proj"
// CHECK:       braid.layer parallel(%[[S]]) {index = 2 : i64, name = "layers.2.mixer"}
// CHECK:         braid.layer attention({{.*}}) {index = 2 : i64, name = "layers.2.mixer.attention"}
// CHECK:           braid.weight "layers.2.mixer.attention.o_proj"
// CHECK:         braid.layer mamba2({{.*}}) {name = "layers.2.mixer.mamba2"}
// CHECK-NOT:   braid.layer shared

// -----

// A second input of the same run: every model function with templates is
// expanded; a function without templates is left alone.

!t = tensor<?x?x64xf32>

func.func @helper(%h0: !t) -> !t {
  return %h0 : !t
}

func.func @two(%h0: !t) -> !t {
  %p = braid.layer parallel (%h0) {braid.template = "P"} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %a, %m {multipliers = array<f64: 1.0, 0.5>} : (!t, !t) -> !t
    braid.yield %r : !t
  }
  %s = braid.layer mlp (%p) {braid.template = "S"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %s : !t
}

// CHECK-LABEL: func.func @helper
// CHECK-NEXT:  return %arg0
// CHECK-LABEL: func.func @two
// CHECK:       braid.layer parallel(%arg0) {index = 0 : i64}
// CHECK:       braid.layer mlp({{.*}}) {index = 1 : i64}
// CHECK:       braid.layer parallel({{.*}}) {index = 2 : i64}

//--- bindings.mlir

// Template bindings: one binding per instance that uses the weight, {L}
// replaced in the name, the tensor names and the tied aliases; a template
// binding that no instance uses ('layers.{L}.unused') is dropped; bindings
// without {L} stay as they are.

launch.weight "embed" : [256, 64] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "model.embed_tokens.weight", shape = array<i64: 256, 64>}]}
launch.weight "layers.{L}.mixer.in_proj" : [64, 64] x f32 {combine = "concat", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "model.layers.{L}.a.weight", shape = array<i64: 32, 64>},
    {tensor = "model.layers.{L}.b.weight", shape = array<i64: 32, 64>}], tied_aliases = ["alias.{L}"]}
launch.weight "layers.{L}.unused" : [64] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "model.layers.{L}.unused", shape = array<i64: 64>}]}

!t = tensor<?x?x64xf32>

func.func @bindings(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    %w = braid.weight "layers.{L}.mixer.in_proj" : tensor<64x64xf32>
    %y = braid.linear %x, %w : (!t, tensor<64x64xf32>) -> !t
    braid.yield %y : !t
  }
  %a = braid.layer attention (%m) {braid.template = "*"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %a : !t
}

// CHECK:      launch.weight "embed" : [256, 64] x f32 {{.*}}tensor = "model.embed_tokens.weight"
// CHECK-NEXT: launch.weight "layers.0.mixer.in_proj" : [64, 64] x f32 {{.*}}sources = [{shape = array<i64: 32, 64>, tensor = "model.layers.0.a.weight"}, {shape = array<i64: 32, 64>, tensor = "model.layers.0.b.weight"}], tied_aliases = ["alias.0"]}
// CHECK-NEXT: launch.weight "layers.2.mixer.in_proj" : [64, 64] x f32 {{.*}}sources = [{shape = array<i64: 32, 64>, tensor = "model.layers.2.a.weight"}, {shape = array<i64: 32, 64>, tensor = "model.layers.2.b.weight"}], tied_aliases = ["alias.2"]}
// CHECK-NOT:  launch.weight
// CHECK-LABEL: func.func @bindings
// CHECK:      braid.weight "layers.0.mixer.in_proj"
// CHECK:      braid.layer attention({{.*}}) {index = 1 : i64}
// CHECK:      braid.weight "layers.2.mixer.in_proj"
