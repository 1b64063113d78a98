//===- Toolchain.cpp - nvcc, ninja and the kernel cache -------------------===//
#include "targets/cuda/Toolchain.h"

#include "targets/common/GpuCode.h"

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
#include "llvm/Support/Regex.h"
#include "llvm/Support/Threading.h"

#include <chrono>
#include <map>

using namespace llvm;

namespace braid::cuda {

ArrayRef<StringRef> knownArchs() {
  static constexpr StringRef archs[] = {"sm_80", "sm_90a", "compute_90"};
  return archs;
}

bool isPTXArch(StringRef arch) { return arch.starts_with("compute_"); }

StringRef objectExtension(StringRef arch) {
  return isPTXArch(arch) ? "ptx" : "cubin";
}

//===----------------------------------------------------------------------===//
// Finding the tools
//===----------------------------------------------------------------------===//

/// Runs `program args...` and returns its standard output.
static Expected<std::string> capture(StringRef program,
                                     ArrayRef<StringRef> args) {
  SmallString<128> out;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("braidc-nvcc", "txt", out))
    return createStringError("cannot create a temporary file: " +
                             ec.message());
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
                error.empty() ? "exit status " + std::to_string(status)
                              : error,
                text ? (*text)->getBuffer().trim() : "")
            .str());
  return text ? (*text)->getBuffer().str() : std::string();
}

Expected<Toolchain> findToolchain() {
  Toolchain toolchain;
  std::vector<std::string> tried;
  auto tryPath = [&](StringRef dir) {
    SmallString<256> path(dir);
    sys::path::append(path, "nvcc");
    tried.push_back(path.str().str());
    if (toolchain.nvcc.empty() && sys::fs::can_execute(path))
      toolchain.nvcc = path.str().str();
  };
  if (std::optional<std::string> home = sys::Process::GetEnv("CUDA_HOME");
      home && !home->empty()) {
    SmallString<256> bin(*home);
    sys::path::append(bin, "bin");
    tryPath(bin);
  }
  tryPath("/usr/local/cuda/bin");
  if (toolchain.nvcc.empty()) {
    tried.push_back("nvcc on PATH");
    if (ErrorOr<std::string> found = sys::findProgramByName("nvcc"))
      toolchain.nvcc = *found;
  }
  if (toolchain.nvcc.empty())
    return createStringError(
        "the CUDA target compiles kernels with nvcc and found none (looked "
        "at " + join(tried, ", ") +
        "); install the CUDA toolkit or set CUDA_HOME to it. --emit=source "
        "works without it");

  Expected<std::string> version = capture(toolchain.nvcc, {"--version"});
  if (!version)
    return version.takeError();
  // "Cuda compilation tools, release 13.0, V13.0.88"
  SmallVector<StringRef> match;
  if (Regex(", (V[0-9][0-9.]*)").match(*version, &match))
    toolchain.version = match[1].str();
  else
    toolchain.version = StringRef(*version).trim().rsplit('\n').second.str();
  if (ErrorOr<std::string> ninja = sys::findProgramByName("ninja"))
    toolchain.ninja = *ninja;
  return toolchain;
}

//===----------------------------------------------------------------------===//
// Flags and the cache
//===----------------------------------------------------------------------===//

std::vector<std::string> commonFlags() {
  // No --use_fast_math: the GPU tolerances (DESIGN.md, Numerics) assume
  // IEEE division, square root and exp. -lineinfo costs no speed and lets
  // compute-sanitizer and profilers name source lines.
  return {"-std=c++17", "-O3", "-lineinfo"};
}

std::vector<std::string> archFlags(StringRef arch) {
  if (isPTXArch(arch))
    return {"-ptx", ("-arch=" + arch).str()};
  return {"-cubin", ("-arch=" + arch).str(), "-Xptxas", "-v"};
}

std::string flagsKey() {
  std::string key = join(commonFlags(), " ");
  for (StringRef arch : knownArchs())
    key += "\n" + arch.str() + ": " + join(archFlags(arch), " ");
  return key;
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

std::string toolchainDir(StringRef cacheDir, const Toolchain &toolchain) {
  std::string name = "nvcc-";
  for (char c : toolchain.version)
    name.push_back(isAlnum(c) || c == '.' ? c : '_');
  if (toolchain.version.empty() || name.size() > 40)
    name = "nvcc-" + gpu::contentHash(toolchain.version);
  SmallString<256> dir(cacheDir);
  sys::path::append(dir, name);
  return dir.str().str();
}

std::string CompileJob::object() const {
  return module + "." + arch + "." + objectExtension(arch).str();
}

std::string CompileJob::log() const { return module + "." + arch + ".resources"; }

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

static std::string shellQuote(StringRef text) {
  if (!text.empty() && text.find_first_not_of(
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

/// <dir>/nvcc.sh ARCH MODULE compiles <MODULE>.cu for ARCH inside the
/// build folder: the object is renamed into place only when nvcc succeeds,
/// and nvcc's output (with ptxas -v) goes to <MODULE>.<ARCH>.resources. One
/// script keeps Ninja's lines short ("sh nvcc.sh sm_80 k..." on a failure).
static std::string compileScript(const Toolchain &toolchain,
                                 const BuildOptions &options) {
  std::string nvcc = shellQuote(toolchain.nvcc);
  for (const std::string &flag : commonFlags())
    nvcc += " " + shellQuote(flag);
  for (const std::string &dir : options.includeDirs)
    nvcc += " -I" + shellQuote(dir);
  std::string text = "#!/bin/sh\n# Written by braidc (targets/cuda/Toolchain.cpp): "
                     "nvcc.sh ARCH MODULE compiles\n# MODULE.cu in this folder "
                     "for ARCH.\nset -u\narch=$1\nmodule=$2\ncase $arch in\n";
  for (StringRef arch : knownArchs()) {
    std::string flags;
    for (const std::string &flag : archFlags(arch))
      flags += " " + shellQuote(flag);
    text += formatv("  {0}) out=$module.{0}.{1}; flags='{2}' ;;\n", arch,
                    objectExtension(arch), StringRef(flags).ltrim())
                .str();
  }
  text += "  *) echo \"nvcc.sh: unknown architecture $arch\" >&2; exit 2 ;;\n"
          "esac\n"
          "if " + nvcc + " $flags -o \"$out.tmp\" \"$module.cu\" > "
          "\"$module.$arch.resources\" 2>&1; then\n"
          "  mv -f \"$out.tmp\" \"$out\"\n"
          "else\n"
          "  rm -f \"$out.tmp\"\n"
          "  exit 1\n"
          "fi\n";
  return text;
}

static std::string jobCommand(const CompileJob &job) {
  return "sh nvcc.sh " + job.arch + " " + job.module;
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
      return createStringError(path + ": cannot write: " +
                               os.error().message());
    }
  }
  if (std::error_code ec = sys::fs::rename(tempPath, path)) {
    sys::fs::remove(tempPath);
    return createStringError(path + ": cannot write: " + ec.message());
  }
  return Error::success();
}

static std::string ninjaFile(ArrayRef<CompileJob> jobs) {
  std::string text =
      "# Written by braidc: compiles the CUDA kernels of one build. Objects "
      "are named\n# by the hash of their source and flags; rerun with "
      "`ninja -C <this folder>`.\nninja_required_version = 1.3\n\n"
      "rule nvcc\n  command = sh nvcc.sh $arch $module\n"
      "  description = nvcc $arch $module.cu\n\n";
  for (const CompileJob &job : jobs)
    text += formatv("build {0}: nvcc {1}.cu | nvcc.sh\n  arch = {2}\n"
                    "  module = {1}\n",
                    job.object(), job.module, job.arch)
                .str();
  return text;
}

/// Runs the commands without Ninja, a few at a time.
static void runWithoutNinja(const BuildOptions &options,
                            ArrayRef<CompileJob> jobs, raw_ostream &progress) {
  unsigned parallel =
      options.jobs
          ? options.jobs
          : std::max(1u, llvm::hardware_concurrency().compute_thread_count());
  std::vector<sys::ProcessInfo> running;
  for (size_t next = 0; next < jobs.size() || !running.empty();) {
    while (next < jobs.size() && running.size() < parallel) {
      const CompileJob &job = jobs[next];
      progress << formatv("[{0}/{1}] nvcc {2} {3}.cu\n", next + 1, jobs.size(),
                          job.arch, job.module);
      progress.flush();
      std::string command =
          "cd " + shellQuote(options.dir) + " && " + jobCommand(job);
      StringRef argv[] = {"/bin/sh", "-c", command};
      running.push_back(sys::ExecuteNoWait("/bin/sh", argv, std::nullopt));
      ++next;
    }
    // Failures show as missing objects afterwards.
    sys::Wait(running.front(), std::nullopt);
    running.erase(running.begin());
  }
}

Expected<std::vector<size_t>> buildObjects(const Toolchain &toolchain,
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

  // Only what is still missing (another process may have built it).
  std::vector<CompileJob> todo;
  for (const CompileJob &job : jobs) {
    SmallString<256> object(options.dir);
    sys::path::append(object, job.object());
    if (!sys::fs::exists(object))
      todo.push_back(job);
  }
  if (!todo.empty()) {
    SmallString<256> scriptPath(options.dir);
    sys::path::append(scriptPath, "nvcc.sh");
    std::string script = compileScript(toolchain, options);
    // Rewritten only when it changes, so that Ninja keeps what is built.
    auto old = MemoryBuffer::getFile(scriptPath);
    if (!old || (*old)->getBuffer() != script)
      if (Error error = writeFileAtomically(scriptPath, script))
        return std::move(error);
    SmallString<256> ninjaPath(options.dir);
    sys::path::append(ninjaPath, "build.ninja");
    if (Error error = writeFileAtomically(ninjaPath, ninjaFile(todo)))
      return std::move(error);
    if (!toolchain.ninja.empty()) {
      // Ninja's status lines go to our stderr; -k 0 reports every failure.
      std::string command = "cd " + shellQuote(options.dir) + " && " +
                            shellQuote(toolchain.ninja) + " -k 0";
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
      runWithoutNinja(options, todo, progress);
    }
  }

  std::vector<size_t> failed;
  for (auto [index, job] : llvm::enumerate(jobs)) {
    SmallString<256> object(options.dir);
    sys::path::append(object, job.object());
    if (!sys::fs::exists(object))
      failed.push_back(index);
  }
  return failed;
}

//===----------------------------------------------------------------------===//
// Resource reports
//===----------------------------------------------------------------------===//

std::vector<FunctionResources> parsePtxasReport(StringRef text) {
  std::vector<FunctionResources> functions;
  std::map<std::string, size_t> index;
  auto get = [&](StringRef name) -> FunctionResources & {
    auto [it, inserted] = index.try_emplace(name.str(), functions.size());
    if (inserted) {
      functions.emplace_back();
      functions.back().function = name.str();
    }
    return functions[it->second];
  };
  // ptxas -v, per function:
  //   ptxas info    : Compiling entry function 'NAME' for 'sm_90a'
  //   ptxas info    : Function properties for NAME
  //       0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
  //   ptxas info    : Used 8 registers, used 0 barriers, 512 bytes smem, ...
  Regex entryRe("Compiling entry function '([^']+)'");
  Regex propertiesRe("Function properties for ([^ ]+)");
  Regex frameRe("([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, "
                "([0-9]+) bytes spill loads");
  Regex usedRe("Used ([0-9]+) registers");
  Regex barriersRe("used ([0-9]+) barriers");
  Regex smemRe("([0-9]+) bytes smem");
  std::string current, properties;
  SmallVector<StringRef> line;
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (StringRef row : lines) {
    if (entryRe.match(row, &line)) {
      current = line[1].str();
      get(current).entry = true;
      properties.clear();
    } else if (propertiesRe.match(row, &line)) {
      properties = line[1].str();
      get(properties);
    } else if (frameRe.match(row, &line)) {
      if (properties.empty())
        continue;
      FunctionResources &f = get(properties);
      line[1].getAsInteger(10, f.stackFrame);
      line[2].getAsInteger(10, f.spillStores);
      line[3].getAsInteger(10, f.spillLoads);
    } else if (usedRe.match(row, &line)) {
      if (current.empty())
        continue;
      FunctionResources &f = get(current);
      line[1].getAsInteger(10, f.registers);
      if (barriersRe.match(row, &line))
        line[1].getAsInteger(10, f.barriers);
      if (smemRe.match(row, &line))
        line[1].getAsInteger(10, f.sharedBytes);
    }
  }
  return functions;
}

ArchLimits archLimits(StringRef arch) {
  ArchLimits limits;
  // The largest dynamic + static shared memory one block may opt into:
  // 163 KiB on sm_80 (A100), 227 KiB on sm_90 (H100).
  limits.sharedBytesPerBlock = arch.starts_with("sm_9") ? 227 * 1024
                                                        : 163 * 1024;
  return limits;
}

} // namespace braid::cuda
