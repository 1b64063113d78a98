//===- dense_kernel_gen.cpp - plans of the dense families, for GPU tests --===//
//
// Reads launch IR (braidc --emit=launch, or test/gpu/dense_cases.mlir), runs
// the dense specializers (findDenseSpecializer) on every launch.kernel of a
// dense family and writes, into the output folder:
//
//   k<hash>.cu   one translation unit per distinct specialization (the
//                function prefix is braid_k<hash>, so identical launches
//                share a file, as the emitter's cache does);
//   cases.txt    one record per launch: family, entry, attributes, buffers
//                (kind, storage type, symbolic shape, aliasing) and the plan
//                (module, functions, grid DimExprs, block, shared bytes,
//                workspace, hot) for dense_kernels_test.cu;
//   hot.txt      the modules whose plans are hot (spill checks).
//
// usage: dense-kernel-gen --out DIR [--arch sm_90a] [--only F1,F2]
//                         [--sm90-gemm CONFIG:BLOCKS] FILE.mlir...
//   --only: specialize these families only. A translation unit whose text
//   did not change keeps its file (and mtime); k*.cu files of the folder that
//   no launch produced any more are removed.
//   --sm90-gemm: keep only the launches whose plan runs the 128 x 256 wgmma
//   engine (wgGemm<WgConfig<128, 256, 4>>: sm_90a bf16 prefill linears with
//   N >= 2048) and run the warp-specialized engine there instead, CONFIG a
//   WsConfig (e.g. "WsConfig<128, 128, 6, true>") on BLOCKS persistent
//   blocks (0: one block per tile). The same plans with another engine,
//   for dense_kernels_test to check every epilogue against the CPU.
//
//===----------------------------------------------------------------------===//
#include "targets/common/kernels/Specializers.h"

#include "dialects/Launch/LaunchDialect.h"
#include "dialects/Launch/LaunchOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace braid;

namespace {

std::string typeName(mlir::Type t) {
  if (t.isF32())
    return "f32";
  if (t.isBF16())
    return "bf16";
  if (t.isInteger(64))
    return "i64";
  if (t.isInteger(32))
    return "i32";
  return "other";
}

std::string kindName(launch::BufferKind k) {
  switch (k) {
  case launch::BufferKind::arena:
    return "arena";
  case launch::BufferKind::weight:
    return "weight";
  case launch::BufferKind::state:
    return "state";
  case launch::BufferKind::input:
    return "input";
  case launch::BufferKind::output:
    return "output";
  }
  return "?";
}

/// "kind dtype rank d0 d1 ... name" (name last; may be empty -> "-").
std::string bufferRecord(launch::BufferAttr b) {
  std::string s = kindName(b.getKind()) + " " + typeName(b.getElementType()) +
                  " " + std::to_string(b.getShape().size());
  for (int64_t d : b.getShape())
    s += " " + std::to_string(d);
  std::string name = b.getName().str();
  if (b.getKind() == launch::BufferKind::arena)
    name = "arena@" + std::to_string(b.getOffset());
  return s + " " + (name.empty() ? "-" : name);
}

std::string attrRecord(llvm::StringRef key, mlir::Attribute a) {
  std::string s = "attr " + key.str() + " ";
  if (auto b = llvm::dyn_cast<mlir::BoolAttr>(a))
    return s + "bool " + (b.getValue() ? "1" : "0");
  if (auto i = llvm::dyn_cast<mlir::IntegerAttr>(a))
    return s + "int " + std::to_string(i.getInt());
  if (auto f = llvm::dyn_cast<mlir::FloatAttr>(a)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", f.getValueAsDouble());
    return s + "float " + buf;
  }
  if (auto str = llvm::dyn_cast<mlir::StringAttr>(a))
    return s + "str " + str.getValue().str();
  if (auto ints = llvm::dyn_cast<mlir::DenseI64ArrayAttr>(a)) {
    s += "ints " + std::to_string(ints.size());
    for (int64_t v : ints.asArrayRef())
      s += " " + std::to_string(v);
    return s;
  }
  if (auto fl = llvm::dyn_cast<mlir::DenseF64ArrayAttr>(a)) {
    s += "floats " + std::to_string(fl.size());
    for (double v : fl.asArrayRef()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " %.17g", v);
      s += buf;
    }
    return s;
  }
  if (llvm::isa<mlir::UnitAttr>(a))
    return s + "bool 1";
  return s + "unsupported 0";
}

std::string dimRecord(const gpu::DimExpr &d) {
  return std::to_string(d.constant) + " " + std::to_string(d.perBatch) + " " +
         std::to_string(d.perToken) + " " + std::to_string(d.perBatchToken) +
         " " + std::to_string(d.divisor) + " " + std::to_string(d.perSm);
}

/// --sm90-gemm: the WsConfig and the persistent grid to substitute.
struct WsOverride {
  std::string config; // "WsConfig<BM, BN, STAGES[, true]>"
  int64_t blocks = 0;
  int64_t bm = 0, bn = 0, stages = 0;
};

/// Replaces tmaGemm<TmaConfig<256, 4>> in `plan` by wsGemm on `ws` (its
/// cp.async producer; the entry keeps its tensor maps, unused); false when
/// the plan does not run it (one kernel of 384 threads).
bool overrideGemm(gpu::KernelPlan &plan, const WsOverride &ws) {
  const std::string call = "tmaGemm<TmaConfig<256, 4>>(ops, M, maps);";
  const std::string bounds = "__launch_bounds__(384, 1)";
  std::string &src = plan.source;
  size_t at = src.find(call);
  if (at == std::string::npos || src.find(call, at + 1) != std::string::npos ||
      plan.invocations.size() != 1 || plan.invocations[0].block[0] != 384)
    return false;
  size_t b = src.find(bounds);
  if (b == std::string::npos || src.find(bounds, b + 1) != std::string::npos)
    return false;
  src.replace(at, call.size(), "wsGemm<" + ws.config + ">(ops, M);");
  src.replace(b, bounds.size(), "__launch_bounds__(384, 1)");
  gpu::KernelInvocation &k = plan.invocations[0];
  k.block[0] = 384;
  // As WsConfig::kSharedBytes: the ring, 1 KiB of alignment, the barriers.
  k.sharedBytes =
      ws.stages * (ws.bm + ws.bn) * 64 * 2 + 1024 + 16 * ws.stages + 16;
  // One block per tile keeps the plan's grid (BN = 256, BM = 128 only);
  // persistent blocks walk the tiles whatever the grid.
  if (ws.blocks) {
    k.grid[0] = gpu::DimExpr::fixed(ws.blocks);
    k.grid[1] = gpu::DimExpr::fixed(1);
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::string out, arch = "sm_90a";
  std::set<std::string> only;
  std::optional<WsOverride> ws;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--arch" && i + 1 < argc)
      arch = argv[++i];
    else if (a == "--sm90-gemm" && i + 1 < argc) {
      llvm::StringRef spec(argv[++i]);
      auto [config, blocks] = spec.rsplit(':');
      WsOverride o;
      o.config = config.str();
      llvm::SmallVector<llvm::StringRef> nums;
      config.drop_front(config.find('<') + 1).split(nums, ',');
      if (blocks.getAsInteger(10, o.blocks) || nums.size() < 3 ||
          nums[0].trim().getAsInteger(10, o.bm) ||
          nums[1].trim().getAsInteger(10, o.bn) ||
          nums[2].trim().rtrim('>').trim().getAsInteger(10, o.stages)) {
        llvm::errs() << "dense-kernel-gen: --sm90-gemm wants "
                        "'WsConfig<BM, BN, STAGES[, true]>:BLOCKS'\n";
        return 2;
      }
      if (o.blocks == 0 && (o.bm != 128 || o.bn != 256)) {
        llvm::errs() << "dense-kernel-gen: --sm90-gemm: a tile per block "
                        "needs the plan's 128 x 256 tiles\n";
        return 2;
      }
      ws = o;
    } else if (a == "--only" && i + 1 < argc) {
      llvm::SmallVector<llvm::StringRef> parts;
      llvm::StringRef(argv[++i]).split(parts, ',');
      for (llvm::StringRef p : parts)
        only.insert(p.str());
    } else
      inputs.push_back(a);
  }
  if (out.empty() || inputs.empty()) {
    llvm::errs() << "usage: dense-kernel-gen --out DIR [--arch ARCH] FILE.mlir...\n";
    return 2;
  }
  llvm::sys::fs::create_directories(out);

  mlir::MLIRContext context;
  context.loadDialect<launch::LaunchDialect>();
  context.allowUnregisteredDialects();

  std::error_code ec;
  llvm::raw_fd_ostream cases(out + "/cases.txt", ec);
  llvm::raw_fd_ostream hot(out + "/hot.txt", ec);
  std::set<std::string> written, hotModules;
  std::map<std::string, int> families;
  int failures = 0, caseId = 0;

  for (const std::string &input : inputs) {
    llvm::SourceMgr sm;
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceFile<mlir::ModuleOp>(input, &context);
    if (!module) {
      llvm::errs() << "dense-kernel-gen: cannot parse " << input << "\n";
      return 1;
    }
    bool bf16 = false;
    for (auto w : module->getOps<launch::WeightOp>()) {
      bf16 = w.getElementType().isBF16();
      break;
    }
    gpu::Target target{"cuda", arch, bf16};
    module->walk([&](launch::KernelOp op) {
      gpu::Specializer spec = gpu::findDenseSpecializer(op.getFamily());
      if (!spec || (!only.empty() && !only.count(op.getFamily().str())))
        return;
      const std::string placeholder = "braid_kPLACEHOLDER";
      llvm::Expected<gpu::KernelPlan> plan = spec(op, target, placeholder);
      if (!plan) {
        llvm::errs() << input << ": " << llvm::toString(plan.takeError())
                     << "\n";
        ++failures;
        return;
      }
      if (ws && !overrideGemm(*plan, *ws))
        return;
      std::array<uint8_t, 32> digest = llvm::SHA256::hash(
          llvm::arrayRefFromStringRef(plan->source));
      std::string hash = llvm::toHex(llvm::ArrayRef<uint8_t>(digest).take_front(6),
                                     /*LowerCase=*/true);
      std::string module = "k" + hash;
      auto fix = [&](std::string s) {
        std::string name = "braid_" + module;
        for (size_t at; (at = s.find(placeholder)) != std::string::npos;)
          s.replace(at, placeholder.size(), name);
        return s;
      };
      std::string source = fix(plan->source);
      if (written.insert(module).second) {
        std::string path = out + "/" + module + ".cu";
        auto old = llvm::MemoryBuffer::getFile(path);
        if (!old || (*old)->getBuffer() != source) {
          llvm::raw_fd_ostream tu(path, ec);
          tu << source;
        }
      }
      if (plan->hot && hotModules.insert(module).second)
        hot << module << "\n";
      ++families[op.getFamily().str()];

      auto entry = op->getParentOfType<launch::EntryOp>();
      cases << "case " << caseId++ << " " << op.getFamily() << " "
            << (entry ? entry.getName() : "?") << " " << module << " "
            << (plan->hot ? 1 : 0) << "\n";
      cases << "source " << (op.getSource().empty() ? "-" : op.getSource())
            << "\n";
      for (mlir::NamedAttribute a : op.getAttrs())
        cases << attrRecord(a.getName().getValue(), a.getValue()) << "\n";
      for (mlir::Attribute a : op.getOperands()) {
        if (auto b = llvm::dyn_cast<launch::BufferAttr>(a))
          cases << "operand " << bufferRecord(b) << "\n";
        else
          cases << "operand absent\n";
      }
      for (mlir::Attribute a : op.getResults())
        cases << "result " << bufferRecord(llvm::cast<launch::BufferAttr>(a))
              << "\n";
      for (const gpu::KernelInvocation &k : plan->invocations) {
        cases << "kernel " << fix(k.function) << " " << dimRecord(k.grid[0])
              << " " << dimRecord(k.grid[1]) << " " << dimRecord(k.grid[2])
              << " " << k.block[0] << " " << k.block[1] << " " << k.block[2]
              << " " << k.sharedBytes << " " << k.minRows << " " << k.maxRows
              << "\n";
        for (const gpu::TensorMapSpec &m : k.tensorMaps)
          cases << "tmap " << m.buffer << " " << dimRecord(m.rows) << " "
                << m.cols << " " << m.elementBytes << " " << m.box[0] << " "
                << m.box[1] << " " << m.swizzle << "\n";
      }
      cases << "workspace " << dimRecord(plan->workspaceBytes) << "\n";
      cases << "end\n";
    });
  }
  // Stale translation units of earlier runs.
  for (llvm::sys::fs::directory_iterator it(out, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::StringRef file = llvm::sys::path::filename(it->path());
    if (file.starts_with("k") && file.ends_with(".cu") &&
        !written.count(file.drop_back(3).str()))
      llvm::sys::fs::remove(it->path());
  }
  llvm::outs() << "dense-kernel-gen: " << caseId << " launches, "
               << written.size() << " translation units, " << hotModules.size()
               << " hot";
  for (auto &[f, n] : families)
    llvm::outs() << (f == families.begin()->first ? " (" : ", ") << f << " "
                 << n;
  llvm::outs() << (families.empty() ? "" : ")") << "\n";
  return failures ? 1 : 0;
}
