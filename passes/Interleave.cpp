//===- Interleave.cpp - expand a layer pattern over block templates -------===//
//
// See Passes.td for the IR convention (a chain of `braid.layer` templates
// tagged `braid.template`, weight names with `{L}`) and the pattern forms.
// The steps: read the options into a list of blocks (tag, layer index),
// check each model function's template chain, then replace the chain by one
// clone of a template per block.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialects/Braid/BraidOps.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Debug.h"

#include <set>

#define DEBUG_TYPE "braid-interleave"

namespace braid {
#define GEN_PASS_DEF_BRAIDINTERLEAVE
#include "passes/Passes.h.inc"
} // namespace braid

using namespace mlir;
using namespace braid;

namespace {

constexpr StringLiteral kTemplateAttr = "braid.template";
constexpr StringLiteral kPlaceholder = "{L}";
/// More blocks than any real model has: a guard against `(M)x99999999`.
constexpr int64_t kMaxBlocks = 1 << 16;

/// One block of the expanded stack.
struct StackBlock {
  char tag;
  int64_t index;
  /// Where the tag came from: a 1-based position in `pattern`, or 0 for the
  /// period/index-list form (the message then names the layer).
  int64_t position;
};

std::string quoted(char tag) { return std::string("'") + tag + "'"; }

/// Replaces every `{L}` in `text` by `index`.
std::string substituteIndex(StringRef text, int64_t index) {
  std::string out;
  std::string value = std::to_string(index);
  while (true) {
    size_t at = text.find(kPlaceholder);
    out += text.take_front(at).str();
    if (at == StringRef::npos)
      return out;
    out += value;
    text = text.drop_front(at + kPlaceholder.size());
  }
}

/// The role a Nemotron-H letter stands for in the period/index-list form.
StringRef roleOfTag(char tag) {
  switch (tag) {
  case 'M':
    return "recurrent mixer";
  case '*':
    return "attention";
  case '-':
    return "MLP";
  case 'E':
    return "MoE";
  default:
    return "";
  }
}

//===----------------------------------------------------------------------===//
// The pattern string
//===----------------------------------------------------------------------===//

/// Recursive-descent parser of `(M-M*-)x2M`: tags, and groups `(...)xN`.
class PatternParser {
public:
  PatternParser(StringRef text, Operation *anchor)
      : text(text), anchor(anchor) {}

  FailureOr<SmallVector<StackBlock>> parse() {
    SmallVector<StackBlock> blocks;
    size_t pos = 0;
    if (failed(parseSequence(pos, /*depth=*/0, blocks)))
      return failure();
    if (pos < text.size()) // only a ')' stops the top-level sequence
      return error() << "')' at position " << pos + 1 << " has no matching '('";
    if (blocks.empty())
      return error() << "has no blocks";
    for (auto [index, block] : llvm::enumerate(blocks))
      block.index = index;
    return blocks;
  }

private:
  InFlightDiagnostic error() {
    return mlir::emitError(anchor->getLoc(), "braid-interleave: pattern \"")
           << text << "\": ";
  }

  LogicalResult parseSequence(size_t &pos, int depth,
                              SmallVectorImpl<StackBlock> &out) {
    while (pos < text.size()) {
      char c = text[pos];
      if (c == ')')
        return success(); // the caller checks that a group is open
      if (c == '(') {
        if (failed(parseGroup(pos, depth, out)))
          return failure();
        continue;
      }
      if (llvm::isSpace(c))
        return error() << "whitespace at position " << pos + 1
                       << "; write the blocks without spaces";
      out.push_back({c, 0, static_cast<int64_t>(pos) + 1});
      if (static_cast<int64_t>(out.size()) > kMaxBlocks)
        return error() << "expands to more than " << kMaxBlocks << " blocks";
      ++pos;
    }
    return success();
  }

  /// `(` sequence `)` `x` count, at `pos` (the open parenthesis).
  LogicalResult parseGroup(size_t &pos, int depth,
                           SmallVectorImpl<StackBlock> &out) {
    size_t open = pos++;
    SmallVector<StackBlock> group;
    if (failed(parseSequence(pos, depth + 1, group)))
      return failure();
    if (pos >= text.size())
      return error() << "'(' at position " << open + 1 << " is never closed";
    size_t close = pos++;
    if (group.empty())
      return error() << "the group at position " << open + 1 << " is empty";
    if (pos >= text.size() || text[pos] != 'x')
      return error() << "')' at position " << close + 1
                     << " must be followed by 'x' and a repeat count, "
                        "as in (M*)x4";
    size_t countStart = ++pos;
    while (pos < text.size() && llvm::isDigit(text[pos]))
      ++pos;
    int64_t count = 0;
    if (pos == countStart ||
        text.substr(countStart, pos - countStart).getAsInteger(10, count))
      return error() << "expected a repeat count after 'x' at "
                        "position "
                     << countStart;
    if (count < 1)
      return error() << "repeat count 0 at position " << countStart + 1
                     << "; a group repeats at least once";
    if (static_cast<int64_t>(out.size()) +
            count * static_cast<int64_t>(group.size()) >
        kMaxBlocks)
      return error() << "expands to more than " << kMaxBlocks << " blocks";
    for (int64_t i = 0; i < count; ++i)
      out.append(group.begin(), group.end());
    return success();
  }

  StringRef text;
  Operation *anchor;
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

class InterleavePass : public braid::impl::BraidInterleaveBase<InterleavePass> {
public:
  using BraidInterleaveBase::BraidInterleaveBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<SmallVector<StackBlock>> blocks = stackFromOptions(module);
    if (failed(blocks))
      return signalPassFailure();

    bool found = false;
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      FailureOr<bool> expanded = expandFunction(func, *blocks);
      if (failed(expanded))
        return signalPassFailure();
      found |= *expanded;
    }
    if (!found) {
      mlir::emitError(module->getLoc(),
                      "braid-interleave: no block templates found; mark "
                      "the braid.layer blocks to repeat with "
                      "braid.template = \"C\" (a one-character tag that "
                      "the pattern uses)");
      return signalPassFailure();
    }
    expandBindings(module);
  }

private:
  /// Template bindings (`launch.weight` ops whose name has `{L}`) become one
  /// binding per instance that uses the weight, with `{L}` replaced in the
  /// name, the source tensor names and the tied aliases; a template binding
  /// no instance uses is dropped.
  void expandBindings(ModuleOp module) {
    Builder b(&getContext());
    auto substitute = [&](StringAttr text, int64_t index) {
      return b.getStringAttr(substituteIndex(text.getValue(), index));
    };
    for (auto binding : llvm::to_vector(module.getOps<launch::WeightOp>())) {
      if (!binding.getName().contains(kPlaceholder))
        continue;
      OpBuilder builder(binding);
      for (int64_t index : weightIndices.lookup(binding.getName())) {
        auto copy = cast<launch::WeightOp>(builder.clone(*binding));
        copy.setNameAttr(substitute(binding.getNameAttr(), index));
        SmallVector<Attribute> sources;
        for (Attribute source : binding.getSources()) {
          NamedAttrList entries(cast<DictionaryAttr>(source));
          if (auto tensor = entries.get("tensor"))
            entries.set("tensor", substitute(cast<StringAttr>(tensor), index));
          sources.push_back(entries.getDictionary(&getContext()));
        }
        copy.setSourcesAttr(b.getArrayAttr(sources));
        if (auto aliases = binding.getTiedAliases()) {
          SmallVector<Attribute> renamed;
          for (Attribute alias : *aliases)
            renamed.push_back(substitute(cast<StringAttr>(alias), index));
          copy.setTiedAliasesAttr(b.getArrayAttr(renamed));
        }
      }
      binding.erase();
    }
  }

  //===--- options -------------------------------------------------------===//

  /// Checks one period/index-list rule ("attention" or "expert").
  LogicalResult checkRule(ModuleOp module, StringRef what, int64_t period,
                          int64_t offset, ArrayRef<int64_t> list) {
    auto fail = [&]() {
      return mlir::emitError(module->getLoc(), "braid-interleave: ");
    };
    if (period < 0)
      return fail() << what << "-period=" << period << " must not be negative";
    if (offset < 0)
      return fail() << what << "-offset=" << offset << " must not be negative";
    if (period == 0 && offset != 0)
      return fail() << what << "-offset=" << offset << " needs " << what
                    << "-period";
    if (period > 0 && offset >= period)
      return fail() << what << "-offset=" << offset << " must be smaller than "
                    << what << "-period=" << period;
    if (period > 0 && !list.empty())
      return fail() << "give " << what << "-period or " << what
                    << "-layers, not both";
    llvm::DenseSet<int64_t> seen;
    for (int64_t index : list) {
      if (index < 0 || index >= layers)
        return fail() << what << "-layers: index " << index
                      << " is outside the " << static_cast<int64_t>(layers)
                      << " layers (0.." << static_cast<int64_t>(layers) - 1
                      << ")";
      if (!seen.insert(index).second)
        return fail() << what << "-layers: index " << index << " appears twice";
    }
    return success();
  }

  static bool selects(int64_t period, int64_t offset, ArrayRef<int64_t> list,
                      int64_t layer) {
    if (period > 0)
      return layer % period == offset;
    return llvm::is_contained(list, layer);
  }

  bool periodFormGiven() {
    return layers != 0 || attentionPeriod != 0 || attentionOffset != 0 ||
           !attentionLayers.empty() || expertPeriod != 0 || expertOffset != 0 ||
           !expertLayers.empty();
  }

  FailureOr<SmallVector<StackBlock>> stackFromOptions(ModuleOp module) {
    bool periodForm = periodFormGiven();
    if (!pattern.empty() && periodForm) {
      mlir::emitError(module->getLoc(), "braid-interleave: pattern=\"")
          << pattern.getValue()
          << "\" cannot be combined with layers, attention-* or expert-* "
             "options; give one form";
      return failure();
    }
    if (!pattern.empty())
      return PatternParser(pattern, module).parse();
    if (!periodForm) {
      mlir::emitError(module->getLoc(),
                      "braid-interleave: needs a layer pattern: "
                      "pattern=\"M-M*-M\", or layers=N with "
                      "attention-period/attention-offset or "
                      "attention-layers (and optionally "
                      "expert-period/expert-offset or expert-layers)");
      return failure();
    }
    if (layers < 1) {
      mlir::emitError(module->getLoc(), "braid-interleave: layers=")
          << static_cast<int64_t>(layers)
          << " must be at least 1 for the period/index-list form";
      return failure();
    }
    if (layers > kMaxBlocks / 2) {
      mlir::emitError(module->getLoc(), "braid-interleave: layers=")
          << static_cast<int64_t>(layers) << " is more than " << kMaxBlocks / 2;
      return failure();
    }
    if (failed(checkRule(module, "attention", attentionPeriod, attentionOffset,
                         attentionLayers)) ||
        failed(checkRule(module, "expert", expertPeriod, expertOffset,
                         expertLayers)))
      return failure();

    withExperts = expertPeriod > 0 || !expertLayers.empty();
    SmallVector<StackBlock> blocks;
    for (int64_t i = 0; i < layers; ++i) {
      bool attention =
          selects(attentionPeriod, attentionOffset, attentionLayers, i);
      blocks.push_back({attention ? '*' : 'M', i, 0});
      bool expert = selects(expertPeriod, expertOffset, expertLayers, i);
      // '-' blocks are dropped later when the function has no '-' template
      // and no expert rule asks for feed-forward blocks.
      blocks.push_back({expert ? 'E' : '-', i, 0});
    }
    return blocks;
  }

  //===--- templates -----------------------------------------------------===//

  /// Checks the template chain of `func` (see Passes.td) and fills
  /// `chain` in order; `byTag` maps each tag to its template.
  LogicalResult collectTemplates(func::FuncOp func,
                                 SmallVectorImpl<LayerOp> &chain,
                                 llvm::MapVector<char, LayerOp> &byTag) {
    WalkResult nested = func.walk([&](LayerOp layer) {
      if (layer->hasAttr(kTemplateAttr) && layer->getParentOp() != func) {
        mlir::emitError(layer->getLoc(),
                        "braid-interleave: block templates must be "
                        "top-level layers of the model function, not nested "
                        "in another layer");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (nested.wasInterrupted())
      return failure();

    for (auto layer : func.getBody().getOps<LayerOp>()) {
      Attribute attr = layer->getAttr(kTemplateAttr);
      if (!attr)
        continue;
      auto tagAttr = dyn_cast<StringAttr>(attr);
      if (!tagAttr || tagAttr.size() != 1)
        return mlir::emitError(layer->getLoc(),
                               "braid-interleave: 'braid.template' must be "
                               "a one-character string such as \"M\", got ")
               << attr;
      char tag = tagAttr.getValue().front();
      if (tag == '(' || tag == ')' || llvm::isSpace(tag))
        return mlir::emitError(layer->getLoc(),
                               "braid-interleave: template tag ")
               << quoted(tag)
               << " cannot be used in a pattern; '(', ')' and whitespace "
                  "are pattern syntax";
      if (!byTag.insert({tag, layer}).second)
        return mlir::emitError(layer->getLoc(),
                               "braid-interleave: template tag ")
               << quoted(tag)
               << " is used by two layers; each template needs its own tag";
      if (layer.getInputs().empty() || layer.getNumResults() != 1 ||
          layer.getResult(0).getType() != layer.getInputs()[0].getType())
        return mlir::emitError(layer->getLoc(), "braid-interleave: template ")
               << quoted(tag)
               << " must take the hidden state as input #0 and return one "
                  "value of the same type";
      chain.push_back(layer);
    }
    if (chain.empty())
      return success();

    llvm::DenseMap<Operation *, char> tagOf;
    for (auto &[tag, layer] : byTag)
      tagOf[layer] = tag;
    for (auto [position, layer] : llvm::enumerate(chain)) {
      char tag = tagOf[layer];
      if (position > 0 &&
          layer.getInputs()[0] != chain[position - 1].getResult(0))
        return mlir::emitError(layer->getLoc(), "braid-interleave: template ")
               << quoted(tag)
               << " must read the result of the template before it ("
               << quoted(tagOf[chain[position - 1]])
               << ") as its input #0: the templates form one chain in "
                  "place of the stack";
      for (auto [i, input] : llvm::enumerate(layer.getInputs())) {
        if (i == 0)
          continue;
        if (auto producer = input.getDefiningOp<LayerOp>();
            producer && tagOf.count(producer))
          return mlir::emitError(layer->getLoc(), "braid-interleave: template ")
                 << quoted(tag) << " reads the result of template "
                 << quoted(tagOf[producer]) << " as its input #" << i
                 << "; only input #0 chains, side inputs must come from "
                    "outside the template chain";
      }
    }
    for (auto [position, layer] : llvm::enumerate(chain)) {
      char tag = tagOf[layer];
      if (position + 1 < chain.size() && !layer.getResult(0).hasOneUse())
        return mlir::emitError(layer->getLoc(),
                               "braid-interleave: the result of template ")
               << quoted(tag)
               << " is used outside the template chain; only the last "
                  "template's result may be used after it";
      if (failed(checkWeightNames(layer, tag)))
        return failure();
    }
    return success();
  }

  /// Every weight name carries `{L}`, except inside `shared` layers.
  LogicalResult checkWeightNames(LayerOp layer, char tag) {
    WalkResult result = layer.walk([&](WeightOp weight) {
      if (weight.getName().contains(kPlaceholder))
        return WalkResult::advance();
      for (Operation *op = weight->getParentOp(); op; op = op->getParentOp()) {
        if (auto enclosing = dyn_cast<LayerOp>(op);
            enclosing && enclosing.getKind() == LayerKind::shared)
          return WalkResult::advance();
        if (op == layer)
          break;
      }
      mlir::emitError(weight->getLoc(), "braid-interleave: weight '")
          << weight.getName() << "' of template " << quoted(tag)
          << " has no {L} placeholder, so every instance would share it; "
             "name it like 'layers.{L}.mixer.in_proj' (weights inside a "
             "'shared' layer may be shared on purpose)";
      return WalkResult::interrupt();
    });
    return failure(result.wasInterrupted());
  }

  //===--- expansion -----------------------------------------------------===//

  /// The blocks this function gets: in the period form, '-' blocks are
  /// dropped when there is neither a '-' template nor an expert rule.
  SmallVector<StackBlock>
  blocksFor(ArrayRef<StackBlock> blocks,
            const llvm::MapVector<char, LayerOp> &byTag) {
    bool periodForm = pattern.empty();
    if (!periodForm || withExperts || byTag.count('-'))
      return SmallVector<StackBlock>(blocks);
    SmallVector<StackBlock> kept;
    for (const StackBlock &block : blocks)
      if (block.tag != '-')
        kept.push_back(block);
    return kept;
  }

  LogicalResult checkTags(func::FuncOp func, ArrayRef<StackBlock> blocks,
                          const llvm::MapVector<char, LayerOp> &byTag) {
    for (const StackBlock &block : blocks) {
      if (byTag.count(block.tag))
        continue;
      std::string available = llvm::join(
          llvm::map_range(byTag,
                          [](auto &entry) { return quoted(entry.first); }),
          ", ");
      auto diag = mlir::emitError(func->getLoc(), "braid-interleave: ");
      if (block.position > 0)
        diag << "pattern \"" << pattern.getValue()
             << "\": " << quoted(block.tag) << " at position " << block.position
             << " names no template";
      else
        diag << "layer " << block.index << " needs the " << quoted(block.tag)
             << " (" << roleOfTag(block.tag) << ") template";
      diag << "; the templates of @" << func.getSymName() << " are "
           << available;
      return diag;
    }
    return success();
  }

  /// Gives a clone of a template its index and names.
  static void instantiate(LayerOp instance, int64_t index) {
    MLIRContext *ctx = instance.getContext();
    Builder b(ctx);
    instance->removeAttr(kTemplateAttr);
    instance.setIndexAttr(b.getI64IntegerAttr(index));
    instance.walk([&](Operation *op) {
      if (auto layer = dyn_cast<LayerOp>(op)) {
        if (auto name = layer.getName())
          layer.setNameAttr(b.getStringAttr(substituteIndex(*name, index)));
        if (layer != instance && layer.getIndex())
          layer.setIndexAttr(b.getI64IntegerAttr(index));
      } else if (auto weight = dyn_cast<WeightOp>(op)) {
        weight.setNameAttr(
            b.getStringAttr(substituteIndex(weight.getName(), index)));
      }
    });
  }

  /// Expands the template chain of `func`; false when it has none.
  FailureOr<bool> expandFunction(func::FuncOp func,
                                 ArrayRef<StackBlock> allBlocks) {
    SmallVector<LayerOp> chain;
    llvm::MapVector<char, LayerOp> byTag;
    if (failed(collectTemplates(func, chain, byTag)))
      return failure();
    if (chain.empty())
      return false;
    SmallVector<StackBlock> blocks = blocksFor(allBlocks, byTag);
    if (blocks.empty()) {
      mlir::emitError(func->getLoc(),
                      "braid-interleave: the pattern gives no block for @")
          << func.getSymName();
      return failure();
    }
    if (failed(checkTags(func, blocks, byTag)))
      return failure();

    OpBuilder builder(chain.front());
    Value hidden = chain.front().getInputs()[0];
    for (const StackBlock &block : blocks) {
      byTag[block.tag].walk([&](WeightOp weight) {
        if (weight.getName().contains(kPlaceholder))
          weightIndices[weight.getName()].insert(block.index);
      });
      auto instance = cast<LayerOp>(builder.clone(*byTag[block.tag]));
      instance->setOperand(0, hidden);
      instantiate(instance, block.index);
      hidden = instance.getResult(0);
    }
    chain.back().getResult(0).replaceAllUsesWith(hidden);
    for (LayerOp layer : llvm::reverse(chain))
      layer.erase();
    LLVM_DEBUG(llvm::dbgs()
               << "@" << func.getSymName() << ": " << chain.size()
               << " templates -> " << blocks.size() << " blocks\n");
    return true;
  }

  bool withExperts = false;
  /// Template weight name -> the layer indices of the instances using it.
  llvm::StringMap<std::set<int64_t>> weightIndices;
};

} // namespace
