//===- GpuBackend.cpp - what the CUDA and HIP backends share --------------===//

#include "runtime/src/GpuBackend.h"

#include "runtime/src/Manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>

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
  if (const char *path = std::getenv("BRAID_PROFILE"); path && *path)
    profilePath = path;
  if (syncEach)
    graphs = false;
  if (const char *skip = std::getenv("BRAID_SKIP_KERNELS"))
    for (std::string_view rest = skip; !rest.empty();) {
      const size_t comma = std::min(rest.find(','), rest.size());
      if (comma > 0)
        skipKernels.emplace_back(rest.substr(0, comma));
      rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
  listKernels = envFlag("BRAID_LIST_KERNELS");
}

bool GpuBackend::skipsKernel(const std::string &label) {
  for (const std::string &s : skipKernels) {
    if (label.find(s) == std::string::npos)
      continue;
    if (!warnedSkip)
      std::fprintf(stderr,
                   "braid %s: BRAID_SKIP_KERNELS leaves out every launch whose "
                   "label contains one of its strings (first: %s): the "
                   "results are wrong, only the time means something\n",
                   api.backend, label.c_str());
    warnedSkip = true;
    ++counters.skipped;
    return true;
  }
  return false;
}

void GpuBackend::shutdown() {
  makeCurrent();
  streamSync();
  if (!profilePath.empty())
    writeProfile();
  for (void *e : events)
    eventDestroy(e);
  events.clear();
  destroyGraphs();
  if (workspace)
    memFree(workspace);
  workspace = nullptr;
  if (printStats)
    std::fprintf(stderr,
                 "braid %s: %llu kernels launched one by one, %llu decode "
                 "graph capture%s, %llu replay%s%s\n",
                 api.backend, (unsigned long long)counters.kernels,
                 (unsigned long long)counters.graphCaptures,
                 counters.graphCaptures == 1 ? "" : "s",
                 (unsigned long long)counters.graphReplays,
                 counters.graphReplays == 1 ? "" : "s",
                 counters.skipped ? (", " + std::to_string(counters.skipped) +
                                     " launches left out (BRAID_SKIP_KERNELS)")
                                        .c_str()
                                  : "");
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
  graphEntries.clear();
  for (size_t e = 0; e < manifest.entries.size(); ++e) {
    entryNames.push_back(manifest.entries[e].name);
    if (manifest.entries[e].name == "decode" ||
        manifest.entries[e].name == "decode_greedy")
      graphEntries.push_back(e);
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
  return pending.ops(prepared[entry], workspace, tensorMapEncoder(),
                     multiprocessorCount());
}

void GpuBackend::runOps(size_t entry, const std::vector<gpu::KernelOp> &ops,
                        bool timed) {
  const bool list = listKernels && listedEntries.insert(entry).second;
  for (size_t i = 0; i < ops.size(); ++i) {
    const gpu::KernelOp &op = ops[i];
    if (timed && eventRecord(events[2 * i]) != 0) {
      stopProfile("recording an event");
      timed = false;
    }
    bool skip = false;
    if (list || !skipKernels.empty()) {
      const std::string label =
          gpu::kernelLabel(prepared[entry][op.launch], op.kernel, &op);
      if (list)
        std::fprintf(stderr, "braid %s: %s: %s\n", api.backend,
                     entryNames[entry].c_str(), label.c_str());
      skip = !skipKernels.empty() && skipsKernel(label);
    }
    if (skip) { // an empty pair of profile events
      if (timed && eventRecord(events[2 * i + 1]) != 0) {
        stopProfile("recording an event");
        timed = false;
      }
      continue;
    }
    int r = launchKernel(op);
    if (timed && r == 0 && eventRecord(events[2 * i + 1]) != 0) {
      stopProfile("recording an event");
      timed = false;
    }
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
  Graph &g = decodeGraphs[{entry, batch}];
  std::string what =
      " (" + entryNames[entry] + " graph for batch " + std::to_string(batch);
  if (!g.exec || !gpu::sameOps(ops, g.ops)) {
    if (g.exec)
      destroyExec(g.exec);
    g = {};
    check(beginCapture(), api.beginCapture + what + ")");
    void *graph = nullptr;
    const uint64_t launched = counters.kernels;
    try {
      runOps(entry, ops);
    } catch (...) {
      if (endCapture(&graph) == 0 && graph)
        destroyGraph(graph);
      throw;
    }
    counters.kernels = launched; // captured, not launched
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

std::string GpuBackend::flush(bool wait) {
  makeCurrent();
  // What the profile needs once the call has finished.
  std::optional<size_t> timedEntry;
  std::vector<gpu::KernelOp> timedOps;
  bool timedGraph = false;
  if (pending.entry() && pending.size()) {
    size_t entry = *pending.entry();
    std::vector<gpu::KernelOp> ops = buildOps(entry);
    bool profile = !profilePath.empty();
    if (graphs && std::find(graphEntries.begin(), graphEntries.end(), entry) !=
                      graphEntries.end()) {
      // One pair of events around the replay (and the capture, the first
      // time: the device idles while the host captures).
      bool timed = profile && ensureEvents(2);
      if (timed && eventRecord(events[0]) != 0) {
        stopProfile("recording an event");
        timed = false;
      }
      runGraph(entry, pending.symbols().dims[0], ops);
      if (timed && eventRecord(events[1]) != 0) {
        stopProfile("recording an event");
        timed = false;
      }
      if (timed) {
        timedEntry = entry;
        timedGraph = true;
      }
    } else {
      bool timed = profile && ensureEvents(2 * ops.size());
      runOps(entry, ops, timed);
      if (timed && !profilePath.empty()) { // still on after the launches
        timedEntry = entry;
        timedOps = std::move(ops);
      }
    }
  }
  std::array<int64_t, 3> dims = pending.symbols().dims;
  size_t launched = pending.size();
  pending.clear();
  if (!wait)
    return "";
  if (int r = streamSync(); r != 0)
    return errorText(r) + " while running " + std::to_string(launched) +
           " launches; set " + api.syncEnv + "=1 to find the kernel";
  if (timedEntry && !profilePath.empty()) {
    recordCall(*timedEntry, timedOps, timedGraph);
    if (!profileCalls.empty()) {
      profileCalls.back().batch = dims[0];
      profileCalls.back().tokens = dims[1];
    }
  }
  return "";
}

//===----------------------------------------------------------------------===//
// Profile
//===----------------------------------------------------------------------===//

void GpuBackend::stopProfile(const std::string &what) {
  if (profilePath.empty())
    return;
  std::fprintf(stderr, "braid %s: BRAID_PROFILE=%s ignored: %s failed\n",
               api.backend, profilePath.c_str(), what.c_str());
  profilePath.clear();
}

bool GpuBackend::ensureEvents(size_t count) {
  if (!hasEvents()) {
    stopProfile("finding the driver's event functions");
    return false;
  }
  while (events.size() < count) {
    void *e = nullptr;
    if (int r = eventCreate(&e); r != 0) {
      stopProfile("creating an event (" + errorText(r) + ")");
      return false;
    }
    events.push_back(e);
  }
  return true;
}

void GpuBackend::recordCall(size_t entry, const std::vector<gpu::KernelOp> &ops,
                            bool graph) {
  auto elapsed = [&](void *start, void *end, double &ms) {
    float f = 0;
    if (int r = eventElapsed(&f, start, end); r != 0) {
      stopProfile("reading an event (" + errorText(r) + ")");
      return false;
    }
    ms = f;
    return true;
  };
  ProfiledCall call;
  call.entry = entry < entryNames.size() ? entryNames[entry] : "?";
  call.graph = graph;
  if (!graph && ops.empty())
    return;
  size_t last = graph ? 1 : 2 * ops.size() - 1;
  if (!elapsed(events[0], events[last], call.ms))
    return;
  size_t index = profileCalls.size();
  std::vector<ProfiledKernel> kernels;
  for (size_t i = 0; i < ops.size(); ++i) {
    const gpu::KernelOp &op = ops[i];
    const gpu::PreparedLaunch &p = prepared[entry][op.launch];
    ProfiledKernel k;
    k.call = index;
    k.launch = op.launch;
    k.family = p.launch ? p.launch->kernel : "";
    k.location = p.launch ? p.launch->loc : "";
    if (op.kernel < p.code.kernels.size())
      k.function = p.code.kernels[op.kernel].function;
    std::copy(op.grid, op.grid + 3, k.grid);
    std::copy(op.block, op.block + 3, k.block);
    if (!elapsed(events[2 * i], events[2 * i + 1], k.ms))
      return;
    kernels.push_back(std::move(k));
  }
  profileCalls.push_back(std::move(call));
  for (ProfiledKernel &k : kernels)
    profileKernels.push_back(std::move(k));
}

void GpuBackend::writeProfile() {
  using Json = nlohmann::ordered_json;
  // Summaries: per entry, and per entry and family over the calls whose
  // kernels were timed one by one (graph replays have no split).
  struct EntrySum {
    std::string entry;
    size_t calls = 0, graphCalls = 0;
    double ms = 0, graphMs = 0;
  };
  std::vector<EntrySum> entries;
  auto entrySum = [&](const std::string &name) -> EntrySum & {
    for (EntrySum &e : entries)
      if (e.entry == name)
        return e;
    entries.push_back({name});
    return entries.back();
  };
  for (const ProfiledCall &c : profileCalls) {
    EntrySum &e = entrySum(c.entry);
    (c.graph ? e.graphCalls : e.calls) += 1;
    (c.graph ? e.graphMs : e.ms) += c.ms;
  }
  struct FamilySum {
    std::string entry, family;
    size_t kernels = 0;
    double ms = 0;
  };
  std::vector<FamilySum> families; // in order of first use
  for (const ProfiledKernel &k : profileKernels) {
    const std::string &entry = profileCalls[k.call].entry;
    auto it = std::find_if(families.begin(), families.end(), [&](auto &f) {
      return f.entry == entry && f.family == k.family;
    });
    if (it == families.end())
      it = families.insert(families.end(), {entry, k.family});
    it->kernels += 1;
    it->ms += k.ms;
  }

  std::ofstream out(profilePath);
  if (!out) {
    std::fprintf(stderr, "braid %s: cannot write the profile %s\n", api.backend,
                 profilePath.c_str());
    return;
  }
  // One record per line: readable, and small enough for thousands of
  // kernels.
  auto list = [&](const char *name, const std::vector<Json> &items, bool more) {
    out << "  \"" << name << "\": [";
    for (size_t i = 0; i < items.size(); ++i)
      out << (i ? ",\n    " : "\n    ") << items[i].dump();
    out << (items.empty() ? "]" : "\n  ]") << (more ? ",\n" : "\n");
  };
  out << "{\n  \"backend\": " << Json(api.backend).dump() << ",\n";
  out << "  \"unit\": \"ms\",\n";
  std::vector<Json> items;
  for (const EntrySum &e : entries)
    items.push_back(Json{
        {"entry", e.entry},
        {"calls", e.calls},
        {"ms", e.ms},
        {"ms_per_call", e.calls ? e.ms / e.calls : 0.0},
        {"graph_calls", e.graphCalls},
        {"graph_ms", e.graphMs},
        {"graph_ms_per_call", e.graphCalls ? e.graphMs / e.graphCalls : 0.0}});
  list("entries", items, true);
  items.clear();
  for (const FamilySum &f : families) {
    size_t calls = entrySum(f.entry).calls;
    items.push_back(Json{{"entry", f.entry},
                         {"family", f.family},
                         {"kernels", f.kernels},
                         {"ms", f.ms},
                         {"ms_per_call", calls ? f.ms / calls : 0.0}});
  }
  list("families", items, true);
  items.clear();
  for (size_t i = 0; i < profileCalls.size(); ++i) {
    const ProfiledCall &c = profileCalls[i];
    items.push_back(Json{{"call", i},
                         {"entry", c.entry},
                         {"batch", c.batch},
                         {"tokens", c.tokens},
                         {"graph", c.graph},
                         {"ms", c.ms}});
  }
  list("calls", items, true);
  items.clear();
  for (const ProfiledKernel &k : profileKernels)
    items.push_back(Json{{"call", k.call},
                         {"entry", profileCalls[k.call].entry},
                         {"launch", k.launch},
                         {"family", k.family},
                         {"function", k.function},
                         {"location", k.location},
                         {"grid", {k.grid[0], k.grid[1], k.grid[2]}},
                         {"block", {k.block[0], k.block[1], k.block[2]}},
                         {"ms", k.ms}});
  list("kernels", items, false);
  out << "}\n";
}

std::string GpuBackend::synchronize() { return finish(true); }

std::string GpuBackend::submit() { return finish(!profilePath.empty()); }

void GpuBackend::copyBuffer(const DeviceBuffer &dst, size_t dstOffset,
                            const DeviceBuffer &src, size_t srcOffset,
                            size_t bytes) {
  if (!bytes)
    return;
  if (dstOffset + bytes > dst.bytes || srcOffset + bytes > src.bytes)
    fail(ErrorCode::Internal,
         "copy of " + std::to_string(bytes) + " bytes from offset " +
             std::to_string(srcOffset) + " of a " + std::to_string(src.bytes) +
             "-byte buffer to offset " + std::to_string(dstOffset) + " of a " +
             std::to_string(dst.bytes) + "-byte buffer");
  if (!hasStreamCopy())
    fail(ErrorCode::Unsupported, std::string("the ") + api.backend +
                                     " driver has no stream-ordered copy");
  // After the kernels launched so far.
  if (std::string error = submit(); !error.empty())
    fail(ErrorCode::Kernel, error);
  makeCurrent();
  check(copyOnStream(offsetBy(dst.data, dstOffset),
                     offsetBy(src.data, srcOffset), bytes),
        "copy of " + std::to_string(bytes) + " bytes on the GPU");
}

std::string GpuBackend::finish(bool wait) {
  std::string entry = pending.entry() && *pending.entry() < entryNames.size()
                          ? entryNames[*pending.entry()]
                          : std::string(api.backend);
  try {
    return flush(wait);
  } catch (const Error &e) {
    pending.clear();
    streamSync();
    if (e.code() == ErrorCode::Kernel)
      return e.what(); // the executor names the entry
    fail(e.code(), entry + ": " + e.what());
  }
}

std::vector<uint64_t> GpuBackend::moduleImage(const std::string &name,
                                              const std::string &user) const {
  auto payload = payloads.find(name);
  if (payload == payloads.end())
    fail(ErrorCode::Bundle, sectionLabel + " has no module '" + name +
                                "' (needed by " + user + ")");
  std::string_view bytes = payload->second;
  std::vector<uint64_t> image(bytes.size() / 8 + 2, 0);
  std::memcpy(image.data(), bytes.data(), bytes.size());
  return image;
}

} // namespace braid::rt
