// The UI's read views over loopback: /api/cost, /api/audit and /api/providers, with numbers
// checked against the ledger and audit rows that real tasks (scripted model endpoint) wrote.
#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "server_fixture.h"
#include "tandem/cost/ledger_report.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ViewsApiTest : public ServerTest {
 protected:
  // Ledger rows of the given tasks (all rows when empty).
  std::vector<store::LedgerRow> Rows(const std::set<std::string>& tasks = {}) {
    auto rows = store_->ListLedger();
    EXPECT_TRUE(rows);
    std::vector<store::LedgerRow> out;
    for (const store::LedgerRow& row : *rows) {
      if (tasks.empty() || tasks.contains(row.task_id)) out.push_back(row);
    }
    return out;
  }

  // Checks /api/cost's totals against `rows`.
  void ExpectTotals(const json& cost, const std::vector<store::LedgerRow>& rows) {
    int64_t in = 0, out = 0;
    double usd = 0;
    for (const store::LedgerRow& row : rows) {
      in += row.prompt_tokens;
      out += row.completion_tokens;
      usd += row.cost_usd.value_or(0);
    }
    EXPECT_EQ(cost["total"]["calls"], rows.size());
    EXPECT_EQ(cost["total"]["tokens_in"], in);
    EXPECT_EQ(cost["total"]["tokens_out"], out);
    EXPECT_NEAR(cost["total"]["cost_usd"].get<double>(), usd, 1e-12);
  }
};

TEST_F(ViewsApiTest, CostTotalsEqualTheLedgerRowsOfRealTasks) {
  // One task at a time: the endpoint's script alternates write and finish across calls.
  std::string a = StartTask(alice_, "Write a report");
  EXPECT_EQ(WaitForEnd(root_, a)["status"], "succeeded");
  std::string b = StartTask(bob_, "Write another report", true);
  EXPECT_EQ(WaitForEnd(root_, b)["status"], "succeeded");
  std::vector<store::LedgerRow> rows = Rows();
  ASSERT_EQ(rows.size(), 4u);  // Two calls per task (write, finish), 100 + 20 tokens each.

  HttpResult result = Get("/api/cost?days=7", root_);
  ASSERT_EQ(result.status, 200) << result.body;
  json cost = result.Json();
  EXPECT_EQ(cost["currency"], "USD");
  EXPECT_EQ(cost["days"], 7);
  ExpectTotals(cost, rows);
  EXPECT_EQ(cost["total"]["tokens_in"], 400);
  EXPECT_EQ(cost["total"]["tokens_out"], 80);
  // gpt-4o-mini: 1.5e-7 per prompt token, 6e-7 per completion token.
  EXPECT_NEAR(cost["total"]["cost_usd"].get<double>(), 400 * 1.5e-7 + 80 * 6e-7, 1e-12);

  ASSERT_EQ(cost["by_day"].size(), 7u);
  const json& today = cost["by_day"].back();
  EXPECT_EQ(today["day"], cost::UtcDay(rows.back().created_at_ms));
  EXPECT_EQ(today["calls"], 4);
  EXPECT_EQ(today["local_usd"], 0.0);
  EXPECT_NEAR(today["cloud_usd"].get<double>(), cost["total"]["cost_usd"].get<double>(), 1e-12);
  for (size_t i = 0; i + 1 < cost["by_day"].size(); ++i) {
    EXPECT_EQ(cost["by_day"][i]["calls"], 0);
    EXPECT_LT(cost["by_day"][i]["day"], cost["by_day"][i + 1]["day"]);
  }
  for (auto [group, key, name] :
       {std::tuple{"by_zone", "zone", "cloud"}, std::tuple{"by_provider", "provider", "cloud"},
        std::tuple{"by_model", "model", "gpt-4o-mini"}}) {
    ASSERT_EQ(cost[group].size(), 1u) << group;
    EXPECT_EQ(cost[group][0][key], name);
    EXPECT_EQ(cost[group][0]["calls"], 4);
    EXPECT_EQ(cost[group][0]["tokens"], 480);
  }
  EXPECT_EQ(cost["local_share"]["calls"], 0.0);
  EXPECT_EQ(cost["local_share"]["tokens"], 0.0);
  // The reference defaults to the configured cloud model: all-cloud is what was paid.
  EXPECT_EQ(cost["reference_model"], "gpt-4o-mini");
  EXPECT_NEAR(cost["all_cloud_usd"].get<double>(), cost["total"]["cost_usd"].get<double>(), 1e-12);
  EXPECT_NEAR(cost["savings_usd"].get<double>(), 0, 1e-12);
}

TEST_F(ViewsApiTest, AllCloudIsPricedOnTheReferenceModel) {
  std::string a = StartTask(alice_, "Write a report");
  WaitForEnd(root_, a);
  StopServer();
  cloud_reference_ = cost::CloudReference{"gpt-4o", 2.5e-6, 1.0e-5};
  StartServer();
  std::vector<store::LedgerRow> rows = Rows();
  ASSERT_EQ(rows.size(), 2u);
  double all_cloud = 0, paid = 0;
  for (const store::LedgerRow& row : rows) {
    all_cloud += static_cast<double>(row.prompt_tokens) * 2.5e-6 +
                 static_cast<double>(row.completion_tokens) * 1.0e-5;
    paid += row.cost_usd.value_or(0);
  }
  json cost = Get("/api/cost", alice_).Json();
  EXPECT_EQ(cost["days"], 30);
  EXPECT_EQ(cost["reference_model"], "gpt-4o");
  EXPECT_NEAR(cost["all_cloud_usd"].get<double>(), all_cloud, 1e-12);
  EXPECT_NEAR(cost["all_cloud_usd"].get<double>(), 2 * (100 * 2.5e-6 + 20 * 1.0e-5), 1e-12);
  EXPECT_NEAR(cost["savings_usd"].get<double>(), all_cloud - paid, 1e-12);
  EXPECT_GT(cost["savings_usd"].get<double>(), 0);

  StopServer();
  cloud_reference_.reset();
  StartServer();
  cost = Get("/api/cost", alice_).Json();
  EXPECT_TRUE(cost["all_cloud_usd"].is_null());
  EXPECT_TRUE(cost["savings_usd"].is_null());
  EXPECT_TRUE(cost["reference_model"].is_null());
}

TEST_F(ViewsApiTest, MembersAndViewersSeeTheCostOfTasksTheyCanSee) {
  std::string a = StartTask(alice_, "Alice's private task");
  WaitForEnd(root_, a);
  std::string b = StartTask(bob_, "Bob's private task");
  WaitForEnd(root_, b);
  std::string c = StartTask(bob_, "Bob's shared task", true);
  WaitForEnd(root_, c);
  ExpectTotals(Get("/api/cost", root_).Json(), Rows());
  ExpectTotals(Get("/api/cost", alice_).Json(), Rows({a, c}));
  ExpectTotals(Get("/api/cost", bob_).Json(), Rows({b, c}));
  json viewer = Get("/api/cost", victor_).Json();
  ExpectTotals(viewer, Rows({c}));
  EXPECT_EQ(viewer["total"]["calls"], 2);
  EXPECT_EQ(Get("/api/cost", "").status, 401);
}

TEST_F(ViewsApiTest, AuditIsForAdminsAndPagesNewestFirst) {
  std::string a = StartTask(alice_, "Write a report");
  WaitForEnd(root_, a);
  std::string b = StartTask(bob_, "Write a report too", true);
  WaitForEnd(root_, b);
  EXPECT_EQ(Get("/api/audit", alice_).status, 403);
  EXPECT_EQ(Get("/api/audit", victor_).status, 403);
  EXPECT_EQ(Get("/api/audit", "").status, 401);

  std::vector<int64_t> stored;
  for (const std::string& id : {a, b}) {
    auto records = store_->ListAudit(id);
    ASSERT_TRUE(records);
    for (const store::AuditRecord& record : *records)
      stored.push_back(record.id);
  }
  std::sort(stored.rbegin(), stored.rend());
  ASSERT_EQ(stored.size(), 4u);  // One routing decision per model call.

  json all = Get("/api/audit", root_).Json();
  ASSERT_EQ(all["entries"].size(), 4u);
  EXPECT_TRUE(all["next_before"].is_null());
  const json& entry = all["entries"][0];
  EXPECT_EQ(entry["id"], stored[0]);
  EXPECT_EQ(entry["kind"], "route_decision");
  EXPECT_EQ(entry["zone"], "cloud");
  EXPECT_EQ(entry["provider"], "cloud");
  EXPECT_TRUE(entry["reason"].is_string());
  EXPECT_TRUE(entry["task_id"] == a || entry["task_id"] == b);
  EXPECT_GT(entry["time_ms"].get<int64_t>(), 0);
  EXPECT_EQ(entry["detail"]["outcome"], "ok");
  EXPECT_FALSE(entry["detail"].contains("task_id"));

  // Walking pages of one gives every record once, newest first.
  std::vector<int64_t> walked;
  std::string path = "/api/audit?limit=1";
  for (int page = 0; page < 10; ++page) {
    json body = Get(path, root_).Json();
    ASSERT_EQ(body["entries"].size(), 1u) << body.dump();
    walked.push_back(body["entries"][0]["id"].get<int64_t>());
    if (body["next_before"].is_null()) break;
    EXPECT_EQ(body["next_before"], walked.back());
    path = "/api/audit?limit=1&before=" + std::to_string(body["next_before"].get<int64_t>());
  }
  EXPECT_EQ(walked, stored);
  json past_the_end = Get("/api/audit?before=" + std::to_string(stored.back()), root_).Json();
  EXPECT_TRUE(past_the_end["entries"].empty());
  EXPECT_TRUE(past_the_end["next_before"].is_null());
}

TEST_F(ViewsApiTest, BadQueryParametersAnswer400NamingTheParameter) {
  const std::pair<const char*, const char*> cases[] = {
      {"/api/cost?days=0", "days"},
      {"/api/cost?days=367", "days"},
      {"/api/cost?days=abc", "days"},
      {"/api/cost?days=7x", "days"},
      {"/api/cost?days=", "days"},
      {"/api/audit?limit=0", "limit"},
      {"/api/audit?limit=1001", "limit"},
      {"/api/audit?limit=ten", "limit"},
      {"/api/audit?before=0", "before"},
      {"/api/audit?before=-3", "before"},
      {"/api/audit?before=99999999999999999999", "before"},
  };
  for (auto [path, parameter] : cases) {
    HttpResult result = Get(path, root_);
    EXPECT_EQ(result.status, 400) << path;
    json body = result.Json();
    EXPECT_EQ(body["error"]["code"], "invalid_argument") << path;
    EXPECT_THAT(body["error"]["message"].get<std::string>(),
                HasSubstr("'" + std::string(parameter) + "'"))
        << path;
  }
}

TEST_F(ViewsApiTest, ProvidersShowHealthAndLedgerLatencies) {
  std::string a = StartTask(alice_, "Write a report");
  WaitForEnd(root_, a);
  std::vector<int64_t> latencies;
  for (const store::LedgerRow& row : Rows()) {
    if (row.provider == "cloud" && row.outcome == "ok") latencies.push_back(row.latency_ms);
  }
  ASSERT_EQ(latencies.size(), 2u);
  std::sort(latencies.begin(), latencies.end());

  HttpResult result = Get("/api/providers", victor_);
  ASSERT_EQ(result.status, 200) << result.body;
  json providers = result.Json();
  ASSERT_EQ(providers.size(), 1u);
  json cloud = providers[0];
  EXPECT_EQ(cloud["name"], "cloud");
  EXPECT_EQ(cloud["zone"], "cloud");
  EXPECT_EQ(cloud["kind"], "openai");
  EXPECT_EQ(cloud["model"], "gpt-4o-mini");
  EXPECT_EQ(cloud["healthy"], true);
  EXPECT_TRUE(cloud["last_error"].is_null());
  EXPECT_EQ(cloud["calls"], 2);
  EXPECT_EQ(cloud["p50_ms"], latencies[0]);  // Nearest rank of two: the first.
  EXPECT_EQ(cloud["p99_ms"], latencies[1]);

  // The router's health tracker is what the view reports.
  for (int i = 0; i < 3; ++i)
    gateway_->health().RecordFailure("cloud", "unavailable");
  cloud = Get("/api/providers", victor_).Json()[0];
  EXPECT_EQ(cloud["healthy"], false);
  EXPECT_EQ(cloud["last_error"], "unavailable");
  EXPECT_THAT(cloud["state"].get<std::string>(), StartsWith("open"));
}

}  // namespace
}  // namespace tandem::server
