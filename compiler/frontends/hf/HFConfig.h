//===- HFConfig.h - typed, located access to a Hugging Face config.json ---===//
//
// Wraps the parsed config with the positions of its keys, so that every
// error points at the offending value: `config.json:7:20: error: ...`.
// Keys are addressed by dotted paths ("rope_parameters.rope_theta"); a key
// holding JSON null counts as absent, as transformers treats it.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_HF_HFCONFIG_H
#define BRAID_FRONTENDS_HF_HFCONFIG_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>
#include <string>
#include <vector>

namespace braid {
namespace frontend {

class HFConfig {
public:
  /// Reads `path`, a config.json or a folder holding one.
  static llvm::Expected<std::unique_ptr<HFConfig>> load(llvm::StringRef path);
  /// Parses a config held in memory; the buffer's identifier names it in
  /// messages.
  static llvm::Expected<std::unique_ptr<HFConfig>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer);

  /// The file name used in messages, and the folder holding it ("" if none).
  llvm::StringRef fileName() const { return name; }

  /// True when the key is present and not null.
  bool has(llvm::StringRef path) const;
  const llvm::json::Value *get(llvm::StringRef path) const;

  llvm::Expected<int64_t> requireInt(llvm::StringRef path) const;
  llvm::Expected<int64_t> getInt(llvm::StringRef path, int64_t fallback) const;
  /// Accepts numbers and transformers' {"__float__": "Infinity"} encoding.
  llvm::Expected<double> getDouble(llvm::StringRef path, double fallback) const;
  llvm::Expected<bool> getBool(llvm::StringRef path, bool fallback) const;
  llvm::Expected<std::string> requireString(llvm::StringRef path) const;
  llvm::Expected<std::string> getString(llvm::StringRef path,
                                        llvm::StringRef fallback) const;
  /// Empty when absent.
  llvm::Expected<std::vector<int64_t>> getIntList(llvm::StringRef path) const;
  llvm::Expected<std::vector<double>> getDoubleList(llvm::StringRef path) const;
  llvm::Expected<std::vector<std::string>>
  getStringList(llvm::StringRef path) const;

  /// "file:line:col: error: msg" at the value of `path` (at the enclosing
  /// object when the key is absent).
  llvm::Error error(llvm::StringRef path, const llvm::Twine &message) const;
  /// As error(), pointing at character `index` of a string value (or at
  /// element `index` of a list value).
  llvm::Error errorAtElement(llvm::StringRef path, size_t index,
                             const llvm::Twine &message) const;
  /// The standard message for a key the importer cannot do without.
  llvm::Error missing(llvm::StringRef path) const;

private:
  HFConfig() = default;
  llvm::SMLoc locate(llvm::StringRef path) const;
  llvm::Error wrongType(llvm::StringRef path, llvm::StringRef expected) const;
  static llvm::Expected<double> asDouble(const llvm::json::Value &value);

  llvm::SourceMgr sourceMgr;
  std::string name;
  llvm::json::Value root = nullptr;
  /// Position of each value, by dotted path ("a.b", "list[2]").
  llvm::StringMap<const char *> positions;
};

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_HF_HFCONFIG_H
