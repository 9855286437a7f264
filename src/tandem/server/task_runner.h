// Runs server tasks on a bounded pool of worker threads through agent::Controller (the same
// path as `tandem run`), and tells SSE watchers when a task has new events.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tandem/agent/agent.h"
#include "tandem/agent/agent_memory.h"
#include "tandem/core/cancellation.h"
#include "tandem/server/approval_desk.h"
#include "tandem/tools/tools_config.h"

namespace tandem::server {

struct TaskRunnerDeps {
  store::TaskStore* store = nullptr;       // Required; thread-safe.
  agent::ModelAccess* models = nullptr;    // Required; thread-safe (GatewayModelAccess is).
  const tools::Registry* tools = nullptr;  // Required.
  const router::Policy* policy = nullptr;  // Optional: taint tracking.
  // Optional: people approve `external` calls here; nullptr: such calls are refused.
  ApprovalDesk* approvals = nullptr;
  const tools::ToolsConfig* tools_config = nullptr;  // Optional: [tools] grants.
  // Optional (thread-safe): each run gets its own AgentMemory over it with `memory_options`.
  memory::MemoryStore* memory = nullptr;
  agent::AgentMemoryOptions memory_options;
  int64_t context_tokens = 0;  // RunOptions::context_tokens of every run; 0: unlimited.
  // Optional: called on a worker thread after each task stops running (the scheduler uses it
  // to start a run queued behind the task). Must not call back into the runner.
  std::function<void(const std::string& task_id)> on_task_end;
};

// Thread-safe; every member below is guarded by mu_.
class TaskRunner {
 public:
  TaskRunner(TaskRunnerDeps deps, int workers);
  ~TaskRunner();  // Calls Shutdown().
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Queues the task to run (or continue) with `options`. Fails with kFailedPrecondition when it
  // is already queued or running, kUnavailable after Shutdown().
  Status Enqueue(const std::string& task_id, const agent::RunOptions& options);
  // Stops a queued task at once (status "stopped") or a running one at its next safe point.
  // Returns false when the task is neither queued nor running here.
  bool Cancel(const std::string& task_id);
  bool IsActive(const std::string& task_id);
  // Tasks running now and tasks waiting for a worker.
  std::pair<int, int> Counts();

  // Blocks until the task has events after `after_id`, it is no longer active, `timeout`
  // passes, or the runner shuts down. Returns false only after shutdown.
  bool WaitForEvents(const std::string& task_id, int64_t after_id,
                     std::chrono::milliseconds timeout);

  // Stops taking work, cancels running tasks (they stop at a safe point and stay resumable),
  // leaves queued ones pending, and joins the workers.
  void Shutdown();

 private:
  class Sink;
  struct Job {
    std::string task_id;
    agent::RunOptions options;
  };
  void Work();
  void RunJob(const Job& job, CancellationToken& cancel);
  void Notify(const std::string& task_id, int64_t event_id);

  TaskRunnerDeps deps_;
  std::mutex mu_;
  std::condition_variable work_cv_;   // Signals queued work or shutdown.
  std::condition_variable event_cv_;  // Signals new events, task ends and shutdown.
  bool stopping_ = false;
  std::deque<Job> queue_;
  std::map<std::string, std::shared_ptr<CancellationToken>> running_;
  std::map<std::string, int64_t> last_event_;  // Newest event id seen per active task.
  std::vector<std::thread> workers_;
};

}  // namespace tandem::server
