//===- sequence_kernel_gen.cpp - specialize the sequence launches of IR ---===//
//
// Reads launch IR (braidc --emit=launch), runs the sequence specializers
// (findSequenceSpecializer) on every launch.kernel of attention, mla,
// ssd_scan and selective_scan, and writes one translation unit per
// distinct specialization (k<hash>.cu, function prefix braid_k<hash>) plus
// plans.txt (per launch: file, source location, module, functions, block,
// shared bytes, hot). A specializer error fails the run, except the
// documented "not supported yet" of mla.
//
// usage: sequence-kernel-gen --out DIR [--arch sm_90a] FILE.mlir...
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
#include "llvm/Support/SHA256.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <vector>

using namespace braid;

int main(int argc, char **argv) {
  std::string out, arch = "sm_90a";
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--out" && i + 1 < argc)
      out = argv[++i];
    else if (a == "--arch" && i + 1 < argc)
      arch = argv[++i];
    else
      files.push_back(a);
  }
  if (out.empty() || files.empty()) {
    llvm::errs() << "usage: sequence-kernel-gen --out DIR [--arch A] FILE...\n";
    return 2;
  }
  llvm::sys::fs::create_directories(out);
  mlir::MLIRContext ctx;
  ctx.loadDialect<launch::LaunchDialect>();
  std::map<std::string, std::string> modules; // hash -> module
  std::string plans;
  int launches = 0, failures = 0, unsupported = 0;
  for (const std::string &file : files) {
    llvm::SourceMgr sm;
    auto module = mlir::parseSourceFile<mlir::ModuleOp>(file, sm, &ctx);
    if (!module) {
      llvm::errs() << file << ": cannot parse\n";
      return 1;
    }
    bool bf16 = false;
    for (auto w : module->getOps<launch::WeightOp>()) {
      bf16 = w.getElementType().isBF16();
      break;
    }
    gpu::Target target{"cuda", arch, bf16};
    module->walk([&](launch::KernelOp op) {
      gpu::Specializer spec = gpu::findSequenceSpecializer(op.getFamily());
      if (!spec)
        return;
      ++launches;
      // Plan once under a neutral prefix to find identical
      // specializations, then under the prefix named by that hash.
      auto probe = spec(op, target, "braid_kXXXX");
      if (!probe) {
        std::string msg = llvm::toString(probe.takeError());
        if (op.getFamily() == "mla" &&
            llvm::StringRef(msg).contains("not supported")) {
          ++unsupported;
          plans += file + " " + op.getSource().str() + " unsupported: " + msg + "\n";
          return;
        }
        llvm::errs() << file << ": " << msg << "\n";
        ++failures;
        return;
      }
      std::string hash = llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(
                                         probe->source)),
                                     /*LowerCase=*/true)
                             .substr(0, 10);
      std::string module = "k" + hash;
      auto plan = spec(op, target, "braid_" + module);
      if (!plan) {
        llvm::errs() << file << ": " << llvm::toString(plan.takeError()) << "\n";
        ++failures;
        return;
      }
      if (!modules.count(hash)) {
        modules[hash] = module;
        std::error_code ec;
        llvm::raw_fd_ostream os(out + "/" + module + ".cu", ec);
        os << plan->source;
      }
      plans += file + " " + op.getFamily().str() + " " + op.getSource().str() +
               " " + module + (plan->hot ? " hot" : "");
      for (const auto &inv : plan->invocations)
        plans += " " + inv.function + "[" + std::to_string(inv.block[0]) + "," +
                 std::to_string(inv.sharedBytes) + "B]";
      plans += "\n";
    });
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(out + "/plans.txt", ec);
  os << plans;
  llvm::outs() << launches << " sequence launches, " << modules.size()
               << " distinct specializations, " << unsupported
               << " unsupported (mla), " << failures << " failures\n";
  return failures ? 1 : 0;
}
