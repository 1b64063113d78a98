//===- CudaBackend.cpp - the CUDA backend ---------------------------------===//

#include "runtime/backends/cuda/CudaBackend.h"

#include "runtime/src/Bundle.h"
#include "runtime/src/Error.h"
#include "runtime/src/Safetensors.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace braid::rt {

using namespace cu;


//===----------------------------------------------------------------------===//
// Device and memory
//===----------------------------------------------------------------------===//

const GpuBackend::Api kCudaApi = {"cuda",
                                  "cuMemsetD8",
                                  "cuLaunchKernel",
                                  "cuStreamBeginCapture",
                                  "cuStreamEndCapture",
                                  "cuGraphInstantiate",
                                  "cuGraphLaunch",
                                  "BRAID_CUDA_SYNC",
                                  "BRAID_CUDA_STATS"};

CudaBackend::CudaBackend(const CudaDriver &d, bool cudaGraph, int ordinal)
    : GpuBackend(kCudaApi, cudaGraph), driver(d) {
  int count = 0;
  check(driver.deviceGetCount(&count), "cuDeviceGetCount",
        ErrorCode::Unsupported);
  if (ordinal >= count)
    fail(ErrorCode::Unsupported, "CUDA device " + std::to_string(ordinal) +
                                     " does not exist (" +
                                     std::to_string(count) + " device" +
                                     (count == 1 ? "" : "s") + " visible)");
  check(driver.deviceGet(&device, ordinal), "cuDeviceGet",
        ErrorCode::Unsupported);
  char nameBuf[256] = {0};
  if (driver.deviceGetName(nameBuf, sizeof nameBuf - 1, device) == CUDA_SUCCESS)
    deviceName = nameBuf;
  check(driver.deviceGetAttribute(
            &ccMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
        "cuDeviceGetAttribute", ErrorCode::Unsupported);
  check(driver.deviceGetAttribute(
            &ccMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
        "cuDeviceGetAttribute", ErrorCode::Unsupported);
  driver.deviceGetAttribute(&multiprocessors,
                            CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
  driver.deviceGetAttribute(
      &maxSharedOptin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
      device);
  // Programmatic dependent launch (CudaBackend.h): Hopper and later, and a
  // driver whose stream capture records programmatic edges (CUDA 12.3).
  const char *noPdl = std::getenv("BRAID_NO_PDL");
  pdl = ccMajor >= 9 && driver.launchKernelEx && driver.version >= 12030 &&
        !(noPdl && *noPdl && std::strcmp(noPdl, "0") != 0);
  check(driver.devicePrimaryCtxRetain(&context, device),
        "cuDevicePrimaryCtxRetain", ErrorCode::Unsupported);
  makeCurrent();
  if (CUresult r = driver.streamCreate(&stream, CU_STREAM_DEFAULT);
      r != CUDA_SUCCESS) {
    driver.devicePrimaryCtxRelease(device);
    check(r, "cuStreamCreate", ErrorCode::Unsupported);
  }
}

CudaBackend::~CudaBackend() {
  shutdown();
  for (auto &[name, module] : modules)
    driver.moduleUnload(module);
  if (stream)
    driver.streamDestroy(stream);
  driver.devicePrimaryCtxRelease(device);
}

void CudaBackend::makeCurrent() const {
  // Sessions load weights from several threads: each needs the context.
  static thread_local CUcontext current = nullptr;
  if (current != context) {
    driver.ctxSetCurrent(context);
    current = context;
  }
}

std::string CudaBackend::errorText(int status) const {
  return driver.errorText(status);
}

bool CudaBackend::outOfMemory(int status) const {
  return status == CUDA_ERROR_OUT_OF_MEMORY;
}

std::string CudaBackend::describe() const {
  std::string s = "cuda: " + (deviceName.empty() ? "device" : deviceName) +
                  " (" + gpu::deviceArch(ccMajor, ccMinor);
  if (multiprocessors)
    s += ", " + std::to_string(multiprocessors) + " SMs";
  s += ", " + driver.versionText() + " driver)";
  if (!choice.section.empty())
    s += ", code " + choice.section + (choice.ptx ? " (PTX, JIT)" : "");
  if (graphs)
    s += ", decode as a CUDA graph";
  if (syncEach)
    s += ", synchronizing after every kernel";
  if (pdl)
    s += ", programmatic dependent launch";
  return s;
}

uint64_t CudaBackend::availableMemory() const {
  makeCurrent();
  size_t free = 0, total = 0;
  if (driver.memGetInfo(&free, &total) != CUDA_SUCCESS)
    return 0;
  return free;
}

//===----------------------------------------------------------------------===//
// prepare
//===----------------------------------------------------------------------===//

CUmodule CudaBackend::loadModule(const std::string &name,
                                 const std::string &user) {
  auto it = modules.find(name);
  if (it != modules.end())
    return it->second;
  std::vector<uint64_t> image = moduleImage(name, user);
  CUmodule module = nullptr;
  makeCurrent();
  CUresult r;
  std::string log;
  if (choice.ptx) {
    std::vector<char> errors(16384, 0);
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                              CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {errors.data(),
                      reinterpret_cast<void *>(uintptr_t(errors.size() - 1))};
    r = driver.moduleLoadDataEx(&module, image.data(), 2, options, values);
    log = errors.data();
  } else {
    r = driver.moduleLoadData(&module, image.data());
  }
  if (r != CUDA_SUCCESS)
    fail(ErrorCode::Unsupported,
         "cannot load module '" + name + "' of " + sectionLabel +
             " (needed by " + user + ") on " + deviceName + " (" +
             gpu::deviceArch(ccMajor, ccMinor) + "): " + driver.errorText(r) +
             (log.empty() ? "" : "\n" + log));
  modules.emplace(name, module);
  return module;
}

CUfunction CudaBackend::resolveFunction(CUmodule module,
                                        const std::string &moduleName,
                                        const gpu::KernelSpec &spec,
                                        const std::string &user) {
  auto key = std::make_pair(moduleName, spec.function);
  CUfunction f = nullptr;
  auto it = functions.find(key);
  std::string what = "kernel '" + spec.function + "' of module '" + moduleName +
                     "' (" + user + ")";
  if (it != functions.end()) {
    f = it->second;
  } else {
    CUresult r = driver.moduleGetFunction(&f, module, spec.function.c_str());
    if (r != CUDA_SUCCESS)
      fail(ErrorCode::Unsupported,
           sectionLabel + ": " + what +
               ": cuModuleGetFunction: " + driver.errorText(r));
    functions.emplace(key, f);
  }
  int maxThreads = 0, staticShared = 0;
  if (driver.funcGetAttribute(&maxThreads,
                              CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
                              f) == CUDA_SUCCESS &&
      maxThreads > 0) {
    int64_t threads = spec.block[0] * spec.block[1] * spec.block[2];
    if (threads > maxThreads) {
      int regs = 0;
      driver.funcGetAttribute(&regs, CU_FUNC_ATTRIBUTE_NUM_REGS, f);
      fail(ErrorCode::Unsupported,
           what + ": " + std::to_string(threads) +
               " threads per block, but the compiled kernel allows at most " +
               std::to_string(maxThreads) + " (" + std::to_string(regs) +
               " registers per thread)");
    }
  }
  driver.funcGetAttribute(&staticShared, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES,
                          f);
  int64_t total = int64_t(staticShared) + spec.sharedBytes;
  if (total > kDefaultSharedBytes) {
    if (maxSharedOptin > 0 && total > maxSharedOptin)
      fail(ErrorCode::Unsupported, what + ": " + std::to_string(staticShared) +
                                       " bytes of static and " +
                                       std::to_string(spec.sharedBytes) +
                                       " of dynamic shared memory exceed the " +
                                       std::to_string(maxSharedOptin) +
                                       " a block may use on " + deviceName);
    int64_t &set = dynamicSharedSet[f];
    if (spec.sharedBytes > set) {
      makeCurrent();
      CUresult r = driver.funcSetAttribute(
          f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
          int(spec.sharedBytes));
      if (r != CUDA_SUCCESS)
        fail(ErrorCode::Unsupported,
             what + ": cannot allow " + std::to_string(spec.sharedBytes) +
                 " bytes of dynamic shared memory: cuFuncSetAttribute: " +
                 driver.errorText(r));
      set = spec.sharedBytes;
    }
  }
  return f;
}

void CudaBackend::prepare(const Manifest &manifest, const Bundle *b) {
  if (!b)
    fail(ErrorCode::Unsupported,
         "the cuda backend runs the code sections of a bundle; none given");
  bundle = b;
  std::vector<std::string> names;
  std::string codeList;
  for (const SectionInfo &s : bundle->sections()) {
    names.push_back(s.name);
    if (s.name.rfind("code.", 0) == 0)
      codeList += (codeList.empty() ? "" : ", ") + s.name;
  }
  std::string arch = gpu::deviceArch(ccMajor, ccMinor);
  std::optional<gpu::ArchChoice> c = gpu::chooseArch(ccMajor, ccMinor, names);
  if (!c)
    fail(ErrorCode::Unsupported,
         bundle->path() + ": no CUDA code for this GPU: " + deviceName +
             " is " + arch + " (compute capability " + std::to_string(ccMajor) +
             "." + std::to_string(ccMinor) + "), the bundle holds " +
             (codeList.empty() ? "no code sections (compile it with braidc "
                                 "--target=cuda)"
                               : codeList) +
             "; compile it with braidc --target=cuda:" + arch +
             " or one with PTX (compute_XY, XY <= " + arch.substr(3) + ")");
  choice = *c;
  // Code for an architecture before sm_90 was compiled without the
  // prologue's wait (BRAID_ARCH < 900): its kernels must not overlap.
  std::optional<gpu::ArchName> codeArch = gpu::parseArchName(choice.arch);
  pdl = pdl && codeArch && codeArch->number >= 90;
  api.launch = pdl ? "cuLaunchKernelEx" : "cuLaunchKernel";
  sectionLabel = bundle->path() + " (section '" + choice.section + "')";

  std::vector<std::vector<gpu::LaunchCode>> plans = gpu::parseLaunchPlans(
      bundle->manifestJson(), manifest, "cuda", choice.arch);
  const SectionInfo *section = bundle->findSection(choice.section);
  for (const gpu::CodeModule &m :
       gpu::parseCodeArchive(bundle->sectionData(*section), sectionLabel))
    payloads.emplace(m.name, m.payload);

  setPrepared(manifest,
              gpu::prepareLaunches(
                  manifest, std::move(plans),
                  [&](const std::string &module, const gpu::KernelSpec &k,
                      const std::string &user) -> void * {
                    return resolveFunction(loadModule(module, user), module, k,
                                           user);
                  }));
}

//===----------------------------------------------------------------------===//
// Driver primitives
//===----------------------------------------------------------------------===//

namespace {
CUdeviceptr dptr(const void *p) { return reinterpret_cast<CUdeviceptr>(p); }
} // namespace

int CudaBackend::memAlloc(void **ptr, size_t bytes) {
  CUdeviceptr p = 0;
  CUresult r = driver.memAlloc(&p, bytes);
  *ptr = reinterpret_cast<void *>(p);
  return r;
}
void CudaBackend::memFree(void *ptr) { driver.memFree(dptr(ptr)); }
int CudaBackend::copyToDevice(void *dst, const void *src, size_t bytes) {
  return driver.memcpyHtoD(dptr(dst), src, bytes);
}
int CudaBackend::copyFromDevice(void *dst, const void *src, size_t bytes) {
  return driver.memcpyDtoH(dst, dptr(src), bytes);
}
int CudaBackend::memZero(void *dst, size_t bytes) {
  return driver.memsetD8(dptr(dst), 0, bytes);
}
int CudaBackend::copyOnStream(void *dst, const void *src, size_t bytes) {
  return driver.memcpyDtoDAsync(dptr(dst), dptr(src), bytes, stream);
}
gpu::TensorMapEncoder CudaBackend::tensorMapEncoder() {
  if (!driver.tensorMapEncodeTiled) // a driver before CUDA 12: no TMA
    return nullptr;
  return [this](const gpu::TensorMapSpec &m, void *base,
                int64_t rows, BraidTensorMap &out) -> std::string {
    cu::TensorMapRequest request =
        cu::tensorMapRequest(m.cols, rows, m.elementBytes, m.box, m.swizzle);
    CUresult r = driver.tensorMapEncodeTiled(
        reinterpret_cast<cu::CUtensorMap *>(&out), request.dataType, 2, base,
        request.globalDim, request.globalStrides, request.boxDim,
        request.elementStrides, cu::CU_TENSOR_MAP_INTERLEAVE_NONE,
        request.swizzle, cu::CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
        cu::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r == cu::CUDA_SUCCESS)
      return "";
    return "cuTensorMapEncodeTiled failed (" + driver.errorText(r) + ") for " +
           std::to_string(rows) + " x " + std::to_string(m.cols) +
           " elements of " + std::to_string(m.elementBytes) + " bytes at " +
           std::to_string(reinterpret_cast<uintptr_t>(base)) + ", box " +
           std::to_string(m.box[0]) + " x " + std::to_string(m.box[1]) +
           ", swizzle " + std::to_string(m.swizzle);
  };
}

int CudaBackend::launchKernel(const gpu::KernelOp &op) {
  // Kernels with tensor maps take them as a second parameter.
  void *args[] = {const_cast<BraidKernelParams *>(&op.params),
                  const_cast<BraidTensorMaps *>(&op.maps)};
  if (pdl) {
    CUlaunchAttribute attribute = {};
    attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attribute.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config = {};
    config.gridDimX = op.grid[0];
    config.gridDimY = op.grid[1];
    config.gridDimZ = op.grid[2];
    config.blockDimX = op.block[0];
    config.blockDimY = op.block[1];
    config.blockDimZ = op.block[2];
    config.sharedMemBytes = op.sharedBytes;
    config.hStream = stream;
    config.attrs = &attribute;
    config.numAttrs = 1;
    return driver.launchKernelEx(&config, static_cast<CUfunction>(op.function),
                                 args, nullptr);
  }
  return driver.launchKernel(static_cast<CUfunction>(op.function), op.grid[0],
                             op.grid[1], op.grid[2], op.block[0], op.block[1],
                             op.block[2], op.sharedBytes, stream, args,
                             nullptr);
}
int CudaBackend::streamSync() { return driver.streamSynchronize(stream); }
int CudaBackend::beginCapture() {
  return driver.streamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
}
int CudaBackend::endCapture(void **graph) {
  return driver.streamEndCapture(stream, reinterpret_cast<CUgraph *>(graph));
}
int CudaBackend::instantiate(void **exec, void *graph) {
  return driver.graphInstantiate(reinterpret_cast<CUgraphExec *>(exec),
                                 static_cast<CUgraph>(graph), 0);
}
void CudaBackend::destroyGraph(void *graph) {
  driver.graphDestroy(static_cast<CUgraph>(graph));
}
void CudaBackend::destroyExec(void *exec) {
  driver.graphExecDestroy(static_cast<CUgraphExec>(exec));
}
int CudaBackend::graphLaunch(void *exec) {
  return driver.graphLaunch(static_cast<CUgraphExec>(exec), stream);
}
int CudaBackend::eventCreate(void **event) {
  return driver.eventCreate(reinterpret_cast<CUevent *>(event),
                            CU_EVENT_DEFAULT);
}
int CudaBackend::eventRecord(void *event) {
  return driver.eventRecord(static_cast<CUevent>(event), stream);
}
int CudaBackend::eventElapsed(float *milliseconds, void *start, void *end) {
  return driver.eventElapsedTime(milliseconds, static_cast<CUevent>(start),
                                 static_cast<CUevent>(end));
}
void CudaBackend::eventDestroy(void *event) {
  driver.eventDestroy(static_cast<CUevent>(event));
}

//===----------------------------------------------------------------------===//
// Factory
//===----------------------------------------------------------------------===//

std::unique_ptr<Backend> createCudaBackend(const BackendOptions &options) {
  return std::make_unique<CudaBackend>(cu::cudaDriver(), options.cudaGraph);
}

} // namespace braid::rt
