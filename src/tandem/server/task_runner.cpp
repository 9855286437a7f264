#include "tandem/server/task_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tandem::server {

// Forwards each persisted event to the runner so SSE watchers wake up.
class TaskRunner::Sink final : public agent::EventSink {
 public:
  explicit Sink(TaskRunner* runner) : runner_(runner) {}
  void OnEvent(const store::EventRecord& event) override {
    runner_->Notify(event.task_id, event.id);
  }

 private:
  TaskRunner* runner_;
};

TaskRunner::TaskRunner(TaskRunnerDeps deps, int workers) : deps_(deps) {
  for (int i = 0; i < std::max(1, workers); ++i)
    workers_.emplace_back([this] { Work(); });
}

TaskRunner::~TaskRunner() {
  Shutdown();
}

Status TaskRunner::Enqueue(const std::string& task_id, const agent::RunOptions& options) {
  std::lock_guard lock(mu_);
  if (stopping_) return MakeError(ErrorCode::kUnavailable, "the server is shutting down");
  if (IsActiveLocked(task_id)) {
    return MakeError(ErrorCode::kFailedPrecondition, "task {} is already running", task_id);
  }
  queue_.push_back({task_id, options});
  work_cv_.notify_one();
  return {};
}

bool TaskRunner::Cancel(const std::string& task_id) {
  std::unique_lock lock(mu_);
  if (auto it = running_.find(task_id); it != running_.end()) {
    it->second->Cancel();
    lock.unlock();
    if (deps_.approvals != nullptr) deps_.approvals->Wake();  // It may wait for a person.
    return true;
  }
  auto queued = std::find_if(queue_.begin(), queue_.end(),
                             [&](const Job& job) { return job.task_id == task_id; });
  if (queued == queue_.end()) return false;
  queue_.erase(queued);
  lock.unlock();
  Result<std::optional<store::TaskRecord>> task = deps_.store->GetTask(task_id);
  if (task && *task) {
    (*task)->status = store::TaskStatus::kStopped;
    (*task)->stop_reason = "cancelled before it started";
    (*task)->updated_at_ms = ToUnixMillis(SystemClock().Now());
    if (Status saved = deps_.store->UpdateTask(**task); !saved) {
      spdlog::error("task {}: saving cancellation failed: {}", task_id, saved.error().message());
    }
  }
  event_cv_.notify_all();
  return true;
}

bool TaskRunner::IsActive(const std::string& task_id) {
  std::lock_guard lock(mu_);
  return IsActiveLocked(task_id);
}

bool TaskRunner::IsActiveLocked(const std::string& task_id) const {
  return running_.contains(task_id) ||
         std::any_of(queue_.begin(), queue_.end(),
                     [&](const Job& job) { return job.task_id == task_id; });
}

bool TaskRunner::WaitUntilInactive(const std::string& task_id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return event_cv_.wait_for(lock, timeout, [&] { return !IsActiveLocked(task_id); });
}

std::pair<int, int> TaskRunner::Counts() {
  std::lock_guard lock(mu_);
  return {static_cast<int>(running_.size()), static_cast<int>(queue_.size())};
}

bool TaskRunner::WaitForEvents(const std::string& task_id, int64_t after_id,
                               std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  event_cv_.wait_for(lock, timeout, [&] {
    if (stopping_) return true;
    auto it = last_event_.find(task_id);
    return !IsActiveLocked(task_id) || (it != last_event_.end() && it->second > after_id);
  });
  return !stopping_;
}

void TaskRunner::Notify(const std::string& task_id, int64_t event_id) {
  {
    std::lock_guard lock(mu_);
    int64_t& last = last_event_[task_id];
    last = std::max(last, event_id);
  }
  event_cv_.notify_all();
}

void TaskRunner::Work() {
  while (true) {
    Job job;
    std::shared_ptr<CancellationToken> cancel = std::make_shared<CancellationToken>();
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      running_[job.task_id] = cancel;
    }
    RunJob(job, *cancel);
    {
      std::lock_guard lock(mu_);
      running_.erase(job.task_id);
      last_event_.erase(job.task_id);
    }
    event_cv_.notify_all();
    if (deps_.on_task_end) deps_.on_task_end(job.task_id);
  }
}

void TaskRunner::RunJob(const Job& job, CancellationToken& cancel) {
  Sink sink(this);
  std::optional<DeskApprover> approver;
  if (deps_.approvals != nullptr) approver.emplace(deps_.approvals, &cancel);
  // AgentMemory is not thread-safe: one per run, over the shared (thread-safe) store.
  std::optional<agent::AgentMemory> memory;
  if (deps_.memory != nullptr) memory.emplace(deps_.memory, deps_.memory_options, deps_.policy);
  agent::Controller controller({.store = deps_.store,
                                .models = deps_.models,
                                .tools = deps_.tools,
                                .events = &sink,
                                .policy = deps_.policy,
                                .cancel = &cancel,
                                .approver = approver ? &*approver : nullptr,
                                .tools_config = deps_.tools_config,
                                .memory = memory ? &*memory : nullptr});
  agent::RunOptions options = job.options;
  if (deps_.context_tokens > 0) options.context_tokens = deps_.context_tokens;
  Result<agent::TaskOutcome> outcome = controller.Run(job.task_id, options);
  if (deps_.approvals != nullptr) deps_.approvals->Forget(job.task_id);
  if (!outcome) {
    spdlog::error("task {} failed to run: {}", job.task_id, outcome.error().message());
    return;
  }
  spdlog::info("task {} {} after {} step(s): {}", job.task_id,
               store::TaskStatusName(outcome->status), outcome->steps, outcome->stop_reason);
}

void TaskRunner::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    for (auto& [id, token] : running_)
      token->Cancel();
  }
  // Waiting calls are left unanswered: their tasks stop resumable and ask again on resume.
  if (deps_.approvals != nullptr) deps_.approvals->Shutdown();
  work_cv_.notify_all();
  event_cv_.notify_all();
  for (std::thread& worker : workers_)
    worker.join();
  workers_.clear();
}

}  // namespace tandem::server
