//===- ThreadPool.cpp - the CPU backend's fixed worker threads ------------===//
//
// A fixed set of std::threads that wait for jobs. A job is one parallelFor:
// [0, n) cut into chunks that the workers and the calling thread claim from
// an atomic cursor (the work queue), so uneven chunks balance themselves.
// Each job lives in its own shared object: a worker that wakes late still
// holds the job it woke for, finds its cursor exhausted and goes back to
// sleep, and can never run a chunk of a newer job twice.
//
// parallelFor runs inline when the range is small, when the pool has one
// thread, when it is called from inside a chunk (nested parallelism would
// otherwise wait on itself), and when another thread is already running a
// job (so concurrent callers are safe, merely not parallel).
//
//===----------------------------------------------------------------------===//
#include "runtime/backends/cpu/CpuKernels.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

namespace braid::rt {

namespace {

/// True while this thread runs chunks of some job.
thread_local bool insideJob = false;

struct Job {
  const std::function<void(int64_t, int64_t)> *fn = nullptr;
  int64_t n = 0;
  int64_t chunk = 1;
  int64_t chunks = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> finished{0};
  std::mutex errorMutex;
  std::exception_ptr error;

  /// Claims and runs chunks until none is left; returns how many it ran.
  int64_t runChunks() {
    bool wasInside = insideJob;
    insideJob = true;
    int64_t ran = 0;
    for (int64_t c; (c = next.fetch_add(1)) < chunks; ++ran) {
      int64_t begin = c * chunk, end = std::min(n, begin + chunk);
      try {
        (*fn)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(errorMutex);
        if (!error)
          error = std::current_exception();
      }
    }
    insideJob = wasInside;
    return ran;
  }
};

} // namespace

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;     // workers: a new job or shutdown
  std::condition_variable finished; // caller: the last chunk is done
  std::shared_ptr<Job> current;
  uint64_t generation = 0;
  bool stopping = false;
  std::mutex callerMutex; // one job at a time

  void workerLoop() {
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stopping || generation != seen; });
        if (stopping)
          return;
        seen = generation;
        job = current;
      }
      if (!job)
        continue;
      int64_t ran = job->runChunks();
      if (ran && job->finished.fetch_add(ran) + ran == job->chunks) {
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_all();
      }
    }
  }
};

ThreadPool::ThreadPool(unsigned threads) : impl(new Impl) {
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  // The calling thread works too, so threads - 1 workers.
  for (unsigned i = 1; i < threads; ++i)
    impl->workers.emplace_back([this] { impl->workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl->mutex);
    impl->stopping = true;
  }
  impl->wake.notify_all();
  for (std::thread &worker : impl->workers)
    worker.join();
  delete impl;
}

unsigned ThreadPool::size() const {
  return static_cast<unsigned>(impl->workers.size()) + 1;
}

void ThreadPool::parallelFor(int64_t n,
                             const std::function<void(int64_t, int64_t)> &fn,
                             int64_t grain) {
  if (n <= 0)
    return;
  grain = std::max<int64_t>(grain, 1);
  std::unique_lock<std::mutex> caller(impl->callerMutex, std::defer_lock);
  if (n <= grain || impl->workers.empty() || insideJob || !caller.try_lock()) {
    fn(0, n);
    return;
  }
  // About four chunks per thread balance uneven work without making chunks
  // smaller than the grain.
  auto job = std::make_shared<Job>();
  int64_t target = static_cast<int64_t>(size()) * 4;
  job->fn = &fn;
  job->n = n;
  job->chunk = std::max(grain, (n + target - 1) / target);
  job->chunks = (n + job->chunk - 1) / job->chunk;
  {
    std::lock_guard<std::mutex> lock(impl->mutex);
    impl->current = job;
    ++impl->generation;
  }
  impl->wake.notify_all();

  int64_t ran = job->runChunks();
  job->finished.fetch_add(ran);
  {
    std::unique_lock<std::mutex> lock(impl->mutex);
    impl->finished.wait(lock,
                        [&] { return job->finished.load() == job->chunks; });
    impl->current.reset();
  }
  if (job->error)
    std::rethrow_exception(job->error);
}

} // namespace braid::rt
