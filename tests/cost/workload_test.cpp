#include "tandem/cost/workload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tandem::cost {
namespace {

using ::testing::HasSubstr;

TEST(WorkloadTest, FileOverridesTheBaseKeyByKey) {
  testing::TempDir dir;
  auto path = dir.Write("w.toml", R"(
[workload]
tokens_per_month = 50_000_000
hours_per_day = 8
sensitive_share = 0.25
model_size = "14b"
api_models = ["gpt-4o-mini"]
spot_discount = 0.65
)");
  Workload base;
  base.output_share = 0.3;
  Result<Workload> w = LoadWorkloadFile(path, base);
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_DOUBLE_EQ(w->tokens_per_month, 50e6);
  EXPECT_DOUBLE_EQ(w->hours_per_day, 8);
  EXPECT_DOUBLE_EQ(w->sensitive_share, 0.25);
  EXPECT_DOUBLE_EQ(w->output_share, 0.3);  // From the base.
  EXPECT_EQ(w->model_size, "14b");
  EXPECT_EQ(w->api_models, std::vector<std::string>{"gpt-4o-mini"});
  EXPECT_DOUBLE_EQ(*w->spot_discount, 0.65);
  EXPECT_EQ(w->source, path.string());
}

TEST(WorkloadTest, OutOfRangeValueNamesTheFileLineAndKey) {
  testing::TempDir dir;
  auto path = dir.Write("w.toml", "[workload]\ntokens_per_month = 1000\nhours_per_day = -3\n");
  Result<Workload> w = LoadWorkloadFile(path);
  ASSERT_FALSE(w);
  EXPECT_THAT(w.error().message(), HasSubstr("w.toml:3"));
  EXPECT_THAT(w.error().message(), HasSubstr("workload.hours_per_day"));
  EXPECT_THAT(w.error().message(), HasSubstr("hours_per_day = -3"));
}

TEST(WorkloadTest, BadFilesGiveClearErrors) {
  testing::TempDir dir;
  EXPECT_THAT(LoadWorkloadFile(dir.path() / "missing.toml").error().message(),
              HasSubstr("cannot be read"));
  EXPECT_THAT(LoadWorkloadFile(dir.Write("a.toml", "[workload]\ntokens = 5\n")).error().message(),
              HasSubstr("unknown key 'workload.tokens'"));
  EXPECT_THAT(LoadWorkloadFile(dir.Write("b.toml", "x = 1\n")).error().message(),
              HasSubstr("unknown key 'x'"));
  EXPECT_THAT(LoadWorkloadFile(dir.Write("c.toml", "")).error().message(),
              HasSubstr("expected a [workload] table"));
  EXPECT_THAT(LoadWorkloadFile(dir.Write("d.toml", "[workload\n")).error().message(),
              HasSubstr("d.toml:1"));
  EXPECT_THAT(LoadWorkloadFile(dir.Write("e.toml", "[workload]\nsensitive_share = \"half\"\n"))
                  .error()
                  .message(),
              HasSubstr("expected a number"));
  EXPECT_THAT(
      LoadWorkloadFile(dir.Write("f.toml", "[workload]\nspot_discount = 1.2\n")).error().message(),
      HasSubstr("spot_discount"));
}

TEST(WorkloadTest, ValidateNamesEachField) {
  Workload w;
  EXPECT_TRUE(ValidateWorkload(w));
  w.output_share = 1.5;
  EXPECT_THAT(ValidateWorkload(w).error().message(), HasSubstr("output_share = 1.5"));
  w = Workload{};
  w.prompt_tokens_per_call = -1;
  EXPECT_THAT(ValidateWorkload(w).error().message(), HasSubstr("prompt_tokens_per_call"));
}

TEST(WorkloadTest, ConfigCostSectionSetsPlannerDefaults) {
  testing::TempDir dir;
  ConfigLoadOptions options;
  options.working_dir = dir.path();
  options.environment = std::map<std::string, std::string>{{"HOME", dir.path().string()}};
  Result<Config> config =
      ParseConfig("[cost]\ninstance = \"g5.xlarge\"\nhours_per_day = 12\n", "tandem.toml", options);
  ASSERT_TRUE(config) << config.error().message();
  Result<Workload> w = WorkloadFromConfig(*config);
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(w->instance, "g5.xlarge");
  EXPECT_DOUBLE_EQ(w->hours_per_day, 12);
  Result<Config> bad = ParseConfig("[cost]\nhours = 12\n", "tandem.toml", options);
  ASSERT_TRUE(bad);
  EXPECT_THAT(WorkloadFromConfig(*bad).error().message(), HasSubstr("unknown key 'cost.hours'"));
}

// The seam the store's ledger implements; here an in-memory list.
class FixedUsage : public UsageSource {
 public:
  explicit FixedUsage(std::vector<DailyUsage> rows) : rows_(std::move(rows)) {}
  Result<std::vector<DailyUsage>> UsageByDay(int) override { return rows_; }

 private:
  std::vector<DailyUsage> rows_;
};

TEST(WorkloadTest, UsageLedgerScalesToAnAverageMonth) {
  FixedUsage source({
      {.day = "2025-06-01",
       .zone = Zone::kLocal,
       .sensitive = true,
       .prompt_tokens = 800,
       .completion_tokens = 200},
      {.day = "2025-06-02",
       .zone = Zone::kCloud,
       .sensitive = false,
       .prompt_tokens = 700,
       .completion_tokens = 300},
  });
  Result<std::vector<DailyUsage>> rows = source.UsageByDay(30);
  ASSERT_TRUE(rows);
  Result<Workload> w = WorkloadFromUsage(*rows, Workload{});
  ASSERT_TRUE(w) << w.error().message();
  // 2000 tokens over 2 days = 1000/day * 30.4167 days.
  EXPECT_NEAR(w->tokens_per_month, 30416.6667, 1e-3);
  EXPECT_DOUBLE_EQ(w->output_share, 0.25);
  EXPECT_DOUBLE_EQ(w->sensitive_share, 0.5);
  EXPECT_THAT(w->source, HasSubstr("2 days"));
}

TEST(WorkloadTest, EmptyLedgerAsksForAWorkload) {
  Result<Workload> w = WorkloadFromUsage({}, Workload{});
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(WorkloadFromUsage({{.day = "d", .prompt_tokens = -5}}, Workload{}));
}

}  // namespace
}  // namespace tandem::cost
