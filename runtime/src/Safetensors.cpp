//===- Safetensors.cpp - read and write safetensors files -----------------===//

#include "runtime/src/Safetensors.h"

#include "runtime/src/Error.h"
#include "runtime/src/MappedFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

using json = nlohmann::json;

namespace braid::rt {
namespace {

struct DTypeInfo {
  StDType dtype;
  const char *name;
  size_t width;
};

constexpr DTypeInfo kDTypes[] = {
    {StDType::BOOL, "BOOL", 1},       {StDType::U8, "U8", 1},
    {StDType::I8, "I8", 1},           {StDType::I16, "I16", 2},
    {StDType::U16, "U16", 2},         {StDType::F16, "F16", 2},
    {StDType::BF16, "BF16", 2},       {StDType::I32, "I32", 4},
    {StDType::U32, "U32", 4},         {StDType::F32, "F32", 4},
    {StDType::F64, "F64", 8},         {StDType::I64, "I64", 8},
    {StDType::U64, "U64", 8},         {StDType::F8_E4M3, "F8_E4M3", 1},
    {StDType::F8_E5M2, "F8_E5M2", 1},
};

[[noreturn]] void bad(const std::string &file, const std::string &msg) {
  fail(ErrorCode::Weights, file + ": " + msg);
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

} // namespace

const char *toString(StDType dtype) {
  for (const DTypeInfo &d : kDTypes)
    if (d.dtype == dtype)
      return d.name;
  return "?";
}

std::optional<StDType> parseStDType(std::string_view name) {
  for (const DTypeInfo &d : kDTypes)
    if (name == d.name)
      return d.dtype;
  return std::nullopt;
}

size_t byteWidth(StDType dtype) {
  for (const DTypeInfo &d : kDTypes)
    if (d.dtype == dtype)
      return d.width;
  return 0;
}

bool isFloat16Or32(StDType dtype) {
  return dtype == StDType::F32 || dtype == StDType::F16 ||
         dtype == StDType::BF16;
}

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

std::shared_ptr<const SafetensorsFile>
SafetensorsFile::open(const std::string &path) {
  std::shared_ptr<const MappedFile> file = MappedFile::open(path);
  return parse(file->data(), file->size(), path, file);
}

std::shared_ptr<const SafetensorsFile>
SafetensorsFile::parse(const uint8_t *data, size_t size,
                       const std::string &name,
                       std::shared_ptr<const void> owner) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->fileName = name;
  f->owner = std::move(owner);
  if (size < 8)
    bad(name, "not a safetensors file: " + std::to_string(size) +
                  " bytes, fewer than the 8-byte header length");
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = headerLen << 8 | data[i];
  if (headerLen > size - 8)
    bad(name, "not a safetensors file (or truncated): header length " +
                  std::to_string(headerLen) + " exceeds the " +
                  std::to_string(size - 8) + " bytes after it");
  const char *text = reinterpret_cast<const char *>(data + 8);
  json header;
  try {
    header = json::parse(text, text + headerLen);
  } catch (const json::parse_error &e) {
    std::string what = e.what();
    size_t pos = what.find("] ");
    bad(name, "invalid safetensors header JSON: " +
                  (pos == std::string::npos ? what : what.substr(pos + 2)));
  }
  if (!header.is_object())
    bad(name, "invalid safetensors header: expected a JSON object");
  const uint8_t *buffer = data + 8 + headerLen;
  uint64_t bufferSize = size - 8 - headerLen;

  struct Extent {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Extent> extents;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string &key = it.key();
    const json &v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object())
        bad(name, "__metadata__ is not a JSON object");
      for (auto m = v.begin(); m != v.end(); ++m)
        f->meta[m.key()] = m.value().is_string() ? m.value().get<std::string>()
                                                 : m.value().dump();
      continue;
    }
    std::string label = "tensor '" + key + "'";
    if (!v.is_object())
      bad(name, label + ": expected a JSON object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || sh == v.end() || off == v.end())
      bad(name, label + ": missing '" +
                    std::string(dt == v.end()   ? "dtype"
                                : sh == v.end() ? "shape"
                                                : "data_offsets") +
                    "'");
    if (!dt->is_string())
      bad(name, label + ": dtype is not a string");
    std::optional<StDType> dtype = parseStDType(dt->get<std::string>());
    if (!dtype)
      bad(name, label + ": unknown dtype '" + dt->get<std::string>() + "'");
    StTensor t;
    t.name = key;
    t.dtype = *dtype;
    if (!sh->is_array())
      bad(name, label + ": shape is not an array");
    for (const json &d : *sh) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d >= 0))
        bad(name, label + ": shape " + sh->dump() +
                      " has an entry that is not a non-negative integer");
      t.shape.push_back(d.get<int64_t>());
    }
    if (!off->is_array() || off->size() != 2 ||
        !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
      bad(name, label + ": data_offsets " + off->dump() +
                    " is not a pair of non-negative integers");
    uint64_t begin = (*off)[0].get<uint64_t>();
    uint64_t end = (*off)[1].get<uint64_t>();
    if (begin > end || end > bufferSize)
      bad(name, label + ": data_offsets [" + std::to_string(begin) + ", " +
                    std::to_string(end) + "] are outside the data buffer (" +
                    std::to_string(bufferSize) + " bytes)");
    // Overflow-safe byte count of the shape.
    long double want = static_cast<long double>(byteWidth(t.dtype));
    for (int64_t d : t.shape)
      want *= static_cast<long double>(d);
    if (want != static_cast<long double>(end - begin))
      bad(name, label + ": data_offsets cover " + std::to_string(end - begin) +
                    " bytes but shape " + shapeText(t.shape) + " " +
                    toString(t.dtype) + " needs " +
                    std::to_string(static_cast<uint64_t>(want)));
    t.data = buffer + begin;
    t.bytes = end - begin;
    t.file = &f->fileName;
    extents.push_back({begin, end, f->list.size()});
    f->list.push_back(std::move(t));
  }
  std::sort(extents.begin(), extents.end(),
            [](const Extent &a, const Extent &b) { return a.begin < b.begin; });
  for (size_t i = 1; i < extents.size(); ++i)
    if (extents[i].begin < extents[i - 1].end)
      bad(name, "tensors '" + f->list[extents[i - 1].tensor].name + "' and '" +
                    f->list[extents[i].tensor].name +
                    "' overlap in the data buffer");
  for (size_t i = 0; i < f->list.size(); ++i)
    f->index[f->list[i].name] = i;
  return f;
}

const StTensor *SafetensorsFile::find(std::string_view n) const {
  auto it = index.find(n);
  return it == index.end() ? nullptr : &list[it->second];
}

TensorStore TensorStore::open(const std::string &path) {
  namespace fs = std::filesystem;
  TensorStore store;
  store.where = path;
  if (!isDirectory(path)) {
    store.add(SafetensorsFile::open(path));
    return store;
  }
  fs::path dir(path);
  std::vector<std::string> files;
  fs::path indexFile = dir / "model.safetensors.index.json";
  std::error_code ec;
  if (fs::exists(indexFile, ec)) {
    std::ifstream in(indexFile);
    json idx;
    try {
      idx = json::parse(in);
    } catch (const json::exception &e) {
      bad(indexFile.string(), std::string("invalid JSON: ") + e.what());
    }
    auto map = idx.find("weight_map");
    if (map == idx.end() || !map->is_object())
      bad(indexFile.string(), "no 'weight_map' object");
    std::set<std::string> unique;
    for (auto it = map->begin(); it != map->end(); ++it)
      if (it.value().is_string())
        unique.insert(it.value().get<std::string>());
    for (const std::string &f : unique)
      files.push_back((dir / f).string());
  } else if (fs::exists(dir / "model.safetensors", ec)) {
    files.push_back((dir / "model.safetensors").string());
  } else {
    for (const fs::directory_entry &e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".safetensors")
        files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
  }
  if (files.empty())
    fail(ErrorCode::Weights, path + ": the folder holds no .safetensors file");
  for (const std::string &f : files)
    store.add(SafetensorsFile::open(f));
  return store;
}

void TensorStore::add(std::shared_ptr<const SafetensorsFile> file) {
  if (where.empty())
    where = file->name();
  for (const StTensor &t : file->tensors()) {
    auto [it, inserted] = index.emplace(t.name, &t);
    if (!inserted)
      fail(ErrorCode::Weights, "tensor '" + t.name + "' is in both " +
                                   *it->second->file + " and " + file->name());
  }
  files.push_back(std::move(file));
}

const StTensor *TensorStore::find(std::string_view name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

float bf16ToF32(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float f16ToF32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t u;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exactly representable in f32.
    float f = std::ldexp(static_cast<float>(mant), -24);
    std::memcpy(&u, &f, 4);
    u |= sign;
  } else if (exp == 31) {
    u = sign | 0x7F800000u | (mant << 13); // inf or NaN
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32ToBf16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<uint16_t>((u >> 16) | 0x40u); // quiet NaN
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

uint16_t f32ToF16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, 4);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t absu = u & 0x7FFFFFFFu;
  if (absu > 0x7F800000u)
    return sign | 0x7E00u; // NaN
  if (absu >= 0x477FF000u) // rounds to 65520 or more: infinity
    return sign | 0x7C00u;
  if (absu < 0x38800000u) { // below the smallest normal f16 (2^-14)
    // Subnormal: value / 2^-24, rounded to nearest even.
    float a;
    std::memcpy(&a, &absu, 4);
    float scaled = std::nearbyint(std::ldexp(a, 24));
    return sign | static_cast<uint16_t>(scaled);
  }
  uint32_t exp = ((absu >> 23) - 127 + 15);
  uint32_t mant = absu & 0x7FFFFFu;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
    ++h; // may carry into the exponent, which is still correct
  return sign | static_cast<uint16_t>(h);
}

void convertToF32(const StTensor &t, float *out) {
  size_t n = static_cast<size_t>(t.numel());
  switch (t.dtype) {
  case StDType::F32:
    std::memcpy(out, t.data, n * 4);
    return;
  case StDType::F16:
  case StDType::BF16: {
    bool bf = t.dtype == StDType::BF16;
    for (size_t i = 0; i < n; ++i) {
      uint16_t bits = uint16_t(t.data[2 * i]) | uint16_t(t.data[2 * i + 1])
                                                    << 8;
      out[i] = bf ? bf16ToF32(bits) : f16ToF32(bits);
    }
    return;
  }
  default:
    fail(ErrorCode::Weights, *t.file + ": tensor '" + t.name +
                                 "': expected dtype F32, F16 or BF16, found " +
                                 toString(t.dtype));
  }
}

std::vector<float> readF32(const StTensor &t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  convertToF32(t, out.data());
  return out;
}

std::vector<int64_t> readI64(const StTensor &t) {
  size_t n = static_cast<size_t>(t.numel());
  std::vector<int64_t> out(n);
  if (t.dtype == StDType::I64) {
    std::memcpy(out.data(), t.data, n * 8);
  } else if (t.dtype == StDType::I32) {
    for (size_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, t.data + 4 * i, 4);
      out[i] = v;
    }
  } else {
    fail(ErrorCode::Weights, *t.file + ": tensor '" + t.name +
                                 "': expected dtype I64 or I32, found " +
                                 toString(t.dtype));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

std::string
serializeSafetensors(const std::vector<StOutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata) {
  json header = json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const StOutTensor &t : tensors) {
    uint64_t n = byteWidth(t.dtype);
    for (int64_t d : t.shape)
      n *= static_cast<uint64_t>(d);
    header[t.name] = {{"dtype", toString(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + n}}};
    sizes.push_back(n);
    offset += n;
  }
  std::string text = header.dump();
  while (text.size() % 8)
    text += ' ';
  std::string out(8, '\0');
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((len >> (8 * i)) & 0xFF);
  out += text;
  out.reserve(out.size() + offset);
  for (size_t i = 0; i < tensors.size(); ++i)
    out.append(static_cast<const char *>(tensors[i].data), sizes[i]);
  return out;
}

void writeSafetensors(const std::string &path,
                      const std::vector<StOutTensor> &tensors,
                      const std::map<std::string, std::string> &metadata) {
  std::string bytes = serializeSafetensors(tensors, metadata);
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    fail(ErrorCode::IO, "cannot write '" + path + "': " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok)
    fail(ErrorCode::IO, "cannot write '" + path + "': " + std::strerror(errno));
}

} // namespace braid::rt
