// SqliteTaskStore's ScheduleStore: schedules and their run history (schema in
// sqlite_task_store.cpp's migration 5). Queries go through the connection's statement cache;
// multi-row writes are one batch (transaction).
#include <sqlite3.h>

#include "tandem/core/sqlite.h"
#include "tandem/store/rows.h"
#include "tandem/store/sqlite_task_store.h"

namespace tandem::store {
namespace {

using internal::Collect;
using internal::First;
using sqlite::Statement;

constexpr std::string_view kScheduleColumns =
    "id, name, cron, timezone, goal, budget, owner, shared, missed, overlap, enabled, "
    "next_run_ms, queued_due_ms, last_task_id, last_run_ms, created_at_ms, updated_at_ms";

ScheduleRecord ReadSchedule(const Statement& s) {
  return {.id = s.Text(0),
          .name = s.Text(1),
          .cron = s.Text(2),
          .timezone = s.Text(3),
          .goal = s.Text(4),
          .budget = s.Text(5),
          .owner = s.Text(6),
          .shared = s.Int(7) != 0,
          .missed = s.Text(8),
          .overlap = s.Text(9),
          .enabled = s.Int(10) != 0,
          .next_run_ms = s.Int(11),
          .queued_due_ms = s.Int(12),
          .last_task_id = s.Text(13),
          .last_run_ms = s.Int(14),
          .created_at_ms = s.Int(15),
          .updated_at_ms = s.Int(16)};
}

ScheduleRunRecord ReadRun(const Statement& s) {
  return {.id = s.Int(0),
          .schedule_id = s.Text(1),
          .due_ms = s.Int(2),
          .time_ms = s.Int(3),
          .task_id = s.Text(4),
          .outcome = s.Text(5),
          .detail = s.Text(6)};
}

}  // namespace

Status SqliteTaskStore::CreateSchedule(const ScheduleRecord& schedule) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(fmt::format(
      "INSERT INTO schedules ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      kScheduleColumns));
  if (!s) return std::unexpected(s.error());
  s->Bind(1, schedule.id)
      .Bind(2, schedule.name)
      .Bind(3, schedule.cron)
      .Bind(4, schedule.timezone)
      .Bind(5, schedule.goal)
      .Bind(6, schedule.budget.empty() ? std::string_view("{}") : std::string_view(schedule.budget))
      .Bind(7, schedule.owner)
      .Bind(8, int64_t{schedule.shared})
      .Bind(9, schedule.missed)
      .Bind(10, schedule.overlap)
      .Bind(11, int64_t{schedule.enabled})
      .Bind(12, schedule.next_run_ms)
      .Bind(13, schedule.queued_due_ms)
      .Bind(14, schedule.last_task_id)
      .Bind(15, schedule.last_run_ms)
      .Bind(16, schedule.created_at_ms)
      .Bind(17, schedule.updated_at_ms);
  Status status = s->Run();
  if (!status && status.error().code() == ErrorCode::kAlreadyExists) {
    return MakeError(ErrorCode::kAlreadyExists, "schedule {} already exists", schedule.id);
  }
  return status;
}

Result<std::optional<ScheduleRecord>> SqliteTaskStore::GetSchedule(std::string_view id) {
  std::lock_guard lock(mu_);
  Result<Statement> s =
      statements_->Prepare(fmt::format("SELECT {} FROM schedules WHERE id = ?", kScheduleColumns));
  if (s) s->Bind(1, id);
  return First(Collect<ScheduleRecord>(std::move(s), ReadSchedule));
}

Result<std::vector<ScheduleRecord>> SqliteTaskStore::ListSchedules() {
  std::lock_guard lock(mu_);
  return Collect<ScheduleRecord>(
      statements_->Prepare(
          fmt::format("SELECT {} FROM schedules ORDER BY created_at_ms, id", kScheduleColumns)),
      ReadSchedule);
}

Status SqliteTaskStore::DeleteSchedule(std::string_view id) {
  std::lock_guard lock(mu_);
  Result<Batch> batch = BeginBatch();  // Joins a batch this thread has open.
  if (!batch) return std::unexpected(batch.error());
  Result<Statement> runs = statements_->Prepare("DELETE FROM schedule_runs WHERE schedule_id = ?");
  if (!runs) return std::unexpected(runs.error());
  runs->Bind(1, id);
  if (Status status = runs->Run(); !status) return status;
  Result<Statement> s = statements_->Prepare("DELETE FROM schedules WHERE id = ?");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, id);
  if (Status status = s->Run(); !status) return status;
  if (sqlite3_changes(db_) == 0) return MakeError(ErrorCode::kNotFound, "no schedule {}", id);
  return batch->Commit();
}

Status SqliteTaskStore::SaveScheduleProgress(std::string_view id, const ScheduleProgress& progress,
                                             std::span<const ScheduleRunRecord> runs,
                                             int64_t updated_at_ms) {
  std::lock_guard lock(mu_);
  Result<Batch> batch = BeginBatch();  // Joins a batch this thread has open.
  if (!batch) return std::unexpected(batch.error());
  Result<Statement> s = statements_->Prepare(
      "UPDATE schedules SET next_run_ms = ?, queued_due_ms = ?, last_task_id = ?, "
      "last_run_ms = ?, updated_at_ms = ? WHERE id = ?");
  if (!s) return std::unexpected(s.error());
  s->Bind(1, progress.next_run_ms)
      .Bind(2, progress.queued_due_ms)
      .Bind(3, progress.last_task_id)
      .Bind(4, progress.last_run_ms)
      .Bind(5, updated_at_ms)
      .Bind(6, id);
  if (Status status = s->Run(); !status) return status;
  if (sqlite3_changes(db_) == 0) return MakeError(ErrorCode::kNotFound, "no schedule {}", id);
  for (const ScheduleRunRecord& run : runs) {
    Result<Statement> insert = statements_->Prepare(
        "INSERT INTO schedule_runs (schedule_id, due_ms, time_ms, task_id, outcome, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    if (!insert) return std::unexpected(insert.error());
    insert->Bind(1, id)
        .Bind(2, run.due_ms)
        .Bind(3, run.time_ms)
        .Bind(4, run.task_id)
        .Bind(5, run.outcome)
        .Bind(6, run.detail);
    if (Status status = insert->Run(); !status) return status;
  }
  return batch->Commit();
}

Result<std::vector<ScheduleRunRecord>> SqliteTaskStore::ListScheduleRuns(
    std::string_view schedule_id, int limit) {
  std::lock_guard lock(mu_);
  Result<Statement> s = statements_->Prepare(
      "SELECT id, schedule_id, due_ms, time_ms, task_id, outcome, detail FROM schedule_runs "
      "WHERE schedule_id = ? ORDER BY id DESC LIMIT ?");
  if (s) s->Bind(1, schedule_id).Bind(2, static_cast<int64_t>(limit));
  return Collect<ScheduleRunRecord>(std::move(s), ReadRun);
}

}  // namespace tandem::store
