// For kernel-prologue.test: the checker must flag an entry whose body does
// not begin with the prologue, in plain code and inside a macro.
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
#define BAD_ENTRIES(PREFIX)                                                    \
  extern "C" __global__ void __launch_bounds__(128)                            \
      PREFIX##_late(BraidKernelParams p) {                                     \
    p.batch = 0;                                                               \
  }
