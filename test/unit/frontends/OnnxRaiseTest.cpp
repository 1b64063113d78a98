//===- OnnxRaiseTest.cpp - raising decomposed ONNX subgraphs --------------===//
//
// The pattern framework (compiler/frontends/onnx/RaisePatterns.h) on models
// built as plain structures: what a pattern replaces, what it must leave
// alone, where merged nodes go, and the module scopes read from
// NodeProto.metadata_props (an unknown field to Debian's onnx.proto).
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/RaisePatterns.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

using namespace braid::onnx;

namespace {

Node node(std::string name, std::string op, std::vector<std::string> in,
          std::vector<std::string> out) {
  return raise::makeNode(std::move(name), std::move(op), "", std::move(in),
                         std::move(out));
}

void addConst(Model &m, const std::string &name, std::vector<int64_t> shape,
              std::vector<float> data) {
  Tensor t = raise::f32Tensor(std::move(shape), data);
  t.name = name;
  m.initializers[name] = t;
}

void addInts(Model &m, const std::string &name, std::vector<int64_t> data) {
  Tensor t = raise::intTensor({int64_t(data.size())}, data);
  t.name = name;
  m.initializers[name] = t;
}

/// embed -> x; x * rsqrt(mean(x^2) + eps) * w -> y; y + x -> logits.
Model rmsModel() {
  Model m;
  m.path = "test.onnx";
  m.opsets[""] = 18;
  ValueInfo ids;
  ids.name = "input_ids";
  ids.type = ElemType::Int64;
  m.inputs.push_back(ids);
  ValueInfo out;
  out.name = "logits";
  m.outputs.push_back(out);
  addConst(m, "embed", {8, 4}, std::vector<float>(32, 0.5f));
  addConst(m, "two", {}, {2.0f});
  addConst(m, "eps", {}, {1e-6f});
  addConst(m, "w", {4}, {1, 2, 3, 4});
  addInts(m, "axes", {-1});
  m.nodes = {node("embed", "Gather", {"embed", "input_ids"}, {"x"}),
             node("pow", "Pow", {"x", "two"}, {"sq"}),
             node("mean", "ReduceMean", {"sq", "axes"}, {"ms"}),
             node("add", "Add", {"ms", "eps"}, {"var"}),
             node("sqrt", "Sqrt", {"var"}, {"std"}),
             node("rec", "Reciprocal", {"std"}, {"inv"}),
             node("norm", "Mul", {"x", "inv"}, {"n"}),
             node("scale", "Mul", {"w", "n"}, {"y"}),
             node("residual", "Add", {"y", "x"}, {"logits"})};
  for (size_t i = 0; i < m.nodes.size(); ++i)
    m.nodes[i].index = i;
  return m;
}

std::vector<std::string> opTypes(const Model &m) {
  std::vector<std::string> ops;
  for (const Node &n : m.nodes)
    ops.push_back(n.opType);
  return ops;
}

TEST(OnnxRaise, RMSNormBecomesRMSNormalization) {
  Model m = rmsModel();
  raiseModel(m);
  EXPECT_EQ(opTypes(m),
            (std::vector<std::string>{"Gather", "RMSNormalization", "Add"}));
  const Node &norm = m.nodes[1];
  EXPECT_EQ(norm.inputs, (std::vector<std::string>{"x", "w"}));
  EXPECT_EQ(norm.outputs, (std::vector<std::string>{"y"}));
  EXPECT_NEAR(norm.attr("epsilon")->f, 1e-6, 1e-12);
  // The residual still reads the norm's input.
  EXPECT_EQ(m.nodes[2].inputs, (std::vector<std::string>{"y", "x"}));
}

TEST(OnnxRaise, IntermediateUsedOutsideIsNotRaised) {
  // The rsqrt also feeds the output: erasing it would lose a value.
  Model m = rmsModel();
  m.nodes.back().inputs = {"y", "inv"};
  raiseModel(m);
  EXPECT_EQ(m.nodes.size(), 9u);
  EXPECT_EQ(m.nodes[1].opType, "Pow");
}

TEST(OnnxRaise, WrongEpsilonShapeIsNotRaised) {
  // A per-channel "epsilon" is not RMSNorm's scalar.
  Model m = rmsModel();
  addConst(m, "eps", {4}, {1e-6f, 1e-6f, 1e-6f, 1e-6f});
  raiseModel(m);
  EXPECT_EQ(m.nodes[1].opType, "Pow");
}

TEST(OnnxRaise, SharedInputProjectionsMergeAtTheFirst) {
  // a = x W1; b = relu(a); c = x W2; logits = b + c. The merged MatMul and
  // Split must come before the Relu that reads a.
  Model m = rmsModel();
  addConst(m, "w1", {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  addConst(m, "w2", {4, 3}, std::vector<float>(12, 1.0f));
  m.nodes = {node("embed", "Gather", {"embed", "input_ids"}, {"x"}),
             node("p1", "MatMul", {"x", "w1"}, {"a"}),
             node("relu", "Relu", {"a"}, {"b"}),
             node("p2", "MatMul", {"x", "w2"}, {"c"}),
             node("out", "Concat", {"b", "c"}, {"logits"})};
  raiseModel(m);
  ASSERT_EQ(opTypes(m), (std::vector<std::string>{"Gather", "MatMul", "Split",
                                                  "Relu", "Concat"}));
  EXPECT_EQ(m.nodes[2].outputs, (std::vector<std::string>{"a", "c"}));
  const Tensor &w = m.initializers.at(m.nodes[1].inputs[1]);
  EXPECT_EQ(w.name, "w1+w2");
  EXPECT_EQ(w.shape, (std::vector<int64_t>{4, 5}));
  // Row 1 of [w1 | w2]: 3, 4, 1, 1, 1.
  std::vector<float> data = w.toFloats();
  EXPECT_EQ(std::vector<float>(data.begin() + 5, data.begin() + 10),
            (std::vector<float>{3, 4, 1, 1, 1}));
}

TEST(OnnxRaise, ModuleScopeComesFromMetadataProps) {
  ::onnx::ModelProto proto;
  proto.set_ir_version(10);
  proto.add_opset_import()->set_version(18);
  ::onnx::GraphProto *graph = proto.mutable_graph();
  auto *relu = graph->add_node();
  relu->set_op_type("Relu");
  relu->add_input("a");
  relu->add_output("b");
  // NodeProto field 9, metadata_props, as torch.onnx writes it.
  ::onnx::StringStringEntryProto entry;
  entry.set_key("pkg.torch.onnx.name_scopes");
  entry.set_value("['', 'm', 'm.layers.0.mixer', 'relu']");
  relu->mutable_unknown_fields()->AddLengthDelimited(9,
                                                     entry.SerializeAsString());
  llvm::Expected<Model> model =
      parseModel(proto.SerializeAsString(), "test.onnx");
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  ASSERT_EQ(model->nodes.size(), 1u);
  raise::Graph g(*model);
  EXPECT_EQ(g.moduleScope(model->nodes[0]), "m.layers.0.mixer");
}

} // namespace
