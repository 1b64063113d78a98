//===- Safetensors.cpp - read safetensors headers -------------------------===//
//
// Layout of a safetensors file: an 8-byte little-endian header length N, N
// bytes of JSON mapping each tensor name to {dtype, shape, data_offsets}
// (offsets relative to the end of the header), then the data. An optional
// "__metadata__" entry holds string pairs.
//
//===----------------------------------------------------------------------===//

#include "compiler/frontends/hf/Safetensors.h"
#include "compiler/frontends/Diagnostics.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace llvm;

namespace braid {
namespace frontend {

const TensorInfo *TensorIndex::find(StringRef name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : &list[it->second];
}

Error TensorIndex::add(TensorInfo info) {
  if (!byName.try_emplace(info.name, list.size()).second)
    return errorIn(info.file,
                   "tensor '" + info.name + "' appears in more than one place");
  list.push_back(std::move(info));
  return Error::success();
}

unsigned safetensorsDTypeWidth(StringRef dtype) {
  return StringSwitch<unsigned>(dtype)
      .Cases({"F64", "I64", "U64"}, 8)
      .Cases({"F32", "I32", "U32"}, 4)
      .Cases({"F16", "BF16", "I16", "U16"}, 2)
      .Cases({"I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2"}, 1)
      .Default(0);
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

namespace {
/// Header lengths beyond this are not headers (real ones are kilobytes).
constexpr uint64_t kMaxHeaderBytes = 256ull << 20;

Expected<std::unique_ptr<MemoryBuffer>> readSlice(StringRef path, uint64_t size,
                                                  uint64_t offset) {
  auto buffer = MemoryBuffer::getFileSlice(path, size, offset);
  if (!buffer)
    return errorIn(path, "cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}

Expected<std::vector<int64_t>> readShape(StringRef path, StringRef name,
                                         const json::Value *value) {
  const json::Array *dims = value ? value->getAsArray() : nullptr;
  if (!dims)
    return errorIn(path, "tensor '" + name + "' has no shape list");
  std::vector<int64_t> shape;
  for (const json::Value &dim : *dims) {
    std::optional<int64_t> d = dim.getAsInteger();
    if (!d || *d < 0)
      return errorIn(path, "tensor '" + name + "' has a bad dimension");
    shape.push_back(*d);
  }
  return shape;
}

Expected<TensorInfo> readEntry(StringRef path, StringRef name,
                               const json::Value &value, uint64_t dataStart,
                               uint64_t dataSize) {
  const json::Object *entry = value.getAsObject();
  if (!entry)
    return errorIn(path, "tensor '" + name + "' is not described by an object");
  TensorInfo info;
  info.name = name.str();
  info.file = path.str();
  std::optional<StringRef> dtype = entry->getString("dtype");
  if (!dtype)
    return errorIn(path, "tensor '" + name + "' has no dtype");
  info.dtype = dtype->str();
  auto shape = readShape(path, name, entry->get("shape"));
  if (!shape)
    return shape.takeError();
  info.shape = std::move(*shape);

  const json::Array *offsets = entry->getArray("data_offsets");
  std::optional<int64_t> begin, end;
  if (offsets && offsets->size() == 2) {
    begin = (*offsets)[0].getAsInteger();
    end = (*offsets)[1].getAsInteger();
  }
  if (!begin || !end || *begin < 0 || *end < *begin ||
      static_cast<uint64_t>(*end) > dataSize)
    return errorIn(path,
                   "tensor '" + name + "' has data offsets outside the file");
  info.dataBegin = dataStart + *begin;
  info.dataEnd = dataStart + *end;

  unsigned width = safetensorsDTypeWidth(info.dtype);
  if (width == 0)
    return errorIn(path, "tensor '" + name + "' has unknown dtype '" +
                             info.dtype + "'");
  uint64_t elements = 1;
  for (int64_t d : info.shape)
    elements *= d;
  if (elements * width != info.dataEnd - info.dataBegin)
    return errorIn(path, "tensor '" + name + "' " + formatShape(info.shape) +
                             " " + info.dtype + " needs " +
                             Twine(elements * width) +
                             " bytes, its offsets "
                             "span " +
                             Twine(info.dataEnd - info.dataBegin));
  return info;
}

/// Reads and parses the JSON header of `path`; sets the data region.
Expected<json::Value> readHeader(StringRef path, uint64_t &dataStart,
                                 uint64_t &dataSize) {
  uint64_t fileSize = 0;
  if (std::error_code ec = sys::fs::file_size(path, fileSize))
    return errorIn(path, "cannot read: " + ec.message());
  if (fileSize < 8)
    return errorIn(path, "not a safetensors file: shorter than its 8-byte "
                         "header length");
  auto lengthBytes = readSlice(path, 8, 0);
  if (!lengthBytes)
    return lengthBytes.takeError();
  uint64_t headerSize =
      support::endian::read64le((*lengthBytes)->getBufferStart());
  if (headerSize > kMaxHeaderBytes || headerSize > fileSize - 8)
    return errorIn(path, "not a safetensors file: header length " +
                             Twine(headerSize) + " does not fit in " +
                             Twine(fileSize) + " bytes");
  auto headerBytes = readSlice(path, headerSize, 8);
  if (!headerBytes)
    return headerBytes.takeError();
  auto header = json::parse((*headerBytes)->getBuffer());
  if (!header)
    return errorIn(path,
                   "bad safetensors header: " + toString(header.takeError()));
  dataStart = 8 + headerSize;
  dataSize = fileSize - dataStart;
  return std::move(*header);
}

Error readFileInto(StringRef path, TensorIndex &index) {
  uint64_t dataStart = 0, dataSize = 0;
  auto header = readHeader(path, dataStart, dataSize);
  if (!header)
    return header.takeError();
  const json::Object *entries = header->getAsObject();
  if (!entries)
    return errorIn(path, "bad safetensors header: not a JSON object");
  // Sort by name so that the index (and every message) is deterministic.
  std::vector<StringRef> names;
  for (const auto &kv : *entries)
    if (kv.first != "__metadata__")
      names.push_back(kv.first);
  llvm::sort(names);
  for (StringRef name : names) {
    auto info = readEntry(path, name, *entries->get(name), dataStart, dataSize);
    if (!info)
      return info.takeError();
    if (Error err = index.add(std::move(*info)))
      return err;
  }
  return Error::success();
}

/// Shards named by a `model.safetensors.index.json`, checked against it.
Error readShardedFolder(StringRef folder, StringRef indexPath,
                        TensorIndex &index) {
  auto text = MemoryBuffer::getFile(indexPath);
  if (!text)
    return errorIn(indexPath, "cannot read: " + text.getError().message());
  auto parsed = json::parse((*text)->getBuffer());
  if (!parsed)
    return errorIn(indexPath, "bad JSON: " + toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  const json::Object *weightMap =
      root ? root->getObject("weight_map") : nullptr;
  if (!weightMap)
    return errorIn(indexPath, "missing required key 'weight_map'");
  StringSet<> shards;
  std::vector<std::string> shardOrder;
  for (const auto &kv : *weightMap) {
    std::optional<StringRef> shard = kv.second.getAsString();
    if (!shard)
      return errorIn(indexPath, "weight_map entry '" + kv.first.str() +
                                    "' does not name a file");
    if (shards.insert(*shard).second)
      shardOrder.push_back(shard->str());
  }
  llvm::sort(shardOrder);
  for (const std::string &shard : shardOrder) {
    SmallString<256> path(folder);
    sys::path::append(path, shard);
    if (Error err = readFileInto(path, index))
      return err;
  }
  for (const auto &kv : *weightMap) {
    const TensorInfo *info = index.find(kv.first);
    StringRef shard = *kv.second.getAsString();
    if (!info || sys::path::filename(info->file) != shard)
      return errorIn(indexPath, "weight_map puts '" + kv.first.str() + "' in " +
                                    shard +
                                    ", which does not "
                                    "hold it");
  }
  return Error::success();
}
} // namespace

Expected<TensorIndex> readSafetensorsFile(StringRef path) {
  TensorIndex index;
  index.setSource(path.str());
  if (Error err = readFileInto(path, index))
    return std::move(err);
  return index;
}

Expected<TensorIndex> readSafetensors(StringRef path) {
  if (!sys::fs::is_directory(path)) {
    if (!sys::fs::exists(path))
      return errorIn(path, "no such file or folder");
    return readSafetensorsFile(path);
  }
  SmallString<256> indexPath(path), single(path);
  sys::path::append(indexPath, "model.safetensors.index.json");
  sys::path::append(single, "model.safetensors");
  if (sys::fs::exists(indexPath)) {
    TensorIndex index;
    index.setSource(path.str());
    if (Error err = readShardedFolder(path, indexPath, index))
      return std::move(err);
    return index;
  }
  if (sys::fs::exists(single))
    return readSafetensorsFile(single);
  return errorIn(path, "the folder has neither model.safetensors nor "
                       "model.safetensors.index.json");
}

} // namespace frontend
} // namespace braid
