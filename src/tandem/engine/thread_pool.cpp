#include "tandem/engine/thread_pool.h"

#include <immintrin.h>

namespace tandem::engine {
namespace {

// A few microseconds of polling before sleeping: enough to catch the next loop of a forward
// pass, short enough not to steal a shared core from other processes.
constexpr int kSpinIterations = 2000;

inline void Pause() {
  _mm_pause();
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  for (int i = 1; i < n_threads; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_.notify_all();
  for (std::thread& t : workers_)
    t.join();
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  int threads = n_threads();
  if (threads == 1 || n < 2) {
    if (n > 0) fn(0, n);
    return;
  }
  job_ = &fn;
  job_size_ = n;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_.notify_all();
  fn(0, n / threads);
  for (int spin = 0; spin < kSpinIterations; ++spin) {
    if (pending_.load(std::memory_order_acquire) == 0) return;
    Pause();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  while (true) {
    bool ready = false;
    for (int spin = 0; spin < kSpinIterations && !ready; ++spin) {
      ready = generation_.load(std::memory_order_acquire) != seen;
      if (!ready) Pause();
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!ready) {
        start_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      }
      if (stop_) return;
    }
    seen = generation_.load(std::memory_order_acquire);
    const int threads = n_threads();
    const int64_t n = job_size_;
    const int64_t begin = n * index / threads;
    const int64_t end = n * (index + 1) / threads;
    if (begin < end) (*job_)(begin, end);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace tandem::engine
