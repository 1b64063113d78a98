//===- GpuPlan.cpp - what a GPU bundle says about its launches ------------===//

#include "runtime/src/GpuPlan.h"

#include "runtime/src/Error.h"
#include "runtime/src/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <set>

namespace braid::rt::gpu {

using json = nlohmann::json;

//===----------------------------------------------------------------------===//
// Code archives
//===----------------------------------------------------------------------===//

namespace {

/// Little-endian reads with bounds checks that name the byte.
class Reader {
public:
  Reader(std::string_view bytes, const std::string &what)
      : bytes(bytes), what(what) {}

  uint64_t read(size_t width, const std::string &field) {
    need(width, field);
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i)
      v |= uint64_t(uint8_t(bytes[pos + i])) << (8 * i);
    pos += width;
    return v;
  }
  std::string_view take(uint64_t n, const std::string &field) {
    need(n, field);
    std::string_view out = bytes.substr(pos, size_t(n));
    pos += size_t(n);
    return out;
  }
  size_t offset() const { return pos; }
  size_t left() const { return bytes.size() - pos; }
  [[noreturn]] void bad(const std::string &message) const {
    fail(ErrorCode::Bundle, what + ": " + message);
  }

private:
  void need(uint64_t n, const std::string &field) const {
    if (n > left())
      bad("truncated code archive: " + field + " at byte " +
          std::to_string(pos) + " needs " + std::to_string(n) +
          " bytes, only " + std::to_string(left()) + " left");
  }
  std::string_view bytes;
  const std::string &what;
  size_t pos = 0;
};

} // namespace

std::vector<CodeModule> parseCodeArchive(std::string_view bytes,
                                         const std::string &what) {
  Reader r(bytes, what);
  uint32_t magic = uint32_t(r.read(4, "the magic"));
  if (magic != kCodeArchiveMagic)
    r.bad("not a code archive (the magic is not \"BKAR\")");
  uint32_t version = uint32_t(r.read(4, "the version"));
  if (version != kCodeArchiveVersion)
    r.bad("code archive version " + std::to_string(version) +
          " is not one this runtime reads (" +
          std::to_string(kCodeArchiveVersion) + ")");
  uint32_t count = uint32_t(r.read(4, "the module count"));
  std::vector<CodeModule> modules;
  std::set<std::string, std::less<>> names;
  for (uint32_t i = 0; i < count; ++i) {
    std::string m = "module " + std::to_string(i);
    size_t at = r.offset();
    uint64_t nameLength = r.read(4, m + "'s name length");
    std::string name(r.take(nameLength, m + "'s name"));
    if (name.empty())
      r.bad(m + " at byte " + std::to_string(at) + " has an empty name");
    if (!names.insert(name).second)
      r.bad(m + " at byte " + std::to_string(at) + ": duplicate module '" +
            name + "'");
    uint64_t size = r.read(8, "the size of module '" + name + "'");
    std::string_view payload = r.take(size, "module '" + name + "'");
    if (payload.empty())
      r.bad("module '" + name + "' is empty");
    modules.push_back({std::move(name), payload});
  }
  if (r.left())
    r.bad(std::to_string(r.left()) + " unexpected bytes after the " +
          std::to_string(count) + " modules, at byte " +
          std::to_string(r.offset()));
  return modules;
}

std::string listCodeSections(const std::vector<std::string> &sections) {
  std::string list;
  for (const std::string &s : sections)
    if (s.rfind("code.", 0) == 0)
      list += (list.empty() ? "" : ", ") + s;
  return list;
}

//===----------------------------------------------------------------------===//
// Launch plans
//===----------------------------------------------------------------------===//

std::optional<int64_t> DimExpr::evaluate(int64_t batch, int64_t tokens,
                                         int64_t multiprocessors) const {
  int64_t a, b, c, n, cap;
  if (__builtin_mul_overflow(perBatch, batch, &a) ||
      __builtin_mul_overflow(perToken, tokens, &b) ||
      __builtin_mul_overflow(perBatchToken, batch, &c) ||
      __builtin_mul_overflow(c, tokens, &c) ||
      __builtin_add_overflow(constant, a, &n) ||
      __builtin_add_overflow(n, b, &n) || __builtin_add_overflow(n, c, &n) ||
      divisor < 1 || n < 0 || perSm < 0)
    return std::nullopt;
  const int64_t value = n / divisor + (n % divisor != 0);
  if (!perSm)
    return value;
  if (multiprocessors < 1 ||
      __builtin_mul_overflow(perSm, multiprocessors, &cap))
    return std::nullopt;
  return std::min(value, cap);
}

std::string DimExpr::str() const {
  std::string s;
  auto term = [&](int64_t k, const char *sym) {
    if (!k)
      return;
    if (!s.empty())
      s += " + ";
    s += std::to_string(k);
    if (*sym)
      s += std::string("*") + sym;
  };
  term(constant, "");
  term(perBatch, "B");
  term(perToken, "T");
  term(perBatchToken, "B*T");
  if (s.empty())
    s = "0";
  if (divisor != 1)
    s = "ceil((" + s + ") / " + std::to_string(divisor) + ")";
  if (perSm)
    s = "min(" + s + ", " + std::to_string(perSm) + "*SMs)";
  return s;
}

namespace {

class PlanParser {
public:
  [[noreturn]] void bad(const std::string &at, const std::string &message) {
    fail(ErrorCode::Bundle, "manifest: " + at + ": " + message);
  }
  const json &need(const json &o, const std::string &at, const char *key) {
    if (!o.is_object())
      bad(at, "expected an object");
    auto it = o.find(key);
    if (it == o.end())
      bad(at, std::string("missing field '") + key + "'");
    return *it;
  }
  int64_t integer(const json &v, const std::string &at, int64_t min,
                  int64_t max = INT64_MAX) {
    if (!v.is_number_integer())
      bad(at, "expected an integer");
    int64_t x =
        v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)
            ? INT64_MAX
            : v.get<int64_t>();
    if (x < min || x > max)
      bad(at, std::to_string(x) + " is outside [" + std::to_string(min) + ", " +
                  std::to_string(max) + "]");
    return x;
  }
  /// `grid`: a grid dimension, which may carry "per_sm" (no other
  /// expression may).
  DimExpr dimExpr(const json &v, const std::string &at, bool grid = false) {
    DimExpr e;
    // Terms may be negative (a size minus a constant) as long as the value
    // is not; evaluate() checks that for the actual B and T.
    e.constant = integer(need(v, at, "constant"), at + ".constant", INT64_MIN);
    e.perBatch =
        integer(need(v, at, "per_batch"), at + ".per_batch", INT64_MIN);
    e.perToken =
        integer(need(v, at, "per_token"), at + ".per_token", INT64_MIN);
    e.perBatchToken = integer(need(v, at, "per_batch_token"),
                              at + ".per_batch_token", INT64_MIN);
    e.divisor = integer(need(v, at, "divisor"), at + ".divisor", 1);
    if (auto it = v.find("per_sm"); it != v.end()) {
      if (!grid)
        bad(at + ".per_sm", "only a grid dimension may be capped per "
                            "multiprocessor");
      e.perSm = integer(*it, at + ".per_sm", 0, 1024);
    }
    return e;
  }
  TensorMapSpec tensorMap(const json &v, const std::string &at) {
    TensorMapSpec m;
    m.buffer = int(integer(need(v, at, "buffer"), at + ".buffer", -1,
                           BRAID_MAX_KERNEL_BUFFERS - 1));
    m.rows = dimExpr(need(v, at, "rows"), at + ".rows");
    m.cols = integer(need(v, at, "cols"), at + ".cols", 1, INT32_MAX);
    m.elementBytes =
        integer(need(v, at, "element_bytes"), at + ".element_bytes", 1, 8);
    if (m.elementBytes != 1 && m.elementBytes != 2 && m.elementBytes != 4 &&
        m.elementBytes != 8)
      bad(at + ".element_bytes",
          std::to_string(m.elementBytes) + " is not 1, 2, 4 or 8");
    const json &box = need(v, at, "box");
    if (!box.is_array() || box.size() != 2)
      bad(at + ".box", "expected 2 integers (columns, rows)");
    for (int d = 0; d < 2; ++d) // the TMA unit's limit per box dimension
      m.box[d] =
          integer(box[d], at + ".box[" + std::to_string(d) + "]", 1, 256);
    m.swizzle = integer(need(v, at, "swizzle"), at + ".swizzle", 0, 128);
    if (m.swizzle != 0 && m.swizzle != 32 && m.swizzle != 64 &&
        m.swizzle != 128)
      bad(at + ".swizzle",
          std::to_string(m.swizzle) + " is not 0, 32, 64 or 128 (bytes)");
    if (m.swizzle && m.box[0] * m.elementBytes > m.swizzle)
      bad(at + ".box[0]", "a row of the box is " +
                              std::to_string(m.box[0] * m.elementBytes) +
                              " bytes, more than the " +
                              std::to_string(m.swizzle) + "-byte swizzle");
    return m;
  }
  LaunchCode launchCode(const json &v, const std::string &at) {
    LaunchCode code;
    const json &module = need(v, at, "module");
    if (!module.is_string() || module.get<std::string>().empty())
      bad(at + ".module", "expected a module name");
    code.module = module.get<std::string>();
    code.workspace = dimExpr(need(v, at, "workspace"), at + ".workspace");
    const json &kernels = need(v, at, "kernels");
    if (!kernels.is_array() || kernels.empty())
      bad(at + ".kernels", "expected a non-empty array of kernels");
    for (size_t k = 0; k < kernels.size(); ++k) {
      std::string kat = at + ".kernels[" + std::to_string(k) + "]";
      KernelSpec spec;
      const json &function = need(kernels[k], kat, "function");
      if (!function.is_string() || function.get<std::string>().empty())
        bad(kat + ".function", "expected a function name");
      spec.function = function.get<std::string>();
      kat += " ('" + spec.function + "')";
      const json &grid = need(kernels[k], kat, "grid");
      if (!grid.is_array() || grid.size() != 3)
        bad(kat + ".grid", "expected 3 dimension expressions (x, y, z)");
      for (int d = 0; d < 3; ++d)
        spec.grid[d] =
            dimExpr(grid[d], kat + ".grid[" + std::to_string(d) + "]", true);
      const json &block = need(kernels[k], kat, "block");
      if (!block.is_array() || block.size() != 3)
        bad(kat + ".block", "expected 3 integers (x, y, z)");
      int64_t threads = 1;
      for (int d = 0; d < 3; ++d) {
        spec.block[d] = integer(
            block[d], kat + ".block[" + std::to_string(d) + "]", 1, 1024);
        threads *= spec.block[d];
      }
      if (threads > 1024)
        bad(kat + ".block",
            std::to_string(threads) + " threads per block (at most 1024)");
      spec.sharedBytes = integer(need(kernels[k], kat, "shared_bytes"),
                                 kat + ".shared_bytes", 0, INT32_MAX);
      if (auto rows = kernels[k].find("rows"); rows != kernels[k].end()) {
        if (!rows->is_array() || rows->size() != 2)
          bad(kat + ".rows", "expected 2 integers (min, max rows)");
        spec.minRows = integer((*rows)[0], kat + ".rows[0]", 0);
        spec.maxRows = integer((*rows)[1], kat + ".rows[1]", 0);
        if (spec.minRows > spec.maxRows)
          bad(kat + ".rows", "the range [" + std::to_string(spec.minRows) +
                                 ", " + std::to_string(spec.maxRows) +
                                 "] is empty");
      }
      if (auto maps = kernels[k].find("tensor_maps");
          maps != kernels[k].end()) {
        if (!maps->is_array() || maps->empty() ||
            maps->size() > BRAID_MAX_TENSOR_MAPS)
          bad(kat + ".tensor_maps", "expected 1 to " +
                                        std::to_string(BRAID_MAX_TENSOR_MAPS) +
                                        " tensor maps");
        for (size_t i = 0; i < maps->size(); ++i)
          spec.tensorMaps.push_back(tensorMap(
              (*maps)[i], kat + ".tensor_maps[" + std::to_string(i) + "]"));
      }
      code.kernels.push_back(std::move(spec));
    }
    return code;
  }
};

} // namespace

std::vector<std::vector<LaunchCode>>
parseLaunchPlans(std::string_view manifestJson, const Manifest &manifest,
                 const std::string &vendor, const std::string &arch) {
  PlanParser p;
  json root = json::parse(manifestJson, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object())
    p.bad("(root)", "the manifest is not a JSON object");
  const json &entries = p.need(root, "(root)", "entries");
  if (!entries.is_array() || entries.size() != manifest.entries.size())
    p.bad("entries", "does not match the parsed manifest");
  std::vector<std::vector<LaunchCode>> plans(manifest.entries.size());
  for (size_t e = 0; e < manifest.entries.size(); ++e) {
    const Entry &entry = manifest.entries[e];
    std::string eat = "entries[" + std::to_string(e) + "] (" + entry.name + ")";
    const json &launches = p.need(entries[e], eat, "launches");
    if (!launches.is_array() || launches.size() != entry.launches.size())
      p.bad(eat + ".launches", "does not match the parsed manifest");
    for (size_t l = 0; l < entry.launches.size(); ++l) {
      const Launch &launch = entry.launches[l];
      std::string lat = eat + ".launches[" + std::to_string(l) + "] (" +
                        launch.describe() + ")";
      size_t buffers = launch.operands.size() + launch.results.size();
      if (buffers > BRAID_MAX_KERNEL_BUFFERS)
        p.bad(lat, std::to_string(buffers) +
                       " operands and results, more than a kernel takes (" +
                       std::to_string(BRAID_MAX_KERNEL_BUFFERS) + ")");
      const json &object = launches[l];
      // Entry outputs are f32 (docs/bundle.md), and braidc's kernels write
      // them so. Another type would be read as garbage.
      if (const auto results = object.find("results");
          results != object.end() && results->is_array())
        for (size_t r = 0; r < results->size(); ++r) {
          const json &res = (*results)[r];
          if (!res.is_object() || res.value("kind", "") != "output")
            continue;
          auto dtype = res.find("dtype");
          if (dtype == res.end() || !dtype->is_string() ||
              dtype->get<std::string>() == "f32")
            continue;
          p.bad(lat + ".results[" + std::to_string(r) + "]",
                "the kernel writes output '" + res.value("name", "") + "' as " +
                    dtype->get<std::string>() +
                    ", but entry outputs are f32 (docs/bundle.md)");
        }
      auto it = object.find(vendor);
      if (it == object.end())
        p.bad(lat, "no '" + vendor + "' object: the bundle has no " + vendor +
                       " code for this launch");
      const json *code = &*it;
      std::string cat = lat + "." + vendor;
      if (code->is_object()) {
        auto byArch = code->find("by_arch");
        if (byArch != code->end()) {
          if (!byArch->is_object())
            p.bad(cat + ".by_arch", "expected an object");
          auto over = byArch->find(arch);
          if (over != byArch->end()) {
            code = &*over;
            cat += ".by_arch." + arch;
          }
        }
      }
      plans[e].push_back(p.launchCode(*code, cat));
    }
  }
  return plans;
}

//===----------------------------------------------------------------------===//
// Kernel parameters
//===----------------------------------------------------------------------===//

LaunchSymbols findLaunchSymbols(const Launch &launch) {
  LaunchSymbols s;
  auto scan = [&](const std::vector<Arg> &args, bool result) {
    for (size_t a = 0; a < args.size(); ++a) {
      if (args[a].kind == ArgKind::Absent)
        continue;
      for (size_t d = 0; d < args[a].shape.size(); ++d) {
        int slot = args[a].shape[d].symbol == 'B'   ? 0
                   : args[a].shape[d].symbol == 'T' ? 1
                   : args[a].shape[d].symbol == 'S' ? 2
                                                    : -1;
        if (slot >= 0 && s.dims[slot].arg < 0)
          s.dims[slot] = {result, int(a), int(d)};
      }
      if (!result && args[a].kind == ArgKind::Input &&
          args[a].name == kCachePosition && s.cachePositionOperand < 0)
        s.cachePositionOperand = int(a);
    }
  };
  scan(launch.operands, false);
  scan(launch.results, true);
  return s;
}

void CallSymbols::noteLaunch(const LaunchSymbols &symbols,
                             const KernelCall &call) {
  for (int i = 0; i < 3; ++i) {
    const ArgPosition &p = symbols.dims[i];
    if (p.arg < 0 || dims[i] >= 0)
      continue;
    const std::vector<TensorView> &views =
        p.result ? call.results : call.operands;
    if (size_t(p.arg) < views.size() &&
        size_t(p.dim) < views[size_t(p.arg)].shape.size())
      dims[i] = views[size_t(p.arg)].shape[size_t(p.dim)];
  }
  if (!cachePosition && symbols.cachePositionOperand >= 0 &&
      size_t(symbols.cachePositionOperand) < call.operands.size())
    cachePosition = static_cast<const int64_t *>(
        call.operands[size_t(symbols.cachePositionOperand)].data);
}

void packBuffers(const KernelCall &call, BraidKernelParams &params) {
  std::memset(params.buffers, 0, sizeof params.buffers);
  size_t n = call.operands.size() + call.results.size();
  if (n > BRAID_MAX_KERNEL_BUFFERS)
    fail(ErrorCode::Internal,
         std::to_string(n) +
             " operands and results, more than a kernel takes (" +
             std::to_string(BRAID_MAX_KERNEL_BUFFERS) + ")");
  size_t i = 0;
  for (const TensorView &v : call.operands)
    params.buffers[i++] = v.data;
  for (const TensorView &v : call.results)
    params.buffers[i++] = v.data;
}

BraidKernelParams packParams(const KernelCall &call, const CallSymbols &symbols,
                             void *workspace) {
  BraidKernelParams p;
  std::memset(&p, 0, sizeof p);
  packBuffers(call, p);
  p.workspace = workspace;
  p.cache_position = symbols.cachePosition;
  p.batch = std::max<int64_t>(symbols.dims[0], 0);
  p.tokens = std::max<int64_t>(symbols.dims[1], 0);
  p.max_seq = std::max<int64_t>(symbols.dims[2], 0);
  return p;
}

//===----------------------------------------------------------------------===//
// One entry call
//===----------------------------------------------------------------------===//

namespace {

std::string triple(const unsigned v[3]) {
  return "[" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ", " +
         std::to_string(v[2]) + "]";
}

} // namespace

std::vector<std::vector<PreparedLaunch>>
prepareLaunches(const Manifest &manifest,
                std::vector<std::vector<LaunchCode>> plans,
                const FunctionResolver &resolve) {
  std::vector<std::vector<PreparedLaunch>> prepared;
  for (size_t e = 0; e < manifest.entries.size(); ++e) {
    const Entry &entry = manifest.entries[e];
    std::vector<PreparedLaunch> launches;
    for (size_t l = 0; l < entry.launches.size(); ++l) {
      PreparedLaunch p;
      p.launch = &entry.launches[l];
      p.label = "launch " + std::to_string(l) + " (" +
                entry.launches[l].describe() + ")";
      p.code = std::move(plans[e][l]);
      p.symbols = findLaunchSymbols(entry.launches[l]);
      std::string user = entry.name + ": " + p.label;
      for (const KernelSpec &k : p.code.kernels)
        p.functions.push_back(resolve(p.code.module, k, user));
      launches.push_back(std::move(p));
    }
    prepared.push_back(std::move(launches));
  }
  return prepared;
}

std::vector<char> deviceWeightBytes(const WeightDecl &w, const float *values,
                                    const char *backend) {
  size_t n = size_t(w.numel());
  std::vector<char> bytes;
  switch (w.dtype) {
  case ValueType::F32:
    bytes.resize(n * sizeof(float));
    std::memcpy(bytes.data(), values, bytes.size());
    return bytes;
  case ValueType::BF16:
  case ValueType::F16:
    bytes.resize(n * sizeof(uint16_t));
    for (size_t i = 0; i < n; ++i) {
      uint16_t h = w.dtype == ValueType::BF16 ? f32ToBf16(values[i])
                                              : f32ToF16(values[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
    return bytes;
  case ValueType::I64:
    break;
  }
  fail(ErrorCode::Unsupported, "weight '" + w.name + "' has dtype " +
                                   toString(w.dtype) + ", which the " +
                                   backend + " backend cannot store");
}

bool KernelOp::sameAs(const KernelOp &o) const {
  return function == o.function && std::equal(grid, grid + 3, o.grid) &&
         std::equal(block, block + 3, o.block) &&
         sharedBytes == o.sharedBytes && launch == o.launch &&
         kernel == o.kernel &&
         std::memcmp(&params, &o.params, sizeof params) == 0 &&
         tensorMaps == o.tensorMaps &&
         std::memcmp(&maps, &o.maps, tensorMaps * sizeof(BraidTensorMap)) == 0;
}

bool sameOps(const std::vector<KernelOp> &a, const std::vector<KernelOp> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!a[i].sameAs(b[i]))
      return false;
  return true;
}

std::string kernelLabel(const PreparedLaunch &p, size_t kernel,
                        const KernelOp *op) {
  const KernelSpec &k = p.code.kernels[kernel];
  std::string s = p.label + ", kernel '" + k.function + "'";
  if (p.code.kernels.size() > 1)
    s += " (" + std::to_string(kernel + 1) + " of " +
         std::to_string(p.code.kernels.size()) + ")";
  s += " of module " + p.code.module;
  if (op)
    s += ", grid " + triple(op->grid) + ", block " + triple(op->block) + ", " +
         std::to_string(op->sharedBytes) + " bytes of shared memory";
  return s;
}

void PendingCall::clear() {
  pending.clear();
  symbols_ = {};
  entry_.reset();
}

void PendingCall::add(size_t entry, size_t index, const PreparedLaunch &p,
                      const KernelCall &call) {
  if (index == 0 || entry_ != entry) {
    clear();
    entry_ = entry;
  }
  Pending rec{index, {}};
  std::memset(&rec.params, 0, sizeof rec.params);
  packBuffers(call, rec.params);
  symbols_.noteLaunch(p.symbols, call);
  pending.push_back(rec);
}

PendingCall::Sizes
PendingCall::sizes(const std::vector<PreparedLaunch> &launches) const {
  const int64_t B = symbols_.dims[0], T = symbols_.dims[1];
  if (B < 1 || T < 1)
    fail(ErrorCode::Internal,
         "cannot tell the call's batch and length from its launches' shapes");
  Sizes s;
  for (const Pending &rec : pending) {
    const PreparedLaunch &p = launches[rec.launch];
    std::optional<int64_t> ws = p.code.workspace.evaluate(B, T);
    if (!ws)
      fail(ErrorCode::Bundle,
           p.label + ": its workspace " + p.code.workspace.str() +
               " is not a valid size for B = " + std::to_string(B) +
               ", T = " + std::to_string(T));
    s.workspace = std::max(s.workspace, size_t(*ws));
  }
  return s;
}

namespace {
/// Encodes the tensor maps of kernel `k` of `p` into `op`.
void encodeMaps(const PreparedLaunch &p, size_t k, KernelOp &op,
                void *workspace, int64_t B, int64_t T,
                const TensorMapEncoder &encode) {
  const std::vector<TensorMapSpec> &maps = p.code.kernels[k].tensorMaps;
  std::memset(&op.maps, 0, sizeof op.maps);
  op.tensorMaps = unsigned(maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    const TensorMapSpec &m = maps[i];
    auto failWith = [&](ErrorCode code, const std::string &why) {
      fail(code, kernelLabel(p, k) + ", tensor map " + std::to_string(i) +
                     " (" +
                     (m.buffer < 0 ? std::string("the workspace")
                                   : "buffer " + std::to_string(m.buffer)) +
                     "): " + why);
    };
    if (!encode)
      failWith(ErrorCode::Unsupported,
               "this backend cannot encode tensor maps (TMA: NVIDIA sm_90+ "
               "with a CUDA 12 driver or later); compile the bundle for this "
               "target");
    void *base = m.buffer < 0 ? workspace : op.params.buffers[m.buffer];
    std::optional<int64_t> rows = m.rows.evaluate(B, T);
    if (!base || !rows || *rows < 1)
      failWith(ErrorCode::Kernel,
               !base ? std::string("the buffer is absent")
                     : "rows = " + m.rows.str() + " is " +
                           (rows ? std::to_string(*rows) : "invalid") +
                           " for B = " + std::to_string(B) +
                           ", T = " + std::to_string(T));
    if (std::string why = encode(m, base, *rows, op.maps.maps[i]);
        !why.empty())
      failWith(ErrorCode::Kernel, why);
  }
}
} // namespace

std::vector<KernelOp>
PendingCall::ops(const std::vector<PreparedLaunch> &launches, void *workspace,
                 const TensorMapEncoder &encode,
                 int64_t multiprocessors) const {
  const int64_t B = symbols_.dims[0], T = symbols_.dims[1];
  std::vector<KernelOp> ops;
  for (const Pending &rec : pending) {
    const PreparedLaunch &p = launches[rec.launch];
    BraidKernelParams params = rec.params;
    params.workspace = workspace;
    params.cache_position = symbols_.cachePosition;
    params.batch = B;
    params.tokens = T;
    params.max_seq = std::max<int64_t>(symbols_.dims[2], 0);
    for (size_t k = 0; k < p.code.kernels.size(); ++k) {
      const KernelSpec &spec = p.code.kernels[k];
      if (!spec.runsFor(B * T))
        continue;
      KernelOp op;
      op.function = p.functions[k];
      op.launch = rec.launch;
      op.kernel = k;
      op.params = params;
      op.sharedBytes = unsigned(spec.sharedBytes);
      static const int64_t limits[3] = {2147483647, 65535, 65535};
      for (int d = 0; d < 3; ++d) {
        std::optional<int64_t> g = spec.grid[d].evaluate(B, T, multiprocessors);
        if (!g || *g < 1 || *g > limits[d])
          fail(ErrorCode::Kernel,
               kernelLabel(p, k) + ": grid dimension " + "xyz"[d] + " = " +
                   spec.grid[d].str() + " is " +
                   (g ? std::to_string(*g) : std::string("invalid")) +
                   " for B = " + std::to_string(B) +
                   ", T = " + std::to_string(T) +
                   (spec.grid[d].perSm
                        ? ", SMs = " + std::to_string(multiprocessors) +
                              (multiprocessors < 1
                                   ? " (the backend could not tell the "
                                     "device's multiprocessor count)"
                                   : "")
                        : "") +
                   " (must be in [1, " + std::to_string(limits[d]) + "])");
        op.grid[d] = unsigned(*g);
        op.block[d] = unsigned(spec.block[d]);
      }
      encodeMaps(p, k, op, workspace, B, T, encode);
      ops.push_back(op);
    }
  }
  return ops;
}

} // namespace braid::rt::gpu
