// End-to-end checks of `tandem plan` through the built binary (TANDEM_BINARY).
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace tandem::cost {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class PlanCliTest : public ::testing::Test {
 protected:
  void SetUp() override { config_ = dir_.Write("tandem.toml", ""); }

  // Runs `tandem --config <config> plan <args>` in the temporary directory.
  RunResult Plan(const std::string& args) {
    std::string command = fmt::format("cd '{}' && '{}' --config '{}' plan {} >out.txt 2>err.txt",
                                      dir_.path().string(), TANDEM_BINARY, config_.string(), args);
    int status = std::system(command.c_str());
    RunResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = testing::ReadFile(dir_.path() / "out.txt");
    result.err = testing::ReadFile(dir_.path() / "err.txt");
    return result;
  }

  static const json& Option(const json& plan, std::string_view kind) {
    for (const json& option : plan["options"]) {
      if (option["kind"] == kind) return option;
    }
    ADD_FAILURE() << "no option of kind " << kind;
    static const json kNone;
    return kNone;
  }

  testing::TempDir dir_;
  std::filesystem::path config_;
};

TEST_F(PlanCliTest, P3AroundTheClockCostsAbout2200AMonth) {
  RunResult run = Plan("--instance p3.2xlarge --hours-per-day 24 --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json plan = json::parse(run.out);
  double on_demand = Option(plan, "cloud_on_demand")["monthly_usd"].get<double>();
  EXPECT_GE(on_demand, 2200);
  EXPECT_LE(on_demand, 2260);
  EXPECT_EQ(Option(plan, "cloud_on_demand")["name"], "p3.2xlarge");
  double spot = Option(plan, "cloud_spot")["monthly_usd"].get<double>();
  EXPECT_GE(spot / on_demand, 0.30);
  EXPECT_LE(spot / on_demand, 0.50);
  for (std::string_view kind : {"local", "api", "hybrid"}) {
    EXPECT_TRUE(Option(plan, kind)["usd_per_million_tokens"].is_number()) << kind;
  }
  EXPECT_TRUE(plan["recommendation"].is_object());
}

TEST_F(PlanCliTest, P3TwoHoursADayCostsUnder200) {
  RunResult run = Plan("--instance p3.2xlarge --hours-per-day 2 --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json plan = json::parse(run.out);
  EXPECT_LT(Option(plan, "cloud_on_demand")["monthly_usd"].get<double>(), 200);
}

TEST_F(PlanCliTest, SpotDiscountFlagIsApplied) {
  RunResult run = Plan("--instance g5.xlarge --spot-discount 0.7 --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json plan = json::parse(run.out);
  double ratio = Option(plan, "cloud_spot")["monthly_usd"].get<double>() /
                 Option(plan, "cloud_on_demand")["monthly_usd"].get<double>();
  EXPECT_NEAR(ratio, 0.3, 0.01);
}

TEST_F(PlanCliTest, TableAndChartByDefault) {
  RunResult run = Plan("--workload '" TANDEM_SOURCE_DIR "/examples/workload.toml' --chart c.svg");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Recommendation:"));
  EXPECT_THAT(run.out, HasSubstr("cloud_spot"));
  std::string svg = testing::ReadFile(dir_.path() / "c.svg");
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("</svg>"));
}

TEST_F(PlanCliTest, UnknownInstanceIsAUsageErrorListingTheValidOnes) {
  RunResult run = Plan("--instance p9.huge --json");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("unknown name \"p9.huge\""));
  EXPECT_THAT(run.err, HasSubstr("g4dn.xlarge"));
  EXPECT_THAT(run.err, HasSubstr("p3.2xlarge"));
  EXPECT_TRUE(run.out.empty());
}

TEST_F(PlanCliTest, OutOfRangeFlagIsAUsageError) {
  RunResult run = Plan("--hours-per-day 30");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--hours-per-day"));
  EXPECT_THAT(run.err, HasSubstr("hours_per_day = 30"));
  EXPECT_EQ(Plan("--spot-discount 1.5").exit_code, 2);
  EXPECT_EQ(Plan("--tokens-per-month -5").exit_code, 2);
  EXPECT_EQ(Plan("--hours-per-day abc").exit_code, 2);
  EXPECT_EQ(Plan("--workload no-such-file.toml").exit_code, 2);
}

TEST_F(PlanCliTest, NegativeCatalogPriceIsAConfigError) {
  config_ = dir_.Write("bad.toml", "[catalog.instances.\"g5.xlarge\"]\nusd_per_hour = -1\n");
  RunResult run = Plan("--json");
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("bad.toml:2"));
  EXPECT_THAT(run.err, HasSubstr("catalog.instances.\"g5.xlarge\".usd_per_hour"));
}

TEST_F(PlanCliTest, ZeroLifetimeIsAConfigError) {
  config_ = dir_.Write("bad.toml", "[catalog.local.\"workstation-rtx4090\"]\nlifetime_years = 0\n");
  RunResult run = Plan("");
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("lifetime_years"));
  EXPECT_THAT(run.err, HasSubstr("greater than zero"));
}

TEST_F(PlanCliTest, UnknownInstanceInTheWorkloadFileIsAConfigError) {
  auto workload = dir_.Write("w.toml", "[workload]\ninstance = \"x1.gpu\"\n");
  RunResult run = Plan("--workload '" + workload.string() + "'");
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("unknown instance \"x1.gpu\" (valid: "));
}

}  // namespace
}  // namespace tandem::cost
