// `tandem cost report` against the ledger written by a real run through a loopback provider:
// totals equal exactly the usage the provider reported, priced from the catalog.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

TEST(CostReportEndToEndTest, TotalsEqualTheReportedUsageAndTheSumOfRows) {
  testing::TempDir dir;
  testing::ScriptedModelServer cloud;
  std::filesystem::path config =
      dir.Write("tandem.toml",
                "[routing]\ngeneric = \"cloud\"\n[[providers]]\nname = \"cloud\"\nbase_url = \"" +
                    cloud.base_url() + "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\n");
  testing::ProcessOptions options{
      .working_dir = dir.path().string(),
      .env = {{"TANDEM_HOME", (dir.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}}};
  cloud.PushToolCall("list_files", {{"path", "."}}, "", 1200, 300);
  cloud.PushToolCall("finish", {{"summary", "ok"}}, "", 1500, 40);
  testing::ProcessResult run =
      testing::RunTandem({"--config", config.string(), "run", "Look around"}, options);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  cloud.PushToolCall("finish", {{"summary", "ok"}}, "", 800, 20);
  ASSERT_EQ(testing::RunTandem({"--config", config.string(), "run", "Again"}, options).exit_code,
            0);

  testing::ProcessResult report = testing::RunTandem(
      {"--config", config.string(), "cost", "report", "--by", "task", "--json"}, options);
  ASSERT_EQ(report.exit_code, 0) << report.err;
  nlohmann::json json = nlohmann::json::parse(report.out);
  const nlohmann::json& total = json["total"];
  EXPECT_EQ(total["calls"], 3);
  EXPECT_EQ(total["prompt_tokens"], 1200 + 1500 + 800);
  EXPECT_EQ(total["completion_tokens"], 300 + 40 + 20);
  EXPECT_EQ(total["unpriced_calls"], 0);
  double expected_usd = (1200 + 1500 + 800) * 1.5e-7 + (300 + 40 + 20) * 6.0e-7;
  EXPECT_NEAR(total["cost_usd"].get<double>(), expected_usd, 1e-12);
  ASSERT_EQ(json["groups"].size(), 2u);
  int64_t group_prompt = 0;
  double group_cost = 0;
  for (const nlohmann::json& group : json["groups"]) {
    group_prompt += group["prompt_tokens"].get<int64_t>();
    group_cost += group["cost_usd"].get<double>();
  }
  EXPECT_EQ(group_prompt, total["prompt_tokens"].get<int64_t>());
  EXPECT_NEAR(group_cost, total["cost_usd"].get<double>(), 1e-12);

  testing::ProcessResult by_zone = testing::RunTandem(
      {"--config", config.string(), "cost", "report", "--by", "zone", "--json"}, options);
  ASSERT_EQ(by_zone.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(by_zone.out)["groups"][0]["key"], "cloud");
  EXPECT_EQ(testing::RunTandem({"cost", "report", "--by", "week"}, options).exit_code, 2);

  // All-cloud defaults to the configured cloud model (what was paid); [cost] can name another.
  EXPECT_EQ(json["all_cloud"]["reference_model"], "gpt-4o-mini");
  EXPECT_NEAR(json["all_cloud"]["all_cloud_usd"].get<double>(), expected_usd, 1e-12);
  EXPECT_NEAR(json["all_cloud"]["savings_usd"].get<double>(), 0, 1e-12);
  std::filesystem::path reference = dir.Write(
      "reference.toml", testing::ReadFile(config) + "[cost]\nreference_cloud_model = \"gpt-4o\"\n");
  testing::ProcessResult priced = testing::RunTandem(
      {"--config", reference.string(), "cost", "report", "--by", "model"}, options);
  ASSERT_EQ(priced.exit_code, 0) << priced.err;
  EXPECT_THAT(priced.out, ::testing::HasSubstr("gpt-4o-mini"));
  double all_cloud = (1200 + 1500 + 800) * 2.5e-6 + (300 + 40 + 20) * 1.0e-5;
  EXPECT_THAT(priced.out, ::testing::HasSubstr(fmt::format(
                              "all in the cloud on gpt-4o: {:.6f} USD; saved {:.6f} USD", all_cloud,
                              all_cloud - expected_usd)));
  std::filesystem::path unknown = dir.Write(
      "unknown.toml", testing::ReadFile(config) + "[cost]\nreference_cloud_model = \"gpt-99\"\n");
  testing::ProcessResult refused =
      testing::RunTandem({"--config", unknown.string(), "cost", "report"}, options);
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_THAT(refused.err, ::testing::HasSubstr("reference_cloud_model"));
}

}  // namespace
}  // namespace tandem
