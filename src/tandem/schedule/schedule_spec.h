// What a person asks for when creating a schedule, its validation, and the JSON shapes the HTTP
// API and `tandem schedule list --json` share.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tandem/core/error.h"
#include "tandem/schedule/cron.h"
#include "tandem/store/schedule_store.h"

namespace tandem::schedule {

struct ScheduleSpec {
  std::string name;
  std::string cron;              // Required.
  std::string timezone = "UTC";  // IANA name.
  std::string goal;              // Required.
  nlohmann::json budget;         // null or {"usd","tokens","seconds","tool_calls"}, positive.
  std::string owner;             // Tasks run as this user.
  bool shared = false;           // Tasks visible to every user.
  std::string missed = "skip";   // "skip" | "run_once".
  std::string overlap = "skip";  // "skip" | "queue" | "allow".
  bool enabled = true;
};

// Validates `spec` and makes a new record (fresh id, first due time after `now`). Fails with
// kInvalidArgument naming the bad field (cron errors name the cron field and token).
Result<store::ScheduleRecord> NewSchedule(const ScheduleSpec& spec, TimePoint now);

// Reads the fields of a POST /api/schedules body (owner is not read: the caller sets it).
Result<ScheduleSpec> SpecFromJson(const nlohmann::json& body);

// The task a schedule started last, for listings.
struct LastRun {
  std::string task_id;
  int64_t time_ms = 0;
  std::string status;  // The task's status now ("running", "succeeded", ...).
};

// {"id","name","cron","timezone","goal","budget","shared","missed","overlap","enabled",
//  "next_run_ms","last_run","owner","created_at_ms"}.
nlohmann::ordered_json ScheduleJson(const store::ScheduleRecord& schedule,
                                    const std::optional<LastRun>& last_run);
// {"time_ms","due_ms","task_id","outcome","detail"}.
nlohmann::ordered_json RunJson(const store::ScheduleRunRecord& run);

}  // namespace tandem::schedule
