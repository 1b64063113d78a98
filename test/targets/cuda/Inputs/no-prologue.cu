// For kernel-prologue.test: the checker must flag an entry whose body does
// not begin with the prologue, in plain code and inside a macro, and one
// that begins with the reads-first prologue but never waits itself (no
// waitForPrerequisiteGrids() call, no GEMM that waits), in plain code and
// inside a macro whose next entry does wait; entries with a tensor-map
// parameter too (a TMA GEMM waits in its producer and consumers).
extern "C" __global__ void __launch_bounds__(128, 1)
braid_good(BraidKernelParams p) {
  BRAID_KERNEL_PROLOGUE();
  using namespace braid::dev;
}
extern "C" __global__ void __launch_bounds__(128, 1)
braid_bad(BraidKernelParams p) {
  using namespace braid::dev;
  BRAID_KERNEL_PROLOGUE();
}
extern "C" __global__ void __launch_bounds__(128, 1)
braid_weights_then_wait(BraidKernelParams p) {
  BRAID_KERNEL_PROLOGUE_READS_FIRST();
  using namespace braid::dev;
  tcGemmSplitK<SplitKConfig<TcConfig<64, 64, 64, 2, 2, 4>, 2>, true>(ops, M);
}
extern "C" __global__ void __launch_bounds__(128, 1)
braid_weights_never_wait(BraidKernelParams p) {
  BRAID_KERNEL_PROLOGUE_READS_FIRST();
  using namespace braid::dev;
  tcGemmSplitK<SplitKConfig<TcConfig<64, 64, 64, 2, 2, 4>, 2>>(ops, M);
}
extern "C" __global__ void __launch_bounds__(384, 1)
braid_tma_late(BraidKernelParams p, const __grid_constant__ BraidTensorMaps maps) {
  using namespace braid::dev;
  BRAID_KERNEL_PROLOGUE();
}
extern "C" __global__ void __launch_bounds__(160, 1)
braid_tma_split(BraidKernelParams p, const __grid_constant__ BraidTensorMaps maps) {
  BRAID_KERNEL_PROLOGUE_READS_FIRST();
  using namespace braid::dev;
  tmaSplitK<TmaSplitKConfig<64, 6, 1>>(ops, M, maps);
}
#define BAD_ENTRIES(PREFIX)                                                    \
  extern "C" __global__ void __launch_bounds__(128)                            \
      PREFIX##_late(BraidKernelParams p) {                                     \
    p.batch = 0;                                                               \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(128)                            \
      PREFIX##_state_never_wait(BraidKernelParams p) {                         \
    BRAID_KERNEL_PROLOGUE_READS_FIRST();                                       \
    if (p.batch) {                                                             \
      loadState(p);                                                            \
    }                                                                          \
    update(p);                                                                 \
  }                                                                            \
  extern "C" __global__ void __launch_bounds__(128)                            \
      PREFIX##_state_then_wait(BraidKernelParams p) {                          \
    BRAID_KERNEL_PROLOGUE_READS_FIRST();                                       \
    loadState(p);                                                              \
    braid::dev::waitForPrerequisiteGrids();                                    \
    update(p);                                                                 \
  }
