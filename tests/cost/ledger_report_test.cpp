#include "tandem/cost/ledger_report.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tandem::cost {
namespace {

constexpr int64_t kDay = 24 * 3600 * 1000;
constexpr int64_t kJune1 = 1748736000000;  // 2025-06-01T00:00:00Z

store::LedgerRow Row(std::string task, std::string provider, std::string zone, int64_t prompt,
                     int64_t completion, std::optional<double> cost, int64_t at) {
  return {.task_id = std::move(task),
          .provider = std::move(provider),
          .model = "m",
          .zone = std::move(zone),
          .prompt_tokens = prompt,
          .completion_tokens = completion,
          .cost_usd = cost,
          .outcome = "ok",
          .created_at_ms = at};
}

TEST(LedgerReportTest, GroupsAndTotalsEqualTheSumOfRows) {
  std::vector<store::LedgerRow> rows = {
      Row("a", "cloud", "cloud", 100, 10, 0.5, kJune1),
      Row("a", "local", "local", 200, 20, 0.0, kJune1 + 1000),
      Row("b", "cloud", "cloud", 300, 30, std::nullopt, kJune1 + kDay),
  };
  rows.push_back(Row("b", "cloud", "cloud", 0, 0, std::nullopt, kJune1 + kDay));
  rows.back().outcome = "unavailable";
  LedgerReport by_zone = BuildLedgerReport(rows, LedgerGrouping::kZone);
  EXPECT_EQ(by_zone.total.calls, 4);
  EXPECT_EQ(by_zone.total.failed_calls, 1);
  EXPECT_EQ(by_zone.total.prompt_tokens, 600);
  EXPECT_EQ(by_zone.total.completion_tokens, 60);
  EXPECT_DOUBLE_EQ(by_zone.total.cost_usd, 0.5);
  EXPECT_EQ(by_zone.total.unpriced_calls, 1);  // The failed call is not "unpriced".
  EXPECT_EQ(by_zone.groups.at("cloud").prompt_tokens, 400);
  EXPECT_EQ(by_zone.groups.at("local").prompt_tokens, 200);
  LedgerReport by_day = BuildLedgerReport(rows, LedgerGrouping::kDay);
  EXPECT_EQ(by_day.groups.at("2025-06-01").calls, 2);
  EXPECT_EQ(by_day.groups.at("2025-06-02").calls, 2);
  EXPECT_EQ(BuildLedgerReport(rows, LedgerGrouping::kTask).groups.size(), 2u);
}

TEST(LedgerReportTest, GroupingNamesAreValidated) {
  EXPECT_TRUE(ParseLedgerGrouping("provider"));
  EXPECT_FALSE(ParseLedgerGrouping("week"));
}

TEST(LedgerUsageSourceTest, SplitsUsageByDayZoneAndTaskSensitivity) {
  testing::TempDir dir;
  auto store = store::TaskStore::Open(dir.path() / "tandem.db");
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->CreateTask({.id = "plain", .goal = "g"}));
  ASSERT_TRUE((*store)->CreateTask(
      {.id = "secret", .goal = "g", .taint = R"([{"source":"goal","reasons":["email"]}])"}));
  ASSERT_TRUE((*store)->AppendLedger(Row("plain", "cloud", "cloud", 100, 10, 0.1, kJune1)));
  ASSERT_TRUE((*store)->AppendLedger(Row("secret", "local", "local", 50, 5, 0.0, kJune1)));
  ASSERT_TRUE(
      (*store)->AppendLedger(Row("plain", "cloud", "cloud", 7, 7, 0.1, kJune1 - 40 * kDay)));
  LedgerUsageSource source(store->get(), kJune1 + kDay);
  auto usage = source.UsageByDay(30);
  ASSERT_TRUE(usage) << usage.error().message();
  ASSERT_EQ(usage->size(), 2u);  // The 40-day-old row is outside the window.
  double sensitive_prompt = 0, total_prompt = 0;
  for (const DailyUsage& day : *usage) {
    EXPECT_EQ(day.day, "2025-06-01");
    total_prompt += day.prompt_tokens;
    if (day.sensitive) sensitive_prompt += day.prompt_tokens;
  }
  EXPECT_EQ(total_prompt, 150);
  EXPECT_EQ(sensitive_prompt, 50);
}

}  // namespace
}  // namespace tandem::cost
