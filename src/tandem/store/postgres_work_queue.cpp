// PostgresTaskStore's WorkQueueStore (schema in postgres_task_store.cpp's migration 6). Claims
// lock the chosen row with FOR UPDATE SKIP LOCKED, so concurrent workers never wait on each
// other or take the same task; submissions and releases NOTIFY the `tandem_work` channel, which
// idle workers LISTEN to on a connection of their own.
#include "tandem/core/error.h"
#include "tandem/core/pg_connection.h"
#include "tandem/core/pg_rows.h"
#include "tandem/store/postgres_task_store.h"
#include "tandem/store/rows.h"

namespace tandem::store {
namespace {

using internal::First;
using pg::Collect;
using pg::Done;
using pg::Params;
using pg::Rows;

constexpr std::string_view kChannel = "tandem_work";

constexpr std::string_view kQueueColumns =
    "task_id, placement, lease_owner, lease_expires_ms, enqueued_at_ms, claims, cancel_requested";

QueuedTask ReadQueued(const Rows& r, int i) {
  return {.task_id = r.Text(i, 0),
          .placement = ParsePlacement(r.Text(i, 1)).value_or(Placement::kLocalOnly),
          .lease_owner = r.Text(i, 2),
          .lease_expires_ms = r.Int(i, 3),
          .enqueued_at_ms = r.Int(i, 4),
          .claims = r.Int(i, 5),
          .cancel_requested = r.Bool(i, 6)};
}

constexpr std::string_view kWorkerColumns =
    "name, zone, capacity, host, pid, started_at_ms, heartbeat_ms, stopped";

WorkerRecord ReadWorker(const Rows& r, int i) {
  return {.name = r.Text(i, 0),
          .zone = ParseWorkerZone(r.Text(i, 1)).value_or(WorkerZone::kLocal),
          .capacity = static_cast<int>(r.Int(i, 2)),
          .host = r.Text(i, 3),
          .pid = r.Int(i, 4),
          .started_at_ms = r.Int(i, 5),
          .heartbeat_ms = r.Int(i, 6),
          .stopped = r.Bool(i, 7)};
}

// A connection of its own that LISTENs, so waiting never holds the store's connection.
class NotificationSignal final : public WorkSignal {
 public:
  static Result<std::unique_ptr<WorkSignal>> Open(std::string_view url) {
    Result<std::unique_ptr<pg::Connection>> connection = pg::Connection::Open(url);
    if (!connection) return std::unexpected(connection.error());
    if (Status listening = (*connection)->Exec(fmt::format("LISTEN {}", kChannel)); !listening) {
      return std::unexpected(listening.error());
    }
    return std::unique_ptr<WorkSignal>(new NotificationSignal(std::move(*connection)));
  }

  Result<bool> Wait(std::chrono::milliseconds timeout) override {
    return connection_->WaitForNotification(timeout);
  }

 private:
  explicit NotificationSignal(std::unique_ptr<pg::Connection> connection)
      : connection_(std::move(connection)) {}
  std::unique_ptr<pg::Connection> connection_;
};

}  // namespace

Status PostgresTaskStore::NotifyWork() {
  return Done(db_->Run("SELECT pg_notify($1, '')", Params().Add(kChannel)));
}

Status PostgresTaskStore::SubmitTask(std::string_view task_id, Placement placement,
                                     int64_t now_ms) {
  std::lock_guard lock(mu_);
  // A task a live worker holds is not taken from it.
  Result<Rows> rows = db_->Run(
      "INSERT INTO task_queue (task_id, placement, enqueued_at_ms) VALUES ($1, $2, $3) "
      "ON CONFLICT (task_id) DO UPDATE SET placement = excluded.placement, lease_owner = '', "
      "lease_expires_ms = 0, enqueued_at_ms = excluded.enqueued_at_ms, cancel_requested = FALSE "
      "WHERE task_queue.lease_owner = '' OR task_queue.lease_expires_ms < $3",
      Params().Add(task_id).Add(PlacementName(placement)).Add(now_ms));
  if (!rows) return std::unexpected(rows.error());
  if (rows->affected() == 0) {
    return MakeError(ErrorCode::kFailedPrecondition, "task {} is running on a worker", task_id);
  }
  return NotifyWork();
}

Result<std::optional<QueuedTask>> PostgresTaskStore::ClaimTask(const ClaimRequest& request) {
  std::lock_guard lock(mu_);
  return First(Collect<QueuedTask>(
      db_->Run(fmt::format("UPDATE task_queue q SET lease_owner = $1, lease_expires_ms = $2 + $3, "
                           "claims = q.claims + 1 FROM (SELECT task_id FROM task_queue "
                           "WHERE (lease_owner = '' OR lease_expires_ms < $2) "
                           "AND (placement = 'anywhere' OR $4) "
                           "ORDER BY enqueued_at_ms, task_id LIMIT 1 FOR UPDATE SKIP LOCKED) c "
                           "WHERE q.task_id = c.task_id RETURNING {}",
                           "q.task_id, q.placement, q.lease_owner, q.lease_expires_ms, "
                           "q.enqueued_at_ms, q.claims, q.cancel_requested"),
               Params()
                   .Add(request.worker)
                   .Add(request.now_ms)
                   .Add(request.lease_ms)
                   .Add(request.zone == WorkerZone::kLocal)),
      ReadQueued));
}

Result<std::vector<QueuedTask>> PostgresTaskStore::RenewLeases(std::string_view worker,
                                                               int64_t now_ms, int64_t lease_ms) {
  std::lock_guard lock(mu_);
  if (Status beat = Done(db_->Run("UPDATE workers SET heartbeat_ms = $1 WHERE name = $2",
                                  Params().Add(now_ms).Add(worker)));
      !beat) {
    return std::unexpected(beat.error());
  }
  return Collect<QueuedTask>(
      db_->Run(
          fmt::format(
              "UPDATE task_queue SET lease_expires_ms = $1 WHERE lease_owner = $2 RETURNING {}",
              kQueueColumns),
          Params().Add(now_ms + lease_ms).Add(worker)),
      ReadQueued);
}

Status PostgresTaskStore::ReleaseTask(std::string_view task_id, std::string_view worker,
                                      Placement placement) {
  std::lock_guard lock(mu_);
  Result<Rows> rows = db_->Run(
      "UPDATE task_queue SET lease_owner = '', lease_expires_ms = 0, placement = $1 "
      "WHERE task_id = $2 AND lease_owner = $3",
      Params().Add(PlacementName(placement)).Add(task_id).Add(worker));
  if (!rows) return std::unexpected(rows.error());
  return rows->affected() > 0 ? NotifyWork() : Status{};
}

Status PostgresTaskStore::CompleteTask(std::string_view task_id, std::string_view worker) {
  std::lock_guard lock(mu_);
  return Done(db_->Run("DELETE FROM task_queue WHERE task_id = $1 AND lease_owner = $2",
                       Params().Add(task_id).Add(worker)));
}

Result<bool> PostgresTaskStore::CancelQueuedTask(std::string_view task_id, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Result<Rows> removed = db_->Run(
      "DELETE FROM task_queue WHERE task_id = $1 AND (lease_owner = '' OR lease_expires_ms < $2)",
      Params().Add(task_id).Add(now_ms));
  if (!removed) return std::unexpected(removed.error());
  if (removed->affected() > 0) return true;
  Result<Rows> flagged = db_->Run(
      "UPDATE task_queue SET cancel_requested = TRUE WHERE task_id = $1", Params().Add(task_id));
  if (!flagged) return std::unexpected(flagged.error());
  if (flagged->affected() == 0) {
    return MakeError(ErrorCode::kNotFound, "task {} is not queued", task_id);
  }
  return false;
}

Result<std::optional<QueuedTask>> PostgresTaskStore::GetQueuedTask(std::string_view task_id) {
  std::lock_guard lock(mu_);
  return First(Collect<QueuedTask>(
      db_->Run(fmt::format("SELECT {} FROM task_queue WHERE task_id = $1", kQueueColumns),
               Params().Add(task_id)),
      ReadQueued));
}

Result<std::vector<QueuedTask>> PostgresTaskStore::ListQueue() {
  std::lock_guard lock(mu_);
  return Collect<QueuedTask>(
      db_->Run(
          fmt::format("SELECT {} FROM task_queue ORDER BY enqueued_at_ms, task_id", kQueueColumns)),
      ReadQueued);
}

Status PostgresTaskStore::SaveWorker(const WorkerRecord& worker) {
  std::lock_guard lock(mu_);
  return Done(db_->Run(
      fmt::format("INSERT INTO workers ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                  "ON CONFLICT (name) DO UPDATE SET zone = excluded.zone, "
                  "capacity = excluded.capacity, host = excluded.host, pid = excluded.pid, "
                  "started_at_ms = excluded.started_at_ms, heartbeat_ms = excluded.heartbeat_ms, "
                  "stopped = excluded.stopped",
                  kWorkerColumns),
      Params()
          .Add(worker.name)
          .Add(WorkerZoneName(worker.zone))
          .Add(int64_t{worker.capacity})
          .Add(worker.host)
          .Add(worker.pid)
          .Add(worker.started_at_ms)
          .Add(worker.heartbeat_ms)
          .Add(worker.stopped)));
}

Result<std::vector<WorkerRecord>> PostgresTaskStore::ListWorkers() {
  std::lock_guard lock(mu_);
  return Collect<WorkerRecord>(
      db_->Run(fmt::format("SELECT {} FROM workers ORDER BY name", kWorkerColumns)), ReadWorker);
}

Result<std::unique_ptr<WorkSignal>> PostgresTaskStore::ListenForWork() {
  return NotificationSignal::Open(url_);
}

}  // namespace tandem::store
