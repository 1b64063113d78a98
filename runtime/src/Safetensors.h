//===- Safetensors.h - read and write safetensors files ---------*- C++ -*-===//
//
// The safetensors format: an 8-byte little-endian header length N, N bytes of
// JSON ({"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
// "__metadata__": {..}}), then the data buffer the offsets index.
//
// Files are mapped, and every header is checked before any tensor is used:
// valid JSON, known dtype names, shapes of non-negative integers, offsets
// inside the buffer and matching the shape's byte size, no overlaps. Used for
// checkpoints (weights), golden files and saved logits. Failures throw
// Error(Weights) (Error(IO) when the file cannot be read) naming the file and
// the tensor.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_RUNTIME_SRC_SAFETENSORS_H
#define BRAID_RUNTIME_SRC_SAFETENSORS_H

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace braid::rt {

/// The dtype names of the safetensors format.
enum class StDType {
  BOOL,
  U8,
  I8,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  F64,
  I64,
  U64,
  F8_E4M3,
  F8_E5M2
};
const char *toString(StDType dtype);
std::optional<StDType> parseStDType(std::string_view name);
size_t byteWidth(StDType dtype);
bool isFloat16Or32(StDType dtype); ///< F32, F16 or BF16

struct StTensor {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr; ///< not necessarily aligned
  size_t bytes = 0;
  const std::string *file = nullptr; ///< the file it came from

  int64_t numel() const;
};

class SafetensorsFile {
public:
  /// Maps and checks a file.
  static std::shared_ptr<const SafetensorsFile> open(const std::string &path);
  /// Checks an image in memory that `owner` keeps alive (e.g. the "weights"
  /// section of a bundle); `name` is used in messages.
  static std::shared_ptr<const SafetensorsFile>
  parse(const uint8_t *data, size_t size, const std::string &name,
        std::shared_ptr<const void> owner);

  const std::string &name() const { return fileName; }
  const std::vector<StTensor> &tensors() const { return list; }
  const StTensor *find(std::string_view name) const;
  const std::map<std::string, std::string> &metadata() const { return meta; }

private:
  std::string fileName;
  std::shared_ptr<const void> owner;
  std::vector<StTensor> list;
  std::map<std::string, size_t, std::less<>> index;
  std::map<std::string, std::string> meta;
};

/// Checkpoint tensors from one file, from a folder, or from several files.
class TensorStore {
public:
  /// A safetensors file, or a folder: the files its
  /// model.safetensors.index.json lists, else model.safetensors, else every
  /// *.safetensors file in it.
  static TensorStore open(const std::string &path);
  void add(std::shared_ptr<const SafetensorsFile> file);

  const StTensor *find(std::string_view name) const;
  /// The path given to open (for messages).
  const std::string &source() const { return where; }
  void setSource(std::string s) { where = std::move(s); }
  size_t size() const { return index.size(); }

private:
  std::string where;
  std::vector<std::shared_ptr<const SafetensorsFile>> files;
  std::map<std::string, const StTensor *, std::less<>> index;
};

/// Scalar conversions (round to nearest even when narrowing).
float bf16ToF32(uint16_t bits);
float f16ToF32(uint16_t bits);
uint16_t f32ToBf16(float value);
uint16_t f32ToF16(float value);

/// Converts an F32, F16 or BF16 tensor into `out` (numel floats). Throws
/// Error(Weights) for another dtype.
void convertToF32(const StTensor &tensor, float *out);
std::vector<float> readF32(const StTensor &tensor);
/// Reads an I64 (or I32) tensor. Throws Error(Weights) for another dtype.
std::vector<int64_t> readI64(const StTensor &tensor);

/// A tensor to write; `data` holds numel * byteWidth(dtype) bytes.
struct StOutTensor {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
};

/// The file's bytes: header padded with spaces to a multiple of 8, tensors
/// in the order given.
std::string
serializeSafetensors(const std::vector<StOutTensor> &tensors,
                     const std::map<std::string, std::string> &metadata = {});
/// Writes a file; throws Error(IO) when it cannot.
void writeSafetensors(const std::string &path,
                      const std::vector<StOutTensor> &tensors,
                      const std::map<std::string, std::string> &metadata = {});

} // namespace braid::rt

#endif // BRAID_RUNTIME_SRC_SAFETENSORS_H
