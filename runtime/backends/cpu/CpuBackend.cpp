//===- CpuBackend.cpp - the CPU reference backend -------------------------===//

#include "runtime/backends/cpu/CpuBackend.h"

#include "runtime/src/Error.h"
#include "runtime/src/Manifest.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <sys/mman.h>

namespace {
/// Buffers at least this large are anonymous mappings: page-aligned, zero
/// without being touched, backed by memory only where written.
constexpr size_t kMapThreshold = size_t(1) << 20;
} // namespace

namespace braid::rt {

CpuBackend::CpuBackend(unsigned threads, KernelLookup kernelLookup)
    : lookup(std::move(kernelLookup)),
      pool(std::make_unique<ThreadPool>(threads)) {
  if (!lookup)
    lookup = [](std::string_view family) { return findCpuKernel(family); };
}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::describe() const {
  unsigned n = pool->size();
  return "cpu (" + std::to_string(n) + (n == 1 ? " thread)" : " threads)");
}

uint64_t CpuBackend::availableMemory() const {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:")
      return kib * 1024;
  return 0;
}

DeviceBuffer CpuBackend::allocate(size_t bytes) {
  if (bytes >= kMapThreshold) {
    void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      fail(ErrorCode::OutOfMemory, "cannot allocate " + std::to_string(bytes) +
                                       " bytes of host memory");
    return {p, bytes};
  }
  // 64-byte aligned (cache lines, vector loads); aligned_alloc wants a
  // multiple of the alignment.
  size_t rounded = (bytes + 63) / 64 * 64;
  void *p = rounded ? std::aligned_alloc(64, rounded) : nullptr;
  if (rounded && !p)
    fail(ErrorCode::OutOfMemory,
         "cannot allocate " + std::to_string(bytes) + " bytes of host memory");
  if (p)
    std::memset(p, 0, rounded);
  return {p, bytes};
}

void CpuBackend::release(DeviceBuffer &buffer) {
  if (buffer.bytes >= kMapThreshold)
    ::munmap(buffer.data, buffer.bytes);
  else
    std::free(buffer.data);
  buffer = {};
}

void CpuBackend::upload(const DeviceBuffer &dst, size_t offset, const void *src,
                        size_t bytes) {
  if (bytes)
    std::memcpy(static_cast<char *>(dst.data) + offset, src, bytes);
}

void CpuBackend::download(void *dst, const DeviceBuffer &src, size_t offset,
                          size_t bytes) {
  if (bytes)
    std::memcpy(dst, static_cast<const char *>(src.data) + offset, bytes);
}

void CpuBackend::fillZero(const DeviceBuffer &dst, size_t offset,
                          size_t bytes) {
  if (bytes)
    std::memset(static_cast<char *>(dst.data) + offset, 0, bytes);
}

void CpuBackend::prepare(const Manifest &manifest, const Bundle *) {
  kernels.clear();
  for (const Entry &e : manifest.entries) {
    std::vector<KernelFn> fns;
    for (size_t i = 0; i < e.launches.size(); ++i) {
      const Launch &l = e.launches[i];
      KernelFn fn = lookup(l.kernel);
      if (!fn)
        fail(ErrorCode::Unsupported,
             "kernel family '" + l.kernel +
                 "' is not implemented by the cpu backend (entry '" + e.name +
                 "', launch " + std::to_string(i) +
                 (l.loc.empty() ? "" : ", loc " + l.loc) + ")");
      fns.push_back(fn);
    }
    kernels.push_back(std::move(fns));
  }
}

std::string CpuBackend::launch(size_t entryIndex, size_t launchIndex,
                               KernelCall &call) {
  call.pool = pool.get();
  try {
    return kernels[entryIndex][launchIndex](call);
  } catch (const std::bad_alloc &) {
    return "out of memory";
  } catch (const std::exception &e) {
    return std::string("exception: ") + e.what();
  }
}

bool CpuBackend::hasKernel(std::string_view family) const {
  return lookup(family) != nullptr;
}

} // namespace braid::rt
