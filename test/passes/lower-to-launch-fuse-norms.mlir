// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true fuse-decode-norms=true fuse-norms=true row-sums=true" | FileCheck %s
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true fuse-decode-norms=true" | FileCheck %s --check-prefix=OFF
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true fuse-decode-norms=true fuse-norms=true row-sums=true" | braid-opt -split-input-file | FileCheck %s
// RUN: braid-opt %s -split-input-file -braid-lower-to-launch="fuse-epilogues=true fuse-decode-norms=true fuse-norms=true" | FileCheck %s --check-prefix=NOSUMS
//
// -braid-lower-to-launch with fuse-norms (passes/PrologueFusion.h): an
// rms_norm read only by linears (as their input) whose weight can move into
// every such linear's weight gets no launch in any entry. The linears'
// bindings get column_scale = the norm weight's name (the runtime multiplies
// each row by it at load), the norm weight keeps a binding of its own, and
// each linear launch reads the un-normalized rows with attribute norm_eps
// and no norm weight (operand 4 is unit). With row-sums, in prefill a
// linear launch that writes such a norm's input also writes its rows' sums of
// squares just past it (row_sumsq, [B, T, ceil(N / 128)] f32), which the
// folding launches read as operand 5; decode does not (the prefix NOSUMS
// checks the fold without row-sums). Prefix OFF shows that without
// the option only decode folds the norms (fuse-decode-norms), reading their
// weights.

// A norm read by two linears folds into both, in prefill as in decode; the
// first also adds the residual in its epilogue (operand 3).
// CHECK-DAG: launch.weight "n1" : [8] x f32 {axis = 0 : i64, combine
// CHECK-DAG: launch.weight "w" : [8, 8] x f32 {axis = 0 : i64, column_scale = "n1",
// CHECK-DAG: launch.weight "v" : [8, 8] x f32 {axis = 0 : i64, column_scale = "n1",
// CHECK-LABEL: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding" "" [{{.*}}] -> [#launch.buffer<arena [[H:[0-9]+]] : [B, T, 8] x f32>]
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[H]] : [B, T, 8] x f32>, #launch.buffer<weight "w" : [8, 8] x f32>, unit, #launch.buffer<arena [[H]] : [B, T, 8] x f32>, unit] -> [{{.*}}] attrs {norm_eps = 9.9999999999999995E-7 : f64}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[H]] : [B, T, 8] x f32>, #launch.buffer<weight "v" : [8, 8] x f32>, unit, unit, unit] -> [{{.*}}] attrs {norm_eps = 9.9999999999999995E-7 : f64}
// CHECK-NEXT: launch.kernel "add"
// CHECK-NEXT: {{^ *}}}{{ *$}}
// CHECK-LABEL: launch.entry "decode"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "w" : [8, 8] x f32>, unit, {{.*}}, unit] -> [{{.*}}] attrs {norm_eps
// CHECK-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "v" : [8, 8] x f32>, unit, unit, unit] -> [{{.*}}] attrs {norm_eps
// OFF-LABEL: launch.entry "prefill"
// OFF-NEXT: launch.kernel "embedding"
// OFF-NEXT: launch.kernel "rms_norm"
// OFF-LABEL: launch.entry "decode"
// OFF-NEXT: launch.kernel "embedding"
// OFF-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "w" : [8, 8] x f32>, unit, {{.*}}, #launch.buffer<weight "n1" : [8] x f32>]
// OFF-NOT: column_scale
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %n1 = braid.weight "n1" : tensor<8xf32>
  %a = braid.rms_norm %h, %n1 {epsilon = 1.0e-06 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %w = braid.weight "w" : tensor<8x8xf32>
  %p = braid.linear %a, %w : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %v = braid.weight "v" : tensor<8x8xf32>
  %q = braid.linear %a, %v : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
  %r0 = braid.add %h, %p : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %r = braid.add %r0, %q : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %r : tensor<?x?x8xf32>
}

// -----

// A linear weight used twice (lm_head tied to the embedding table) cannot
// take the final norm's weight: prefill keeps the rms_norm launch, decode
// folds it with its weight as operand 4, and no binding gets a column scale.
// CHECK-NOT: column_scale
// CHECK-LABEL: launch.entry "prefill"
// CHECK: launch.kernel "rms_norm" "" [{{.*}}, #launch.buffer<weight "nf" : [8] x f32>]
// CHECK-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "embed" : [16, 8] x f32>, unit] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>] attrs {}
// CHECK-LABEL: launch.entry "decode"
// CHECK: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "embed" : [16, 8] x f32>, unit, unit, #launch.buffer<weight "nf" : [8] x f32>] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>] attrs {norm_eps = 1.000000e-05 : f64}
// OFF-LABEL: launch.entry "prefill"
// OFF: launch.kernel "rms_norm"
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x8xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x8xf32>) -> tensor<?x?x8xf32>
  %nf = braid.weight "nf" : tensor<8xf32>
  %f = braid.rms_norm %h, %nf {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %lw = braid.weight "embed" : tensor<16x8xf32>
  %logits = braid.linear %f, %lw : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}

// -----

// The residual GEMM before a folded norm writes the row sums (one per 128
// columns: 200 columns -> 2) right after its result, 64-byte aligned
// (800 -> 832); the folding launch reads them in prefill, not in decode.
// CHECK-LABEL: launch.entry "prefill"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "w" : [200, 200] x f32>, unit, {{.*}}] -> [#launch.buffer<arena [[R:[0-9]+]] : [B, T, 200] x f32>, #launch.buffer<arena [[S:[0-9]+]] : [B, T, 2] x f32>] attrs {row_sumsq = true}
// CHECK-NEXT: launch.kernel "linear" "" [#launch.buffer<arena [[R]] : [B, T, 200] x f32>, #launch.buffer<weight "lm_head" : [16, 200] x f32>, unit, unit, unit, #launch.buffer<arena [[S]] : [B, T, 2] x f32>] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>] attrs {norm_eps = 1.000000e-05 : f64}
// CHECK-LABEL: launch.entry "decode"
// CHECK-NEXT: launch.kernel "embedding"
// CHECK-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "w" : [200, 200] x f32>, unit, {{.*}}] -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 200] x f32>] attrs {}
// CHECK-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "lm_head" : [16, 200] x f32>, unit, unit, unit] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>] attrs {norm_eps = 1.000000e-05 : f64}
// OFF-LABEL: launch.entry "prefill"
// OFF-NOT: row_sumsq
// OFF: launch.kernel "rms_norm"
// NOSUMS: launch.weight "w" : [200, 200] x f32
// NOSUMS: launch.entry "prefill"
// NOSUMS-NEXT: launch.kernel "embedding"
// NOSUMS-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "w" : [200, 200] x f32>, unit, {{.*}}] -> [#launch.buffer<arena {{[0-9]+}} : [B, T, 200] x f32>] attrs {}
// NOSUMS-NEXT: launch.kernel "linear" "" [{{.*}}, #launch.buffer<weight "lm_head" : [16, 200] x f32>, unit, unit, unit] -> [#launch.buffer<output "logits" : [B, T, 16] x f32>] attrs {norm_eps = 1.000000e-05 : f64}
func.func @forward(%ids: tensor<?x?xi64>, %pos: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %table = braid.weight "embed" : tensor<16x200xf32>
  %h = braid.embedding %ids, %table : (tensor<?x?xi64>, tensor<16x200xf32>) -> tensor<?x?x200xf32>
  %w = braid.weight "w" : tensor<200x200xf32>
  %p = braid.linear %h, %w : (tensor<?x?x200xf32>, tensor<200x200xf32>) -> tensor<?x?x200xf32>
  %r = braid.add %h, %p : (tensor<?x?x200xf32>, tensor<?x?x200xf32>) -> tensor<?x?x200xf32>
  %nf = braid.weight "nf" : tensor<200xf32>
  %f = braid.rms_norm %r, %nf {epsilon = 1.0e-05 : f64} : (tensor<?x?x200xf32>, tensor<200xf32>) -> tensor<?x?x200xf32>
  %lw = braid.weight "lm_head" : tensor<16x200xf32>
  %logits = braid.linear %f, %lw : (tensor<?x?x200xf32>, tensor<16x200xf32>) -> tensor<?x?x16xf32>
  return %logits : tensor<?x?x16xf32>
}
