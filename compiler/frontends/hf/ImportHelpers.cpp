//===- ImportHelpers.cpp - shared machinery of the HF family importers ----===//

#include "compiler/frontends/hf/ImportHelpers.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace llvm;

namespace braid {
namespace frontend {

//===----------------------------------------------------------------------===//
// ConfigReader
//===----------------------------------------------------------------------===//

void ConfigReader::fail(Error error) {
  if (!error)
    return;
  if (firstError) {
    consumeError(std::move(error));
    return;
  }
  handleAllErrors(std::move(error), [&](std::unique_ptr<ErrorInfoBase> info) {
    firstError = std::move(info);
  });
}

Error ConfigReader::takeError() {
  if (!firstError)
    return Error::success();
  return Error(std::move(firstError));
}

template <typename T> T ConfigReader::keep(Expected<T> value, T fallback) {
  if (value)
    return std::move(*value);
  fail(value.takeError());
  return fallback;
}

int64_t ConfigReader::requireInt(StringRef key) {
  return keep<int64_t>(config.requireInt(key), 0);
}

int64_t ConfigReader::integer(StringRef key, int64_t fallback) {
  return keep<int64_t>(config.getInt(key, fallback), fallback);
}

int64_t ConfigReader::positive(StringRef key) {
  int64_t value = requireInt(key);
  require(!ok() || value > 0, key,
          "'" + key + "' must be positive, found " + Twine(value));
  return value;
}

int64_t ConfigReader::positive(StringRef key, int64_t fallback) {
  int64_t value = integer(key, fallback);
  require(!ok() || value > 0, key,
          "'" + key + "' must be positive, found " + Twine(value));
  return value;
}

double ConfigReader::number(StringRef key, double fallback) {
  return keep<double>(config.getDouble(key, fallback), fallback);
}

bool ConfigReader::flag(StringRef key, bool fallback) {
  return keep<bool>(config.getBool(key, fallback), fallback);
}

std::string ConfigReader::requireString(StringRef key) {
  return keep<std::string>(config.requireString(key), "");
}

std::string ConfigReader::string(StringRef key, StringRef fallback) {
  return keep<std::string>(config.getString(key, fallback), fallback.str());
}

std::vector<int64_t> ConfigReader::intList(StringRef key) {
  return keep<std::vector<int64_t>>(config.getIntList(key), {});
}

std::vector<double> ConfigReader::numberList(StringRef key) {
  return keep<std::vector<double>>(config.getDoubleList(key), {});
}

std::vector<std::string> ConfigReader::stringList(StringRef key) {
  return keep<std::vector<std::string>>(config.getStringList(key), {});
}

Activation ConfigReader::activation(StringRef key, StringRef fallback) {
  std::string name = string(key, fallback);
  // The subset of transformers' ACT2FN that braid.activation can express.
  std::optional<Activation> act =
      StringSwitch<std::optional<Activation>>(name)
          .Cases({"silu", "swish"}, Activation::Silu)
          .Case("gelu", Activation::Gelu)
          .Cases({"gelu_new", "gelu_pytorch_tanh", "gelu_fast"},
                 Activation::GeluTanh)
          .Case("relu", Activation::Relu)
          .Case("relu2", Activation::Relu2)
          .Case("sigmoid", Activation::Sigmoid)
          .Case("tanh", Activation::Tanh)
          .Cases({"linear", "identity"}, Activation::Identity)
          .Default(std::nullopt);
  require(!ok() || act.has_value(), key,
          "unsupported activation '" + name +
              "' (supported: silu, swish, gelu, gelu_new, gelu_pytorch_tanh, "
              "gelu_fast, relu, relu2, sigmoid, tanh, linear)");
  return act.value_or(Activation::Silu);
}

void ConfigReader::require(bool condition, StringRef key,
                           const Twine &message) {
  if (!condition && ok())
    fail(config.error(key, message));
}

//===----------------------------------------------------------------------===//
// Shared readers
//===----------------------------------------------------------------------===//

void readBasicsInto(ConfigReader &reader, ModelSpec &spec, bool tieFallback) {
  spec.vocabSize = reader.positive("vocab_size");
  spec.hiddenSize = reader.positive("hidden_size");
  spec.tieWordEmbeddings = reader.flag("tie_word_embeddings", tieFallback);
  // transformers 5 writes "dtype"; 4.x wrote "torch_dtype".
  StringRef key = reader.has("dtype") ? "dtype" : "torch_dtype";
  std::string dtype = reader.string(key, "float32");
  std::optional<DType> parsed = StringSwitch<std::optional<DType>>(dtype)
                                    .Case("float32", DType::F32)
                                    .Case("bfloat16", DType::BF16)
                                    .Case("float16", DType::F16)
                                    .Default(std::nullopt);
  reader.require(!reader.ok() || parsed.has_value(), key,
                 "unsupported dtype '" + dtype +
                     "' (supported: float32, bfloat16, float16)");
  spec.dtype = parsed.value_or(DType::F32);
}

NormSpec rmsNorm(double eps) { return NormSpec{NormKind::RMS, eps, false}; }

MLPSpec readGatedMLP(ConfigReader &reader, int64_t intermediate) {
  MLPSpec mlp;
  mlp.intermediate = intermediate;
  mlp.activation = reader.activation("hidden_act", "silu");
  mlp.gated = true;
  mlp.bias = reader.flag("mlp_bias", false);
  return mlp;
}

AttentionSpec readAttentionShape(ConfigReader &reader, int64_t hidden,
                                 int64_t kvFallback, StringRef headDimKey,
                                 int64_t headDimFallback) {
  AttentionSpec attention;
  attention.numHeads = reader.positive("num_attention_heads");
  int64_t heads = attention.numHeads;
  attention.numKVHeads = reader.positive("num_key_value_heads",
                                         kvFallback < 0 ? heads : kvFallback);
  if (reader.ok() && heads % attention.numKVHeads != 0)
    reader.require(false, "num_key_value_heads",
                   formatv("num_attention_heads ({0}) is not divisible by "
                           "num_key_value_heads ({1})",
                           heads, attention.numKVHeads));
  if (!headDimKey.empty() && reader.has(headDimKey)) {
    attention.headDim = reader.positive(headDimKey);
  } else if (headDimFallback > 0) {
    attention.headDim = headDimFallback;
  } else if (reader.ok()) {
    reader.require(hidden % heads == 0, "num_attention_heads",
                   formatv("hidden_size ({0}) is not divisible by "
                           "num_attention_heads ({1})",
                           hidden, heads));
    attention.headDim = hidden / heads;
  }
  attention.inputDim = hidden;
  attention.outputDim = hidden;
  if (attention.headDim > 0)
    attention.scale = 1.0 / std::sqrt(static_cast<double>(attention.headDim));
  return attention;
}

RopeSpec readRope(ConfigReader &reader, int64_t headDim, bool usePartial,
                  double partialFallback) {
  // transformers 5 moves rope_theta and partial_rotary_factor into
  // rope_parameters; older configs keep them at the top level.
  bool modern = reader.has("rope_parameters");
  StringRef typeKey =
      modern ? "rope_parameters.rope_type" : "rope_scaling.type";
  if (!modern && reader.has("rope_scaling.rope_type"))
    typeKey = "rope_scaling.rope_type";
  std::string type = reader.string(typeKey, "default");
  reader.require(type == "default", typeKey,
                 "unsupported rope_type '" + type + "' (supported: default)");
  RopeSpec rope;
  rope.enabled = true;
  rope.theta = reader.number(
      modern ? "rope_parameters.rope_theta" : "rope_theta", 10000.0);
  double fraction = 1.0;
  if (usePartial) {
    StringRef key =
        modern && reader.has("rope_parameters.partial_rotary_factor")
            ? "rope_parameters.partial_rotary_factor"
            : "partial_rotary_factor";
    fraction = reader.number(key, partialFallback);
    reader.require(
        !reader.ok() || (fraction > 0 && fraction <= 1), key,
        formatv("'{0}' must be in (0, 1], found {1}", key, fraction));
  }
  // transformers: dim = int(head_dim * partial_rotary_factor).
  rope.rotaryDim = static_cast<int64_t>(headDim * fraction);
  return rope;
}

std::pair<double, double> readTimeStepLimit(ConfigReader &reader,
                                            StringRef key) {
  if (!reader.has(key))
    return {0.0, kInfinity};
  std::vector<double> limit = reader.numberList(key);
  reader.require(!reader.ok() || limit.size() == 2, key,
                 "'" + key + "' must hold two numbers [min, max], found " +
                     Twine(limit.size()));
  if (limit.size() != 2)
    return {0.0, kInfinity};
  reader.require(limit[0] <= limit[1], key,
                 "'" + key + "' has its minimum above its maximum");
  return {limit[0], limit[1]};
}

Block &appendBlock(ModelSpec &spec, int64_t layer, BlockBody body,
                   NormSpec norm) {
  Block block;
  block.body = std::move(body);
  block.layer = layer;
  block.norm = norm;
  spec.blocks.push_back(std::move(block));
  return spec.blocks.back();
}

std::string layerModule(StringRef root, int64_t layer) {
  return (root + ".layers." + Twine(layer)).str();
}

void bindHead(const ModelSpec &spec, Binder &binder,
              const std::string &finalNorm) {
  binder.direct("final_norm", finalNorm);
  if (spec.tieWordEmbeddings)
    binder.alias("embed", "lm_head.weight");
  else
    binder.direct("lm_head", "lm_head.weight");
}

//===----------------------------------------------------------------------===//
// Binder
//===----------------------------------------------------------------------===//

Binder::Binder(const ModelSpec &spec, DType dtype) : dtype(dtype) {
  for (WeightDesc &w : enumerateWeights(spec))
    shapes[w.name] = std::move(w.shape);
}

std::vector<int64_t> Binder::shapeOf(const std::string &ir) const {
  auto it = shapes.find(ir);
  return it == shapes.end() ? std::vector<int64_t>{} : it->second;
}

WeightBinding *Binder::add(const std::string &ir) {
  if (!has(ir)) {
    problems.push_back("binding for '" + ir +
                       "', which is not a weight of the spec");
    return nullptr;
  }
  WeightBinding binding;
  binding.irName = ir;
  binding.shape = shapeOf(ir);
  binding.dtype = dtype;
  table.bindings.push_back(std::move(binding));
  return &table.bindings.back();
}

void Binder::direct(const std::string &ir, const std::string &tensor) {
  if (WeightBinding *b = add(ir))
    b->sources = {{tensor, b->shape}};
}

void Binder::reshaped(const std::string &ir, const std::string &tensor,
                      std::vector<int64_t> tensorShape) {
  if (WeightBinding *b = add(ir))
    b->sources = {{tensor, std::move(tensorShape)}};
}

void Binder::negExp(const std::string &ir, const std::string &tensor) {
  if (WeightBinding *b = add(ir)) {
    b->sources = {{tensor, b->shape}};
    b->transform.elementwise = WeightTransform::Elementwise::NegExp;
  }
}

void Binder::concat(const std::string &ir, std::vector<std::string> tensors,
                    std::vector<std::vector<int64_t>> tensorShapes,
                    int64_t axis) {
  WeightBinding *b = add(ir);
  if (!b)
    return;
  for (size_t i = 0; i < tensors.size(); ++i)
    b->sources.push_back({tensors[i], tensorShapes[i]});
  b->transform.combine = WeightTransform::Combine::Concat;
  b->transform.axis = axis;
}

void Binder::stack(const std::string &ir, std::vector<std::string> tensors,
                   std::vector<int64_t> eachShape) {
  WeightBinding *b = add(ir);
  if (!b)
    return;
  for (std::string &tensor : tensors)
    b->sources.push_back({std::move(tensor), eachShape});
  b->transform.combine = WeightTransform::Combine::Stack;
}

void Binder::stackOfConcat(const std::string &ir,
                           std::vector<std::string> tensors,
                           std::vector<std::vector<int64_t>> tensorShapes,
                           int64_t groupSize, int64_t axis) {
  WeightBinding *b = add(ir);
  if (!b)
    return;
  for (size_t i = 0; i < tensors.size(); ++i)
    b->sources.push_back({tensors[i], tensorShapes[i]});
  b->transform.combine = WeightTransform::Combine::StackOfConcat;
  b->transform.groupSize = groupSize;
  b->transform.axis = axis;
}

void Binder::alias(const std::string &ir, const std::string &tensor) {
  for (WeightBinding &b : table.bindings)
    if (b.irName == ir) {
      b.tiedAliases.push_back(tensor);
      return;
    }
  problems.push_back("alias '" + tensor + "' for unbound IR weight '" + ir +
                     "'");
}

void Binder::setDType(const std::string &ir, DType override) {
  for (WeightBinding &b : table.bindings)
    if (b.irName == ir)
      b.dtype = override;
}

void Binder::linear(const std::string &prefix, StringRef leaf,
                    const std::string &module) {
  std::string ir = prefix + "." + leaf.str();
  direct(ir, module + ".weight");
  if (has(ir + "_bias"))
    direct(ir + "_bias", module + ".bias");
}

void Binder::norm(const Block &block, const std::string &module) {
  if (block.norm.kind == NormKind::None)
    return;
  direct(block.prefix + ".norm", module + ".weight");
  if (has(block.prefix + ".norm_bias"))
    direct(block.prefix + ".norm_bias", module + ".bias");
}

void Binder::mamba2(const Block &block, const std::string &module) {
  const std::string &p = block.prefix;
  const Mamba2Spec &m = block.as<Mamba2Spec>();
  linear(p, "in_proj", module + ".in_proj");
  reshaped(p + ".conv", module + ".conv1d.weight",
           {m.convChannels(), 1, m.convKernel});
  if (has(p + ".conv_bias"))
    direct(p + ".conv_bias", module + ".conv1d.bias");
  direct(p + ".dt_bias", module + ".dt_bias");
  negExp(p + ".A", module + ".A_log");
  if (has(p + ".D"))
    direct(p + ".D", module + ".D");
  if (has(p + ".gate_norm"))
    direct(p + ".gate_norm", module + ".norm.weight");
  linear(p, "out_proj", module + ".out_proj");
}

void Binder::mamba1(const Block &block, const std::string &module) {
  const std::string &p = block.prefix;
  const MambaSpec &m = block.as<MambaSpec>();
  linear(p, "in_proj", module + ".in_proj");
  reshaped(p + ".conv", module + ".conv1d.weight", {m.dInner, 1, m.convKernel});
  if (has(p + ".conv_bias"))
    direct(p + ".conv_bias", module + ".conv1d.bias");
  direct(p + ".x_proj", module + ".x_proj.weight");
  direct(p + ".dt_proj", module + ".dt_proj.weight");
  if (has(p + ".dt_bias"))
    direct(p + ".dt_bias", module + ".dt_proj.bias");
  negExp(p + ".A", module + ".A_log");
  if (has(p + ".D"))
    direct(p + ".D", module + ".D");
  if (m.dtBCNorm) {
    direct(p + ".dt_norm", module + ".dt_layernorm.weight");
    direct(p + ".b_norm", module + ".b_layernorm.weight");
    direct(p + ".c_norm", module + ".c_layernorm.weight");
  }
  linear(p, "out_proj", module + ".out_proj");
}

void Binder::attention(const Block &block, const std::string &module) {
  for (StringRef proj : {"q_proj", "k_proj", "v_proj", "o_proj"})
    linear(block.prefix, proj, module + "." + proj.str());
}

void Binder::splitGatedMLP(const std::string &prefix, const std::string &module,
                           StringRef gate, StringRef up, StringRef down) {
  std::string ir = prefix + ".gate_up_proj";
  std::vector<int64_t> half = shapeOf(ir);
  if (half.size() == 2)
    half[0] /= 2;
  concat(ir,
         {module + "." + gate.str() + ".weight",
          module + "." + up.str() + ".weight"},
         {half, half}, 0);
  if (has(ir + "_bias"))
    concat(ir + "_bias",
           {module + "." + gate.str() + ".bias",
            module + "." + up.str() + ".bias"},
           {{half[0]}, {half[0]}}, 0);
  linear(prefix, "down_proj", module + "." + down.str());
}

Error Binder::takeError() {
  if (problems.empty())
    return Error::success();
  return createStringError(inconvertibleErrorCode(),
                           "internal error in the importer: " +
                               problems.front());
}

} // namespace frontend
} // namespace braid
