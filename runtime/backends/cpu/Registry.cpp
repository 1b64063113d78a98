//===- Registry.cpp - kernel family name -> CPU kernel --------------------===//
//
// One entry per braid op that launches a kernel (weight, reshape, layer and
// yield do not). Every kernel is wrapped so that an exception escaping it
// (an allocation failure, say) becomes an error message instead of
// unwinding through the executor.
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/KernelSupport.h"

#include <exception>

namespace braid::rt {

namespace {

struct Entry {
  std::string_view family;
  KernelFn fn;
};

template <KernelFn Kernel> std::string guarded(const KernelCall &call);

using namespace cpu;
const Entry kEntries[] = {
    {"embedding", &guarded<&embeddingKernel>},
    {"rms_norm", &guarded<&rmsNormKernel>},
    {"layer_norm", &guarded<&layerNormKernel>},
    {"linear", &guarded<&linearKernel>},
    {"rope", &guarded<&ropeKernel>},
    {"activation", &guarded<&activationKernel>},
    {"add", &guarded<&addKernel>},
    {"mul", &guarded<&mulKernel>},
    {"scale", &guarded<&scaleKernel>},
    {"concat", &guarded<&concatKernel>},
    {"split", &guarded<&splitKernel>},
    {"gather_last", &guarded<&gatherLastKernel>},
    {"greedy_next", &guarded<&greedyNextKernel>},
    {"attention", &guarded<&attentionKernel>},
    {"mla", &guarded<&mlaKernel>},
    {"causal_conv1d", &guarded<&causalConv1dKernel>},
    {"selective_scan", &guarded<&selectiveScanKernel>},
    {"ssd_scan", &guarded<&ssdScanKernel>},
    {"gated_rms_norm", &guarded<&gatedRmsNormKernel>},
    {"mamba2_step", &guarded<&mamba2StepKernel>},
    {"moe", &guarded<&moeKernel>},
    {"merge", &guarded<&mergeKernel>},
    {"fused_elementwise", &guarded<&fusedElementwiseKernel>},
};

std::string familyOf(KernelFn fn) {
  for (const Entry &entry : kEntries)
    if (entry.fn == fn)
      return std::string(entry.family);
  return "cpu kernel";
}

template <KernelFn Kernel> std::string guarded(const KernelCall &call) {
  try {
    return Kernel(call);
  } catch (const std::exception &e) {
    return familyOf(&guarded<Kernel>) + ": failed: " + e.what();
  } catch (...) {
    return familyOf(&guarded<Kernel>) + ": failed with an unknown exception";
  }
}

} // namespace

KernelFn findCpuKernel(std::string_view family) {
  for (const Entry &entry : kEntries)
    if (entry.family == family)
      return entry.fn;
  return nullptr;
}

std::vector<std::string_view> cpuKernelFamilies() {
  std::vector<std::string_view> names;
  for (const Entry &entry : kEntries)
    names.push_back(entry.family);
  return names;
}

} // namespace braid::rt
