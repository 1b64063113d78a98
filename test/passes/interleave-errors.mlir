// -braid-interleave on inputs and options it refuses: each error names the
// template, operand, weight, option or pattern character at fault. The IR
// convention errors are checked with -verify-diagnostics on chain.mlir; the
// option and pattern errors, which concern the command line, on the stderr
// of runs over one valid template set (stack.mlir).
//
// RUN: split-file %s %t
// RUN: braid-opt %t/chain.mlir -split-input-file -braid-interleave="pattern=M*" -verify-diagnostics
//
// A character that names no template, with its position and the templates:
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=M*Q" 2>&1 | FileCheck %s --check-prefix=CHAR
// CHAR: stack.mlir:{{[0-9]+}}:{{[0-9]+}}: error: braid-interleave: pattern "M*Q": 'Q' at position 3 names no template; the templates of @forward are 'M', '*', '-'
//
// Group syntax:
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=(M*x2" 2>&1 | FileCheck %s --check-prefix=OPEN
// OPEN: error: braid-interleave: pattern "(M*x2": '(' at position 1 is never closed
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=M*)x2" 2>&1 | FileCheck %s --check-prefix=CLOSE
// CLOSE: error: braid-interleave: pattern "M*)x2": ')' at position 3 has no matching '('
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=(M*)-" 2>&1 | FileCheck %s --check-prefix=COUNT
// COUNT: error: braid-interleave: pattern "(M*)-": ')' at position 4 must be followed by 'x' and a repeat count, as in (M*)x4
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=(M*)x" 2>&1 | FileCheck %s --check-prefix=NOCOUNT
// NOCOUNT: error: braid-interleave: pattern "(M*)x": expected a repeat count after 'x' at position 5
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=(M*)x0" 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: error: braid-interleave: pattern "(M*)x0": repeat count 0 at position 6; a group repeats at least once
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=M()x2" 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: error: braid-interleave: pattern "M()x2": the group at position 2 is empty
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=((M)x300)x300" 2>&1 | FileCheck %s --check-prefix=HUGE
// HUGE: error: braid-interleave: pattern "((M)x300)x300": expands to more than 65536 blocks
//
// Inconsistent or incomplete options:
// RUN: not braid-opt %t/stack.mlir -braid-interleave 2>&1 | FileCheck %s --check-prefix=NONE
// NONE: error: braid-interleave: needs a layer pattern: pattern="M-M*-M", or layers=N with attention-period/attention-offset or attention-layers (and optionally expert-period/expert-offset or expert-layers)
// RUN: not braid-opt %t/stack.mlir -braid-interleave="pattern=M* layers=4" 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: error: braid-interleave: pattern="M*" cannot be combined with layers, attention-* or expert-* options; give one form
// RUN: not braid-opt %t/stack.mlir -braid-interleave="attention-period=8" 2>&1 | FileCheck %s --check-prefix=NOLAYERS
// NOLAYERS: error: braid-interleave: layers=0 must be at least 1 for the period/index-list form
// RUN: not braid-opt %t/stack.mlir -braid-interleave="layers=8 attention-period=8 attention-offset=8" 2>&1 | FileCheck %s --check-prefix=OFFSET
// OFFSET: error: braid-interleave: attention-offset=8 must be smaller than attention-period=8
// RUN: not braid-opt %t/stack.mlir -braid-interleave="layers=8 expert-offset=1" 2>&1 | FileCheck %s --check-prefix=NOPERIOD
// NOPERIOD: error: braid-interleave: expert-offset=1 needs expert-period
// RUN: not braid-opt %t/stack.mlir -braid-interleave="layers=8 attention-period=4 attention-layers=1" 2>&1 | FileCheck %s --check-prefix=TWORULES
// TWORULES: error: braid-interleave: give attention-period or attention-layers, not both
// RUN: not braid-opt %t/stack.mlir -braid-interleave="layers=4 attention-layers=1,4" 2>&1 | FileCheck %s --check-prefix=RANGE
// RANGE: error: braid-interleave: attention-layers: index 4 is outside the 4 layers (0..3)
// RUN: not braid-opt %t/stack.mlir -braid-interleave="layers=4 expert-layers=2,2" 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: error: braid-interleave: expert-layers: index 2 appears twice
// RUN: not braid-opt %t/stack.mlir -braid-interleave="layers=4 attention-period=-2" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: braid-interleave: attention-period=-2 must not be negative
//
// The period form needs the templates its letters name:
// RUN: not braid-opt %t/stack.mlir -braid-interleave="layers=4 attention-period=4 expert-period=2" 2>&1 | FileCheck %s --check-prefix=NOMOE
// NOMOE: error: braid-interleave: layer 0 needs the 'E' (MoE) template; the templates of @forward are 'M', '*', '-'
//
// A module without templates:
// RUN: not braid-opt %t/plain.mlir -braid-interleave="pattern=M" 2>&1 | FileCheck %s --check-prefix=NOTEMPLATES
// NOTEMPLATES: error: braid-interleave: no block templates found; mark the braid.layer blocks to repeat with braid.template = "C" (a one-character tag that the pattern uses)

//--- stack.mlir
!t = tensor<?x?x64xf32>
func.func @forward(%h0: !t) -> !t {
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
  return %f : !t
}

//--- plain.mlir
!t = tensor<?x?x64xf32>
func.func @forward(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {index = 0 : i64} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %m : !t
}

//--- chain.mlir
!t = tensor<?x?x64xf32>

// A tag is one character.
func.func @long_tag(%h0: !t) -> !t {
  // expected-error @below {{braid-interleave: 'braid.template' must be a one-character string such as "M", got "MM"}}
  %m = braid.layer mamba2 (%h0) {braid.template = "MM"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %m : !t
}

// -----

!t = tensor<?x?x64xf32>

// Parentheses are pattern syntax, not tags.
func.func @paren_tag(%h0: !t) -> !t {
  // expected-error @below {{braid-interleave: template tag '(' cannot be used in a pattern; '(', ')' and whitespace are pattern syntax}}
  %m = braid.layer mamba2 (%h0) {braid.template = "("} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %m : !t
}

// -----

!t = tensor<?x?x64xf32>

// Two templates with one tag.
func.func @duplicate_tag(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  // expected-error @below {{braid-interleave: template tag 'M' is used by two layers; each template needs its own tag}}
  %n = braid.layer mamba (%m) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %n : !t
}

// -----

!t = tensor<?x?x64xf32>
!t2 = tensor<?x?x128xf32>

// A template returns the hidden state with the type of its input #0.
func.func @changes_type(%h0: !t) -> !t2 {
  // expected-error @below {{braid-interleave: template 'M' must take the hidden state as input #0 and return one value of the same type}}
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t2 {
  ^bb0(%x: !t):
    %c = braid.concat %x, %x {axis = 2 : i64} : (!t, !t) -> !t2
    braid.yield %c : !t2
  }
  return %m : !t2
}

// -----

!t = tensor<?x?x64xf32>

// The templates form one chain: '*' does not read the result of 'M'.
func.func @broken_chain(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  // expected-error @below {{braid-interleave: template '*' must read the result of the template before it ('M') as its input #0: the templates form one chain in place of the stack}}
  %a = braid.layer attention (%h0) {braid.template = "*"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %s = braid.add %m, %a : (!t, !t) -> !t
  return %s : !t
}

// -----

!t = tensor<?x?x64xf32>

// A side input must come from outside the chain.
func.func @side_input_from_chain(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  // expected-error @below {{braid-interleave: template '*' reads the result of template 'M' as its input #1; only input #0 chains, side inputs must come from outside the template chain}}
  %a = braid.layer attention (%m, %m) {braid.template = "*"} : (!t, !t) -> !t {
  ^bb0(%x: !t, %y: !t):
    braid.yield %x : !t
  }
  return %a : !t
}

// -----

!t = tensor<?x?x64xf32>

// Only the last template's result may be used after the chain.
func.func @result_escapes(%h0: !t) -> !t {
  // expected-error @below {{braid-interleave: the result of template 'M' is used outside the template chain; only the last template's result may be used after it}}
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %a = braid.layer attention (%m) {braid.template = "*"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  %s = braid.add %m, %a : (!t, !t) -> !t
  return %s : !t
}

// -----

!t = tensor<?x?x64xf32>

// A weight without {L} would be shared by every instance.
func.func @weight_without_index(%h0: !t) -> !t {
  %m = braid.layer mamba2 (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    // expected-error @below {{braid-interleave: weight 'layers.mixer.norm' of template 'M' has no {L} placeholder, so every instance would share it; name it like 'layers.{L}.mixer.in_proj' (weights inside a 'shared' layer may be shared on purpose)}}
    %w = braid.weight "layers.mixer.norm" : tensor<64xf32>
    %y = braid.mul %x, %w : (!t, tensor<64xf32>) -> !t
    braid.yield %y : !t
  }
  %a = braid.layer attention (%m) {braid.template = "*"} : (!t) -> !t {
  ^bb0(%x: !t):
    braid.yield %x : !t
  }
  return %a : !t
}

// -----

!t = tensor<?x?x64xf32>

// Templates are top-level layers of the model function.
func.func @nested_template(%h0: !t) -> !t {
  %p = braid.layer parallel (%h0) {braid.template = "M"} : (!t) -> !t {
  ^bb0(%x: !t):
    // expected-error @below {{braid-interleave: block templates must be top-level layers of the model function, not nested in another layer}}
    %a = braid.layer attention (%x) {braid.template = "*"} : (!t) -> !t {
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
  return %p : !t
}
