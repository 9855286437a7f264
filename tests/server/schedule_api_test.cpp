// Schedules over real HTTP: create, list, show, delete and history by role, and a scheduled run
// started by the server's scheduler (driven by a manual clock) through the real task runner.
#include <gmock/gmock.h>

#include <mutex>
#include <thread>

#include "server_fixture.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ManualClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
  void SleepFor(std::chrono::milliseconds) override {}
  void Set(std::chrono::system_clock::time_point now) {
    std::lock_guard lock(mu_);
    now_ = now;
  }

 private:
  mutable std::mutex mu_;
  // Wednesday 2026-11-25 10:10 UTC.
  std::chrono::system_clock::time_point now_{std::chrono::seconds(1795601400)};
};

class ScheduleApiTest : public ServerTest {
 protected:
  ScheduleApiTest() {
    clock_ = &manual_;
    options_.scheduler.reload_ms = 20;  // Re-reads quickly once the manual clock moves.
  }
  HttpResult Delete(const std::string& path, const std::string& token) {
    httplib::Client client("127.0.0.1", server_->port());
    auto result = client.Delete(path, {{"Authorization", "Bearer " + token}});
    if (!result) return {};
    return {result->status, result->body, result->headers};
  }
  std::string Create(const std::string& token, json body) {
    HttpResult created = Post("/api/schedules", token, body);
    EXPECT_EQ(created.status, 201) << created.body;
    return created.Json().value("id", "");
  }
  std::vector<std::string> Ids(const std::string& token) {
    std::vector<std::string> ids;
    for (const json& s : Get("/api/schedules", token).Json())
      ids.push_back(s["id"]);
    return ids;
  }

  ManualClock manual_;
};

TEST_F(ScheduleApiTest, MembersCreateAndDeleteTheirOwnViewersOnlyRead) {
  HttpResult created = Post("/api/schedules", alice_,
                            {{"cron", "0 8 * * MON"},
                             {"timezone", "Europe/Berlin"},
                             {"goal", "weekly report"},
                             {"name", "weekly"},
                             {"budget", {{"usd", 0.5}}},
                             {"overlap", "queue"}});
  ASSERT_EQ(created.status, 201) << created.body;
  json schedule = created.Json();
  std::string id = schedule["id"];
  EXPECT_EQ(schedule["owner"], "alice");
  EXPECT_EQ(schedule["timezone"], "Europe/Berlin");
  EXPECT_EQ(schedule["missed"], "skip");
  EXPECT_EQ(schedule["overlap"], "queue");
  EXPECT_EQ(schedule["enabled"], true);
  EXPECT_EQ(schedule["budget"]["usd"], 0.5);
  EXPECT_TRUE(schedule["last_run"].is_null());
  // Monday 2026-11-30 08:00 in Berlin is 07:00 UTC.
  EXPECT_EQ(schedule["next_run_ms"], int64_t{1796022000} * 1000);

  std::string shared = Create(alice_, {{"cron", "@daily"}, {"goal", "g"}, {"shared", true}});
  EXPECT_EQ(Post("/api/schedules", victor_, {{"cron", "@daily"}, {"goal", "g"}}).status, 403);
  EXPECT_THAT(Ids(alice_), ::testing::ElementsAre(id, shared));
  EXPECT_THAT(Ids(root_), ::testing::ElementsAre(id, shared));
  EXPECT_THAT(Ids(bob_), ::testing::ElementsAre(shared));
  EXPECT_THAT(Ids(victor_), ::testing::ElementsAre(shared));
  EXPECT_EQ(Get("/api/schedules/" + id, bob_).status, 404);
  EXPECT_EQ(Get("/api/schedules/" + id + "/runs", bob_).status, 404);
  HttpResult runs = Get("/api/schedules/" + id + "/runs?limit=5", alice_);
  EXPECT_EQ(runs.status, 200);
  EXPECT_EQ(runs.Json(), json::array());

  EXPECT_EQ(Delete("/api/schedules/" + id, bob_).status, 404);      // Hidden from bob.
  EXPECT_EQ(Delete("/api/schedules/" + shared, bob_).status, 403);  // Seen, not his.
  EXPECT_EQ(Delete("/api/schedules/" + shared, victor_).status, 403);
  EXPECT_EQ(Delete("/api/schedules/" + id, alice_).status, 204);
  EXPECT_EQ(Get("/api/schedules/" + id, alice_).status, 404);
  EXPECT_EQ(Delete("/api/schedules/" + shared, root_).status, 204);
  EXPECT_EQ(Get("/api/schedules", root_).Json(), json::array());
}

TEST_F(ScheduleApiTest, BadRequestsNameWhatIsWrong) {
  HttpResult bad_cron = Post("/api/schedules", alice_, {{"cron", "61 * * * *"}, {"goal", "g"}});
  EXPECT_EQ(bad_cron.status, 400);
  EXPECT_THAT(bad_cron.body, HasSubstr("minute field: bad token '61'"));
  HttpResult bad_zone = Post("/api/schedules", alice_,
                             {{"cron", "@daily"}, {"timezone", "Mars/Base"}, {"goal", "g"}});
  EXPECT_EQ(bad_zone.status, 400);
  EXPECT_THAT(bad_zone.body, HasSubstr("unknown time zone 'Mars/Base'"));
  EXPECT_EQ(Post("/api/schedules", alice_, {{"cron", "@daily"}}).status, 400);
  EXPECT_EQ(
      Post("/api/schedules", alice_, {{"cron", "@daily"}, {"goal", "g"}, {"missed", "x"}}).status,
      400);
  httplib::Client client("127.0.0.1", server_->port());
  auto garbage = client.Post("/api/schedules", {{"Authorization", "Bearer " + alice_}}, "{not json",
                             "application/json");
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 400);
}

TEST_F(ScheduleApiTest, DueScheduleStartsATaskAsItsOwnerAndRecordsIt) {
  std::string id = Create(alice_, {{"cron", "0 * * * *"}, {"goal", "write the report"}});
  ASSERT_FALSE(id.empty());
  manual_.Set(std::chrono::system_clock::time_point(std::chrono::seconds(1795604400 + 5)));
  // Waits for the scheduler's pass; the bound only keeps a broken build from hanging.
  json runs;
  for (int i = 0; i < 1500; ++i) {
    runs = Get("/api/schedules/" + id + "/runs", alice_).Json();
    if (runs.is_array() && !runs.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  EXPECT_EQ(runs[0]["outcome"], "started");
  EXPECT_EQ(runs[0]["due_ms"], int64_t{1795604400} * 1000);
  std::string task_id = runs[0]["task_id"];
  json detail = WaitForEnd(alice_, task_id);
  EXPECT_EQ(detail["status"], "succeeded");
  EXPECT_EQ(detail["goal"], "write the report");
  EXPECT_EQ(Get("/api/tasks/" + task_id, bob_).status, 404);  // Alice's, not shared.
  json listed = Get("/api/schedules/" + id, alice_).Json();
  EXPECT_EQ(listed["last_run"]["task_id"], task_id);
  EXPECT_EQ(listed["last_run"]["status"], "succeeded");
  EXPECT_EQ(listed["next_run_ms"], int64_t{1795608000} * 1000);
}

}  // namespace
}  // namespace tandem::server
