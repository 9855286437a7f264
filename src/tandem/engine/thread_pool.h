// ThreadPool: a fixed set of workers that run one parallel loop at a time, used by the kernels.
//
//   ThreadPool pool(2);
//   pool.ParallelFor(n_rows, [&](int64_t begin, int64_t end) { ... });
//
// ParallelFor may be called from one thread at a time (the model's); the calling thread takes a
// share of the work. Between loops workers spin briefly (a token's forward pass issues hundreds
// of loops a few microseconds apart) and then park on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem::engine {

class ThreadPool {
 public:
  // `n_threads` includes the calling thread; values below 1 mean 1.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Splits [0, n) into contiguous ranges, one per thread, and waits for all of them.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  // The job is written before generation_ is advanced (release) and read after a worker sees
  // the new generation (acquire).
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_size_ = 0;
  std::atomic<uint64_t> generation_{0};  // advanced under mutex_ so that sleepers see it
  std::atomic<int> pending_{0};          // workers still running the current job
  bool stop_ = false;                    // GUARDED_BY(mutex_)
};

}  // namespace tandem::engine
