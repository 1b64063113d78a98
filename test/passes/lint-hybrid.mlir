// RUN: braid-opt %s -split-input-file -braid-lint-hybrid -verify-diagnostics
//
// Tests of the ffn-balance rule of -braid-lint-hybrid. Layer bodies are
// minimal (the lint reads only the block structure); each case says what it
// shows. The same findings as errors: lint-hybrid-errors.mlir.

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
    %r = braid.merge sum %f, %m : (!t, !t) -> !t
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
    %r = braid.merge sum %f, %m : (!t, !t) -> !t
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
    %r = braid.merge sum %a, %m : (!t, !t) -> !t
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
