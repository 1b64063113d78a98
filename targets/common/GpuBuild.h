//===- GpuBuild.h - what the CUDA and HIP builds share ----------*- C++ -*-===//
//
// The vendor-neutral half of targets/cuda and targets/hip: the sources'
// banners, the kernel cache folders, the <rule>.sh + build.ninja that compile
// every translation unit per architecture (run by Ninja, or one after
// another without it, under the cache's lock), packing the objects into
// `code.<arch>` sections and the frame of the launch checks. A target
// describes itself with a GpuVendor; what stays in its own files is what
// really differs: its compiler's flags, its resource report and its limits.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TARGETS_COMMON_GPUBUILD_H
#define BRAID_TARGETS_COMMON_GPUBUILD_H

#include "targets/common/GpuCode.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace braid::gpu {

/// What the shared steps need to know of a target; the strings are those of
/// its messages, scripts and cache (changing one changes what users and the
/// tests see, so each target keeps its own words).
struct GpuVendor {
  llvm::StringRef id;         // "cuda": Target::vendor, the hash's salt
  llvm::StringRef title;      // "CUDA": messages, build.ninja's comment
  llvm::StringRef objectNoun; // "CUDA object": the "compiling N ..." note
  llvm::StringRef compiler;   // "nvcc": "... with nvcc V13", "nvcc failed"
  llvm::StringRef rule;       // "nvcc": Ninja's rule; the script <rule>.sh
  llvm::StringRef tool;       // "nvcc": progress lines, Ninja's descriptions
  llvm::ArrayRef<llvm::StringRef> (*archs)();
  std::vector<std::string> (*commonFlags)();
  std::vector<std::string> (*archFlags)(llvm::StringRef arch);
  llvm::StringRef (*objectExtension)(llvm::StringRef arch);
};

/// The options both emitters take; each target adds its `archs`.
struct EmitterOptions {
  /// Kernel cache; "" = defaultCacheDir().
  std::string cacheDir;
  /// Folder the sources' #includes resolve from (the Braid source tree);
  /// "" = $BRAID_SOURCE_DIR, else the tree braidc was built from.
  std::string sourceRoot;
  unsigned jobs = 0; // parallel compiler processes; 0 = Ninja's default
  /// Fail when a kernel of a hot plan (KernelPlan::hot) spills registers
  /// (on HIP also: uses scratch memory).
  bool checkSpills = false;
  /// Skip launches whose family has no specializer (GpuCode::missing).
  bool allowMissing = false;
  /// The specializer registry; null = findSpecializer (for tests).
  Specializer (*lookup)(llvm::StringRef family) = nullptr;
};

/// One object and its kernels' resources as the target's report gives them.
template <typename Resources> struct CompiledObject {
  std::string module;
  std::string arch;
  std::string path;
  std::vector<Resources> resources;
};

template <typename Resources> struct GpuBuild {
  GpuCode code;
  std::string buildDir;  // the cache folder of this compiler
  unsigned compiled = 0; // objects compiled now (the rest came cached)
  std::vector<CompiledObject<Resources>> objects;
  /// ("code.<arch>", archive bytes) per architecture, in `archs` order.
  std::vector<std::pair<std::string, std::string>> sections;
};

/// Checks `archs` against the vendor's, then specializes every launch
/// without compiling; module names hash the sources with `flagsKey` (every
/// flag of the compiler) and the device headers.
llvm::Expected<GpuCode> planForVendor(mlir::ModuleOp module,
                                      const GpuVendor &vendor,
                                      const EmitterOptions &options,
                                      llvm::ArrayRef<std::string> archs,
                                      llvm::StringRef flagsKey);

//===----------------------------------------------------------------------===//
// Sources and the cache
//===----------------------------------------------------------------------===//

/// Every translation unit, each after a banner comment naming its module,
/// architectures and first launch (`--emit=source`).
void printSources(const GpuCode &code, llvm::raw_ostream &os);
/// Writes every translation unit as <dir>/<module>.cu.
llvm::Error writeSources(const GpuCode &code, llvm::StringRef dir);

/// `option`, else $BRAID_SOURCE_DIR, else the tree braidc was built from;
/// an error unless it holds the kernel ABI header.
llvm::Expected<std::string> findSourceRoot(llvm::StringRef option);
/// The -I folders of the generated sources under `root`.
std::vector<std::string> deviceIncludeDirs(llvm::StringRef root);

/// $XDG_CACHE_HOME/braid/kernels, else ~/.cache/braid/kernels.
std::string defaultCacheDir();
/// <cacheDir>/<prefix><version> (one per compiler version, so that an
/// upgrade never reuses old objects), the version hashed when unusable.
std::string toolchainDir(llvm::StringRef cacheDir, llvm::StringRef prefix,
                         llvm::StringRef version);

/// Runs `program args...` and returns its output (a temporary file named
/// after `tempPrefix` holds it meanwhile).
llvm::Expected<std::string> capture(llvm::StringRef program,
                                    llvm::ArrayRef<llvm::StringRef> args,
                                    llvm::StringRef tempPrefix);

std::string readFileOr(llvm::StringRef path, llvm::StringRef fallback);

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

struct CompileJob {
  std::string module; // k<hash>; the source is <dir>/k<hash>.cu
  std::string arch;
  std::string extension;      // the target's objectExtension(arch)
  std::string object() const; // k<hash>.<arch>.<extension>
  std::string log() const;    // k<hash>.<arch>.resources: the compiler's
                              // output and report, also when it failed
};

struct BuildOptions {
  std::string dir;                      // holds the sources and objects
  std::vector<std::string> includeDirs; // -I
  unsigned jobs = 0;                    // 0: Ninja's default
};

std::string shellQuote(llvm::StringRef text);

/// All flags of all architectures, as hashed into module names: the common
/// ones, `extra` (what else changes every object), then per architecture.
std::string flagsKey(const GpuVendor &vendor, llvm::StringRef extra = "");

/// `compiler` and its common flags, `extra` (already quoted), then the -I
/// folders: the shell words every compile of the script starts with.
std::string compileCommand(const GpuVendor &vendor, llvm::StringRef compiler,
                           llvm::StringRef extra,
                           llvm::ArrayRef<std::string> includeDirs);

/// The text of <rule>.sh: `#!/bin/sh`, `about` (comment lines), a case per
/// architecture setting $out and $flags, then `run` (lines ending in
/// `if ...; then`) whose success moves "$out.tmp" into place.
std::string compileScript(const GpuVendor &vendor, llvm::StringRef about,
                          llvm::StringRef run);

/// Writes <dir>/<rule>.sh (`script`) and <dir>/build.ninja for `jobs` and
/// brings their objects up to date with `ninja` (or without it when ""),
/// holding <dir>/.lock meanwhile (braidc processes sharing a cache take
/// turns). Returns the indices of the jobs whose object is missing
/// afterwards (their log says why).
llvm::Expected<std::vector<size_t>>
runCompileJobs(const GpuVendor &vendor, llvm::StringRef ninja,
               llvm::StringRef script, const BuildOptions &options,
               llvm::ArrayRef<CompileJob> jobs, llvm::raw_ostream &progress);

using BuildObjects = llvm::function_ref<llvm::Expected<std::vector<size_t>>(
    const BuildOptions &, llvm::ArrayRef<CompileJob>)>;
using ReadObject =
    llvm::function_ref<void(const CompileJob &job, llvm::StringRef path,
                            llvm::StringRef logPath, std::string &bytes)>;

/// The steps of a build before the checks: creates `buildDir`, writes the
/// sources into it, compiles the objects still missing with `build` (notes
/// on `log`; failures shown from their logs; `compiled` counts the new
/// ones), then reads every object and packs one section per architecture.
/// `read` sees each object as it is read, to add it to the build with its
/// report; it may change the bytes.
llvm::Error
compileAndPack(const GpuVendor &vendor, const EmitterOptions &options,
               llvm::StringRef version, const GpuCode &code,
               llvm::StringRef buildDir, BuildObjects build, ReadObject read,
               unsigned &compiled,
               std::vector<std::pair<std::string, std::string>> &sections,
               llvm::raw_ostream &log);

/// The steps of a target's build that differ: its toolchain, how it runs
/// it, what it reads from an object's log, and its checks.
template <typename Resources, typename Toolchain> struct TargetSteps {
  llvm::Expected<Toolchain> (*findToolchain)();
  std::string (*toolchainDir)(llvm::StringRef cacheDir, const Toolchain &);
  llvm::Expected<std::vector<size_t>> (*buildObjects)(
      const Toolchain &, const BuildOptions &, llvm::ArrayRef<CompileJob>,
      llvm::raw_ostream &progress);
  /// The object's resources from its log; it may change the object's
  /// bytes as they go into the section.
  std::vector<Resources> (*readObject)(const CompileJob &job,
                                       llvm::StringRef logPath,
                                       std::string &bytes);
  llvm::Error (*checkLaunches)(const GpuBuild<Resources> &);
  llvm::Error (*checkSpills)(const GpuBuild<Resources> &);
};

/// A target's whole build from its plan (`code`, checked first): finds the
/// toolchain, compiles and packs in the toolchain's cache folder, then
/// checks every launch and, with checkSpills, the hot kernels' spills.
template <typename Resources, typename Toolchain>
llvm::Expected<GpuBuild<Resources>>
buildTarget(const GpuVendor &vendor,
            const TargetSteps<Resources, Toolchain> &steps,
            const EmitterOptions &options, llvm::Expected<GpuCode> code,
            llvm::raw_ostream &log) {
  if (!code)
    return code.takeError();
  llvm::Expected<Toolchain> toolchain = steps.findToolchain();
  if (!toolchain)
    return toolchain.takeError();
  GpuBuild<Resources> build;
  build.code = std::move(*code);
  build.buildDir = steps.toolchainDir(
      options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir,
      *toolchain);
  if (llvm::Error error = compileAndPack(
          vendor, options, toolchain->version, build.code, build.buildDir,
          [&](const BuildOptions &buildOptions,
              llvm::ArrayRef<CompileJob> jobs) {
            return steps.buildObjects(*toolchain, buildOptions, jobs, log);
          },
          [&](const CompileJob &job, llvm::StringRef path,
              llvm::StringRef logPath, std::string &bytes) {
            build.objects.push_back({job.module, job.arch, path.str(),
                                     steps.readObject(job, logPath, bytes)});
          },
          build.compiled, build.sections, log))
    return std::move(error);
  if (llvm::Error error = steps.checkLaunches(build))
    return std::move(error);
  if (options.checkSpills)
    if (llvm::Error error = steps.checkSpills(build))
      return std::move(error);
  return build;
}

//===----------------------------------------------------------------------===//
// Checks and reports
//===----------------------------------------------------------------------===//

/// Collects error messages in a sorted set: a stable order of errors.
class Problems {
public:
  void add(const std::string &message) { messages.insert(message); }
  llvm::Error take();

private:
  std::set<std::string> messages;
};

/// "kernel 'F' of k<hash>.cu for ARCH (LAUNCH)".
std::string describeKernel(const KernelInvocation &kernel,
                           llvm::StringRef module, llvm::StringRef arch,
                           mlir::Operation *op);

/// Calls `check(object, kernel, arch, where, problems)` for every kernel of
/// every launch whose object was compiled, `where` naming the kernel, its
/// unit, the architecture and the launch; the errors in a stable order.
template <typename Resources, typename Check>
llvm::Error checkLaunches(const GpuBuild<Resources> &build, Check check) {
  std::map<std::pair<std::string, std::string>,
           const CompiledObject<Resources> *>
      byKey;
  for (const CompiledObject<Resources> &object : build.objects)
    byKey[{object.module, object.arch}] = &object;
  Problems problems;
  for (auto &[op, perArch] : build.code.launches) {
    for (auto [index, launch] : llvm::enumerate(perArch)) {
      const std::string &arch = build.code.archs[index];
      const CompiledObject<Resources> *object = byKey[{launch.module, arch}];
      if (!object)
        continue;
      for (const KernelInvocation &kernel : launch.kernels)
        check(*object, kernel, arch,
              describeKernel(kernel, launch.module, arch, op), problems);
    }
  }
  return problems.take();
}

/// An error for each function of a hot unit's objects that `spill` finds
/// fault with (it returns the message, given the unit and the path of the
/// object's report).
template <typename Resources, typename Spill>
llvm::Error checkSpills(const GpuBuild<Resources> &build, Spill spill) {
  llvm::Error all = llvm::Error::success();
  for (const CompiledObject<Resources> &object : build.objects) {
    const TranslationUnit *unit = build.code.findUnit(object.module);
    if (!unit || !unit->hot)
      continue;
    std::string report =
        object.path.substr(0, object.path.rfind('.')) + ".resources";
    for (const Resources &f : object.resources)
      if (std::optional<std::string> message = spill(object, *unit, f, report))
        all =
            llvm::joinErrors(std::move(all), llvm::createStringError(*message));
  }
  return all;
}

/// The first line of printResources: sources, objects, cache folder.
void printSummary(const GpuCode &code, size_t objects, unsigned compiled,
                  llvm::StringRef buildDir, llvm::raw_ostream &os);

} // namespace braid::gpu

#endif // BRAID_TARGETS_COMMON_GPUBUILD_H
