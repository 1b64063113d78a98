//===- GpuBackend.cpp - what the CUDA and HIP backends share --------------===//

#include "runtime/src/GpuBackend.h"

#include "runtime/src/Manifest.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace braid::rt {

namespace {

bool envFlag(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

/// Device allocations are rounded up to this granule (and never empty).
constexpr size_t kAllocationGranule = 256;

void *offsetBy(void *p, size_t offset) {
  return static_cast<char *>(p) + offset;
}

} // namespace

GpuBackend::GpuBackend(const Api &a, bool useGraphs)
    : api(a), graphs(useGraphs) {
  syncEach = envFlag(api.syncEnv);
  printStats = envFlag(api.statsEnv);
  if (syncEach)
    graphs = false;
}

void GpuBackend::shutdown() {
  makeCurrent();
  streamSync();
  destroyGraphs();
  if (workspace)
    memFree(workspace);
  if (scratch)
    memFree(scratch);
  workspace = scratch = nullptr;
  if (printStats)
    std::fprintf(stderr,
                 "braid %s: %llu kernels launched one by one, %llu decode "
                 "graph capture%s, %llu replay%s\n",
                 api.backend, (unsigned long long)counters.kernels,
                 (unsigned long long)counters.graphCaptures,
                 counters.graphCaptures == 1 ? "" : "s",
                 (unsigned long long)counters.graphReplays,
                 counters.graphReplays == 1 ? "" : "s");
  printStats = false;
}

void GpuBackend::check(int r, const std::string &what, ErrorCode code) const {
  if (r == 0)
    return;
  fail(outOfMemory(r) ? ErrorCode::OutOfMemory : code,
       what + ": " + errorText(r));
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

DeviceBuffer GpuBackend::allocate(size_t bytes) {
  makeCurrent();
  size_t rounded = std::max<size_t>((bytes + kAllocationGranule - 1) /
                                        kAllocationGranule * kAllocationGranule,
                                    kAllocationGranule);
  void *p = nullptr;
  check(memAlloc(&p, rounded),
        "cannot allocate " + std::to_string(bytes) + " bytes of GPU memory",
        ErrorCode::OutOfMemory);
  if (int r = memZero(p, rounded); r != 0) {
    memFree(p);
    check(r, std::string(api.memset) + " of a new allocation");
  }
  return {p, bytes};
}

void GpuBackend::release(DeviceBuffer &buffer) {
  if (buffer.data) {
    makeCurrent();
    memFree(buffer.data);
  }
  buffer = {};
}

void GpuBackend::upload(const DeviceBuffer &dst, size_t offset, const void *src,
                        size_t bytes) {
  if (!bytes)
    return;
  if (offset + bytes > dst.bytes)
    fail(ErrorCode::Internal, "upload of " + std::to_string(bytes) +
                                  " bytes at offset " + std::to_string(offset) +
                                  " into a buffer of " +
                                  std::to_string(dst.bytes));
  makeCurrent();
  check(copyToDevice(offsetBy(dst.data, offset), src, bytes),
        "copy of " + std::to_string(bytes) + " bytes to the GPU");
}

void GpuBackend::download(void *dst, const DeviceBuffer &src, size_t offset,
                          size_t bytes) {
  if (!bytes)
    return;
  if (offset + bytes > src.bytes)
    fail(ErrorCode::Internal, "download of " + std::to_string(bytes) +
                                  " bytes at offset " + std::to_string(offset) +
                                  " from a buffer of " +
                                  std::to_string(src.bytes));
  makeCurrent();
  check(copyFromDevice(dst, offsetBy(src.data, offset), bytes),
        "copy of " + std::to_string(bytes) + " bytes from the GPU");
}

void GpuBackend::fillZero(const DeviceBuffer &dst, size_t offset,
                          size_t bytes) {
  if (!bytes)
    return;
  makeCurrent();
  check(memZero(offsetBy(dst.data, offset), bytes),
        std::string(api.memset) + " of " + std::to_string(bytes) + " bytes");
}

size_t GpuBackend::weightBytes(const WeightDecl &w) const {
  return size_t(w.numel()) * byteWidth(w.dtype);
}

void GpuBackend::uploadWeight(const DeviceBuffer &dst, const WeightDecl &w,
                              const float *values) {
  std::vector<char> bytes = gpu::deviceWeightBytes(w, values, api.backend);
  upload(dst, 0, bytes.data(), bytes.size());
}

//===----------------------------------------------------------------------===//
// launch / synchronize
//===----------------------------------------------------------------------===//

void GpuBackend::setPrepared(
    const Manifest &manifest,
    std::vector<std::vector<gpu::PreparedLaunch>> launches) {
  entryNames.clear();
  decodeEntry.reset();
  for (size_t e = 0; e < manifest.entries.size(); ++e) {
    entryNames.push_back(manifest.entries[e].name);
    if (manifest.entries[e].name == "decode")
      decodeEntry = e;
  }
  prepared = std::move(launches);
}

std::string GpuBackend::launch(size_t entryIndex, size_t launchIndex,
                               KernelCall &call) {
  if (entryIndex >= prepared.size() ||
      launchIndex >= prepared[entryIndex].size())
    return std::string("the ") + api.backend +
           " backend was not prepared for this launch";
  pending.add(entryIndex, launchIndex, prepared[entryIndex][launchIndex], call);
  return "";
}

void GpuBackend::ensureBuffer(void *&buffer, size_t &capacity, size_t bytes,
                              const char *what) {
  if (bytes <= capacity)
    return;
  makeCurrent();
  check(streamSync(), std::string("waiting before growing ") + what);
  if (buffer)
    memFree(buffer);
  buffer = nullptr;
  capacity = 0;
  size_t rounded = (bytes + (1u << 20) - 1) / (1u << 20) * (1u << 20);
  check(memAlloc(&buffer, rounded),
        "cannot allocate " + std::to_string(bytes) +
            " bytes of GPU memory for " + what,
        ErrorCode::OutOfMemory);
  capacity = rounded;
}

std::vector<gpu::KernelOp> GpuBackend::buildOps(size_t entry) {
  // The workspace first: every kernel gets its address.
  gpu::PendingCall::Sizes need = pending.sizes(prepared[entry]);
  ensureBuffer(workspace, workspaceBytes, need.workspace,
               "the kernels' workspace");
  ensureBuffer(scratch, scratchBytes, need.widen, "bf16 outputs");
  return pending.ops(prepared[entry], workspace, scratch, widenFunction);
}

void GpuBackend::runOps(size_t entry, const std::vector<gpu::KernelOp> &ops) {
  for (const gpu::KernelOp &op : ops) {
    int r = launchKernel(op);
    if (r != 0)
      fail(ErrorCode::Kernel,
           gpu::kernelLabel(prepared[entry][op.launch], op.kernel, &op) + ": " +
               api.launch + ": " + errorText(r));
    ++counters.kernels;
    if (syncEach)
      if (r = streamSync(); r != 0)
        fail(ErrorCode::Kernel,
             gpu::kernelLabel(prepared[entry][op.launch], op.kernel, &op) +
                 " failed: " + errorText(r));
  }
}

void GpuBackend::runGraph(size_t entry, int64_t batch,
                          std::vector<gpu::KernelOp> &ops) {
  Graph &g = decodeGraphs[batch];
  std::string what = " (decode graph for batch " + std::to_string(batch);
  if (!g.exec || !gpu::sameOps(ops, g.ops)) {
    if (g.exec)
      destroyExec(g.exec);
    g = {};
    check(beginCapture(), api.beginCapture + what + ")");
    void *graph = nullptr;
    try {
      runOps(entry, ops);
    } catch (...) {
      if (endCapture(&graph) == 0 && graph)
        destroyGraph(graph);
      throw;
    }
    counters.kernels -= ops.size(); // captured, not launched
    check(endCapture(&graph), api.endCapture + what + ")");
    void *exec = nullptr;
    int r = instantiate(&exec, graph);
    destroyGraph(graph);
    check(r, api.instantiate + what + ", " + std::to_string(ops.size()) +
                 " kernels)");
    g.exec = exec;
    g.ops = std::move(ops);
    ++counters.graphCaptures;
  }
  check(graphLaunch(g.exec), api.graphLaunch + what + ")");
  ++counters.graphReplays;
}

void GpuBackend::destroyGraphs() {
  for (auto &[batch, g] : decodeGraphs)
    if (g.exec)
      destroyExec(g.exec);
  decodeGraphs.clear();
}

std::string GpuBackend::flush() {
  makeCurrent();
  if (pending.entry() && pending.size()) {
    size_t entry = *pending.entry();
    std::vector<gpu::KernelOp> ops = buildOps(entry);
    if (graphs && decodeEntry && entry == *decodeEntry)
      runGraph(entry, pending.symbols().dims[0], ops);
    else
      runOps(entry, ops);
  }
  size_t launched = pending.size();
  pending.clear();
  if (int r = streamSync(); r != 0)
    return errorText(r) + " while running " + std::to_string(launched) +
           " launches; set " + api.syncEnv + "=1 to find the kernel";
  return "";
}

std::string GpuBackend::synchronize() {
  std::string entry = pending.entry() && *pending.entry() < entryNames.size()
                          ? entryNames[*pending.entry()]
                          : std::string(api.backend);
  try {
    return flush();
  } catch (const Error &e) {
    pending.clear();
    streamSync();
    if (e.code() == ErrorCode::Kernel)
      return e.what(); // the executor names the entry
    fail(e.code(), entry + ": " + e.what());
  }
}

} // namespace braid::rt
