//===- OnnxModel.h - an ONNX model as plain C++ data ------------*- C++ -*-===//
//
// Reads an ONNX ModelProto (Debian's libonnx-dev / libprotobuf) into plain
// structures, so that the importer never touches protobuf types: the nodes
// in graph order with their attributes, the graph inputs and outputs with
// their (possibly symbolic) dimensions, value_info shapes, the opset of every
// domain, and the initializers with their bytes (raw_data or typed fields,
// or external data read from the file next to the model).
//
// Loading checks what does not depend on the ops: the file parses as a
// ModelProto with a graph, every opset import is a domain Braid knows at a
// version it reads (ai.onnx <= 23, com.microsoft, braid), and every
// initializer's bytes match its shape. Errors are one line,
// `model.onnx: error: ...`, naming the tensor or node at fault.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_FRONTENDS_ONNX_ONNXMODEL_H
#define BRAID_FRONTENDS_ONNX_ONNXMODEL_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace braid {
namespace onnx {

/// The newest ai.onnx opset the importer reads.
constexpr int64_t kMaxOnnxOpset = 23;

/// ONNX TensorProto.DataType values the importer cares about (the numbers
/// are the ONNX enum's).
enum class ElemType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  BFloat16 = 16,
};

/// The ONNX spelling ("FLOAT", "BFLOAT16", ...), or "type N".
std::string elemTypeName(ElemType type);

/// One dimension of a declared shape: a number, a symbol ("batch"), or
/// unknown (neither set).
struct Dim {
  std::optional<int64_t> value;
  std::string symbol;
};

/// A graph input, output or value_info entry.
struct ValueInfo {
  std::string name;
  ElemType type = ElemType::Undefined;
  /// Absent when the proto gives no shape at all.
  std::optional<std::vector<Dim>> shape;
};

/// An initializer or the value of a Constant node. Data is kept as the
/// little-endian bytes of `type`; `toFloats`/`toInts` convert.
struct Tensor {
  std::string name;
  ElemType type = ElemType::Undefined;
  std::vector<int64_t> shape;
  std::string bytes;

  int64_t numel() const;
  bool isFloat() const {
    return type == ElemType::Float || type == ElemType::Float16 ||
           type == ElemType::BFloat16;
  }
  bool isInt() const {
    return type == ElemType::Int64 || type == ElemType::Int32;
  }
  /// FLOAT, FLOAT16, BFLOAT16 as f32 values; call only when isFloat().
  std::vector<float> toFloats() const;
  /// INT64 or INT32 values; call only when isInt().
  std::vector<int64_t> toInts() const;
};

struct Attribute {
  enum Kind { Float, Int, String, Tensor, Floats, Ints, Strings, Other };
  Kind kind = Other;
  /// FLOAT attributes as the shortest decimal that reads back as the same
  /// f32 (1e-5f is 1e-5, not 9.99999974e-6), so IR attributes print cleanly.
  double f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  /// Only for Kind::Tensor (Constant's `value`).
  std::optional<onnx::Tensor> t;
};

struct Node {
  std::string name;
  std::string opType;
  /// "" for ai.onnx.
  std::string domain;
  /// Empty strings are absent optional inputs/outputs.
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attributes;
  /// metadata_props (torch.onnx: pkg.torch.onnx.name_scopes, ...).
  std::map<std::string, std::string> metadata;
  /// Position in the graph, for messages when the node has no name.
  size_t index = 0;

  /// `name`, or "#N" (the node's index) when the export left it empty.
  std::string label() const;
  const Attribute *attr(llvm::StringRef key) const;
};

struct Model {
  /// The path the model was read from (for messages and external data).
  std::string path;
  std::string graphName;
  /// Opset version per domain ("" is ai.onnx).
  std::map<std::string, int64_t> opsets;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::map<std::string, ValueInfo> valueInfo;
  std::map<std::string, onnx::Tensor> initializers;
  std::vector<Node> nodes;
};

/// Reads and checks `path` as described at the top of this file.
llvm::Expected<Model> loadModel(llvm::StringRef path);

/// Parses model bytes already in memory (for tests); `path` names them in
/// messages and locates external data.
llvm::Expected<Model> parseModel(llvm::StringRef bytes, llvm::StringRef path);

} // namespace onnx
} // namespace braid

#endif // BRAID_FRONTENDS_ONNX_ONNXMODEL_H
