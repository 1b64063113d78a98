//===- Manifest.h - the bundle manifest, parsed and checked -----*- C++ -*-===//
//
// The in-memory form of the "manifest" section (docs/bundle.md). Parsing
// checks everything that can be checked without weights or a backend: every
// required field is present with the right JSON type, names referenced by
// launches are declared, symbolic dimensions are ones the runtime binds.
// Every message starts with "manifest: " and names the JSON path at fault
// ("entries[0] (prefill).launches[3] (linear at layers.0.mixer).operands[1]").
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_MANIFEST_H
#define BRAID_RUNTIME_SRC_MANIFEST_H

#include "runtime/backends/cpu/CpuKernels.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace braid::rt {

/// Element types that appear in a manifest.
enum class ValueType { F32, F16, BF16, I64 };
const char *toString(ValueType type);
std::optional<ValueType> parseValueType(std::string_view text);
size_t byteWidth(ValueType type);

/// One dimension of a manifest shape: a constant, or a symbol bound per call
/// (B: sequences, T: tokens per sequence, S: the session's maximum length).
struct Dim {
  int64_t value = 0;
  char symbol = 0; ///< 'B', 'T', 'S', or 0 for a constant

  static Dim constant(int64_t v) { return {v, 0}; }
  static Dim sym(char s) { return {0, s}; }
};
using DimList = std::vector<Dim>;

struct DimBinding {
  int64_t B = 1;
  int64_t T = 1;
  int64_t S = 1;

  int64_t bind(const Dim &d) const {
    switch (d.symbol) {
    case 'B':
      return B;
    case 'T':
      return T;
    case 'S':
      return S;
    default:
      return d.value;
    }
  }
  std::vector<int64_t> bind(const DimList &dims) const;
};

/// "[B, 2, S, 16]"
std::string formatDims(const DimList &dims);
/// "[2, 37, 256]"
std::string formatShape(const std::vector<int64_t> &shape);
int64_t numElements(const std::vector<int64_t> &shape);
/// The element count, or -1 when a dimension is negative or the count
/// exceeds kMaxElements (so that byte sizes never overflow).
int64_t checkedNumElements(const std::vector<int64_t> &shape);
constexpr int64_t kMaxElements = int64_t(1) << 52;

//===----------------------------------------------------------------------===//
// Weights, states, entries, launches
//===----------------------------------------------------------------------===//

struct TensorSource {
  std::string tensor;
  std::vector<int64_t> shape;
};

enum class Combine { Single, Concat, Stack, StackOfConcat };
enum class Elementwise { Identity, NegExp };
const char *toString(Combine combine);
const char *toString(Elementwise elementwise);

struct WeightDecl {
  std::string name;
  std::vector<int64_t> shape;
  ValueType dtype = ValueType::F32;
  std::vector<TensorSource> sources;
  Combine combine = Combine::Single;
  int64_t axis = 0;
  int64_t groupSize = 0;
  Elementwise elementwise = Elementwise::Identity;
  /// Load-time factors applied after `elementwise` (braid-fold-weight-
  /// scales, braid-fuse-projections): empty, one for the whole weight, or
  /// one per index of the first dimension of `shape`.
  std::vector<double> scale;
  /// Load-time column factors applied after `scale` (an rms_norm's weight
  /// folded into the linears that read the norm, braid-lower-to-launch's
  /// fuse-norms): the IR weight named here, 1-D with one entry per index of
  /// the last dimension, multiplies every row. Empty: none.
  std::string columnScale;
  /// That weight's declaration (resolved when the manifest is read).
  std::shared_ptr<const WeightDecl> columnScaleDecl;
  std::vector<std::string> tiedAliases;

  int64_t numel() const { return numElements(shape); }
};

/// Points each weight's columnScaleDecl at the weight its `column_scale`
/// names in `weights` (a copy, so that the declaration outlives the list);
/// names found nowhere are left unlinked (the manifest reader rejects them).
void linkColumnScales(std::vector<WeightDecl> &weights);

struct StateDecl {
  std::string name;
  DimList shape;
  ValueType dtype = ValueType::F32;
};

/// An entry input or output.
struct IODecl {
  std::string name;
  DimList shape;
  ValueType dtype = ValueType::F32;
};

enum class ArgKind { Absent, Arena, Weight, State, Input, Output };
const char *toString(ArgKind kind);

/// One operand or result of a launch.
struct Arg {
  ArgKind kind = ArgKind::Absent;
  /// Arena: offset in bytes per token (the value lives at offset * B * T).
  int64_t offset = 0;
  /// Arena: the value's shape. Others: the declaration's shape (filled in
  /// by the parser when the launch does not repeat it).
  DimList shape;
  ValueType dtype = ValueType::F32;
  /// Weight, state, input, output: the name, and its index in the manifest's
  /// weights/states or the entry's inputs/outputs.
  std::string name;
  size_t index = 0;
};

struct Launch {
  std::string kernel;
  std::string loc;
  std::vector<std::pair<std::string, AttrValue>> attrs;
  std::vector<Arg> operands;
  std::vector<Arg> results;

  /// "linear at layers.0.mixer" (or just "linear").
  std::string describe() const;
};

struct Entry {
  std::string name;
  std::vector<IODecl> inputs;
  std::vector<IODecl> outputs;
  std::vector<Launch> launches;

  const IODecl *findInput(std::string_view n) const;
  const IODecl *findOutput(std::string_view n) const;
};

struct Manifest {
  int64_t formatVersion = 0;
  std::string generator;
  std::string model;
  ValueType elementType = ValueType::F32;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  std::vector<std::string> targets;
  std::vector<WeightDecl> weights;
  std::vector<StateDecl> states;
  int64_t arenaBytesPerToken = 0;
  std::vector<Entry> entries;

  const Entry *findEntry(std::string_view name) const;
  const WeightDecl *findWeight(std::string_view name) const;
  bool hasTarget(std::string_view target) const;
  /// Kernel families in order of first use, with their launch counts.
  std::vector<std::pair<std::string, size_t>> kernelFamilies() const;
  /// Total number of weight elements.
  int64_t weightElements() const;
};

/// The inputs the runtime provides to an entry.
constexpr const char *kInputIds = "input_ids";
constexpr const char *kPositions = "positions";
constexpr const char *kCachePosition = "cache_position";
/// The output it reads back.
constexpr const char *kLogits = "logits";

/// The shape the weight's sources give after `combine` (before the reshape
/// to `shape`), from the source shapes the manifest declares; on an
/// inconsistent transform, sets `error` and returns {}.
std::vector<int64_t> combinedShape(const WeightDecl &weight,
                                   std::string *error);

/// Parses and checks manifest JSON text. Throws Error(Bundle) with a message
/// starting "manifest: ".
Manifest parseManifest(std::string_view json);

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_MANIFEST_H
