//===- HFConfig.cpp - typed, located access to a Hugging Face config.json -===//

#include "compiler/frontends/hf/HFConfig.h"
#include "compiler/frontends/Diagnostics.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace llvm;

namespace braid {
namespace frontend {

namespace {
/// Records where each value of a (valid) JSON text starts. llvm::json keeps
/// no positions, so the text is walked once more with a minimal scanner.
class PositionScanner {
public:
  PositionScanner(StringRef text, StringMap<const char *> &out)
      : cur(text.begin()), end(text.end()), out(out) {}

  void run() {
    skipSpace();
    value("");
  }

private:
  void skipSpace() {
    while (cur < end && isspace(static_cast<unsigned char>(*cur)))
      ++cur;
  }

  std::string string() {
    std::string text;
    ++cur; // opening quote
    while (cur < end && *cur != '"') {
      if (*cur == '\\' && cur + 1 < end)
        ++cur; // keys with escapes are not looked up; keep the raw char
      text += *cur++;
    }
    ++cur; // closing quote
    return text;
  }

  void value(const std::string &path) {
    out[path] = cur;
    if (cur >= end)
      return;
    if (*cur == '{')
      return object(path);
    if (*cur == '[')
      return array(path);
    if (*cur == '"') {
      string();
      return;
    }
    while (cur < end && !strchr(",}] \t\r\n", *cur))
      ++cur;
  }

  void object(const std::string &path) {
    ++cur;
    skipSpace();
    while (cur < end && *cur != '}') {
      std::string key = string();
      skipSpace();
      ++cur; // ':'
      skipSpace();
      value(path.empty() ? key : path + "." + key);
      skipSpace();
      if (cur < end && *cur == ',')
        ++cur;
      skipSpace();
    }
    ++cur;
  }

  void array(const std::string &path) {
    ++cur;
    skipSpace();
    for (size_t index = 0; cur < end && *cur != ']'; ++index) {
      value(path + "[" + std::to_string(index) + "]");
      skipSpace();
      if (cur < end && *cur == ',')
        ++cur;
      skipSpace();
    }
    ++cur;
  }

  const char *cur, *end;
  StringMap<const char *> &out;
};

/// llvm::json reports "[line:col, byte=N]: message"; reuse its position.
Error jsonSyntaxError(StringRef file, const std::string &detail) {
  unsigned line = 0, col = 0;
  int consumed = 0;
  if (sscanf(detail.c_str(), "[%u:%u, byte=%*u]: %n", &line, &col, &consumed) >=
          2 &&
      consumed > 0)
    return createStringError(
        inconvertibleErrorCode(),
        file + ":" + Twine(line) + ":" + Twine(col) +
            ": error: invalid JSON: " + oneLine(detail.substr(consumed)));
  return errorIn(file, "invalid JSON: " + detail);
}

std::string describe(const json::Value &value) {
  std::string text;
  raw_string_ostream os(text);
  os << value;
  if (text.size() > 40)
    text = text.substr(0, 37) + "...";
  return text;
}
} // namespace

Expected<std::unique_ptr<HFConfig>> HFConfig::load(StringRef path) {
  SmallString<256> file(path);
  if (sys::fs::is_directory(path))
    sys::path::append(file, "config.json");
  auto buffer = MemoryBuffer::getFile(file, /*IsText=*/true);
  if (!buffer)
    return errorIn(file, "cannot read: " + buffer.getError().message());
  return parse(std::move(*buffer));
}

Expected<std::unique_ptr<HFConfig>>
HFConfig::parse(std::unique_ptr<MemoryBuffer> buffer) {
  std::unique_ptr<HFConfig> config(new HFConfig());
  config->name = buffer->getBufferIdentifier().str();
  StringRef text = buffer->getBuffer();
  auto parsed = json::parse(text);
  if (!parsed)
    return jsonSyntaxError(config->name, toString(parsed.takeError()));
  if (!parsed->getAsObject())
    return errorIn(config->name, "a config must be a JSON object, found " +
                                     describe(*parsed));
  config->root = std::move(*parsed);
  PositionScanner(text, config->positions).run();
  config->sourceMgr.AddNewSourceBuffer(std::move(buffer), SMLoc());
  return config;
}

const json::Value *HFConfig::get(StringRef path) const {
  const json::Value *value = &root;
  SmallVector<StringRef, 4> parts;
  path.split(parts, '.');
  for (StringRef part : parts) {
    const json::Object *object = value->getAsObject();
    value = object ? object->get(part) : nullptr;
    if (!value)
      return nullptr;
  }
  return value->kind() == json::Value::Null ? nullptr : value;
}

bool HFConfig::has(StringRef path) const { return get(path) != nullptr; }

SMLoc HFConfig::locate(StringRef path) const {
  // An absent key is reported at the closest enclosing value.
  while (true) {
    auto it = positions.find(path);
    if (it != positions.end())
      return SMLoc::getFromPointer(it->second);
    size_t cut = path.find_last_of(".[");
    path = cut == StringRef::npos ? StringRef("") : path.take_front(cut);
  }
}

Error HFConfig::error(StringRef path, const Twine &message) const {
  return errorAt(sourceMgr, locate(path), message);
}

Error HFConfig::errorAtElement(StringRef path, size_t index,
                               const Twine &message) const {
  const json::Value *value = get(path);
  if (value && value->getAsArray()) {
    std::string element = (path + "[" + Twine(index) + "]").str();
    return errorAt(sourceMgr, locate(element), message);
  }
  // A string: skip its opening quote (patterns have no escapes).
  SMLoc loc = locate(path);
  return errorAt(sourceMgr, SMLoc::getFromPointer(loc.getPointer() + 1 + index),
                 message);
}

Error HFConfig::missing(StringRef path) const {
  return error(path, "missing required key '" + path + "'");
}

Error HFConfig::wrongType(StringRef path, StringRef expected) const {
  return error(path, "'" + path + "' must be " + expected + ", found " +
                         describe(*get(path)));
}

Expected<int64_t> HFConfig::requireInt(StringRef path) const {
  if (!has(path))
    return missing(path);
  return getInt(path, 0);
}

Expected<int64_t> HFConfig::getInt(StringRef path, int64_t fallback) const {
  const json::Value *value = get(path);
  if (!value)
    return fallback;
  if (std::optional<int64_t> i = value->getAsInteger())
    return *i;
  return wrongType(path, "an integer");
}

Expected<double> HFConfig::asDouble(const json::Value &value) {
  if (std::optional<double> d = value.getAsNumber())
    return *d;
  // transformers writes non-finite floats as {"__float__": "Infinity"}.
  if (const json::Object *object = value.getAsObject())
    if (std::optional<StringRef> special = object->getString("__float__")) {
      if (*special == "Infinity")
        return std::numeric_limits<double>::infinity();
      if (*special == "-Infinity")
        return -std::numeric_limits<double>::infinity();
    }
  return createStringError(inconvertibleErrorCode(), "not a number");
}

Expected<double> HFConfig::getDouble(StringRef path, double fallback) const {
  const json::Value *value = get(path);
  if (!value)
    return fallback;
  auto d = asDouble(*value);
  if (!d) {
    consumeError(d.takeError());
    return wrongType(path, "a number");
  }
  return *d;
}

Expected<bool> HFConfig::getBool(StringRef path, bool fallback) const {
  const json::Value *value = get(path);
  if (!value)
    return fallback;
  if (std::optional<bool> b = value->getAsBoolean())
    return *b;
  return wrongType(path, "true or false");
}

Expected<std::string> HFConfig::requireString(StringRef path) const {
  if (!has(path))
    return missing(path);
  return getString(path, "");
}

Expected<std::string> HFConfig::getString(StringRef path,
                                          StringRef fallback) const {
  const json::Value *value = get(path);
  if (!value)
    return fallback.str();
  if (std::optional<StringRef> s = value->getAsString())
    return s->str();
  return wrongType(path, "a string");
}

Expected<std::vector<int64_t>> HFConfig::getIntList(StringRef path) const {
  std::vector<int64_t> out;
  const json::Value *value = get(path);
  if (!value)
    return out;
  const json::Array *array = value->getAsArray();
  if (!array)
    return wrongType(path, "a list of integers");
  for (auto [index, element] : enumerate(*array)) {
    std::optional<int64_t> i = element.getAsInteger();
    if (!i)
      return errorAtElement(path, index,
                            "'" + path + "' must hold integers, found " +
                                describe(element));
    out.push_back(*i);
  }
  return out;
}

Expected<std::vector<double>> HFConfig::getDoubleList(StringRef path) const {
  std::vector<double> out;
  const json::Value *value = get(path);
  if (!value)
    return out;
  const json::Array *array = value->getAsArray();
  if (!array)
    return wrongType(path, "a list of numbers");
  for (auto [index, element] : enumerate(*array)) {
    auto d = asDouble(element);
    if (!d) {
      consumeError(d.takeError());
      return errorAtElement(path, index,
                            "'" + path + "' must hold numbers, found " +
                                describe(element));
    }
    out.push_back(*d);
  }
  return out;
}

Expected<std::vector<std::string>>
HFConfig::getStringList(StringRef path) const {
  std::vector<std::string> out;
  const json::Value *value = get(path);
  if (!value)
    return out;
  const json::Array *array = value->getAsArray();
  if (!array)
    return wrongType(path, "a list of strings");
  for (auto [index, element] : enumerate(*array)) {
    std::optional<StringRef> s = element.getAsString();
    if (!s)
      return errorAtElement(path, index,
                            "'" + path + "' must hold strings, found " +
                                describe(element));
    out.push_back(s->str());
  }
  return out;
}

} // namespace frontend
} // namespace braid
