//===- OnnxImporter.h - ONNX graph to the braid dialect ---------*- C++ -*-===//
//
// Imports an ONNX model (OnnxModel.h) straight into `braid` IR: one
// `func.func @forward(%input_ids, %positions) -> logits` whose ops come from
// the graph's nodes, one by one, in graph order. Initializers become
// `braid.weight` ops named after the initializer (with a `.T` suffix where
// a MatMul weight had to be transposed to braid's [out, in] layout and the
// plain form is used too), each with a module-level `launch.weight`, and
// their values are packed into a safetensors image that braidc stores as
// the bundle's `weights` section. docs/onnx.md lists the ops and how each
// maps; the `braid` custom domain (SSDScan, SelectiveScan, CausalConv1d,
// GatedRMSNorm) is specified there.
//
// Errors are one line, `model.onnx: error: node 'NAME' (OpType): ...`; a
// graph with ops the importer does not handle yet gets one error listing
// every such op type with its count and first node.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_FRONTENDS_ONNX_ONNXIMPORTER_H
#define BRAID_FRONTENDS_ONNX_ONNXIMPORTER_H

#include "compiler/frontends/onnx/OnnxModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace braid {
namespace onnx {

struct ImportedOnnx {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  /// A complete safetensors image, one F32 tensor per IR weight, named by
  /// IR weight name (docs/bundle.md, section `weights`).
  std::string packedWeights;
  std::string modelName;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
};

/// Imports a loaded model into `context`.
llvm::Expected<ImportedOnnx> importModel(const Model &model,
                                         mlir::MLIRContext &context);

/// loadModel + importModel.
llvm::Expected<ImportedOnnx> importFile(llvm::StringRef path,
                                        mlir::MLIRContext &context);

} // namespace onnx
} // namespace braid

#endif // BRAID_FRONTENDS_ONNX_ONNXIMPORTER_H
