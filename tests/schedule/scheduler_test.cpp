// The scheduler over a real SQLite store with a manual clock and a fake task launcher: due
// runs, missed-run and overlap policies, history, and the background thread's wake-up.
#include "tandem/schedule/scheduler.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "support/temp_dir.h"
#include "tandem/schedule/schedule_spec.h"
#include "tandem/store/task_store.h"

namespace tandem::schedule {
namespace {

using ::testing::HasSubstr;

TimePoint Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return cctz::convert(cctz::civil_second(y, mo, d, h, mi, s), cctz::utc_time_zone());
}

class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint now) : now_(now) {}
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
  void SleepFor(std::chrono::milliseconds) override {}
  void Set(TimePoint now) {
    std::lock_guard lock(mu_);
    now_ = now;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;  // GUARDED_BY(mu_)
};

class FakeLauncher final : public TaskLauncher {
 public:
  Result<std::string> Launch(const store::ScheduleRecord& schedule) override {
    std::lock_guard lock(mu_);
    if (!fail_with.empty()) return MakeError(ErrorCode::kUnavailable, "{}", fail_with);
    std::string id = "task-" + std::to_string(launched.size() + 1);
    launched.push_back(schedule.id);
    active.insert(id);
    return id;
  }
  bool IsActive(const std::string& task_id) override {
    std::lock_guard lock(mu_);
    return active.contains(task_id);
  }
  size_t Count() {
    std::lock_guard lock(mu_);
    return launched.size();
  }
  void End(const std::string& task_id) {
    std::lock_guard lock(mu_);
    active.erase(task_id);
  }

  std::mutex mu_;
  std::vector<std::string> launched;  // Schedule ids, in order.
  std::set<std::string> active;
  std::string fail_with;  // Non-empty: every launch fails with this message.
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::TaskStore::Open(dir_.path() / "tandem.db");
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(*opened);
    scheduler_ = std::make_unique<Scheduler>(store_.get(), &launcher_, &clock_);
  }

  // Creates a schedule at the clock's time; returns its id.
  std::string Add(ScheduleSpec spec) {
    if (spec.goal.empty()) spec.goal = "write the report";
    Result<store::ScheduleRecord> record = NewSchedule(spec, clock_.Now());
    EXPECT_TRUE(record) << record.error().message();
    if (!record) return "";
    EXPECT_TRUE(store_->CreateSchedule(*record));
    return record->id;
  }
  // One scheduler pass at `now`.
  void PassAt(TimePoint now) {
    clock_.Set(now);
    Result<TimePoint> next = scheduler_->RunPass();
    ASSERT_TRUE(next) << next.error().message();
    last_wake_ = *next;
  }
  // History, oldest first.
  std::vector<store::ScheduleRunRecord> Runs(const std::string& id) {
    auto runs = store_->ListScheduleRuns(id, 1000);
    EXPECT_TRUE(runs);
    return runs ? std::vector<store::ScheduleRunRecord>(runs->rbegin(), runs->rend())
                : std::vector<store::ScheduleRunRecord>();
  }
  std::vector<std::string> Outcomes(const std::string& id) {
    std::vector<std::string> out;
    for (const store::ScheduleRunRecord& run : Runs(id))
      out.push_back(run.outcome);
    return out;
  }
  store::ScheduleRecord Get(const std::string& id) {
    auto found = store_->GetSchedule(id);
    EXPECT_TRUE(found && *found);
    return found && *found ? **found : store::ScheduleRecord{};
  }

  testing::TempDir dir_;
  std::unique_ptr<store::TaskStore> store_;
  ManualClock clock_{Utc(2026, 11, 25, 10, 10)};
  FakeLauncher launcher_;
  std::unique_ptr<Scheduler> scheduler_;
  TimePoint last_wake_;
};

TEST_F(SchedulerTest, StartsARunWhenDueAndRecordsIt) {
  std::string id = Add({.cron = "0 * * * *"});
  EXPECT_EQ(Get(id).next_run_ms, ToUnixMillis(Utc(2026, 11, 25, 11, 0)));
  PassAt(Utc(2026, 11, 25, 10, 30));
  EXPECT_EQ(launcher_.Count(), 0u);
  EXPECT_EQ(last_wake_, Utc(2026, 11, 25, 10, 31));  // reload_ms bounds the sleep.
  PassAt(Utc(2026, 11, 25, 11, 0, 2));
  ASSERT_EQ(launcher_.Count(), 1u);
  std::vector<store::ScheduleRunRecord> runs = Runs(id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "started");
  EXPECT_EQ(runs[0].task_id, "task-1");
  EXPECT_EQ(runs[0].due_ms, ToUnixMillis(Utc(2026, 11, 25, 11, 0)));
  store::ScheduleRecord after = Get(id);
  EXPECT_EQ(after.last_task_id, "task-1");
  EXPECT_EQ(after.next_run_ms, ToUnixMillis(Utc(2026, 11, 25, 12, 0)));
  PassAt(Utc(2026, 11, 25, 11, 0, 3));  // Same due time: not again.
  EXPECT_EQ(launcher_.Count(), 1u);
}

TEST_F(SchedulerTest, MissedSkipRecordsEachMissedTimeAndMovesOn) {
  std::string id = Add({.cron = "0 * * * *", .missed = "skip"});
  PassAt(Utc(2026, 11, 25, 15, 20));  // Down from 10:10: 11, 12, 13, 14 and 15 o'clock missed.
  EXPECT_EQ(launcher_.Count(), 0u);
  EXPECT_EQ(Outcomes(id), std::vector<std::string>(5, "skipped_missed"));
  EXPECT_THAT(Runs(id)[0].detail, HasSubstr("2026-11-25 11:00 UTC"));
  EXPECT_EQ(Get(id).next_run_ms, ToUnixMillis(Utc(2026, 11, 25, 16, 0)));
}

TEST_F(SchedulerTest, MissedRunOnceStartsOneCatchUpRun) {
  std::string id = Add({.cron = "0 * * * *", .missed = "run_once"});
  PassAt(Utc(2026, 11, 25, 15, 20));
  EXPECT_EQ(launcher_.Count(), 1u);
  EXPECT_EQ(Outcomes(id),
            (std::vector<std::string>{"skipped_missed", "skipped_missed", "skipped_missed",
                                      "skipped_missed", "started"}));
  store::ScheduleRunRecord catch_up = Runs(id).back();
  EXPECT_EQ(catch_up.due_ms, ToUnixMillis(Utc(2026, 11, 25, 15, 0)));
  EXPECT_THAT(catch_up.detail, HasSubstr("catch-up"));
  EXPECT_EQ(Get(id).next_run_ms, ToUnixMillis(Utc(2026, 11, 25, 16, 0)));
}

TEST_F(SchedulerTest, OnTimeRunIsNotACatchUpEvenAfterDowntime) {
  std::string id = Add({.cron = "0 * * * *", .missed = "run_once"});
  PassAt(Utc(2026, 11, 25, 12, 0, 30));  // 11:00 missed, 12:00 on time.
  EXPECT_EQ(Outcomes(id), (std::vector<std::string>{"skipped_missed", "started"}));
  EXPECT_EQ(Runs(id)[1].detail, "");
  EXPECT_EQ(launcher_.Count(), 1u);
}

TEST_F(SchedulerTest, LongDowntimeListsABoundedNumberOfMissedRuns) {
  std::string id = Add({.cron = "* * * * *", .missed = "skip"});
  PassAt(Utc(2026, 11, 28, 10, 10));  // Three days of minutes.
  std::vector<store::ScheduleRunRecord> runs = Runs(id);
  ASSERT_EQ(runs.size(), 20u);
  EXPECT_THAT(runs.back().detail, HasSubstr("more than"));
  EXPECT_THAT(runs.back().detail, HasSubstr("not listed"));
  EXPECT_EQ(Get(id).next_run_ms, ToUnixMillis(Utc(2026, 11, 28, 10, 11)));
  EXPECT_EQ(launcher_.Count(), 0u);
}

TEST_F(SchedulerTest, OverlapSkipSkipsWhileThePreviousTaskRuns) {
  std::string id = Add({.cron = "0 * * * *", .overlap = "skip"});
  PassAt(Utc(2026, 11, 25, 11, 0));
  PassAt(Utc(2026, 11, 25, 12, 0));  // task-1 still running.
  launcher_.End("task-1");
  PassAt(Utc(2026, 11, 25, 13, 0));
  EXPECT_EQ(Outcomes(id), (std::vector<std::string>{"started", "skipped_overlap", "started"}));
  EXPECT_THAT(Runs(id)[1].detail, HasSubstr("task-1 is still running"));
  EXPECT_EQ(Get(id).last_task_id, "task-2");
}

TEST_F(SchedulerTest, OverlapQueueStartsOneRunWhenThePreviousTaskEnds) {
  std::string id = Add({.cron = "0 * * * *", .overlap = "queue"});
  PassAt(Utc(2026, 11, 25, 11, 0));
  PassAt(Utc(2026, 11, 25, 12, 0));  // Queued behind task-1.
  EXPECT_EQ(Get(id).queued_due_ms, ToUnixMillis(Utc(2026, 11, 25, 12, 0)));
  PassAt(Utc(2026, 11, 25, 13, 0));   // One is queued already: this one is skipped.
  PassAt(Utc(2026, 11, 25, 13, 10));  // Still running: the queued run waits.
  EXPECT_EQ(launcher_.Count(), 1u);
  launcher_.End("task-1");
  PassAt(Utc(2026, 11, 25, 13, 20));
  EXPECT_EQ(launcher_.Count(), 2u);
  std::vector<store::ScheduleRunRecord> runs = Runs(id);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[1].outcome, "skipped_overlap");
  EXPECT_THAT(runs[1].detail, HasSubstr("already queued"));
  EXPECT_EQ(runs[2].outcome, "started");
  EXPECT_EQ(runs[2].due_ms, ToUnixMillis(Utc(2026, 11, 25, 12, 0)));
  EXPECT_THAT(runs[2].detail, HasSubstr("waited for task task-1"));
  EXPECT_EQ(Get(id).queued_due_ms, 0);
}

TEST_F(SchedulerTest, OverlapAllowStartsAlongsideTheRunningTask) {
  std::string id = Add({.cron = "0 * * * *", .overlap = "allow"});
  PassAt(Utc(2026, 11, 25, 11, 0));
  PassAt(Utc(2026, 11, 25, 12, 0));
  EXPECT_EQ(Outcomes(id), (std::vector<std::string>{"started", "started"}));
  EXPECT_EQ(launcher_.Count(), 2u);
}

TEST_F(SchedulerTest, LaunchFailureIsRecordedAndTheScheduleMovesOn) {
  std::string id = Add({.cron = "0 * * * *"});
  launcher_.fail_with = "the server is shutting down";
  PassAt(Utc(2026, 11, 25, 11, 0));
  std::vector<store::ScheduleRunRecord> runs = Runs(id);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "failed");
  EXPECT_THAT(runs[0].detail, HasSubstr("shutting down"));
  EXPECT_EQ(Get(id).next_run_ms, ToUnixMillis(Utc(2026, 11, 25, 12, 0)));
}

TEST_F(SchedulerTest, DisabledSchedulesNeverRun) {
  std::string id = Add({.cron = "0 * * * *", .enabled = false});
  PassAt(Utc(2026, 11, 25, 15, 0));
  EXPECT_EQ(launcher_.Count(), 0u);
  EXPECT_TRUE(Runs(id).empty());
}

TEST_F(SchedulerTest, DueTimesFollowTheScheduleTimeZone) {
  std::string id = Add({.cron = "30 11 * * *", .timezone = "Asia/Kolkata"});  // 06:00 UTC.
  EXPECT_EQ(Get(id).next_run_ms, ToUnixMillis(Utc(2026, 11, 26, 6, 0)));
  PassAt(Utc(2026, 11, 26, 6, 0));
  EXPECT_EQ(launcher_.Count(), 1u);
}

TEST_F(SchedulerTest, ThreadWakesOnRequestAndStopsCleanly) {
  std::string id = Add({.cron = "0 * * * *"});
  scheduler_->Start();
  clock_.Set(Utc(2026, 11, 25, 11, 0));
  scheduler_->Wake();
  // Wait for the run (not a timing assertion: the bound only keeps a broken build from hanging).
  for (int i = 0; i < 2000 && launcher_.Count() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  scheduler_->Stop();
  EXPECT_EQ(launcher_.Count(), 1u);
  EXPECT_EQ(Outcomes(id), std::vector<std::string>{"started"});
}

TEST(NewScheduleTest, RefusesBadFieldsNamingThem) {
  TimePoint now = Utc(2026, 11, 25, 10, 0);
  auto error = [&](ScheduleSpec spec) {
    if (spec.goal.empty()) spec.goal = "g";
    Result<store::ScheduleRecord> record = NewSchedule(spec, now);
    EXPECT_FALSE(record);
    return record ? std::string() : record.error().message();
  };
  EXPECT_THAT(error({.cron = "0 8 * * XYZ"}), HasSubstr("day-of-week field: bad token 'XYZ'"));
  EXPECT_THAT(error({.cron = "0 8 * * *", .timezone = "Nowhere/City"}),
              HasSubstr("unknown time zone 'Nowhere/City'"));
  EXPECT_THAT(error({.cron = "0 8 * * *", .missed = "later"}), HasSubstr("missed must be"));
  EXPECT_THAT(error({.cron = "0 8 * * *", .overlap = "merge"}), HasSubstr("overlap must be"));
  EXPECT_THAT(error({.cron = "0 8 * * *", .budget = {{"usd", -1}}}),
              HasSubstr("budget.usd must be a positive number"));
  EXPECT_THAT(error({.cron = "0 8 * * *", .budget = {{"euros", 1}}}),
              HasSubstr("unknown budget key 'euros'"));
  EXPECT_THAT(error({.cron = "0 0 30 2 *"}), HasSubstr("never comes due"));
  Result<store::ScheduleRecord> empty_goal = NewSchedule({.cron = "0 8 * * *"}, now);
  ASSERT_FALSE(empty_goal);
  EXPECT_THAT(empty_goal.error().message(), HasSubstr("goal"));
}

TEST(NewScheduleTest, ReadsJsonBodies) {
  Result<ScheduleSpec> spec = SpecFromJson(nlohmann::json::parse(
      R"({"cron":"@daily","timezone":"Europe/Berlin","goal":"g","shared":true,
          "missed":"run_once","overlap":"queue","budget":{"usd":0.5}})"));
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->timezone, "Europe/Berlin");
  EXPECT_TRUE(spec->shared);
  EXPECT_EQ(spec->overlap, "queue");
  EXPECT_EQ(spec->budget["usd"], 0.5);
  EXPECT_FALSE(SpecFromJson(nlohmann::json::parse(R"({"cron": 5, "goal": "g"})")));
  EXPECT_FALSE(SpecFromJson(nlohmann::json::parse(R"({"goal": "g"})")));
  EXPECT_FALSE(SpecFromJson(nlohmann::json::parse(R"([1])")));
  EXPECT_FALSE(SpecFromJson(nlohmann::json::parse(R"({"cron":"@daily","goal":"g","shared":1})")));
}

}  // namespace
}  // namespace tandem::schedule
