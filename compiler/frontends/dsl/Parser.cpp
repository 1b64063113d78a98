//===- Parser.cpp - Braid model DSL -> ModelSpec --------------------------===//
//
// Two phases. Reading: the model block, the templates (each parsed into a
// prototype Block plus the names it refers to), shared blocks and patterns.
// Building: patterns are expanded into layer groups and every template use
// becomes a Block, with defaults that need the model (hidden size) filled in.
// The first error stops the parser; it is reported as one located line.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontends/Diagnostics.h"
#include "compiler/frontends/dsl/DSL.h"
#include "compiler/frontends/dsl/Lexer.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdlib>
#include <functional>

using namespace llvm;

namespace braid {
namespace frontend {

namespace {

/// A name used somewhere and the place it was written.
struct NameRef {
  std::string name;
  SMLoc loc;
};

struct LoRARef {
  NameRef target; // a template of the shared block
  std::string projection;
  int64_t rank = 0;
};

/// A parsed template (or shared block) before it is placed in the stack.
struct Template {
  std::string name;
  SMLoc loc;
  bool isSharedBlock = false;
  Block proto;
  std::vector<NameRef> refs; // branches, shared-block members, `block`
  std::vector<LoRARef> loras;
  StringMap<SMLoc> fields; // the fields written, where
  bool mergeMultipliersGiven = false;

  SMLoc fieldLoc(StringRef key) const {
    auto it = fields.find(key);
    return it == fields.end() ? loc : it->second;
  }
};

class Parser;
using FieldHandler = std::function<bool(Parser &, Template &)>;

struct FieldDef {
  const char *key;
  bool required;
  FieldHandler handle;
};

/// The fields of one template kind.
const std::vector<FieldDef> &fieldsOf(BlockKind kind);

class Parser {
public:
  explicit Parser(std::unique_ptr<MemoryBuffer> buffer) {
    StringRef text = buffer->getBuffer();
    sourceMgr.AddNewSourceBuffer(std::move(buffer), SMLoc());
    lexer = std::make_unique<Lexer>(text);
    bufferStart = SMLoc::getFromPointer(text.begin());
  }

  ~Parser() { consumeError(std::move(error)); }

  Expected<ModelSpec> run() {
    if (readFile() && build())
      return std::move(spec);
    return takeError();
  }

  //===--------------------------------------------------------------------===//
  // Token helpers used by the field handlers
  //===--------------------------------------------------------------------===//

  bool fail(SMLoc loc, const Twine &message) {
    if (!error)
      error = errorAt(sourceMgr, loc, message);
    return false;
  }

  bool expected(StringRef what, const Token &found) {
    if (found.is(Token::Error))
      return fail(found.loc, found.message);
    return fail(found.loc, "expected " + what + ", found " + found.describe());
  }

  bool atFieldEnd() {
    const Token &t = lexer->peek();
    return t.is(Token::Newline) || t.is(Token::Semicolon) ||
           t.is(Token::RBrace) || t.is(Token::EndOfFile);
  }

  bool integer(int64_t &out) {
    Token t = lexer->next();
    if (!t.is(Token::Number))
      return expected("an integer", t);
    if (t.text.getAsInteger(10, out))
      return fail(t.loc, "bad integer '" + t.text + "'");
    return true;
  }

  bool positive(int64_t &out) {
    SMLoc loc = lexer->peek().loc;
    if (!integer(out))
      return false;
    if (out <= 0)
      return fail(loc, "expected a positive integer, found " + Twine(out));
    return true;
  }

  bool number(double &out) {
    Token t = lexer->next();
    if (t.isWord("inf")) {
      out = kInfinity;
      return true;
    }
    if (!t.is(Token::Number))
      return expected("a number", t);
    std::string text = t.text.str();
    if (text == "-inf" || text == "+inf") {
      out = text[0] == '-' ? -kInfinity : kInfinity;
      return true;
    }
    char *endPtr = nullptr;
    out = std::strtod(text.c_str(), &endPtr);
    if (text.empty() || *endPtr != '\0' || std::isnan(out))
      return fail(t.loc, "bad number '" + t.text + "'");
    return true;
  }

  bool positiveNumber(double &out) {
    SMLoc loc = lexer->peek().loc;
    if (!number(out))
      return false;
    if (!(out > 0))
      return fail(loc,
                  "expected a positive number, found " + formatNumber(out));
    return true;
  }

  bool boolean(bool &out) {
    Token t = lexer->next();
    if (t.isWord("true") || t.isWord("false")) {
      out = t.text == "true";
      return true;
    }
    return expected("true or false", t);
  }

  /// One of `choices`; returns its index.
  bool choice(ArrayRef<StringRef> choices, size_t &out) {
    Token t = lexer->next();
    for (auto [i, c] : enumerate(choices))
      if (t.isWord(c)) {
        out = i;
        return true;
      }
    std::string list;
    for (auto [i, c] : enumerate(choices))
      list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + c.str();
    return expected(list, t);
  }

  bool word(Token &out) {
    out = lexer->next();
    if (!out.is(Token::Identifier))
      return expected("a word", out);
    return true;
  }

  bool templateName(NameRef &out) {
    Token t = lexer->next();
    if (!t.is(Token::Identifier) && !t.is(Token::Symbol))
      return expected("a template name", t);
    out = {t.text.str(), t.loc};
    return true;
  }

  bool activation(Activation &out) {
    Token t = lexer->next();
    if (t.is(Token::Identifier))
      if (std::optional<Activation> act = parseActivation(t.text)) {
        out = *act;
        return true;
      }
    return expected("an activation (identity, silu, gelu, gelu_tanh, relu, "
                    "relu2, sigmoid, softplus or tanh)",
                    t);
  }

  /// `none`, `rms EPS` or `layer EPS [bias]`.
  bool norm(NormSpec &out) {
    size_t kind = 0;
    if (!choice({"none", "rms", "layer"}, kind))
      return false;
    out = NormSpec();
    out.kind = static_cast<NormKind>(kind);
    if (out.kind == NormKind::None)
      return true;
    if (!positiveNumber(out.eps))
      return false;
    if (out.kind == NormKind::Layer && lexer->peek().isWord("bias")) {
      lexer->next();
      out.bias = true;
    }
    return true;
  }

  /// `none` or an integer; `none` gives `fallback`.
  bool optionalInteger(int64_t &out, int64_t fallback) {
    if (lexer->peek().isWord("none")) {
      lexer->next();
      out = fallback;
      return true;
    }
    return positive(out);
  }

  /// One or more template names up to the end of the field.
  bool nameList(std::vector<NameRef> &out) {
    do {
      NameRef ref;
      if (!templateName(ref))
        return false;
      out.push_back(ref);
    } while (!atFieldEnd());
    return true;
  }

  Lexer &tokens() { return *lexer; }

private:
  Error takeError() {
    return error ? std::move(error)
                 : errorAt(sourceMgr, bufferStart, "internal parser error");
  }

  //===--------------------------------------------------------------------===//
  // Reading
  //===--------------------------------------------------------------------===//

  void skipSeparators() {
    while (lexer->peek().is(Token::Newline) ||
           lexer->peek().is(Token::Semicolon))
      lexer->next();
  }

  bool readFile() {
    while (true) {
      skipSeparators();
      Token t = lexer->next();
      if (t.is(Token::EndOfFile))
        return true;
      if (!t.is(Token::Identifier))
        return expected("a keyword (model, a block kind, shared_block or "
                        "pattern)",
                        t);
      bool ok;
      if (t.text == "model")
        ok = readModel(t);
      else if (t.text == "pattern")
        ok = readPattern(t);
      else if (t.text == "shared_block")
        ok = readTemplate(t, std::nullopt);
      else if (std::optional<BlockKind> kind = parseBlockKind(t.text))
        ok = readTemplate(t, kind);
      else
        return fail(t.loc, "unknown keyword '" + t.text +
                               "' (expected model, mamba, mamba2, attention, "
                               "mlp, moe, parallel, shared, shared_block or "
                               "pattern)");
      if (!ok)
        return false;
    }
  }

  bool expectOpenBrace() {
    Token t = lexer->next();
    return t.is(Token::LBrace) || expected("'{'", t);
  }

  /// Reads `key value...` lines up to the closing brace; `handle` consumes
  /// the values of one key and returns false on error.
  bool readFields(StringMap<SMLoc> &seen,
                  function_ref<bool(const Token &key)> handle) {
    while (true) {
      skipSeparators();
      Token key = lexer->next();
      if (key.is(Token::RBrace))
        return true;
      if (!key.is(Token::Identifier))
        return expected("a field name or '}'", key);
      if (!seen.try_emplace(key.text, key.loc).second &&
          key.text != "lora") // the one field that may repeat
        return fail(key.loc, "field '" + key.text + "' is given twice");
      if (!handle(key))
        return false;
      if (!atFieldEnd())
        return expected("the end of field '" + key.text.str() + "'",
                        lexer->peek());
    }
  }

  bool readModel(const Token &keyword) {
    if (sawModel)
      return fail(keyword.loc, "a file describes one model; 'model' is "
                               "given twice");
    sawModel = true;
    Token name = lexer->next();
    if (!name.is(Token::String))
      return expected("the model name in quotes", name);
    spec.name = name.text.str();
    if (!expectOpenBrace())
      return false;
    StringMap<SMLoc> seen;
    bool ok = readFields(seen, [&](const Token &key) {
      StringRef k = key.text;
      if (k == "vocab")
        return positive(spec.vocabSize);
      if (k == "hidden")
        return positive(spec.hiddenSize);
      if (k == "dtype") {
        size_t d = 0;
        if (!choice({"f32", "f16", "bf16"}, d))
          return false;
        spec.dtype = static_cast<DType>(d); // DType lists them in this order
        return true;
      }
      if (k == "tie_embeddings")
        return boolean(spec.tieWordEmbeddings);
      if (k == "final_norm")
        return norm(spec.finalNorm);
      if (k == "embedding_multiplier")
        return number(spec.embeddingMultiplier);
      if (k == "logits_multiplier")
        return number(spec.logitsMultiplier);
      return fail(key.loc, "unknown field '" + k +
                               "' in model (fields: vocab, hidden, dtype, "
                               "tie_embeddings, final_norm, "
                               "embedding_multiplier, logits_multiplier)");
    });
    if (!ok)
      return false;
    for (StringRef required : {"vocab", "hidden", "final_norm"})
      if (!seen.count(required))
        return fail(name.loc, "model \"" + spec.name + "\" is missing field '" +
                                  required + "'");
    return true;
  }

  bool readTemplate(const Token &keyword, std::optional<BlockKind> kind) {
    Template t;
    NameRef name;
    if (!templateName(name))
      return false;
    t.name = name.name;
    t.loc = name.loc;
    t.isSharedBlock = !kind.has_value();
    if (templateIndex.count(t.name))
      return fail(t.loc, "template '" + t.name + "' is defined twice");
    if (!expectOpenBrace())
      return false;
    bool ok =
        t.isSharedBlock ? readSharedBlockFields(t) : readKindFields(t, *kind);
    if (!ok)
      return false;
    templateIndex[t.name] = templates.size();
    templates.push_back(std::move(t));
    return true;
  }

  bool readSharedBlockFields(Template &t) {
    bool ok = readFields(t.fields, [&](const Token &key) {
      if (key.text != "blocks")
        return fail(key.loc, "unknown field '" + key.text +
                                 "' in shared_block (fields: blocks)");
      return nameList(t.refs);
    });
    if (ok && !t.fields.count("blocks"))
      return fail(t.loc,
                  "shared_block '" + t.name + "' is missing field 'blocks'");
    return ok;
  }

  bool readKindFields(Template &t, BlockKind kind) {
    t.proto.body = defaultBody(kind);
    const std::vector<FieldDef> &defs = fieldsOf(kind);
    bool ok = readFields(t.fields, [&](const Token &key) {
      for (const FieldDef &def : defs)
        if (key.text == def.key)
          return def.handle(*this, t);
      std::string list;
      for (const FieldDef &def : defs)
        list += (list.empty() ? "" : ", ") + std::string(def.key);
      return fail(key.loc, "unknown field '" + key.text + "' in " +
                               toString(kind) + " template (fields: " + list +
                               ")");
    });
    if (!ok)
      return false;
    for (const FieldDef &def : defs)
      if (def.required && !t.fields.count(def.key))
        return fail(t.loc, toString(kind) + " template '" + t.name +
                               "' is missing field '" + def.key + "'");
    return completeTemplate(t);
  }

  static BlockBody defaultBody(BlockKind kind) {
    switch (kind) {
    case BlockKind::Mamba:
      return MambaSpec();
    case BlockKind::Mamba2:
      return Mamba2Spec();
    case BlockKind::Attention:
      return AttentionSpec();
    case BlockKind::MLP:
      return MLPSpec();
    case BlockKind::MoE:
      return MoESpec();
    case BlockKind::Parallel:
      return ParallelSpec();
    case BlockKind::Shared:
      return SharedSpec();
    }
    return MLPSpec();
  }

  /// Defaults that depend on other fields of the same template, and the
  /// checks that involve several fields (reported at the field at fault).
  bool completeTemplate(Template &t) {
    Block &b = t.proto;
    if (b.is<AttentionSpec>()) {
      AttentionSpec &a = b.as<AttentionSpec>();
      if (!t.fields.count("kv_heads"))
        a.numKVHeads = a.numHeads;
      if (a.numHeads % a.numKVHeads != 0)
        return fail(t.fieldLoc("kv_heads"),
                    formatv("heads ({0}) must be divisible by kv_heads ({1})",
                            a.numHeads, a.numKVHeads));
      if (!t.fields.count("scale"))
        a.scale = 1.0 / std::sqrt(static_cast<double>(a.headDim));
      if (a.rope.enabled && a.rope.rotaryDim == 0)
        a.rope.rotaryDim = a.headDim;
      if (a.rope.enabled &&
          (a.rope.rotaryDim > a.headDim || a.rope.rotaryDim % 2 != 0))
        return fail(t.fieldLoc("rope"),
                    formatv("rotary dim {0} must be even and at most "
                            "head_dim {1}",
                            a.rope.rotaryDim, a.headDim));
    } else if (b.is<Mamba2Spec>()) {
      Mamba2Spec &m = b.as<Mamba2Spec>();
      if (m.numHeads % m.numGroups != 0)
        return fail(t.fieldLoc("groups"),
                    formatv("heads ({0}) must be divisible by groups ({1})",
                            m.numHeads, m.numGroups));
      if (m.gateNorm && m.gateNormGroupSize == 0)
        m.gateNormGroupSize = m.dInner() / m.numGroups;
      if (m.gateNorm && m.dInner() % m.gateNormGroupSize != 0)
        return fail(t.fieldLoc("gate_norm"),
                    formatv("gate norm group {0} must divide heads x "
                            "head_dim = {1}",
                            m.gateNormGroupSize, m.dInner()));
    } else if (b.is<MoESpec>()) {
      MoESpec &m = b.as<MoESpec>();
      if (m.topK > m.numExperts)
        return fail(
            t.fieldLoc("top_k"),
            formatv("top_k ({0}) exceeds experts ({1})", m.topK, m.numExperts));
      if (m.numExperts % m.numGroups != 0 || m.topKGroups > m.numGroups)
        return fail(t.fieldLoc("groups"),
                    formatv("groups ({0}, keeping {1}) must divide experts "
                            "({2})",
                            m.numGroups, m.topKGroups, m.numExperts));
    }
    return true;
  }

  bool readPattern(const Token &keyword) {
    bool chars = false;
    if (lexer->peek().isWord("chars")) {
      lexer->next();
      chars = true;
    }
    Token text = lexer->next();
    if (!text.is(Token::String))
      return expected("a pattern in quotes", text);
    patterns.push_back({text.text, chars});
    return atFieldEnd() || expected("the end of the pattern", lexer->peek());
  }

  //===--------------------------------------------------------------------===//
  // Patterns
  //===--------------------------------------------------------------------===//

  using Layer = std::vector<NameRef>;

  struct PatternReader {
    Parser &parser;
    StringRef text;
    bool chars;
    size_t pos = 0;

    SMLoc here() const { return SMLoc::getFromPointer(text.data() + pos); }
    void skipSpace() {
      while (pos < text.size() &&
             isspace(static_cast<unsigned char>(text[pos])))
        ++pos;
    }
    bool done() {
      skipSpace();
      return pos >= text.size();
    }
    std::string found() {
      if (done())
        return "the end of the pattern";
      return std::string("'") + text[pos] + "'";
    }
    bool fail(const Twine &message) { return parser.fail(here(), message); }

    bool name(NameRef &out) {
      skipSpace();
      size_t start = pos;
      auto isWordChar = [](char c) {
        return isalnum(static_cast<unsigned char>(c)) || c == '_';
      };
      if (pos < text.size() && isWordChar(text[pos]) && !chars) {
        while (pos < text.size() && isWordChar(text[pos]))
          ++pos;
      } else if (pos < text.size() &&
                 (isSymbolName(text[pos]) || isWordChar(text[pos]))) {
        ++pos;
      } else {
        return fail("expected a template name in the pattern, found " +
                    found());
      }
      out = {text.slice(start, pos).str(),
             SMLoc::getFromPointer(text.data() + start)};
      return true;
    }

    bool repetition(size_t &count) {
      ++pos; // '{'
      skipSpace();
      size_t start = pos;
      while (pos < text.size() &&
             isdigit(static_cast<unsigned char>(text[pos])))
        ++pos;
      SMLoc countLoc = SMLoc::getFromPointer(text.data() + start);
      if (text.slice(start, pos).getAsInteger(10, count) || count == 0) {
        pos = start;
        return fail("expected a positive repetition count, found " + found());
      }
      skipSpace();
      if (pos >= text.size() || text[pos] != '}')
        return fail("expected '}' after the repetition count, found " +
                    found());
      ++pos;
      if (count > 100000)
        return parser.fail(countLoc, "repetition count " + Twine(count) +
                                         " is too large");
      return true;
    }

    bool sequence(std::vector<Layer> &out, bool nested) {
      while (!done()) {
        if (text[pos] == ')') {
          if (nested)
            return true;
          return fail("')' without a matching '('");
        }
        std::vector<Layer> item;
        if (text[pos] == '(') {
          SMLoc open = here();
          ++pos;
          if (!sequence(item, true))
            return false;
          if (done())
            return parser.fail(open, "'(' is not closed in the pattern");
          ++pos; // ')'
          if (item.empty())
            return parser.fail(open, "empty group in the pattern");
        } else {
          Layer layer;
          NameRef ref;
          if (!name(ref))
            return false;
          layer.push_back(ref);
          while (!done() && text[pos] == '+') {
            ++pos;
            if (!name(ref))
              return false;
            layer.push_back(ref);
          }
          item.push_back(layer);
        }
        size_t count = 1;
        if (!done() && text[pos] == '{' && !repetition(count))
          return false;
        for (size_t i = 0; i < count; ++i)
          out.insert(out.end(), item.begin(), item.end());
      }
      return !nested || fail("expected ')' to close the group");
    }
  };

  struct PatternText {
    StringRef text;
    bool chars;
  };

  //===--------------------------------------------------------------------===//
  // Building
  //===--------------------------------------------------------------------===//

  bool build() {
    if (!sawModel)
      return fail(bufferStart, "missing 'model' block");
    if (patterns.empty())
      return fail(bufferStart, "missing 'pattern': no layer is stacked");
    for (const Template &t : templates)
      if (t.isSharedBlock && !buildSharedDefinition(t))
        return false;
    std::vector<Layer> layers;
    for (const PatternText &p : patterns) {
      size_t before = layers.size();
      PatternReader reader{*this, p.text, p.chars};
      if (!reader.sequence(layers, false))
        return false;
      if (layers.size() == before)
        return fail(SMLoc::getFromPointer(p.text.data()), "empty pattern");
    }
    for (auto [index, layer] : enumerate(layers))
      for (const NameRef &ref : layer) {
        Block block;
        if (!instantiate(ref, /*asBranch=*/false, block))
          return false;
        block.layer = index;
        spec.blocks.push_back(std::move(block));
      }
    assignPrefixes(spec);
    if (!checkLoRATargets())
      return false;
    if (Error err = verifySpec(spec))
      return fail(bufferStart, toString(std::move(err)));
    return true;
  }

  /// Each `lora T PROJ RANK` must name a projection (a 2-D weight) of T as a
  /// block of the shared block; names are known once prefixes are assigned.
  bool checkLoRATargets() {
    std::vector<WeightDesc> weights = enumerateWeights(spec);
    StringMap<size_t> byName;
    for (auto [i, w] : enumerate(weights))
      byName[w.name] = i;
    for (const Template &t : templates) {
      if (t.loras.empty())
        continue;
      const Template &definition = *lookup(t.refs.front());
      const SharedDefinition &shared =
          spec.sharedDefinitions[sharedIndex[definition.name]];
      for (const LoRARef &lora : t.loras) {
        size_t member = 0;
        while (definition.refs[member].name != lora.target.name)
          ++member;
        const std::string &prefix = shared.blocks[member].prefix;
        auto it = byName.find(prefix + "." + lora.projection);
        if (it != byName.end() && weights[it->second].shape.size() == 2)
          continue;
        std::string projections;
        for (const WeightDesc &w : weights)
          if (StringRef(w.name).starts_with(prefix + ".") &&
              w.shape.size() == 2)
            projections += (projections.empty() ? "" : ", ") +
                           w.name.substr(prefix.size() + 1);
        return fail(lora.target.loc,
                    "'" + lora.projection + "' is not a projection of '" +
                        lora.target.name + "' (projections: " + projections +
                        ")");
      }
    }
    return true;
  }

  const Template *lookup(const NameRef &ref) {
    auto it = templateIndex.find(ref.name);
    if (it == templateIndex.end()) {
      fail(ref.loc, "unknown template '" + ref.name + "'");
      return nullptr;
    }
    return &templates[it->second];
  }

  bool buildSharedDefinition(const Template &t) {
    sharedIndex[t.name] = spec.sharedDefinitions.size();
    SharedDefinition definition;
    for (const NameRef &ref : t.refs) {
      const Template *member = lookup(ref);
      if (!member)
        return false;
      if (member->isSharedBlock || member->proto.is<SharedSpec>())
        return fail(ref.loc, "shared_block '" + t.name +
                                 "' cannot contain the shared block '" +
                                 ref.name + "'");
      Block block;
      if (!instantiate(ref, /*asBranch=*/false, block))
        return false;
      definition.blocks.push_back(std::move(block));
    }
    spec.sharedDefinitions.push_back(std::move(definition));
    return true;
  }

  /// The block a template use stands for.
  bool instantiate(const NameRef &ref, bool asBranch, Block &out) {
    const Template *t = lookup(ref);
    if (!t)
      return false;
    if (t->isSharedBlock)
      return fail(ref.loc, "'" + ref.name +
                               "' is a shared_block; use it "
                               "through a shared template");
    if (!active.insert(t->name).second)
      return fail(ref.loc, "template '" + ref.name + "' contains itself");
    out = t->proto;
    out.layer = -1;
    if (asBranch)
      out.residual = false; // a branch's output goes to the merge
    bool ok = true;
    if (out.is<AttentionSpec>()) {
      AttentionSpec &a = out.as<AttentionSpec>();
      if (!t->fields.count("input_dim"))
        a.inputDim = spec.hiddenSize;
      if (!t->fields.count("output_dim"))
        a.outputDim = spec.hiddenSize;
    } else if (out.is<ParallelSpec>()) {
      ok = buildParallel(*t, out.as<ParallelSpec>());
    } else if (out.is<SharedSpec>()) {
      ok = buildShared(*t, out.as<SharedSpec>());
    }
    active.erase(t->name);
    return ok;
  }

  bool buildParallel(const Template &t, ParallelSpec &parallel) {
    for (const NameRef &ref : t.refs) {
      Block branch;
      if (!instantiate(ref, /*asBranch=*/true, branch))
        return false;
      if (branch.is<SharedSpec>())
        return fail(ref.loc, "a parallel branch cannot be a shared block");
      parallel.branches.push_back(std::move(branch));
    }
    bool weighted =
        parallel.merge == MergeMode::Sum || parallel.merge == MergeMode::Mean;
    if (weighted && !t.mergeMultipliersGiven)
      parallel.multipliers.assign(parallel.branches.size(), 1.0);
    if (weighted && parallel.multipliers.size() != parallel.branches.size())
      return fail(t.fieldLoc("merge"),
                  formatv("merge {0} has {1} multipliers for {2} branches",
                          toString(parallel.merge), parallel.multipliers.size(),
                          parallel.branches.size()));
    return true;
  }

  bool buildShared(const Template &t, SharedSpec &shared) {
    const NameRef &ref = t.refs.front();
    auto it = sharedIndex.find(ref.name);
    if (it == sharedIndex.end())
      return fail(ref.loc, "'" + ref.name + "' is not a shared_block");
    shared.definition = it->second;
    const Template &definition = *lookup(ref);
    for (const LoRARef &lora : t.loras) {
      std::optional<unsigned> member;
      for (auto [i, name] : enumerate(definition.refs))
        if (name.name == lora.target.name) {
          if (member)
            return fail(lora.target.loc, "'" + lora.target.name +
                                             "' appears twice in "
                                             "shared_block '" +
                                             ref.name + "'");
          member = i;
        }
      if (!member)
        return fail(lora.target.loc, "'" + lora.target.name +
                                         "' is not a block of shared_block '" +
                                         ref.name + "'");
      shared.adapters.push_back({*member, lora.projection, lora.rank});
    }
    return true;
  }

  SourceMgr sourceMgr;
  std::unique_ptr<Lexer> lexer;
  SMLoc bufferStart;
  Error error = Error::success();

  ModelSpec spec;
  bool sawModel = false;
  std::vector<Template> templates;
  StringMap<size_t> templateIndex;
  StringMap<unsigned> sharedIndex;
  StringSet<> active; // templates being instantiated (cycle check)
  std::vector<PatternText> patterns;
};

//===----------------------------------------------------------------------===//
// Field tables
//===----------------------------------------------------------------------===//

template <typename Body> Body &bodyOf(Template &t) {
  return t.proto.as<Body>();
}

/// Fields every template has.
void addCommonFields(std::vector<FieldDef> &defs) {
  defs.push_back({"norm", true,
                  [](Parser &p, Template &t) { return p.norm(t.proto.norm); }});
  defs.push_back({"input_multiplier", false, [](Parser &p, Template &t) {
                    return p.number(t.proto.inputMultiplier);
                  }});
  defs.push_back({"residual_multiplier", false, [](Parser &p, Template &t) {
                    return p.number(t.proto.residualMultiplier);
                  }});
  defs.push_back({"residual", false, [](Parser &p, Template &t) {
                    return p.boolean(t.proto.residual);
                  }});
}

/// A field holding one positive integer member of Body.
template <typename Body>
FieldDef intField(const char *key, bool required, int64_t Body::*member) {
  return {key, required, [member](Parser &p, Template &t) {
            return p.positive(bodyOf<Body>(t).*member);
          }};
}

template <typename Body>
FieldDef boolField(const char *key, bool Body::*member) {
  return {key, false, [member](Parser &p, Template &t) {
            return p.boolean(bodyOf<Body>(t).*member);
          }};
}

template <typename Body>
FieldDef numberField(const char *key, double Body::*member) {
  return {key, false, [member](Parser &p, Template &t) {
            return p.number(bodyOf<Body>(t).*member);
          }};
}

template <typename Body>
FieldDef activationField(const char *key, Activation Body::*member) {
  return {key, false, [member](Parser &p, Template &t) {
            return p.activation(bodyOf<Body>(t).*member);
          }};
}

std::vector<FieldDef> mambaFields() {
  using M = MambaSpec;
  std::vector<FieldDef> defs = {
      intField<M>("d_inner", true, &M::dInner),
      intField<M>("state", true, &M::stateSize),
      intField<M>("conv", false, &M::convKernel),
      intField<M>("dt_rank", true, &M::dtRank),
      boolField<M>("conv_bias", &M::convBias),
      boolField<M>("in_proj_bias", &M::inProjBias),
      boolField<M>("out_proj_bias", &M::outProjBias),
      boolField<M>("dt_proj_bias", &M::dtProjBias),
      activationField<M>("activation", &M::activation),
      {"dt_bc_norm", false,
       [](Parser &p, Template &t) {
         M &m = bodyOf<M>(t);
         if (p.tokens().peek().isWord("none")) {
           p.tokens().next();
           m.dtBCNorm = false;
           return true;
         }
         m.dtBCNorm = true;
         return p.positiveNumber(m.dtBCNormEps);
       }},
      boolField<M>("skip", &M::skip)};
  addCommonFields(defs);
  return defs;
}

/// `gate_norm none` or `gate_norm EPS [group N] [before_gate]`.
bool parseGateNorm(Parser &p, Template &t) {
  Mamba2Spec &m = bodyOf<Mamba2Spec>(t);
  if (p.tokens().peek().isWord("none")) {
    p.tokens().next();
    m.gateNorm = false;
    return true;
  }
  m.gateNorm = true;
  if (!p.positiveNumber(m.gateNormEps))
    return false;
  while (!p.atFieldEnd()) {
    size_t option = 0;
    if (!p.choice({"group", "before_gate"}, option))
      return false;
    if (option == 1)
      m.normBeforeGate = true;
    else if (!p.positive(m.gateNormGroupSize))
      return false;
  }
  return true;
}

std::vector<FieldDef> mamba2Fields() {
  using M = Mamba2Spec;
  std::vector<FieldDef> defs = {
      intField<M>("heads", true, &M::numHeads),
      intField<M>("head_dim", true, &M::headDim),
      intField<M>("groups", false, &M::numGroups),
      intField<M>("state", true, &M::stateSize),
      intField<M>("chunk", false, &M::chunkSize),
      intField<M>("conv", false, &M::convKernel),
      boolField<M>("conv_bias", &M::convBias),
      boolField<M>("in_proj_bias", &M::inProjBias),
      boolField<M>("out_proj_bias", &M::outProjBias),
      activationField<M>("activation", &M::activation),
      {"dt_limit", false,
       [](Parser &p, Template &t) {
         M &m = bodyOf<M>(t);
         SMLoc loc = p.tokens().peek().loc;
         if (!p.number(m.dtMin) || !p.number(m.dtMax))
           return false;
         return m.dtMin <= m.dtMax ||
                p.fail(loc, "dt_limit minimum exceeds its maximum");
       }},
      {"gate_norm", true, parseGateNorm},
      boolField<M>("skip", &M::skip),
      {"in_proj_multipliers", false, [](Parser &p, Template &t) {
         for (double &x : bodyOf<M>(t).inProjMultipliers)
           if (!p.number(x))
             return false;
         return true;
       }}};
  addCommonFields(defs);
  return defs;
}

/// `rope none` or `rope THETA [dim N] [interleaved]`.
bool parseRope(Parser &p, Template &t) {
  RopeSpec &rope = bodyOf<AttentionSpec>(t).rope;
  if (p.tokens().peek().isWord("none")) {
    p.tokens().next();
    rope = RopeSpec();
    return true;
  }
  rope.enabled = true;
  if (!p.positiveNumber(rope.theta))
    return false;
  while (!p.atFieldEnd()) {
    size_t option = 0;
    if (!p.choice({"dim", "interleaved"}, option))
      return false;
    if (option == 1)
      rope.interleaved = true;
    else if (!p.positive(rope.rotaryDim))
      return false;
  }
  return true;
}

std::vector<FieldDef> attentionFields() {
  using A = AttentionSpec;
  std::vector<FieldDef> defs = {
      intField<A>("heads", true, &A::numHeads),
      intField<A>("kv_heads", false, &A::numKVHeads),
      intField<A>("head_dim", true, &A::headDim),
      intField<A>("input_dim", false, &A::inputDim),
      intField<A>("output_dim", false, &A::outputDim),
      {"rope", true, parseRope},
      boolField<A>("qkv_bias", &A::qkvBias),
      boolField<A>("o_bias", &A::oBias),
      {"scale", false,
       [](Parser &p, Template &t) {
         return p.positiveNumber(bodyOf<A>(t).scale);
       }},
      {"sliding_window", false,
       [](Parser &p, Template &t) {
         int64_t window = 0;
         if (!p.optionalInteger(window, 0))
           return false;
         A &a = bodyOf<A>(t);
         a.slidingWindow =
             window > 0 ? std::optional<int64_t>(window) : std::nullopt;
         return true;
       }},
      {"softcap", false,
       [](Parser &p, Template &t) {
         A &a = bodyOf<A>(t);
         if (p.tokens().peek().isWord("none")) {
           p.tokens().next();
           a.softcap.reset();
           return true;
         }
         double cap = 0;
         if (!p.positiveNumber(cap))
           return false;
         a.softcap = cap;
         return true;
       }},
      numberField<A>("key_multiplier", &A::keyMultiplier)};
  addCommonFields(defs);
  return defs;
}

std::vector<FieldDef> mlpFields() {
  using M = MLPSpec;
  std::vector<FieldDef> defs = {
      intField<M>("intermediate", true, &M::intermediate),
      activationField<M>("activation", &M::activation),
      boolField<M>("gated", &M::gated),
      boolField<M>("bias", &M::bias),
      numberField<M>("gate_multiplier", &M::gateMultiplier),
      numberField<M>("down_multiplier", &M::downMultiplier)};
  addCommonFields(defs);
  return defs;
}

std::vector<FieldDef> moeFields() {
  using M = MoESpec;
  std::vector<FieldDef> defs = {
      intField<M>("experts", true, &M::numExperts),
      intField<M>("top_k", true, &M::topK),
      intField<M>("intermediate", true, &M::expertIntermediate),
      {"routing", false,
       [](Parser &p, Template &t) {
         size_t r = 0;
         if (!p.choice({"softmax_topk", "topk_softmax", "sigmoid_topk"}, r))
           return false;
         bodyOf<M>(t).routing = static_cast<MoERouting>(r);
         return true;
       }},
      boolField<M>("normalize", &M::normalizeTopK),
      numberField<M>("routed_scaling", &M::routedScaling),
      boolField<M>("router_bias", &M::routerBias),
      boolField<M>("selection_bias", &M::selectionBias),
      intField<M>("groups", false, &M::numGroups),
      intField<M>("topk_groups", false, &M::topKGroups),
      activationField<M>("activation", &M::activation),
      boolField<M>("gated", &M::gatedExperts),
      {"shared_expert", false,
       [](Parser &p, Template &t) {
         return p.optionalInteger(bodyOf<M>(t).sharedIntermediate, 0);
       }},
      boolField<M>("shared_gated", &M::sharedGated),
      boolField<M>("shared_bias", &M::sharedBias),
      {"latent", false,
       [](Parser &p, Template &t) {
         return p.optionalInteger(bodyOf<M>(t).latentDim, 0);
       }},
      boolField<M>("latent_bias", &M::latentBias)};
  addCommonFields(defs);
  return defs;
}

std::vector<FieldDef> parallelFields() {
  std::vector<FieldDef> defs = {
      {"branches", true,
       [](Parser &p, Template &t) { return p.nameList(t.refs); }},
      {"merge", true, [](Parser &p, Template &t) {
         ParallelSpec &par = bodyOf<ParallelSpec>(t);
         size_t mode = 0;
         if (!p.choice({"sum", "mean", "concat_proj", "attention"}, mode))
           return false;
         par.merge = static_cast<MergeMode>(mode);
         bool weighted =
             par.merge == MergeMode::Sum || par.merge == MergeMode::Mean;
         while (weighted && !p.atFieldEnd()) {
           double m = 0;
           if (!p.number(m))
             return false;
           par.multipliers.push_back(m);
           t.mergeMultipliersGiven = true;
         }
         return true;
       }}};
  addCommonFields(defs);
  return defs;
}

std::vector<FieldDef> sharedFields() {
  using S = SharedSpec;
  std::vector<FieldDef> defs = {
      {"block", true,
       [](Parser &p, Template &t) {
         NameRef ref;
         if (!p.templateName(ref))
           return false;
         t.refs.push_back(ref);
         return true;
       }},
      boolField<S>("concat_embeddings", &S::concatEmbeddings),
      boolField<S>("output_linear", &S::outputLinear),
      {"lora", false,
       [](Parser &p, Template &t) {
         LoRARef lora;
         Token projection;
         if (!p.templateName(lora.target) || !p.word(projection) ||
             !p.positive(lora.rank))
           return false;
         lora.projection = projection.text.str();
         t.loras.push_back(lora);
         return true;
       }},
      {"output", false, [](Parser &p, Template &t) {
         size_t o = 0;
         if (!p.choice({"residual", "next_input"}, o))
           return false;
         bodyOf<S>(t).output = static_cast<S::Output>(o);
         return true;
       }}};
  addCommonFields(defs);
  return defs;
}

const std::vector<FieldDef> &fieldsOf(BlockKind kind) {
  static const std::vector<FieldDef> tables[] = {
      mambaFields(), mamba2Fields(),   attentionFields(), mlpFields(),
      moeFields(),   parallelFields(), sharedFields()};
  return tables[static_cast<size_t>(kind)];
}

} // namespace

Expected<ModelSpec> parseDSL(std::unique_ptr<MemoryBuffer> buffer) {
  Parser parser(std::move(buffer));
  return parser.run();
}

Expected<ModelSpec> parseDSL(StringRef text, StringRef bufferName) {
  return parseDSL(MemoryBuffer::getMemBufferCopy(text, bufferName));
}

Expected<ModelSpec> parseDSLFile(StringRef path) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return errorIn(path, "cannot read: " + buffer.getError().message());
  return parseDSL(std::move(*buffer));
}

} // namespace frontend
} // namespace braid
