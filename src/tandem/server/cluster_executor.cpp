#include "tandem/server/cluster_executor.h"

#include <spdlog/spdlog.h>

#include "tandem/cluster/submission.h"

namespace tandem::server {
namespace {

// How often watchers of worker-run tasks look for new events or the task's end.
constexpr std::chrono::milliseconds kPollInterval{250};

}  // namespace

Status ClusterExecutor::Enqueue(const std::string& task_id, const agent::RunOptions& options) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return MakeError(ErrorCode::kUnavailable, "the server is shutting down");
  }
  Result<std::optional<store::TaskRecord>> task = store_->GetTask(task_id);
  if (!task) return std::unexpected(task.error());
  if (!*task) return MakeError(ErrorCode::kNotFound, "no task {}", task_id);
  agent::StoreRunOptions(**task, options);
  return cluster::SubmitToCluster(*store_, std::move(**task), *clock_);
}

bool ClusterExecutor::Cancel(const std::string& task_id) {
  Result<bool> was_waiting = store_->CancelQueuedTask(task_id, ToUnixMillis(clock_->Now()));
  if (!was_waiting) {
    if (was_waiting.error().code() != ErrorCode::kNotFound) {
      spdlog::error("cancelling task {}: {}", task_id, was_waiting.error().message());
    }
    return false;
  }
  if (!*was_waiting) return true;  // Its worker stops it.
  Result<std::optional<store::TaskRecord>> task = store_->GetTask(task_id);
  if (task && *task) {
    (*task)->status = store::TaskStatus::kStopped;
    (*task)->stop_reason = "cancelled before it started";
    (*task)->updated_at_ms = ToUnixMillis(clock_->Now());
    if (Status saved = store_->UpdateTask(**task); !saved) {
      spdlog::error("task {}: saving cancellation failed: {}", task_id, saved.error().message());
    }
  }
  return true;
}

bool ClusterExecutor::IsActive(const std::string& task_id) {
  Result<std::optional<store::QueuedTask>> entry = store_->GetQueuedTask(task_id);
  return entry && *entry;
}

bool ClusterExecutor::WaitUntilInactive(const std::string& task_id,
                                        std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (IsActive(task_id)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !Pause(std::min(left, kPollInterval))) return false;
  }
  return true;
}

std::pair<int, int> ClusterExecutor::Counts() {
  Result<std::vector<store::QueuedTask>> queue = store_->ListQueue();
  if (!queue) return {0, 0};
  int64_t now_ms = ToUnixMillis(clock_->Now());
  int running = 0;
  for (const store::QueuedTask& entry : *queue)
    running += !entry.lease_owner.empty() && entry.lease_expires_ms >= now_ms;
  return {running, static_cast<int>(queue->size()) - running};
}

bool ClusterExecutor::WaitForEvents(const std::string&, int64_t,
                                    std::chrono::milliseconds timeout) {
  return Pause(std::min(timeout, kPollInterval));
}

void ClusterExecutor::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
}

bool ClusterExecutor::Pause(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  stop_cv_.wait_for(lock, timeout, [&] { return stopping_; });
  return !stopping_;
}

}  // namespace tandem::server
