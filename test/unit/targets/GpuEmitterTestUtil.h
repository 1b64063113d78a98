//===- GpuEmitterTestUtil.h - what the CUDA and HIP emitter tests share ---===//
//
// The launch module the emitter tests plan and build (kernel lines vary),
// a fixture that parses it, and a temporary kernel cache for the build
// tests, so that CudaEmitterTest.cpp and HipEmitterTest.cpp hold only their
// target's own cases.
//
//===----------------------------------------------------------------------===//
#ifndef BRAID_TEST_UNIT_TARGETS_GPUEMITTERTESTUTIL_H
#define BRAID_TEST_UNIT_TARGETS_GPUEMITTERTESTUTIL_H

#include "targets/common/KernelPlan.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace braid::targettest {

/// `plan` with a line appended that does not compile.
llvm::Expected<gpu::KernelPlan>
breakSource(llvm::Expected<gpu::KernelPlan> plan);
/// `plan` launching `function` instead (which its source does not define).
llvm::Expected<gpu::KernelPlan>
launchOther(llvm::Expected<gpu::KernelPlan> plan, llvm::StringRef function);

/// A launch module with the given kernel lines in prefill and decode.
std::string moduleText(llvm::StringRef prefill, llvm::StringRef decode = "");

class GpuEmitterTest : public ::testing::Test {
protected:
  GpuEmitterTest();
  ~GpuEmitterTest() override;

  mlir::ModuleOp parse(const std::string &text);
  /// Points `cacheDir` at a new empty folder, removed after the test.
  void useTemporaryCache(llvm::StringRef prefix);

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string cacheDir;
};

/// Builds again with `build(log)` and expects every object from the cache,
/// nothing logged and the same sections as `first`; returns the build.
template <typename Build, typename BuildFn>
std::optional<Build> expectCachedRebuild(const Build &first, BuildFn build) {
  std::string again;
  llvm::raw_string_ostream againStream(again);
  llvm::Expected<Build> cached = build(againStream);
  if (!cached) {
    ADD_FAILURE() << llvm::toString(cached.takeError());
    return std::nullopt;
  }
  EXPECT_EQ(cached->compiled, 0u);
  EXPECT_EQ(again, "");
  EXPECT_EQ(cached->sections, first.sections);
  return std::move(*cached);
}

} // namespace braid::targettest

#endif // BRAID_TEST_UNIT_TARGETS_GPUEMITTERTESTUTIL_H
