//===- Raise.cpp - the raising driver, graph index and matcher ------------===//
//
// See RaisePatterns.h. The patterns are in Raise{Activations,Conv,Scan,
// Norms,Attention}.cpp; this file holds what they share.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/RaisePatterns.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>

namespace braid {
namespace onnx {
namespace raise {

bool debugEnabled() {
  static const bool on = [] {
    const char *v = std::getenv("BRAID_ONNX_RAISE_DEBUG");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

void debug(const llvm::Twine &line) {
  if (debugEnabled())
    llvm::errs() << "onnx-raise: " << line << "\n";
}

//===----------------------------------------------------------------------===//
// Graph
//===----------------------------------------------------------------------===//

Graph::Graph(Model &model) : model(model) {
  // The token ids' static shape (a torch.onnx export with input [2, 37])
  // lets patterns check constants such as a Slice end equal to T.
  for (const ValueInfo &in : model.inputs)
    if ((in.type == ElemType::Int64 || in.type == ElemType::Int32) &&
        in.shape && in.shape->size() == 2 &&
        (in.name == "input_ids" || !staticSeq)) {
      staticBatch = (*in.shape)[0].value;
      staticSeq = (*in.shape)[1].value;
    }
  index();
}

void Graph::index() {
  producers.clear();
  uses.clear();
  constNodes.clear();
  names.clear();
  claimed.clear();
  for (const ValueInfo &v : model.inputs)
    names.insert(v.name);
  for (const auto &[name, t] : model.initializers)
    names.insert(name);
  for (const Node &node : model.nodes) {
    for (const std::string &out : node.outputs)
      if (!out.empty()) {
        producers[out] = &node;
        names.insert(out);
      }
    for (const std::string &in : node.inputs)
      if (!in.empty())
        uses[in].push_back(&node);
    if (node.opType == "Constant" && node.domain.empty() &&
        !node.outputs.empty())
      if (const Attribute *a = node.attr("value"); a && a->t)
        constNodes[node.outputs[0]] = &*a->t;
  }
  // Graph outputs are uses that no rewrite may remove.
  for (const ValueInfo &out : model.outputs)
    uses[out.name].push_back(nullptr);
}

const Node *Graph::producer(const std::string &value) const {
  auto it = producers.find(value);
  return it == producers.end() ? nullptr : it->second;
}

const std::vector<const Node *> &Graph::users(const std::string &value) const {
  static const std::vector<const Node *> none;
  auto it = uses.find(value);
  return it == uses.end() ? none : it->second;
}

const Tensor *Graph::constant(const std::string &value) const {
  if (auto it = model.initializers.find(value); it != model.initializers.end())
    return &it->second;
  auto it = constNodes.find(value);
  return it == constNodes.end() ? nullptr : it->second;
}

std::optional<double> Graph::scalar(const std::string &value) const {
  const Tensor *t = constant(value);
  if (!t || t->numel() != 1)
    return std::nullopt;
  if (t->isFloat())
    return double(t->toFloats()[0]);
  if (t->isInt())
    return double(t->toInts()[0]);
  return std::nullopt;
}

std::optional<std::vector<int64_t>>
Graph::ints(const std::string &value) const {
  const Tensor *t = constant(value);
  if (!t || !t->isInt())
    return std::nullopt;
  return t->toInts();
}

std::string Graph::moduleScope(const Node &node) const {
  // name_scopes is a Python list literal: ['', 'm', 'm.model', ..., 'op'].
  auto it = node.metadata.find("pkg.torch.onnx.name_scopes");
  if (it == node.metadata.end())
    return "";
  std::vector<std::string> scopes;
  const std::string &text = it->second;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\'')
      continue;
    size_t end = text.find('\'', i + 1);
    if (end == std::string::npos)
      break;
    scopes.push_back(text.substr(i + 1, end - i - 1));
    i = end;
  }
  return scopes.size() >= 2 ? scopes[scopes.size() - 2] : "";
}

std::string Graph::freshName(const std::string &base) {
  std::string name = base;
  while (names.count(name))
    name = base + "_" + std::to_string(++fresh);
  names.insert(name);
  return name;
}

bool Graph::propose(Rewrite rewrite) {
  std::set<size_t> erase(rewrite.erase.begin(), rewrite.erase.end());
  for (size_t i : erase)
    if (claimed.count(i)) {
      debug(rewrite.pattern + ": node '" + model.nodes[i].label() +
            "' is already part of another raised subgraph");
      return false;
    }
  std::set<std::string> defined;
  for (const Node &node : rewrite.insert)
    for (const std::string &out : node.outputs)
      defined.insert(out);
  // Every erased value still used elsewhere must be redefined.
  for (size_t i : erase)
    for (const std::string &out : model.nodes[i].outputs) {
      if (out.empty() || defined.count(out))
        continue;
      for (const Node *user : users(out))
        if (!user || !erase.count(size_t(user - model.nodes.data()))) {
          debug(rewrite.pattern + ": not raised at '" + model.nodes[i].label() +
                "' (" + model.nodes[i].opType + "): its output '" + out +
                "' is also used by " +
                (user ? "'" + user->label() + "'" : "the graph outputs") +
                " outside the pattern");
          return false;
        }
    }
  claimed.insert(erase.begin(), erase.end());
  rewrite.erase.assign(erase.begin(), erase.end());
  accepted.push_back(std::move(rewrite));
  ++raised;
  return true;
}

void Graph::commit() {
  if (accepted.empty())
    return;
  // Each rewrite's nodes go where its last erased node was: every input of
  // the subgraph is defined before that point, and every user after it.
  std::map<size_t, const Rewrite *> at;
  std::set<size_t> gone;
  for (const Rewrite &rw : accepted) {
    at[rw.atFirst ? rw.erase.front() : rw.erase.back()] = &rw;
    gone.insert(rw.erase.begin(), rw.erase.end());
  }
  bool braidDomain = false;
  std::vector<Node> nodes;
  for (size_t i = 0; i < model.nodes.size(); ++i) {
    if (auto it = at.find(i); it != at.end())
      for (const Node &node : it->second->insert) {
        nodes.push_back(node);
        nodes.back().index = model.nodes[i].index;
        braidDomain |= node.domain == "braid";
      }
    if (!gone.count(i))
      nodes.push_back(std::move(model.nodes[i]));
  }
  for (Rewrite &rw : accepted)
    for (auto &[name, t] : rw.initializers) {
      t.name = name;
      model.initializers[name] = std::move(t);
    }
  model.nodes = std::move(nodes);
  if (braidDomain && !model.opsets.count("braid"))
    model.opsets["braid"] = 1;
  accepted.clear();
  index();
}

//===----------------------------------------------------------------------===//
// Matcher
//===----------------------------------------------------------------------===//

bool Matcher::fail(const Node &node, const llvm::Twine &why) {
  if (failure.empty()) {
    failure = "node '" + node.label() + "' (" + node.opType + "): " + why.str();
    debug(pattern + ": not raised at '" + anchor.label() + "': " + failure);
  }
  return false;
}

void Matcher::take(const Node &node) {
  size_t i = size_t(&node - g.nodes().data());
  if (!llvm::is_contained(matched, i))
    matched.push_back(i);
}

bool Matcher::taken(const Node &node) const {
  return llvm::is_contained(matched, size_t(&node - g.nodes().data()));
}

const Node *Matcher::input(const Node &node, unsigned i, const char *opType) {
  if (!ok())
    return nullptr;
  if (i >= node.inputs.size() || node.inputs[i].empty()) {
    fail(node, "input " + llvm::Twine(i) + " is missing");
    return nullptr;
  }
  const Node *p = g.producer(node.inputs[i]);
  if (!p || p->opType != opType || !p->domain.empty()) {
    fail(node, "input " + llvm::Twine(i) + " '" + node.inputs[i] +
                   "' is not computed by " + opType);
    return nullptr;
  }
  take(*p);
  return p;
}

const Node *Matcher::onlyUser(const Node &node, const char *opType) {
  if (!ok())
    return nullptr;
  const auto &users = g.users(node.outputs[0]);
  if (users.size() != 1 || !users[0] || users[0]->opType != opType) {
    fail(node, "output '" + node.outputs[0] + "' must feed exactly one " +
                   opType + " (it has " + llvm::Twine(users.size()) +
                   " users)");
    return nullptr;
  }
  take(*users[0]);
  return users[0];
}

const Node *Matcher::userOf(const Node &from, const std::string &value,
                            const char *opType) {
  if (!ok())
    return nullptr;
  const Node *found = nullptr;
  for (const Node *user : g.users(value)) {
    if (!user || user->opType != opType)
      continue;
    if (found) {
      fail(from, "'" + value + "' feeds more than one " + opType);
      return nullptr;
    }
    found = user;
  }
  if (!found) {
    fail(from, "'" + value + "' feeds no " + opType);
    return nullptr;
  }
  take(*found);
  return found;
}

const Tensor *Matcher::constInput(const Node &node, unsigned i) {
  if (!ok())
    return nullptr;
  const Tensor *t =
      i < node.inputs.size() ? g.constant(node.inputs[i]) : nullptr;
  if (!t)
    fail(node, "input " + llvm::Twine(i) + " must be a constant");
  return t;
}

std::optional<double> Matcher::scalarInput(const Node &node, unsigned i) {
  if (!ok())
    return std::nullopt;
  std::optional<double> v =
      i < node.inputs.size() ? g.scalar(node.inputs[i]) : std::nullopt;
  if (!v)
    fail(node, "input " + llvm::Twine(i) + " must be a scalar constant");
  return v;
}

std::optional<std::vector<int64_t>> Matcher::intsInput(const Node &node,
                                                       unsigned i) {
  if (!ok())
    return std::nullopt;
  auto v = i < node.inputs.size() ? g.ints(node.inputs[i]) : std::nullopt;
  if (!v)
    fail(node, "input " + llvm::Twine(i) + " must be an integer constant");
  return v;
}

std::optional<int64_t> Matcher::intAttr(const Node &node, const char *key,
                                        std::optional<int64_t> dflt) {
  if (!ok())
    return std::nullopt;
  if (const Attribute *a = node.attr(key); a && a->kind == Attribute::Int)
    return a->i;
  if (!dflt)
    fail(node, llvm::Twine("needs the attribute '") + key + "'");
  return dflt;
}

std::optional<std::vector<int64_t>> Matcher::intsAttr(const Node &node,
                                                      const char *key) {
  if (!ok())
    return std::nullopt;
  if (const Attribute *a = node.attr(key); a && a->kind == Attribute::Ints)
    return a->ints;
  fail(node, llvm::Twine("needs the attribute '") + key + "'");
  return std::nullopt;
}

const Node *Matcher::siluInput(const Node &mul, std::string &x) {
  // Mul(x, Sigmoid(x)) in either operand order.
  if (mul.opType != "Mul" || mul.inputs.size() != 2)
    return nullptr;
  for (unsigned s : {0u, 1u}) {
    const Node *sig = g.producer(mul.inputs[s]);
    if (sig && sig->opType == "Sigmoid" &&
        sig->inputs[0] == mul.inputs[1 - s] &&
        g.users(sig->outputs[0]).size() == 1) {
      x = mul.inputs[1 - s];
      take(mul);
      take(*sig);
      return sig;
    }
  }
  return nullptr;
}

bool Matcher::replace(std::vector<Node> insert,
                      std::map<std::string, Tensor> initializers,
                      bool atFirst) {
  if (!ok())
    return false;
  // The new nodes keep the anchor's module scope, so later patterns that
  // delimit regions by scope still see them inside it.
  for (Node &node : insert)
    if (node.metadata.empty())
      node.metadata = anchor.metadata;
  Rewrite rw;
  rw.pattern = pattern;
  rw.erase = matched;
  rw.insert = std::move(insert);
  rw.initializers = std::move(initializers);
  rw.atFirst = atFirst;
  std::string what;
  for (const Node &n : rw.insert)
    what += (what.empty() ? "" : ", ") +
            (n.domain.empty() ? n.opType : n.domain + "." + n.opType);
  size_t count = matched.size();
  if (!g.propose(std::move(rw)))
    return false;
  debug(pattern + ": raised " + llvm::Twine(count) + " nodes at '" +
        anchor.label() + "' to " + what);
  return true;
}

//===----------------------------------------------------------------------===//
// Node and tensor builders
//===----------------------------------------------------------------------===//

Node makeNode(std::string name, std::string opType, std::string domain,
              std::vector<std::string> inputs,
              std::vector<std::string> outputs) {
  Node node;
  node.name = std::move(name);
  node.opType = std::move(opType);
  node.domain = std::move(domain);
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  return node;
}

void setInt(Node &node, const char *key, int64_t value) {
  Attribute a;
  a.kind = Attribute::Int;
  a.i = value;
  node.attributes[key] = a;
}

void setFloat(Node &node, const char *key, double value) {
  Attribute a;
  a.kind = Attribute::Float;
  a.f = value;
  node.attributes[key] = a;
}

void setString(Node &node, const char *key, std::string value) {
  Attribute a;
  a.kind = Attribute::String;
  a.s = std::move(value);
  node.attributes[key] = a;
}

Tensor intTensor(std::vector<int64_t> shape, const std::vector<int64_t> &data) {
  Tensor t;
  t.type = ElemType::Int64;
  t.shape = std::move(shape);
  t.bytes.assign(reinterpret_cast<const char *>(data.data()),
                 data.size() * sizeof(int64_t));
  return t;
}

Tensor f32Tensor(std::vector<int64_t> shape, const std::vector<float> &data) {
  Tensor t;
  t.type = ElemType::Float;
  t.shape = std::move(shape);
  t.bytes.assign(reinterpret_cast<const char *>(data.data()),
                 data.size() * sizeof(float));
  return t;
}

} // namespace raise

void raiseModel(Model &model) {
  raise::Graph g(model);
  // Order matters: the scan pattern expects softplus already raised, and
  // attention reads head counts from its projections' weights before the
  // projections are merged.
  for (auto *family :
       {raise::raiseActivations, raise::raiseCausalConv, raise::raiseSSDScan,
        raise::raiseRMSNorms, raise::raiseAttention, raise::mergeProjections}) {
    family(g);
    g.commit();
  }
  raise::debug(llvm::Twine(g.raisedCount()) + " subgraphs raised");
}

} // namespace onnx
} // namespace braid
