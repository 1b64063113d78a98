//===- InfrastructureTest.cpp - thread pool, attributes, registry ---------===//
#include "CpuTestUtil.h"

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

using namespace braid::rt;
using namespace braid::rt::test;

namespace {

TEST(ThreadPool, EveryIndexRunsExactlyOnce) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.size(), 4u);
  for (int64_t n : {1, 2, 3, 7, 100, 1001, 65537}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    for (int64_t grain : {1, 3, 1000}) {
      for (auto &h : hits)
        h = 0;
      pool.parallelFor(
          n,
          [&](int64_t b, int64_t e) {
            EXPECT_LT(b, e);
            for (int64_t i = b; i < e; ++i)
              ++hits[i];
          },
          grain);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPool, ChunksRespectTheGrain) {
  ThreadPool pool(3);
  std::atomic<int64_t> smallest{1 << 30};
  pool.parallelFor(
      1000,
      [&](int64_t b, int64_t e) {
        if (e != 1000) // only the last chunk may be short
          smallest = std::min<int64_t>(smallest, e - b);
      },
      50);
  EXPECT_GE(smallest.load(), 50);
}

TEST(ThreadPool, SmallRangesAndOneThreadRunInline) {
  ThreadPool pool(4);
  std::thread::id caller = std::this_thread::get_id(), seen;
  pool.parallelFor(
      8, [&](int64_t, int64_t) { seen = std::this_thread::get_id(); }, 8);
  EXPECT_EQ(seen, caller);
  ThreadPool single(1);
  EXPECT_EQ(single.size(), 1u);
  int64_t covered = 0;
  single.parallelFor(1000, [&](int64_t b, int64_t e) { covered += e - b; });
  EXPECT_EQ(covered, 1000);
  pool.parallelFor(0, [&](int64_t, int64_t) { FAIL() << "empty range ran"; });
}

TEST(ThreadPool, UsesWorkerThreads) {
  ThreadPool pool(4);
  std::mutex m;
  std::set<std::thread::id> ids;
  for (int rep = 0; rep < 20 && ids.size() < 2; ++rep)
    pool.parallelFor(64, [&](int64_t, int64_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::lock_guard<std::mutex> lock(m);
      ids.insert(std::this_thread::get_id());
    });
  EXPECT_GE(ids.size(), 2u);
}

TEST(ThreadPool, NestedCallsRunInlineWithoutDeadlock) {
  ThreadPool pool(4);
  std::atomic<int64_t> total{0};
  pool.parallelFor(16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      pool.parallelFor(100, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  EXPECT_EQ(total.load(), 1600);
}

TEST(ThreadPool, ConcurrentCallersAreSafe) {
  ThreadPool pool(4);
  std::atomic<int64_t> total{0};
  auto work = [&] {
    for (int rep = 0; rep < 200; ++rep)
      pool.parallelFor(97, [&](int64_t b, int64_t e) { total += e - b; });
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  EXPECT_EQ(total.load(), 2 * 200 * 97);
}

TEST(ThreadPool, ExceptionsReachTheCaller) {
  ThreadPool pool(4);
  EXPECT_THROW(pool.parallelFor(100,
                                [&](int64_t b, int64_t) {
                                  if (b == 0)
                                    throw std::runtime_error("boom");
                                }),
               std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int64_t> total{0};
  pool.parallelFor(100, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 100);
}

TEST(ThreadPool, ManySmallJobsInARow) {
  // Late-waking workers must never run a chunk of a newer job twice.
  ThreadPool pool(4);
  for (int rep = 0; rep < 5000; ++rep) {
    std::vector<std::atomic<int>> hits(9);
    pool.parallelFor(9, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        ++hits[i];
    });
    for (auto &h : hits)
      ASSERT_EQ(h.load(), 1);
  }
}

TEST(AttrMap, TypedLookups) {
  AttrMap a;
  a.set("i", int64_t(7));
  a.set("f", 2.5);
  a.set("fi", int64_t(3));
  a.set("inf", std::string("inf"));
  a.set("ninf", std::string("-inf"));
  a.set("b", true);
  a.set("s", std::string("silu"));
  a.set("is", std::vector<int64_t>{1, 2});
  a.set("fs", std::vector<double>{0.5});
  EXPECT_EQ(a.getInt("i"), 7);
  EXPECT_EQ(a.getFloat("f"), 2.5);
  EXPECT_EQ(a.getFloat("fi"), 3.0);
  EXPECT_TRUE(std::isinf(a.getFloat("inf")) && a.getFloat("inf") > 0);
  EXPECT_TRUE(std::isinf(a.getFloat("ninf")) && a.getFloat("ninf") < 0);
  EXPECT_TRUE(a.getBool("b"));
  EXPECT_EQ(a.getString("s"), "silu");
  EXPECT_EQ(a.getInts("is"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(a.getFloats("fs"), (std::vector<double>{0.5}));
  EXPECT_EQ(a.getFloats("is"), (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(a.getFloatOr("absent", 4.0), 4.0);
  EXPECT_EQ(a.getIntOr("absent", -1), -1);
  EXPECT_EQ(a.firstError(), "");
}

TEST(AttrMap, MissingAndMistypedRecordTheFirstError) {
  AttrMap a;
  a.set("s", std::string("x"));
  EXPECT_EQ(a.getInt("s", 5), 5);
  EXPECT_EQ(a.firstError(), "attribute 's' is a string, expected an integer");
  EXPECT_EQ(a.getFloat("epsilon", 1.0), 1.0);
  // Only the first error is kept.
  EXPECT_EQ(a.firstError(), "attribute 's' is a string, expected an integer");
  AttrMap b;
  b.getFloat("epsilon");
  EXPECT_EQ(b.firstError(),
            "attribute 'epsilon' is missing (expected a float)");
}

TEST(Registry, EveryBraidKernelFamilyIsImplemented) {
  // One family per braid op that launches a kernel (dialects/Braid/
  // BraidOps.td); weight, reshape, layer and yield are not kernels. Three
  // families are launch-level only: gather_last (prefill_last),
  // mamba2_step (decode; passes/DecodeFusion.h) and greedy_next
  // (decode_greedy).
  const char *families[] = {"embedding",
                            "rms_norm",
                            "layer_norm",
                            "linear",
                            "rope",
                            "activation",
                            "add",
                            "mul",
                            "scale",
                            "concat",
                            "split",
                            "gather_last",
                            "greedy_next",
                            "attention",
                            "mla",
                            "causal_conv1d",
                            "selective_scan",
                            "ssd_scan",
                            "gated_rms_norm",
                            "mamba2_step",
                            "moe",
                            "merge",
                            "fused_elementwise"};
  for (const char *family : families)
    EXPECT_NE(findCpuKernel(family), nullptr) << family;
  EXPECT_EQ(cpuKernelFamilies().size(), std::size(families));
  for (const char *notKernel : {"weight", "reshape", "layer", "yield", "conv"})
    EXPECT_EQ(findCpuKernel(notKernel), nullptr) << notKernel;
}

} // namespace
