#include "tandem/cost/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tandem/cost/format.h"

namespace tandem::cost {
namespace {

using ::testing::HasSubstr;

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<InstanceCatalog> catalog = InstanceCatalog::Load(Config{});
    ASSERT_TRUE(catalog) << catalog.error().message();
    workload_.instance = "p3.2xlarge";
    workload_.sensitive_share = 0.2;
    Result<Plan> plan = MakePlan(*catalog, workload_,
                                 {{.name = "a&b <model>",
                                   .provider = "x",
                                   .input_usd_per_token = 1e-6,
                                   .output_usd_per_token = 2e-6}});
    ASSERT_TRUE(plan) << plan.error().message();
    plan_ = *plan;
  }
  Workload workload_;
  Plan plan_;
};

TEST_F(ReportTest, JsonListsEveryKindAndARecommendation) {
  nlohmann::json json = nlohmann::json::parse(RenderJson(plan_));
  std::set<std::string> kinds;
  for (const auto& option : json["options"]) {
    kinds.insert(option["kind"].get<std::string>());
    EXPECT_TRUE(option["name"].is_string());
    EXPECT_TRUE(option["monthly_usd"].is_number());
    EXPECT_TRUE(option["usd_per_million_tokens"].is_number());
  }
  EXPECT_EQ(kinds,
            (std::set<std::string>{"local", "cloud_on_demand", "cloud_spot", "api", "hybrid"}));
  EXPECT_EQ(json["options"][1]["name"], "p3.2xlarge");
  EXPECT_NEAR(json["options"][1]["monthly_usd"].get<double>(), 2233.8, 1e-6);
  EXPECT_TRUE(json["recommendation"]["kind"].is_string());
  EXPECT_FALSE(json["recommendation"]["reasons"].empty());
  EXPECT_EQ(json["break_even"].size(), 3u);
  EXPECT_EQ(json["workload"]["hours_per_day"], 24);
}

TEST_F(ReportTest, TableShowsOptionsBreakEvenAndRecommendation) {
  std::string table = RenderTable(plan_);
  EXPECT_THAT(table, HasSubstr("cloud_on_demand  p3.2xlarge"));
  EXPECT_THAT(table, HasSubstr("$2,234"));
  EXPECT_THAT(table, HasSubstr("Break-even of local"));
  EXPECT_THAT(table, HasSubstr("Recommendation: "));
  EXPECT_THAT(table, HasSubstr("20% of tokens are sensitive"));
}

TEST_F(ReportTest, ChartIsStandaloneSvgWithEscapedNamesAndBreakEvenMarks) {
  std::string svg = RenderChartSvg(plan_);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  EXPECT_THAT(svg, HasSubstr("a&amp;b &lt;model&gt;"));
  EXPECT_EQ(svg.find("a&b"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  // The local workstation crosses p3.2xlarge on-demand inside 0-24 h/day.
  EXPECT_THAT(svg, HasSubstr("<circle"));
  EXPECT_THAT(svg, HasSubstr("on-demand p3.2xlarge: 1.7 h/day"));
}

TEST(FormatTest, MoneyAndTokens) {
  EXPECT_EQ(FormatUsd(2233.8), "$2,234");
  EXPECT_EQ(FormatUsd(1234567), "$1,234,567");
  EXPECT_EQ(FormatUsd(12.5), "$12.50");
  EXPECT_EQ(FormatUsd(0.056), "$0.0560");
  EXPECT_EQ(FormatTokens(12.5e6), "12.5M");
  EXPECT_EQ(FormatTokens(2e9), "2B");
  EXPECT_EQ(FormatTokens(950), "950");
  EXPECT_EQ(FormatNumber(0.8048), "0.8048");
}

}  // namespace
}  // namespace tandem::cost
