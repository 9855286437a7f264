#include "tandem/cluster/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "tandem/cluster/submission.h"

namespace tandem::cluster {
namespace {

using store::TaskStatus;

// How often a waiting or full worker looks at its stop token.
constexpr std::chrono::milliseconds kStopCheck{250};

bool IsFinished(TaskStatus status) {
  return status == TaskStatus::kSucceeded || status == TaskStatus::kFailed ||
         status == TaskStatus::kStopped;
}

}  // namespace

Worker::Worker(WorkerDeps deps, WorkerOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

Worker::~Worker() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, slot] : slots_) {
      slot->cancel.Cancel();
      threads.push_back(std::move(slot->thread));
    }
  }
  for (std::thread& thread : threads)
    if (thread.joinable()) thread.join();
}

int64_t Worker::NowMs() const {
  return ToUnixMillis(deps_.clock->Now());
}

Status Worker::Run(const CancellationToken& stop) {
  store::TaskStore& store = *deps_.agent.store;
  store::WorkerRecord record{.name = options_.name,
                             .zone = options_.zone,
                             .capacity = options_.capacity,
                             .host = options_.host,
                             .pid = getpid(),
                             .started_at_ms = NowMs(),
                             .heartbeat_ms = NowMs()};
  if (Status saved = store.SaveWorker(record); !saved) {
    return std::unexpected(std::move(saved.error()).WithContext("registering the worker"));
  }
  last_renewal_ms_ = NowMs();
  spdlog::info("worker {} ({} zone, capacity {}) waiting for tasks", options_.name,
               store::WorkerZoneName(options_.zone), options_.capacity);
  std::thread heartbeat([this] { Heartbeat(); });
  std::unique_ptr<store::WorkSignal> signal;
  while (!stop.IsCancelled()) {
    JoinFinished();
    if (ClaimOne(stop)) continue;
    if (signal == nullptr) {
      Result<std::unique_ptr<store::WorkSignal>> opened = store.ListenForWork();
      if (opened) {
        signal = std::move(*opened);
      } else {
        spdlog::warn("worker {}: no notifications, looking at the queue every {} ms: {}",
                     options_.name, options_.idle_check.count(), opened.error().message());
      }
    }
    WaitForWork(signal.get(), stop);
  }
  // Running tasks end at a safe point and go back to the queue (Drive sees stopping_).
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, slot] : slots_)
      slot->cancel.Cancel();
  }
  {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] {
      return std::all_of(slots_.begin(), slots_.end(),
                         [](const auto& entry) { return entry.second->done; });
    });
  }
  JoinFinished();
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  changed_.notify_all();
  heartbeat.join();
  record.heartbeat_ms = NowMs();
  record.stopped = true;
  if (Status saved = store.SaveWorker(record); !saved) {
    spdlog::warn("worker {}: recording the stop failed: {}", options_.name,
                 saved.error().message());
  }
  spdlog::info("worker {} stopped", options_.name);
  return {};
}

bool Worker::ClaimOne(const CancellationToken& stop) {
  {
    std::unique_lock lock(mu_);
    if (static_cast<int>(slots_.size()) >= options_.capacity) {
      changed_.wait_for(lock, kStopCheck);
      return !stop.IsCancelled();  // Full: look again once a slot is free.
    }
  }
  Result<std::optional<store::QueuedTask>> claimed =
      deps_.agent.store->ClaimTask({.worker = options_.name,
                                    .zone = options_.zone,
                                    .now_ms = NowMs(),
                                    .lease_ms = static_cast<int64_t>(options_.lease.count())});
  if (!claimed) {
    spdlog::error("worker {}: claiming a task failed: {}", options_.name,
                  claimed.error().message());
    return false;
  }
  if (!*claimed) return false;
  std::lock_guard lock(mu_);
  auto slot = std::make_unique<Slot>();
  slot->claim_seq = ++claims_;
  Slot& started = *slot;
  std::string task_id = (*claimed)->task_id;
  slots_[task_id] = std::move(slot);
  started.thread = std::thread([this, entry = std::move(**claimed), &started]() mutable {
    RunClaimed(std::move(entry), started);
    {
      std::lock_guard done_lock(mu_);
      started.done = true;
    }
    changed_.notify_all();
  });
  return true;
}

void Worker::WaitForWork(store::WorkSignal* signal, const CancellationToken& stop) {
  auto deadline = std::chrono::steady_clock::now() + options_.idle_check;
  while (!stop.IsCancelled() && std::chrono::steady_clock::now() < deadline) {
    if (signal == nullptr) {
      std::this_thread::sleep_for(kStopCheck);
      continue;
    }
    Result<bool> woken = signal->Wait(kStopCheck);
    if (!woken) {
      spdlog::warn("worker {}: lost the notification connection: {}", options_.name,
                   woken.error().message());
      return;
    }
    if (*woken) return;
  }
}

void Worker::RunClaimed(store::QueuedTask entry, Slot& slot) {
  store::TaskStore& store = *deps_.agent.store;
  Result<std::optional<store::TaskRecord>> task = store.GetTask(entry.task_id);
  if (!task) {
    spdlog::error("worker {}: reading task {} failed: {}", options_.name, entry.task_id,
                  task.error().message());
    return Release(entry.task_id, "its task could not be read");
  }
  if (!*task) {
    spdlog::error("worker {}: queued task {} does not exist; dropped", options_.name,
                  entry.task_id);
    return Complete(entry.task_id);
  }
  Audit(entry.task_id, "worker_claim",
        {{"worker", options_.name},
         {"zone", store::WorkerZoneName(options_.zone)},
         {"claim", entry.claims}});
  // Its previous worker finished it but died before taking it off the queue.
  if (IsFinished((*task)->status)) return Complete(entry.task_id);
  if (entry.cancel_requested) {
    SetStatus(entry.task_id, TaskStatus::kStopped, "cancelled; resume with `tandem resume`");
    return Complete(entry.task_id);
  }
  if (entry.claims > options_.max_claims) {
    SetStatus(entry.task_id, TaskStatus::kFailed,
              fmt::format("given up after {} claims by workers without an end (each run "
                          "crashed or lost its worker)",
                          entry.claims - 1));
    return Complete(entry.task_id);
  }
  // Checked before the loop recovers an interrupted step: that may run a tool on this machine.
  if (options_.zone == store::WorkerZone::kCloud &&
      PlacementOf(**task) == store::Placement::kLocalOnly) {
    return HandOver(entry.task_id, "it holds sensitive data");
  }
  Drive(**task, slot);
}

void Worker::Drive(const store::TaskRecord& task, Slot& slot) {
  // On another machine than the one that created it, the workspace may not exist yet (shared
  // storage mounted at the same path is what keeps files across machines: docs/SCALING.md).
  std::error_code ignored;
  std::filesystem::create_directories(task.workspace, ignored);
  agent::ControllerDeps deps = deps_.agent;
  deps.cancel = &slot.cancel;
  deps.may_run_tainted = options_.zone == store::WorkerZone::kLocal;
  agent::RunOptions run_options = agent::StoredRunOptions(task);
  run_options.context_tokens = options_.context_tokens;
  agent::Controller controller(deps);
  Result<agent::TaskOutcome> outcome = controller.Run(task.id, run_options);
  bool lost = false;
  bool by_user = false;
  bool stopping = false;
  {
    std::lock_guard lock(mu_);
    lost = slot.lost;
    by_user = slot.cancelled_by_user;
    stopping = stopping_;
  }
  if (lost) {
    spdlog::warn("worker {}: task {} went to another worker (lease lost); its run here stopped",
                 options_.name, task.id);
    return;
  }
  if (!outcome) {
    spdlog::error("worker {}: task {} failed to run: {}", options_.name, task.id,
                  outcome.error().message());
    return Release(task.id, "its run failed: " + outcome.error().message());
  }
  if (outcome->handed_over) return HandOver(task.id, outcome->stop_reason);
  if (outcome->status == TaskStatus::kStopped && stopping && !by_user) {
    return Release(task.id, fmt::format("worker {} stopped", options_.name));
  }
  spdlog::info("worker {}: task {} {} after {} step(s): {}", options_.name, task.id,
               store::TaskStatusName(outcome->status), outcome->steps, outcome->stop_reason);
  Complete(task.id);
}

void Worker::HandOver(const std::string& task_id, const std::string& reason) {
  Audit(task_id, "handover",
        {{"from_worker", options_.name},
         {"from_zone", store::WorkerZoneName(options_.zone)},
         {"to_zone", "local"},
         {"reason", reason}});
  SetStatus(task_id, TaskStatus::kPending, "handed over to a local worker: " + reason);
  if (Status released =
          deps_.agent.store->ReleaseTask(task_id, options_.name, store::Placement::kLocalOnly);
      !released) {
    spdlog::error("worker {}: handing task {} over failed (its lease will expire): {}",
                  options_.name, task_id, released.error().message());
    return;
  }
  spdlog::info("worker {}: task {} handed over to a local worker: {}", options_.name, task_id,
               reason);
}

void Worker::Release(const std::string& task_id, const std::string& why) {
  store::TaskStore& store = *deps_.agent.store;
  // Placed by the taint as it is now: it may have grown during the run.
  std::optional<store::TaskRecord> task =
      SetStatus(task_id, TaskStatus::kPending, "back in the queue: " + why);
  store::Placement placement = task ? PlacementOf(*task) : store::Placement::kLocalOnly;
  if (Status released = store.ReleaseTask(task_id, options_.name, placement); !released) {
    spdlog::error("worker {}: releasing task {} failed (its lease will expire): {}", options_.name,
                  task_id, released.error().message());
  }
}

void Worker::Complete(const std::string& task_id) {
  if (Status done = deps_.agent.store->CompleteTask(task_id, options_.name); !done) {
    spdlog::error("worker {}: taking task {} off the queue failed: {}", options_.name, task_id,
                  done.error().message());
  }
}

std::optional<store::TaskRecord> Worker::SetStatus(const std::string& task_id, TaskStatus status,
                                                   const std::string& reason) {
  store::TaskStore& store = *deps_.agent.store;
  Result<std::optional<store::TaskRecord>> task = store.GetTask(task_id);
  if (!task || !*task) return std::nullopt;
  (*task)->status = status;
  (*task)->stop_reason = reason;
  (*task)->updated_at_ms = NowMs();
  if (Status saved = store.UpdateTask(**task); !saved) {
    spdlog::error("worker {}: saving task {}'s status failed: {}", options_.name, task_id,
                  saved.error().message());
    return std::nullopt;
  }
  return std::move(*task);
}

void Worker::Audit(const std::string& task_id, std::string kind, nlohmann::json payload) {
  Result<int64_t> saved = deps_.agent.store->AppendAudit({.task_id = task_id,
                                                          .kind = std::move(kind),
                                                          .payload = payload.dump(),
                                                          .created_at_ms = NowMs()});
  if (!saved) spdlog::error("audit record not saved: {}", saved.error().message());
}

void Worker::Heartbeat() {
  // A deadline rather than a plain wait: changed_ also wakes on every finished task.
  std::unique_lock lock(mu_);
  auto next = std::chrono::steady_clock::now() + options_.heartbeat;
  while (!changed_.wait_until(lock, next, [&] { return finished_; })) {
    lock.unlock();
    RenewLeases();
    lock.lock();
    next = std::chrono::steady_clock::now() + options_.heartbeat;
  }
}

void Worker::RenewLeases() {
  uint64_t claims_before = 0;
  {
    std::lock_guard lock(mu_);
    claims_before = claims_;
  }
  int64_t now_ms = NowMs();
  Result<std::vector<store::QueuedTask>> held = deps_.agent.store->RenewLeases(
      options_.name, now_ms, static_cast<int64_t>(options_.lease.count()));
  std::lock_guard lock(mu_);
  if (!held) {
    spdlog::warn("worker {}: renewing leases failed: {}", options_.name, held.error().message());
    // Past its lease another worker may already run the task: stop every run here.
    if (now_ms - last_renewal_ms_ > options_.lease.count()) {
      for (auto& [id, slot] : slots_) {
        slot->lost = true;
        slot->cancel.Cancel();
      }
    }
    return;
  }
  last_renewal_ms_ = now_ms;
  std::map<std::string, bool> cancel_requested;
  for (const store::QueuedTask& entry : *held)
    cancel_requested[entry.task_id] = entry.cancel_requested;
  for (auto& [id, slot] : slots_) {
    if (slot->done) continue;
    auto entry = cancel_requested.find(id);
    // A claim made after the renewal began is not in its answer yet.
    if (entry == cancel_requested.end() && slot->claim_seq <= claims_before) {
      slot->lost = true;
      slot->cancel.Cancel();
    } else if (entry != cancel_requested.end() && entry->second) {
      slot->cancelled_by_user = true;
      slot->cancel.Cancel();
    }
  }
}

void Worker::JoinFinished() {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mu_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      if (it->second->done) {
        finished.push_back(std::move(it->second->thread));
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (std::thread& thread : finished)
    thread.join();
}

}  // namespace tandem::cluster
