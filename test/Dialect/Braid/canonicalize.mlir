// Folds and canonicalization patterns of the braid dialect, with negative
// cases that must come out unchanged.
//
// RUN: braid-opt %s -canonicalize -split-input-file | FileCheck %s

// activation: an identity activation folds to its input.
// CHECK-LABEL: func @identity_activation_folds(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NOT: braid.activation
// CHECK: return %[[X]] : tensor<?x?x64xf32>
func.func @identity_activation_folds(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.activation identity %x : tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// activation: a non-identity activation stays (negative).
// CHECK-LABEL: func @silu_activation_kept(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.activation silu %[[X]] : tensor<?x?x64xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x?x64xf32>
func.func @silu_activation_kept(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.activation silu %x : tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// activation: identity folds inside a layer body too, leaving the yield of the block argument.
// CHECK-LABEL: func @identity_activation_in_layer(
// CHECK: braid.layer mlp
// CHECK-NEXT: ^bb0(%[[A:arg[0-9]+]]: tensor<?x?x64xf32>):
// CHECK-NEXT: braid.yield %[[A]] : tensor<?x?x64xf32>
func.func @identity_activation_in_layer(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.layer mlp (%x) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%a: tensor<?x?x64xf32>):
    %1 = braid.activation identity %a : tensor<?x?x64xf32>
    braid.yield %1 : tensor<?x?x64xf32>
  }
  return %0 : tensor<?x?x64xf32>
}

// -----

// scale: a factor of 1 folds away.
// CHECK-LABEL: func @scale_by_one_folds(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NOT: braid.scale
// CHECK: return %[[X]] : tensor<?x?x64xf32>
func.func @scale_by_one_folds(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.scale %x {factor = 1.0 : f64} : tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// scale: a factor other than 1 stays (negative).
// CHECK-LABEL: func @scale_kept(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.scale %[[X]] {factor = 1.200000e+01 : f64} : tensor<?x?x64xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x?x64xf32>
func.func @scale_kept(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.scale %x {factor = 12.0 : f64} : tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// scale: nested scales combine into one with the product of the factors.
// CHECK-LABEL: func @nested_scales_combine(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.scale %[[X]] {factor = 3.000000e+00 : f64} : tensor<?x?x64xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x?x64xf32>
func.func @nested_scales_combine(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.scale %x {factor = 1.2e+01 : f64} : tensor<?x?x64xf32>
  %1 = braid.scale %0 {factor = 2.5e-01 : f64} : tensor<?x?x64xf32>
  return %1 : tensor<?x?x64xf32>
}

// -----

// scale: a chain of three scales becomes one.
// CHECK-LABEL: func @scale_chain_combines(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.scale %[[X]] {factor = 2.400000e+01 : f64} : tensor<?x?x64xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x?x64xf32>
func.func @scale_chain_combines(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.scale %x {factor = 2.0 : f64} : tensor<?x?x64xf32>
  %1 = braid.scale %0 {factor = 3.0 : f64} : tensor<?x?x64xf32>
  %2 = braid.scale %1 {factor = 4.0 : f64} : tensor<?x?x64xf32>
  return %2 : tensor<?x?x64xf32>
}

// -----

// scale: nested scales whose product is 1 disappear entirely.
// CHECK-LABEL: func @nested_scales_cancel(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NOT: braid.scale
// CHECK: return %[[X]] : tensor<?x?x64xf32>
func.func @nested_scales_cancel(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.scale %x {factor = 4.0 : f64} : tensor<?x?x64xf32>
  %1 = braid.scale %0 {factor = 0.25 : f64} : tensor<?x?x64xf32>
  return %1 : tensor<?x?x64xf32>
}

// -----

// scale: an inner scale that has another use stays for that use; the outer one still reads the source.
// CHECK-LABEL: func @nested_scales_shared_inner(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-DAG: %[[A:.+]] = braid.scale %[[X]] {factor = 2.000000e+00 : f64} : tensor<?x?x64xf32>
// CHECK-DAG: %[[B:.+]] = braid.scale %[[X]] {factor = 6.000000e+00 : f64} : tensor<?x?x64xf32>
// CHECK: return %[[A]], %[[B]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @nested_scales_shared_inner(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.scale %x {factor = 2.0 : f64} : tensor<?x?x64xf32>
  %1 = braid.scale %0 {factor = 3.0 : f64} : tensor<?x?x64xf32>
  return %0, %1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// reshape: a reshape to the same type folds away.
// CHECK-LABEL: func @same_type_reshape_folds(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x4x64xf32>)
// CHECK-NOT: braid.reshape
// CHECK: return %[[X]] : tensor<?x?x4x64xf32>
func.func @same_type_reshape_folds(%x: tensor<?x?x4x64xf32>) -> tensor<?x?x4x64xf32> {
  %0 = braid.reshape %x : (tensor<?x?x4x64xf32>) -> tensor<?x?x4x64xf32>
  return %0 : tensor<?x?x4x64xf32>
}

// -----

// reshape: nested reshapes combine into one reshape from the source.
// CHECK-LABEL: func @nested_reshapes_combine(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x256xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.reshape %[[X]] : (tensor<?x?x256xf32>) -> tensor<?x?x8x32xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x?x8x32xf32>
func.func @nested_reshapes_combine(%x: tensor<?x?x256xf32>) -> tensor<?x?x8x32xf32> {
  %0 = braid.reshape %x : (tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32>
  %1 = braid.reshape %0 : (tensor<?x?x4x64xf32>) -> tensor<?x?x8x32xf32>
  return %1 : tensor<?x?x8x32xf32>
}

// -----

// reshape: splitting heads and merging them back cancels out.
// CHECK-LABEL: func @reshape_round_trip_folds(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x256xf32>)
// CHECK-NOT: braid.reshape
// CHECK: return %[[X]] : tensor<?x?x256xf32>
func.func @reshape_round_trip_folds(%x: tensor<?x?x256xf32>) -> tensor<?x?x256xf32> {
  %0 = braid.reshape %x : (tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32>
  %1 = braid.reshape %0 : (tensor<?x?x4x64xf32>) -> tensor<?x?x256xf32>
  return %1 : tensor<?x?x256xf32>
}

// -----

// reshape: a single reshape that changes the type stays (negative).
// CHECK-LABEL: func @reshape_kept(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x256xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.reshape %[[X]] : (tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x?x4x64xf32>
func.func @reshape_kept(%x: tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32> {
  %0 = braid.reshape %x : (tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32>
  return %0 : tensor<?x?x4x64xf32>
}

// -----

// concat: a concat of one input of the result type folds to that input.
// CHECK-LABEL: func @single_input_concat_folds(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NOT: braid.concat
// CHECK: return %[[X]] : tensor<?x?x64xf32>
func.func @single_input_concat_folds(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.concat %x {axis = 2 : i64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// concat: a one-input concat whose result type differs (a refined dynamic dim) stays (negative).
// CHECK-LABEL: func @single_input_concat_refining_kept(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.concat %[[X]] {axis = 1 : i64} : (tensor<?x?x64xf32>) -> tensor<2x?x64xf32>
// CHECK-NEXT: return %[[Y]] : tensor<2x?x64xf32>
func.func @single_input_concat_refining_kept(%x: tensor<?x?x64xf32>) -> tensor<2x?x64xf32> {
  %0 = braid.concat %x {axis = 1 : i64} : (tensor<?x?x64xf32>) -> tensor<2x?x64xf32>
  return %0 : tensor<2x?x64xf32>
}

// -----

// concat: a concat of two inputs stays (negative).
// CHECK-LABEL: func @two_input_concat_kept(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[E:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.concat %[[X]], %[[E]] {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x?x128xf32>
func.func @two_input_concat_kept(%x: tensor<?x?x64xf32>, %e: tensor<?x?x64xf32>) -> tensor<?x?x128xf32> {
  %0 = braid.concat %x, %e {axis = 2 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}

// -----

// merge: one-branch sum and mean merges without multipliers fold to the branch.
// CHECK-LABEL: func @one_branch_merge_folds(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NOT: braid.merge
// CHECK: return %[[X]], %[[X]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @one_branch_merge_folds(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.merge sum %x : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %1 = braid.merge mean %x : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0, %1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// merge: a one-branch merge with an explicit multiplier of 1 folds to the branch.
// CHECK-LABEL: func @one_branch_merge_unit_multiplier_folds(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NOT: braid.merge
// CHECK-NOT: braid.scale
// CHECK: return %[[X]] : tensor<?x?x64xf32>
func.func @one_branch_merge_unit_multiplier_folds(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.merge sum %x {multipliers = array<f64: 1.0>} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// merge: a one-branch sum or mean merge with a multiplier becomes braid.scale.
// CHECK-LABEL: func @one_branch_merge_to_scale(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NOT: braid.merge
// CHECK-DAG: %[[A:.+]] = braid.scale %[[X]] {factor = 5.000000e-01 : f64} : tensor<?x?x64xf32>
// CHECK-DAG: %[[B:.+]] = braid.scale %[[X]] {factor = 2.000000e+00 : f64} : tensor<?x?x64xf32>
// CHECK-NOT: braid.merge
// CHECK: return %[[A]], %[[B]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @one_branch_merge_to_scale(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.merge sum %x {multipliers = array<f64: 0.5>} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %1 = braid.merge mean %x {multipliers = array<f64: 2.0>} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0, %1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// merge: the scale made from a one-branch merge combines with a scale feeding it.
// CHECK-LABEL: func @one_branch_merge_scale_chain(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[Y:.+]] = braid.scale %[[X]] {factor = 1.500000e+00 : f64} : tensor<?x?x64xf32>
// CHECK-NEXT: return %[[Y]] : tensor<?x?x64xf32>
func.func @one_branch_merge_scale_chain(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.scale %x {factor = 3.0 : f64} : tensor<?x?x64xf32>
  %1 = braid.merge sum %0 {multipliers = array<f64: 0.5>} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %1 : tensor<?x?x64xf32>
}

// -----

// merge: all-one multipliers are dropped from a multi-branch merge.
// CHECK-LABEL: func @unit_multipliers_dropped(
// CHECK-SAME: %[[A:arg[0-9]+]]: tensor<?x?x64xf32>, %[[S:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[M:.+]] = braid.merge sum %[[A]], %[[S]] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[N:.+]] = braid.merge mean %[[A]], %[[S]], %[[A]] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[M]], %[[N]]
func.func @unit_multipliers_dropped(%a: tensor<?x?x64xf32>, %s: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.merge sum %a, %s {multipliers = array<f64: 1.0, 1.0>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %1 = braid.merge mean %a, %s, %a {multipliers = array<f64: 1.0, 1.0, 1.0>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0, %1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// merge: a merge with non-unit multipliers stays as it is (negative).
// CHECK-LABEL: func @non_unit_multipliers_kept(
// CHECK-SAME: %[[A:arg[0-9]+]]: tensor<?x?x64xf32>, %[[S:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[M:.+]] = braid.merge sum %[[A]], %[[S]] {multipliers = array<f64: 1.000000e+00, 5.000000e-01>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[M]]
func.func @non_unit_multipliers_kept(%a: tensor<?x?x64xf32>, %s: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.merge sum %a, %s {multipliers = array<f64: 1.0, 0.5>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// merge: a plain sum of two parallel branches stays (negative).
// CHECK-LABEL: func @two_branch_merge_kept(
// CHECK-SAME: %[[A:arg[0-9]+]]: tensor<?x?x64xf32>, %[[S:arg[0-9]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[M:.+]] = braid.merge sum %[[A]], %[[S]] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[M]]
func.func @two_branch_merge_kept(%a: tensor<?x?x64xf32>, %s: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.merge sum %a, %s : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// merge: the parallel merge of a Falcon-H1 style block keeps both branches and its multipliers (negative).
// CHECK-LABEL: func @parallel_layer_merge_kept(
// CHECK: braid.layer parallel
// CHECK: %[[A:.+]] = braid.layer attention
// CHECK: %[[M:.+]] = braid.layer mamba2
// CHECK: %[[R:.+]] = braid.merge sum %[[A]], %[[M]] {multipliers = array<f64: 1.000000e+00, 2.500000e-01>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: braid.yield %[[R]]
func.func @parallel_layer_merge_kept(%h: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = braid.layer parallel (%h) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  ^bb0(%x: tensor<?x?x64xf32>):
    %a = braid.layer attention (%x) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%y: tensor<?x?x64xf32>):
      %s = braid.activation silu %y : tensor<?x?x64xf32>
      braid.yield %s : tensor<?x?x64xf32>
    }
    %m = braid.layer mamba2 (%x) : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    ^bb0(%y: tensor<?x?x64xf32>):
      %g = braid.activation gelu %y : tensor<?x?x64xf32>
      braid.yield %g : tensor<?x?x64xf32>
    }
    %r = braid.merge sum %a, %m {multipliers = array<f64: 1.0, 0.25>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    braid.yield %r : tensor<?x?x64xf32>
  }
  return %0 : tensor<?x?x64xf32>
}

// -----

// merge: one-branch concat_proj and attention merges stay, their weights still apply (negative).
// CHECK-LABEL: func @one_branch_weighted_merge_kept(
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<?x?x64xf32>, %[[WP:arg[0-9]+]]: tensor<64x64xf32>, %[[WS:arg[0-9]+]]: tensor<64xf32>)
// CHECK-NEXT: %[[P:.+]] = braid.merge concat_proj %[[X]] weight %[[WP]] : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: %[[S:.+]] = braid.merge attention %[[X]] weight %[[WS]] : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT: return %[[P]], %[[S]]
func.func @one_branch_weighted_merge_kept(%x: tensor<?x?x64xf32>, %wp: tensor<64x64xf32>, %ws: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %0 = braid.merge concat_proj %x weight %wp : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %1 = braid.merge attention %x weight %ws : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0, %1 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
