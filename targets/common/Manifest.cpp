//===- Manifest.cpp - launch IR to the bundle manifest --------------------===//
#include "targets/common/Manifest.h"

#include "dialects/Launch/LaunchOps.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace llvm;
using namespace braid::launch;

namespace braid {

static json::Array shapeToJSON(ArrayRef<int64_t> shape) {
  json::Array dims;
  for (int64_t dim : shape) {
    if (dim > 0)
      dims.push_back(dim);
    else
      dims.push_back(formatDim(dim));
  }
  return dims;
}

static std::string typeName(Type type) {
  std::string text;
  raw_string_ostream os(text);
  type.print(os);
  return text;
}

/// Attribute values as the kernels receive them (CpuKernels.h): integers,
/// numbers ("inf" strings for infinities), booleans, strings, arrays.
static Expected<json::Value> attrToJSON(Attribute attr, StringRef name) {
  if (auto b = dyn_cast<BoolAttr>(attr))
    return json::Value(b.getValue());
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return json::Value(i.getInt());
  if (auto f = dyn_cast<FloatAttr>(attr)) {
    double value = f.getValueAsDouble();
    if (std::isinf(value))
      return json::Value(value > 0 ? "inf" : "-inf");
    return json::Value(value);
  }
  if (auto s = dyn_cast<StringAttr>(attr))
    return json::Value(s.getValue());
  if (auto ints = dyn_cast<DenseI64ArrayAttr>(attr))
    return json::Value(json::Array(ints.asArrayRef()));
  if (auto floats = dyn_cast<DenseF64ArrayAttr>(attr))
    return json::Value(json::Array(floats.asArrayRef()));
  if (isa<UnitAttr>(attr))
    return json::Value(true);
  return createStringError("attribute '" + name +
                           "' has a kind the manifest cannot carry");
}

static json::Value bufferToJSON(Attribute attr) {
  auto buffer = dyn_cast<BufferAttr>(attr);
  if (!buffer)
    return nullptr; // absent optional operand
  json::Object object{{"kind", stringifyBufferKind(buffer.getKind())},
                      {"shape", shapeToJSON(buffer.getShape())},
                      {"dtype", typeName(buffer.getElementType())}};
  if (buffer.getKind() == BufferKind::arena)
    object["offset"] = buffer.getOffset();
  else
    object["name"] = buffer.getName();
  return object;
}

static json::Value weightToJSON(WeightOp weight) {
  json::Array sources;
  for (Attribute attr : weight.getSources()) {
    auto dict = cast<DictionaryAttr>(attr);
    json::Object source{
        {"shape",
         json::Array(dict.getAs<DenseI64ArrayAttr>("shape").asArrayRef())}};
    // A source is a checkpoint tensor or, after braid-hybridize, an
    // initialization; the runtime's reader says which it can build.
    if (auto tensor = dict.getAs<StringAttr>("tensor"))
      source["tensor"] = tensor.getValue();
    if (auto init = dict.getAs<StringAttr>("init"))
      source["init"] = init.getValue();
    if (auto dtype = dict.getAs<StringAttr>("dtype"))
      source["dtype"] = dtype.getValue();
    sources.push_back(std::move(source));
  }
  json::Array aliases;
  if (auto tied = weight.getTiedAliases())
    for (Attribute alias : *tied)
      aliases.push_back(cast<StringAttr>(alias).getValue());
  json::Object object{{"name", weight.getName()},
                      {"shape", json::Array(weight.getShape())},
                      {"dtype", typeName(weight.getElementType())},
                      {"sources", std::move(sources)},
                      {"combine", weight.getCombine()},
                      {"axis", weight.getAxis()},
                      {"group_size", weight.getGroupSize()},
                      {"elementwise", weight.getElementwise()},
                      {"tied_aliases", std::move(aliases)}};
  // Multipliers folded into the weight by braid-fold-weight-scales and
  // braid-fuse-projections (a discardable attribute; docs/bundle.md).
  if (auto scale = weight->getAttrOfType<DenseF64ArrayAttr>("scale"))
    object["scale"] = json::Array(scale.asArrayRef());
  // An rms_norm's weight folded into a linear after it (braid-lower-to-
  // launch, fuse-norms): every row times that 1-D weight.
  if (auto columns = weight->getAttrOfType<StringAttr>("column_scale"))
    object["column_scale"] = columns.getValue();
  return object;
}

static Expected<json::Value> kernelToJSON(KernelOp kernel,
                                          const ManifestInfo &info) {
  json::Object attrs;
  for (NamedAttribute attr : kernel.getAttrs()) {
    Expected<json::Value> value = attrToJSON(attr.getValue(), attr.getName());
    if (!value)
      return createStringError(kernel.getFamily() + " in '" +
                               kernel.getSource() + "': " +
                               toString(value.takeError()));
    attrs[attr.getName().getValue()] = std::move(*value);
  }
  json::Array operands, results;
  for (Attribute operand : kernel.getOperands())
    operands.push_back(bufferToJSON(operand));
  for (Attribute result : kernel.getResults())
    results.push_back(bufferToJSON(result));
  json::Object launch{{"kernel", kernel.getFamily()},
                      {"loc", kernel.getSource()},
                      {"attrs", std::move(attrs)},
                      {"operands", std::move(operands)},
                      {"results", std::move(results)}};
  for (const gpu::GpuCode *code : info.gpuCode) {
    json::Value object = code->launchToJSON(kernel);
    if (object.kind() == json::Value::Null)
      return createStringError(kernel.getFamily() + " in '" +
                               kernel.getSource() + "': no " + code->vendor +
                               " code was planned for this launch");
    launch[code->vendor] = std::move(object);
  }
  return launch;
}

static json::Value entryIO(StringRef entry, StringRef name, int64_t vocab) {
  // prefill_last returns one row of logits per sequence.
  if (name == "logits")
    return json::Object{{"name", name},
                        {"shape", entry == "prefill_last"
                                      ? json::Array{"B", 1, vocab}
                                      : json::Array{"B", "T", vocab}},
                        {"dtype", "f32"}};
  if (name == "cache_position")
    return json::Object{
        {"name", name}, {"shape", json::Array{"B"}}, {"dtype", "i64"}};
  return json::Object{
      {"name", name}, {"shape", json::Array{"B", "T"}}, {"dtype", "i64"}};
}

Expected<json::Value> buildManifest(ModuleOp module, const ManifestInfo &info) {
  json::Array weights, states, entries;
  std::optional<int64_t> arenaBytes;
  std::string elementType = "f32";
  for (Operation &op : module.getBody()->getOperations()) {
    if (auto weight = dyn_cast<WeightOp>(op)) {
      weights.push_back(weightToJSON(weight));
      elementType = typeName(weight.getElementType());
    } else if (auto state = dyn_cast<StateOp>(op)) {
      states.push_back(json::Object{{"name", state.getName()},
                                    {"shape", shapeToJSON(state.getShape())},
                                    {"dtype", typeName(state.getElementType())}});
    } else if (auto arena = dyn_cast<ArenaOp>(op)) {
      arenaBytes = arena.getBytesPerToken();
    } else if (auto entry = dyn_cast<EntryOp>(op)) {
      json::Array inputs, outputs, launches;
      for (Attribute name : entry.getInputs())
        inputs.push_back(
            entryIO(entry.getName(), cast<StringAttr>(name), info.vocabSize));
      for (Attribute name : entry.getOutputs())
        outputs.push_back(
            entryIO(entry.getName(), cast<StringAttr>(name), info.vocabSize));
      for (auto kernel : entry.getBody().front().getOps<KernelOp>()) {
        Expected<json::Value> launch = kernelToJSON(kernel, info);
        if (!launch)
          return launch.takeError();
        launches.push_back(std::move(*launch));
      }
      entries.push_back(json::Object{{"name", entry.getName()},
                                     {"inputs", std::move(inputs)},
                                     {"outputs", std::move(outputs)},
                                     {"launches", std::move(launches)}});
    } else {
      return createStringError(
          "the module holds '" + op.getName().getStringRef() +
          "', which a bundle cannot carry; lower it to the launch dialect "
          "first (--braid-lower-to-launch)");
    }
  }
  if (!arenaBytes)
    return createStringError("the module has no launch.arena; it was not "
                             "planned by --braid-lower-to-launch");
  json::Array targets;
  for (const std::string &target : info.targets)
    targets.push_back(target);
  return json::Object{{"format_version", 1},
                      {"generator", "braidc 0.1.0"},
                      {"model", info.model},
                      {"element_type", elementType},
                      {"vocab_size", info.vocabSize},
                      {"hidden_size", info.hiddenSize},
                      {"targets", std::move(targets)},
                      {"weights", std::move(weights)},
                      {"states", std::move(states)},
                      {"arena", json::Object{{"bytes_per_token", *arenaBytes}}},
                      {"entries", std::move(entries)}};
}

void printLaunchStats(ModuleOp module, raw_ostream &os) {
  int64_t weightBytes = 0, weightCount = 0;
  for (auto weight : module.getOps<WeightOp>()) {
    int64_t bytes = weight.getElementType().getIntOrFloatBitWidth() / 8;
    for (int64_t dim : weight.getShape())
      bytes *= dim;
    weightBytes += bytes;
    ++weightCount;
  }
  os << formatv("weights: {0} tensors, {1} bytes\n", weightCount, weightBytes);
  for (auto state : module.getOps<StateOp>()) {
    int64_t bytes = state.getElementType().getIntOrFloatBitWidth() / 8;
    std::string symbolic;
    for (int64_t dim : state.getShape()) {
      if (dim > 0)
        bytes *= dim;
      else
        symbolic += "*" + formatDim(dim);
    }
    os << formatv("state {0}: {1}{2} bytes\n", state.getName(), bytes,
                  symbolic);
  }
  for (auto arena : module.getOps<ArenaOp>()) {
    os << formatv("arena: {0} bytes per token (B*T)", arena.getBytesPerToken());
    if (auto naive =
            module->getAttrOfType<IntegerAttr>("launch.naive_bytes_per_token"))
      os << formatv(", {0} without reuse", naive.getInt());
    os << "\n";
  }
  for (auto entry : module.getOps<EntryOp>()) {
    MapVector<StringRef, int64_t> families;
    int64_t total = 0;
    for (auto kernel : entry.getBody().front().getOps<KernelOp>()) {
      ++families[kernel.getFamily()];
      ++total;
    }
    os << formatv("entry {0}: {1} launches (", entry.getName(), total);
    interleaveComma(families, os, [&](auto &pair) {
      os << pair.first << " " << pair.second;
    });
    os << ")\n";
  }
}

} // namespace braid
