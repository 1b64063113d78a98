//===- Backend.cpp - the backends built into this runtime -----------------===//

#include "runtime/src/Backend.h"

#include "runtime/backends/cpu/CpuBackend.h"
#include "runtime/src/Error.h"
#include "runtime/src/Manifest.h"

#include <cstring>
#ifdef BRAID_HAVE_CUDA_BACKEND
#include "runtime/backends/cuda/CudaBackend.h"
#endif
#ifdef BRAID_HAVE_HIP_BACKEND
#include "runtime/backends/hip/HipBackend.h"
#endif

namespace braid::rt {

namespace {
KernelLookup &defaultLookup() {
  static KernelLookup lookup;
  return lookup;
}
} // namespace

void setDefaultKernelLookupForTesting(KernelLookup lookup) {
  defaultLookup() = std::move(lookup);
}

size_t Backend::weightBytes(const WeightDecl &weight) const {
  return size_t(weight.numel()) * sizeof(float);
}

void Backend::uploadWeight(const DeviceBuffer &dst, const WeightDecl &weight,
                           const float *values) {
  upload(dst, 0, values, size_t(weight.numel()) * sizeof(float));
}

void Backend::copyBuffer(const DeviceBuffer &dst, size_t dstOffset,
                         const DeviceBuffer &src, size_t srcOffset,
                         size_t bytes) {
  if (!bytes)
    return;
  if (!hostAddressable())
    fail(ErrorCode::Unsupported,
         "the " + name() + " backend cannot copy between its buffers");
  if (dstOffset + bytes > dst.bytes || srcOffset + bytes > src.bytes)
    fail(ErrorCode::Internal,
         "copy of " + std::to_string(bytes) + " bytes from offset " +
             std::to_string(srcOffset) + " of a " + std::to_string(src.bytes) +
             "-byte buffer to offset " + std::to_string(dstOffset) + " of a " +
             std::to_string(dst.bytes) + "-byte buffer");
  std::memmove(static_cast<char *>(dst.data) + dstOffset,
               static_cast<const char *>(src.data) + srcOffset, bytes);
}

std::vector<std::string> availableBackends() {
  std::vector<std::string> names = {"cpu"};
#ifdef BRAID_HAVE_CUDA_BACKEND
  names.push_back("cuda");
#endif
#ifdef BRAID_HAVE_HIP_BACKEND
  names.push_back("hip");
#endif
  return names;
}

std::unique_ptr<Backend> createBackend(const BackendOptions &options) {
  if (options.name == "cpu")
    return std::make_unique<CpuBackend>(
        options.threads,
        options.kernelLookup ? options.kernelLookup : defaultLookup());
#ifdef BRAID_HAVE_CUDA_BACKEND
  if (options.name == "cuda")
    return createCudaBackend(options);
#endif
#ifdef BRAID_HAVE_HIP_BACKEND
  if (options.name == "hip")
    return createHipBackend(options);
#endif
  std::string list;
  for (const std::string &b : availableBackends())
    list += (list.empty() ? "" : ", ") + b;
  if (options.name == "cuda" || options.name == "hip")
    fail(ErrorCode::Unsupported, "backend '" + options.name +
                                     "' is not built into this runtime yet "
                                     "(available: " +
                                     list + ")");
  fail(ErrorCode::Unsupported,
       "unknown backend '" + options.name + "' (available: " + list + ")");
}

} // namespace braid::rt
