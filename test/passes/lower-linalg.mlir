// RUN: braid-opt %s -split-input-file -braid-lower-linalg | FileCheck %s
// RUN: braid-opt %s -split-input-file -linalg-fuse-elementwise-ops -braid-lower-linalg | FileCheck %s --check-prefix=FUSED
//
// -braid-lower-linalg: each linalg.generic becomes one braid.fused_elementwise
// whose program is its body, whose input_maps are its indexing maps and whose
// reduction is its reduction loops with the combiner and the fill's constant.
// With linalg-fuse-elementwise-ops first, a chain becomes one launch.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d2)>

// An element-wise chain with a broadcast weight: two generics, two programs;
// fused first, one program. The empties, dims and constants are erased.
// CHECK-LABEL: func.func @chain
// CHECK: %[[A:.*]] = braid.fused_elementwise(%arg0, %[[W:.*]]) {input_maps = array<i64: 0, 1, 2, 2>, loop_sizes = array<i64: -1, -1, 8>, program = "in 0; in 1; mul %0 %1", reduction_dims = array<i64>} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
// CHECK: braid.fused_elementwise(%[[A]]) {input_maps = array<i64: 0, 1, 2>, loop_sizes = array<i64: -1, -1, 8>, program = "in 0; exp %0; cst 1; add %1 %2", reduction_dims = array<i64>}
// CHECK-NOT: tensor.
// CHECK-NOT: arith.
// FUSED-LABEL: func.func @chain
// FUSED: braid.fused_elementwise(%arg0, %{{.*}}) {{{.*}}program = "in 0; in 1; mul %0 %1; exp %2; cst 1; add %3 %4"
// FUSED-NOT: braid.fused_elementwise
func.func @chain(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %w = braid.weight "w" : tensor<8xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %m = linalg.generic {indexing_maps = [#id, #row, #id],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %w : tensor<?x?x8xf32>, tensor<8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %p = arith.mulf %a, %c : f32
    linalg.yield %p : f32
  } -> tensor<?x?x8xf32>
  %e2 = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m : tensor<?x?x8xf32>) outs(%e2 : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %q = math.exp %a : f32
    %r = arith.addf %q, %one : f32
    linalg.yield %r : f32
  } -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#drop2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>

// A max over a middle axis: reduce "max", init -inf from the fill, the
// output drops loop 2. Fused first, the producer's exp moves into the
// reduction.
// CHECK-LABEL: func.func @reduce_middle
// CHECK: braid.fused_elementwise(%arg0) {input_maps = array<i64: 0, 1, 2, 3>, loop_sizes = array<i64: -1, -1, 4, 8>, program = "in 0; exp %0", reduction_dims = array<i64>}
// CHECK: braid.fused_elementwise(%{{.*}}) {init = 0xFFF0000000000000 : f64, input_maps = array<i64: 0, 1, 2, 3>, loop_sizes = array<i64: -1, -1, 4, 8>, program = "in 0", reduce = "max", reduction_dims = array<i64: 2>} : (tensor<?x?x4x8xf32>) -> tensor<?x?x8xf32>
// FUSED-LABEL: func.func @reduce_middle
// FUSED: braid.fused_elementwise(%arg0) {init = 0xFFF0000000000000 : f64, {{.*}}program = "in 0; exp %0", reduce = "max", reduction_dims = array<i64: 2>}
// FUSED-NOT: braid.fused_elementwise
func.func @reduce_middle(%x: tensor<?x?x4x8xf32>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x4x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x4x8xf32>
  %e0 = tensor.empty(%b, %t) : tensor<?x?x4x8xf32>
  %ex = linalg.generic {indexing_maps = [#id4, #id4],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x4x8xf32>) outs(%e0 : tensor<?x?x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %q = math.exp %a : f32
    linalg.yield %q : f32
  } -> tensor<?x?x4x8xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e : tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %m = linalg.generic {indexing_maps = [#id4, #drop2],
                       iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%ex : tensor<?x?x4x8xf32>) outs(%init : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %acc, %a : f32
    linalg.yield %r : f32
  } -> tensor<?x?x8xf32>
  return %m : tensor<?x?x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc = affine_map<(d0, d1, d2) -> (d0, d1, 0)>

// Comparisons and select: i1 values become 1/0 in the program (uitofp is a
// no-op), cmpf uno x, x is isnan, and a size-1 dim read with the constant 0
// is the broadcast map -1.
// CHECK-LABEL: func.func @select_isnan
// FUSED-LABEL: func.func @select_isnan
// CHECK: braid.fused_elementwise(%arg0, %arg1) {input_maps = array<i64: 0, 1, 2, 0, 1, -1>, loop_sizes = array<i64: -1, -1, 8>, program = "in 0; in 1; gt %0 %1; isnan %0; select %2 %1 %3", reduction_dims = array<i64>}
func.func @select_isnan(%x: tensor<?x?x8xf32>, %m: tensor<?x?x1xf32>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %y = linalg.generic {indexing_maps = [#id3, #bc, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %m : tensor<?x?x8xf32>, tensor<?x?x1xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %gt = arith.cmpf ogt, %a, %c : f32
    %nan = arith.cmpf uno, %a, %a : f32
    %f = arith.uitofp %nan : i1 to f32
    %s = arith.select %gt, %c, %f : f32
    linalg.yield %s : f32
  } -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d2)>

// The same tensor read twice with the same map (as fusion leaves it) is one
// input: each input costs the kernel a buffer.
// CHECK-LABEL: func.func @dedup
// CHECK: braid.fused_elementwise(%arg0, %arg1) {input_maps = array<i64: 0, 1, 2, 2>, loop_sizes = array<i64: -1, -1, 8>, program = "in 0; in 0; mul %0 %1; in 1; add %2 %3", reduction_dims = array<i64>} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
// FUSED-LABEL: func.func @dedup
func.func @dedup(%x: tensor<?x?x8xf32>, %w: tensor<8xf32>, %e: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %y = linalg.generic {indexing_maps = [#id3, #id3, #row3, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %x, %w : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %p, %c : f32
    linalg.yield %s : f32
  } -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
