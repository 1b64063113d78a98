//===- GpuCode.cpp - launches to specialized GPU translation units --------===//
#include "targets/common/GpuCode.h"

#include "dialects/Launch/LaunchOps.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"

#include <algorithm>

using namespace mlir;
using namespace llvm;

namespace braid::gpu {

bool TensorMapSpec::operator==(const TensorMapSpec &other) const {
  return buffer == other.buffer && rows == other.rows && cols == other.cols &&
         elementBytes == other.elementBytes && box == other.box &&
         swizzle == other.swizzle;
}

bool LaunchCode::operator==(const LaunchCode &other) const {
  if (module != other.module || !(workspace == other.workspace) ||
      kernels.size() != other.kernels.size())
    return false;
  for (auto [a, b] : llvm::zip(kernels, other.kernels))
    if (a.function != b.function || a.block != b.block ||
        a.sharedBytes != b.sharedBytes || a.minRows != b.minRows ||
        a.maxRows != b.maxRows || a.grid != b.grid ||
        a.tensorMaps != b.tensorMaps)
      return false;
  return true;
}

std::string contentHash(StringRef text) {
  std::array<uint8_t, 32> digest = SHA256::hash(arrayRefFromStringRef(text));
  return toHex(ArrayRef<uint8_t>(digest).take_front(8), /*LowerCase=*/true);
}

std::string digestDeviceHeaders(StringRef root) {
  std::vector<std::string> files;
  auto collect = [&](StringRef dir, bool anyHeader) {
    SmallString<256> base(root);
    sys::path::append(base, dir);
    std::error_code ec;
    for (sys::fs::recursive_directory_iterator it(base, ec), end;
         it != end && !ec; it.increment(ec)) {
      StringRef path = it->path();
      StringRef ext = sys::path::extension(path);
      if (ext == ".cuh" || (anyHeader && (ext == ".h" || ext == ".hpp" ||
                                          ext == ".inc")))
        files.push_back(path.str());
    }
  };
  collect("targets", /*anyHeader=*/false);
  collect("targets/common/kernels", /*anyHeader=*/true);
  SmallString<256> abi(root);
  sys::path::append(abi, "runtime/include/braid/kernel_abi.h");
  files.push_back(abi.str().str());
  llvm::sort(files);
  files.erase(std::unique(files.begin(), files.end()), files.end());

  SHA256 hasher;
  for (const std::string &file : files) {
    StringRef relative = StringRef(file).drop_front(root.size());
    hasher.update(relative);
    hasher.update(StringRef("\0", 1));
    if (auto buffer = MemoryBuffer::getFile(file))
      hasher.update((*buffer)->getBuffer());
    hasher.update(StringRef("\0", 1));
  }
  std::array<uint8_t, 32> digest = hasher.final();
  return toHex(ArrayRef<uint8_t>(digest).take_front(8), /*LowerCase=*/true);
}

json::Value dimExprToJSON(const DimExpr &expr) {
  json::Object o{{"constant", expr.constant},
                 {"per_batch", expr.perBatch},
                 {"per_token", expr.perToken},
                 {"per_batch_token", expr.perBatchToken},
                 {"divisor", expr.divisor}};
  // Only a persistent grid has the device's cap (older runtimes and every
  // other expression do without the field).
  if (expr.perSm)
    o["per_sm"] = expr.perSm;
  return o;
}

static std::string describe(launch::KernelOp kernel, StringRef entry,
                            int64_t index) {
  std::string text =
      formatv("{0} at {1} ({2} #{3}", kernel.getFamily(),
              kernel.getSource().empty()
                  ? std::string("the model level")
                  : "'" + kernel.getSource().str() + "'",
              entry, index)
          .str();
  // Locations of IR parsed from a string or stdin ("-") say nothing.
  if (auto file = kernel.getLoc()->findInstanceOf<FileLineColLoc>();
      file && !file.getFilename().getValue().empty() &&
      file.getFilename().getValue() != "-")
    text += formatv(", {0}:{1}:{2}", file.getFilename().getValue(),
                    file.getLine(), file.getColumn())
                .str();
  return text + ")";
}

std::string describeLaunch(Operation *op) {
  auto kernel = cast<launch::KernelOp>(op);
  auto entry = kernel->getParentOfType<launch::EntryOp>();
  int64_t index = 0;
  for (Operation &other : kernel->getBlock()->getOperations()) {
    if (&other == op)
      break;
    ++index;
  }
  return describe(kernel, entry ? entry.getName() : StringRef("?"), index);
}

/// The checks every plan must pass before it reaches a compiler.
static Error checkPlan(const KernelPlan &plan) {
  if (plan.source.empty())
    return createStringError("the plan has no source");
  if (plan.invocations.empty())
    return createStringError("the plan launches no kernel");
  auto checkDim = [](const DimExpr &dim, const Twine &what) -> Error {
    if (dim.divisor < 1 || dim.constant < 0 || dim.perBatch < 0 ||
        dim.perToken < 0 || dim.perBatchToken < 0 || dim.perSm < 0)
      return createStringError(
          formatv("{0} has a negative term or a divisor below 1", what.str())
              .str());
    return Error::success();
  };
  if (Error error = checkDim(plan.workspaceBytes, "the workspace size"))
    return error;
  if (plan.workspaceBytes.perSm)
    return createStringError("the workspace size is capped per multiprocessor: "
                             "only a grid dimension may be");
  for (const KernelInvocation &invocation : plan.invocations) {
    // Whether the source defines it (perhaps through a macro) is checked
    // on the compiled code.
    StringRef function = invocation.function;
    if (function.empty() || isDigit(function.front()) ||
        !llvm::all_of(function, [](char c) { return isAlnum(c) || c == '_'; }))
      return createStringError("kernel function '" + function +
                               "' is not a C identifier");
    int64_t threads = 1;
    for (int64_t dim : invocation.block) {
      if (dim < 1)
        return createStringError("kernel '" + invocation.function +
                                 "' has a block dimension below 1");
      threads *= dim;
    }
    if (threads > 1024)
      return createStringError(
          formatv("kernel '{0}' has {1} threads per block (at most 1024)",
                  invocation.function, threads)
              .str());
    if (invocation.sharedBytes < 0)
      return createStringError("kernel '" + invocation.function +
                               "' asks for negative shared memory");
    if (invocation.minRows < 0 || invocation.minRows > invocation.maxRows)
      return createStringError(
          formatv("kernel '{0}' has an empty row range [{1}, {2}]",
                  invocation.function, invocation.minRows, invocation.maxRows)
              .str());
    for (int i = 0; i < 3; ++i)
      if (Error error = checkDim(invocation.grid[i],
                                 "the grid of '" + invocation.function + "'"))
        return error;
    for (const TensorMapSpec &map : invocation.tensorMaps)
      if (map.rows.perSm)
        return createStringError("kernel '" + invocation.function +
                                 "' has a tensor map whose rows are capped "
                                 "per multiprocessor");
  }
  return Error::success();
}

Expected<bool> moduleIsBF16(ModuleOp module, StringRef vendorTitle) {
  for (auto weight : module.getOps<launch::WeightOp>()) {
    Type type = weight.getElementType();
    if (type.isBF16())
      return true;
    if (type.isF32())
      return false;
    std::string name;
    raw_string_ostream os(name);
    type.print(os);
    return createStringError(
        vendorTitle + " kernels take f32 or bf16 activations; the model's "
                      "weights are " + name + " (choose one with --dtype)");
  }
  return false;
}

static std::string functionPrefix(StringRef family) {
  std::string name = "braid_";
  for (char c : family)
    name.push_back(isAlnum(c) ? c : '_');
  return name;
}

const TranslationUnit *GpuCode::findUnit(StringRef module) const {
  for (const TranslationUnit &unit : units)
    if (unit.module == module)
      return &unit;
  return nullptr;
}

static json::Value launchCodeToJSON(const LaunchCode &code) {
  json::Array kernels;
  for (const KernelInvocation &invocation : code.kernels) {
    json::Array grid;
    for (const DimExpr &dim : invocation.grid)
      grid.push_back(dimExprToJSON(dim));
    json::Object kernel{{"function", invocation.function},
                        {"grid", std::move(grid)},
                        {"block", json::Array(invocation.block)},
                        {"shared_bytes", invocation.sharedBytes}};
    // Only variants chosen by size carry a range (docs/cuda.md).
    if (invocation.rowsBounded())
      kernel["rows"] = json::Array{invocation.minRows, invocation.maxRows};
    // Only kernels loading through TMA take a second parameter.
    if (!invocation.tensorMaps.empty()) {
      json::Array maps;
      for (const TensorMapSpec &m : invocation.tensorMaps)
        maps.push_back(json::Object{{"buffer", m.buffer},
                                    {"rows", dimExprToJSON(m.rows)},
                                    {"cols", m.cols},
                                    {"element_bytes", m.elementBytes},
                                    {"box", json::Array{m.box[0], m.box[1]}},
                                    {"swizzle", m.swizzle}});
      kernel["tensor_maps"] = std::move(maps);
    }
    kernels.push_back(std::move(kernel));
  }
  return json::Object{{"module", code.module},
                      {"workspace", dimExprToJSON(code.workspace)},
                      {"kernels", std::move(kernels)}};
}

json::Value GpuCode::launchToJSON(Operation *kernel) const {
  auto it = launches.find(kernel);
  if (it == launches.end() || it->second.empty())
    return nullptr;
  const std::vector<LaunchCode> &perArch = it->second;
  json::Value base = launchCodeToJSON(perArch.front());
  json::Object overrides;
  for (size_t i = 1; i < perArch.size(); ++i)
    if (!(perArch[i] == perArch.front()))
      overrides[archs[i]] = launchCodeToJSON(perArch[i]);
  if (!overrides.empty())
    base.getAsObject()->insert({"by_arch", std::move(overrides)});
  return base;
}

Expected<GpuCode> planGpuCode(ModuleOp module, const GpuCodeOptions &options) {
  GpuCode code;
  code.vendor = options.vendor;
  code.archs = options.archs;
  code.bf16 = options.bf16;
  StringMap<size_t> unitIndex;

  struct Missing {
    std::string first;
    unsigned count = 0;
  };
  MapVector<StringRef, Missing> missing;
  // Failures by family, architecture and message, so that a family failing
  // the same way at 24 layers is one error.
  struct Failure {
    std::string family, arch, message;
    Missing where;
  };
  std::vector<Failure> failures;
  StringMap<size_t> failureIndex;

  for (auto entry : module.getOps<launch::EntryOp>()) {
    int64_t index = -1;
    for (auto kernel : entry.getBody().front().getOps<launch::KernelOp>()) {
      ++index;
      StringRef family = kernel.getFamily();
      Specializer specializer = options.lookup ? options.lookup(family)
                                               : findSpecializer(family);
      if (!specializer) {
        Missing &m = missing[family];
        if (m.count++ == 0)
          m.first = describe(kernel, entry.getName(), index);
        continue;
      }
      std::vector<LaunchCode> perArch;
      for (const std::string &arch : options.archs) {
        Target target{options.vendor, arch, options.bf16};
        Expected<KernelPlan> plan =
            specializer(kernel, target, functionPrefix(family));
        Error error = plan ? checkPlan(*plan) : plan.takeError();
        if (error) {
          std::string message = toString(std::move(error));
          auto [slot, inserted] = failureIndex.try_emplace(
              family.str() + "\x1f" + arch + "\x1f" + message,
              failures.size());
          if (inserted)
            failures.push_back({family.str(), arch, message,
                                {describe(kernel, entry.getName(), index), 0}});
          ++failures[slot->second].where.count;
          break;
        }
        std::string hashed = options.hashSalt;
        hashed.push_back('\0');
        hashed += plan->source;
        std::string name = "k" + contentHash(hashed);
        auto [slot, inserted] = unitIndex.try_emplace(name, code.units.size());
        if (inserted) {
          TranslationUnit unit;
          unit.module = name;
          unit.source = plan->source;
          unit.firstUse = describe(kernel, entry.getName(), index);
          code.units.push_back(std::move(unit));
        }
        TranslationUnit &unit = code.units[slot->second];
        if (unit.source != plan->source)
          return createStringError("hash collision between two kernel "
                                   "sources of module " + name);
        if (!llvm::is_contained(unit.archs, arch))
          unit.archs.push_back(arch);
        unit.hot |= plan->hot;
        if (unit.lastLaunch != kernel) { // count each launch once
          unit.lastLaunch = kernel;
          ++unit.launches;
        }
        for (const KernelInvocation &invocation : plan->invocations)
          if (!llvm::is_contained(unit.functions, invocation.function))
            unit.functions.push_back(invocation.function);
        perArch.push_back(
            LaunchCode{name, plan->invocations, plan->workspaceBytes});
      }
      if (perArch.size() == options.archs.size())
        code.launches[kernel] = std::move(perArch);
    }
  }

  if (options.allowMissing) {
    for (auto &[family, m] : missing)
      code.missing.push_back(formatv("{0} ({1} launch{2})", family, m.count,
                                     m.count == 1 ? "" : "es")
                                 .str());
    missing.clear();
  }
  if (missing.empty() && failures.empty()) {
    // Keep each unit's architectures in target order.
    for (TranslationUnit &unit : code.units)
      llvm::sort(unit.archs, [&](const std::string &a, const std::string &b) {
        return llvm::find(options.archs, a) < llvm::find(options.archs, b);
      });
    return code;
  }
  Error all = Error::success();
  for (auto &[family, m] : missing)
    all = joinErrors(
        std::move(all),
        createStringError(
            formatv("no {0} kernel for family '{1}' ({2} launch{3}; first: "
                    "{4}); no specializer is registered for it in "
                    "targets/common/kernels/",
                    options.vendorTitle, family, m.count,
                    m.count == 1 ? "" : "es", m.first)
                .str()));
  for (const Failure &f : failures)
    all = joinErrors(
        std::move(all),
        createStringError(formatv("cannot specialize {0} for {1} ({2} "
                                  "launch{3}; first: {4}): {5}",
                                  f.family, f.arch, f.where.count,
                                  f.where.count == 1 ? "" : "es",
                                  f.where.first, f.message)
                              .str()));
  return std::move(all);
}

} // namespace braid::gpu
