// RUN: braid-opt %s -split-input-file -braid-lower-linalg -verify-diagnostics
//
// -braid-lower-linalg on generics that have no fused_elementwise form: each
// error names the generic (whose location, from the ONNX importer, is the
// node) and the piece without a program form.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// A body op the program does not have (math.sin).
func.func @unsupported_op(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  // expected-error @+1 {{'linalg.generic' op has no fused_elementwise form: 'math.sin' in the body has no program form}}
  %y = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = math.sin %a : f32
    linalg.yield %s : f32
  } -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#shift = affine_map<(d0, d1, d2) -> (d0, d1, d2 + 1)>

// An input map that is neither a loop nor the constant 0 (a shifted read).
func.func @shifted_map(%x: tensor<?x?x9xf32>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x9xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x9xf32>
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  // expected-error @+1 {{'linalg.generic' op has no fused_elementwise form: input 0 reads 'd2 + 1', neither a loop nor the constant 0}}
  %y = linalg.generic {indexing_maps = [#shift, #id],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x9xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#swap = affine_map<(d0, d1, d2) -> (d1, d0, d2)>

// An output map that permutes the parallel loops.
func.func @permuted_output(%x: tensor<?x?x8xf32>, %e: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'linalg.generic' op has no fused_elementwise form: the output map is not the identity on the parallel loops}}
  %y = linalg.generic {indexing_maps = [#id, #swap],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// An element-wise body that reads the output element (an update in place).
func.func @reads_output(%x: tensor<?x?x8xf32>, %e: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  // expected-error @+1 {{'linalg.generic' op has no fused_elementwise form: the body reads the output element}}
  %y = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red = affine_map<(d0, d1, d2) -> (d0, d1)>

// A reduction whose init is not a fill of a constant.
func.func @reduction_init(%x: tensor<?x?x8xf32>, %init: tensor<?x?xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{'linalg.generic' op has no fused_elementwise form: the reduction's init is not a linalg.fill of a constant}}
  %y = linalg.generic {indexing_maps = [#id, #red],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<?x?x8xf32>) outs(%init : tensor<?x?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red = affine_map<(d0, d1, d2) -> (d0, d1)>

// A reduction whose combiner is not acc (+, *, max, min) value.
func.func @reduction_combiner(%x: tensor<?x?x8xf32>, %e: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  // expected-error @+1 {{'linalg.generic' op has no fused_elementwise form: the reduction is not acc (+, *, max, min) value}}
  %y = linalg.generic {indexing_maps = [#id, #red],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<?x?x8xf32>) outs(%init : tensor<?x?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.subf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}
