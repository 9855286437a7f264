// `tandem schedule add|list|rm|runs`: recurring goals, on the store directly (a running
// `tandem serve` picks changes up when it next re-reads the table, within a minute).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "tandem/core/clock.h"
#include "tandem/schedule/schedule.h"

namespace tandem::cli {
namespace {

struct ScheduleFlags {
  std::string id;
  schedule::ScheduleSpec spec;
  double budget_usd = 0;
  bool disabled = false;
  bool json = false;
  int limit = 50;
};

// "YYYY-MM-DD HH:MM ZONE" of a Unix-ms time in the schedule's zone ("-" for none).
std::string LocalTime(const store::ScheduleRecord& schedule, int64_t ms) {
  if (ms <= 0) return "-";
  Result<schedule::TimeZone> zone = schedule::TimeZone::Load(schedule.timezone);
  auto time = schedule::TimePoint(std::chrono::milliseconds(ms));
  if (!zone) return fmt::format("{} ms", ms);
  return fmt::format("{} {}", zone->Format(time), zone->name());
}

std::optional<schedule::LastRun> LastRunOf(store::TaskStore& store,
                                           const store::ScheduleRecord& schedule) {
  if (schedule.last_task_id.empty()) return std::nullopt;
  auto task = store.GetTask(schedule.last_task_id);
  return schedule::LastRun{
      .task_id = schedule.last_task_id,
      .time_ms = schedule.last_run_ms,
      .status = task && *task ? std::string(store::TaskStatusName((*task)->status)) : "unknown"};
}

void AddCommand(CommandState& state, ScheduleFlags flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  if (!flags.spec.owner.empty()) {
    auto user = store->GetUser(flags.spec.owner);
    if (!user || !*user || (*user)->role == "viewer") {
      state.exit_code = ReportError(
          Error(ErrorCode::kInvalidArgument,
                fmt::format("--owner {} is not a member or admin (see `tandem user list`)",
                            flags.spec.owner)),
          kExitUsage);
      return;
    }
  }
  if (flags.budget_usd > 0) flags.spec.budget = {{"usd", flags.budget_usd}};
  flags.spec.enabled = !flags.disabled;
  Result<store::ScheduleRecord> record = schedule::NewSchedule(flags.spec, SystemClock().Now());
  if (!record) {
    state.exit_code = ReportError(record.error(), kExitUsage);
    return;
  }
  if (Status created = store->CreateSchedule(*record); !created) {
    state.exit_code = ReportError(created.error(), kExitTaskFailed);
    return;
  }
  if (flags.json) {
    fmt::print("{}\n", schedule::ScheduleJson(*record, std::nullopt).dump(2));
    return;
  }
  fmt::print("schedule {} added; next run {}\n", record->id,
             LocalTime(*record, record->next_run_ms));
}

void ListCommand(CommandState& state, const ScheduleFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  auto schedules = store->ListSchedules();
  if (!schedules) {
    state.exit_code = ReportError(schedules.error(), kExitTaskFailed);
    return;
  }
  if (flags.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const store::ScheduleRecord& s : *schedules)
      out.push_back(schedule::ScheduleJson(s, LastRunOf(*store, s)));
    fmt::print("{}\n", out.dump(2));
    return;
  }
  if (schedules->empty()) fmt::print("no schedules yet\n");
  for (const store::ScheduleRecord& s : *schedules) {
    std::optional<schedule::LastRun> last = LastRunOf(*store, s);
    fmt::print("{}  {:<16}  \"{}\" {}  next {}  last {}  owner {}\n", s.id,
               s.name.empty() ? "-" : s.name, s.cron, s.timezone,
               s.enabled ? LocalTime(s, s.next_run_ms) : "disabled",
               last ? fmt::format("{} ({})", last->task_id, last->status) : "-",
               s.owner.empty() ? "-" : s.owner);
  }
}

void RemoveCommand(CommandState& state, const ScheduleFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  if (Status deleted = store->DeleteSchedule(flags.id); !deleted) {
    state.exit_code = ReportError(deleted.error(), kExitTaskFailed);
    return;
  }
  fmt::print("schedule {} removed\n", flags.id);
}

void RunsCommand(CommandState& state, const ScheduleFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  auto found = store->GetSchedule(flags.id);
  if (!found || !*found) {
    state.exit_code =
        ReportError(found ? Error(ErrorCode::kNotFound, fmt::format("no schedule {}", flags.id))
                          : found.error(),
                    kExitTaskFailed);
    return;
  }
  auto runs = store->ListScheduleRuns(flags.id, flags.limit);
  if (!runs) {
    state.exit_code = ReportError(runs.error(), kExitTaskFailed);
    return;
  }
  if (flags.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const store::ScheduleRunRecord& run : *runs)
      out.push_back(schedule::RunJson(run));
    fmt::print("{}\n", out.dump(2));
    return;
  }
  if (runs->empty()) fmt::print("no runs yet\n");
  for (const store::ScheduleRunRecord& run : *runs) {
    fmt::print("{}  {:<15}  {}  {}\n", LocalTime(**found, run.due_ms), run.outcome,
               run.task_id.empty() ? "-" : run.task_id, run.detail);
  }
}

}  // namespace

void AddScheduleCommands(CLI::App& app, CommandState& state) {
  // Shared with the callbacks, which run after this function returns.
  auto flags = std::make_shared<ScheduleFlags>();
  CLI::App* group =
      app.add_subcommand("schedule", "Recurring goals run by `tandem serve` (see docs/server.md)");
  group->require_subcommand(1);
  CLI::App* add = group->add_subcommand("add", "Add a schedule");
  add->add_option("--cron", flags->spec.cron,
                  "minute hour day-of-month month day-of-week, or @hourly/@daily/@weekly/@monthly")
      ->required();
  add->add_option("--tz", flags->spec.timezone, "IANA time zone (default UTC)");
  add->add_option("--goal", flags->spec.goal, "What each run should do")->required();
  add->add_option("--name", flags->spec.name, "A name for people");
  add->add_option("--budget-usd", flags->budget_usd, "Spending limit of each run")
      ->check(CLI::PositiveNumber);
  add->add_flag("--shared", flags->spec.shared, "Its tasks are visible to every user");
  add->add_option("--missed", flags->spec.missed, "After downtime: skip (default) or run_once")
      ->check(CLI::IsMember({"skip", "run_once"}));
  add->add_option("--overlap", flags->spec.overlap,
                  "While the previous run's task runs: skip (default), queue or allow")
      ->check(CLI::IsMember({"skip", "queue", "allow"}));
  add->add_option("--owner", flags->spec.owner,
                  "Server user the tasks run as (default none: admins see them)");
  add->add_flag("--disabled", flags->disabled, "Add it without running it");
  add->add_flag("--json", flags->json, "Print the schedule as JSON");
  add->callback([&state, flags] { AddCommand(state, *flags); });
  CLI::App* list = group->add_subcommand("list", "List schedules");
  list->add_flag("--json", flags->json, "Print JSON");
  list->callback([&state, flags] { ListCommand(state, *flags); });
  CLI::App* rm = group->add_subcommand("rm", "Remove a schedule and its history");
  rm->add_option("id", flags->id, "Schedule id")->required();
  rm->callback([&state, flags] { RemoveCommand(state, *flags); });
  CLI::App* runs = group->add_subcommand("runs", "A schedule's run history, newest first");
  runs->add_option("id", flags->id, "Schedule id")->required();
  runs->add_option("--limit", flags->limit, "At most this many (default 50)")
      ->check(CLI::Range(1, 100000));
  runs->add_flag("--json", flags->json, "Print JSON");
  runs->callback([&state, flags] { RunsCommand(state, *flags); });
}

}  // namespace tandem::cli
