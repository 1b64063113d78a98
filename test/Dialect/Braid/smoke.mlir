// RUN: braid-opt %s | FileCheck %s
// CHECK-LABEL: func @smoke
func.func @smoke(%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>) -> tensor<?x?x128xf32> {
  // CHECK: braid.linear
  %y = braid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
  return %y : tensor<?x?x128xf32>
}
