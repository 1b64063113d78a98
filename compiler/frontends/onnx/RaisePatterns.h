//===- RaisePatterns.h - raising decomposed ONNX subgraphs ------*- C++ -*-===//
//
// torch.onnx (dynamo) exports decompose the modules Braid has ops for:
// RMSNorm becomes Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul, Mamba2's causal
// conv becomes Transpose/Conv/Slice, its chunked scan ~80 CumSum/Exp/Where/
// ReduceSum nodes, attention MatMul/Softmax. Raising rewrites such
// subgraphs, before any IR is built, into the importer's direct forms
// (RMSNormalization, braid.CausalConv1d, braid.SSDScan, braid.GatedRMSNorm,
// RotaryEmbedding + Attention), so an ONNX model gets the same braid ops and
// kernels as the Hugging Face path.
//
// Each pattern family lives in its own Raise*.cpp and is a function over a
// Graph: it finds anchors (a Clip on dt, a Conv, a Pow(x, 2), a Softmax),
// binds the surrounding nodes with a Matcher, verifies their op types,
// connectivity and constants (eps, chunk size, axes, pads, masks), and
// proposes a Rewrite. Module scopes recorded by torch.onnx
// (pkg.torch.onnx.name_scopes) delimit regions (the scan must stay inside
// one mixer), but a pattern never fires on names alone. When verification
// fails the subgraph is left as is (the importer then reports its ops as
// unsupported) and, with BRAID_ONNX_RAISE_DEBUG=1 in the environment, a
// line on stderr names the node that broke the pattern.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_FRONTENDS_ONNX_RAISEPATTERNS_H
#define BRAID_FRONTENDS_ONNX_RAISEPATTERNS_H

#include "compiler/frontends/onnx/OnnxModel.h"

#include "llvm/ADT/Twine.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace braid {
namespace onnx {

/// Rewrites every decomposed subgraph that a pattern recognizes and
/// verifies. Never fails: what is not raised stays for the importer.
void raiseModel(Model &model);

namespace raise {

/// One proposed replacement: `erase` (node indices into Model::nodes) goes,
/// `insert` takes the place of the last erased node (the first with
/// `atFirst`, for nodes that read only values defined before all of them).
/// Values used outside the erased set must be outputs of the inserted nodes.
struct Rewrite {
  std::string pattern;
  std::vector<size_t> erase;
  std::vector<Node> insert;
  std::map<std::string, Tensor> initializers;
  bool atFirst = false;
};

/// Use-def index over a model's nodes, plus the edits proposed so far.
class Graph {
public:
  explicit Graph(Model &model);

  Model &model;
  const std::vector<Node> &nodes() const { return model.nodes; }

  /// The node producing `value`, or null (graph input, initializer, "").
  const Node *producer(const std::string &value) const;
  const std::vector<const Node *> &users(const std::string &value) const;
  /// An initializer or a Constant node's value.
  const Tensor *constant(const std::string &value) const;
  /// A one-element float or integer constant.
  std::optional<double> scalar(const std::string &value) const;
  std::optional<std::vector<int64_t>> ints(const std::string &value) const;
  /// The innermost nn.Module scope torch.onnx recorded ("" when none):
  /// name_scopes minus the trailing op name.
  std::string moduleScope(const Node &node) const;
  std::optional<int64_t> staticBatch, staticSeq;

  /// A name no value of the model has yet, from `base`.
  std::string freshName(const std::string &base);
  /// Applies `rewrite` if its nodes are still unclaimed and no erased value
  /// escapes it; returns false (with a debug line) otherwise.
  bool propose(Rewrite rewrite);
  /// Applies every accepted rewrite to the model and rebuilds the index.
  void commit();
  size_t raisedCount() const { return raised; }

private:
  void index();
  std::map<std::string, const Node *> producers;
  std::map<std::string, std::vector<const Node *>> uses;
  std::map<std::string, const Tensor *> constNodes;
  std::set<std::string> names;
  std::set<size_t> claimed;
  std::vector<Rewrite> accepted;
  size_t raised = 0, fresh = 0;
};

/// Whether BRAID_ONNX_RAISE_DEBUG is set; debug() prints one line then.
bool debugEnabled();
void debug(const llvm::Twine &line);

/// Binds the nodes of one candidate match. Checks return null/false after
/// the first failure, which is recorded once with the node that broke the
/// pattern, so a pattern reads as a straight sequence of checks.
class Matcher {
public:
  Matcher(Graph &graph, std::string pattern, const Node &anchor)
      : g(graph), pattern(std::move(pattern)), anchor(anchor) {
    take(anchor);
  }

  Graph &g;
  const std::string pattern;
  const Node &anchor;

  bool ok() const { return failure.empty(); }
  /// Records why `node` breaks the pattern; returns false.
  bool fail(const Node &node, const llvm::Twine &why);
  /// The producer of `node`'s input `i` if it has type `opType`; taken.
  const Node *input(const Node &node, unsigned i, const char *opType);
  /// The only user of `node`'s output 0 if it has type `opType`; taken.
  const Node *onlyUser(const Node &node, const char *opType);
  /// Among the users of `value`, the one of type `opType` (fails unless
  /// exactly one); taken.
  const Node *userOf(const Node &from, const std::string &value,
                     const char *opType);
  /// Input `i` of `node` as a constant, a scalar, an int list.
  const Tensor *constInput(const Node &node, unsigned i);
  std::optional<double> scalarInput(const Node &node, unsigned i);
  std::optional<std::vector<int64_t>> intsInput(const Node &node, unsigned i);
  /// An int / ints attribute, with a default when absent.
  std::optional<int64_t> intAttr(const Node &node, const char *key,
                                 std::optional<int64_t> dflt = std::nullopt);
  std::optional<std::vector<int64_t>> intsAttr(const Node &node,
                                               const char *key);
  /// `node`'s output 0 is x * sigmoid(x): returns the Sigmoid and the Mul
  /// (taken) given the Mul, or null.
  const Node *siluInput(const Node &mul, std::string &x);
  void take(const Node &node);
  bool taken(const Node &node) const;
  const std::vector<size_t> &nodes() const { return matched; }

  /// Proposes replacing the matched nodes by `insert`; logs the outcome.
  bool replace(std::vector<Node> insert,
               std::map<std::string, Tensor> initializers = {},
               bool atFirst = false);

private:
  std::vector<size_t> matched;
  std::string failure;
};

/// A node of `domain`.`opType` named `name` (domain "" is ai.onnx).
Node makeNode(std::string name, std::string opType, std::string domain,
              std::vector<std::string> inputs,
              std::vector<std::string> outputs);
void setInt(Node &node, const char *key, int64_t value);
void setFloat(Node &node, const char *key, double value);
void setString(Node &node, const char *key, std::string value);
Tensor intTensor(std::vector<int64_t> shape, const std::vector<int64_t> &data);
Tensor f32Tensor(std::vector<int64_t> shape, const std::vector<float> &data);

// The pattern families, in the order raiseModel runs them.
void raiseActivations(Graph &g); // RaiseActivations.cpp
void raiseCausalConv(Graph &g);  // RaiseConv.cpp
void raiseSSDScan(Graph &g);     // RaiseScan.cpp
void raiseRMSNorms(Graph &g);    // RaiseNorms.cpp
void raiseAttention(Graph &g);   // RaiseAttention.cpp
void mergeProjections(Graph &g); // RaiseProjections.cpp

} // namespace raise
} // namespace onnx
} // namespace braid

#endif // BRAID_FRONTENDS_ONNX_RAISEPATTERNS_H
