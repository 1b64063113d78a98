//===- OnnxModel.cpp - read an ONNX ModelProto ----------------------------===//
//
// The only file that includes protobuf-generated headers: everything past
// loadModel works on the plain structures of OnnxModel.h.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/OnnxModel.h"

#include "compiler/frontends/Diagnostics.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/unknown_field_set.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace llvm;
using braid::frontend::errorIn;

namespace braid {
namespace onnx {

std::string elemTypeName(ElemType type) {
  switch (type) {
  case ElemType::Float:
    return "FLOAT";
  case ElemType::UInt8:
    return "UINT8";
  case ElemType::Int8:
    return "INT8";
  case ElemType::UInt16:
    return "UINT16";
  case ElemType::Int16:
    return "INT16";
  case ElemType::Int32:
    return "INT32";
  case ElemType::Int64:
    return "INT64";
  case ElemType::String:
    return "STRING";
  case ElemType::Bool:
    return "BOOL";
  case ElemType::Float16:
    return "FLOAT16";
  case ElemType::Double:
    return "DOUBLE";
  case ElemType::UInt32:
    return "UINT32";
  case ElemType::UInt64:
    return "UINT64";
  case ElemType::BFloat16:
    return "BFLOAT16";
  case ElemType::Undefined:
    break;
  }
  return "type " + std::to_string(static_cast<int32_t>(type));
}

/// Bytes per element of the types whose data the importer can hold; 0 for
/// the others (strings, sub-byte and 8-bit float types).
static size_t byteWidth(ElemType type) {
  switch (type) {
  case ElemType::Float:
  case ElemType::Int32:
  case ElemType::UInt32:
    return 4;
  case ElemType::Int64:
  case ElemType::UInt64:
  case ElemType::Double:
    return 8;
  case ElemType::Float16:
  case ElemType::BFloat16:
  case ElemType::Int16:
  case ElemType::UInt16:
    return 2;
  case ElemType::Int8:
  case ElemType::UInt8:
  case ElemType::Bool:
    return 1;
  default:
    return 0;
  }
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) { // inf / nan
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) { // normal
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) { // zero
    bits = sign;
  } else { // subnormal: renormalize
    exponent = 113;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::vector<float> Tensor::toFloats() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  const char *p = bytes.data();
  for (size_t i = 0; i < out.size(); ++i) {
    if (type == ElemType::Float) {
      std::memcpy(&out[i], p + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      if (type == ElemType::Float16) {
        out[i] = halfToFloat(h);
      } else { // bfloat16: the high half of an f32
        uint32_t bits = uint32_t(h) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
    }
  }
  return out;
}

std::vector<int64_t> Tensor::toInts() const {
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    if (type == ElemType::Int64) {
      std::memcpy(&out[i], bytes.data() + 8 * i, 8);
    } else {
      int32_t v;
      std::memcpy(&v, bytes.data() + 4 * i, 4);
      out[i] = v;
    }
  }
  return out;
}

std::string Node::label() const {
  return name.empty() ? "#" + std::to_string(index) : name;
}

const Attribute *Node::attr(StringRef key) const {
  auto it = attributes.find(key.str());
  return it == attributes.end() ? nullptr : &it->second;
}

namespace {

/// Converts protobuf messages; the first failure is kept in `error`.
class Reader {
public:
  explicit Reader(StringRef path) : path(path.str()) {}

  Expected<Model> read(const ::onnx::ModelProto &proto);

private:
  Error fail(const Twine &message) { return errorIn(path, message); }

  Error readOpsets(const ::onnx::ModelProto &proto, Model &model);
  Expected<Tensor> readTensor(const ::onnx::TensorProto &proto);
  Error readTypedFields(const ::onnx::TensorProto &proto, Tensor &tensor);
  Error readExternal(const ::onnx::TensorProto &proto, Tensor &tensor);
  ValueInfo readValueInfo(const ::onnx::ValueInfoProto &proto);
  Expected<Node> readNode(const ::onnx::NodeProto &proto, size_t index);

  std::string path;
};

} // namespace

Error Reader::readOpsets(const ::onnx::ModelProto &proto, Model &model) {
  for (const auto &opset : proto.opset_import()) {
    std::string domain = opset.domain() == "ai.onnx" ? "" : opset.domain();
    int64_t version = opset.version();
    if (domain.empty() && version > kMaxOnnxOpset)
      return fail(formatv("opset {0} of the ai.onnx domain is newer than "
                          "this importer reads (up to {1})",
                          version, kMaxOnnxOpset));
    if (!domain.empty() && domain != "com.microsoft" && domain != "braid")
      return fail("opset import of unsupported domain '" + domain +
                  "' (version " + Twine(version) +
                  "); Braid reads ai.onnx, com.microsoft and braid");
    model.opsets[domain] = version;
  }
  if (!model.opsets.count(""))
    return fail("the model imports no ai.onnx opset");
  return Error::success();
}

Error Reader::readTypedFields(const ::onnx::TensorProto &proto,
                              Tensor &tensor) {
  auto put = [&](const void *value, size_t width) {
    tensor.bytes.append(static_cast<const char *>(value), width);
  };
  switch (tensor.type) {
  case ElemType::Float:
    for (float v : proto.float_data())
      put(&v, 4);
    return Error::success();
  case ElemType::Int64:
    for (int64_t v : proto.int64_data())
      put(&v, 8);
    return Error::success();
  case ElemType::Double:
    for (double v : proto.double_data())
      put(&v, 8);
    return Error::success();
  case ElemType::Int32:
  case ElemType::Int16:
  case ElemType::UInt16:
  case ElemType::Int8:
  case ElemType::UInt8:
  case ElemType::Bool:
  case ElemType::Float16:
  case ElemType::BFloat16: {
    // ONNX stores these widened to int32_data (16-bit floats as their bits).
    size_t width = byteWidth(tensor.type);
    for (int32_t v : proto.int32_data())
      put(&v, width); // little endian: the low bytes come first
    return Error::success();
  }
  default:
    return fail("tensor '" + tensor.name + "' has data type " +
                elemTypeName(tensor.type) + ", which Braid cannot read");
  }
}

Error Reader::readExternal(const ::onnx::TensorProto &proto, Tensor &tensor) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const auto &entry : proto.external_data()) {
    uint64_t number = 0;
    bool isNumber = !StringRef(entry.value()).getAsInteger(10, number);
    if (entry.key() == "location")
      location = entry.value();
    else if ((entry.key() == "offset" || entry.key() == "length") && !isNumber)
      return fail("tensor '" + tensor.name + "' has external data " +
                  entry.key() + " '" + entry.value() + "', not a number");
    else if (entry.key() == "offset")
      offset = number;
    else if (entry.key() == "length")
      length = number;
  }
  if (location.empty())
    return fail("tensor '" + tensor.name +
                "' has external data without a 'location'");
  SmallString<256> file(sys::path::parent_path(path));
  sys::path::append(file, location);
  auto buffer = MemoryBuffer::getFile(file, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail("tensor '" + tensor.name +
                "': cannot read its external "
                "data file '" +
                file + "': " + buffer.getError().message());
  uint64_t size = (*buffer)->getBufferSize();
  uint64_t count = length ? *length : size - std::min(offset, size);
  if (offset > size || count > size - offset)
    return fail(formatv("tensor '{0}': external data [{1}, {2}) lies outside "
                        "'{3}' ({4} bytes)",
                        tensor.name, offset, offset + count, file, size));
  tensor.bytes.assign((*buffer)->getBufferStart() + offset, count);
  return Error::success();
}

Expected<Tensor> Reader::readTensor(const ::onnx::TensorProto &proto) {
  Tensor tensor;
  tensor.name = proto.name();
  tensor.type = static_cast<ElemType>(proto.data_type());
  for (int64_t d : proto.dims()) {
    if (d < 0)
      return fail("tensor '" + tensor.name + "' has a negative dimension");
    tensor.shape.push_back(d);
  }
  size_t width = byteWidth(tensor.type);
  if (width == 0)
    return fail("tensor '" + tensor.name + "' has data type " +
                elemTypeName(tensor.type) + ", which Braid cannot read");
  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL) {
    if (Error error = readExternal(proto, tensor))
      return std::move(error);
  } else if (proto.has_raw_data()) {
    tensor.bytes = proto.raw_data();
  } else if (Error error = readTypedFields(proto, tensor)) {
    return std::move(error);
  }
  uint64_t expected = uint64_t(tensor.numel()) * width;
  if (tensor.bytes.size() != expected)
    return fail(formatv("tensor '{0}' holds {1} bytes, but its shape and "
                        "type {2} need {3} (truncated or corrupted data)",
                        tensor.name, tensor.bytes.size(),
                        elemTypeName(tensor.type), expected));
  return tensor;
}

ValueInfo Reader::readValueInfo(const ::onnx::ValueInfoProto &proto) {
  ValueInfo info;
  info.name = proto.name();
  if (!proto.type().has_tensor_type())
    return info;
  const auto &tensorType = proto.type().tensor_type();
  info.type = static_cast<ElemType>(tensorType.elem_type());
  if (!tensorType.has_shape())
    return info;
  std::vector<Dim> dims;
  for (const auto &dim : tensorType.shape().dim()) {
    Dim d;
    if (dim.has_dim_value())
      d.value = dim.dim_value();
    else if (dim.has_dim_param())
      d.symbol = dim.dim_param();
    dims.push_back(std::move(d));
  }
  info.shape = std::move(dims);
  return info;
}

/// The double nearest the shortest decimal that round-trips `value`.
static double shortestDecimal(float value) {
  char text[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, double(value));
    double candidate = std::strtod(text, nullptr);
    if (float(candidate) == value)
      return candidate;
  }
  return value;
}

Expected<Node> Reader::readNode(const ::onnx::NodeProto &proto, size_t index) {
  Node node;
  node.name = proto.name();
  node.opType = proto.op_type();
  node.domain = proto.domain() == "ai.onnx" ? "" : proto.domain();
  node.index = index;
  node.inputs.assign(proto.input().begin(), proto.input().end());
  node.outputs.assign(proto.output().begin(), proto.output().end());
  for (const auto &a : proto.attribute()) {
    Attribute attr;
    switch (a.type()) {
    case ::onnx::AttributeProto::FLOAT:
      attr.kind = Attribute::Float;
      attr.f = shortestDecimal(a.f());
      break;
    case ::onnx::AttributeProto::INT:
      attr.kind = Attribute::Int;
      attr.i = a.i();
      break;
    case ::onnx::AttributeProto::STRING:
      attr.kind = Attribute::String;
      attr.s = a.s();
      break;
    case ::onnx::AttributeProto::TENSOR: {
      attr.kind = Attribute::Tensor;
      Expected<Tensor> t = readTensor(a.t());
      if (!t)
        return t.takeError();
      attr.t = std::move(*t);
      break;
    }
    case ::onnx::AttributeProto::FLOATS:
      attr.kind = Attribute::Floats;
      attr.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case ::onnx::AttributeProto::INTS:
      attr.kind = Attribute::Ints;
      attr.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case ::onnx::AttributeProto::STRINGS:
      attr.kind = Attribute::Strings;
      attr.strings.assign(a.strings().begin(), a.strings().end());
      break;
    default:
      attr.kind = Attribute::Other;
      break;
    }
    node.attributes[a.name()] = std::move(attr);
  }
  // NodeProto.metadata_props (field 9, onnx >= 1.16): torch.onnx records
  // the nn.Module scope of each node there; raising uses it to delimit
  // candidate subgraphs (RaisePatterns.h). Debian's onnx.proto predates the
  // field, so it arrives as unknown fields of StringStringEntryProto.
  const auto &unknown = proto.unknown_fields();
  for (int i = 0; i < unknown.field_count(); ++i) {
    const auto &field = unknown.field(i);
    ::onnx::StringStringEntryProto entry;
    if (field.number() == 9 &&
        field.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED &&
        entry.ParseFromString(field.length_delimited()))
      node.metadata[entry.key()] = entry.value();
  }
  return node;
}

Expected<Model> Reader::read(const ::onnx::ModelProto &proto) {
  Model model;
  model.path = path;
  if (!proto.has_graph() || proto.ir_version() <= 0)
    return fail("not an ONNX model: the file parses but has no graph or IR "
                "version (truncated, or another kind of file)");
  if (Error error = readOpsets(proto, model))
    return std::move(error);
  const auto &graph = proto.graph();
  model.graphName = graph.name();
  for (const auto &init : graph.initializer()) {
    Expected<Tensor> tensor = readTensor(init);
    if (!tensor)
      return tensor.takeError();
    std::string name = tensor->name;
    model.initializers[name] = std::move(*tensor);
  }
  for (const auto &input : graph.input())
    if (!model.initializers.count(input.name())) // old exports list them
      model.inputs.push_back(readValueInfo(input));
  for (const auto &output : graph.output())
    model.outputs.push_back(readValueInfo(output));
  for (const auto &info : graph.value_info())
    model.valueInfo[info.name()] = readValueInfo(info);
  for (int i = 0; i < graph.node_size(); ++i) {
    Expected<Node> node = readNode(graph.node(i), size_t(i));
    if (!node)
      return node.takeError();
    model.nodes.push_back(std::move(*node));
  }
  return model;
}

Expected<Model> parseModel(StringRef bytes, StringRef path) {
  ::onnx::ModelProto proto;
  if (bytes.empty())
    return errorIn(path, "not an ONNX model: the file is empty");
  if (!proto.ParseFromArray(bytes.data(), int(bytes.size())))
    return errorIn(path, "not an ONNX model: the protobuf does not parse "
                         "(truncated or corrupted file?)");
  return Reader(path).read(proto);
}

Expected<Model> loadModel(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
  if (!buffer)
    return errorIn(path,
                   "cannot read the file: " + buffer.getError().message());
  if ((*buffer)->getBufferSize() > uint64_t(INT32_MAX))
    return errorIn(path, "the model is larger than 2 GiB: keep its weights "
                         "as external data");
  return parseModel((*buffer)->getBuffer(), path);
}

} // namespace onnx
} // namespace braid
