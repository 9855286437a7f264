// Runs server tasks on a bounded pool of threads through agent::Controller (the same
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
#include "tandem/server/task_executor.h"
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

// Runs tasks in this process. Thread-safe; every member below is guarded by mu_.
class TaskRunner final : public TaskExecutor {
 public:
  TaskRunner(TaskRunnerDeps deps, int workers);
  ~TaskRunner() override;  // Calls Shutdown().
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  Status Enqueue(const std::string& task_id, const agent::RunOptions& options) override;
  bool Cancel(const std::string& task_id) override;
  bool IsActive(const std::string& task_id) override;
  bool WaitUntilInactive(const std::string& task_id, std::chrono::milliseconds timeout) override;
  std::pair<int, int> Counts() override;
  bool WaitForEvents(const std::string& task_id, int64_t after_id,
                     std::chrono::milliseconds timeout) override;
  // Also leaves queued tasks pending and joins the worker threads.
  void Shutdown() override;

 private:
  class Sink;
  struct Job {
    std::string task_id;
    agent::RunOptions options;
  };
  bool IsActiveLocked(const std::string& task_id) const;  // Needs mu_.
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
