#include "tandem/server/approval_desk.h"

#include <fmt/format.h>

#include "tandem/core/clock.h"

namespace tandem::server {

agent::ApprovalDecision ApprovalDesk::Wait(const agent::ApprovalRequest& request,
                                           const CancellationToken& cancel) {
  std::unique_lock lock(mu_);
  if (auto queued = queued_.find(request.task_id); queued != queued_.end()) {
    agent::ApprovalDecision decision = std::move(queued->second);
    queued_.erase(queued);
    return decision;
  }
  auto stopped = [](std::string note) {
    return agent::ApprovalDecision{.kind = agent::ApprovalKind::kRefuse,
                                   .note = std::move(note),
                                   .stop_run = true,
                                   .by = "server"};
  };
  if (stopping_) return stopped("the server is stopping");
  Slot& slot = waiting_[request.task_id];
  slot = {.pending = {.request = request, .since_ms = ToUnixMillis(SystemClock().Now())}};
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  cv_.wait_until(lock, deadline,
                 [&] { return slot.answer.has_value() || stopping_ || cancel.IsCancelled(); });
  std::optional<agent::ApprovalDecision> answer = std::move(slot.answer);
  waiting_.erase(request.task_id);  // `slot` dangles from here on.
  if (answer) return std::move(*answer);
  if (stopping_) return stopped("the server is stopping");
  if (cancel.IsCancelled()) return stopped("cancelled while waiting for approval");
  return stopped(
      fmt::format("no answer within {} s",
                  std::chrono::duration_cast<std::chrono::seconds>(options_.timeout).count()));
}

std::optional<PendingApproval> ApprovalDesk::Pending(const std::string& task_id) {
  std::lock_guard lock(mu_);
  auto it = waiting_.find(task_id);
  if (it == waiting_.end() || it->second.answer) return std::nullopt;
  return it->second.pending;
}

Result<int64_t> ApprovalDesk::Answer(const std::string& task_id, agent::ApprovalDecision decision) {
  std::lock_guard lock(mu_);
  auto it = waiting_.find(task_id);
  if (it == waiting_.end() || it->second.answer) {
    return MakeError(ErrorCode::kFailedPrecondition, "task {} is not waiting for approval",
                     task_id);
  }
  it->second.answer = std::move(decision);
  cv_.notify_all();
  return it->second.pending.request.step_seq;
}

std::optional<int64_t> ApprovalDesk::AnswerOrQueue(const std::string& task_id,
                                                   agent::ApprovalDecision decision) {
  std::lock_guard lock(mu_);
  auto it = waiting_.find(task_id);
  if (it != waiting_.end() && !it->second.answer) {
    it->second.answer = std::move(decision);
    cv_.notify_all();
    return it->second.pending.request.step_seq;
  }
  queued_[task_id] = std::move(decision);
  return std::nullopt;
}

void ApprovalDesk::Forget(const std::string& task_id) {
  std::lock_guard lock(mu_);
  queued_.erase(task_id);
}

void ApprovalDesk::Wake() {
  // Taking the lock orders the caller's Cancel() before the waiters' predicate check.
  { std::lock_guard lock(mu_); }
  cv_.notify_all();
}

void ApprovalDesk::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

}  // namespace tandem::server
