// schedule: recurring goals — cron expressions read in IANA time zones (DST-aware), started by a
// scheduler thread in `tandem serve` with missed-run and overlap policies and a run history.
//
//   Result<store::ScheduleRecord> s = NewSchedule(
//       {.cron = "0 8 * * MON", .timezone = "Europe/Berlin", .goal = "Weekly report"}, now);
//   store.CreateSchedule(*s);
//   Scheduler scheduler(&store, &launcher, &SystemClock());
//   scheduler.Start();  ...  scheduler.Stop();
#pragma once

#include "tandem/schedule/cron.h"           // IWYU pragma: export
#include "tandem/schedule/schedule_spec.h"  // IWYU pragma: export
#include "tandem/schedule/scheduler.h"      // IWYU pragma: export
