#include "tandem/schedule/scheduler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace tandem::schedule {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kRetryBrokenMs = 3600 * 1000;  // A schedule whose cron no longer loads.

TimePoint FromMillis(int64_t ms) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace

// The state of one schedule while a pass handles it.
struct Scheduler::Pass {
  const store::ScheduleRecord& schedule;
  TaskLauncher* launcher;
  int64_t now_ms;
  store::ScheduleProgress progress;
  std::vector<store::ScheduleRunRecord> runs;
  bool active = false;  // The last started task is still queued or running.

  void Record(int64_t due_ms, std::string outcome, std::string task_id, std::string detail) {
    runs.push_back({.schedule_id = schedule.id,
                    .due_ms = due_ms,
                    .time_ms = now_ms,
                    .task_id = std::move(task_id),
                    .outcome = std::move(outcome),
                    .detail = std::move(detail)});
  }

  void Launch(int64_t due_ms, std::string detail) {
    Result<std::string> task = launcher->Launch(schedule);
    if (!task) {
      Record(due_ms, "failed", "", task.error().message());
      return;
    }
    Record(due_ms, "started", *task, std::move(detail));
    progress.last_task_id = *task;
    progress.last_run_ms = now_ms;
    active = true;
  }

  // A due time that should run now: the overlap policy decides.
  void Fire(int64_t due_ms, std::string detail) {
    if (!active || schedule.overlap == "allow") return Launch(due_ms, std::move(detail));
    if (schedule.overlap == "queue" && progress.queued_due_ms == 0) {
      progress.queued_due_ms = due_ms;  // Recorded as started when it starts.
      return;
    }
    Record(due_ms, "skipped_overlap", "",
           schedule.overlap == "queue"
               ? fmt::format("a run is already queued behind task {}", progress.last_task_id)
               : fmt::format("task {} is still running", progress.last_task_id));
  }
};

Scheduler::Scheduler(store::ScheduleStore* store, TaskLauncher* launcher, Clock* clock,
                     SchedulerOptions options)
    : store_(store), launcher_(launcher), clock_(clock), options_(options) {}

Scheduler::~Scheduler() {
  Stop();
}

void Scheduler::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Scheduler::Loop() {
  while (true) {
    Result<TimePoint> next = RunPass();
    std::chrono::milliseconds wait(options_.reload_ms);
    if (next) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock_->Now());
      // At least a little: a due time the clock has not quite reached yet must not spin.
      wait = std::max(std::chrono::milliseconds(10), std::min(until, wait));
    } else {
      spdlog::error("scheduler: {}", next.error().message());
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [this] { return woken_ || stopping_; });
    if (stopping_) return;
    woken_ = false;
  }
}

Result<TimePoint> Scheduler::RunPass() {
  std::lock_guard pass_lock(pass_mu_);
  TimePoint now = clock_->Now();
  TimePoint wake = now + std::chrono::milliseconds(options_.reload_ms);
  Result<std::vector<store::ScheduleRecord>> schedules = store_->ListSchedules();
  if (!schedules) {
    return std::unexpected(std::move(schedules.error()).WithContext("reading schedules"));
  }
  for (const store::ScheduleRecord& schedule : *schedules) {
    if (schedule.enabled) Handle(schedule, now, wake);
  }
  return wake;
}

void Scheduler::Handle(const store::ScheduleRecord& schedule, TimePoint now, TimePoint& wake) {
  Pass pass{.schedule = schedule,
            .launcher = launcher_,
            .now_ms = ToUnixMillis(now),
            .progress = {.next_run_ms = schedule.next_run_ms,
                         .queued_due_ms = schedule.queued_due_ms,
                         .last_task_id = schedule.last_task_id,
                         .last_run_ms = schedule.last_run_ms}};
  pass.active = !schedule.last_task_id.empty() && launcher_->IsActive(schedule.last_task_id);
  bool changed = false;
  if (pass.progress.queued_due_ms != 0 && !pass.active) {
    int64_t due = pass.progress.queued_due_ms;
    pass.progress.queued_due_ms = 0;
    pass.Launch(due, fmt::format("waited for task {} to end", schedule.last_task_id));
    changed = true;
  }
  if (pass.progress.next_run_ms <= pass.now_ms) {
    changed = true;
    Result<CronExpr> cron = ParseCron(schedule.cron);
    Result<TimeZone> zone =
        cron ? TimeZone::Load(schedule.timezone) : Result<TimeZone>(std::unexpected(cron.error()));
    if (!zone) {
      pass.Record(pass.progress.next_run_ms, "failed", "", zone.error().message());
      pass.progress.next_run_ms = pass.now_ms + kRetryBrokenMs;
    } else {
      // Every due time from the stored one up to now, oldest first (bounded).
      std::vector<int64_t> due = {pass.progress.next_run_ms};
      bool more = false;
      TimePoint cursor = FromMillis(pass.progress.next_run_ms);
      while (true) {
        std::optional<TimePoint> next = NextDue(*cron, *zone, cursor);
        if (!next || *next > now) break;
        if (static_cast<int>(due.size()) >= options_.max_due_per_pass) {
          more = true;
          break;
        }
        due.push_back(ToUnixMillis(*next));
        cursor = *next;
      }
      int64_t fire = 0;
      std::string detail;
      if (pass.now_ms - due.back() <= options_.missed_after_ms) {
        fire = due.back();
        due.pop_back();
      } else if (schedule.missed == "run_once") {
        fire = due.back();
        due.pop_back();
        detail = fmt::format("catch-up run for {} {} (missed)", zone->Format(FromMillis(fire)),
                             zone->name());
      }
      size_t listed = std::min(due.size(), static_cast<size_t>(options_.max_missed_listed));
      for (size_t i = 0; i < listed; ++i) {
        std::string why = fmt::format("not run at {} {}: the scheduler was not running",
                                      zone->Format(FromMillis(due[i])), zone->name());
        if (i + 1 == listed && (due.size() > listed || more)) {
          why +=
              more ? fmt::format("; more than {} later missed runs not listed", due.size() - listed)
                   : fmt::format("; {} later missed runs not listed", due.size() - listed);
        }
        pass.Record(due[i], "skipped_missed", "", std::move(why));
      }
      if (fire != 0) pass.Fire(fire, std::move(detail));
      std::optional<TimePoint> next = NextDue(*cron, *zone, now);
      pass.progress.next_run_ms = next ? ToUnixMillis(*next) : kNever;
    }
  }
  if (changed) {
    Status saved = store_->SaveScheduleProgress(schedule.id, pass.progress, pass.runs, pass.now_ms);
    if (!saved && saved.error().code() != ErrorCode::kNotFound) {  // NotFound: deleted meanwhile.
      spdlog::error("schedule {}: saving its progress failed: {}", schedule.id,
                    saved.error().message());
    }
  }
  if (pass.progress.next_run_ms != kNever) {
    wake = std::min(wake, FromMillis(pass.progress.next_run_ms));
  }
}

}  // namespace tandem::schedule
