// Where the server's tasks run: in this process (TaskRunner, a pool of threads) or on
// `tandem worker` processes through the store's queue (ClusterExecutor, `[server] run_tasks =
// "workers"`). The task API, the Agent Protocol and the scheduler only see this interface.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "tandem/agent/controller.h"
#include "tandem/core/error.h"

namespace tandem::server {

// Implementations are thread-safe.
class TaskExecutor {
 public:
  virtual ~TaskExecutor() = default;

  // Queues the task to run (or continue) with `options`. Fails with kFailedPrecondition when it
  // is already queued or running, kUnavailable after Shutdown().
  virtual Status Enqueue(const std::string& task_id, const agent::RunOptions& options) = 0;
  // Stops a queued task at once (status "stopped") or a running one at its next safe point.
  // Returns false when the task is neither queued nor running.
  virtual bool Cancel(const std::string& task_id) = 0;
  virtual bool IsActive(const std::string& task_id) = 0;
  // Blocks until the task is neither queued nor running, or `timeout` passes; returns whether
  // it is inactive. A run saves its final status just before it lets go of the task.
  virtual bool WaitUntilInactive(const std::string& task_id, std::chrono::milliseconds timeout) = 0;
  // Tasks running now and tasks waiting to run.
  virtual std::pair<int, int> Counts() = 0;
  // Blocks until the task may have events after `after_id`, it is no longer active, `timeout`
  // passes, or the executor shuts down. Returns false only after shutdown.
  virtual bool WaitForEvents(const std::string& task_id, int64_t after_id,
                             std::chrono::milliseconds timeout) = 0;
  // Stops taking work; running tasks stop at a safe point and stay resumable.
  virtual void Shutdown() = 0;
};

}  // namespace tandem::server
