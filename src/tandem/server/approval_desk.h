// Approvals for tasks run by the server: the controller's thread waits at the desk until a person
// answers over HTTP (approve, refuse, feedback), the task is cancelled, the server stops, or the
// approval timeout passes. The last three leave the step unanswered (stop_run), so the task stops
// resumable and asks again when resumed.
//
//   ApprovalDesk desk({.timeout = std::chrono::hours(1)});
//   DeskApprover approver(&desk, &cancel);     // One per run, on the controller's thread.
//   ... desk.Answer(task_id, {.kind = agent::ApprovalKind::kApprove, .by = "alice"});
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "tandem/agent/approval.h"
#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"

namespace tandem::server {

struct ApprovalDeskOptions {
  // How long a call may wait for a person before the task stops (resumable). Long values keep
  // a worker busy with a waiting task; short ones stop tasks people have not seen yet.
  std::chrono::milliseconds timeout = std::chrono::hours(1);
};

// A call waiting for a person, as GET /api/tasks/{id} shows it.
struct PendingApproval {
  agent::ApprovalRequest request;
  int64_t since_ms = 0;  // Unix time the wait began.
};

// The pending approvals of every task, keyed by task id (a task waits for at most one call).
// Thread-safe: all state is guarded by mu_.
class ApprovalDesk {
 public:
  explicit ApprovalDesk(ApprovalDeskOptions options) : options_(options) {}

  // Called on a controller's thread: publishes `request` and blocks until it is answered,
  // `cancel` is set (and Wake called), Shutdown is called, or the timeout passes; the last
  // three return a refusal with stop_run and a note saying why. Feedback queued for the task
  // answers at once without waiting.
  agent::ApprovalDecision Wait(const agent::ApprovalRequest& request,
                               const CancellationToken& cancel);

  // The call `task_id` waits on, if any.
  std::optional<PendingApproval> Pending(const std::string& task_id);

  // Answers the call `task_id` waits on and returns its step. Fails with kFailedPrecondition
  // when nothing waits (or it was answered already).
  Result<int64_t> Answer(const std::string& task_id, agent::ApprovalDecision decision);

  // Answers the call `task_id` waits on with `decision` and returns its step; when nothing
  // waits, keeps `decision` for the task's next call that needs approval (replacing one kept
  // earlier) and returns nullopt.
  std::optional<int64_t> AnswerOrQueue(const std::string& task_id,
                                       agent::ApprovalDecision decision);
  // Drops feedback queued for `task_id` (its run ended).
  void Forget(const std::string& task_id);

  // Wakes waiters so they notice their cancellation token.
  void Wake();
  // Answers every waiter with stop_run and makes later Waits return at once.
  void Shutdown();

 private:
  struct Slot {
    PendingApproval pending;
    std::optional<agent::ApprovalDecision> answer;
  };

  ApprovalDeskOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;                             // Signals answers, wakes and shutdown.
  std::map<std::string, Slot> waiting_;                    // GUARDED_BY(mu_)
  std::map<std::string, agent::ApprovalDecision> queued_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                                  // GUARDED_BY(mu_)
};

// The Approver of one server run: asks `desk`, stops when `cancel` is set. Not thread-safe (the
// controller calls it from its own thread only); the desk and the token must outlive it.
class DeskApprover final : public agent::Approver {
 public:
  DeskApprover(ApprovalDesk* desk, const CancellationToken* cancel)
      : desk_(desk), cancel_(cancel) {}
  agent::ApprovalDecision Decide(const agent::ApprovalRequest& request) override {
    return desk_->Wait(request, *cancel_);
  }

 private:
  ApprovalDesk* desk_;
  const CancellationToken* cancel_;
};

}  // namespace tandem::server
