// Scheduler: the thread in `tandem serve` that starts scheduled goals when they come due, applies
// the missed-run and overlap policies, and records every run or skip in the schedule's history.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "tandem/core/clock.h"
#include "tandem/core/error.h"
#include "tandem/schedule/cron.h"
#include "tandem/store/schedule_store.h"

namespace tandem::schedule {

// How the scheduler starts tasks (the server's task runner; a fake in tests).
class TaskLauncher {
 public:
  virtual ~TaskLauncher() = default;
  // Creates and queues a task from the schedule's goal, budget, owner and sharing; returns its
  // id, or the error that kept it from starting.
  virtual Result<std::string> Launch(const store::ScheduleRecord& schedule) = 0;
  // True while the task is queued or running.
  virtual bool IsActive(const std::string& task_id) = 0;
};

struct SchedulerOptions {
  // A due time handled later than this (the server was down or busy) counts as missed and
  // follows the schedule's missed-run policy; earlier, it simply runs.
  int64_t missed_after_ms = 60'000;
  // The schedules table is re-read at least this often, so changes made by `tandem schedule`
  // in another process are picked up; add/remove through the server wake it at once.
  int64_t reload_ms = 60'000;
  // skipped_missed rows written per catch-up; the last one counts the rest.
  int max_missed_listed = 20;
  // Due times enumerated per schedule and pass (bounds the work after a long downtime).
  int max_due_per_pass = 1000;
};

// Thread-safe. Start() runs passes on a background thread until Stop(); RunPass() can also be
// called directly (tests drive it with a manual clock, without the thread).
class Scheduler {
 public:
  // `store`, `launcher` and `clock` must outlive the scheduler.
  Scheduler(store::ScheduleStore* store, TaskLauncher* launcher, Clock* clock,
            SchedulerOptions options = {});
  ~Scheduler();  // Calls Stop().
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void Start();
  // Ends the thread; a pass in progress finishes first.
  void Stop();
  // Makes the thread re-read the schedules now (after an add/remove, or when a task ended so a
  // queued run may start).
  void Wake();

  // Handles everything due at clock->Now() for every enabled schedule. Returns the time the
  // next pass is needed (the earliest next due time, at most reload_ms away).
  Result<TimePoint> RunPass();

 private:
  struct Pass;
  void Handle(const store::ScheduleRecord& schedule, TimePoint now, TimePoint& wake);
  void Loop();

  store::ScheduleStore* store_;
  TaskLauncher* launcher_;
  Clock* clock_;
  SchedulerOptions options_;
  std::mutex pass_mu_;  // One pass at a time.
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;     // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace tandem::schedule
