//===- GpuBuild.cpp - what the CUDA and HIP builds share ------------------===//
#include "targets/common/GpuBuild.h"

#include "targets/common/CodeArchive.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Threading.h"

#include <chrono>

#ifndef BRAID_SOURCE_DIR
#define BRAID_SOURCE_DIR ""
#endif

using namespace llvm;

namespace braid::gpu {

Expected<GpuCode> planForVendor(mlir::ModuleOp module, const GpuVendor &vendor,
                                const EmitterOptions &options,
                                ArrayRef<std::string> archs,
                                StringRef flagsKey) {
  for (const std::string &arch : archs)
    if (!llvm::is_contained(vendor.archs(), arch))
      return createStringError("unknown " + vendor.title + " architecture '" +
                               arch + "'; expected one of " +
                               join(vendor.archs(), ", "));
  Expected<std::string> root = findSourceRoot(options.sourceRoot);
  if (!root)
    return root.takeError();
  Expected<bool> bf16 = moduleIsBF16(module, vendor.title);
  if (!bf16)
    return bf16.takeError();
  GpuCodeOptions planOptions;
  planOptions.vendor = vendor.id.str();
  planOptions.vendorTitle = vendor.title.str();
  planOptions.archs = archs.vec();
  planOptions.bf16 = *bf16;
  planOptions.hashSalt = vendor.id.str() + "\n" + flagsKey.str() +
                         "\nheaders " + digestDeviceHeaders(*root);
  planOptions.allowMissing = options.allowMissing;
  planOptions.lookup = options.lookup;
  return planGpuCode(module, planOptions);
}

//===----------------------------------------------------------------------===//
// Sources and the cache
//===----------------------------------------------------------------------===//

static std::string banner(const TranslationUnit &unit) {
  return formatv("// ===== {0}.cu: {1}; {2} launch{3}, first {4}{5}\n",
                 unit.module, join(unit.archs, ", "), unit.launches,
                 unit.launches == 1 ? "" : "es", unit.firstUse,
                 unit.hot ? "; hot" : "")
      .str();
}

void printSources(const GpuCode &code, raw_ostream &os) {
  for (const TranslationUnit &unit : code.units) {
    os << banner(unit) << unit.source;
    if (!StringRef(unit.source).ends_with("\n"))
      os << "\n";
  }
}

static Error writeIfAbsent(StringRef path, StringRef contents) {
  if (sys::fs::exists(path))
    return Error::success(); // named by its hash: the same contents
  SmallString<256> temp;
  int fd;
  if (std::error_code ec =
          sys::fs::createUniqueFile(path + ".tmp%%%%%%", fd, temp))
    return createStringError(path + ": cannot write: " + ec.message());
  raw_fd_ostream os(fd, /*shouldClose=*/true);
  os << contents;
  os.close();
  if (os.has_error() || sys::fs::rename(temp, path)) {
    sys::fs::remove(temp);
    return createStringError(path + ": cannot write");
  }
  return Error::success();
}

Error writeSources(const GpuCode &code, StringRef dir) {
  if (std::error_code ec = sys::fs::create_directories(dir))
    return createStringError(dir + ": cannot create: " + ec.message());
  for (const TranslationUnit &unit : code.units) {
    SmallString<256> path(dir);
    sys::path::append(path, unit.module + ".cu");
    std::error_code ec;
    raw_fd_ostream os(path, ec);
    if (ec)
      return createStringError(path + ": cannot write: " + ec.message());
    os << banner(unit) << unit.source;
  }
  return Error::success();
}

Expected<std::string> findSourceRoot(StringRef option) {
  std::string root = option.str();
  if (root.empty())
    if (std::optional<std::string> env =
            sys::Process::GetEnv("BRAID_SOURCE_DIR"))
      root = *env;
  if (root.empty())
    root = BRAID_SOURCE_DIR;
  SmallString<256> abi(root);
  sys::path::append(abi, "runtime", "include", "braid", "kernel_abi.h");
  if (root.empty() || !sys::fs::exists(abi))
    return createStringError(
        "cannot find the kernel templates: '" + abi +
        "' does not exist; set BRAID_SOURCE_DIR to the Braid source tree");
  return root;
}

std::vector<std::string> deviceIncludeDirs(StringRef root) {
  SmallString<256> runtimeInclude(root);
  sys::path::append(runtimeInclude, "runtime", "include");
  return {root.str(), runtimeInclude.str().str()};
}

std::string defaultCacheDir() {
  SmallString<256> dir;
  if (std::optional<std::string> xdg = sys::Process::GetEnv("XDG_CACHE_HOME");
      xdg && !xdg->empty() && sys::path::is_absolute(*xdg)) {
    dir = *xdg;
  } else {
    if (!sys::path::home_directory(dir))
      sys::path::system_temp_directory(/*ErasedOnReboot=*/false, dir);
    sys::path::append(dir, ".cache");
  }
  sys::path::append(dir, "braid", "kernels");
  return dir.str().str();
}

std::string toolchainDir(StringRef cacheDir, StringRef prefix,
                         StringRef version) {
  std::string name = prefix.str();
  for (char c : version)
    name.push_back(isAlnum(c) || c == '.' ? c : '_');
  if (version.empty() || name.size() > 40)
    name = prefix.str() + contentHash(version);
  SmallString<256> dir(cacheDir);
  sys::path::append(dir, name);
  return dir.str().str();
}

Expected<std::string> capture(StringRef program, ArrayRef<StringRef> args,
                              StringRef tempPrefix) {
  SmallString<128> out;
  if (std::error_code ec = sys::fs::createTemporaryFile(tempPrefix, "txt", out))
    return createStringError("cannot create a temporary file: " + ec.message());
  FileRemover remover(out);
  std::vector<StringRef> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  std::optional<StringRef> redirects[] = {StringRef(""), StringRef(out),
                                          StringRef(out)};
  std::string error;
  int status = sys::ExecuteAndWait(program, argv, std::nullopt, redirects,
                                   /*SecondsToWait=*/60, 0, &error);
  auto text = MemoryBuffer::getFile(out);
  if (status != 0)
    return createStringError(
        formatv("'{0} {1}' failed ({2}): {3}", program, join(args, " "),
                error.empty() ? "exit status " + std::to_string(status) : error,
                text ? (*text)->getBuffer().trim() : "")
            .str());
  return text ? (*text)->getBuffer().str() : std::string();
}

std::string readFileOr(StringRef path, StringRef fallback) {
  if (auto buffer = MemoryBuffer::getFile(path))
    return (*buffer)->getBuffer().str();
  return fallback.str();
}

//===----------------------------------------------------------------------===//
// The compile script, build.ninja and running them
//===----------------------------------------------------------------------===//

std::string CompileJob::object() const {
  return module + "." + arch + "." + extension;
}

std::string CompileJob::log() const {
  return module + "." + arch + ".resources";
}

std::string shellQuote(StringRef text) {
  if (!text.empty() &&
      text.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
          "0123456789-_./=+:,@%") == StringRef::npos)
    return text.str();
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted.push_back(c);
  }
  return quoted + "'";
}

std::string flagsKey(const GpuVendor &vendor, StringRef extra) {
  std::string key = join(vendor.commonFlags(), " ") + extra.str();
  for (StringRef arch : vendor.archs())
    key += "\n" + arch.str() + ": " + join(vendor.archFlags(arch), " ");
  return key;
}

std::string compileCommand(const GpuVendor &vendor, StringRef compiler,
                           StringRef extra, ArrayRef<std::string> includeDirs) {
  std::string command = shellQuote(compiler);
  for (const std::string &flag : vendor.commonFlags())
    command += " " + shellQuote(flag);
  command += extra;
  for (const std::string &dir : includeDirs)
    command += " -I" + shellQuote(dir);
  return command;
}

std::string compileScript(const GpuVendor &vendor, StringRef about,
                          StringRef run) {
  std::string text = "#!/bin/sh\n" + about.str() +
                     "set -u\narch=$1\nmodule=$2\ncase $arch in\n";
  for (StringRef arch : vendor.archs()) {
    std::string flags;
    for (const std::string &flag : vendor.archFlags(arch))
      flags += " " + shellQuote(flag);
    text += formatv("  {0}) out=$module.{0}.{1}; flags='{2}' ;;\n", arch,
                    vendor.objectExtension(arch), StringRef(flags).ltrim())
                .str();
  }
  text += formatv("  *) echo \"{0}.sh: unknown architecture $arch\" >&2; "
                  "exit 2 ;;\nesac\n",
                  vendor.rule)
              .str();
  return text + run.str() +
         "  mv -f \"$out.tmp\" \"$out\"\n"
         "else\n"
         "  rm -f \"$out.tmp\"\n"
         "  exit 1\n"
         "fi\n";
}

static Error writeFileAtomically(StringRef path, StringRef contents) {
  SmallString<256> temp(path);
  temp += ".tmp%%%%%%";
  int fd;
  SmallString<256> tempPath;
  if (std::error_code ec = sys::fs::createUniqueFile(temp, fd, tempPath))
    return createStringError(path + ": cannot write: " + ec.message());
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << contents;
    os.close();
    if (os.has_error()) {
      sys::fs::remove(tempPath);
      return createStringError(path +
                               ": cannot write: " + os.error().message());
    }
  }
  if (std::error_code ec = sys::fs::rename(tempPath, path)) {
    sys::fs::remove(tempPath);
    return createStringError(path + ": cannot write: " + ec.message());
  }
  return Error::success();
}

static std::string ninjaFile(const GpuVendor &vendor,
                             ArrayRef<CompileJob> jobs) {
  std::string text =
      formatv("# Written by braidc: compiles the {0} kernels of one build. "
              "Objects are named\n# by the hash of their source and flags; "
              "rerun with `ninja -C <this folder>`.\nninja_required_version "
              "= 1.3\n\nrule {1}\n  command = sh {1}.sh $arch $module\n"
              "  description = {2} $arch $module.cu\n\n",
              vendor.title, vendor.rule, vendor.tool)
          .str();
  for (const CompileJob &job : jobs)
    text += formatv("build {0}: {3} {1}.cu | {3}.sh\n  arch = {2}\n"
                    "  module = {1}\n",
                    job.object(), job.module, job.arch, vendor.rule)
                .str();
  return text;
}

/// Runs the commands without Ninja, a few at a time.
static void runWithoutNinja(const GpuVendor &vendor,
                            const BuildOptions &options,
                            ArrayRef<CompileJob> jobs, raw_ostream &progress) {
  unsigned parallel =
      options.jobs
          ? options.jobs
          : std::max(1u, llvm::hardware_concurrency().compute_thread_count());
  std::vector<sys::ProcessInfo> running;
  for (size_t next = 0; next < jobs.size() || !running.empty();) {
    while (next < jobs.size() && running.size() < parallel) {
      const CompileJob &job = jobs[next];
      progress << formatv("[{0}/{1}] {2} {3} {4}.cu\n", next + 1, jobs.size(),
                          vendor.tool, job.arch, job.module);
      progress.flush();
      std::string command = "cd " + shellQuote(options.dir) + " && sh " +
                            vendor.rule.str() + ".sh " + job.arch + " " +
                            job.module;
      StringRef argv[] = {"/bin/sh", "-c", command};
      running.push_back(sys::ExecuteNoWait("/bin/sh", argv, std::nullopt));
      ++next;
    }
    // Failures show as missing objects afterwards.
    sys::Wait(running.front(), std::nullopt);
    running.erase(running.begin());
  }
}

Expected<std::vector<size_t>> runCompileJobs(const GpuVendor &vendor,
                                             StringRef ninja, StringRef script,
                                             const BuildOptions &options,
                                             ArrayRef<CompileJob> jobs,
                                             raw_ostream &progress) {
  // Take turns with other braidc processes that use this cache.
  SmallString<256> lockPath(options.dir);
  sys::path::append(lockPath, ".lock");
  int lockFD;
  if (std::error_code ec = sys::fs::openFileForWrite(
          lockPath, lockFD, sys::fs::CD_OpenAlways, sys::fs::OF_None))
    return createStringError(lockPath + ": cannot open: " + ec.message());
  scope_exit closeLock([&] {
    sys::fs::unlockFile(lockFD);
    sys::Process::SafelyCloseFileDescriptor(lockFD);
  });
  if (sys::fs::tryLockFile(lockFD, std::chrono::milliseconds(200))) {
    progress << "braidc: waiting for another braidc to finish with the "
                "kernel cache "
             << options.dir << "\n";
    progress.flush();
    if (std::error_code ec = sys::fs::lockFile(lockFD))
      return createStringError(lockPath + ": cannot lock: " + ec.message());
  }

  auto objectPath = [&](const CompileJob &job) {
    SmallString<256> object(options.dir);
    sys::path::append(object, job.object());
    return object;
  };
  // Only what is still missing (another process may have built it).
  std::vector<CompileJob> todo;
  for (const CompileJob &job : jobs)
    if (!sys::fs::exists(objectPath(job)))
      todo.push_back(job);
  if (!todo.empty()) {
    SmallString<256> scriptPath(options.dir);
    sys::path::append(scriptPath, vendor.rule + ".sh");
    // Rewritten only when it changes, so that Ninja keeps what is built.
    auto old = MemoryBuffer::getFile(scriptPath);
    if (!old || (*old)->getBuffer() != script)
      if (Error error = writeFileAtomically(scriptPath, script))
        return std::move(error);
    SmallString<256> ninjaPath(options.dir);
    sys::path::append(ninjaPath, "build.ninja");
    if (Error error = writeFileAtomically(ninjaPath, ninjaFile(vendor, todo)))
      return std::move(error);
    if (!ninja.empty()) {
      // Ninja's status lines go to our stderr; -k 0 reports every failure.
      std::string command = "cd " + shellQuote(options.dir) + " && " +
                            shellQuote(ninja) + " -k 0";
      if (options.jobs)
        command += " -j " + std::to_string(options.jobs);
      command += " 1>&2";
      StringRef argv[] = {"/bin/sh", "-c", command};
      std::string error;
      bool failedToRun = false;
      sys::ExecuteAndWait("/bin/sh", argv, std::nullopt, {}, 0, 0, &error,
                          &failedToRun);
      if (failedToRun)
        return createStringError("cannot run ninja: " + error);
    } else {
      runWithoutNinja(vendor, options, todo, progress);
    }
  }

  std::vector<size_t> failed;
  for (auto [index, job] : llvm::enumerate(jobs))
    if (!sys::fs::exists(objectPath(job)))
      failed.push_back(index);
  return failed;
}

//===----------------------------------------------------------------------===//
// The emitters' build steps
//===----------------------------------------------------------------------===//

/// The compiler's diagnostic, at most `limit` lines.
static std::string excerpt(StringRef text, StringRef logPath,
                           size_t limit = 40) {
  SmallVector<StringRef> lines;
  text.trim().split(lines, '\n');
  if (lines.size() <= limit)
    return text.trim().str();
  std::string out;
  for (size_t i = 0; i < limit; ++i)
    out += lines[i].str() + "\n";
  return out +
         formatv("... ({0} more lines in {1})", lines.size() - limit, logPath)
             .str();
}

/// The failed jobs' errors: the first five with their diagnostics.
static Error compileFailures(const GpuVendor &vendor, const GpuCode &code,
                             ArrayRef<CompileJob> jobs, ArrayRef<size_t> failed,
                             function_ref<std::string(StringRef)> pathOf) {
  Error all = Error::success();
  for (auto [count, index] : llvm::enumerate(failed)) {
    const CompileJob &job = jobs[index];
    const TranslationUnit *unit = code.findUnit(job.module);
    std::string logPath = pathOf(job.log());
    std::string message;
    if (count < 5)
      message =
          formatv("{0} failed to compile {1} for {2} ({3}; {4} launch{5}):\n"
                  "{6}",
                  vendor.compiler, pathOf(job.module + ".cu"), job.arch,
                  unit->firstUse, unit->launches,
                  unit->launches == 1 ? "" : "es",
                  excerpt(readFileOr(logPath, "(no output)"), logPath))
              .str();
    else
      message = formatv("{0} failed to compile {1} for {2} ({3}); see {4}",
                        vendor.compiler, pathOf(job.module + ".cu"), job.arch,
                        unit->firstUse, logPath)
                    .str();
    all = joinErrors(std::move(all), createStringError(message));
  }
  return all;
}

Error compileAndPack(const GpuVendor &vendor, const EmitterOptions &options,
                     StringRef version, const GpuCode &code, StringRef buildDir,
                     BuildObjects build, ReadObject read, unsigned &compiled,
                     std::vector<std::pair<std::string, std::string>> &sections,
                     raw_ostream &log) {
  Expected<std::string> root = findSourceRoot(options.sourceRoot);
  if (!root)
    return root.takeError();
  if (std::error_code ec = sys::fs::create_directories(buildDir))
    return createStringError("kernel cache " + buildDir +
                             ": cannot create: " + ec.message());
  auto pathOf = [&](StringRef name) {
    SmallString<256> path(buildDir);
    sys::path::append(path, name);
    return path.str().str();
  };
  auto jobOf = [&](StringRef module, StringRef arch) {
    return CompileJob{module.str(), arch.str(),
                      vendor.objectExtension(arch).str()};
  };

  std::vector<CompileJob> jobs;
  for (const TranslationUnit &unit : code.units) {
    if (Error error = writeIfAbsent(pathOf(unit.module + ".cu"), unit.source))
      return error;
    for (const std::string &arch : unit.archs)
      jobs.push_back(jobOf(unit.module, arch));
  }

  std::vector<size_t> missing;
  for (auto [index, job] : llvm::enumerate(jobs))
    if (!sys::fs::exists(pathOf(job.object())))
      missing.push_back(index);
  if (!missing.empty()) {
    log << formatv("braidc: compiling {0} {1}{2} of {3} kernel source{4} "
                   "with {5} {6} in {7}\n",
                   missing.size(), vendor.objectNoun,
                   missing.size() == 1 ? "" : "s", code.units.size(),
                   code.units.size() == 1 ? "" : "s", vendor.compiler, version,
                   buildDir);
    log.flush();
    BuildOptions buildOptions;
    buildOptions.dir = buildDir.str();
    buildOptions.includeDirs = deviceIncludeDirs(*root);
    buildOptions.jobs = options.jobs;
    Expected<std::vector<size_t>> failed = build(buildOptions, jobs);
    if (!failed)
      return failed.takeError();
    if (!failed->empty())
      return compileFailures(vendor, code, jobs, *failed, pathOf);
    compiled = missing.size();
  }

  // The objects, their reports, and one archive per architecture.
  for (const std::string &arch : code.archs) {
    std::vector<CodeArchiveMember> members;
    for (const TranslationUnit &unit : code.units) {
      if (!llvm::is_contained(unit.archs, arch))
        continue;
      CompileJob job = jobOf(unit.module, arch);
      std::string path = pathOf(job.object());
      auto payload = MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
      if (!payload)
        return createStringError(
            path + ": cannot read: " + payload.getError().message());
      std::string bytes = (*payload)->getBuffer().str();
      read(job, path, pathOf(job.log()), bytes);
      members.push_back({unit.module, std::move(bytes)});
    }
    Expected<std::string> archive = writeCodeArchive(members);
    if (!archive)
      return archive.takeError();
    sections.emplace_back("code." + arch, std::move(*archive));
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Checks and reports
//===----------------------------------------------------------------------===//

Error Problems::take() {
  Error all = Error::success();
  for (const std::string &message : messages)
    all = joinErrors(std::move(all), createStringError(message));
  messages.clear();
  return all;
}

std::string describeKernel(const KernelInvocation &kernel, StringRef module,
                           StringRef arch, mlir::Operation *op) {
  return formatv("kernel '{0}' of {1}.cu for {2} ({3})", kernel.function,
                 module, arch, describeLaunch(op))
      .str();
}

void printSummary(const GpuCode &code, size_t objects, unsigned compiled,
                  StringRef buildDir, raw_ostream &os) {
  os << formatv("{0} kernel sources, {1} objects ({2} compiled now), cache "
                "{3}\n",
                code.units.size(), objects, compiled, buildDir);
}

} // namespace braid::gpu
