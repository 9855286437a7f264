// ScheduleStore: durable recurring goals and their run history. An interface so each backend
// (SQLite's TaskStore now, PostgreSQL later) implements the same few calls.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::store {

// One recurring goal. Policies and the cron text are validated by tandem::schedule before they
// reach the store; the store keeps them as text.
struct ScheduleRecord {
  std::string id;
  std::string name;              // Free text for people; may be empty.
  std::string cron;              // 5-field cron expression or @hourly/@daily/@weekly/@monthly.
  std::string timezone = "UTC";  // IANA name the cron fields are read in.
  std::string goal;
  std::string budget =
      "{}";             // JSON object {"usd","tokens","seconds","tool_calls"} (optional keys).
  std::string owner;    // User the tasks run as; empty: admins only see them.
  bool shared = false;  // Tasks it starts are visible to every user.
  std::string missed = "skip";   // After downtime: "skip" or "run_once".
  std::string overlap = "skip";  // When the previous task still runs: "skip", "queue", "allow".
  bool enabled = true;
  int64_t next_run_ms = 0;    // Next due time (Unix ms) not yet handled.
  int64_t queued_due_ms = 0;  // A due time waiting for the previous task to end; 0: none.
  std::string last_task_id;   // Task of the newest started run; empty: none yet.
  int64_t last_run_ms = 0;    // When that task was started.
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// One entry of a schedule's history: a started run, or a due time that was not run.
struct ScheduleRunRecord {
  int64_t id = 0;  // Assigned by the store, increasing.
  std::string schedule_id;
  int64_t due_ms = 0;   // The due time it is about.
  int64_t time_ms = 0;  // When it was handled.
  std::string task_id;  // Started runs only.
  std::string outcome;  // "started", "skipped_overlap", "skipped_missed" or "failed".
  std::string detail;
};

// The fields a scheduler pass moves forward.
struct ScheduleProgress {
  int64_t next_run_ms = 0;
  int64_t queued_due_ms = 0;
  std::string last_task_id;
  int64_t last_run_ms = 0;
};

// Thread-safety is the implementation's to state (TaskStore is thread-safe).
class ScheduleStore {
 public:
  virtual ~ScheduleStore() = default;

  // Fails with kAlreadyExists when the id is taken.
  virtual Status CreateSchedule(const ScheduleRecord& schedule) = 0;
  // nullopt when there is no such schedule.
  virtual Result<std::optional<ScheduleRecord>> GetSchedule(std::string_view id) = 0;
  // Oldest first.
  virtual Result<std::vector<ScheduleRecord>> ListSchedules() = 0;
  // Deletes the schedule and its history; fails with kNotFound when it does not exist.
  virtual Status DeleteSchedule(std::string_view id) = 0;
  // Saves `progress` and appends `runs` in one transaction. Fails with kNotFound when the
  // schedule was deleted meanwhile (nothing is written then).
  virtual Status SaveScheduleProgress(std::string_view id, const ScheduleProgress& progress,
                                      std::span<const ScheduleRunRecord> runs,
                                      int64_t updated_at_ms) = 0;
  // Newest first, at most `limit`.
  virtual Result<std::vector<ScheduleRunRecord>> ListScheduleRuns(std::string_view schedule_id,
                                                                  int limit = 50) = 0;
};

}  // namespace tandem::store
