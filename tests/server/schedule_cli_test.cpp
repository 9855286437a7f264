// `tandem schedule add|list|runs|rm` end to end on a real store.
#include <gmock/gmock.h>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/temp_dir.h"

namespace tandem::server {
namespace {

using ::testing::HasSubstr;

class ScheduleCliTest : public ::testing::Test {
 protected:
  testing::ProcessResult Tandem(std::vector<std::string> args, std::string stdin_text = "") {
    return testing::RunTandem(args, {.working_dir = dir_.path().string(),
                                     .env = {{"TANDEM_HOME", (dir_.path() / "home").string()},
                                             {"TANDEM_LOG_LEVEL", "warn"}},
                                     .stdin_text = std::move(stdin_text)});
  }
  testing::TempDir dir_;
};

TEST_F(ScheduleCliTest, AddListRunsAndRemove) {
  testing::ProcessResult added =
      Tandem({"schedule", "add", "--cron", "0 8 * * MON", "--tz", "Europe/Berlin", "--goal",
              "weekly report", "--name", "weekly", "--budget-usd", "0.5", "--overlap", "queue",
              "--missed", "run_once", "--shared", "--json"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  nlohmann::json schedule = nlohmann::json::parse(added.out);
  std::string id = schedule["id"];
  EXPECT_EQ(schedule["cron"], "0 8 * * MON");
  EXPECT_EQ(schedule["shared"], true);
  EXPECT_GT(schedule["next_run_ms"].get<int64_t>(), 0);

  testing::ProcessResult listed = Tandem({"schedule", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  nlohmann::json all = nlohmann::json::parse(listed.out);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["id"], id);
  EXPECT_EQ(all[0]["timezone"], "Europe/Berlin");
  EXPECT_EQ(all[0]["budget"]["usd"], 0.5);
  EXPECT_EQ(all[0]["missed"], "run_once");
  EXPECT_EQ(all[0]["overlap"], "queue");
  EXPECT_EQ(all[0]["owner"], "");

  testing::ProcessResult text = Tandem({"schedule", "list"});
  EXPECT_THAT(text.out, HasSubstr(id));
  EXPECT_THAT(text.out, HasSubstr("08:00 Europe/Berlin"));

  testing::ProcessResult runs = Tandem({"schedule", "runs", id});
  EXPECT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_THAT(runs.out, HasSubstr("no runs yet"));
  EXPECT_EQ(Tandem({"schedule", "runs", "nope"}).exit_code, 1);

  EXPECT_EQ(Tandem({"schedule", "rm", id}).exit_code, 0);
  testing::ProcessResult again = Tandem({"schedule", "rm", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("no schedule"));
  EXPECT_EQ(nlohmann::json::parse(Tandem({"schedule", "list", "--json"}).out),
            nlohmann::json::array());
}

TEST_F(ScheduleCliTest, BadInputIsAUsageErrorNamingIt) {
  testing::ProcessResult cron = Tandem({"schedule", "add", "--cron", "0 8 * * XYZ", "--goal", "g"});
  EXPECT_EQ(cron.exit_code, 2);
  EXPECT_THAT(cron.err, HasSubstr("day-of-week field: bad token 'XYZ'"));
  testing::ProcessResult zone =
      Tandem({"schedule", "add", "--cron", "@daily", "--tz", "Atlantis/Capital", "--goal", "g"});
  EXPECT_EQ(zone.exit_code, 2);
  EXPECT_THAT(zone.err, HasSubstr("unknown time zone"));
  EXPECT_EQ(Tandem({"schedule", "add", "--cron", "@daily", "--goal", "g", "--overlap", "merge"})
                .exit_code,
            2);
  testing::ProcessResult owner =
      Tandem({"schedule", "add", "--cron", "@daily", "--goal", "g", "--owner", "nobody"});
  EXPECT_EQ(owner.exit_code, 2);
  EXPECT_THAT(owner.err, HasSubstr("--owner nobody"));
  EXPECT_EQ(Tandem({"user", "add", "alice", "--role", "member"}, "a long passphrase\n").exit_code,
            0);
  EXPECT_EQ(
      Tandem({"schedule", "add", "--cron", "@daily", "--goal", "g", "--owner", "alice"}).exit_code,
      0);
  EXPECT_EQ(Tandem({"schedule", "add", "--goal", "g"}).exit_code, 2);  // --cron is required.
}

}  // namespace
}  // namespace tandem::server
