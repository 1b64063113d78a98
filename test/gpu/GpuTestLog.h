//===- GpuTestLog.h - what the GPU test programs print, and CUDA_OK ------===//
//
// say(): printf to stdout and, once a program sets gLog, to its log file
// too (both flushed, so a crash loses nothing printed). CUDA_OK(expr):
// prints the runtime error with file, line and the expression, then exits
// with status 2. Header-only; each program (one translation unit) includes
// it once.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TEST_GPU_GPUTESTLOG_H
#define BRAID_TEST_GPU_GPUTESTLOG_H

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace {

FILE *gLog = nullptr;

void say(const char *fmt, ...) {
  va_list a;
  va_start(a, fmt);
  vprintf(fmt, a);
  va_end(a);
  fflush(stdout);
  if (gLog) {
    va_start(a, fmt);
    vfprintf(gLog, fmt, a);
    va_end(a);
    fflush(gLog);
  }
}

} // namespace

#define CUDA_OK(expr)                                                          \
  do {                                                                         \
    cudaError_t e_ = (expr);                                                   \
    if (e_ != cudaSuccess) {                                                   \
      say("CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__,    \
          __LINE__, #expr);                                                    \
      std::exit(2);                                                            \
    }                                                                          \
  } while (0)

#endif // BRAID_TEST_GPU_GPUTESTLOG_H
