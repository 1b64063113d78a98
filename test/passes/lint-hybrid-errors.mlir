// RUN: braid-opt %s -split-input-file -braid-lint-hybrid=warnings-as-errors -verify-diagnostics
//
// -braid-lint-hybrid=warnings-as-errors: every finding is reported as an
// error instead of a warning, and the pass fails. The rule itself is tested in
// lint-hybrid.mlir; the exit status of braid-opt in both modes in
// lint-hybrid-examples.test (a file with expected-* lines cannot be checked
// without -verify-diagnostics: MLIR 22 still reports its expectations).

!t = tensor<?x?x64xf32>

// FFN only after the Mamba layer: an error on the attention layer.
func.func @unbalanced(%h0: !t) -> !t {
  %m0 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h1 = braid.layer mlp (%m0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  // expected-error @below {{feed-forward blocks follow only the Mamba part of this hybrid (layer 0) and never its attention (layer 1)}}
  %h2 = braid.layer attention (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h2 : !t
}

// -----

!t = tensor<?x?x64xf32>

// A balanced stack gives no error under warnings-as-errors.
func.func @balanced(%h0: !t) -> !t {
  %m0 = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h1 = braid.layer mlp (%m0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %m1 = braid.layer attention (%h1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %h2 = braid.layer mlp (%m1) {index = 1 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %h2 : !t
}

// -----

!t = tensor<?x?x64xf32>

// The new rules follow the same mode: parallel-merge as an error.
func.func @plain_sum(%h0: !t) -> !t {
  // expected-error @below {{parallel branches merged by a plain sum, none of them normalized or scaled, in layer 0}}
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
    braid.yield %r : !t
  }
  return %h1 : !t
}
