//===- CudaDriver.cpp - the CUDA driver API, loaded at run time -----------===//

#include "runtime/backends/cuda/CudaDriver.h"

#include "runtime/src/Error.h"
#include "runtime/src/LoadOnce.h"

#include <cstdlib>
#include <dlfcn.h>

namespace braid::rt::cu {

std::string CudaDriver::errorText(CUresult error) const {
  const char *name = nullptr, *text = nullptr;
  if (getErrorName && getErrorName(error, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (getErrorString && getErrorString(error, &text) != CUDA_SUCCESS)
    text = nullptr;
  std::string out = name ? name : "CUDA error " + std::to_string(error);
  if (text)
    out += std::string(" (") + text + ")";
  return out;
}

std::string CudaDriver::versionText() const {
  return "CUDA " + std::to_string(version / 1000) + "." +
         std::to_string(version % 1000 / 10);
}

std::string defaultDriverLibrary() {
  const char *env = std::getenv("BRAID_CUDA_DRIVER");
  return env && *env ? env : "libcuda.so.1";
}

std::unique_ptr<CudaDriver> loadCudaDriver(const std::string &library) {
  dlerror();
  void *handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    fail(ErrorCode::Unsupported,
         "no CUDA driver: " + library + " not found" +
             (why ? std::string(" (") + why + ")" : std::string()));
  }
  auto d = std::make_unique<CudaDriver>();
  d->libraryPath = library;
  d->handle = handle;
  // A missing symbol closes the library again.
  struct Closer {
    void *handle;
    ~Closer() {
      if (handle)
        ::dlclose(handle);
    }
  } closer{handle};
#define BRAID_CUDA_RESOLVE(member, symbol, ret, params)                        \
  d->member = reinterpret_cast<ret(*) params>(::dlsym(handle, #symbol));       \
  if (!d->member)                                                              \
    fail(ErrorCode::Unsupported, "the CUDA driver " + library +                \
                                     " lacks " #symbol                         \
                                     " (a driver for CUDA 11.4 or newer is "   \
                                     "needed)");
  BRAID_CUDA_DRIVER_SYMBOLS(BRAID_CUDA_RESOLVE)
#undef BRAID_CUDA_RESOLVE
#define BRAID_CUDA_RESOLVE_OPTIONAL(member, symbol, ret, params)               \
  d->member = reinterpret_cast<ret(*) params>(::dlsym(handle, #symbol));
  BRAID_CUDA_OPTIONAL_SYMBOLS(BRAID_CUDA_RESOLVE_OPTIONAL)
#undef BRAID_CUDA_RESOLVE_OPTIONAL
  if (!d->eventElapsedTime) // a driver older than CUDA 12.8
    d->eventElapsedTime = reinterpret_cast<decltype(d->eventElapsedTime)>(
        ::dlsym(handle, "cuEventElapsedTime"));
  closer.handle = nullptr;
  if (CUresult r = d->init(0); r != CUDA_SUCCESS)
    fail(ErrorCode::Unsupported,
         "the CUDA driver " + library +
             " is present but cuInit failed: " + d->errorText(r));
  if (d->driverGetVersion(&d->version) != CUDA_SUCCESS)
    d->version = 0;
  return d;
}

const CudaDriver &cudaDriver() {
  return loadOnce<CudaDriver>(
      [] { return loadCudaDriver(defaultDriverLibrary()); });
}

} // namespace braid::rt::cu
