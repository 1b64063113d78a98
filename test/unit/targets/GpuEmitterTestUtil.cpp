//===- GpuEmitterTestUtil.cpp - what the emitter tests share --------------===//
#include "GpuEmitterTestUtil.h"

#include "dialects/Launch/LaunchDialect.h"

#include "mlir/Parser/Parser.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

namespace braid::targettest {

llvm::Expected<gpu::KernelPlan>
breakSource(llvm::Expected<gpu::KernelPlan> plan) {
  if (plan)
    plan->source += "this is not C++;\n";
  return plan;
}

llvm::Expected<gpu::KernelPlan>
launchOther(llvm::Expected<gpu::KernelPlan> plan, llvm::StringRef function) {
  if (plan)
    plan->invocations[0].function = function.str();
  return plan;
}

std::string moduleText(llvm::StringRef prefill, llvm::StringRef decode) {
  return (R"(
launch.weight "w" : [4] x f32 {combine = "single", axis = 0 : i64, group_size = 0 : i64,
    elementwise = "identity", sources = [{tensor = "w", shape = array<i64: 4>}]}
launch.arena {bytes_per_token = 64 : i64}
launch.entry "prefill" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
)" + prefill +
          R"(}
launch.entry "decode" attributes {inputs = ["input_ids", "positions", "cache_position"], outputs = ["logits"]} {
)" + decode +
          "}\n")
      .str();
}

GpuEmitterTest::GpuEmitterTest() {
  context.loadDialect<launch::LaunchDialect>();
}

GpuEmitterTest::~GpuEmitterTest() {
  if (!cacheDir.empty())
    llvm::sys::fs::remove_directories(cacheDir);
}

mlir::ModuleOp GpuEmitterTest::parse(const std::string &text) {
  module = mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  EXPECT_TRUE(module) << text;
  return *module;
}

void GpuEmitterTest::useTemporaryCache(llvm::StringRef prefix) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory(prefix, dir));
  cacheDir = dir.str().str();
}

} // namespace braid::targettest
