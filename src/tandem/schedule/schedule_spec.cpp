#include "tandem/schedule/schedule_spec.h"

#include <fmt/format.h>

#include "tandem/core/clock.h"
#include "tandem/core/id.h"

namespace tandem::schedule {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

Status CheckBudget(const json& budget) {
  if (budget.is_null()) return {};
  if (!budget.is_object())
    return MakeError(ErrorCode::kInvalidArgument, "budget must be an object");
  for (const auto& [key, value] : budget.items()) {
    if (key != "usd" && key != "tokens" && key != "seconds" && key != "tool_calls") {
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown budget key '{}' (usd, tokens, seconds, tool_calls)", key);
    }
    if (!value.is_number() || value.get<double>() <= 0) {
      return MakeError(ErrorCode::kInvalidArgument, "budget.{} must be a positive number", key);
    }
  }
  return {};
}

// Copies body[key] into `out` when present; fails when it has the wrong JSON type.
template <typename T>
Status Read(const json& body, const char* key, T& out) {
  if (!body.contains(key) || body[key].is_null()) return {};
  const json& value = body[key];
  if constexpr (std::is_same_v<T, bool>) {
    if (!value.is_boolean())
      return MakeError(ErrorCode::kInvalidArgument, "{} must be a bool", key);
  } else {
    if (!value.is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, "{} must be a string", key);
    }
  }
  out = value.get<T>();
  return {};
}

}  // namespace

Result<store::ScheduleRecord> NewSchedule(const ScheduleSpec& spec, TimePoint now) {
  if (spec.goal.empty()) return MakeError(ErrorCode::kInvalidArgument, "goal must not be empty");
  if (spec.name.size() > 200) {
    return MakeError(ErrorCode::kInvalidArgument, "name is longer than 200 characters");
  }
  if (spec.missed != "skip" && spec.missed != "run_once") {
    return MakeError(ErrorCode::kInvalidArgument, "missed must be skip or run_once, not '{}'",
                     spec.missed);
  }
  if (spec.overlap != "skip" && spec.overlap != "queue" && spec.overlap != "allow") {
    return MakeError(ErrorCode::kInvalidArgument, "overlap must be skip, queue or allow, not '{}'",
                     spec.overlap);
  }
  if (Status budget = CheckBudget(spec.budget); !budget) return std::unexpected(budget.error());
  Result<CronExpr> cron = ParseCron(spec.cron);
  if (!cron) return std::unexpected(cron.error());
  Result<TimeZone> zone = TimeZone::Load(spec.timezone);
  if (!zone) return std::unexpected(zone.error());
  std::optional<TimePoint> next = NextDue(*cron, *zone, now);
  if (!next) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cron '{}' never comes due (no matching day in the next five years)",
                     spec.cron);
  }
  int64_t now_ms = ToUnixMillis(now);
  return store::ScheduleRecord{
      .id = NewId(now),
      .name = spec.name,
      .cron = spec.cron,
      .timezone = spec.timezone,
      .goal = spec.goal,
      .budget = spec.budget.is_null() ? "{}" : spec.budget.dump(),
      .owner = spec.owner,
      .shared = spec.shared,
      .missed = spec.missed,
      .overlap = spec.overlap,
      .enabled = spec.enabled,
      .next_run_ms = ToUnixMillis(*next),
      .created_at_ms = now_ms,
      .updated_at_ms = now_ms,
  };
}

Result<ScheduleSpec> SpecFromJson(const json& body) {
  if (!body.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "send a JSON object with \"cron\", \"timezone\" and \"goal\"");
  }
  ScheduleSpec spec;
  for (Status status : {Read(body, "name", spec.name), Read(body, "cron", spec.cron),
                        Read(body, "timezone", spec.timezone), Read(body, "goal", spec.goal),
                        Read(body, "shared", spec.shared), Read(body, "missed", spec.missed),
                        Read(body, "overlap", spec.overlap), Read(body, "enabled", spec.enabled)}) {
    if (!status) return std::unexpected(status.error());
  }
  if (spec.cron.empty()) return MakeError(ErrorCode::kInvalidArgument, "cron is required");
  spec.budget = body.value("budget", json());
  return spec;
}

ordered_json ScheduleJson(const store::ScheduleRecord& schedule,
                          const std::optional<LastRun>& last_run) {
  json budget = json::parse(schedule.budget, nullptr, false);
  if (budget.is_discarded() || (budget.is_object() && budget.empty())) budget = nullptr;
  ordered_json last = nullptr;
  if (last_run) {
    last = {{"task_id", last_run->task_id},
            {"time_ms", last_run->time_ms},
            {"status", last_run->status}};
  }
  return {{"id", schedule.id},
          {"name", schedule.name},
          {"cron", schedule.cron},
          {"timezone", schedule.timezone},
          {"goal", schedule.goal},
          {"budget", budget},
          {"shared", schedule.shared},
          {"missed", schedule.missed},
          {"overlap", schedule.overlap},
          {"enabled", schedule.enabled},
          {"next_run_ms", schedule.enabled ? ordered_json(schedule.next_run_ms) : ordered_json()},
          {"last_run", last},
          {"owner", schedule.owner},
          {"created_at_ms", schedule.created_at_ms}};
}

ordered_json RunJson(const store::ScheduleRunRecord& run) {
  return {{"time_ms", run.time_ms},
          {"due_ms", run.due_ms},
          {"task_id", run.task_id.empty() ? ordered_json() : ordered_json(run.task_id)},
          {"outcome", run.outcome},
          {"detail", run.detail}};
}

}  // namespace tandem::schedule
