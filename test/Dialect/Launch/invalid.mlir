// Negative tests of the launch dialect: one case per verifier rule of
// LaunchDialect.cpp (#launch.buffer, launch.weight, launch.state,
// launch.kernel), the parse errors of the custom buffer and shape syntax, and
// the ODS-level constraints users hit (parent op, required attributes).
//
// RUN: braid-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// #launch.buffer: verifier
//===----------------------------------------------------------------------===//

// buffer: an arena offset must not be negative.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{arena offset is -64, must not be negative}}
  launch.kernel "k" "" [#launch.buffer<arena -64 : [B, T, 4] x f32>] -> [] attrs {}
}

// -----

// buffer: arena buffers start with [B, T] (here swapped).
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{arena buffers have shape [B, T, ...]}}
  launch.kernel "k" "" [#launch.buffer<arena 0 : [T, B, 4] x f32>] -> [] attrs {}
}

// -----

// buffer: arena buffers have rank >= 2 (a [B] buffer is not per token).
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{arena buffers have shape [B, T, ...]}}
  launch.kernel "k" "" [#launch.buffer<arena 0 : [B] x f32>] -> [] attrs {}
}

// -----

// buffer: an arena buffer with a static token dimension other than 1 (one
// row per sequence) is not per token.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{arena buffers have shape [B, T, ...] or [B, 1, ...]}}
  launch.kernel "k" "" [#launch.buffer<arena 0 : [B, 2, 64] x f32>] -> [] attrs {}
}

// -----

// buffer: a static dimension of an arena buffer must be positive; the message
// counts dimensions from the start of the shape (B is dim 0).
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{arena buffer dim 3 is 0, must be positive}}
  launch.kernel "k" "" [#launch.buffer<arena 0 : [B, T, 4, 0] x f32>] -> [] attrs {}
}

// -----

// buffer: a static dimension of a named buffer must be positive.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{weight buffer dim 1 is 0, must be positive}}
  launch.kernel "k" "" [#launch.buffer<weight "w" : [4, 0] x f32>] -> [] attrs {}
}

// -----

// buffer: after [B, T], arena dimensions are static (no symbol).
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{arena buffer dim 2 is S, a symbol not allowed here}}
  launch.kernel "k" "" [#launch.buffer<arena 0 : [B, T, S] x f32>] -> [] attrs {}
}

// -----

// buffer: weight, state, input and output buffers need a name.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{weight buffers need a name}}
  launch.kernel "k" "" [#launch.buffer<weight "" : [4] x f32>] -> [] attrs {}
}

// -----

// buffer: the same rule for a state buffer in the results.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{state buffers need a name}}
  launch.kernel "k" "" [] -> [#launch.buffer<state "" : [B, 4] x f32>] attrs {}
}

// -----

// buffer: the element type must be an integer or float type.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{buffer element type 'index' is not an integer or float type}}
  launch.kernel "k" "" [#launch.buffer<input "input_ids" : [B, T] x index>] -> [] attrs {}
}

// -----

// buffer: the element type rule holds for arena buffers too (their size per
// token is computed from it).
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{buffer element type 'vector<4xf32>' is not an integer or float type}}
  launch.kernel "k" "" [#launch.buffer<arena 0 : [B, T, 4] x vector<4xf32>>] -> [] attrs {}
}

//===----------------------------------------------------------------------===//
// #launch.buffer: parse errors
//===----------------------------------------------------------------------===//

// -----

// buffer: the kind is one of arena, weight, state, input, output.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{unknown buffer kind 'scratch'; expected arena, weight, state, input or output}}
  launch.kernel "k" "" [#launch.buffer<scratch 0 : [B, T, 4] x f32>] -> [] attrs {}
}

// -----

// buffer: a named kind takes a string, not an offset.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{expected string}}
  launch.kernel "k" "" [#launch.buffer<weight 0 : [4] x f32>] -> [] attrs {}
}

// -----

// buffer: a negative number is not a dimension (-1..-3 would otherwise be
// read as B, T, S).
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{dimension -1 is negative; expected a size or B, T, S}}
  launch.kernel "k" "" [#launch.buffer<arena 0 : [-1, T, 4] x f32>] -> [] attrs {}
}

// -----

// buffer: a dimension is a number or one of the symbols B, T, S.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{expected integer value}}
  launch.kernel "k" "" [#launch.buffer<arena 0 : [B, T, N] x f32>] -> [] attrs {}
}

//===----------------------------------------------------------------------===//
// launch.weight
//===----------------------------------------------------------------------===//

// -----

// weight: combine is single, concat, stack or stack_of_concat.
// expected-error @+1 {{'launch.weight' op combine 'merge' is not one of single, concat, stack, stack_of_concat}}
launch.weight "w" : [4] x f32 {combine = "merge", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "w", shape = array<i64: 4>}]}

// -----

// weight: elementwise is identity or neg_exp.
// expected-error @+1 {{'launch.weight' op elementwise 'exp' is not identity or neg_exp}}
launch.weight "w" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "exp", sources = [{tensor = "w", shape = array<i64: 4>}]}

// -----

// weight: at least one source tensor.
// expected-error @+1 {{'launch.weight' op weight 'w' has no sources}}
launch.weight "w" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = []}

// -----

// weight: a source is a dictionary, not a bare name.
// expected-error @+1 {{'launch.weight' op source #0 must be {tensor = "...", shape = array<i64: ...>}}
launch.weight "w" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = ["w"]}

// -----

// weight: a source names its tensor (the second source lacks it).
// expected-error @+1 {{'launch.weight' op source #1 must be {tensor = "...", shape = array<i64: ...>}}
launch.weight "w" : [8] x f32 {combine = "concat", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "a", shape = array<i64: 4>}, {shape = array<i64: 4>}]}

// -----

// weight: a source's shape is an i64 array, not a list of integers.
// expected-error @+1 {{'launch.weight' op source #0 must be {tensor = "...", shape = array<i64: ...>}}
launch.weight "w" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "w", shape = [4]}]}

// -----

// weight: weights have static shapes, no symbol.
// expected-error @+1 {{'launch.weight' op weight dim 1 is B, a symbol not allowed here}}
launch.weight "w" : [4, B] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "w", shape = array<i64: 4>}]}

// -----

// weight: static dimensions are positive (generic form, where the shape is a
// plain i64 array).
// expected-error @+1 {{'launch.weight' op weight dim 0 is -7, must be positive}}
"launch.weight"() <{name = "w", shape = array<i64: -7>, element_type = f32, combine = "single",
    axis = 0 : i64, group_size = 0 : i64, elementwise = "identity",
    sources = [{tensor = "w", shape = array<i64: 4>}]}> : () -> ()

// -----

// weight (ODS): combine is required.
// expected-error @+1 {{'launch.weight' op requires attribute 'combine'}}
launch.weight "w" : [4] x f32 {axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "w", shape = array<i64: 4>}]}

//===----------------------------------------------------------------------===//
// launch.state
//===----------------------------------------------------------------------===//

// -----

// state: a state persists across calls, so its shape cannot use T.
// expected-error @+1 {{'launch.state' op state dim 2 is T, a symbol not allowed here}}
launch.state "layers.1.mixer.k_cache" : [B, 2, T, 16] x f32

// -----

// state: static dimensions are positive.
// expected-error @+1 {{'launch.state' op state dim 2 is 0, must be positive}}
launch.state "layers.0.mixer.conv_state" : [B, 160, 0] x f32

//===----------------------------------------------------------------------===//
// launch.kernel
//===----------------------------------------------------------------------===//

// -----

// kernel: the family names a kernel.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{'launch.kernel' op needs a kernel family}}
  launch.kernel "" "" [] -> [] attrs {}
}

// -----

// kernel: operands are buffers or unit (an absent optional operand).
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{'launch.kernel' op operand #1 must be a #launch.buffer or unit (absent)}}
  launch.kernel "linear" "" [#launch.buffer<arena 0 : [B, T, 4] x f32>, 5 : i64] -> [] attrs {}
}

// -----

// kernel: a result is always a buffer, never unit.
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{'launch.kernel' op result #0 must be a #launch.buffer}}
  launch.kernel "linear" "" [] -> [unit] attrs {}
}

// -----

// kernel: launches live inside an entry function.
// expected-error @+1 {{'launch.kernel' op expects parent op 'launch.entry'}}
launch.kernel "linear" "" [] -> [] attrs {}

// -----

// kernel (ODS): attrs is a dictionary (rejected when the generic form's
// properties are converted).
launch.entry "prefill" attributes {inputs = [], outputs = []} {
  // expected-error @+1 {{Invalid attribute `attrs` in property conversion: [1]}}
  "launch.kernel"() <{family = "linear", source = "", operands = [], results = [], attrs = [1]}> : () -> ()
}

//===----------------------------------------------------------------------===//
// launch.entry
//===----------------------------------------------------------------------===//

// -----

// entry (ODS): inputs name buffers by string.
// expected-error @+1 {{'launch.entry' op attribute 'inputs' failed to satisfy constraint: string array attribute}}
launch.entry "prefill" attributes {inputs = [1], outputs = []} {
}
