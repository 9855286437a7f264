// The ScheduleStore of both backends, on a real SQLite file and a real PostgreSQL: round trips,
// progress with history in one transaction, deletion with history, and refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store_backend.h"

namespace tandem::store {
namespace {

// Each test runs once per backend (Sqlite/... and Postgres/...), on an empty store of its own.
class ScheduleStoreTest : public StoreBackendTest {
 protected:
  void Reopen() {
    store_.reset();
    auto opened = Open();
    ASSERT_TRUE(opened) << opened.error().message();
    store_ = std::move(*opened);
  }
  // Through the interface, as the scheduler sees it.
  ScheduleStore& schedules() { return *store_; }

  static ScheduleRecord Sample(std::string id) {
    return {.id = std::move(id),
            .name = "weekly",
            .cron = "0 8 * * MON",
            .timezone = "Europe/Berlin",
            .goal = "report",
            .budget = R"({"usd":0.5})",
            .owner = "alice",
            .shared = true,
            .missed = "run_once",
            .overlap = "queue",
            .next_run_ms = 1000,
            .created_at_ms = 1,
            .updated_at_ms = 1};
  }
};

TEST_P(ScheduleStoreTest, SchedulesRoundTripAndSurviveReopening) {
  ASSERT_TRUE(schedules().CreateSchedule(Sample("s1")));
  ASSERT_TRUE(schedules().CreateSchedule(Sample("s2")));
  Status taken = schedules().CreateSchedule(Sample("s1"));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code(), ErrorCode::kAlreadyExists);
  Reopen();
  auto found = schedules().GetSchedule("s1");
  ASSERT_TRUE(found && *found);
  const ScheduleRecord& s = **found;
  EXPECT_EQ(s.cron, "0 8 * * MON");
  EXPECT_EQ(s.timezone, "Europe/Berlin");
  EXPECT_EQ(s.budget, R"({"usd":0.5})");
  EXPECT_EQ(s.owner, "alice");
  EXPECT_TRUE(s.shared);
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.missed, "run_once");
  EXPECT_EQ(s.overlap, "queue");
  EXPECT_EQ(s.next_run_ms, 1000);
  auto all = schedules().ListSchedules();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
  auto missing = schedules().GetSchedule("nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
}

TEST_P(ScheduleStoreTest, ProgressAndHistoryAreSavedTogether) {
  ASSERT_TRUE(schedules().CreateSchedule(Sample("s1")));
  std::vector<ScheduleRunRecord> runs = {
      {.due_ms = 1000, .time_ms = 5000, .outcome = "skipped_missed", .detail = "down"},
      {.due_ms = 2000, .time_ms = 5000, .task_id = "t1", .outcome = "started"}};
  ASSERT_TRUE(schedules().SaveScheduleProgress(
      "s1", {.next_run_ms = 3000, .queued_due_ms = 0, .last_task_id = "t1", .last_run_ms = 5000},
      runs, 5000));
  auto s = schedules().GetSchedule("s1");
  ASSERT_TRUE(s && *s);
  EXPECT_EQ((*s)->next_run_ms, 3000);
  EXPECT_EQ((*s)->last_task_id, "t1");
  EXPECT_EQ((*s)->updated_at_ms, 5000);
  auto history = schedules().ListScheduleRuns("s1");
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].outcome, "started");  // Newest first.
  EXPECT_EQ((*history)[0].task_id, "t1");
  EXPECT_EQ((*history)[0].schedule_id, "s1");
  EXPECT_EQ((*history)[1].detail, "down");
  auto one = schedules().ListScheduleRuns("s1", 1);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);

  Status gone = schedules().SaveScheduleProgress("nope", {}, runs, 6000);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
}

TEST_P(ScheduleStoreTest, DeletingRemovesTheHistoryToo) {
  ASSERT_TRUE(schedules().CreateSchedule(Sample("s1")));
  std::vector<ScheduleRunRecord> runs = {{.due_ms = 1, .time_ms = 1, .outcome = "failed"}};
  ASSERT_TRUE(schedules().SaveScheduleProgress("s1", {.next_run_ms = 2}, runs, 1));
  ASSERT_TRUE(schedules().DeleteSchedule("s1"));
  auto history = schedules().ListScheduleRuns("s1");
  ASSERT_TRUE(history);
  EXPECT_TRUE(history->empty());
  Status again = schedules().DeleteSchedule("s1");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ScheduleStoreTest, ::testing::Values(Backend::kSqlite));
INSTANTIATE_TEST_SUITE_P(Postgres, ScheduleStoreTest, ::testing::Values(Backend::kPostgres));

}  // namespace
}  // namespace tandem::store
