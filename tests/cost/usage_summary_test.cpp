#include "tandem/cost/usage_summary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tandem::cost {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDay = 24 * 3600 * 1000;
constexpr int64_t kJune1 = 1748736000000;  // 2025-06-01T00:00:00Z

store::LedgerRow Row(std::string zone, std::string model, int64_t prompt, int64_t completion,
                     std::optional<double> cost, int64_t at) {
  return {.task_id = "t",
          .provider = zone == "local" ? "box" : "api",
          .model = std::move(model),
          .zone = std::move(zone),
          .prompt_tokens = prompt,
          .completion_tokens = completion,
          .cost_usd = cost,
          .latency_ms = 10,
          .outcome = "ok",
          .created_at_ms = at};
}

Result<Config> ConfigFrom(const testing::TempDir& dir, const std::string& text) {
  ConfigLoadOptions options;
  options.working_dir = dir.path();
  options.environment = std::map<std::string, std::string>{{"HOME", dir.path().string()}};
  return ParseConfig(text, "tandem.toml", options);
}

const CloudReference kReference{"ref", 1e-6, 4e-6};

// Two priced models, as a price catalog would answer.
std::optional<TokenPrices> Prices(std::string_view model) {
  if (model == "gpt-4o") return TokenPrices{2.5e-6, 1.0e-5};
  if (model == "gpt-4o-mini") return TokenPrices{1.5e-7, 6.0e-7};
  return std::nullopt;
}

TEST(UsageSummaryTest, SplitsDaysByZoneAndCountsTheLocalShare) {
  std::vector<store::LedgerRow> rows = {
      Row("local", "llama", 1000, 200, 0.0, kJune1 + 5),
      Row("cloud", "gpt", 100, 20, 0.01, kJune1 + 6),
      Row("cloud", "gpt", 300, 80, 0.03, kJune1 + kDay + 7),
  };
  rows.push_back(Row("", "", 0, 0, std::nullopt, kJune1 + kDay));
  rows.back().outcome = "unavailable";
  UsageSummary summary = SummarizeUsage(rows, kJune1 + kDay + 100, 3, kReference);
  EXPECT_EQ(summary.total.calls, 4);
  EXPECT_EQ(summary.total.prompt_tokens, 1400);
  EXPECT_DOUBLE_EQ(summary.total.cost_usd, 0.04);
  ASSERT_EQ(summary.by_day.size(), 3u);
  EXPECT_EQ(summary.by_day[0].day, "2025-05-31");
  EXPECT_EQ(summary.by_day[0].local.calls + summary.by_day[0].cloud.calls, 0);
  EXPECT_EQ(summary.by_day[1].day, "2025-06-01");
  EXPECT_EQ(summary.by_day[1].local.calls, 1);
  EXPECT_DOUBLE_EQ(summary.by_day[1].cloud.cost_usd, 0.01);
  EXPECT_EQ(summary.by_day[2].day, "2025-06-02");
  EXPECT_EQ(summary.by_day[2].cloud.calls, 1);  // The failed call has no zone.
  EXPECT_DOUBLE_EQ(summary.local_call_share, 1.0 / 3);
  EXPECT_DOUBLE_EQ(summary.local_token_share, 1200.0 / (1200 + 120 + 380));
  EXPECT_EQ(summary.by_zone.groups.at("cloud").calls, 2);
  EXPECT_EQ(summary.by_model.groups.at("llama").prompt_tokens, 1000);
  EXPECT_EQ(summary.by_provider.groups.at("box").calls, 1);
  ASSERT_TRUE(summary.comparison);
  double all_cloud = 1400 * 1e-6 + 300 * 4e-6;
  EXPECT_DOUBLE_EQ(summary.comparison->all_cloud_usd, all_cloud);
  EXPECT_DOUBLE_EQ(summary.comparison->actual_usd, 0.04);
  EXPECT_DOUBLE_EQ(summary.comparison->savings_usd, all_cloud - 0.04);
}

TEST(UsageSummaryTest, WithoutAReferenceThereIsNoComparison) {
  UsageSummary summary = SummarizeUsage({}, kJune1, 1, std::nullopt);
  EXPECT_FALSE(summary.comparison);
  ASSERT_EQ(summary.by_day.size(), 1u);
  EXPECT_EQ(summary.by_day[0].day, "2025-06-01");
  EXPECT_EQ(summary.local_call_share, 0);
}

TEST(UsageSummaryTest, WindowStartsAtMidnightOfTheFirstDay) {
  EXPECT_EQ(WindowStartMs(kJune1 + kDay + 1234, 1), kJune1 + kDay);
  EXPECT_EQ(WindowStartMs(kJune1 + kDay + 1234, 30), kJune1 + kDay - 29 * kDay);
}

TEST(UsageSummaryTest, ProviderLatenciesUseNearestRankOverAnsweredCalls) {
  std::vector<store::LedgerRow> rows;
  for (int i = 100; i >= 1; --i) {
    rows.push_back(Row("cloud", "gpt", 1, 1, 0.0, kJune1));
    rows.back().latency_ms = i;
  }
  rows.push_back(Row("cloud", "gpt", 0, 0, std::nullopt, kJune1));
  rows.back().outcome = "unavailable";
  rows.back().latency_ms = 100000;
  std::map<std::string, ProviderCalls> calls = ProviderLatencies(rows);
  ASSERT_TRUE(calls.contains("api"));
  EXPECT_EQ(calls["api"].calls, 100);
  EXPECT_EQ(calls["api"].p50_ms, 50);
  EXPECT_EQ(calls["api"].p99_ms, 99);
}

TEST(CloudReferenceTest, ConfiguredModelWinsAndMustBePriced) {
  testing::TempDir dir;
  Result<Config> config = ConfigFrom(dir,
                                     "[cost]\nreference_cloud_model = \"gpt-4o\"\n"
                                     "[[providers]]\nname = \"c\"\nbase_url = \"http://x/v1\"\n"
                                     "model = \"gpt-4o-mini\"\nzone = \"cloud\"\n");
  ASSERT_TRUE(config) << config.error().message();
  Result<std::optional<CloudReference>> reference = LoadCloudReference(*config, Prices);
  ASSERT_TRUE(reference && *reference);
  EXPECT_EQ((*reference)->model, "gpt-4o");
  EXPECT_DOUBLE_EQ((*reference)->input_usd_per_token, 2.5e-6);
  EXPECT_DOUBLE_EQ((*reference)->output_usd_per_token, 1.0e-5);

  Result<Config> unknown = ConfigFrom(dir, "[cost]\n\nreference_cloud_model = \"no-such-model\"\n");
  ASSERT_TRUE(unknown) << unknown.error().message();
  Result<std::optional<CloudReference>> failed = LoadCloudReference(*unknown, Prices);
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().message(), HasSubstr("tandem.toml:3"));
  EXPECT_THAT(failed.error().message(), HasSubstr("reference_cloud_model"));
  EXPECT_THAT(failed.error().message(), HasSubstr("no-such-model"));
}

TEST(CloudReferenceTest, DefaultsToTheFirstPricedCloudProvider) {
  testing::TempDir dir;
  Result<Config> config = ConfigFrom(dir,
                                     "[[providers]]\nname = \"box\"\nbase_url = \"http://x/v1\"\n"
                                     "model = \"gpt-4o\"\nzone = \"local\"\n"
                                     "[[providers]]\nname = \"odd\"\nbase_url = \"http://y/v1\"\n"
                                     "model = \"unpriced\"\nzone = \"cloud\"\n"
                                     "[[providers]]\nname = \"c\"\nbase_url = \"http://z/v1\"\n"
                                     "model = \"gpt-4o-mini\"\nzone = \"cloud\"\n");
  ASSERT_TRUE(config) << config.error().message();
  Result<std::optional<CloudReference>> reference = LoadCloudReference(*config, Prices);
  ASSERT_TRUE(reference && *reference);
  EXPECT_EQ((*reference)->model, "gpt-4o-mini");

  Result<Config> local_only = ConfigFrom(dir,
                                         "[[providers]]\nname = \"box\"\nbase_url = "
                                         "\"http://x/v1\"\nmodel = \"llama\"\nzone = \"local\"\n");
  ASSERT_TRUE(local_only);
  Result<std::optional<CloudReference>> none = LoadCloudReference(*local_only, Prices);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

}  // namespace
}  // namespace tandem::cost
