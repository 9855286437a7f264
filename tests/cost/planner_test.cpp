#include "tandem/cost/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

namespace tandem::cost {
namespace {

using ::testing::HasSubstr;

// Round numbers so every expected value below can be checked by hand (docs/cost-model.md).
constexpr char kCatalog[] = R"(
[instances."gpu.small"]
gpu = "T"
gpu_memory_gb = 16
usd_per_hour = 1.0
hardware = "hw"

[instances."gpu.tiny"]
gpu = "U"
usd_per_hour = 0.3
hardware = "hw-small"

[spot]
default_discount = 0.6
interruptions_per_day = 2.4
restart_overhead_minutes = 30

[local."box"]
hardware = "hw"
purchase_usd = 3600
lifetime_years = 3
power_load_w = 500
power_idle_w = 100
electricity_usd_per_kwh = 0.2
operations_usd_per_month = 50

[throughput."hw"]
"8b" = { decode_tokens_per_s = 100, prefill_tokens_per_s = 1000 }

[throughput."hw-small"]
"1b" = { decode_tokens_per_s = 300, prefill_tokens_per_s = 5000 }

[api]
decode_tokens_per_s = 50
first_token_s = 0.5
)";

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<InstanceCatalog> catalog = InstanceCatalog::FromToml(kCatalog, "test.toml");
    ASSERT_TRUE(catalog) << catalog.error().message();
    catalog_ = std::move(*catalog);
    // 10M tokens/month, half of them completions, 10 h/day: 0.0055 s per token, so
    // 15.2778 busy hours a month; 304.1667 powered hours.
    workload_.tokens_per_month = 10e6;
    workload_.output_share = 0.5;
    workload_.hours_per_day = 10;
    workload_.prompt_tokens_per_call = 1000;
    workload_.output_tokens_per_call = 100;
    apis_ = {
        {.name = "cheap",
         .provider = "p",
         .input_usd_per_token = 1e-6,
         .output_usd_per_token = 3e-6},
        {.name = "pricey",
         .provider = "p",
         .input_usd_per_token = 1e-5,
         .output_usd_per_token = 3e-5},
        {.name = "notools",
         .provider = "p",
         .input_usd_per_token = 1e-8,
         .output_usd_per_token = 1e-8,
         .supports_tools = false},
        {.name = "tiny-context",
         .provider = "p",
         .input_usd_per_token = 1e-8,
         .output_usd_per_token = 1e-8,
         .max_input_tokens = 500},
    };
  }

  Plan MakeOrFail() {
    Result<Plan> plan = MakePlan(catalog_, workload_, apis_);
    EXPECT_TRUE(plan) << plan.error().message();
    return plan ? *plan : Plan{};
  }

  static const Option& Find(const Plan& plan, OptionKind kind, std::string_view name = "") {
    auto it = std::find_if(plan.options.begin(), plan.options.end(), [&](const Option& o) {
      return o.kind == kind && (name.empty() || o.name == name);
    });
    EXPECT_NE(it, plan.options.end()) << OptionKindName(kind) << " " << name;
    return *it;
  }

  static const BreakEven& FindBreakEven(const Plan& plan, OptionKind kind) {
    auto it = std::find_if(plan.break_evens.begin(), plan.break_evens.end(),
                           [&](const BreakEven& b) { return b.kind == kind; });
    EXPECT_NE(it, plan.break_evens.end());
    return *it;
  }

  InstanceCatalog catalog_;
  Workload workload_;
  std::vector<ApiOffer> apis_;
};

TEST_F(PlannerTest, OnDemandIsHourlyPriceTimesHoursOverAnAverageMonth) {
  CloudInstance p3;
  p3.usd_per_hour = 3.06;
  EXPECT_NEAR(OnDemandCostVsHours(p3).At(24), 2233.80, 1e-9);  // 3.06 * 730
  EXPECT_NEAR(OnDemandCostVsHours(p3).At(2), 186.15, 1e-9);    // 3.06 * 2 * 30.4167
}

TEST_F(PlannerTest, SpotAppliesTheDiscountAndTheRestartOverhead) {
  CloudInstance p3;
  p3.usd_per_hour = 3.06;
  SpotModel spot{.interruptions_per_day = 0.5, .restart_overhead_minutes = 8};
  // 3.06 * 0.4 * 730 * (1 + 0.5/24 * 8/60) = 893.52 * 1.0027778 = 896.002.
  EXPECT_NEAR(SpotCostVsHours(p3, spot, 0.6).At(24), 896.002, 1e-3);
  SpotModel no_interruptions{.interruptions_per_day = 0};
  EXPECT_NEAR(SpotCostVsHours(p3, no_interruptions, 0.7).At(24), 670.14, 1e-9);
}

TEST_F(PlannerTest, LocalCostIsAmortisationOperationsAndEnergy) {
  Plan plan = MakeOrFail();
  const Option& local = Find(plan, OptionKind::kLocal);
  // 3600 / 36 = 100 amortised, 50 operations, energy (15.2778 h * 400 W + 304.1667 h * 100 W)
  // = 36527.78 Wh at $0.0002/Wh = 7.305556.
  EXPECT_NEAR(local.monthly_usd, 157.305556, 1e-5);
  EXPECT_NEAR(local.usd_per_million_tokens, 15.7305556, 1e-6);
  ASSERT_EQ(local.breakdown.size(), 3u);
  EXPECT_NEAR(local.breakdown[0].usd, 100, 1e-9);
  EXPECT_NEAR(local.breakdown[2].usd, 7.305556, 1e-5);
  // 304.1667 h * 3600 s / 0.0055 s per token.
  EXPECT_NEAR(*local.capacity_tokens_per_month, 199.0909e6, 1e3);
  EXPECT_NEAR(*local.latency_s, 2.0, 1e-9);  // 1000/1000 + 100/100.
  EXPECT_EQ(local.throughput_source, "catalog");
  EXPECT_TRUE(local.meets_workload);
}

TEST_F(PlannerTest, CloudOptionsUseTheChosenInstanceForTheGivenHours) {
  Plan plan = MakeOrFail();
  const Option& on_demand = Find(plan, OptionKind::kCloudOnDemand);
  // gpu.tiny is cheaper but cannot run an 8b model: gpu.small is chosen.
  EXPECT_EQ(on_demand.name, "gpu.small");
  EXPECT_NEAR(on_demand.monthly_usd, 304.166667, 1e-5);
  EXPECT_NEAR(on_demand.usd_per_million_tokens, 30.4166667, 1e-6);
  const Option& spot = Find(plan, OptionKind::kCloudSpot);
  // 304.1667 * 0.4 * (1 + 2.4/24 * 0.5).
  EXPECT_NEAR(spot.monthly_usd, 127.75, 1e-6);
  EXPECT_NEAR(plan.spot_discount, 0.6, 1e-12);
}

TEST_F(PlannerTest, NamedInstanceThatCannotRunTheModelIsFlagged) {
  workload_.instance = "gpu.tiny";
  Plan plan = MakeOrFail();
  const Option& on_demand = Find(plan, OptionKind::kCloudOnDemand);
  EXPECT_FALSE(on_demand.meets_workload);
  EXPECT_FALSE(on_demand.throughput_tokens_per_s);
  EXPECT_THAT(on_demand.notes.front(), HasSubstr("model size 8b does not fit hw-small (fits: 1b)"));
}

TEST_F(PlannerTest, SpotDiscountFromTheWorkloadOverridesTheCatalog) {
  workload_.spot_discount = 0.5;
  Plan plan = MakeOrFail();
  EXPECT_NEAR(Find(plan, OptionKind::kCloudSpot).monthly_usd, 304.166667 * 0.5 * 1.05, 1e-5);
}

TEST_F(PlannerTest, ApiOptionsAreTheCheapestCapableOneAndTheNamedOnes) {
  workload_.api_models = {"pricey", "cheap"};
  Plan plan = MakeOrFail();
  std::vector<std::string> names;
  for (const Option& o : plan.options) {
    if (o.kind == OptionKind::kApi) names.push_back(o.name);
  }
  // "notools" and "tiny-context" are cheaper per token but cannot run the workload.
  EXPECT_EQ(names, (std::vector<std::string>{"cheap", "pricey"}));
  const Option& cheap = Find(plan, OptionKind::kApi, "cheap");
  EXPECT_NEAR(cheap.monthly_usd, 20.0, 1e-9);  // 5M * 1e-6 + 5M * 3e-6.
  EXPECT_NEAR(cheap.usd_per_million_tokens, 2.0, 1e-9);
  EXPECT_NEAR(*cheap.latency_s, 2.5, 1e-9);  // 0.5 s first token + 100 / 50.
  EXPECT_EQ(cheap.throughput_source, "estimate");
  EXPECT_NEAR(Find(plan, OptionKind::kApi, "pricey").monthly_usd, 200.0, 1e-9);
}

TEST_F(PlannerTest, ApiBelowTheModelSizeClassIsNotTheCheapestCapable) {
  Result<InstanceCatalog> catalog = InstanceCatalog::FromToml(
      std::string(kCatalog) + "[api.size_class]\n\"cheap\" = 1\n\"pricey\" = 70\n", "test.toml");
  ASSERT_TRUE(catalog) << catalog.error().message();
  workload_.api_models = {"cheap"};
  Result<Plan> plan = MakePlan(*catalog, workload_, apis_);
  ASSERT_TRUE(plan) << plan.error().message();
  std::vector<std::string> names;
  for (const Option& o : plan->options) {
    if (o.kind == OptionKind::kApi) names.push_back(o.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"pricey", "cheap"}));
  const Option& cheap = Find(*plan, OptionKind::kApi, "cheap");
  EXPECT_FALSE(cheap.meets_workload);
  EXPECT_THAT(cheap.notes.front(), HasSubstr("stands in for a 1b model, below the workload's 8b"));
  EXPECT_THAT(Find(*plan, OptionKind::kApi, "pricey").detail, HasSubstr("stands in for 70b"));
}

TEST(ModelSizeTest, ParsesBillionsOfParameters) {
  EXPECT_EQ(ModelSizeBillions("8b"), 8);
  EXPECT_EQ(ModelSizeBillions("70B"), 70);
  EXPECT_EQ(ModelSizeBillions("1.5b"), 1.5);
  EXPECT_FALSE(ModelSizeBillions("b"));
  EXPECT_FALSE(ModelSizeBillions("large"));
  EXPECT_FALSE(ModelSizeBillions("-3b"));
  EXPECT_FALSE(ModelSizeBillions("8x7b"));
}

TEST_F(PlannerTest, NamedIncapableApiIsListedButFlagged) {
  workload_.api_models = {"tiny-context"};
  Plan plan = MakeOrFail();
  const Option& tiny = Find(plan, OptionKind::kApi, "tiny-context");
  EXPECT_FALSE(tiny.meets_workload);
  EXPECT_THAT(tiny.notes.front(), HasSubstr("context of 500 tokens"));
}

TEST_F(PlannerTest, BreakEvenHoursAgainstOnDemandAndSpot) {
  Plan plan = MakeOrFail();
  // Local: 151.2222 fixed + 0.608333 per h/day; on-demand: 30.416667 per h/day.
  // 151.2222 / (30.416667 - 0.608333) = 5.0732.
  const BreakEven& on_demand = FindBreakEven(plan, OptionKind::kCloudOnDemand);
  ASSERT_TRUE(on_demand.hours_per_day.at);
  EXPECT_NEAR(*on_demand.hours_per_day.at, 5.0732, 1e-4);
  EXPECT_EQ(on_demand.hours_per_day.local_cheaper, LocalCheaper::kAbove);
  // Spot: 12.775 per h/day; 151.2222 / (12.775 - 0.608333) = 12.4292.
  const BreakEven& spot = FindBreakEven(plan, OptionKind::kCloudSpot);
  ASSERT_TRUE(spot.hours_per_day.at);
  EXPECT_NEAR(*spot.hours_per_day.at, 12.4292, 1e-4);
}

TEST_F(PlannerTest, BreakEvenTokensAgainstTheApi) {
  Plan plan = MakeOrFail();
  // Local at 10 h/day: 156.0833 fixed + 1.2222e-7 per token; API: 2e-6 per token.
  // 156.0833 / (2e-6 - 1.2222e-7) = 83.12M tokens/month, inside local capacity (199M).
  const BreakEven& api = FindBreakEven(plan, OptionKind::kApi);
  ASSERT_TRUE(api.tokens_per_month.at);
  EXPECT_NEAR(*api.tokens_per_month.at / 1e6, 83.121, 1e-3);
  EXPECT_EQ(api.tokens_per_month.local_cheaper, LocalCheaper::kAbove);
  // Against an instance the cost is flat in tokens and local is cheaper at 10 h/day.
  const BreakEven& on_demand = FindBreakEven(plan, OptionKind::kCloudOnDemand);
  EXPECT_EQ(on_demand.tokens_per_month.local_cheaper, LocalCheaper::kAlways);
}

TEST_F(PlannerTest, SolveBreakEvenCoversEverySide) {
  Crossing above = SolveBreakEven({100, 1}, {0, 11}, 0, 24);
  ASSERT_TRUE(above.at);
  EXPECT_DOUBLE_EQ(*above.at, 10);
  EXPECT_EQ(above.local_cheaper, LocalCheaper::kAbove);
  Crossing below = SolveBreakEven({0, 2}, {10, 1}, 0, 24);
  ASSERT_TRUE(below.at);
  EXPECT_DOUBLE_EQ(*below.at, 10);
  EXPECT_EQ(below.local_cheaper, LocalCheaper::kBelow);
  EXPECT_EQ(SolveBreakEven({1000, 1}, {0, 11}, 0, 24).local_cheaper, LocalCheaper::kNever);
  EXPECT_EQ(SolveBreakEven({-10, 1}, {0, 11}, 0, 24).local_cheaper, LocalCheaper::kAlways);
  EXPECT_EQ(SolveBreakEven({5, 1}, {6, 1}, 0, 24).local_cheaper, LocalCheaper::kAlways);
  EXPECT_EQ(SolveBreakEven({7, 1}, {6, 1}, 0, 24).local_cheaper, LocalCheaper::kNever);
  EXPECT_FALSE(SolveBreakEven({1000, 1}, {0, 11}, 0, 24).at);
}

TEST_F(PlannerTest, WorkloadBeyondCapacityIsFlaggedWithTheHoursItNeeds) {
  workload_.hours_per_day = 1;
  workload_.tokens_per_month = 30e6;
  Plan plan = MakeOrFail();
  const Option& local = Find(plan, OptionKind::kLocal);
  EXPECT_FALSE(local.meets_workload);
  // Capacity at 1 h/day: 30.4167 * 3600 / 0.0055 = 19.91M; 30M needs 1.5 h/day.
  EXPECT_THAT(local.notes.front(), HasSubstr("needs 1.5 h/day"));
  EXPECT_NE(plan.recommendation.kind, OptionKind::kLocal);
  // Spot's first note is why it is excluded, and the recommendation says so.
  EXPECT_THAT(Find(plan, OptionKind::kCloudSpot).notes.front(), HasSubstr("needs 1.5 h/day"));
  bool names_spot = std::any_of(
      plan.recommendation.reasons.begin(), plan.recommendation.reasons.end(),
      [](const std::string& r) { return r.find("gpu.small excluded: cannot carry") != r.npos; });
  EXPECT_TRUE(names_spot);
  workload_.tokens_per_month = 1e9;  // 50x the capacity at 1 h/day: over 2 machines' days.
  Plan big = MakeOrFail();
  EXPECT_THAT(Find(big, OptionKind::kLocal).notes.front(),
              HasSubstr("needs 2.1 times its capacity at 24 h/day"));
}

TEST_F(PlannerTest, WhenNothingCarriesTheWorkloadTheCheapestPrivateOptionIsNamedShort) {
  workload_.sensitive_share = 0.5;
  workload_.hours_per_day = 1;
  workload_.tokens_per_month = 50e6;  // Local capacity at 1 h/day is 19.9M; half is 25M.
  Plan plan = MakeOrFail();
  EXPECT_EQ(plan.recommendation.kind, OptionKind::kLocal);
  EXPECT_THAT(plan.recommendation.reasons.front(),
              HasSubstr("no option carries the whole workload"));
}

TEST_F(PlannerTest, WithoutSensitiveWorkTheCheapestOptionWins) {
  Plan plan = MakeOrFail();
  EXPECT_EQ(plan.recommendation.kind, OptionKind::kApi);
  EXPECT_EQ(plan.recommendation.name, "cheap");
  EXPECT_THAT(plan.recommendation.reasons.front(), HasSubstr("$20.00/month"));
}

TEST_F(PlannerTest, SlowerWinnerNamesTheFasterAlternative) {
  // API: 0.5 + 1000/50 = 20.5 s; hw (local and gpu.small): 1000/1000 + 1000/100 = 11 s. The
  // cheapest faster option is gpu.small on spot (127.75 < 157.31).
  workload_.output_tokens_per_call = 1000;
  Plan plan = MakeOrFail();
  EXPECT_EQ(plan.recommendation.name, "cheap");
  bool trade_off = std::any_of(
      plan.recommendation.reasons.begin(), plan.recommendation.reasons.end(),
      [](const std::string& r) {
        return r.find("cheap answers a call in 20.5 s, gpu.small (cloud_spot) in 11.0 s") != r.npos;
      });
  EXPECT_TRUE(trade_off) << ::testing::PrintToString(plan.recommendation.reasons);
}

TEST_F(PlannerTest, SensitiveShareKeepsTheRecommendationLocal) {
  workload_.sensitive_share = 0.4;
  Plan plan = MakeOrFail();
  EXPECT_FALSE(Find(plan, OptionKind::kApi).privacy_ok);
  EXPECT_FALSE(Find(plan, OptionKind::kCloudOnDemand).privacy_ok);
  EXPECT_TRUE(Find(plan, OptionKind::kHybrid).privacy_ok);
  // Hybrid: local with 4M tokens (100 + 50 + (6.1111 h * 400 W + 304.1667 h * 100 W) * 0.0002
  // = 156.5722) plus 6M tokens on the cheapest API (12.00).
  const Option& hybrid = Find(plan, OptionKind::kHybrid);
  EXPECT_EQ(hybrid.name, "box + cheap");
  EXPECT_NEAR(hybrid.monthly_usd, 168.572222, 1e-5);
  EXPECT_EQ(plan.recommendation.kind, OptionKind::kLocal);  // 157.31 < 168.57.
  bool mentions_privacy = std::any_of(
      plan.recommendation.reasons.begin(), plan.recommendation.reasons.end(),
      [](const std::string& r) { return r.find("40% of tokens are sensitive") != r.npos; });
  EXPECT_TRUE(mentions_privacy);
}

TEST_F(PlannerTest, HybridWinsWhenTheLocalShareIsCheapAndTheRestIsNot) {
  // A costly local box that is cheap to run partly: all-local carries a large energy bill
  // (busy 10 h/day at 5 kW), the hybrid keeps only 10% local.
  workload_.sensitive_share = 0.1;
  workload_.tokens_per_month = 100e6;
  workload_.hours_per_day = 24;
  Result<InstanceCatalog> catalog =
      InstanceCatalog::FromToml(std::string(kCatalog) +
                                    "[local.\"hot\"]\nhardware = \"hw\"\npurchase_usd = 0\n"
                                    "lifetime_years = 1\npower_load_w = 5000\npower_idle_w = 0\n"
                                    "electricity_usd_per_kwh = 0.5\n",
                                "test.toml");
  ASSERT_TRUE(catalog) << catalog.error().message();
  workload_.local_profile = "hot";
  Result<Plan> plan = MakePlan(*catalog, workload_, apis_);
  ASSERT_TRUE(plan) << plan.error().message();
  // Local: 152.78 busy h * 5000 W * $0.0005/Wh = 381.94; hybrid: 38.19 + 90M * 2e-6 = 218.19.
  EXPECT_NEAR(Find(*plan, OptionKind::kLocal).monthly_usd, 381.944444, 1e-5);
  EXPECT_NEAR(Find(*plan, OptionKind::kHybrid).monthly_usd, 218.194444, 1e-5);
  EXPECT_EQ(plan->recommendation.kind, OptionKind::kHybrid);
}

TEST_F(PlannerTest, AllSensitiveMakesTheHybridTheLocalMachineAlone) {
  workload_.sensitive_share = 1;
  Plan plan = MakeOrFail();
  const Option& hybrid = Find(plan, OptionKind::kHybrid);
  EXPECT_EQ(hybrid.name, "box");
  EXPECT_NEAR(hybrid.monthly_usd, Find(plan, OptionKind::kLocal).monthly_usd, 1e-9);
  EXPECT_THAT(hybrid.detail, HasSubstr("all tokens are sensitive"));
}

TEST_F(PlannerTest, UnknownNamesListTheValidChoices) {
  workload_.instance = "p9.huge";
  Result<Plan> plan = MakePlan(catalog_, workload_, apis_);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(), HasSubstr("(valid: gpu.small, gpu.tiny)"));
  workload_.instance.clear();
  workload_.model_size = "405b";
  plan = MakePlan(catalog_, workload_, apis_);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(), HasSubstr("unknown model size \"405b\" (valid: 1b, 8b)"));
  workload_.model_size = "8b";
  workload_.local_profile = "desk";
  EXPECT_THAT(MakePlan(catalog_, workload_, apis_).error().message(), HasSubstr("(valid: box)"));
  workload_.local_profile.clear();
  workload_.api_models = {"gpt-9"};
  EXPECT_THAT(MakePlan(catalog_, workload_, apis_).error().message(),
              HasSubstr("unknown API model \"gpt-9\" (valid: cheap, pricey, notools"));
}

TEST_F(PlannerTest, OutOfRangeWorkloadIsRejectedNamingTheField) {
  workload_.hours_per_day = 25;
  Result<Plan> plan = MakePlan(catalog_, workload_, apis_);
  ASSERT_FALSE(plan);
  EXPECT_THAT(plan.error().message(), HasSubstr("hours_per_day = 25"));
  workload_.hours_per_day = 8;
  workload_.tokens_per_month = std::numeric_limits<double>::infinity();
  EXPECT_THAT(MakePlan(catalog_, workload_, apis_).error().message(),
              HasSubstr("must be a finite number"));
  workload_.tokens_per_month = 0;
  EXPECT_THAT(MakePlan(catalog_, workload_, apis_).error().message(),
              HasSubstr("tokens_per_month"));
}

TEST_F(PlannerTest, WithoutApisThePlanHasNoApiOption) {
  Result<Plan> plan = MakePlan(catalog_, workload_, {});
  ASSERT_TRUE(plan) << plan.error().message();
  for (const Option& option : plan->options)
    EXPECT_NE(option.kind, OptionKind::kApi);
  EXPECT_EQ(plan->options.back().kind, OptionKind::kHybrid);
}

}  // namespace
}  // namespace tandem::cost
