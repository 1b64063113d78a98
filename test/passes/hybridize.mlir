// Tests of -braid-hybridize: which attention layers it replaces, the Mamba2
// block it builds and the bindings that say how its weights start. Each part
// is its own input with its own options and says what it shows. Errors:
// hybridize-errors.mlir.
//
// RUN: split-file %s %t
// RUN: braid-opt %t/mha.mlir -braid-hybridize="scores=0.5 keep=0" -verify-diagnostics | FileCheck %t/mha.mlir
// RUN: braid-opt %t/gqa.mlir -braid-hybridize="scores=0.3,0.1 keep=1" -verify-diagnostics | FileCheck %t/gqa.mlir
// RUN: braid-opt %t/select.mlir -braid-hybridize="scores=0.5,0.2,0.2,0.9 keep=3" -verify-diagnostics | FileCheck %t/select.mlir
// RUN: braid-opt %t/select.mlir -braid-hybridize="scores=0.5,0.2,0.2,0.9 keep=4" -o /dev/null 2>&1 | FileCheck %t/select.mlir --check-prefix=KEEPALL
// RUN: braid-opt %t/select.mlir -braid-hybridize="scores=0.5,0.2,0.2,0.9 keep=0" -o /dev/null 2>&1 | FileCheck %t/select.mlir --check-prefix=KEEPNONE
// RUN: braid-opt %t/state.mlir -braid-hybridize="scores=1 keep=0 state-size=6 chunk-size=64 conv-kernel=2" -verify-diagnostics | FileCheck %t/state.mlir
//
// Hybridized models verify, lint and lower to launch ops:
// RUN: braid-opt %t/gqa.mlir -braid-hybridize="scores=0.3,0.1 keep=0" -braid-lint-hybrid -braid-lower-to-launch 2>/dev/null | FileCheck %t/gqa.mlir --check-prefix=LOWERED
//
// A Llama-style model from the Hugging Face importer, end to end: two of its
// three attention layers become Mamba2 (layer 1 has the lowest score, then
// layer 0), the result verifies, lowers, and the binding table says how
// each new weight starts.
// RUN: braidc %variants/llama_gqa_tied --emit=braid --no-fusion | braid-opt -braid-hybridize="scores=0.2,0.05,0.4 keep=1" 2>%t/llama.remark | FileCheck %s --check-prefix=LLAMA
// RUN: FileCheck %s --check-prefix=LLAMA-REMARK < %t/llama.remark
// RUN: braidc %variants/llama_gqa_tied --emit=braid --no-fusion | braid-opt -braid-hybridize="scores=0.2,0.05,0.4 keep=1" 2>/dev/null | braid-opt -braid-lower-to-launch | FileCheck %s --check-prefix=LLAMA-LAUNCH
//
// GraniteMoeHybrid keeps a residual multiplier after the o projection; the
// Mamba2 block applies it to its out_proj:
// RUN: braidc %variants/granite_rope_experts --emit=braid --no-fusion | braid-opt -braid-hybridize="scores=1,2 keep=1" 2>/dev/null | FileCheck %s --check-prefix=GRANITE
// GRANITE-LABEL: func.func @forward
// GRANITE:       braid.layer mamba2(%{{.*}}) {index = 0 : i64, name = "layers.0.mixer"}
// GRANITE:         %[[O:.*]] = braid.linear {{.*}} -> tensor<?x?x48xf32>
// GRANITE-NEXT:    %[[S:.*]] = braid.scale %[[O]] {factor = 6.000000e-01 : f64}
// GRANITE-NEXT:    braid.add %{{.*}}, %[[S]]
// GRANITE:       braid.layer attention(%{{.*}}, %arg1) {index = 3 : i64, name = "layers.3.mixer"}
//
// LLAMA-REMARK: remark: braid-hybridize: replaced 2 of 3 attention layers by Mamba2 (keep=1): layer 0 ('layers.0.mixer') score 0.2; layer 1 ('layers.1.mixer') score 0.05; kept layer 2 ('layers.2.mixer') score 0.4
//
// Heads 6 = query heads, KV heads 2 (x and B repeated 3 times), head_dim 8,
// state 8: in_proj rows z 48 | x 16 | B 16 | C 48 | dt 6 = 134, xBC 80.
// LLAMA:         launch.weight "layers.0.mixer.norm" : [48] x f32 {{.*}}tensor = "model.layers.0.input_layernorm.weight"
// LLAMA-NEXT:    launch.weight "layers.0.mixer.in_proj" : [134, 48] x f32 {axis = 0 : i64, combine = "concat", elementwise = "identity", group_size = 0 : i64, sources = [{init = "zeros", shape = array<i64: 48, 48>}, {dtype = "f32", shape = array<i64: 16, 48>, tensor = "model.layers.0.self_attn.v_proj.weight"}, {dtype = "f32", shape = array<i64: 16, 48>, tensor = "model.layers.0.self_attn.k_proj.weight"}, {dtype = "f32", shape = array<i64: 48, 48>, tensor = "model.layers.0.self_attn.q_proj.weight"}, {init = "zeros", shape = array<i64: 6, 48>}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.in_proj_bias" : [134] x f32 {axis = 0 : i64, combine = "concat", elementwise = "identity", group_size = 0 : i64, sources = [{init = "ones", shape = array<i64: 48>}, {dtype = "f32", shape = array<i64: 16>, tensor = "model.layers.0.self_attn.v_proj.bias"}, {dtype = "f32", shape = array<i64: 16>, tensor = "model.layers.0.self_attn.k_proj.bias"}, {dtype = "f32", shape = array<i64: 48>, tensor = "model.layers.0.self_attn.q_proj.bias"}, {init = "zeros", shape = array<i64: 6>}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.conv" : [80, 4] x f32 {{.*}}sources = [{init = "conv_identity", shape = array<i64: 80, 4>}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.conv_bias" : [80] x f32 {{.*}}sources = [{init = "zeros", shape = array<i64: 80>}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.dt_bias" : [6] x f32 {{.*}}sources = [{init = "mamba2_dt_bias", shape = array<i64: 6>}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.A" : [6] x f32 {{.*}}elementwise = "neg_exp"{{.*}}sources = [{init = "mamba2_A_log", shape = array<i64: 6>}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.D" : [6] x f32 {{.*}}sources = [{init = "ones", shape = array<i64: 6>}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.gate_norm" : [48] x f32 {{.*}}sources = [{init = "ones", shape = array<i64: 48>}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.out_proj" : [48, 48] x f32 {{.*}}combine = "single"{{.*}}tensor = "model.layers.0.self_attn.o_proj.weight"}]}
// LLAMA-NEXT:    launch.weight "layers.0.mixer.out_proj_bias" : [48] x f32 {{.*}}tensor = "model.layers.0.self_attn.o_proj.bias"}]}
// LLAMA-NEXT:    launch.weight "layers.0.ffn.norm"
// LLAMA-NOT:     launch.weight "layers.{{[01]}}.mixer.{{[qkvo]}}_proj
// LLAMA:         launch.weight "layers.1.mixer.in_proj" : [134, 48]
// LLAMA:         launch.weight "layers.2.mixer.q_proj" : [48, 48]
// LLAMA:         launch.weight "layers.2.mixer.o_proj_bias"
// LLAMA-LABEL:   func.func @forward
// LLAMA:         braid.layer mamba2(%{{.*}}) {index = 0 : i64, name = "layers.0.mixer"} : (tensor<?x?x48xf32>) -> tensor<?x?x48xf32>
// LLAMA:           braid.rms_norm %{{.*}}, %{{.*}} {epsilon = 9.9999999999999995E-7 : f64}
// LLAMA:           braid.linear {{.*}} -> tensor<?x?x134xf32>
// LLAMA:           braid.split {{.*}} {axis = 2 : i64, sizes = array<i64: 48, 80, 6>}
// LLAMA:           braid.causal_conv1d silu {{.*}} {kernel_size = 4 : i64}
// LLAMA:           braid.split {{.*}} {axis = 2 : i64, sizes = array<i64: 16, 16, 48>}
// LLAMA:           braid.concat {{.*}} {axis = 3 : i64} : (tensor<?x?x2x1x8xf32>, tensor<?x?x2x1x8xf32>, tensor<?x?x2x1x8xf32>) -> tensor<?x?x2x3x8xf32>
// LLAMA:           braid.ssd_scan {{.*}} {chunk_size = 256 : i64, head_dim = 8 : i64, num_groups = 6 : i64, num_heads = 6 : i64, state_size = 8 : i64}
// LLAMA:           braid.gated_rms_norm {{.*}} {epsilon = 9.9999999999999995E-7 : f64, group_size = 8 : i64}
// LLAMA:         braid.layer mlp
// LLAMA:         braid.layer mamba2(%{{.*}}) {index = 1 : i64, name = "layers.1.mixer"}
// LLAMA:         braid.layer mlp
// LLAMA:         braid.layer attention(%{{.*}}, %arg1) {index = 2 : i64, name = "layers.2.mixer"}
// LLAMA:         braid.layer mlp
//
// LLAMA-LAUNCH:  launch.weight "layers.0.mixer.in_proj" : [134, 48] x f32 {{.*}}{init = "zeros", shape = array<i64: 48, 48>}, {{.*}}tensor = "model.layers.0.self_attn.v_proj.weight"
// LLAMA-LAUNCH:  launch.state "layers.0.mixer.conv_state" : [B, 80, 3] x f32
// LLAMA-LAUNCH:  launch.state "layers.0.mixer.ssm_state" : [B, 6, 8, 8] x f32
// LLAMA-LAUNCH:  launch.state "layers.2.mixer.k_cache" : [B, 2, S, 8] x f32
// LLAMA-LAUNCH:  launch.entry "prefill"
// LLAMA-LAUNCH:    launch.kernel "ssd_scan" "layers.0.mixer"
// LLAMA-LAUNCH:  launch.entry "decode"
//--- mha.mlir

// Multi-head attention (2 query = 2 KV heads of head_dim 4, no rope, no
// biases) in hand-written IR without a binding table: the Mamba2 block needs
// no head repetition, and its weights start from tensors named like the
// attention weights, as braid-lower-to-launch would bind those. The pre-norm
// and its weight stay; the positions operand goes.

!t = tensor<?x?x8xf32>

// expected-remark @below {{braid-hybridize: replaced 1 of 1 attention layers by Mamba2 (keep=0): layer 0 ('layers.0.attn') score 0.5}}
func.func @forward(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// In_proj rows: z 8 | x 8 | B 8 | C 8 | dt 2 = 34; xBC 24.
// CHECK:      launch.weight "layers.0.attn.in_proj" : [34, 8] x f32 {axis = 0 : i64, combine = "concat", elementwise = "identity", group_size = 0 : i64, sources = [{init = "zeros", shape = array<i64: 8, 8>}, {shape = array<i64: 8, 8>, tensor = "layers.0.attn.v_proj"}, {shape = array<i64: 8, 8>, tensor = "layers.0.attn.k_proj"}, {shape = array<i64: 8, 8>, tensor = "layers.0.attn.q_proj"}, {init = "zeros", shape = array<i64: 2, 8>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.in_proj_bias" : [34] x f32 {{.*}}sources = [{init = "ones", shape = array<i64: 8>}, {init = "zeros", shape = array<i64: 26>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.conv" : [24, 4] x f32 {{.*}}sources = [{init = "conv_identity", shape = array<i64: 24, 4>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.conv_bias" : [24] x f32 {{.*}}sources = [{init = "zeros", shape = array<i64: 24>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.dt_bias" : [2] x f32 {{.*}}elementwise = "identity"{{.*}}sources = [{init = "mamba2_dt_bias", shape = array<i64: 2>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.A" : [2] x f32 {{.*}}elementwise = "neg_exp"{{.*}}sources = [{init = "mamba2_A_log", shape = array<i64: 2>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.D" : [2] x f32 {{.*}}sources = [{init = "ones", shape = array<i64: 2>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.gate_norm" : [8] x f32 {{.*}}sources = [{init = "ones", shape = array<i64: 8>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.out_proj" : [8, 8] x f32 {axis = 0 : i64, combine = "single", elementwise = "identity", group_size = 0 : i64, sources = [{shape = array<i64: 8, 8>, tensor = "layers.0.attn.o_proj"}]}
// CHECK-NOT:  launch.weight
// CHECK-LABEL: func.func @forward
// CHECK:      %[[L:.*]] = braid.layer mamba2(%arg0) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x?x8xf32>):
// CHECK-NEXT:   %[[WN:.*]] = braid.weight "layers.0.attn.norm" : tensor<8xf32>
// CHECK-NEXT:   %[[N:.*]] = braid.rms_norm %[[X]], %[[WN]] {epsilon = 1.000000e-05 : f64}
// CHECK-NEXT:   %[[WI:.*]] = braid.weight "layers.0.attn.in_proj" : tensor<34x8xf32>
// CHECK-NEXT:   %[[BI:.*]] = braid.weight "layers.0.attn.in_proj_bias" : tensor<34xf32>
// CHECK-NEXT:   %[[P:.*]] = braid.linear %[[N]], %[[WI]] bias %[[BI]] : (tensor<?x?x8xf32>, tensor<34x8xf32>, tensor<34xf32>) -> tensor<?x?x34xf32>
// CHECK-NEXT:   %[[ZXD:.*]]:3 = braid.split %[[P]] {axis = 2 : i64, sizes = array<i64: 8, 24, 2>}
// CHECK-NEXT:   %[[WC:.*]] = braid.weight "layers.0.attn.conv" : tensor<24x4xf32>
// CHECK-NEXT:   %[[BC:.*]] = braid.weight "layers.0.attn.conv_bias" : tensor<24xf32>
// CHECK-NEXT:   %[[C:.*]] = braid.causal_conv1d silu %[[ZXD]]#1, %[[WC]] bias %[[BC]] {kernel_size = 4 : i64}
// CHECK-NEXT:   %[[XBC:.*]]:3 = braid.split %[[C]] {axis = 2 : i64, sizes = array<i64: 8, 8, 8>}
// CHECK-NEXT:   %[[XS:.*]] = braid.reshape %[[XBC]]#0 : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
// CHECK-NEXT:   %[[BS:.*]] = braid.reshape %[[XBC]]#1 : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
// CHECK-NEXT:   %[[CS:.*]] = braid.reshape %[[XBC]]#2 : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
// CHECK-NEXT:   %[[DTB:.*]] = braid.weight "layers.0.attn.dt_bias" : tensor<2xf32>
// CHECK-NEXT:   %[[A:.*]] = braid.weight "layers.0.attn.A" : tensor<2xf32>
// CHECK-NEXT:   %[[D:.*]] = braid.weight "layers.0.attn.D" : tensor<2xf32>
// CHECK-NEXT:   %[[Y:.*]] = braid.ssd_scan %[[XS]], %[[ZXD]]#2, %[[A]], %[[BS]], %[[CS]] skip %[[D]] dt_bias %[[DTB]] {chunk_size = 256 : i64, head_dim = 4 : i64, num_groups = 2 : i64, num_heads = 2 : i64, state_size = 4 : i64}
// CHECK-NEXT:   %[[WG:.*]] = braid.weight "layers.0.attn.gate_norm" : tensor<8xf32>
// CHECK-NEXT:   %[[Y2:.*]] = braid.reshape %[[Y]] : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
// CHECK-NEXT:   %[[G:.*]] = braid.gated_rms_norm %[[Y2]], %[[ZXD]]#0, %[[WG]] {epsilon = 1.000000e-05 : f64, group_size = 4 : i64}
// CHECK-NEXT:   %[[WO:.*]] = braid.weight "layers.0.attn.out_proj" : tensor<8x8xf32>
// CHECK-NEXT:   %[[O:.*]] = braid.linear %[[G]], %[[WO]] : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
// CHECK-NEXT:   %[[R:.*]] = braid.add %[[X]], %[[O]]
// CHECK-NEXT:   braid.yield %[[R]] : tensor<?x?x8xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[L]]
//--- gqa.mlir

// Grouped-query attention as the Hugging Face importer writes it (4 query /
// 2 KV heads of head_dim 4, rope, q/k/v biases, no o bias, a binding table):
// of two attention layers the one with the lower score (layer 1) is
// replaced. Its x and B are repeated from 2 to 4 heads, as GQA shares them;
// its bindings reuse the attention's checkpoint tensors and take the place
// of the attention's, which are dropped; layer 0 and its bindings stay.

launch.weight "layers.0.attn.norm" : [16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.input_layernorm.weight", shape = array<i64: 16>}]}
launch.weight "layers.0.attn.q_proj" : [16, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.self_attn.q_proj.weight", shape = array<i64: 16, 16>}]}
launch.weight "layers.0.attn.q_proj_bias" : [16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.self_attn.q_proj.bias", shape = array<i64: 16>}]}
launch.weight "layers.0.attn.k_proj" : [8, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.self_attn.k_proj.weight", shape = array<i64: 8, 16>}]}
launch.weight "layers.0.attn.k_proj_bias" : [8] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.self_attn.k_proj.bias", shape = array<i64: 8>}]}
launch.weight "layers.0.attn.v_proj" : [8, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.self_attn.v_proj.weight", shape = array<i64: 8, 16>}]}
launch.weight "layers.0.attn.v_proj_bias" : [8] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.self_attn.v_proj.bias", shape = array<i64: 8>}]}
launch.weight "layers.0.attn.o_proj" : [16, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.self_attn.o_proj.weight", shape = array<i64: 16, 16>}]}
launch.weight "layers.0.ffn.down_proj" : [16, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.0.mlp.down_proj.weight", shape = array<i64: 16, 16>}]}
launch.weight "layers.1.attn.norm" : [16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.input_layernorm.weight", shape = array<i64: 16>}]}
launch.weight "layers.1.attn.q_proj" : [16, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.self_attn.q_proj.weight", shape = array<i64: 16, 16>}]}
launch.weight "layers.1.attn.q_proj_bias" : [16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.self_attn.q_proj.bias", shape = array<i64: 16>}]}
launch.weight "layers.1.attn.k_proj" : [8, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.self_attn.k_proj.weight", shape = array<i64: 8, 16>}]}
launch.weight "layers.1.attn.k_proj_bias" : [8] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.self_attn.k_proj.bias", shape = array<i64: 8>}]}
launch.weight "layers.1.attn.v_proj" : [8, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.self_attn.v_proj.weight", shape = array<i64: 8, 16>}]}
launch.weight "layers.1.attn.v_proj_bias" : [8] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.self_attn.v_proj.bias", shape = array<i64: 8>}]}
launch.weight "layers.1.attn.o_proj" : [16, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.self_attn.o_proj.weight", shape = array<i64: 16, 16>}]}
launch.weight "layers.1.ffn.down_proj" : [16, 16] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64, elementwise = "identity", sources = [{tensor = "model.layers.1.mlp.down_proj.weight", shape = array<i64: 16, 16>}]}

!t = tensor<?x?x16xf32>

// expected-remark @below {{braid-hybridize: replaced 1 of 2 attention layers by Mamba2 (keep=1): layer 1 ('layers.1.attn') score 0.1; kept layer 0 ('layers.0.attn') score 0.3}}
func.func @forward(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %a0 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x16xf32>, tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  ^bb0(%x: tensor<?x?x16xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<16xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<16x16xf32>
    %bq = braid.weight "layers.0.attn.q_proj_bias" : tensor<16xf32>
    %q = braid.linear %n, %wq bias %bq : (tensor<?x?x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x16xf32>
    %bk = braid.weight "layers.0.attn.k_proj_bias" : tensor<8xf32>
    %k = braid.linear %n, %wk bias %bk : (tensor<?x?x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x16xf32>
    %bv = braid.weight "layers.0.attn.v_proj_bias" : tensor<8xf32>
    %v = braid.linear %n, %wv bias %bv : (tensor<?x?x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x16xf32>) -> tensor<?x?x4x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %qr = braid.rope %q4, %p {rotary_dim = 4 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x4x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4x4xf32>
    %kr = braid.rope %k4, %p {rotary_dim = 4 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?xi64>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %qr, %kr, %v4 {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x4x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x4x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x4x4xf32>) -> tensor<?x?x16xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<16x16xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %r = braid.add %x, %y : (tensor<?x?x16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
    braid.yield %r : tensor<?x?x16xf32>
  }
  %f0 = braid.layer mlp (%a0) {index = 0 : i64, name = "layers.0.ffn"} : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
  ^bb0(%x: tensor<?x?x16xf32>):
    %w = braid.weight "layers.0.ffn.down_proj" : tensor<16x16xf32>
    %y = braid.linear %x, %w : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %r = braid.add %x, %y : (tensor<?x?x16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
    braid.yield %r : tensor<?x?x16xf32>
  }
  %a1 = braid.layer attention (%f0, %pos) {index = 1 : i64, name = "layers.1.attn"} : (tensor<?x?x16xf32>, tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  ^bb0(%x: tensor<?x?x16xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.1.attn.norm" : tensor<16xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %wq = braid.weight "layers.1.attn.q_proj" : tensor<16x16xf32>
    %bq = braid.weight "layers.1.attn.q_proj_bias" : tensor<16xf32>
    %q = braid.linear %n, %wq bias %bq : (tensor<?x?x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    %wk = braid.weight "layers.1.attn.k_proj" : tensor<8x16xf32>
    %bk = braid.weight "layers.1.attn.k_proj_bias" : tensor<8xf32>
    %k = braid.linear %n, %wk bias %bk : (tensor<?x?x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.1.attn.v_proj" : tensor<8x16xf32>
    %bv = braid.weight "layers.1.attn.v_proj_bias" : tensor<8xf32>
    %v = braid.linear %n, %wv bias %bv : (tensor<?x?x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x16xf32>) -> tensor<?x?x4x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %qr = braid.rope %q4, %p {rotary_dim = 4 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x4x4xf32>, tensor<?x?xi64>) -> tensor<?x?x4x4xf32>
    %kr = braid.rope %k4, %p {rotary_dim = 4 : i64, theta = 1.0e+04 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?xi64>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %qr, %kr, %v4 {num_heads = 4 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x4x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x4x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x4x4xf32>) -> tensor<?x?x16xf32>
    %wo = braid.weight "layers.1.attn.o_proj" : tensor<16x16xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %r = braid.add %x, %y : (tensor<?x?x16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
    braid.yield %r : tensor<?x?x16xf32>
  }
  %f1 = braid.layer mlp (%a1) {index = 1 : i64, name = "layers.1.ffn"} : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32> {
  ^bb0(%x: tensor<?x?x16xf32>):
    %w = braid.weight "layers.1.ffn.down_proj" : tensor<16x16xf32>
    %y = braid.linear %x, %w : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
    %r = braid.add %x, %y : (tensor<?x?x16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
    braid.yield %r : tensor<?x?x16xf32>
  }
  return %f1 : !t
}

// Rows: z 16 | x 8 | B 8 | C 16 | dt 4 = 52; xBC 32.
// CHECK:      launch.weight "layers.0.attn.norm"
// CHECK-NEXT: launch.weight "layers.0.attn.q_proj"
// CHECK:      launch.weight "layers.0.attn.o_proj"
// CHECK:      launch.weight "layers.1.attn.norm" : [16] x f32
// CHECK-NEXT: launch.weight "layers.1.attn.in_proj" : [52, 16] x f32 {axis = 0 : i64, combine = "concat", elementwise = "identity", group_size = 0 : i64, sources = [{init = "zeros", shape = array<i64: 16, 16>}, {shape = array<i64: 8, 16>, tensor = "model.layers.1.self_attn.v_proj.weight"}, {shape = array<i64: 8, 16>, tensor = "model.layers.1.self_attn.k_proj.weight"}, {shape = array<i64: 16, 16>, tensor = "model.layers.1.self_attn.q_proj.weight"}, {init = "zeros", shape = array<i64: 4, 16>}]}
// CHECK-NEXT: launch.weight "layers.1.attn.in_proj_bias" : [52] x f32 {axis = 0 : i64, combine = "concat", elementwise = "identity", group_size = 0 : i64, sources = [{init = "ones", shape = array<i64: 16>}, {shape = array<i64: 8>, tensor = "model.layers.1.self_attn.v_proj.bias"}, {shape = array<i64: 8>, tensor = "model.layers.1.self_attn.k_proj.bias"}, {shape = array<i64: 16>, tensor = "model.layers.1.self_attn.q_proj.bias"}, {init = "zeros", shape = array<i64: 4>}]}
// CHECK-NEXT: launch.weight "layers.1.attn.conv" : [32, 4]
// CHECK-NEXT: launch.weight "layers.1.attn.conv_bias" : [32]
// CHECK-NEXT: launch.weight "layers.1.attn.dt_bias" : [4]
// CHECK-NEXT: launch.weight "layers.1.attn.A" : [4]
// CHECK-NEXT: launch.weight "layers.1.attn.D" : [4]
// CHECK-NEXT: launch.weight "layers.1.attn.gate_norm" : [16]
// CHECK-NEXT: launch.weight "layers.1.attn.out_proj" : [16, 16] x f32 {{.*}}sources = [{shape = array<i64: 16, 16>, tensor = "model.layers.1.self_attn.o_proj.weight"}]}
// CHECK-NEXT: launch.weight "layers.1.ffn.down_proj"
// CHECK-NOT:  launch.weight
// CHECK-LABEL: func.func @forward
// CHECK:      braid.layer attention(%arg0, %arg1) {index = 0 : i64, name = "layers.0.attn"}
// CHECK:      braid.layer mlp
// CHECK:      braid.layer mamba2(%{{.*}}) {index = 1 : i64, name = "layers.1.attn"} : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
// CHECK:        %[[XBC:.*]]:3 = braid.split %{{.*}} {axis = 2 : i64, sizes = array<i64: 8, 8, 16>}
// CHECK-NEXT:   %[[X1:.*]] = braid.reshape %[[XBC]]#0 : (tensor<?x?x8xf32>) -> tensor<?x?x2x1x4xf32>
// CHECK-NEXT:   %[[X2:.*]] = braid.concat %[[X1]], %[[X1]] {axis = 3 : i64} : (tensor<?x?x2x1x4xf32>, tensor<?x?x2x1x4xf32>) -> tensor<?x?x2x2x4xf32>
// CHECK-NEXT:   %[[X4:.*]] = braid.reshape %[[X2]] : (tensor<?x?x2x2x4xf32>) -> tensor<?x?x4x4xf32>
// CHECK-NEXT:   %[[B1:.*]] = braid.reshape %[[XBC]]#1 : (tensor<?x?x8xf32>) -> tensor<?x?x2x1x4xf32>
// CHECK-NEXT:   %[[B2:.*]] = braid.concat %[[B1]], %[[B1]] {axis = 3 : i64}
// CHECK-NEXT:   %[[B4:.*]] = braid.reshape %[[B2]] : (tensor<?x?x2x2x4xf32>) -> tensor<?x?x4x4xf32>
// CHECK-NEXT:   %[[C4:.*]] = braid.reshape %[[XBC]]#2 : (tensor<?x?x16xf32>) -> tensor<?x?x4x4xf32>
// CHECK:        braid.ssd_scan %[[X4]], %{{.*}}, %{{.*}}, %[[B4]], %[[C4]] skip {{.*}} {chunk_size = 256 : i64, head_dim = 4 : i64, num_groups = 4 : i64, num_heads = 4 : i64, state_size = 4 : i64}
// CHECK:        braid.linear %{{.*}}, %{{.*}} : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
// CHECK:      braid.layer mlp

// Both layers replaced, then linted and lowered: states of a Mamba2 layer
// where the KV caches were.
// LOWERED-NOT: launch.weight "layers.{{[01]}}.attn.q_proj
// LOWERED:     launch.state "layers.0.attn.conv_state" : [B, 32, 3] x f32
// LOWERED:     launch.state "layers.0.attn.ssm_state" : [B, 4, 4, 4] x f32
// LOWERED-NOT: k_cache
// LOWERED:     launch.entry "prefill"
//--- select.mlir

// The choice: keep=3 of 4 replaces the one lowest score; layers 1 and 2 tie
// at 0.2 and the later one (2) goes. keep=4 replaces none, keep=0 all.

!t = tensor<?x?x8xf32>

// expected-remark @below {{braid-hybridize: replaced 1 of 4 attention layers by Mamba2 (keep=3): layer 2 ('layers.2.attn') score 0.2; kept layer 0 ('layers.0.attn') score 0.5; layer 1 ('layers.1.attn') score 0.2; layer 3 ('layers.3.attn') score 0.9}}
func.func @forward(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  %h2 = braid.layer attention (%h1, %pos) {index = 1 : i64, name = "layers.1.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.1.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.1.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.1.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.1.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.1.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  %h3 = braid.layer attention (%h2, %pos) {index = 2 : i64, name = "layers.2.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.2.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.2.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.2.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.2.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.2.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  %h4 = braid.layer attention (%h3, %pos) {index = 3 : i64, name = "layers.3.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.3.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.3.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.3.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.3.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.3.attn.o_proj" : tensor<8x8xf32>
    %y = braid.linear %o, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h4 : !t
}

// CHECK-LABEL: func.func @forward
// CHECK:       braid.layer attention({{.*}}) {index = 0 : i64
// CHECK:       braid.layer attention({{.*}}) {index = 1 : i64
// CHECK:       braid.layer mamba2({{.*}}) {index = 2 : i64
// CHECK:       braid.layer attention({{.*}}) {index = 3 : i64

// KEEPALL: remark: braid-hybridize: replaced 0 of 4 attention layers by Mamba2 (keep=4); kept layer 0 ('layers.0.attn') score 0.5; layer 1 ('layers.1.attn') score 0.2; layer 2 ('layers.2.attn') score 0.2; layer 3 ('layers.3.attn') score 0.9
// KEEPNONE: remark: braid-hybridize: replaced 4 of 4 attention layers by Mamba2 (keep=0): layer 0 ('layers.0.attn') score 0.5; layer 1 ('layers.1.attn') score 0.2; layer 2 ('layers.2.attn') score 0.2; layer 3 ('layers.3.attn') score 0.9
//--- state.mlir

// A state size other than the q/k head dim (6, not 4): B and C cannot start
// from k_proj and q_proj, so their in_proj rows start from uniform_fan_in
// and the pass warns; x and out_proj still start from v_proj and o_proj.
// The chunk size and the conv width follow their options; the o bias
// becomes the out_proj bias.

!t = tensor<?x?x8xf32>

// expected-warning @below {{braid-hybridize: state-size=6 differs from the attention's q/k head dim 4: B and C cannot start from k_proj and q_proj and start from uniform_fan_in instead}}
// expected-remark @below {{replaced 1 of 1 attention layers}}
func.func @forward(%h0: !t, %pos: tensor<?x?xi64>) -> !t {
  %h1 = braid.layer attention (%h0, %pos) {index = 0 : i64, name = "layers.0.attn"} : (tensor<?x?x8xf32>, tensor<?x?xi64>) -> tensor<?x?x8xf32> {
  ^bb0(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi64>):
    %wn = braid.weight "layers.0.attn.norm" : tensor<8xf32>
    %n = braid.rms_norm %x, %wn {epsilon = 1.0e-05 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %wq = braid.weight "layers.0.attn.q_proj" : tensor<8x8xf32>
    %q = braid.linear %n, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wk = braid.weight "layers.0.attn.k_proj" : tensor<8x8xf32>
    %k = braid.linear %n, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %wv = braid.weight "layers.0.attn.v_proj" : tensor<8x8xf32>
    %v = braid.linear %n, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q4 = braid.reshape %q : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %k4 = braid.reshape %k : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %v4 = braid.reshape %v : (tensor<?x?x8xf32>) -> tensor<?x?x2x4xf32>
    %o4 = braid.attention %q4, %k4, %v4 {num_heads = 2 : i64, num_kv_heads = 2 : i64, scale = 0.5 : f64} : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
    %o = braid.reshape %o4 : (tensor<?x?x2x4xf32>) -> tensor<?x?x8xf32>
    %wo = braid.weight "layers.0.attn.o_proj" : tensor<8x8xf32>
    %bo = braid.weight "layers.0.attn.o_proj_bias" : tensor<8xf32>
    %y = braid.linear %o, %wo bias %bo : (tensor<?x?x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    %r = braid.add %x, %y : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    braid.yield %r : tensor<?x?x8xf32>
  }
  return %h1 : !t
}

// Rows: z 8 | x 8 | B 12 | C 12 | dt 2 = 42; xBC 32.
// CHECK:      launch.weight "layers.0.attn.in_proj" : [42, 8] x f32 {{.*}}sources = [{init = "zeros", shape = array<i64: 8, 8>}, {shape = array<i64: 8, 8>, tensor = "layers.0.attn.v_proj"}, {init = "uniform_fan_in", shape = array<i64: 24, 8>}, {init = "zeros", shape = array<i64: 2, 8>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.in_proj_bias" : [42] x f32 {{.*}}sources = [{init = "ones", shape = array<i64: 8>}, {init = "zeros", shape = array<i64: 34>}]}
// CHECK-NEXT: launch.weight "layers.0.attn.conv" : [32, 2] x f32
// CHECK:      launch.weight "layers.0.attn.out_proj_bias" : [8] x f32 {{.*}}sources = [{shape = array<i64: 8>, tensor = "layers.0.attn.o_proj_bias"}]}
// CHECK-LABEL: func.func @forward
// CHECK:      braid.causal_conv1d silu {{.*}} {kernel_size = 2 : i64}
// CHECK:      braid.ssd_scan {{.*}} {chunk_size = 64 : i64, head_dim = 4 : i64, num_groups = 2 : i64, num_heads = 2 : i64, state_size = 6 : i64}
// CHECK:      braid.weight "layers.0.attn.out_proj_bias" : tensor<8xf32>
