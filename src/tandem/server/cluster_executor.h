// Server tasks run by `tandem worker` processes: the server queues them in the shared store and
// watches the store for their events (`[server] run_tasks = "workers"`, docs/server.md).
#pragma once

#include <condition_variable>
#include <mutex>

#include "tandem/core/clock.h"
#include "tandem/server/task_executor.h"
#include "tandem/store/task_store.h"

namespace tandem::server {

// Thread-safe.
class ClusterExecutor final : public TaskExecutor {
 public:
  // `store` (thread-safe) and `clock` must outlive this object.
  ClusterExecutor(store::TaskStore* store, Clock* clock) : store_(store), clock_(clock) {}

  // Saves `options` in the task's settings, where its worker reads them, and queues it.
  Status Enqueue(const std::string& task_id, const agent::RunOptions& options) override;
  // A waiting task leaves the queue (status "stopped"); a running one gets a cancel request
  // that its worker sees at its next heartbeat.
  bool Cancel(const std::string& task_id) override;
  bool IsActive(const std::string& task_id) override;
  bool WaitUntilInactive(const std::string& task_id, std::chrono::milliseconds timeout) override;
  std::pair<int, int> Counts() override;
  // Workers are other processes: this waits a short poll interval (the caller re-reads the
  // store), less when `timeout` is shorter.
  bool WaitForEvents(const std::string& task_id, int64_t after_id,
                     std::chrono::milliseconds timeout) override;
  // The tasks keep running on their workers.
  void Shutdown() override;

 private:
  // Waits `timeout` unless the executor shuts down first; false after shutdown.
  bool Pause(std::chrono::milliseconds timeout);

  store::TaskStore* store_;
  Clock* clock_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
};

}  // namespace tandem::server
