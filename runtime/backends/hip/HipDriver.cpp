//===- HipDriver.cpp - the HIP runtime API, loaded at run time ------------===//

#include "runtime/backends/hip/HipDriver.h"

#include "runtime/src/Error.h"
#include "runtime/src/LoadOnce.h"

#include <cstdlib>
#include <dlfcn.h>

namespace braid::rt::hip {

std::string HipDriver::errorText(hipError_t error) const {
  const char *name = getErrorName ? getErrorName(error) : nullptr;
  const char *text = getErrorString ? getErrorString(error) : nullptr;
  std::string out = name && *name ? name : "HIP error " + std::to_string(error);
  // Old runtimes return the name as the string too.
  if (text && *text && (!name || std::string(text) != name))
    out += std::string(" (") + text + ")";
  return out;
}

std::string HipDriver::versionText() const {
  if (version <= 0)
    return "HIP";
  // HIP_VERSION = major * 10000000 + minor * 100000 + patch.
  return "HIP " + std::to_string(version / 10000000) + "." +
         std::to_string(version / 100000 % 100);
}

std::string HipDriver::graphSupport() const {
  const char *missing = !streamBeginCapture ? "hipStreamBeginCapture"
                        : !streamEndCapture ? "hipStreamEndCapture"
                        : !graphInstantiate ? "hipGraphInstantiate"
                        : !graphLaunch      ? "hipGraphLaunch"
                        : !graphDestroy     ? "hipGraphDestroy"
                        : !graphExecDestroy ? "hipGraphExecDestroy"
                                            : nullptr;
  return missing ? libraryPath + " lacks " + missing : "";
}

std::vector<std::string> defaultHipLibraries() {
  if (const char *env = std::getenv("BRAID_HIP_DRIVER"); env && *env)
    return {env};
  return {"libamdhip64.so", "libamdhip64.so.7", "libamdhip64.so.6",
          "libamdhip64.so.5", "/opt/rocm/lib/libamdhip64.so"};
}

namespace {

/// dlopen of the first library that opens; throws listing what was tried.
void *openFirst(const std::vector<std::string> &libraries, std::string &path) {
  std::string tried, firstWhy;
  for (const std::string &l : libraries) {
    dlerror();
    if (void *h = ::dlopen(l.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      path = l;
      return h;
    }
    const char *why = dlerror();
    if (firstWhy.empty() && why)
      firstWhy = why;
    tried += (tried.empty() ? "" : ", ") + l;
  }
  fail(ErrorCode::Unsupported,
       "no HIP runtime: libamdhip64 not found (tried " + tried + ")" +
           (firstWhy.empty() ? std::string() : ": " + firstWhy));
}

} // namespace

std::unique_ptr<HipDriver>
loadHipDriver(const std::vector<std::string> &libraries) {
  auto d = std::make_unique<HipDriver>();
  void *handle = openFirst(libraries, d->libraryPath);
  d->handle = handle;
  const std::string &library = d->libraryPath;
  // A missing symbol closes the library again.
  struct Closer {
    void *handle;
    ~Closer() {
      if (handle)
        ::dlclose(handle);
    }
  } closer{handle};
#define BRAID_HIP_RESOLVE(member, symbol, ret, params)                         \
  d->member = reinterpret_cast<ret(*) params>(::dlsym(handle, #symbol));       \
  if (!d->member)                                                              \
    fail(ErrorCode::Unsupported, "the HIP runtime " + library +                \
                                     " lacks " #symbol                         \
                                     " (ROCm 5.2 or newer is needed)");
  BRAID_HIP_REQUIRED_SYMBOLS(BRAID_HIP_RESOLVE)
#undef BRAID_HIP_RESOLVE
#define BRAID_HIP_RESOLVE_OPTIONAL(member, symbol, ret, params)                \
  d->member = reinterpret_cast<ret(*) params>(::dlsym(handle, #symbol));
  BRAID_HIP_OPTIONAL_SYMBOLS(BRAID_HIP_RESOLVE_OPTIONAL)
#undef BRAID_HIP_RESOLVE_OPTIONAL
  closer.handle = nullptr;
  if (d->runtimeGetVersion && d->runtimeGetVersion(&d->version) != hipSuccess)
    d->version = 0;
  std::string found = "libamdhip64 found (" + library + ", " +
                      d->versionText() + ") but no AMD GPU: ";
  if (hipError_t r = d->init(0); r != hipSuccess)
    fail(ErrorCode::Unsupported, found + "hipInit failed: " + d->errorText(r));
  hipError_t r = d->getDeviceCount(&d->deviceCount);
  if (r != hipSuccess || d->deviceCount < 1)
    fail(ErrorCode::Unsupported,
         found + "hipGetDeviceCount returned " +
             (r != hipSuccess ? d->errorText(r)
                              : std::to_string(d->deviceCount) + " devices"));
  return d;
}

const HipDriver &hipDriver() {
  return loadOnce<HipDriver>(
      [] { return loadHipDriver(defaultHipLibraries()); });
}

} // namespace braid::rt::hip
