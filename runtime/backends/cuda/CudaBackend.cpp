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

namespace {

bool envFlag(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

std::string triple(const unsigned v[3]) {
  return "[" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ", " +
         std::to_string(v[2]) + "]";
}

/// Device allocations are rounded up to this granule (and never empty).
constexpr size_t kAllocationGranule = 256;

/// The runtime's one kernel of its own: widens n = params.batch bf16 values
/// at params.buffers[1] to f32 at params.buffers[0] (bf16 is the high half
/// of an f32). It takes BraidKernelParams like every bundle kernel, so that
/// it launches and is captured the same way. PTX for sm_50 and later, JIT-
/// compiled by the driver once per session.
const char kWidenPtx[] = R"(.version 7.0
.target sm_50
.address_size 64

.visible .entry braid_widen_bf16(
	.param .align 8 .b8 params[232]
)
{
	.reg .pred 	%p<2>;
	.reg .b16 	%h<2>;
	.reg .b32 	%r<6>;
	.reg .b64 	%rd<12>;

	ld.param.u64 	%rd1, [params];
	ld.param.u64 	%rd2, [params+8];
	ld.param.u64 	%rd3, [params+208];
	mov.u32 	%r1, %ctaid.x;
	mov.u32 	%r2, %ntid.x;
	mov.u32 	%r3, %tid.x;
	mul.wide.u32 	%rd4, %r1, %r2;
	cvt.u64.u32 	%rd5, %r3;
	add.s64 	%rd6, %rd4, %rd5;
	setp.ge.s64 	%p1, %rd6, %rd3;
	@%p1 bra 	$L_done;
	cvta.to.global.u64 	%rd7, %rd1;
	cvta.to.global.u64 	%rd8, %rd2;
	shl.b64 	%rd9, %rd6, 1;
	add.s64 	%rd10, %rd8, %rd9;
	ld.global.u16 	%h1, [%rd10];
	cvt.u32.u16 	%r4, %h1;
	shl.b32 	%r5, %r4, 16;
	shl.b64 	%rd9, %rd6, 2;
	add.s64 	%rd11, %rd7, %rd9;
	st.global.u32 	[%rd11], %r5;
$L_done:
	ret;
}
)";
static_assert(offsetof(BraidKernelParams, buffers) == 0 &&
                  offsetof(BraidKernelParams, batch) == 208 &&
                  sizeof(BraidKernelParams) == 232,
              "kWidenPtx reads BraidKernelParams at these offsets");
constexpr unsigned kWidenBlock = 256;

} // namespace

//===----------------------------------------------------------------------===//
// Device and memory
//===----------------------------------------------------------------------===//

CudaBackend::CudaBackend(const CudaDriver &d, bool cudaGraph, int ordinal)
    : driver(d), graphs(cudaGraph) {
  syncEach = envFlag("BRAID_CUDA_SYNC");
  printStats = envFlag("BRAID_CUDA_STATS");
  if (syncEach)
    graphs = false;
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
  makeCurrent();
  if (stream)
    driver.streamSynchronize(stream);
  destroyGraphs();
  if (workspace)
    driver.memFree(workspace);
  if (scratch)
    driver.memFree(scratch);
  for (auto &[name, module] : modules)
    driver.moduleUnload(module);
  if (widenModule)
    driver.moduleUnload(widenModule);
  if (stream)
    driver.streamDestroy(stream);
  driver.devicePrimaryCtxRelease(device);
  if (printStats)
    std::fprintf(stderr,
                 "braid cuda: %llu kernels launched one by one, %llu decode "
                 "graph capture%s, %llu replay%s\n",
                 (unsigned long long)counters.kernels,
                 (unsigned long long)counters.graphCaptures,
                 counters.graphCaptures == 1 ? "" : "s",
                 (unsigned long long)counters.graphReplays,
                 counters.graphReplays == 1 ? "" : "s");
}

void CudaBackend::makeCurrent() const {
  // Sessions load weights from several threads: each needs the context.
  static thread_local CUcontext current = nullptr;
  if (current != context) {
    driver.ctxSetCurrent(context);
    current = context;
  }
}

void CudaBackend::check(CUresult r, const std::string &what,
                        ErrorCode code) const {
  if (r == CUDA_SUCCESS)
    return;
  fail(r == CUDA_ERROR_OUT_OF_MEMORY ? ErrorCode::OutOfMemory : code,
       what + ": " + driver.errorText(r));
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
  return s;
}

uint64_t CudaBackend::availableMemory() const {
  makeCurrent();
  size_t free = 0, total = 0;
  if (driver.memGetInfo(&free, &total) != CUDA_SUCCESS)
    return 0;
  return free;
}

DeviceBuffer CudaBackend::allocate(size_t bytes) {
  makeCurrent();
  size_t rounded = std::max<size_t>((bytes + kAllocationGranule - 1) /
                                        kAllocationGranule * kAllocationGranule,
                                    kAllocationGranule);
  CUdeviceptr p = 0;
  check(driver.memAlloc(&p, rounded),
        "cannot allocate " + std::to_string(bytes) + " bytes of GPU memory",
        ErrorCode::OutOfMemory);
  if (CUresult r = driver.memsetD8(p, 0, rounded); r != CUDA_SUCCESS) {
    driver.memFree(p);
    check(r, "cuMemsetD8 of a new allocation");
  }
  return {reinterpret_cast<void *>(p), bytes};
}

void CudaBackend::release(DeviceBuffer &buffer) {
  if (buffer.data) {
    makeCurrent();
    driver.memFree(reinterpret_cast<CUdeviceptr>(buffer.data));
  }
  buffer = {};
}

void CudaBackend::upload(const DeviceBuffer &dst, size_t offset,
                         const void *src, size_t bytes) {
  if (!bytes)
    return;
  if (offset + bytes > dst.bytes)
    fail(ErrorCode::Internal, "upload of " + std::to_string(bytes) +
                                  " bytes at offset " + std::to_string(offset) +
                                  " into a buffer of " +
                                  std::to_string(dst.bytes));
  makeCurrent();
  check(driver.memcpyHtoD(reinterpret_cast<CUdeviceptr>(dst.data) + offset, src,
                          bytes),
        "copy of " + std::to_string(bytes) + " bytes to the GPU");
}

void CudaBackend::download(void *dst, const DeviceBuffer &src, size_t offset,
                           size_t bytes) {
  if (!bytes)
    return;
  if (offset + bytes > src.bytes)
    fail(ErrorCode::Internal, "download of " + std::to_string(bytes) +
                                  " bytes at offset " + std::to_string(offset) +
                                  " from a buffer of " +
                                  std::to_string(src.bytes));
  makeCurrent();
  check(driver.memcpyDtoH(dst, reinterpret_cast<CUdeviceptr>(src.data) + offset,
                          bytes),
        "copy of " + std::to_string(bytes) + " bytes from the GPU");
}

void CudaBackend::fillZero(const DeviceBuffer &dst, size_t offset,
                           size_t bytes) {
  if (!bytes)
    return;
  makeCurrent();
  check(driver.memsetD8(reinterpret_cast<CUdeviceptr>(dst.data) + offset, 0,
                        bytes),
        "cuMemsetD8 of " + std::to_string(bytes) + " bytes");
}

size_t CudaBackend::weightBytes(const WeightDecl &w) const {
  return size_t(w.numel()) * byteWidth(w.dtype);
}

void CudaBackend::uploadWeight(const DeviceBuffer &dst, const WeightDecl &w,
                               const float *values) {
  size_t n = size_t(w.numel());
  switch (w.dtype) {
  case ValueType::F32:
    upload(dst, 0, values, n * sizeof(float));
    return;
  case ValueType::BF16:
  case ValueType::F16: {
    std::vector<uint16_t> half(n);
    for (size_t i = 0; i < n; ++i)
      half[i] = w.dtype == ValueType::BF16 ? f32ToBf16(values[i])
                                           : f32ToF16(values[i]);
    upload(dst, 0, half.data(), n * sizeof(uint16_t));
    return;
  }
  case ValueType::I64:
    break;
  }
  fail(ErrorCode::Unsupported, "weight '" + w.name + "' has dtype " +
                                   toString(w.dtype) +
                                   ", which the cuda backend cannot store");
}

//===----------------------------------------------------------------------===//
// prepare
//===----------------------------------------------------------------------===//

CUmodule CudaBackend::loadModule(const std::string &name,
                                 const std::string &user) {
  auto it = modules.find(name);
  if (it != modules.end())
    return it->second;
  auto payload = payloads.find(name);
  if (payload == payloads.end())
    fail(ErrorCode::Bundle, sectionLabel + " has no module '" + name +
                                "' (needed by " + user + ")");
  // Code objects want alignment; archive members have none. PTX must end
  // with a NUL.
  std::string_view bytes = payload->second;
  std::vector<uint64_t> image(bytes.size() / 8 + 2, 0);
  std::memcpy(image.data(), bytes.data(), bytes.size());
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
  sectionLabel = bundle->path() + " (section '" + choice.section + "')";

  std::vector<std::vector<gpu::LaunchCode>> plans = gpu::parseLaunchPlans(
      bundle->manifestJson(), manifest, "cuda", choice.arch);
  const SectionInfo *section = bundle->findSection(choice.section);
  for (const gpu::CodeModule &m :
       gpu::parseCodeArchive(bundle->sectionData(*section), sectionLabel))
    payloads.emplace(m.name, m.payload);

  prepared.clear();
  entryNames.clear();
  decodeEntry.reset();
  for (size_t e = 0; e < manifest.entries.size(); ++e) {
    const Entry &entry = manifest.entries[e];
    entryNames.push_back(entry.name);
    if (entry.name == "decode")
      decodeEntry = e;
    std::vector<PreparedLaunch> launches;
    for (size_t l = 0; l < entry.launches.size(); ++l) {
      PreparedLaunch p;
      p.launch = &entry.launches[l];
      p.label = "launch " + std::to_string(l) + " (" +
                entry.launches[l].describe() + ")";
      p.code = std::move(plans[e][l]);
      p.symbols = gpu::findLaunchSymbols(entry.launches[l]);
      std::string user = entry.name + ": " + p.label;
      CUmodule module = loadModule(p.code.module, user);
      for (const gpu::KernelSpec &k : p.code.kernels)
        p.functions.push_back(resolveFunction(module, p.code.module, k, user));
      if (!p.code.widenResults.empty() && !widenFunction) {
        std::vector<char> errors(8192, 0);
        CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                                  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
        void *values[] = {errors.data(), reinterpret_cast<void *>(
                                             uintptr_t(errors.size() - 1))};
        makeCurrent();
        CUresult r = driver.moduleLoadDataEx(&widenModule, kWidenPtx, 2,
                                             options, values);
        if (r == CUDA_SUCCESS)
          r = driver.moduleGetFunction(&widenFunction, widenModule,
                                       "braid_widen_bf16");
        if (r != CUDA_SUCCESS)
          fail(ErrorCode::Unsupported,
               "cannot load the runtime's bf16-to-f32 kernel (needed by " +
                   user + ", which writes the logits as bf16): " +
                   driver.errorText(r) + "\n" + errors.data());
      }
      launches.push_back(std::move(p));
    }
    prepared.push_back(std::move(launches));
  }
}

//===----------------------------------------------------------------------===//
// launch / synchronize
//===----------------------------------------------------------------------===//

std::string CudaBackend::launch(size_t entryIndex, size_t launchIndex,
                                KernelCall &call) {
  if (entryIndex >= prepared.size() ||
      launchIndex >= prepared[entryIndex].size())
    return "the cuda backend was not prepared for this launch";
  if (launchIndex == 0 || pendingEntry != entryIndex) {
    // A new call (an earlier one may have stopped half-way).
    pending.clear();
    symbols = {};
    pendingEntry = entryIndex;
  }
  const PreparedLaunch &p = prepared[entryIndex][launchIndex];
  Pending rec{launchIndex, {}};
  std::memset(&rec.params, 0, sizeof rec.params);
  gpu::packBuffers(call, rec.params);
  for (int r : p.code.widenResults)
    if (size_t(r) < call.results.size())
      rec.widen.push_back({call.operands.size() + size_t(r),
                           call.results[size_t(r)].data,
                           call.results[size_t(r)].numel()});
  symbols.noteLaunch(p.symbols, call);
  pending.push_back(rec);
  return "";
}

bool CudaBackend::Op::sameAs(const Op &o) const {
  return function == o.function && std::equal(grid, grid + 3, o.grid) &&
         std::equal(block, block + 3, o.block) &&
         sharedBytes == o.sharedBytes && launch == o.launch &&
         kernel == o.kernel &&
         std::memcmp(&params, &o.params, sizeof params) == 0;
}

std::string CudaBackend::kernelLabel(const PreparedLaunch &p, size_t kernel,
                                     const Op *op) const {
  if (kernel == kWiden)
    return p.label + ", the runtime's kernel widening its bf16 output to f32";
  const gpu::KernelSpec &k = p.code.kernels[kernel];
  std::string s = p.label + ", kernel '" + k.function + "'";
  if (p.code.kernels.size() > 1)
    s += " (" + std::to_string(kernel + 1) + " of " +
         std::to_string(p.code.kernels.size()) + ")";
  s += " of module " + p.code.module;
  if (op)
    s += ", grid " + triple(op->grid) + ", block " + triple(op->block) + ", " +
         std::to_string(op->sharedBytes) + " bytes of shared memory";
  return s;
}

void CudaBackend::ensureBuffer(CUdeviceptr &buffer, size_t &capacity,
                               size_t bytes, const char *what) {
  if (bytes <= capacity)
    return;
  makeCurrent();
  check(driver.streamSynchronize(stream),
        std::string("waiting before growing ") + what);
  if (buffer)
    driver.memFree(buffer);
  buffer = 0;
  capacity = 0;
  size_t rounded = (bytes + (1u << 20) - 1) / (1u << 20) * (1u << 20);
  check(driver.memAlloc(&buffer, rounded),
        "cannot allocate " + std::to_string(bytes) +
            " bytes of GPU memory for " + what,
        ErrorCode::OutOfMemory);
  capacity = rounded;
}

std::vector<CudaBackend::Op> CudaBackend::buildOps(size_t entry) {
  const int64_t B = symbols.dims[0], T = symbols.dims[1];
  if (B < 1 || T < 1)
    fail(ErrorCode::Internal,
         "cannot tell the call's batch and length from its launches' shapes");
  // The workspace first: every kernel gets its address.
  size_t need = 0, widenBytes = 0;
  for (const Pending &rec : pending) {
    size_t bytes = 0;
    for (const Widen &w : rec.widen)
      bytes += (size_t(w.numel) * 2 + 255) / 256 * 256;
    widenBytes = std::max(widenBytes, bytes);
    const PreparedLaunch &p = prepared[entry][rec.launch];
    std::optional<int64_t> ws = p.code.workspace.evaluate(B, T);
    if (!ws)
      fail(ErrorCode::Bundle,
           p.label + ": its workspace " + p.code.workspace.str() +
               " is not a valid size for B = " + std::to_string(B) +
               ", T = " + std::to_string(T));
    need = std::max(need, size_t(*ws));
  }
  ensureBuffer(workspace, workspaceBytes, need, "the kernels' workspace");
  ensureBuffer(scratch, scratchBytes, widenBytes, "bf16 outputs");
  std::vector<Op> ops;
  for (const Pending &rec : pending) {
    const PreparedLaunch &p = prepared[entry][rec.launch];
    BraidKernelParams params = rec.params;
    params.workspace = reinterpret_cast<void *>(workspace);
    params.cache_position = symbols.cachePosition;
    params.batch = B;
    params.tokens = T;
    params.max_seq = std::max<int64_t>(symbols.dims[2], 0);
    size_t offset = 0;
    for (const Widen &w : rec.widen) {
      params.buffers[w.buffer] = reinterpret_cast<void *>(scratch + offset);
      offset += (size_t(w.numel) * 2 + 255) / 256 * 256;
    }
    for (size_t k = 0; k < p.code.kernels.size(); ++k) {
      const gpu::KernelSpec &spec = p.code.kernels[k];
      Op op;
      op.function = p.functions[k];
      op.launch = rec.launch;
      op.kernel = k;
      op.params = params;
      op.sharedBytes = unsigned(spec.sharedBytes);
      static const int64_t limits[3] = {2147483647, 65535, 65535};
      for (int d = 0; d < 3; ++d) {
        std::optional<int64_t> g = spec.grid[d].evaluate(B, T);
        if (!g || *g < 1 || *g > limits[d])
          fail(ErrorCode::Kernel,
               kernelLabel(p, k) + ": grid dimension " + "xyz"[d] + " = " +
                   spec.grid[d].str() + " is " +
                   (g ? std::to_string(*g) : std::string("invalid")) +
                   " for B = " + std::to_string(B) +
                   ", T = " + std::to_string(T) + " (must be in [1, " +
                   std::to_string(limits[d]) + "])");
        op.grid[d] = unsigned(*g);
        op.block[d] = unsigned(spec.block[d]);
      }
      ops.push_back(op);
    }
    for (const Widen &w : rec.widen) {
      Op op;
      op.function = widenFunction;
      op.launch = rec.launch;
      op.kernel = kWiden;
      std::memset(&op.params, 0, sizeof op.params);
      op.params.buffers[0] = w.output;
      op.params.buffers[1] = params.buffers[w.buffer];
      op.params.batch = w.numel;
      int64_t blocks = (w.numel + kWidenBlock - 1) / kWidenBlock;
      if (blocks > 2147483647)
        fail(ErrorCode::Kernel, kernelLabel(p, kWiden) + ": " +
                                    std::to_string(w.numel) +
                                    " values are too many for one grid");
      op.grid[0] = unsigned(std::max<int64_t>(blocks, 1));
      op.block[0] = kWidenBlock;
      ops.push_back(op);
    }
  }
  return ops;
}

void CudaBackend::runOps(size_t entry, const std::vector<Op> &ops) {
  for (const Op &op : ops) {
    void *args[] = {const_cast<BraidKernelParams *>(&op.params)};
    CUresult r = driver.launchKernel(
        op.function, op.grid[0], op.grid[1], op.grid[2], op.block[0],
        op.block[1], op.block[2], op.sharedBytes, stream, args, nullptr);
    if (r != CUDA_SUCCESS)
      fail(ErrorCode::Kernel,
           kernelLabel(prepared[entry][op.launch], op.kernel, &op) +
               ": cuLaunchKernel: " + driver.errorText(r));
    ++counters.kernels;
    if (syncEach) {
      r = driver.streamSynchronize(stream);
      if (r != CUDA_SUCCESS)
        fail(ErrorCode::Kernel,
             kernelLabel(prepared[entry][op.launch], op.kernel, &op) +
                 " failed: " + driver.errorText(r));
    }
  }
}

void CudaBackend::runGraph(size_t entry, int64_t batch, std::vector<Op> &ops) {
  Graph &g = decodeGraphs[batch];
  bool same = g.exec && g.ops.size() == ops.size();
  for (size_t i = 0; same && i < ops.size(); ++i)
    same = ops[i].sameAs(g.ops[i]);
  if (!same) {
    if (g.exec)
      driver.graphExecDestroy(g.exec);
    g = {};
    check(
        driver.streamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
        "cuStreamBeginCapture (decode graph for batch " +
            std::to_string(batch) + ")");
    CUgraph graph = nullptr;
    try {
      runOps(entry, ops);
    } catch (...) {
      if (driver.streamEndCapture(stream, &graph) == CUDA_SUCCESS && graph)
        driver.graphDestroy(graph);
      throw;
    }
    counters.kernels -= ops.size(); // captured, not launched
    check(driver.streamEndCapture(stream, &graph),
          "cuStreamEndCapture (decode graph for batch " +
              std::to_string(batch) + ")");
    CUgraphExec exec = nullptr;
    CUresult r = driver.graphInstantiate(&exec, graph, 0);
    driver.graphDestroy(graph);
    check(r, "cuGraphInstantiate (decode graph for batch " +
                 std::to_string(batch) + ", " + std::to_string(ops.size()) +
                 " kernels)");
    g.exec = exec;
    g.ops = std::move(ops);
    ++counters.graphCaptures;
  }
  check(driver.graphLaunch(g.exec, stream),
        "cuGraphLaunch (decode graph for batch " + std::to_string(batch) + ")");
  ++counters.graphReplays;
}

void CudaBackend::destroyGraphs() {
  for (auto &[batch, g] : decodeGraphs)
    if (g.exec)
      driver.graphExecDestroy(g.exec);
  decodeGraphs.clear();
}

std::string CudaBackend::flush() {
  makeCurrent();
  if (pendingEntry && !pending.empty()) {
    size_t entry = *pendingEntry;
    std::vector<Op> ops = buildOps(entry);
    if (graphs && decodeEntry && entry == *decodeEntry)
      runGraph(entry, symbols.dims[0], ops);
    else
      runOps(entry, ops);
  }
  size_t launched = pending.size();
  pending.clear();
  pendingEntry.reset();
  CUresult r = driver.streamSynchronize(stream);
  if (r != CUDA_SUCCESS)
    return driver.errorText(r) + " while running " + std::to_string(launched) +
           " launches; set BRAID_CUDA_SYNC=1 to find the kernel";
  return "";
}

std::string CudaBackend::synchronize() {
  std::string entry = pendingEntry && *pendingEntry < entryNames.size()
                          ? entryNames[*pendingEntry]
                          : std::string("cuda");
  try {
    return flush();
  } catch (const Error &e) {
    pending.clear();
    pendingEntry.reset();
    driver.streamSynchronize(stream);
    if (e.code() == ErrorCode::Kernel)
      return e.what(); // the executor names the entry
    fail(e.code(), entry + ": " + e.what());
  }
}

//===----------------------------------------------------------------------===//
// Factory
//===----------------------------------------------------------------------===//

std::unique_ptr<Backend> createCudaBackend(const BackendOptions &options) {
  return std::make_unique<CudaBackend>(cu::cudaDriver(), options.cudaGraph);
}

} // namespace braid::rt
