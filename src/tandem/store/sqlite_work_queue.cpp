// SqliteTaskStore's WorkQueueStore (schema in sqlite_task_store.cpp's migration 6). SQLite runs
// one writer at a time, so a claim is a single UPDATE ... RETURNING; workers on one machine
// share the file. SQLite has no notifications: workers poll.
#include <sqlite3.h>

#include <thread>

#include "tandem/core/sqlite.h"
#include "tandem/store/rows.h"
#include "tandem/store/sqlite_task_store.h"

namespace tandem::store {
namespace {

using internal::Collect;
using internal::First;
using sqlite::Statement;

// How long a worker on SQLite sleeps between looks at the queue.
constexpr std::chrono::milliseconds kPollInterval{200};

constexpr std::string_view kQueueColumns =
    "task_id, placement, lease_owner, lease_expires_ms, enqueued_at_ms, claims, cancel_requested";

QueuedTask ReadQueued(const Statement& s) {
  return {.task_id = s.Text(0),
          .placement = ParsePlacement(s.Text(1)).value_or(Placement::kLocalOnly),
          .lease_owner = s.Text(2),
          .lease_expires_ms = s.Int(3),
          .enqueued_at_ms = s.Int(4),
          .claims = s.Int(5),
          .cancel_requested = s.Int(6) != 0};
}

constexpr std::string_view kWorkerColumns =
    "name, zone, capacity, host, pid, started_at_ms, heartbeat_ms, stopped";

WorkerRecord ReadWorker(const Statement& s) {
  return {.name = s.Text(0),
          .zone = ParseWorkerZone(s.Text(1)).value_or(WorkerZone::kLocal),
          .capacity = static_cast<int>(s.Int(2)),
          .host = s.Text(3),
          .pid = s.Int(4),
          .started_at_ms = s.Int(5),
          .heartbeat_ms = s.Int(6),
          .stopped = s.Int(7) != 0};
}

class PollingSignal final : public WorkSignal {
 public:
  Result<bool> Wait(std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(std::min(timeout, kPollInterval));
    return false;
  }
};

}  // namespace

Status SqliteTaskStore::SubmitTask(std::string_view task_id, Placement placement, int64_t now_ms) {
  std::lock_guard lock(mu_);
  // A task a live worker holds is not taken from it.
  Result<Statement> s = statements_->Prepare(
      "INSERT INTO task_queue (task_id, placement, enqueued_at_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (task_id) DO UPDATE SET placement = excluded.placement, lease_owner = '', "
      "lease_expires_ms = 0, enqueued_at_ms = excluded.enqueued_at_ms, cancel_requested = 0 "
      "WHERE task_queue.lease_owner = '' OR task_queue.lease_expires_ms < ?3");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, task_id).Bind(2, PlacementName(placement)).Bind(3, now_ms);
  if (Status status = s->Run(); !status) return status;
  if (sqlite3_changes(db_) == 0) {
    return MakeError(ErrorCode::kFailedPrecondition, "task {} is running on a worker", task_id);
  }
  return {};
}

Result<std::optional<QueuedTask>> SqliteTaskStore::ClaimTask(const ClaimRequest& request) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(fmt::format(
      "UPDATE task_queue SET lease_owner = ?1, lease_expires_ms = ?2 + ?3, claims = claims + 1 "
      "WHERE task_id = (SELECT task_id FROM task_queue "
      "WHERE (lease_owner = '' OR lease_expires_ms < ?2) AND (placement = 'anywhere' OR ?4) "
      "ORDER BY enqueued_at_ms, task_id LIMIT 1) RETURNING {}",
      kQueueColumns));
  if (s) {
    s->Bind(1, request.worker)
        .Bind(2, request.now_ms)
        .Bind(3, request.lease_ms)
        .Bind(4, int64_t{request.zone == WorkerZone::kLocal});
  }
  return First(Collect<QueuedTask>(std::move(s), ReadQueued));
}

Result<std::vector<QueuedTask>> SqliteTaskStore::RenewLeases(std::string_view worker,
                                                             int64_t now_ms, int64_t lease_ms) {
  std::lock_guard lock(mu_);
  Result<Batch> batch = BeginBatch();  // Joins a batch this thread has open.
  if (!batch) return std::unexpected(batch.error());
  Result<Statement> beat =
      statements_->Prepare("UPDATE workers SET heartbeat_ms = ? WHERE name = ?");
  if (!beat) return std::unexpected(beat.error());
  beat->Bind(1, now_ms).Bind(2, worker);
  if (Status status = beat->Run(); !status) return std::unexpected(status.error());
  Result<Statement> s = statements_->Prepare(
      fmt::format("UPDATE task_queue SET lease_expires_ms = ? WHERE lease_owner = ? RETURNING {}",
                  kQueueColumns));
  if (s) s->Bind(1, now_ms + lease_ms).Bind(2, worker);
  Result<std::vector<QueuedTask>> held = Collect<QueuedTask>(std::move(s), ReadQueued);
  if (!held) return held;
  if (Status committed = batch->Commit(); !committed) return std::unexpected(committed.error());
  return held;
}

Status SqliteTaskStore::ReleaseTask(std::string_view task_id, std::string_view worker,
                                    Placement placement) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "UPDATE task_queue SET lease_owner = '', lease_expires_ms = 0, placement = ? "
      "WHERE task_id = ? AND lease_owner = ?");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, PlacementName(placement)).Bind(2, task_id).Bind(3, worker);
  return s->Run();
}

Status SqliteTaskStore::CompleteTask(std::string_view task_id, std::string_view worker) {
  std::lock_guard lock(mu_);
  Result<Statement> s =
      statements_->Prepare("DELETE FROM task_queue WHERE task_id = ? AND lease_owner = ?");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, task_id).Bind(2, worker);
  return s->Run();
}

Result<bool> SqliteTaskStore::CancelQueuedTask(std::string_view task_id, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Result<Batch> batch = BeginBatch();
  if (!batch) return std::unexpected(batch.error());
  Result<Statement> removed = statements_->Prepare(
      "DELETE FROM task_queue WHERE task_id = ? AND (lease_owner = '' OR lease_expires_ms < ?)");
  if (!removed) return std::unexpected(removed.error());
  removed->Bind(1, task_id).Bind(2, now_ms);
  if (Status status = removed->Run(); !status) return std::unexpected(status.error());
  bool was_waiting = sqlite3_changes(db_) > 0;
  if (!was_waiting) {
    Result<Statement> flag =
        statements_->Prepare("UPDATE task_queue SET cancel_requested = 1 WHERE task_id = ?");
    if (!flag) return std::unexpected(flag.error());
    flag->Bind(1, task_id);
    if (Status status = flag->Run(); !status) return std::unexpected(status.error());
    if (sqlite3_changes(db_) == 0) {
      return MakeError(ErrorCode::kNotFound, "task {} is not queued", task_id);
    }
  }
  if (Status committed = batch->Commit(); !committed) return std::unexpected(committed.error());
  return was_waiting;
}

Result<std::optional<QueuedTask>> SqliteTaskStore::GetQueuedTask(std::string_view task_id) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      fmt::format("SELECT {} FROM task_queue WHERE task_id = ?", kQueueColumns));
  if (s) s->Bind(1, task_id);
  return First(Collect<QueuedTask>(std::move(s), ReadQueued));
}

Result<std::vector<QueuedTask>> SqliteTaskStore::ListQueue() {
  std::lock_guard lock(mu_);
  return Collect<QueuedTask>(
      statements_->Prepare(
          fmt::format("SELECT {} FROM task_queue ORDER BY enqueued_at_ms, task_id", kQueueColumns)),
      ReadQueued);
}

Status SqliteTaskStore::SaveWorker(const WorkerRecord& worker) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(fmt::format(
      "INSERT OR REPLACE INTO workers ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", kWorkerColumns));
  if (!s) return std::unexpected(s.error());
  s->Bind(1, worker.name)
      .Bind(2, WorkerZoneName(worker.zone))
      .Bind(3, int64_t{worker.capacity})
      .Bind(4, worker.host)
      .Bind(5, worker.pid)
      .Bind(6, worker.started_at_ms)
      .Bind(7, worker.heartbeat_ms)
      .Bind(8, int64_t{worker.stopped});
  return s->Run();
}

Result<std::vector<WorkerRecord>> SqliteTaskStore::ListWorkers() {
  std::lock_guard lock(mu_);
  return Collect<WorkerRecord>(
      statements_->Prepare(fmt::format("SELECT {} FROM workers ORDER BY name", kWorkerColumns)),
      ReadWorker);
}

Result<std::unique_ptr<WorkSignal>> SqliteTaskStore::ListenForWork() {
  return std::make_unique<PollingSignal>();
}

}  // namespace tandem::store
