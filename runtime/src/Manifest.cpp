//===- Manifest.cpp - parse and check the bundle manifest -----------------===//

#include "runtime/src/Manifest.h"

#include "braid/bundle_format.h"
#include "runtime/src/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

using json = nlohmann::json;

namespace braid::rt {

//===----------------------------------------------------------------------===//
// Small helpers
//===----------------------------------------------------------------------===//

const char *toString(ValueType type) {
  switch (type) {
  case ValueType::F32:
    return "f32";
  case ValueType::F16:
    return "f16";
  case ValueType::BF16:
    return "bf16";
  case ValueType::I64:
    return "i64";
  }
  return "?";
}

std::optional<ValueType> parseValueType(std::string_view text) {
  if (text == "f32")
    return ValueType::F32;
  if (text == "f16")
    return ValueType::F16;
  if (text == "bf16")
    return ValueType::BF16;
  if (text == "i64")
    return ValueType::I64;
  return std::nullopt;
}

size_t byteWidth(ValueType type) {
  switch (type) {
  case ValueType::F32:
    return 4;
  case ValueType::F16:
  case ValueType::BF16:
    return 2;
  case ValueType::I64:
    return 8;
  }
  return 0;
}

void linkColumnScales(std::vector<WeightDecl> &weights) {
  std::map<std::string, const WeightDecl *> byName;
  for (const WeightDecl &w : weights)
    byName[w.name] = &w;
  for (WeightDecl &w : weights) {
    auto it = w.columnScale.empty() ? byName.end() : byName.find(w.columnScale);
    w.columnScaleDecl = it == byName.end()
                            ? nullptr
                            : std::make_shared<const WeightDecl>(*it->second);
  }
}

const char *toString(Combine combine) {
  switch (combine) {
  case Combine::Single:
    return "single";
  case Combine::Concat:
    return "concat";
  case Combine::Stack:
    return "stack";
  case Combine::StackOfConcat:
    return "stack_of_concat";
  }
  return "?";
}

const char *toString(Elementwise elementwise) {
  return elementwise == Elementwise::NegExp ? "neg_exp" : "identity";
}

const char *toString(ArgKind kind) {
  switch (kind) {
  case ArgKind::Absent:
    return "absent";
  case ArgKind::Arena:
    return "arena";
  case ArgKind::Weight:
    return "weight";
  case ArgKind::State:
    return "state";
  case ArgKind::Input:
    return "input";
  case ArgKind::Output:
    return "output";
  }
  return "?";
}

std::vector<int64_t> DimBinding::bind(const DimList &dims) const {
  std::vector<int64_t> out;
  out.reserve(dims.size());
  for (const Dim &d : dims)
    out.push_back(bind(d));
  return out;
}

std::string formatDims(const DimList &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      s += ", ";
    if (dims[i].symbol)
      s += dims[i].symbol;
    else
      s += std::to_string(dims[i].value);
  }
  return s + "]";
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t checkedNumElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n) || n > kMaxElements)
      return -1;
  return n;
}

std::string Launch::describe() const {
  return loc.empty() ? kernel : kernel + " at " + loc;
}

const IODecl *Entry::findInput(std::string_view n) const {
  for (const IODecl &d : inputs)
    if (d.name == n)
      return &d;
  return nullptr;
}

const IODecl *Entry::findOutput(std::string_view n) const {
  for (const IODecl &d : outputs)
    if (d.name == n)
      return &d;
  return nullptr;
}

const Entry *Manifest::findEntry(std::string_view name) const {
  for (const Entry &e : entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

const WeightDecl *Manifest::findWeight(std::string_view name) const {
  for (const WeightDecl &w : weights)
    if (w.name == name)
      return &w;
  return nullptr;
}

bool Manifest::hasTarget(std::string_view target) const {
  for (const std::string &t : targets)
    if (t == target)
      return true;
  return false;
}

std::vector<std::pair<std::string, size_t>> Manifest::kernelFamilies() const {
  std::vector<std::pair<std::string, size_t>> out;
  std::map<std::string, size_t> index;
  for (const Entry &e : entries)
    for (const Launch &l : e.launches) {
      auto [it, inserted] = index.emplace(l.kernel, out.size());
      if (inserted)
        out.push_back({l.kernel, 0});
      ++out[it->second].second;
    }
  return out;
}

int64_t Manifest::weightElements() const {
  int64_t n = 0;
  for (const WeightDecl &w : weights)
    n += w.numel();
  return n;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {

[[noreturn]] void bad(const std::string &path, const std::string &what) {
  fail(ErrorCode::Bundle,
       "manifest: " + (path.empty() ? "" : path + ": ") + what);
}

const char *typeName(const json &v) {
  switch (v.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::object:
    return "an object";
  case json::value_t::array:
    return "an array";
  case json::value_t::string:
    return "a string";
  case json::value_t::boolean:
    return "a boolean";
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "an integer";
  case json::value_t::number_float:
    return "a number";
  default:
    return "something else";
  }
}

std::string member(const std::string &path, const char *key) {
  return path.empty() ? std::string(key) : path + "." + key;
}

/// The field `key` of object `obj`, which must be present.
const json &need(const json &obj, const std::string &path, const char *key) {
  auto it = obj.find(key);
  if (it == obj.end())
    bad(path.empty() ? "top level" : path,
        std::string("missing field '") + key + "'");
  return *it;
}

const json *optional(const json &obj, const char *key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

void expectObject(const json &v, const std::string &path) {
  if (!v.is_object())
    bad(path, std::string("expected an object, found ") + typeName(v));
}

void expectArray(const json &v, const std::string &path) {
  if (!v.is_array())
    bad(path, std::string("expected an array, found ") + typeName(v));
}

std::string getString(const json &v, const std::string &path) {
  if (!v.is_string())
    bad(path, std::string("expected a string, found ") + typeName(v));
  return v.get<std::string>();
}

int64_t getInt(const json &v, const std::string &path) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      bad(path, "integer out of range");
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  if (!v.is_number_integer())
    bad(path, std::string("expected an integer, found ") + typeName(v));
  return v.get<int64_t>();
}

int64_t getNonNegative(const json &v, const std::string &path) {
  int64_t x = getInt(v, path);
  if (x < 0)
    bad(path, "expected a non-negative integer, found " + std::to_string(x));
  return x;
}

std::vector<int64_t> getStaticShape(const json &v, const std::string &path) {
  expectArray(v, path);
  std::vector<int64_t> shape;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    if (v[i].is_string())
      bad(p, "expected a constant dimension, found '" +
                 v[i].get<std::string>() + "' (weights have static shapes)");
    shape.push_back(getNonNegative(v[i], p));
  }
  if (checkedNumElements(shape) < 0)
    bad(path, "shape " + formatShape(shape) + " is too large");
  return shape;
}

/// A shape whose entries are integers or symbols from `allowed`.
DimList getDims(const json &v, const std::string &path,
                std::string_view allowed, const char *why) {
  expectArray(v, path);
  DimList dims;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    if (v[i].is_string()) {
      std::string s = v[i].get<std::string>();
      if (s.size() != 1 ||
          std::string_view("BTS").find(s[0]) == std::string_view::npos)
        bad(p, "unknown dimension symbol '" + s +
                   "' (the runtime binds B, T "
                   "and S)");
      if (allowed.find(s[0]) == std::string_view::npos)
        bad(p, "symbol '" + s + "' is not allowed here (" + why + ")");
      dims.push_back(Dim::sym(s[0]));
    } else {
      dims.push_back(Dim::constant(getNonNegative(v[i], p)));
    }
  }
  std::vector<int64_t> constants;
  for (const Dim &d : dims)
    if (!d.symbol)
      constants.push_back(d.value);
  if (checkedNumElements(constants) < 0)
    bad(path, "shape " + formatDims(dims) + " is too large");
  return dims;
}

ValueType getValueType(const json &v, const std::string &path,
                       std::initializer_list<ValueType> allowed) {
  std::string s = getString(v, path);
  std::optional<ValueType> t = parseValueType(s);
  bool ok = false;
  if (t)
    for (ValueType a : allowed)
      ok |= a == *t;
  if (!ok) {
    std::string list;
    for (ValueType a : allowed)
      list += std::string(list.empty() ? "" : ", ") + toString(a);
    bad(path, "unsupported dtype '" + s + "' (expected one of: " + list + ")");
  }
  return *t;
}

std::vector<std::string> getStrings(const json &v, const std::string &path) {
  expectArray(v, path);
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(getString(v[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

std::string indexed(const std::string &path, size_t i,
                    const std::string &label = "") {
  std::string s = path + "[" + std::to_string(i) + "]";
  return label.empty() ? s : s + " (" + label + ")";
}

/// The label of an element for paths: its "name" when it has one.
std::string labelOf(const json &v, const char *key = "name") {
  if (v.is_object()) {
    auto it = v.find(key);
    if (it != v.end() && it->is_string())
      return it->get<std::string>();
  }
  return "";
}

//===--- attributes -------------------------------------------------------===//

std::optional<double> specialFloat(const std::string &s) {
  if (s == "inf" || s == "+inf")
    return std::numeric_limits<double>::infinity();
  if (s == "-inf")
    return -std::numeric_limits<double>::infinity();
  if (s == "nan")
    return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

AttrValue toAttr(const json &v, const std::string &path) {
  if (v.is_boolean())
    return v.get<bool>();
  if (v.is_number_integer() || v.is_number_unsigned())
    return getInt(v, path);
  if (v.is_number_float())
    return v.get<double>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (std::optional<double> f = specialFloat(s))
      return *f;
    return s;
  }
  if (v.is_array()) {
    bool allInts = true;
    for (size_t i = 0; i < v.size(); ++i) {
      const json &x = v[i];
      std::string p = indexed(path, i);
      if (x.is_number_integer() || x.is_number_unsigned())
        continue;
      if (x.is_number_float() ||
          (x.is_string() && specialFloat(x.get<std::string>()))) {
        allInts = false;
        continue;
      }
      bad(p, std::string("array attributes hold numbers only, found ") +
                 typeName(x));
    }
    if (allInts) {
      std::vector<int64_t> out;
      for (size_t i = 0; i < v.size(); ++i)
        out.push_back(getInt(v[i], indexed(path, i)));
      return out;
    }
    std::vector<double> out;
    for (const json &x : v)
      out.push_back(x.is_string() ? *specialFloat(x.get<std::string>())
                                  : x.get<double>());
    return out;
  }
  bad(path, std::string("unsupported attribute value: ") + typeName(v));
}

//===--- the parser -------------------------------------------------------===//

class Parser {
public:
  Manifest parse(const json &root) {
    expectObject(root, "top level");
    Manifest m;
    m.formatVersion =
        getInt(need(root, "", "format_version"), "format_version");
    if (m.formatVersion > int64_t(BRAID_BUNDLE_FORMAT_VERSION))
      bad("", "format_version " + std::to_string(m.formatVersion) +
                  " is newer than this runtime reads (" +
                  std::to_string(BRAID_BUNDLE_FORMAT_VERSION) + ")");
    if (m.formatVersion < 1)
      bad("format_version",
          "expected 1 or more, found " + std::to_string(m.formatVersion));
    if (const json *g = optional(root, "generator"))
      m.generator = getString(*g, "generator");
    m.model = getString(need(root, "", "model"), "model");
    if (const json *t = optional(root, "element_type"))
      m.elementType =
          getValueType(*t, "element_type",
                       {ValueType::F32, ValueType::F16, ValueType::BF16});
    m.vocabSize = getInt(need(root, "", "vocab_size"), "vocab_size");
    if (m.vocabSize <= 0)
      bad("vocab_size",
          "expected a positive integer, found " + std::to_string(m.vocabSize));
    if (const json *h = optional(root, "hidden_size"))
      m.hiddenSize = getNonNegative(*h, "hidden_size");
    m.targets = getStrings(need(root, "", "targets"), "targets");
    if (m.targets.empty())
      bad("targets", "the list of targets is empty");

    const json &weights = need(root, "", "weights");
    expectArray(weights, "weights");
    for (size_t i = 0; i < weights.size(); ++i)
      m.weights.push_back(
          parseWeight(weights[i], indexed("weights", i, labelOf(weights[i]))));
    checkUnique(m.weights, "weights", "weight");
    resolveColumnScales(m);

    const json &states = need(root, "", "states");
    expectArray(states, "states");
    for (size_t i = 0; i < states.size(); ++i)
      m.states.push_back(
          parseState(states[i], indexed("states", i, labelOf(states[i]))));
    checkUnique(m.states, "states", "state");

    const json &arena = need(root, "", "arena");
    expectObject(arena, "arena");
    m.arenaBytesPerToken = getNonNegative(
        need(arena, "arena", "bytes_per_token"), "arena.bytes_per_token");
    if (m.arenaBytesPerToken > kMaxElements)
      bad("arena.bytes_per_token",
          std::to_string(m.arenaBytesPerToken) + " is too large");

    const json &entries = need(root, "", "entries");
    expectArray(entries, "entries");
    for (size_t i = 0; i < entries.size(); ++i)
      m.entries.push_back(parseEntry(
          m, entries[i], indexed("entries", i, labelOf(entries[i]))));
    checkUnique(m.entries, "entries", "entry");
    if (!m.findEntry("prefill"))
      bad("entries", "no 'prefill' entry");
    return m;
  }

private:
  template <typename T>
  void checkUnique(const std::vector<T> &items, const char *path,
                   const char *what) {
    std::set<std::string> seen;
    for (size_t i = 0; i < items.size(); ++i)
      if (!seen.insert(items[i].name).second)
        bad(indexed(path, i),
            std::string("duplicate ") + what + " '" + items[i].name + "'");
  }

  /// Each `column_scale` names a 1-D weight (without a column scale of its
  /// own) with one entry per index of the scaled weight's last dimension.
  void resolveColumnScales(Manifest &m) {
    for (size_t i = 0; i < m.weights.size(); ++i) {
      WeightDecl &w = m.weights[i];
      if (w.columnScale.empty())
        continue;
      std::string p = member(indexed("weights", i, w.name), "column_scale");
      auto it = std::find_if(
          m.weights.begin(), m.weights.end(),
          [&](const WeightDecl &o) { return o.name == w.columnScale; });
      if (it == m.weights.end())
        bad(p, "names no weight of the bundle: '" + w.columnScale + "'");
      int64_t columns = w.shape.empty() ? 1 : w.shape.back();
      if (it->shape.size() != 1 || it->shape[0] != columns)
        bad(p, "weight '" + w.columnScale + "' has shape " +
                   formatShape(it->shape) + ", expected [" +
                   std::to_string(columns) +
                   "] (one factor per index of the last dimension of " +
                   formatShape(w.shape) + ")");
      if (!it->columnScale.empty())
        bad(p, "weight '" + w.columnScale + "' has a column_scale of its own");
    }
    linkColumnScales(m.weights);
  }

  WeightDecl parseWeight(const json &v, const std::string &path) {
    expectObject(v, path);
    WeightDecl w;
    w.name = getString(need(v, path, "name"), member(path, "name"));
    w.shape = getStaticShape(need(v, path, "shape"), member(path, "shape"));
    if (const json *d = optional(v, "dtype"))
      w.dtype = getValueType(*d, member(path, "dtype"),
                             {ValueType::F32, ValueType::F16, ValueType::BF16});
    const json &sources = need(v, path, "sources");
    expectArray(sources, member(path, "sources"));
    if (sources.empty())
      bad(member(path, "sources"), "a weight needs at least one source");
    for (size_t i = 0; i < sources.size(); ++i) {
      std::string p = indexed(member(path, "sources"), i);
      expectObject(sources[i], p);
      TensorSource s;
      s.tensor = getString(need(sources[i], p, "tensor"), member(p, "tensor"));
      s.shape =
          getStaticShape(need(sources[i], p, "shape"), member(p, "shape"));
      w.sources.push_back(std::move(s));
    }
    if (const json *c = optional(v, "combine")) {
      std::string s = getString(*c, member(path, "combine"));
      if (s == "single")
        w.combine = Combine::Single;
      else if (s == "concat")
        w.combine = Combine::Concat;
      else if (s == "stack")
        w.combine = Combine::Stack;
      else if (s == "stack_of_concat")
        w.combine = Combine::StackOfConcat;
      else
        bad(member(path, "combine"),
            "unknown combine '" + s +
                "' (expected single, concat, stack or stack_of_concat)");
    }
    if (const json *a = optional(v, "axis"))
      w.axis = getInt(*a, member(path, "axis"));
    if (const json *g = optional(v, "group_size"))
      w.groupSize = getNonNegative(*g, member(path, "group_size"));
    if (const json *e = optional(v, "elementwise")) {
      std::string s = getString(*e, member(path, "elementwise"));
      if (s == "identity")
        w.elementwise = Elementwise::Identity;
      else if (s == "neg_exp")
        w.elementwise = Elementwise::NegExp;
      else
        bad(member(path, "elementwise"),
            "unknown elementwise '" + s + "' (expected identity or neg_exp)");
    }
    if (const json *t = optional(v, "tied_aliases"))
      w.tiedAliases = getStrings(*t, member(path, "tied_aliases"));
    if (const json *f = optional(v, "scale")) {
      std::string p = member(path, "scale");
      expectArray(*f, p);
      int64_t rows = w.shape.empty() ? 1 : w.shape.front();
      if (f->size() != 1 && int64_t(f->size()) != rows)
        bad(p, std::to_string(f->size()) +
                   " factors: expected 1 or one per index of the first "
                   "dimension (" +
                   std::to_string(rows) + ")");
      for (size_t i = 0; i < f->size(); ++i) {
        const json &x = (*f)[i];
        if (!x.is_number() || !std::isfinite(x.get<double>()))
          bad(indexed(p, i), std::string("expected a finite number, found ") +
                                 typeName(x));
        w.scale.push_back(x.get<double>());
      }
    }
    if (const json *c = optional(v, "column_scale"))
      w.columnScale = getString(*c, member(path, "column_scale"));

    std::string error;
    std::vector<int64_t> combined = combinedShape(w, &error);
    if (!error.empty())
      bad(path, error);
    if (numElements(combined) != w.numel())
      bad(path, std::string(toString(w.combine)) + " of the sources gives " +
                    formatShape(combined) + " (" +
                    std::to_string(numElements(combined)) +
                    " elements), which cannot be reshaped to " +
                    formatShape(w.shape) + " (" + std::to_string(w.numel()) +
                    " elements)");
    return w;
  }

  StateDecl parseState(const json &v, const std::string &path) {
    expectObject(v, path);
    StateDecl s;
    s.name = getString(need(v, path, "name"), member(path, "name"));
    s.shape = getDims(need(v, path, "shape"), member(path, "shape"), "BS",
                      "states live across calls: B and S only");
    // bf16/f16: the KV caches of GPU bundles of that element type.
    if (const json *d = optional(v, "dtype"))
      s.dtype = getValueType(
          *d, member(path, "dtype"),
          {ValueType::F32, ValueType::I64, ValueType::BF16, ValueType::F16});
    return s;
  }

  IODecl parseIO(const json &v, const std::string &path, bool input) {
    expectObject(v, path);
    IODecl d;
    d.name = getString(need(v, path, "name"), member(path, "name"));
    d.shape = getDims(need(v, path, "shape"), member(path, "shape"), "BTS", "");
    d.dtype = getValueType(need(v, path, "dtype"), member(path, "dtype"),
                           {input ? ValueType::I64 : ValueType::F32});
    return d;
  }

  /// Inputs and outputs must have the sizes the runtime supplies and reads.
  void checkIO(const Manifest &m, const Entry &e, const std::string &path) {
    bool decode = e.name == "decode" || e.name == "decode_greedy";
    // prefill_last: logits of each sequence's last position only.
    bool lastOnly = e.name == "prefill_last";
    for (int sample = 0; sample < 2; ++sample) {
      DimBinding b;
      b.B = sample ? 3 : 2;
      b.T = decode ? 1 : (sample ? 7 : 5);
      b.S = 11;
      auto check = [&](const IODecl &d, int64_t want, const char *what,
                       const char *kind, size_t i) {
        if (numElements(b.bind(d.shape)) != want)
          bad(indexed(member(path, kind), i, d.name),
              "shape " + formatDims(d.shape) + " does not hold " + what);
      };
      for (size_t i = 0; i < e.inputs.size(); ++i) {
        const IODecl &d = e.inputs[i];
        if (d.name == kCachePosition)
          check(d, b.B, "one position per sequence ([B])", "inputs", i);
        else
          check(d, b.B * b.T, "one value per token ([B, T])", "inputs", i);
      }
      for (size_t i = 0; i < e.outputs.size(); ++i)
        check(e.outputs[i], b.B * (lastOnly ? 1 : b.T) * m.vocabSize,
              lastOnly ? "vocab_size logits per sequence ([B, 1, vocab_size])"
                       : "vocab_size logits per token ([B, T, vocab_size])",
              "outputs", i);
    }
  }

  Entry parseEntry(const Manifest &m, const json &v, const std::string &path) {
    expectObject(v, path);
    Entry e;
    e.name = getString(need(v, path, "name"), member(path, "name"));
    if (e.name != "prefill" && e.name != "decode" && e.name != "prefill_last" &&
        e.name != "decode_greedy")
      bad(member(path, "name"), "unknown entry '" + e.name +
                                    "' (expected prefill, decode, "
                                    "prefill_last or decode_greedy)");
    const json &inputs = need(v, path, "inputs");
    expectArray(inputs, member(path, "inputs"));
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string p = indexed(member(path, "inputs"), i, labelOf(inputs[i]));
      IODecl d = parseIO(inputs[i], p, /*input=*/true);
      if (d.name != kInputIds && d.name != kPositions &&
          d.name != kCachePosition)
        bad(p, "unknown input '" + d.name +
                   "' (the runtime provides input_ids, positions and "
                   "cache_position)");
      e.inputs.push_back(std::move(d));
    }
    checkUnique(e.inputs, (path + ".inputs").c_str(), "input");
    const json &outputs = need(v, path, "outputs");
    expectArray(outputs, member(path, "outputs"));
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::string p = indexed(member(path, "outputs"), i, labelOf(outputs[i]));
      IODecl d = parseIO(outputs[i], p, /*input=*/false);
      if (d.name != kLogits)
        bad(p, "unknown output '" + d.name +
                   "' (the runtime reads only 'logits')");
      e.outputs.push_back(std::move(d));
    }
    checkUnique(e.outputs, (path + ".outputs").c_str(), "output");
    if (!e.findOutput(kLogits))
      bad(member(path, "outputs"), "no 'logits' output");
    checkIO(m, e, path);

    const json &launches = need(v, path, "launches");
    expectArray(launches, member(path, "launches"));
    bool writesLogits = false;
    for (size_t i = 0; i < launches.size(); ++i) {
      const json &l = launches[i];
      std::string label = labelOf(l, "kernel");
      if (l.is_object() && !label.empty()) {
        auto loc = l.find("loc");
        if (loc != l.end() && loc->is_string() && !loc->empty())
          label += " at " + loc->get<std::string>();
      }
      e.launches.push_back(
          parseLaunch(m, e, l, indexed(member(path, "launches"), i, label)));
      for (const Arg &a : e.launches.back().results)
        writesLogits |= a.kind == ArgKind::Output && a.name == kLogits;
    }
    if (!writesLogits)
      bad(path, "no launch writes the output 'logits'");
    return e;
  }

  Launch parseLaunch(const Manifest &m, const Entry &e, const json &v,
                     const std::string &path) {
    expectObject(v, path);
    Launch l;
    l.kernel = getString(need(v, path, "kernel"), member(path, "kernel"));
    if (l.kernel.empty())
      bad(member(path, "kernel"), "empty kernel family");
    if (const json *loc = optional(v, "loc"))
      l.loc = getString(*loc, member(path, "loc"));
    if (const json *attrs = optional(v, "attrs")) {
      expectObject(*attrs, member(path, "attrs"));
      for (auto it = attrs->begin(); it != attrs->end(); ++it)
        l.attrs.push_back({it.key(), toAttr(it.value(), member(path, "attrs") +
                                                            "." + it.key())});
    }
    const json &operands = need(v, path, "operands");
    expectArray(operands, member(path, "operands"));
    for (size_t i = 0; i < operands.size(); ++i)
      l.operands.push_back(parseArg(m, e, l.kernel, operands[i],
                                    indexed(member(path, "operands"), i),
                                    /*result=*/false));
    const json &results = need(v, path, "results");
    expectArray(results, member(path, "results"));
    for (size_t i = 0; i < results.size(); ++i)
      l.results.push_back(parseArg(m, e, l.kernel, results[i],
                                   indexed(member(path, "results"), i),
                                   /*result=*/true));
    return l;
  }

  Arg parseArg(const Manifest &m, const Entry &e, const std::string &kernel,
               const json &v, const std::string &path, bool result) {
    Arg a;
    if (v.is_null()) {
      if (result)
        bad(path, "a result cannot be null (absent optional results are "
                  "left out)");
      return a;
    }
    expectObject(v, path);
    std::string kind = getString(need(v, path, "kind"), member(path, "kind"));
    const json *shape = optional(v, "shape");
    if (kind == "arena") {
      a.kind = ArgKind::Arena;
      a.offset =
          getNonNegative(need(v, path, "offset"), member(path, "offset"));
      if (a.offset > m.arenaBytesPerToken)
        bad(member(path, "offset"),
            "offset " + std::to_string(a.offset) +
                " is beyond the arena's bytes_per_token " +
                std::to_string(m.arenaBytesPerToken));
      a.shape =
          getDims(need(v, path, "shape"), member(path, "shape"), "BTS", "");
      a.dtype = ValueType::F32;
      if (const json *d = optional(v, "dtype"))
        a.dtype = getValueType(
            *d, member(path, "dtype"),
            {ValueType::F32, ValueType::I64, ValueType::BF16, ValueType::F16});
      return a;
    }
    a.name = getString(need(v, path, "name"), member(path, "name"));
    auto checkShape = [&](const DimList &declared) {
      if (!shape)
        return;
      DimList given = getDims(*shape, member(path, "shape"), "BTS", "");
      if (formatDims(given) != formatDims(declared))
        bad(member(path, "shape"), "shape " + formatDims(given) + " of '" +
                                       a.name + "' differs from its " +
                                       "declaration " + formatDims(declared));
    };
    if (kind == "weight") {
      a.kind = ArgKind::Weight;
      if (result)
        bad(path, "weight '" + a.name +
                      "' cannot be a result (weights are "
                      "read-only)");
      size_t i = 0;
      for (; i < m.weights.size() && m.weights[i].name != a.name; ++i)
        ;
      if (i == m.weights.size())
        bad(member(path, "name"), "unknown weight '" + a.name + "'");
      a.index = i;
      for (int64_t d : m.weights[i].shape)
        a.shape.push_back(Dim::constant(d));
      checkShape(a.shape);
      a.dtype = m.weights[i].dtype;
      return a;
    }
    if (kind == "state") {
      a.kind = ArgKind::State;
      size_t i = 0;
      for (; i < m.states.size() && m.states[i].name != a.name; ++i)
        ;
      if (i == m.states.size())
        bad(member(path, "name"), "unknown state '" + a.name + "'");
      a.index = i;
      a.shape = m.states[i].shape;
      checkShape(a.shape);
      a.dtype = m.states[i].dtype;
      return a;
    }
    if (kind == "input" || kind == "output") {
      bool input = kind == "input";
      a.kind = input ? ArgKind::Input : ArgKind::Output;
      const std::vector<IODecl> &decls = input ? e.inputs : e.outputs;
      size_t i = 0;
      for (; i < decls.size() && decls[i].name != a.name; ++i)
        ;
      if (i == decls.size())
        bad(member(path, "name"),
            "entry '" + e.name + "' has no " + kind + " '" + a.name + "'");
      // Inputs are read-only, except where decode_greedy's greedy_next
      // writes the next step's ids and positions.
      if (input && result &&
          (e.name != "decode_greedy" || kernel != "greedy_next"))
        bad(path, "input '" + a.name +
                      "' cannot be a result (only greedy_next in "
                      "decode_greedy updates its inputs)");
      a.index = i;
      a.shape = decls[i].shape;
      checkShape(a.shape);
      a.dtype = decls[i].dtype;
      return a;
    }
    bad(member(path, "kind"), "unknown argument kind '" + kind +
                                  "' (expected arena, weight, state, input "
                                  "or output)");
  }
};

} // namespace

std::vector<int64_t> combinedShape(const WeightDecl &w, std::string *error) {
  auto failWith = [&](const std::string &msg) {
    *error = msg;
    return std::vector<int64_t>{};
  };
  error->clear();
  const std::vector<TensorSource> &src = w.sources;
  auto concat = [&](size_t begin, size_t end,
                    std::vector<int64_t> &out) -> bool {
    const std::vector<int64_t> &first = src[begin].shape;
    int64_t rank = static_cast<int64_t>(first.size());
    int64_t axis = w.axis < 0 ? w.axis + rank : w.axis;
    if (axis < 0 || axis >= rank) {
      failWith("axis " + std::to_string(w.axis) +
               " is out of range for "
               "source '" +
               src[begin].tensor + "' of shape " + formatShape(first));
      return false;
    }
    out = first;
    for (size_t i = begin + 1; i < end; ++i) {
      const std::vector<int64_t> &s = src[i].shape;
      bool ok = s.size() == first.size();
      for (int64_t d = 0; ok && d < rank; ++d)
        ok = d == axis || s[d] == first[d];
      if (!ok) {
        failWith("cannot concatenate '" + src[i].tensor + "' " +
                 formatShape(s) + " with '" + src[begin].tensor + "' " +
                 formatShape(first) + " along axis " + std::to_string(axis));
        return false;
      }
      out[axis] += s[axis];
    }
    return true;
  };
  switch (w.combine) {
  case Combine::Single:
    if (src.size() != 1)
      return failWith("combine 'single' takes exactly one source, found " +
                      std::to_string(src.size()));
    return src[0].shape;
  case Combine::Concat: {
    std::vector<int64_t> out;
    if (!concat(0, src.size(), out))
      return {};
    return out;
  }
  case Combine::Stack: {
    for (size_t i = 1; i < src.size(); ++i)
      if (src[i].shape != src[0].shape)
        return failWith("cannot stack '" + src[i].tensor + "' " +
                        formatShape(src[i].shape) + " with '" + src[0].tensor +
                        "' " + formatShape(src[0].shape));
    std::vector<int64_t> out{static_cast<int64_t>(src.size())};
    out.insert(out.end(), src[0].shape.begin(), src[0].shape.end());
    return out;
  }
  case Combine::StackOfConcat: {
    size_t g = static_cast<size_t>(w.groupSize);
    if (g == 0 || src.size() % g != 0)
      return failWith("stack_of_concat needs a group_size that divides the " +
                      std::to_string(src.size()) + " sources, found " +
                      std::to_string(w.groupSize));
    std::vector<int64_t> group;
    for (size_t begin = 0; begin < src.size(); begin += g) {
      std::vector<int64_t> shape;
      if (!concat(begin, begin + g, shape))
        return {};
      if (begin > 0 && shape != group)
        return failWith("group " + std::to_string(begin / g) + " gives " +
                        formatShape(shape) + ", group 0 gives " +
                        formatShape(group));
      group = shape;
    }
    std::vector<int64_t> out{static_cast<int64_t>(src.size() / g)};
    out.insert(out.end(), group.begin(), group.end());
    return out;
  }
  }
  return failWith("unknown combine");
}

Manifest parseManifest(std::string_view text) {
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::parse_error &e) {
    // nlohmann's message: "[json.exception.parse_error.101] parse error at
    // line 1, column 5: ..."; keep the part after the tag.
    std::string what = e.what();
    size_t pos = what.find("] ");
    fail(ErrorCode::Bundle,
         "manifest: invalid JSON: " +
             (pos == std::string::npos ? what : what.substr(pos + 2)));
  }
  return Parser().parse(root);
}

} // namespace braid::rt
