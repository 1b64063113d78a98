//===- RaiseAttention.cpp - decomposed SDPA with RoPE and GQA -------------===//
//
// transformers' eager/sdpa attention, exported by torch.onnx, is
//   q, k, v = Transpose(0, 2, 1, 3)(Reshape(proj, [B, T, H, D]))
//   q, k    = rope: cat(x[..:R] * cos + cat(-x[R/2:R], x[:R/2]) * sin,
//                       x[R:])        (the second cat only when R < D)
//   k, v    = GQA repeat: Unsqueeze(2) -> Expand [B, Hkv, n, T, D] ->
//             Reshape [B, Hq, T, D]  (k then Transpose'd for q kᵀ)
//   S       = Softmax(MatMul(q * c1, kᵀ * c2) + causal mask)
//   out     = Reshape(Transpose(0, 2, 1, 3)(MatMul(Where(IsNaN(S), 0, S),
//             v)), [B, T, Hq * D])
// Raised to RotaryEmbedding on q and k (cos/sin tables checked to be
// standard RoPE by the importer) and Attention(is_causal = 1, scale =
// c1 * c2). The mask must be the causal one (0 on and below the diagonal,
// -inf above); anything else is left alone. The rope needs positions: a
// graph without a position input gets `position_ids` (the runtime's
// positions argument), which reproduces the export's fixed table rows
// 0..T-1.
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/RaisePatterns.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>

namespace braid {
namespace onnx {
namespace raise {

namespace {

std::string otherInput(const Node &node, const std::string &value) {
  if (node.inputs.size() != 2)
    return "";
  return node.inputs[0] == value   ? node.inputs[1]
         : node.inputs[1] == value ? node.inputs[0]
                                   : "";
}

/// One head-split projection: Transpose(0, 2, 1, 3)(Reshape(proj,
/// [B, T, H, D])).
struct Heads {
  std::string proj;
  int64_t heads = 0, dim = 0;
};

class AttentionMatch {
public:
  AttentionMatch(Graph &g, const Node &softmax)
      : g(g), m(g, "attention", softmax), softmax(softmax) {}
  void run();

private:
  bool headsOf(const std::string &value, Heads &out);
  bool rope(const std::string &value, Heads &out, std::string &cos,
            std::string &sin);
  bool repeatKV(const std::string &value, bool transposed, std::string &source);
  bool causalMask(const Node &add, const std::string &mask);
  void emit();

  Graph &g;
  Matcher m;
  const Node &softmax;
  Heads q, k, v;
  std::string cosQ, sinQ, cosK, sinK;
  int64_t rotary = 0;
  double scale = 1;
  const Node *root = nullptr;
};

bool AttentionMatch::headsOf(const std::string &value, Heads &out) {
  const Node *t = g.producer(value);
  if (!t || t->opType != "Transpose")
    return m.fail(softmax, "'" + value + "' is not a head-split projection");
  m.take(*t);
  auto perm = m.intsAttr(*t, "perm");
  if (perm && *perm != std::vector<int64_t>{0, 2, 1, 3})
    return m.fail(*t, "perm is not [0, 2, 1, 3]");
  const Node *r = m.input(*t, 0, "Reshape");
  auto dims = r ? m.intsInput(*r, 1) : std::nullopt;
  if (!dims)
    return false;
  // [B, T, -1, D]: the head count from the projection's weight.
  if (dims->size() == 4 && (*dims)[2] == -1 && (*dims)[3] > 0) {
    const Node *proj = g.producer(r->inputs[0]);
    const Tensor *w =
        proj && proj->opType == "MatMul" && proj->inputs.size() == 2
            ? g.constant(proj->inputs[1])
            : nullptr;
    if (w && w->shape.size() == 2 && w->shape[1] % (*dims)[3] == 0)
      (*dims)[2] = w->shape[1] / (*dims)[3];
  }
  if (dims->size() != 4 || (*dims)[2] <= 0 || (*dims)[3] <= 0 ||
      ((*dims)[0] != 0 && (*dims)[0] != g.staticBatch.value_or(-2)) ||
      ((*dims)[1] != 0 && (*dims)[1] != g.staticSeq.value_or(-2)))
    return m.fail(*r, "is not a split into [B, T, heads, head_dim]");
  out.proj = r->inputs[0];
  out.heads = (*dims)[2];
  out.dim = (*dims)[3];
  return true;
}

/// Slice(x, start..end, axis 3 or -1) with constant bounds; true if so.
bool isSlice(Graph &g, const Node *n, const std::string &x, int64_t start,
             int64_t end) {
  if (!n || n->opType != "Slice" || n->inputs.size() < 4 || n->inputs[0] != x)
    return false;
  auto s = g.ints(n->inputs[1]), e = g.ints(n->inputs[2]),
       a = g.ints(n->inputs[3]);
  std::optional<std::vector<int64_t>> st = std::vector<int64_t>{1};
  if (n->inputs.size() > 4)
    st = g.ints(n->inputs[4]);
  if (!s || !e || !a || !st || s->size() != 1 || e->size() != 1 ||
      a->size() != 1 || *st != std::vector<int64_t>{1})
    return false;
  bool endOk = end < 0 ? (*e)[0] >= (int64_t(1) << 31) : (*e)[0] == end;
  return (*s)[0] == start && endOk && ((*a)[0] == 3 || (*a)[0] == -1);
}

bool isLastAxisConcat(Graph &g, const Node *n) {
  if (!n || n->opType != "Concat" || n->inputs.size() != 2)
    return false;
  const Attribute *axis = n->attr("axis");
  return axis && (axis->i == -1 || axis->i == 3);
}

/// Rotary embedding of a head-split projection (see the file comment).
bool AttentionMatch::rope(const std::string &value, Heads &out,
                          std::string &cos, std::string &sin) {
  const Node *cat = g.producer(value);
  if (!m.ok())
    return false;
  if (cat && cat->opType == "Transpose") // no rotary embedding (Nemotron-H)
    return headsOf(value, out);
  std::string rotated = value; // output of the Add
  std::string x;               // the head-split input
  const Node *add = cat;
  const Node *pass = nullptr;
  if (isLastAxisConcat(g, cat)) { // partial: cat(rot(x[:R]), x[R:])
    m.take(*cat);
    add = g.producer(cat->inputs[0]);
    pass = g.producer(cat->inputs[1]);
    if (!pass || pass->opType != "Slice")
      return m.fail(*cat, "does not append x[..., R:]");
    x = pass->inputs[0];
    m.take(*pass);
  }
  if (!add || add->opType != "Add")
    return m.fail(cat ? *cat : softmax,
                  "'" + value +
                      "' is not a rotary "
                      "embedding (x * cos + rot(x) * sin)");
  m.take(*add);
  const Node *mulCos = g.producer(add->inputs[0]);
  const Node *mulSin = g.producer(add->inputs[1]);
  if (!mulCos || !mulSin || mulCos->opType != "Mul" || mulSin->opType != "Mul")
    return m.fail(*add, "does not add two products");
  m.take(*mulCos);
  m.take(*mulSin);
  // x[..., :R] * cos (cos a constant); cat(-x[R/2:R], x[:R/2]) * sin.
  std::string head =
      g.constant(mulCos->inputs[1]) ? mulCos->inputs[0] : mulCos->inputs[1];
  cos = otherInput(*mulCos, head);
  const Node *rotCat = g.producer(mulSin->inputs[0]);
  sin = mulSin->inputs[1];
  if (!isLastAxisConcat(g, rotCat)) {
    rotCat = g.producer(mulSin->inputs[1]);
    sin = mulSin->inputs[0];
  }
  const Tensor *c = g.constant(cos), *s = g.constant(sin);
  if (!c || !s || !isLastAxisConcat(g, rotCat))
    return m.fail(*mulSin, "is not rotate_half(x) * sin with constant tables");
  m.take(*rotCat);
  int64_t r = c->shape.empty() ? 0 : c->shape.back();
  const Node *neg = g.producer(rotCat->inputs[0]);
  const Node *lo = g.producer(rotCat->inputs[1]);
  if (!neg || neg->opType != "Neg")
    return m.fail(*rotCat, "does not start with -x[..., R/2:]");
  const Node *hi = g.producer(neg->inputs[0]);
  if (!isSlice(g, hi, head, r / 2, -1) || !isSlice(g, lo, head, 0, r / 2))
    return m.fail(*rotCat, "does not rotate halves of '" + head + "'");
  m.take(*neg);
  m.take(*hi);
  m.take(*lo);
  if (pass) {
    const Node *first = g.producer(head);
    if (!isSlice(g, first, x, 0, r) || !isSlice(g, pass, x, r, -1))
      return m.fail(*pass, "rope does not split x at R = " + std::to_string(r));
    m.take(*first);
  } else {
    x = head;
  }
  if (!headsOf(x, out))
    return false;
  if (rotary && rotary != r)
    return m.fail(*add, "q and k rotate different widths");
  rotary = r;
  if (r <= 0 || r % 2 || r > out.dim)
    return m.fail(*add, "rotary width " + std::to_string(r) +
                            " does not fit head_dim " +
                            std::to_string(out.dim));
  return true;
}

/// Unsqueeze(2) -> Expand [B, Hkv, n, T, D] -> Reshape [B, Hq, T, D], and
/// for k the transpose to [B, Hq, D, T] (possibly through [B*Hq, T, D]).
bool AttentionMatch::repeatKV(const std::string &value, bool transposed,
                              std::string &source) {
  std::string cur = value;
  int transposes = 0, expands = 0;
  while (m.ok()) {
    const Node *p = g.producer(cur);
    if (!p ||
        !llvm::is_contained({std::string("Reshape"), std::string("Transpose"),
                             std::string("Unsqueeze"), std::string("Expand")},
                            p->opType))
      break;
    if (p->opType == "Transpose") {
      // The head-split transpose ends the chain.
      const Attribute *a = p->attr("perm");
      if (a && a->ints == std::vector<int64_t>{0, 2, 1, 3})
        break;
      if (!a || (a->ints != std::vector<int64_t>{0, 2, 1} &&
                 a->ints != std::vector<int64_t>{0, 1, 3, 2}))
        return m.fail(*p, "is not a transpose of the last two axes");
      ++transposes;
    }
    if (p->opType == "Unsqueeze") {
      auto axes = m.intsInput(*p, 1);
      if (axes && *axes != std::vector<int64_t>{2})
        return m.fail(*p, "GQA repeat does not unsqueeze axis 2");
    }
    if (p->opType == "Expand") {
      auto shape = m.intsInput(*p, 1);
      if (shape && (shape->size() != 5 || (*shape)[2] < 1))
        return m.fail(*p, "is not a GQA repeat [B, Hkv, n, T, D]");
      ++expands;
    }
    m.take(*p);
    cur = p->inputs[0];
  }
  if (!m.ok())
    return false;
  if (transposes != (transposed ? 1 : 0) || expands > 1)
    return m.fail(softmax, "k/v layout chain to '" + value +
                               "' is not a GQA repeat" +
                               (transposed ? " and a transpose" : ""));
  source = cur;
  return true;
}

bool AttentionMatch::causalMask(const Node &add, const std::string &mask) {
  const Tensor *t = g.constant(mask);
  if (!t || !t->isFloat() || t->shape.size() < 2)
    return m.fail(add, "the mask is not a constant");
  int64_t rows = t->shape[t->shape.size() - 2],
          cols = t->shape[t->shape.size() - 1];
  std::vector<float> data = t->toFloats();
  for (size_t base = 0; base < data.size(); base += rows * cols)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        float v = data[base + i * cols + j];
        bool ok = j <= i ? v == 0.0f : (std::isinf(v) && v < 0) || v < -1e30f;
        if (!ok)
          return m.fail(add, "the mask is not causal (row " +
                                 std::to_string(i) + ", column " +
                                 std::to_string(j) + ")");
      }
  return true;
}

void AttentionMatch::run() {
  const Attribute *axis = softmax.attr("axis");
  if (axis && axis->i != -1 && axis->i != 3)
    return void(m.fail(softmax, "is not over the last axis"));
  const Node *add = m.input(softmax, 0, "Add");
  const Node *qk = add ? m.input(*add, 0, "MatMul") : nullptr;
  if (!qk || !causalMask(*add, add->inputs[1]))
    return;
  // P = Where(IsNaN(S), 0, S) (fully masked rows), then P v.
  const Node *isnan = m.userOf(softmax, softmax.outputs[0], "IsNaN");
  const Node *where = isnan ? m.onlyUser(*isnan, "Where") : nullptr;
  const Node *pv = where ? m.onlyUser(*where, "MatMul") : nullptr;
  const Node *back = pv ? m.onlyUser(*pv, "Transpose") : nullptr;
  root = back ? m.onlyUser(*back, "Reshape") : nullptr;
  if (!root)
    return;
  if (where->inputs[2] != softmax.outputs[0] ||
      g.scalar(where->inputs[1]) != 0.0)
    return void(m.fail(*where, "does not zero NaN rows of the softmax"));
  if (pv->inputs[0] != where->outputs[0])
    return void(m.fail(*pv, "does not multiply the probabilities by v"));
  const Attribute *perm = back->attr("perm");
  if (!perm || perm->ints != std::vector<int64_t>{0, 2, 1, 3})
    return void(m.fail(*back, "perm is not [0, 2, 1, 3]"));
  // Scores: (q * c1) (kᵀ * c2).
  const Node *qs = m.input(*qk, 0, "Mul");
  const Node *ks = m.input(*qk, 1, "Mul");
  if (!ks)
    return;
  std::optional<double> c1 = g.scalar(qs->inputs[1]),
                        c2 = g.scalar(ks->inputs[1]);
  if (!c1 || !c2)
    return void(m.fail(*qs, "q and k are not scaled by constants"));
  scale = *c1 * *c2;
  std::string kRot, vHeads;
  if (!rope(qs->inputs[0], q, cosQ, sinQ) ||
      !repeatKV(ks->inputs[0], true, kRot) || !rope(kRot, k, cosK, sinK) ||
      !repeatKV(pv->inputs[1], false, vHeads) || !headsOf(vHeads, v))
    return;
  if (k.heads != v.heads || q.dim != k.dim || q.heads % k.heads)
    return void(m.fail(*qk, "q, k, v heads do not form GQA"));
  emit();
}

/// cos/sin [.., T, R] holding cat(f, f) -> [T, R/2] tables of f.
std::optional<Tensor> halfTable(Graph &g, const std::string &name) {
  const Tensor *t = g.constant(name);
  int64_t r = t->shape.back();
  std::vector<float> data = t->toFloats();
  int64_t rows = int64_t(data.size()) / r;
  std::vector<float> half;
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t i = 0; i < r / 2; ++i) {
      if (data[p * r + i] != data[p * r + r / 2 + i])
        return std::nullopt;
      half.push_back(data[p * r + i]);
    }
  return f32Tensor({rows, r / 2}, half);
}

void AttentionMatch::emit() {
  if (cosQ != cosK || sinQ != sinK)
    return void(m.fail(softmax, "q and k use different rope tables"));
  std::string base = root->name.empty() ? "raised_attention" : root->name;
  if (!rotary) { // no rope: the projections go straight in
    Node att = makeNode(g.freshName(base), "Attention", "",
                        {q.proj, k.proj, v.proj}, {root->outputs[0]});
    setInt(att, "q_num_heads", q.heads);
    setInt(att, "kv_num_heads", k.heads);
    setInt(att, "is_causal", 1);
    setFloat(att, "scale", scale);
    m.replace({att});
    return;
  }
  std::optional<Tensor> cos = halfTable(g, cosQ), sin = halfTable(g, sinQ);
  if (!cos || !sin)
    return void(m.fail(softmax, "rope tables are not cat(freqs, freqs)"));
  // The rope needs positions from the graph (added below if it has none).
  std::string positions;
  for (const ValueInfo &in : g.model.inputs)
    if (llvm::StringRef(in.name).contains("position"))
      positions = in.name;
  bool addPositions = positions.empty();
  if (addPositions)
    positions = "position_ids";
  std::string cosName = g.freshName(base + ".cos_cache"),
              sinName = g.freshName(base + ".sin_cache");
  std::string qRot = g.freshName(base + ".q_rope"),
              kRot = g.freshName(base + ".k_rope");
  std::vector<Node> nodes;
  for (auto [in, out, heads] :
       {std::tuple(q.proj, qRot, q.heads), std::tuple(k.proj, kRot, k.heads)}) {
    Node n = makeNode(g.freshName(out), "RotaryEmbedding", "",
                      {in, cosName, sinName, positions}, {out});
    setInt(n, "num_heads", heads);
    setInt(n, "rotary_embedding_dim", rotary);
    nodes.push_back(n);
  }
  Node att = makeNode(g.freshName(base), "Attention", "", {qRot, kRot, v.proj},
                      {root->outputs[0]});
  setInt(att, "q_num_heads", q.heads);
  setInt(att, "kv_num_heads", k.heads);
  setInt(att, "is_causal", 1);
  setFloat(att, "scale", scale);
  nodes.push_back(att);
  if (!m.replace(nodes, {{cosName, *cos}, {sinName, *sin}}) || !addPositions)
    return;
  ValueInfo info;
  info.name = positions;
  info.type = ElemType::Int64;
  info.shape = std::vector<Dim>(2);
  g.model.inputs.push_back(info);
}

} // namespace

void raiseAttention(Graph &g) {
  for (const Node &node : g.nodes())
    if (node.domain.empty() && node.opType == "Softmax")
      AttentionMatch(g, node).run();
}

} // namespace raise
} // namespace onnx
} // namespace braid
