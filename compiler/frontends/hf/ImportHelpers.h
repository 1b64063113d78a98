//===- ImportHelpers.h - shared machinery of the HF family importers ------===//
//
// ConfigReader: typed reads of config keys that keep the first error, so a
// family importer reads everything in a straight line and checks once.
// Binder: builds the binding table for a finished ModelSpec, knowing the
// IR weight shapes from enumerateWeights().
// FamilyImport: what a family importer fills in.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_HF_IMPORTHELPERS_H
#define BRAID_FRONTENDS_HF_IMPORTHELPERS_H

#include "compiler/frontends/dsl/ModelSpec.h"
#include "compiler/frontends/hf/HFConfig.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <string>
#include <vector>

namespace braid {
namespace frontend {

class ConfigReader {
public:
  explicit ConfigReader(const HFConfig &config) : config(config) {}

  int64_t requireInt(llvm::StringRef key);
  int64_t integer(llvm::StringRef key, int64_t fallback);
  /// A required integer that must be > 0.
  int64_t positive(llvm::StringRef key);
  /// An optional integer that must be > 0 when present.
  int64_t positive(llvm::StringRef key, int64_t fallback);
  double number(llvm::StringRef key, double fallback);
  bool flag(llvm::StringRef key, bool fallback);
  std::string requireString(llvm::StringRef key);
  std::string string(llvm::StringRef key, llvm::StringRef fallback);
  std::vector<int64_t> intList(llvm::StringRef key);
  std::vector<double> numberList(llvm::StringRef key);
  std::vector<std::string> stringList(llvm::StringRef key);
  /// An activation name as transformers' ACT2FN spells it.
  Activation activation(llvm::StringRef key, llvm::StringRef fallback);
  bool has(llvm::StringRef key) const { return config.has(key); }

  /// Records `message` at `key` unless `condition` holds.
  void require(bool condition, llvm::StringRef key, const llvm::Twine &message);
  /// Records an error (only the first one is kept).
  void fail(llvm::Error error);

  bool ok() const { return !firstError; }
  llvm::Error takeError();

  const HFConfig &config;

private:
  template <typename T> T keep(llvm::Expected<T> value, T fallback);
  std::unique_ptr<llvm::ErrorInfoBase> firstError;
};

/// Builds the binding table of a finished spec. Each call binds one IR
/// weight; optional weights (biases, D, norms) are bound only when the spec
/// has them. Anything bound that the spec does not have is an internal error.
class Binder {
public:
  Binder(const ModelSpec &spec, DType dtype);

  /// Same shape as the IR weight.
  void direct(const std::string &ir, const std::string &tensor);
  /// Same elements, stored with another shape (conv [C, 1, K] -> [C, K]).
  void reshaped(const std::string &ir, const std::string &tensor,
                std::vector<int64_t> tensorShape);
  /// A = -exp(A_log).
  void negExp(const std::string &ir, const std::string &tensor);
  void concat(const std::string &ir, std::vector<std::string> tensors,
              std::vector<std::vector<int64_t>> shapes, int64_t axis);
  void stack(const std::string &ir, std::vector<std::string> tensors,
             std::vector<int64_t> eachShape);
  void stackOfConcat(const std::string &ir, std::vector<std::string> tensors,
                     std::vector<std::vector<int64_t>> shapes,
                     int64_t groupSize, int64_t axis);
  /// `tensor` may also be present as another name of `ir`'s storage.
  void alias(const std::string &ir, const std::string &tensor);
  /// `tensor` may be present in the checkpoint but is never read.
  void unused(const std::string &tensor) {
    table.unusedTensors.push_back(tensor);
  }
  /// Overrides the dtype the sources of `ir` must have.
  void setDType(const std::string &ir, DType dtype);

  /// `<prefix>.<leaf>` from `<module>.weight`, and `<prefix>.<leaf>_bias`
  /// from `<module>.bias` when the spec has it.
  void linear(const std::string &prefix, llvm::StringRef leaf,
              const std::string &module);
  /// `<prefix>.norm` (and `_bias`) from `<module>.weight` (`.bias`).
  void norm(const Block &block, const std::string &module);

  /// Standard transformers layouts of each mixer and feed-forward.
  void mamba2(const Block &block, const std::string &module);
  void mamba1(const Block &block, const std::string &module);
  void attention(const Block &block, const std::string &module);
  /// Gated MLP stored as separate gate and up projections.
  void splitGatedMLP(const std::string &prefix, const std::string &module,
                     llvm::StringRef gate, llvm::StringRef up,
                     llvm::StringRef down);

  bool has(const std::string &ir) const { return shapes.count(ir) != 0; }
  std::vector<int64_t> shapeOf(const std::string &ir) const;
  BindingTable take() { return std::move(table); }
  /// Internal errors (a binding for a weight the spec does not have).
  llvm::Error takeError();

private:
  WeightBinding *add(const std::string &ir);

  llvm::StringMap<std::vector<int64_t>> shapes;
  DType dtype;
  BindingTable table;
  std::vector<std::string> problems;
};

/// Reads vocab_size, hidden_size, the dtype and tie_word_embeddings.
void readBasicsInto(ConfigReader &reader, ModelSpec &spec, bool tieFallback);

NormSpec rmsNorm(double eps);

/// A gated MLP of `intermediate` channels, activation hidden_act, bias
/// mlp_bias.
MLPSpec readGatedMLP(ConfigReader &reader, int64_t intermediate);

/// Attention heads, KV heads and head dim with transformers' defaults:
/// kv defaults to `kvFallback` (or the head count when < 0), head_dim to the
/// config's head_dim key when `headDimKey` is set and present, else
/// hidden / heads (which must divide).
AttentionSpec readAttentionShape(ConfigReader &reader, int64_t hidden,
                                 int64_t kvFallback, llvm::StringRef headDimKey,
                                 int64_t headDimFallback = 0);

/// Rotary settings from rope_parameters (or the legacy rope_theta /
/// rope_scaling keys). Only rope_type "default" is supported.
/// `partialFallback` is the rotary fraction when the config names none;
/// families that ignore the fraction pass usePartial = false.
RopeSpec readRope(ConfigReader &reader, int64_t headDim, bool usePartial,
                  double partialFallback = 1.0);

/// time_step_limit = [min, max] (max may be +inf), defaulting to [0, inf).
std::pair<double, double> readTimeStepLimit(ConfigReader &reader,
                                            llvm::StringRef key);

/// Appends a block of layer group `layer` to the stack.
Block &appendBlock(ModelSpec &spec, int64_t layer, BlockBody body,
                   NormSpec norm);

/// "model.layers.3".
std::string layerModule(llvm::StringRef root, int64_t layer);

/// final_norm from `finalNorm`, and lm_head from "lm_head.weight" (or, when
/// tied, that name as an alias of the embedding).
void bindHead(const ModelSpec &spec, Binder &binder,
              const std::string &finalNorm);

/// A family importer fills spec (with Block::layer set; prefixes are assigned
/// by the caller before `bind` runs) and then the binding table.
struct FamilyImporter {
  llvm::StringRef modelType;
  llvm::Error (*build)(ConfigReader &reader, ModelSpec &spec);
  void (*bind)(const ModelSpec &spec, Binder &binder);
};

// One per family; defined in HFFamilies*.cpp.
extern const FamilyImporter kBambaImporter;
extern const FamilyImporter kNemotronHImporter;
extern const FamilyImporter kGraniteMoeHybridImporter;
extern const FamilyImporter kFalconH1Importer;
extern const FamilyImporter kJambaImporter;
extern const FamilyImporter kZamba2Importer;
extern const FamilyImporter kLlamaImporter;

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_HF_IMPORTHELPERS_H
