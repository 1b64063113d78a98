//===- Safetensors.h - read safetensors headers (names, dtypes, shapes) ---===//
//
// Only the JSON header of each file is read: tensor names, dtypes, shapes and
// data offsets, enough to check a weight binding table without loading any
// data. A folder is read through `model.safetensors.index.json` when it has
// one (sharded checkpoints), else through its `model.safetensors`.
//
//===----------------------------------------------------------------------===//

#ifndef BRAID_FRONTENDS_HF_SAFETENSORS_H
#define BRAID_FRONTENDS_HF_SAFETENSORS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace braid {
namespace frontend {

struct TensorInfo {
  std::string name;
  std::string dtype; // as the file spells it: "F32", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t dataBegin = 0; // absolute byte offsets in `file`
  uint64_t dataEnd = 0;
  std::string file;
};

/// The tensors of one checkpoint (one file or all shards of a folder).
class TensorIndex {
public:
  const TensorInfo *find(llvm::StringRef name) const;
  const std::vector<TensorInfo> &tensors() const { return list; }
  /// The file, or the folder, the index was read from.
  const std::string &source() const { return sourcePath; }

  /// Adds a tensor; fails when the name is already present.
  llvm::Error add(TensorInfo info);
  void setSource(std::string path) { sourcePath = std::move(path); }

private:
  std::vector<TensorInfo> list;
  llvm::StringMap<size_t> byName;
  std::string sourcePath;
};

/// Bytes per element of a safetensors dtype; 0 when unknown.
unsigned safetensorsDTypeWidth(llvm::StringRef dtype);

/// Reads the header of one .safetensors file.
llvm::Expected<TensorIndex> readSafetensorsFile(llvm::StringRef path);

/// Reads a .safetensors file, or a folder holding a checkpoint.
llvm::Expected<TensorIndex> readSafetensors(llvm::StringRef path);

/// "[64, 128]".
std::string formatShape(llvm::ArrayRef<int64_t> shape);

} // namespace frontend
} // namespace braid

#endif // BRAID_FRONTENDS_HF_SAFETENSORS_H
