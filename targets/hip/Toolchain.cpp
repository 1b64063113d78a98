//===- Toolchain.cpp - clang -x hip, ninja and the kernel cache -----------===//
#include "targets/hip/Toolchain.h"

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

namespace braid::hip {

/// Runs `program args...` and returns its standard output.
static Expected<std::string> capture(StringRef program,
                                     ArrayRef<StringRef> args) {
  SmallString<128> out;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("braidc-hip", "txt", out))
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

ArrayRef<StringRef> knownArchs() {
  static constexpr StringRef archs[] = {"gfx90a", "gfx942", "gfx950"};
  return archs;
}

StringRef objectExtension(StringRef) { return "hsaco"; }

//===----------------------------------------------------------------------===//
// Finding the tools
//===----------------------------------------------------------------------===//

/// The device library folder this build generated (CMake: the Debian
/// bitcode plus oclc_isa_version_942/950 and oclc_abi_version_600).
#ifndef BRAID_HIP_DEVICE_LIBS
#define BRAID_HIP_DEVICE_LIBS ""
#endif

/// The denormal-mode constant Debian's ocml.bc reads (see compileScript).
static constexpr const char *kDazFile = "oclc_daz_opt_off.bc";

static constexpr const char *kInstallHint =
    "scripts/setup.sh installs clang-22, llvm-22-tools, libamdhip64-dev and "
    "rocm-device-libs";

static Error missing(const Twine &what) {
  return createStringError("the HIP target needs " + what + "; " +
                           kInstallHint + ". --emit=source works without it");
}

/// clang from $BRAID_HIP_CLANG, the LLVM 22 folder, then PATH.
static std::string findClang() {
  if (std::optional<std::string> env = sys::Process::GetEnv("BRAID_HIP_CLANG");
      env && sys::fs::can_execute(*env))
    return *env;
  if (sys::fs::can_execute("/usr/lib/llvm-22/bin/clang"))
    return "/usr/lib/llvm-22/bin/clang";
  if (ErrorOr<std::string> found = sys::findProgramByName("clang-22"))
    return *found;
  return "";
}

/// The device libraries: $BRAID_HIP_DEVICE_LIBS, else the build's folder.
/// Both must hold the generated gfx942/gfx950/ABI-6 files.
static Expected<std::string> findDeviceLibs() {
  std::string dir = BRAID_HIP_DEVICE_LIBS;
  if (std::optional<std::string> env =
          sys::Process::GetEnv("BRAID_HIP_DEVICE_LIBS");
      env && !env->empty())
    dir = *env;
  for (StringRef file : {"ocml.bc", kDazFile, "oclc_isa_version_90a.bc",
                         "oclc_isa_version_942.bc", "oclc_isa_version_950.bc",
                         "oclc_abi_version_600.bc"}) {
    SmallString<256> path(dir);
    sys::path::append(path, file);
    if (dir.empty() || !sys::fs::exists(path))
      return missing("the ROCm device libraries with the generated gfx942 / "
                     "gfx950 / ABI 6 files, and '" +
                     path +
                     "' does not exist (rebuild braidc, or set "
                     "BRAID_HIP_DEVICE_LIBS)");
  }
  return dir;
}

Expected<Toolchain> findToolchain() {
  Toolchain toolchain;
  toolchain.clang = findClang();
  if (toolchain.clang.empty())
    return missing("clang 22 and found none (looked at $BRAID_HIP_CLANG, "
                   "/usr/lib/llvm-22/bin/clang, clang-22 on PATH)");
  SmallString<256> readelf(sys::path::parent_path(toolchain.clang));
  sys::path::append(readelf, "llvm-readelf");
  if (sys::fs::can_execute(readelf))
    toolchain.readelf = readelf.str().str();
  else if (ErrorOr<std::string> found =
               sys::findProgramByName("llvm-readelf-22"))
    toolchain.readelf = *found;
  else
    return missing("llvm-readelf (LLVM 22) to read code object metadata");
  if (!sys::fs::exists("/usr/include/hip/hip_runtime.h"))
    return missing("the HIP headers (/usr/include/hip/hip_runtime.h)");
  toolchain.hipInclude = "/usr/include";
  Expected<std::string> libs = findDeviceLibs();
  if (!libs)
    return libs.takeError();
  toolchain.deviceLibs = *libs;

  Expected<std::string> version = capture(toolchain.clang, {"--version"});
  if (!version)
    return version.takeError();
  // "Debian clang version 22.1.8 (++20251202...)"
  SmallVector<StringRef> match;
  if (Regex("clang version ([0-9][0-9.]*)").match(*version, &match))
    toolchain.version = match[1].str();
  else
    toolchain.version = StringRef(*version).trim().split('\n').first.str();
  if (ErrorOr<std::string> ninja = sys::findProgramByName("ninja"))
    toolchain.ninja = *ninja;
  return toolchain;
}

//===----------------------------------------------------------------------===//
// Flags and the cache
//===----------------------------------------------------------------------===//

std::vector<std::string> commonFlags() {
  // Device-only code objects (ELF, not an offload bundle) with Debian's HIP
  // 5.2 headers under --rocm-path=/usr. The old headers predate clang's
  // removal of __AMDGCN_WAVEFRONT_SIZE, so it is given (CDNA is wave64).
  // No -ffast-math: DESIGN.md's tolerances assume IEEE division and sqrt.
  return {"-x",
          "hip",
          "-std=c++17",
          "-O3",
          "--offload-device-only",
          "--no-gpu-bundle-output",
          "--rocm-path=/usr",
          "-D__AMDGCN_WAVEFRONT_SIZE=64",
          "-Wno-unused-command-line-argument",
          "-c"};
}

std::vector<std::string> archFlags(StringRef arch) {
  return {("--offload-arch=" + arch).str()};
}

std::string flagsKey() {
  std::string key = join(commonFlags(), " ") + " +" + kDazFile;
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
  std::string name = "clang-hip-";
  for (char c : toolchain.version)
    name.push_back(isAlnum(c) || c == '.' ? c : '_');
  if (toolchain.version.empty() || name.size() > 40)
    name = "clang-hip-" + gpu::contentHash(toolchain.version);
  SmallString<256> dir(cacheDir);
  sys::path::append(dir, name);
  return dir.str().str();
}

std::string CompileJob::object() const {
  return module + "." + arch + "." + objectExtension(arch).str();
}

std::string CompileJob::log() const {
  return module + "." + arch + ".resources";
}

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

static std::string shellQuote(StringRef text) {
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

/// <dir>/hipcc.sh ARCH MODULE compiles <MODULE>.cu for ARCH inside the
/// build folder: the object is renamed into place only when clang succeeds
/// and its metadata could be read; clang's output and then llvm-readelf
/// --notes go to <MODULE>.<ARCH>.resources.
static std::string compileScript(const Toolchain &toolchain,
                                 const BuildOptions &options) {
  std::string clang = shellQuote(toolchain.clang);
  for (const std::string &flag : commonFlags())
    clang += " " + shellQuote(flag);
  clang += " --rocm-device-lib-path=" + shellQuote(toolchain.deviceLibs);
  // clang 22 no longer links an oclc_daz_opt file, but Debian's older
  // ocml.bc still reads __oclc_daz_opt on gfx94x/gfx950: link the "off"
  // variant (denormals kept, IEEE) explicitly. Its global is linkonce_odr.
  SmallString<256> daz(toolchain.deviceLibs);
  sys::path::append(daz, kDazFile);
  clang += " -Xclang -mlink-builtin-bitcode -Xclang " + shellQuote(daz);
  for (const std::string &dir : options.includeDirs)
    clang += " -I" + shellQuote(dir);
  std::string text =
      "#!/bin/sh\n# Written by braidc (targets/hip/Toolchain.cpp): "
      "hipcc.sh ARCH MODULE compiles\n# MODULE.cu in this folder for ARCH "
      "and appends the object's metadata notes.\nset -u\narch=$1\n"
      "module=$2\ncase $arch in\n";
  for (StringRef arch : knownArchs()) {
    std::string flags;
    for (const std::string &flag : archFlags(arch))
      flags += " " + shellQuote(flag);
    text += formatv("  {0}) out=$module.{0}.{1}; flags='{2}' ;;\n", arch,
                    objectExtension(arch), StringRef(flags).ltrim())
                .str();
  }
  text += "  *) echo \"hipcc.sh: unknown architecture $arch\" >&2; exit 2 ;;\n"
          "esac\n"
          "log=\"$module.$arch.resources\"\n"
          "if " +
          clang +
          " $flags -o \"$out.tmp\" \"$module.cu\" > \"$log\" "
          "2>&1 && " +
          shellQuote(toolchain.readelf) +
          " --notes \"$out.tmp\" >> \"$log\" 2>&1; then\n"
          "  mv -f \"$out.tmp\" \"$out\"\n"
          "else\n"
          "  rm -f \"$out.tmp\"\n"
          "  exit 1\n"
          "fi\n";
  return text;
}

static std::string jobCommand(const CompileJob &job) {
  return "sh hipcc.sh " + job.arch + " " + job.module;
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

static std::string ninjaFile(ArrayRef<CompileJob> jobs) {
  std::string text =
      "# Written by braidc: compiles the HIP kernels of one build. Objects "
      "are named\n# by the hash of their source and flags; rerun with "
      "`ninja -C <this folder>`.\nninja_required_version = 1.3\n\n"
      "rule hipcc\n  command = sh hipcc.sh $arch $module\n"
      "  description = clang -x hip $arch $module.cu\n\n";
  for (const CompileJob &job : jobs)
    text += formatv("build {0}: hipcc {1}.cu | hipcc.sh\n  arch = {2}\n"
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
      progress << formatv("[{0}/{1}] clang -x hip {2} {3}.cu\n", next + 1,
                          jobs.size(), job.arch, job.module);
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
    sys::path::append(scriptPath, "hipcc.sh");
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
// Code object metadata
//===----------------------------------------------------------------------===//

std::vector<KernelResources> parseMetadataNotes(StringRef text) {
  // llvm-readelf --notes prints the NT_AMDGPU_METADATA msgpack as YAML:
  //   amdhsa.kernels:
  //     - .agpr_count:     0
  //       .args: ...            (nested, deeper indentation)
  //       .name:           braid_linear_main
  //       .private_segment_fixed_size: 0
  // One kernel per item at indentation 2; its keys at indentation 4.
  std::vector<KernelResources> kernels;
  bool inKernels = false;
  SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (StringRef line : lines) {
    line = line.rtrim();
    if (line.starts_with("amdhsa.kernels:")) {
      inKernels = true;
      continue;
    }
    if (!inKernels)
      continue;
    if (!line.empty() && line.front() != ' ' && line.front() != '-') {
      inKernels = false; // the next top-level key (amdhsa.target, ...)
      continue;
    }
    StringRef entry;
    if (line.starts_with("  - .")) {
      kernels.emplace_back();
      entry = line.drop_front(4);
    } else if (line.starts_with("    .") && !kernels.empty()) {
      entry = line.drop_front(4);
    } else {
      continue;
    }
    auto [key, value] = entry.split(':');
    value = value.trim();
    KernelResources &k = kernels.back();
    auto integer = [&](int64_t &field) { value.getAsInteger(10, field); };
    if (key == ".name")
      k.function = value.str();
    else if (key == ".vgpr_count")
      integer(k.vgprs);
    else if (key == ".agpr_count")
      integer(k.agprs);
    else if (key == ".sgpr_count")
      integer(k.sgprs);
    else if (key == ".group_segment_fixed_size")
      integer(k.ldsBytes);
    else if (key == ".private_segment_fixed_size")
      integer(k.scratchBytes);
    else if (key == ".vgpr_spill_count")
      integer(k.vgprSpills);
    else if (key == ".sgpr_spill_count")
      integer(k.sgprSpills);
    else if (key == ".wavefront_size")
      integer(k.wavefrontSize);
    else if (key == ".max_flat_workgroup_size")
      integer(k.maxWorkgroupSize);
    else if (key == ".uses_dynamic_stack")
      k.dynamicStack = value == "true";
  }
  return kernels;
}

ArchLimits archLimits(StringRef arch) {
  ArchLimits limits;
  // LDS per workgroup: 64 KiB on CDNA2/CDNA3, 160 KiB on CDNA4 (gfx950).
  limits.ldsBytesPerWorkgroup = arch == "gfx950" ? 160 * 1024 : 64 * 1024;
  return limits;
}

} // namespace braid::hip
