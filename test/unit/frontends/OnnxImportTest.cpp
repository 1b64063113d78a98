//===- OnnxImportTest.cpp - ONNX loader and importer paths lit cannot reach
//===//
//
// Models are built here as protobuf messages, so each case can set exactly
// the field it is about (typed data fields, unnamed nodes, dangling inputs)
// without a Python generator.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>

using namespace braid::onnx;

namespace {

std::string errorOf(llvm::Error error) {
  return llvm::toString(std::move(error));
}

/// input_ids [batch, seq] -> Gather(embed [8, 4]) -> MatMul(head [4, 8]).
::onnx::ModelProto tinyModel() {
  ::onnx::ModelProto model;
  model.set_ir_version(10);
  model.add_opset_import()->set_version(23);
  ::onnx::GraphProto *graph = model.mutable_graph();
  graph->set_name("tiny");
  auto *ids = graph->add_input();
  ids->set_name("input_ids");
  auto *type = ids->mutable_type()->mutable_tensor_type();
  type->set_elem_type(::onnx::TensorProto::INT64);
  type->mutable_shape()->add_dim()->set_dim_param("batch");
  type->mutable_shape()->add_dim()->set_dim_param("seq");
  graph->add_output()->set_name("logits");
  for (const char *name : {"embed", "head"}) {
    auto *init = graph->add_initializer();
    init->set_name(name);
    init->set_data_type(::onnx::TensorProto::FLOAT);
    init->add_dims(std::strcmp(name, "embed") ? 4 : 8);
    init->add_dims(std::strcmp(name, "embed") ? 8 : 4);
    for (int i = 0; i < 32; ++i)
      init->add_float_data(0.25f * i);
  }
  auto *gather = graph->add_node();
  gather->set_op_type("Gather");
  gather->set_name("embed");
  gather->add_input("embed");
  gather->add_input("input_ids");
  gather->add_output("h");
  auto *matmul = graph->add_node();
  matmul->set_op_type("MatMul");
  matmul->set_name("head");
  matmul->add_input("h");
  matmul->add_input("head");
  matmul->add_output("logits");
  return model;
}

llvm::Expected<ImportedOnnx> import(const ::onnx::ModelProto &proto,
                                    mlir::MLIRContext &context) {
  llvm::Expected<Model> model =
      parseModel(proto.SerializeAsString(), "test.onnx");
  if (!model)
    return model.takeError();
  return importModel(*model, context);
}

TEST(OnnxModel, EmptyAndGraphlessFilesAreNotModels) {
  EXPECT_EQ(errorOf(parseModel("", "e.onnx").takeError()),
            "e.onnx: error: not an ONNX model: the file is empty");
  // A valid protobuf (field 1 = ir_version 7) that holds no graph.
  std::string error = errorOf(parseModel("\x08\x07", "g.onnx").takeError());
  EXPECT_NE(error.find("g.onnx: error: not an ONNX model: the file parses "
                       "but has no graph"),
            std::string::npos)
      << error;
}

TEST(OnnxModel, HalfAndBFloat16Convert) {
  Tensor half;
  half.type = ElemType::Float16;
  half.shape = {4};
  const uint16_t bits[] = {0x3c00, 0xc000, 0x0001, 0x7c00}; // 1, -2, 2^-24, inf
  half.bytes.assign(reinterpret_cast<const char *>(bits), sizeof(bits));
  std::vector<float> f = half.toFloats();
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.0f);
  EXPECT_EQ(f[2], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f[3]));
  Tensor bf = half;
  bf.type = ElemType::BFloat16;
  const uint16_t bfBits[] = {0x3f80, 0xc040, 0, 0}; // 1, -3
  bf.bytes.assign(reinterpret_cast<const char *>(bfBits), sizeof(bfBits));
  f = bf.toFloats();
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -3.0f);
}

TEST(OnnxModel, Float16InTypedFieldsIsRead) {
  // ONNX keeps FLOAT16 typed data as the bit patterns in int32_data.
  ::onnx::ModelProto proto = tinyModel();
  auto *embed = proto.mutable_graph()->mutable_initializer(0);
  embed->clear_float_data();
  embed->set_data_type(::onnx::TensorProto::FLOAT16);
  for (int i = 0; i < 32; ++i)
    embed->add_int32_data(i % 2 ? 0xc000 : 0x3c00); // -2, 1
  llvm::Expected<Model> model = parseModel(proto.SerializeAsString(), "t.onnx");
  ASSERT_TRUE(bool(model)) << errorOf(model.takeError());
  std::vector<float> values = model->initializers.at("embed").toFloats();
  ASSERT_EQ(values.size(), 32u);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -2.0f);
}

TEST(OnnxImport, PacksTransposedWeightsAsSafetensors) {
  mlir::MLIRContext context;
  llvm::Expected<ImportedOnnx> imported = import(tinyModel(), context);
  ASSERT_TRUE(bool(imported)) << errorOf(imported.takeError());
  EXPECT_EQ(imported->vocabSize, 8);
  EXPECT_EQ(imported->hiddenSize, 4);
  const std::string &image = imported->packedWeights;
  uint64_t length = 0;
  std::memcpy(&length, image.data(), 8);
  ASSERT_EQ((8 + length) % 8, 0u) << "data must start 8-byte aligned";
  std::string header = image.substr(8, length);
  EXPECT_NE(header.find("\"head\":{\"data_offsets\":[128,256],\"dtype\":"
                        "\"F32\",\"shape\":[8,4]}"),
            std::string::npos)
      << header;
  // head is [in 4, out 8] in ONNX; braid stores [out, in]: element [n][k]
  // is ONNX [k][n] = 0.25 * (8k + n).
  const float *head =
      reinterpret_cast<const float *>(image.data() + 8 + length + 128);
  EXPECT_EQ(head[0 * 4 + 1], 0.25f * 8);  // n = 0, k = 1
  EXPECT_EQ(head[3 * 4 + 2], 0.25f * 19); // n = 3, k = 2
}

TEST(OnnxImport, UnnamedNodesAreNamedByIndex) {
  ::onnx::ModelProto proto = tinyModel();
  proto.mutable_graph()->mutable_node(1)->clear_name();
  proto.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  mlir::MLIRContext context;
  EXPECT_EQ(errorOf(import(proto, context).takeError()),
            "test.onnx: error: node '#1' (MatMul): input 'nowhere' is not "
            "produced by an earlier node, a graph input or an initializer");
}

TEST(OnnxImport, DomainWithoutOpsetImport) {
  ::onnx::ModelProto proto = tinyModel();
  proto.mutable_graph()->mutable_node(1)->set_domain("com.microsoft");
  mlir::MLIRContext context;
  EXPECT_EQ(errorOf(import(proto, context).takeError()),
            "test.onnx: error: node 'head' (com.microsoft.MatMul): its domain "
            "'com.microsoft' has no opset import in the model");
}

TEST(OnnxImport, OneOutputOnly) {
  ::onnx::ModelProto proto = tinyModel();
  proto.mutable_graph()->add_output()->set_name("h");
  mlir::MLIRContext context;
  std::string error = errorOf(import(proto, context).takeError());
  EXPECT_NE(error.find("the graph has 2 outputs; Braid models return "
                       "exactly one"),
            std::string::npos)
      << error;
}

TEST(OnnxImport, GemmAlphaWithBiasIsRefused) {
  ::onnx::ModelProto proto = tinyModel();
  auto *node = proto.mutable_graph()->mutable_node(1);
  node->set_op_type("Gemm");
  auto *alpha = node->add_attribute();
  alpha->set_name("alpha");
  alpha->set_type(::onnx::AttributeProto::FLOAT);
  alpha->set_f(2.0f);
  auto *bias = proto.mutable_graph()->add_initializer();
  bias->set_name("bias");
  bias->set_data_type(::onnx::TensorProto::FLOAT);
  bias->add_dims(8);
  for (int i = 0; i < 8; ++i)
    bias->add_float_data(1.0f);
  node->add_input("bias");
  mlir::MLIRContext context;
  EXPECT_EQ(errorOf(import(proto, context).takeError()),
            "test.onnx: error: node 'head' (Gemm): alpha != 1 together with a "
            "bias is not supported");
}

} // namespace
