// RUN: braid-opt %s -split-input-file -braid-lint-hybrid -verify-diagnostics
//
// Tests of the rules of -braid-lint-hybrid: ffn-balance first, then
// parallel-merge, attention-ratio and attention-placement. Layer bodies are
// minimal (the lint reads only the block structure); each case says what it
// shows. The ffn-balance cases with parallel layers give their merge
// distinct multipliers, so that parallel-merge stays silent there. The same
// findings as errors: lint-hybrid-errors.mlir.

!t = tensor<?x?x64xf32>

// Balanced sequential stack (Bamba-like: an MLP after every mixer) is silent.
func.func @balanced_sequential(%h0: !t) -> !t {
  %m0 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h1 = braid.layer mlp (%m0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %y = braid.activation silu %x : !t
    braid.yield %y : !t
  }
  %m1 = braid.layer attention (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mlp (%m1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %y = braid.activation silu %x : !t
    braid.yield %y : !t
  }
  %m2 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mlp (%m2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %y = braid.activation silu %x : !t
    braid.yield %y : !t
  }
  return %h3 : !t
}

// -----

!t = tensor<?x?x64xf32>

// FFN only after the Mamba layers: one warning, on the first attention layer,
// naming both groups of layers.
func.func @ffn_only_after_mamba(%h0: !t) -> !t {
  %m0 = braid.layer mamba2 (%h0) {index = 0 : i64, name = "layers.0.mamba"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h1 = braid.layer mlp (%m0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  // expected-warning @below {{feed-forward blocks follow only the Mamba part of this hybrid (layer 0 ('layers.0.mamba'), layer 2 ('layers.2.mamba')) and never its attention (layer 1 ('layers.1.self_attn'), layer 3 ('layers.3.self_attn'))}}
  %h2 = braid.layer attention (%h1) {index = 1 : i64, name = "layers.1.self_attn"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %m2 = braid.layer mamba2 (%h2) {index = 2 : i64, name = "layers.2.mamba"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mlp (%m2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer attention (%h3) {index = 3 : i64, name = "layers.3.self_attn"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h4 : !t
}

// -----

!t = tensor<?x?x64xf32>

// FFN only after the attention layers: one warning, on the first Mamba layer
// without one; an MoE block counts as feed-forward too.
func.func @ffn_only_after_attention(%h0: !t) -> !t {
  // expected-warning @below {{feed-forward blocks follow only the attention part of this hybrid (layer 1) and never its Mamba layers (layer 0, layer 2)}}
  %h1 = braid.layer mamba (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %m1 = braid.layer attention (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer moe (%m1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h3 : !t
}

// -----

!t = tensor<?x?x64xf32>

// Nemotron-H pattern "M-M*-M" (M Mamba2, - MLP, * attention; one block per
// layer): both components have some FFN after them, so it is silent.
func.func @nemotron_pattern(%h0: !t) -> !t {
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mlp (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %y = braid.activation relu2 %x : !t
    braid.yield %y : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer attention (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer mlp (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %y = braid.activation relu2 %x : !t
    braid.yield %y : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h6 : !t
}

// -----

!t = tensor<?x?x64xf32>

// An attention-free stack is not a hybrid: MLPs after some Mamba layers only
// are silent.
func.func @attention_free(%h0: !t) -> !t {
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mlp (%h1) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h3 : !t
}

// -----

!t = tensor<?x?x64xf32>

// Parallel layer with an MLP in the attention branch only: warning on the
// parallel layer.
func.func @parallel_ffn_in_attention_branch(%h0: !t) -> !t {
  // expected-warning @below {{in this parallel hybrid layer a feed-forward block follows only the attention branch, not the mamba2 branch}}
  %h1 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %f = braid.layer mlp (%a) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %f, %m {multipliers = array<f64: 1.0, 0.5>} : (!t, !t) -> !t
    braid.yield %r : !t
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x64xf32>

// The branch is followed through ops between its layers (here a branch
// multiplier before the MLP): still the same warning.
func.func @parallel_ffn_after_branch_multiplier(%h0: !t) -> !t {
  // expected-warning @below {{a feed-forward block follows only the attention branch, not the mamba2 branch}}
  %h1 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %as = braid.scale %a {factor = 5.000000e-01 : f64} : !t
    %f = braid.layer mlp (%as) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %f, %m {multipliers = array<f64: 1.0, 0.5>} : (!t, !t) -> !t
    braid.yield %r : !t
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x64xf32>

// Falcon-H1 style: attention and Mamba2 in parallel, one MLP after the merge
// (here a separate block after the parallel layer) is silent.
func.func @parallel_ffn_after_merge(%h0: !t) -> !t {
  %h1 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
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
  %h2 = braid.layer mlp (%h1) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h2 : !t
}

// -----

!t = tensor<?x?x64xf32>

// An MLP after the merge inside the parallel layer reads both branches and
// belongs to neither: silent.
func.func @parallel_ffn_after_merge_inside(%h0: !t) -> !t {
  %h1 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
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
    %f = braid.layer mlp (%r) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    braid.yield %f : !t
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x64xf32>
!t2 = tensor<?x?x128xf32>

// Zamba2 style: a shared attention+MLP block between Mamba2 layers that have
// no MLP. Shared blocks are flattened into the stack, so this is "FFN only
// after attention" and warns on the first Mamba2 layer.
func.func @zamba2_shared_blocks(%h0: !t) -> !t {
  // expected-warning @below {{feed-forward blocks follow only the attention part of this hybrid (layer 2 ('blocks.0.self_attn'), layer 5 ('blocks.0.self_attn')) and never its Mamba layers (layer 0, layer 1, layer 3, layer 4, layer 6)}}
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %s2 = braid.layer shared (%h2, %h0) {index = 2 : i64} : (!t, !t) -> !t {
  ^bb0(%x: !t, %emb: !t):
    %c = braid.concat %x, %emb {axis = 2 : i64} : (!t, !t) -> !t2
    %a = braid.layer attention (%c) {index = 2 : i64, name = "blocks.0.self_attn"} : (!t2) -> !t2 {
    ^bb0(%y: !t2):
      braid.yield %y : !t2
    }
    %f = braid.layer mlp (%a) {index = 2 : i64, name = "blocks.0.feed_forward"} : (!t2) -> !t {
    ^bb0(%y: !t2):
      %w = braid.weight "blocks.0.feed_forward.down_proj" : tensor<64x128xf32>
      %d = braid.linear %y, %w : (!t2, tensor<64x128xf32>) -> !t
      braid.yield %d : !t
    }
    braid.yield %f : !t
  }
  %h3 = braid.layer mamba2 (%s2) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %s5 = braid.layer shared (%h4, %h0) {index = 5 : i64} : (!t, !t) -> !t {
  ^bb0(%x: !t, %emb: !t):
    %c = braid.concat %x, %emb {axis = 2 : i64} : (!t, !t) -> !t2
    %a = braid.layer attention (%c) {index = 5 : i64, name = "blocks.0.self_attn"} : (!t2) -> !t2 {
    ^bb0(%y: !t2):
      braid.yield %y : !t2
    }
    %f = braid.layer mlp (%a) {index = 5 : i64, name = "blocks.0.feed_forward"} : (!t2) -> !t {
    ^bb0(%y: !t2):
      %w = braid.weight "blocks.0.feed_forward.down_proj" : tensor<64x128xf32>
      %d = braid.linear %y, %w : (!t2, tensor<64x128xf32>) -> !t
      braid.yield %d : !t
    }
    braid.yield %f : !t
  }
  %h6 = braid.layer mamba2 (%s5) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h6 : !t
}

// -----

!t = tensor<?x?x64xf32>

// parallel-merge: two Falcon-H1 style layers that add their attention and
// Mamba2 branches with no multipliers and no branch norm: one warning, on the
// first, naming both.
func.func @parallel_plain_sum(%h0: !t) -> !t {
  // expected-warning @below {{parallel branches merged by a plain sum, none of them normalized or scaled, in layer 0, layer 1; attention and SSM outputs differ in magnitude, so one branch can drown the other. Give the merge per-branch multipliers (Falcon-H1), normalize each branch (Hymba), or use a learned merge (concat_proj, attention)}}
  %p0 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %a, %m : (!t, !t) -> !t
    braid.yield %r : !t
  }
  %h1 = braid.layer mlp (%p0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %p1 = braid.layer parallel (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %a, %m : (!t, !t) -> !t
    braid.yield %r : !t
  }
  %h2 = braid.layer mlp (%p1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h2 : !t
}

// -----

!t = tensor<?x?x64xf32>

// parallel-merge: a mean with equal multipliers weighs the branches equally
// too.
func.func @parallel_equal_mean(%h0: !t) -> !t {
  // expected-warning @below {{parallel branches merged by a plain sum, none of them normalized or scaled, in layer 0}}
  %p0 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge mean %a, %m {multipliers = array<f64: 2.0, 2.0>} : (!t, !t) -> !t
    braid.yield %r : !t
  }
  %h1 = braid.layer mlp (%p0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x64xf32>

// parallel-merge: per-branch multipliers (Falcon-H1's attention and SSM
// output multipliers) are silent.
func.func @parallel_multipliers(%h0: !t) -> !t {
  %p0 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %a, %m {multipliers = array<f64: 0.9, 1.3>} : (!t, !t) -> !t
    braid.yield %r : !t
  }
  %h1 = braid.layer mlp (%p0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x64xf32>
!w = tensor<64xf32>

// parallel-merge: each branch normalized before the sum (Hymba) is silent.
func.func @parallel_normalized_branches(%h0: !t, %wa: !w, %wm: !w) -> !t {
  %p0 = braid.layer parallel (%h0, %wa, %wm) {index = 0 : i64} : (!t, !w, !w) -> !t {
  ^bb0(%x: !t, %nwa: !w, %nwm: !w):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %an = braid.rms_norm %a, %nwa {epsilon = 1.0e-05 : f64} : (!t, !w) -> !t
    %mn = braid.rms_norm %m, %nwm {epsilon = 1.0e-05 : f64} : (!t, !w) -> !t
    %r = braid.merge sum %an, %mn : (!t, !t) -> !t
    braid.yield %r : !t
  }
  %h1 = braid.layer mlp (%p0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x64xf32>

// parallel-merge: a branch scaled inside its own layer, through a reshape
// after it, is followed and counts: silent.
func.func @parallel_scaled_inside_branch(%h0: !t) -> !t {
  %p0 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      %s = braid.scale %y {factor = 5.000000e-01 : f64} : !t
      braid.yield %s : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %a4 = braid.reshape %a : (!t) -> tensor<?x?x4x16xf32>
    %a2 = braid.reshape %a4 : (tensor<?x?x4x16xf32>) -> !t
    %r = braid.merge sum %a2, %m : (!t, !t) -> !t
    braid.yield %r : !t
  }
  %h1 = braid.layer mlp (%p0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x64xf32>
!t2 = tensor<?x?x128xf32>

// parallel-merge: a learned merge (concat + projection) is silent.
func.func @parallel_concat_proj(%h0: !t, %w: tensor<64x128xf32>) -> !t {
  %p0 = braid.layer parallel (%h0, %w) {index = 0 : i64} : (!t, tensor<64x128xf32>) -> !t {
  ^bb0(%x: !t, %wp: tensor<64x128xf32>):
    %a = braid.layer attention (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %m = braid.layer mamba2 (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge concat_proj %a, %m weight %wp : (!t, !t, tensor<64x128xf32>) -> !t
    braid.yield %r : !t
  }
  %h1 = braid.layer mlp (%p0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h1 : !t
}

// -----

!t = tensor<?x?x64xf32>

// attention-ratio: 1 attention mixer in 17 is fewer than 1 in 16: one warning,
// on the attention layer (it sits mid-stack, so attention-placement is silent).
func.func @ratio_1_in_17(%h0: !t) -> !t {
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer mamba2 (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h7 = braid.layer mamba2 (%h6) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h8 = braid.layer mamba2 (%h7) {index = 7 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  // expected-warning @below {{only 1 of the 17 mixer layers of this hybrid are attention (layer 8), fewer than 1 in 16; recurrent layers lose exact recall of the context, and published hybrids keep about 1 attention layer in 7 to 11 (Jamba 1 in 8). Add attention layers, or keep more of them when hybridizing}}
  %h9 = braid.layer attention (%h8) {index = 8 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h10 = braid.layer mamba2 (%h9) {index = 9 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h11 = braid.layer mamba2 (%h10) {index = 10 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h12 = braid.layer mamba2 (%h11) {index = 11 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h13 = braid.layer mamba2 (%h12) {index = 12 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h14 = braid.layer mamba2 (%h13) {index = 13 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h15 = braid.layer mamba2 (%h14) {index = 14 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h16 = braid.layer mamba2 (%h15) {index = 15 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h17 = braid.layer mamba2 (%h16) {index = 16 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h17 : !t
}

// -----

!t = tensor<?x?x64xf32>

// attention-ratio: exactly 1 attention mixer in 16 is silent.
func.func @ratio_1_in_16(%h0: !t) -> !t {
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer mamba2 (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h7 = braid.layer mamba2 (%h6) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h8 = braid.layer mamba2 (%h7) {index = 7 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h9 = braid.layer attention (%h8) {index = 8 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h10 = braid.layer mamba2 (%h9) {index = 9 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h11 = braid.layer mamba2 (%h10) {index = 10 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h12 = braid.layer mamba2 (%h11) {index = 11 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h13 = braid.layer mamba2 (%h12) {index = 12 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h14 = braid.layer mamba2 (%h13) {index = 13 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h15 = braid.layer mamba2 (%h14) {index = 14 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h16 = braid.layer mamba2 (%h15) {index = 15 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h16 : !t
}

// -----

!t = tensor<?x?x64xf32>

// attention-ratio: an attention-free stack is not a hybrid and is silent (the
// IR carries no context-length claim to hold it against).
func.func @attention_free(%h0: !t) -> !t {
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer mamba2 (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h7 = braid.layer mamba2 (%h6) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h8 = braid.layer mamba2 (%h7) {index = 7 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h9 = braid.layer mamba2 (%h8) {index = 8 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h10 = braid.layer mamba2 (%h9) {index = 9 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h11 = braid.layer mamba2 (%h10) {index = 10 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h12 = braid.layer mamba2 (%h11) {index = 11 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h13 = braid.layer mamba2 (%h12) {index = 12 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h14 = braid.layer mamba2 (%h13) {index = 13 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h15 = braid.layer mamba2 (%h14) {index = 14 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h16 = braid.layer mamba2 (%h15) {index = 15 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h17 = braid.layer mamba2 (%h16) {index = 16 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h18 = braid.layer mamba2 (%h17) {index = 17 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h19 = braid.layer mamba2 (%h18) {index = 18 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h20 = braid.layer mamba2 (%h19) {index = 19 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h20 : !t
}

// -----

!t = tensor<?x?x64xf32>

// attention-placement: all attention in the last quarter of 8 mixers: one
// warning, on the first attention layer, naming them.
func.func @attention_last_quarter(%h0: !t) -> !t {
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer mamba2 (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  // expected-warning @below {{all attention layers of this hybrid (layer 6, layer 7) sit in the last quarter of its 8 mixer layers, leaving a long run of recurrent layers without exact retrieval; published hybrids spread attention through the depth (Jamba every 8th layer). Spread the attention layers, e.g. with braid-interleave's attention-period}}
  %h7 = braid.layer attention (%h6) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h8 = braid.layer attention (%h7) {index = 7 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h8 : !t
}

// -----

!t = tensor<?x?x64xf32>

// attention-placement: a single attention layer at the start of 12 mixers
// sits in the first quarter.
func.func @attention_first_quarter(%h0: !t) -> !t {
  // expected-warning @below {{all attention layers of this hybrid (layer 0) sit in the first quarter of its 12 mixer layers}}
  %h1 = braid.layer attention (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer mamba2 (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h7 = braid.layer mamba2 (%h6) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h8 = braid.layer mamba2 (%h7) {index = 7 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h9 = braid.layer mamba2 (%h8) {index = 8 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h10 = braid.layer mamba2 (%h9) {index = 9 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h11 = braid.layer mamba2 (%h10) {index = 10 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h12 = braid.layer mamba2 (%h11) {index = 11 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h12 : !t
}

// -----

!t = tensor<?x?x64xf32>

// attention-placement: attention at both ends is spread through the stack:
// silent.
func.func @attention_both_ends(%h0: !t) -> !t {
  %h1 = braid.layer attention (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer mamba2 (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h7 = braid.layer mamba2 (%h6) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h8 = braid.layer attention (%h7) {index = 7 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h8 : !t
}

// -----

!t = tensor<?x?x64xf32>

// attention-placement: Jamba-like, one attention layer at offset 4 of 8:
// silent.
func.func @attention_middle(%h0: !t) -> !t {
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer attention (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h7 = braid.layer mamba2 (%h6) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h8 = braid.layer mamba2 (%h7) {index = 7 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h8 : !t
}

// -----

!t = tensor<?x?x64xf32>

// attention-placement: stacks of fewer than 8 mixers are not judged.
func.func @short_stack(%h0: !t) -> !t {
  %h1 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mamba2 (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h3 = braid.layer mamba2 (%h2) {index = 2 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h4 = braid.layer mamba2 (%h3) {index = 3 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h5 = braid.layer mamba2 (%h4) {index = 4 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h6 = braid.layer mamba2 (%h5) {index = 5 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h7 = braid.layer attention (%h6) {index = 6 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h7 : !t
}

// -----

!t = tensor<?x?x64xf32>

// parallel-merge: only attention/recurrent pairs are judged; two MLP
// branches added by a plain sum are silent.
func.func @parallel_mlp_pair(%h0: !t) -> !t {
  %h1 = braid.layer parallel (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    %a = braid.layer mlp (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %b = braid.layer mlp (%x) : (!t) -> !t {
    ^bb0(%y: !t):
      braid.yield %y : !t
    }
    %r = braid.merge sum %a, %b : (!t, !t) -> !t
    braid.yield %r : !t
  }
  return %h1 : !t
}
