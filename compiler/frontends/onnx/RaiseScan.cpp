//===- RaiseScan.cpp - Mamba2's chunked scan (torch_forward) --------------===//
//
// Without the mamba_ssm kernels, transformers' Mamba2 mixers compute the
// SSD scan in torch (the `torch_forward` path): dt = clamp(softplus(dt +
// dt_bias), lo, hi), pad the sequence to a multiple of the chunk size,
// segment sums by CumSum and triangular Where masks, intra-chunk outputs,
// chunk states, the inter-chunk recurrence, the D skip, and the slice back
// to T. torch.onnx writes ~80 nodes for it, all inside the mixer's module
// scope. Raised to one braid.SSDScan(x, dt, A, B, C, D, dt_bias).
//
// The match is anchored on the dt chain (Clip(Softplus(Add(dt, dt_bias))))
// and three bindings around it:
//   x      Mul(x, Unsqueeze(dt'))      x a Reshape to [B, T, H, P]
//   A      Mul(A, dt')                 A a constant of H elements
//   output Slice(Add(., Mul(D, Pad(x))), 0..T, axis 1)
// The region is everything the output depends on, going back through the
// scan's op types inside the anchor's module scope; it must end at exactly
// dt and the three Reshape'd outputs of one Split (x, B, C in that order),
// use each intermediate value only inside itself, and contain the scan's
// fingerprint (3 CumSum, 4 Exp, 6 ReduceSum, Where masks on constants).
// The chunk size comes from the Reshape of the padded x * dt to
// [B, chunks, chunk, H, P].
//
//===----------------------------------------------------------------------===//
#include "compiler/frontends/onnx/RaisePatterns.h"

#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <limits>

namespace braid {
namespace onnx {
namespace raise {

namespace {

/// Op types the torch chunked scan is made of.
bool isScanOp(const std::string &op) {
  static const char *const ops[] = {
      "Add",       "Sub",       "Mul",    "Exp",       "CumSum",
      "ReduceSum", "Where",     "Expand", "Unsqueeze", "Squeeze",
      "Reshape",   "Transpose", "Pad",    "Slice",     "Concat",
      "Gather",    "Softplus",  "Clip",   "Neg",       "Identity"};
  return llvm::is_contained(ops, op);
}

/// The operand of binary `node` that is not `value` (or "").
std::string otherInput(const Node &node, const std::string &value) {
  if (node.inputs.size() != 2)
    return "";
  return node.inputs[0] == value   ? node.inputs[1]
         : node.inputs[1] == value ? node.inputs[0]
                                   : "";
}

/// [a, b] when `reshape` targets [B, T, a, b] (B, T static or 0).
std::optional<std::pair<int64_t, int64_t>> tokenDims(Graph &g,
                                                     const Node *reshape) {
  if (!reshape || reshape->opType != "Reshape")
    return std::nullopt;
  auto dims = g.ints(reshape->inputs[1]);
  if (!dims || dims->size() != 4)
    return std::nullopt;
  if (((*dims)[0] != 0 && (*dims)[0] != g.staticBatch.value_or(-2)) ||
      ((*dims)[1] != 0 && (*dims)[1] != g.staticSeq.value_or(-2)))
    return std::nullopt;
  return std::make_pair((*dims)[2], (*dims)[3]);
}

struct Region {
  std::vector<const Node *> nodes;
  std::vector<std::string> leaves; // runtime values entering the region
};

/// Everything `output` depends on through scan ops inside `scope`.
Region collectRegion(Graph &g, const std::string &output,
                     const std::string &scope) {
  Region r;
  std::vector<std::string> work = {output};
  std::set<const Node *> seen;
  while (!work.empty()) {
    std::string v = work.back();
    work.pop_back();
    if (v.empty() || g.constant(v))
      continue;
    const Node *p = g.producer(v);
    bool inside = p && p->domain.empty() && isScanOp(p->opType) &&
                  g.moduleScope(*p) == scope;
    if (!inside) {
      if (!llvm::is_contained(r.leaves, v))
        r.leaves.push_back(v);
      continue;
    }
    if (!seen.insert(p).second)
      continue;
    r.nodes.push_back(p);
    for (const std::string &in : p->inputs)
      work.push_back(in);
  }
  return r;
}

class ScanMatch {
public:
  ScanMatch(Graph &g, const Node &clip)
      : g(g), m(g, "ssd-scan", clip), clip(clip) {}
  void run();

private:
  bool bindDt();
  bool bindXAndA();
  bool bindOutput();
  bool checkRegion();
  void emit();

  Graph &g;
  Matcher m;
  const Node &clip;
  std::string scope, dt, dtBias, a, d;
  double lo = 0, hi = std::numeric_limits<double>::infinity();
  const Node *xMul = nullptr, *xReshape = nullptr, *root = nullptr;
  const Node *bReshape = nullptr, *cReshape = nullptr;
  int64_t heads = 0, headDim = 0, chunk = 0;
  Region region;
};

void ScanMatch::run() {
  scope = g.moduleScope(clip);
  if (scope.empty())
    return void(m.fail(clip, "has no module scope (pkg.torch.onnx."
                             "name_scopes) to delimit the scan"));
  if (bindDt() && bindXAndA() && bindOutput() && checkRegion())
    emit();
}

/// dt' = Clip(Softplus(Add(dt, dt_bias)), lo, hi).
bool ScanMatch::bindDt() {
  const Node *softplus = m.input(clip, 0, "Softplus");
  const Node *add = softplus ? m.input(*softplus, 0, "Add") : nullptr;
  if (!add)
    return false;
  for (unsigned s : {0u, 1u})
    if (g.constant(add->inputs[s])) {
      dtBias = add->inputs[s];
      dt = add->inputs[1 - s];
    }
  if (dtBias.empty())
    return m.fail(*add, "adds no constant dt_bias");
  auto bound = [&](unsigned i, const char *attr, double &out) {
    if (i < clip.inputs.size() && !clip.inputs[i].empty()) {
      if (auto v = m.scalarInput(clip, i))
        out = *v;
    } else if (const Attribute *a = clip.attr(attr)) {
      out = a->f;
    }
  };
  bound(1, "min", lo);
  bound(2, "max", hi);
  if (m.ok() && lo < 0)
    m.fail(clip, "clamps dt below 0");
  return m.ok();
}

/// x from Mul(x, Unsqueeze(dt')); A from Mul(A, dt').
bool ScanMatch::bindXAndA() {
  const Node *unsq = m.userOf(clip, clip.outputs[0], "Unsqueeze");
  xMul = unsq ? m.onlyUser(*unsq, "Mul") : nullptr;
  const Node *aMul = m.userOf(clip, clip.outputs[0], "Mul");
  if (!xMul || !aMul)
    return false;
  std::string x = otherInput(*xMul, unsq->outputs[0]);
  xReshape = g.producer(x);
  auto xd = tokenDims(g, xReshape);
  if (!xd)
    return m.fail(*xMul, "'" + x + "' is not a Reshape to [B, T, H, P]");
  a = otherInput(*aMul, clip.outputs[0]);
  const Tensor *at = g.constant(a), *bt = g.constant(dtBias);
  // [B, T, -1, P]: the head count is dt_bias's length.
  heads = xd->first == -1 && bt ? bt->numel() : xd->first;
  headDim = xd->second;
  if (!at || !at->isFloat() || at->numel() != heads)
    return m.fail(*aMul, "A '" + a + "' is not a constant of " +
                             std::to_string(heads) + " heads");
  if (!bt || !bt->isFloat() || bt->numel() != heads)
    return m.fail(clip, "dt_bias '" + dtBias + "' does not have " +
                            std::to_string(heads) + " elements");
  return true;
}

/// Slice(Add(y, Mul(D, Pad(x))), 0..T, axis 1): the D skip and the cut of
/// the chunk padding; also the chunk size from Pad(x * dt).
bool ScanMatch::bindOutput() {
  const std::string &x = xReshape->outputs[0];
  const Node *pad = m.userOf(*xReshape, x, "Pad");
  const Node *dMul = pad ? m.onlyUser(*pad, "Mul") : nullptr;
  const Node *add = dMul ? m.onlyUser(*dMul, "Add") : nullptr;
  root = add ? m.onlyUser(*add, "Slice") : nullptr;
  if (!root)
    return false;
  d = otherInput(*dMul, pad->outputs[0]);
  const Tensor *dt = g.constant(d);
  if (!dt || !dt->isFloat() || dt->numel() != heads)
    return m.fail(*dMul, "D '" + d + "' is not a constant of " +
                             std::to_string(heads) + " heads");
  auto starts = m.intsInput(*root, 1), ends = m.intsInput(*root, 2),
       axes = m.intsInput(*root, 3);
  if (!m.ok())
    return false;
  if (*starts != std::vector<int64_t>{0} || *axes != std::vector<int64_t>{1} ||
      !g.staticSeq || *ends != std::vector<int64_t>{*g.staticSeq})
    return m.fail(*root, "does not cut the output back to positions 0..T");
  // x * dt, padded and split into chunks: [B, chunks, chunk, H, P].
  const Node *xPad = m.onlyUser(*xMul, "Pad");
  const Node *chunks = xPad ? m.onlyUser(*xPad, "Reshape") : nullptr;
  auto dims = chunks ? m.intsInput(*chunks, 1) : std::nullopt;
  if (!dims)
    return false;
  if (dims->size() != 5 || (*dims)[3] != heads || (*dims)[4] != headDim ||
      (*dims)[2] <= 0)
    return m.fail(*chunks, "is not a split of x * dt into [B, chunks, "
                           "chunk, H, P]");
  chunk = (*dims)[2];
  if ((*dims)[1] > 0 && (*dims)[1] * chunk < *g.staticSeq)
    return m.fail(*chunks, "chunks do not cover the sequence");
  return true;
}

bool ScanMatch::checkRegion() {
  region = collectRegion(g, root->outputs[0], scope);
  for (size_t i : m.nodes())
    if (!llvm::is_contained(region.nodes, &g.nodes()[i]))
      return m.fail(g.nodes()[i], "is not part of the scan's output");
  // Leaves: dt and the x, B, C outputs of one Split, each reshaped once.
  if (region.leaves.size() != 4 || !llvm::is_contained(region.leaves, dt))
    return m.fail(*root, "the scan reads " +
                             std::to_string(region.leaves.size()) +
                             " runtime values; expected dt, x, B and C");
  const Node *split = nullptr;
  std::vector<std::pair<size_t, const Node *>> xbc; // (split output, reshape)
  for (const std::string &leaf : region.leaves) {
    if (leaf == dt)
      continue;
    const Node *p = g.producer(leaf);
    if (!p || (split && p != split))
      return m.fail(*root,
                    "x, B and C ('" + leaf + "') do not come from one Split");
    split = p;
    const Node *reshape = nullptr;
    for (const Node *u : g.users(leaf))
      if (u && llvm::is_contained(region.nodes, u))
        reshape = reshape ? nullptr : u;
    if (!tokenDims(g, reshape))
      return m.fail(*p, "output '" + leaf +
                            "' is not reshaped once to "
                            "[B, T, a, b] in the scan");
    size_t index = llvm::find(p->outputs, leaf) - p->outputs.begin();
    xbc.push_back({index, reshape});
  }
  llvm::sort(xbc, [](auto &l, auto &r) { return l.first < r.first; });
  if (xbc[0].second != xReshape)
    return m.fail(*split, "x is not its first output of x, B, C");
  bReshape = xbc[1].second;
  cReshape = xbc[2].second;
  auto bd = tokenDims(g, bReshape), cd = tokenDims(g, cReshape);
  if (*bd != *cd || heads % bd->first)
    return m.fail(*bReshape, "B and C are not [B, T, G, N] with G dividing " +
                                 std::to_string(heads) + " heads");
  // The fingerprint of the chunked scan.
  std::map<std::string, int> count;
  for (const Node *n : region.nodes) {
    ++count[n->opType];
    if (n->opType == "Where" && !g.constant(n->inputs[0]))
      return m.fail(*n, "masks with a runtime condition");
  }
  if (count["CumSum"] != 3 || count["Exp"] != 4 || count["ReduceSum"] != 6 ||
      count["Softplus"] != 1 || count["Clip"] != 1)
    return m.fail(*root, "the region has " + std::to_string(count["CumSum"]) +
                             " CumSum, " + std::to_string(count["Exp"]) +
                             " Exp, " + std::to_string(count["ReduceSum"]) +
                             " ReduceSum; the chunked scan has 3, 4, 6");
  for (const Node *n : region.nodes)
    if (n != xReshape && n != bReshape && n != cReshape)
      m.take(*n);
  return true;
}

void ScanMatch::emit() {
  Node n =
      makeNode(root->name.empty() ? g.freshName("raised_ssd_scan") : root->name,
               "SSDScan", "braid",
               {xReshape->outputs[0], dt, a, bReshape->outputs[0],
                cReshape->outputs[0], d, dtBias},
               {root->outputs[0]});
  setInt(n, "chunk_size", chunk);
  setInt(n, "dt_softplus", 1);
  setFloat(n, "dt_min", lo);
  setFloat(n, "dt_max", hi);
  m.replace({n});
}

} // namespace

void raiseSSDScan(Graph &g) {
  for (const Node &node : g.nodes())
    if (node.domain.empty() && node.opType == "Clip" &&
        g.producer(node.inputs[0]) &&
        g.producer(node.inputs[0])->opType == "Softplus")
      ScanMatch(g, node).run();
}

} // namespace raise
} // namespace onnx
} // namespace braid
