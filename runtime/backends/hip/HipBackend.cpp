//===- HipBackend.cpp - the HIP backend -----------------------------------===//

#include "runtime/backends/hip/HipBackend.h"

#include "runtime/src/Bundle.h"
#include "runtime/src/Error.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace braid::rt {

using namespace hip;

const GpuBackend::Api kHipApi = {"hip",
                                 "hipMemsetD8",
                                 "hipModuleLaunchKernel",
                                 "hipStreamBeginCapture",
                                 "hipStreamEndCapture",
                                 "hipGraphInstantiate",
                                 "hipGraphLaunch",
                                 "BRAID_HIP_SYNC",
                                 "BRAID_HIP_STATS"};

//===----------------------------------------------------------------------===//
// Device and memory
//===----------------------------------------------------------------------===//

HipBackend::HipBackend(const HipDriver &d, bool useGraphs, int ordinal)
    : GpuBackend(kHipApi, useGraphs), driver(d), device(ordinal) {
  if (graphs)
    if (std::string why = driver.graphSupport(); !why.empty())
      fail(ErrorCode::Unsupported, "decode as a HIP graph is not available: " +
                                       why + "; run without --cuda-graph");
  if (ordinal >= driver.deviceCount)
    fail(ErrorCode::Unsupported,
         "HIP device " + std::to_string(ordinal) + " does not exist (" +
             std::to_string(driver.deviceCount) + " visible)");
  check(driver.setDevice(device), "hipSetDevice", ErrorCode::Unsupported);
  char nameBuf[256] = {0};
  if (driver.deviceGetName(nameBuf, sizeof nameBuf - 1, device) == hipSuccess)
    deviceName = nameBuf;
  driver.deviceGetAttribute(&computeUnits,
                            hipDeviceAttributeMultiprocessorCount, device);
  driver.deviceGetAttribute(&maxLds, hipDeviceAttributeMaxSharedMemoryPerBlock,
                            device);
  readArch(ordinal);
  makeCurrent();
  check(driver.streamCreate(&stream), "hipStreamCreate",
        ErrorCode::Unsupported);
}

HipBackend::~HipBackend() {
  shutdown();
  for (auto &[name, module] : modules)
    driver.moduleUnload(module);
  if (stream)
    driver.streamDestroy(stream);
}

void HipBackend::readArch(int ordinal) {
  // The architecture: only hipGetDeviceProperties knows it (as a string).
  auto properties = driver.getDevicePropertiesR0600
                        ? driver.getDevicePropertiesR0600
                        : driver.getDeviceProperties;
  if (!properties)
    fail(ErrorCode::Unsupported,
         "the HIP runtime " + driver.libraryPath +
             " lacks hipGetDeviceProperties: cannot tell the GPU's "
             "architecture");
  std::vector<char> props(kDevicePropertiesBytes, 0);
  check(properties(props.data(), device), "hipGetDeviceProperties",
        ErrorCode::Unsupported);
  std::optional<std::string> arch =
      gpu::findGcnArchName(props.data(), props.size());
  if (!arch)
    fail(ErrorCode::Unsupported,
         "cannot tell the architecture of HIP device " +
             std::to_string(ordinal) + " (" + deviceName +
             "): hipGetDeviceProperties gave no gcnArchName");
  deviceArch = *arch;
}

void HipBackend::makeCurrent() const {
  // The current device is per thread; sessions load weights from several.
  static thread_local int current = -1;
  if (current != device) {
    driver.setDevice(device);
    current = device;
  }
}

std::string HipBackend::errorText(int status) const {
  return driver.errorText(status);
}

bool HipBackend::outOfMemory(int status) const {
  return status == hipErrorOutOfMemory;
}

std::string HipBackend::describe() const {
  std::string s = "hip: " + (deviceName.empty() ? "device" : deviceName) +
                  " (" + deviceArch;
  if (computeUnits)
    s += ", " + std::to_string(computeUnits) + " CUs";
  s += ", " + driver.versionText() + ")";
  if (!choice.section.empty())
    s += ", code " + choice.section;
  if (graphs)
    s += ", decode as a HIP graph";
  if (syncEach)
    s += ", synchronizing after every kernel";
  return s;
}

uint64_t HipBackend::availableMemory() const {
  makeCurrent();
  size_t free = 0, total = 0;
  if (driver.memGetInfo(&free, &total) != hipSuccess)
    return 0;
  return free;
}

//===----------------------------------------------------------------------===//
// prepare
//===----------------------------------------------------------------------===//

hipModule_t HipBackend::loadModule(const std::string &name,
                                   const std::string &user) {
  auto it = modules.find(name);
  if (it != modules.end())
    return it->second;
  std::vector<uint64_t> image = moduleImage(name, user);
  hipModule_t module = nullptr;
  makeCurrent();
  if (hipError_t r = driver.moduleLoadData(&module, image.data());
      r != hipSuccess)
    fail(ErrorCode::Unsupported,
         "cannot load module '" + name + "' of " + sectionLabel +
             " (needed by " + user + ") on " + deviceName + " (" + deviceArch +
             "): hipModuleLoadData: " + driver.errorText(r));
  modules.emplace(name, module);
  return module;
}

void *HipBackend::resolveFunction(hipModule_t module,
                                  const std::string &moduleName,
                                  const gpu::KernelSpec &spec,
                                  const std::string &user) {
  auto key = std::make_pair(moduleName, spec.function);
  auto it = functions.find(key);
  std::string what = "kernel '" + spec.function + "' of module " + moduleName +
                     " (" + user + ")";
  hipFunction_t f = nullptr;
  if (it != functions.end()) {
    f = static_cast<hipFunction_t>(it->second);
  } else {
    makeCurrent();
    if (hipError_t r =
            driver.moduleGetFunction(&f, module, spec.function.c_str());
        r != hipSuccess)
      fail(ErrorCode::Bundle, sectionLabel + ": " + what +
                                  " is not in the module: "
                                  "hipModuleGetFunction: " +
                                  driver.errorText(r));
    functions.emplace(key, f);
  }
  if (maxLds > 0 && spec.sharedBytes > maxLds)
    fail(ErrorCode::Unsupported,
         what + ": " + std::to_string(spec.sharedBytes) +
             " bytes of dynamic LDS exceed the " + std::to_string(maxLds) +
             " a block may use on " + deviceName + " (" + deviceArch + ")");
  // AMD needs no opt-in for LDS within the device's limit; newer runtimes
  // accept the CUDA-style attribute, so set it where it is exported.
  if (spec.sharedBytes > kDefaultLdsBytes && driver.funcSetAttribute) {
    makeCurrent();
    if (hipError_t r = driver.funcSetAttribute(
            f, hipFuncAttributeMaxDynamicSharedMemorySize,
            int(spec.sharedBytes));
        r != hipSuccess)
      fail(ErrorCode::Unsupported,
           what + ": cannot allow " + std::to_string(spec.sharedBytes) +
               " bytes of dynamic LDS: hipFuncSetAttribute: " +
               driver.errorText(r));
  }
  return f;
}

void HipBackend::prepare(const Manifest &manifest, const Bundle *b) {
  if (!b)
    fail(ErrorCode::Unsupported,
         "the hip backend runs the code sections of a bundle; none given");
  bundle = b;
  std::vector<std::string> names;
  for (const SectionInfo &s : bundle->sections())
    names.push_back(s.name);
  std::optional<gpu::ArchChoice> c = gpu::chooseHipArch(deviceArch, names);
  if (!c) {
    std::string archs;
    for (const std::string &a : gpu::amdArchs(names))
      archs += (archs.empty() ? "" : ", ") + a;
    fail(ErrorCode::Unsupported,
         bundle->path() + ": no AMD code for this GPU: " + deviceName + " is " +
             deviceArch + ", the bundle holds " +
             (archs.empty() ? "no AMD code (compile it with braidc "
                              "--target=hip)"
                            : "code for " + archs) +
             "; compile it with braidc --target=hip:" + deviceArch);
  }
  choice = *c;
  sectionLabel = bundle->path() + " (section '" + choice.section + "')";

  std::vector<std::vector<gpu::LaunchCode>> plans = gpu::parseLaunchPlans(
      bundle->manifestJson(), manifest, "hip", choice.arch);
  const SectionInfo *section = bundle->findSection(choice.section);
  for (const gpu::CodeModule &m :
       gpu::parseCodeArchive(bundle->sectionData(*section), sectionLabel))
    payloads.emplace(m.name, m.payload);

  setPrepared(manifest,
              gpu::prepareLaunches(
                  manifest, std::move(plans),
                  [&](const std::string &module, const gpu::KernelSpec &k,
                      const std::string &user) {
                    return resolveFunction(loadModule(module, user), module, k,
                                           user);
                  }));
}

//===----------------------------------------------------------------------===//
// Driver primitives
//===----------------------------------------------------------------------===//

int HipBackend::memAlloc(void **ptr, size_t bytes) {
  return driver.malloc(ptr, bytes);
}
void HipBackend::memFree(void *ptr) { driver.free(ptr); }
int HipBackend::copyToDevice(void *dst, const void *src, size_t bytes) {
  // hipMemcpyHtoD takes a non-const source; it only reads it.
  return driver.memcpyHtoD(dst, const_cast<void *>(src), bytes);
}
int HipBackend::copyFromDevice(void *dst, const void *src, size_t bytes) {
  return driver.memcpyDtoH(dst, const_cast<void *>(src), bytes);
}
int HipBackend::memZero(void *dst, size_t bytes) {
  return driver.memsetD8(dst, 0, bytes);
}
int HipBackend::copyOnStream(void *dst, const void *src, size_t bytes) {
  return driver.memcpyDtoDAsync(dst, const_cast<void *>(src), bytes, stream);
}
// No programmatic dependent launch as on CUDA sm_90+ (CudaBackend.h): HIP
// has no such launch attribute, so BRAID_KERNEL_PROLOGUE is empty for AMD.
int HipBackend::launchKernel(const gpu::KernelOp &op) {
  void *args[] = {const_cast<BraidKernelParams *>(&op.params)};
  return driver.moduleLaunchKernel(static_cast<hipFunction_t>(op.function),
                                   op.grid[0], op.grid[1], op.grid[2],
                                   op.block[0], op.block[1], op.block[2],
                                   op.sharedBytes, stream, args, nullptr);
}
int HipBackend::streamSync() { return driver.streamSynchronize(stream); }
int HipBackend::beginCapture() {
  return driver.streamBeginCapture(stream, hipStreamCaptureModeThreadLocal);
}
int HipBackend::endCapture(void **graph) {
  return driver.streamEndCapture(stream, reinterpret_cast<hipGraph_t *>(graph));
}
int HipBackend::instantiate(void **exec, void *graph) {
  return driver.graphInstantiate(reinterpret_cast<hipGraphExec_t *>(exec),
                                 static_cast<hipGraph_t>(graph), nullptr,
                                 nullptr, 0);
}
void HipBackend::destroyGraph(void *graph) {
  driver.graphDestroy(static_cast<hipGraph_t>(graph));
}
void HipBackend::destroyExec(void *exec) {
  driver.graphExecDestroy(static_cast<hipGraphExec_t>(exec));
}
int HipBackend::graphLaunch(void *exec) {
  return driver.graphLaunch(static_cast<hipGraphExec_t>(exec), stream);
}
int HipBackend::eventCreate(void **event) {
  return driver.eventCreate(reinterpret_cast<hipEvent_t *>(event));
}
int HipBackend::eventRecord(void *event) {
  return driver.eventRecord(static_cast<hipEvent_t>(event), stream);
}
int HipBackend::eventElapsed(float *milliseconds, void *start, void *end) {
  return driver.eventElapsedTime(milliseconds, static_cast<hipEvent_t>(start),
                                 static_cast<hipEvent_t>(end));
}
void HipBackend::eventDestroy(void *event) {
  driver.eventDestroy(static_cast<hipEvent_t>(event));
}

//===----------------------------------------------------------------------===//
// Factory
//===----------------------------------------------------------------------===//

std::unique_ptr<Backend> createHipBackend(const BackendOptions &options) {
  return std::make_unique<HipBackend>(hip::hipDriver(), options.cudaGraph);
}

} // namespace braid::rt
