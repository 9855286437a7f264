// `tandem run` with `[memory] agent = true` (no embedder: full text only): a later task's model
// request carries what an earlier task observed, and a recalled sensitive memory keeps the task
// off a cloud-only configuration (exit 4, nothing sent).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

using testing::ProcessResult;

class AgentMemoryEndToEndTest : public ::testing::Test {
 protected:
  ProcessResult Tandem(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config_.string()});
    return testing::RunTandem(args, {.working_dir = dir_.path().string(),
                                     .env = {{"TANDEM_HOME", (dir_.path() / "home").string()},
                                             {"TANDEM_LOG_LEVEL", "warn"},
                                             {"TANDEM_TEST_CLOUD_KEY", "sk-test-key-0000"}}});
  }

  ProcessResult Run(const std::string& goal) {
    return Tandem({"run", goal, "--workspace", (dir_.path() / "ws").string()});
  }

  testing::TempDir dir_;
  testing::ScriptedModelServer model_;
  std::filesystem::path config_;
};

TEST_F(AgentMemoryEndToEndTest, EarlierObservationIsRecalledIntoALaterTasksRequest) {
  config_ = dir_.Write("tandem.toml",
                       "[memory]\nagent = true\n\n[[providers]]\nname = \"local\"\n"
                       "base_url = \"" +
                           model_.base_url() + "\"\nmodel = \"local-model\"\nzone = \"local\"\n");
  dir_.Write("ws/telescope.txt", "The zanzibar telescope needs calibration every spring.\n");
  model_.PushToolCall("read_file", {{"path", "telescope.txt"}},
                      "Observations: nothing read yet\nReasoning: the notes hold the answer\n"
                      "Plan: read, then finish\nCriticism: the file may be missing");
  model_.PushToolCall("finish", {{"summary", "calibrate in spring"}});
  ProcessResult first = Run("Read the telescope notes");
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  // The thoughts are persisted with the step and shown in their parts.
  ProcessResult listed = Tandem({"tasks", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::string first_id = nlohmann::json::parse(listed.out)[0]["id"];
  ProcessResult shown = Tandem({"tasks", "show", first_id, "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  nlohmann::json step = nlohmann::json::parse(shown.out)["steps"][0];
  EXPECT_EQ(step["structured_thoughts"]["plan"], "read, then finish");
  EXPECT_EQ(step["structured_thoughts"]["criticism"], "the file may be missing");

  model_.PushToolCall("finish", {{"summary", "spring"}});
  ProcessResult second = Run("When does the zanzibar telescope need calibration?");
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  std::vector<nlohmann::json> requests = model_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(requests[2].dump(), ::testing::HasSubstr("needs calibration every spring"));

  ProcessResult stored =
      Tandem({"memory", "query", "zanzibar", "--collection", "task-observations", "--json"});
  ASSERT_EQ(stored.exit_code, 0) << stored.out << stored.err;
  nlohmann::json results = nlohmann::json::parse(stored.out)["results"];
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["metadata"]["tool"], "read_file");
  EXPECT_EQ(results[0]["metadata"]["step"], 1);
  EXPECT_EQ(results[0]["metadata"]["taint"], "none");
}

TEST_F(AgentMemoryEndToEndTest, RecalledSensitiveMemoryIsRefusedByACloudOnlyConfiguration) {
  config_ = dir_.Write("tandem.toml",
                       "[routing]\ngeneric = \"cloud\"\n\n[memory]\nagent = true\n\n"
                       "[[providers]]\nname = \"cloud\"\nbase_url = \"" +
                           model_.base_url() +
                           "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\napi_key_env = "
                           "\"TANDEM_TEST_CLOUD_KEY\"\n");
  ProcessResult added =
      Tandem({"memory", "add", "Quarterly zanzibar figures are in the board folder", "--collection",
              "task-observations", "--meta", "taint=sensitive", "--meta", "task=earlier"});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  model_.PushToolCall("finish", {{"summary", "found them"}});
  ProcessResult run = Run("Where are the zanzibar figures kept?");
  EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
  EXPECT_THAT(run.out, ::testing::HasSubstr("refused by routing policy"));
  EXPECT_TRUE(model_.requests().empty()) << "nothing may reach the cloud provider";

  ProcessResult listed = Tandem({"tasks", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  nlohmann::json tasks = nlohmann::json::parse(listed.out);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_THAT(tasks[0]["taint"].get<std::string>(), ::testing::HasSubstr("memory_recall"));
}

}  // namespace
}  // namespace tandem
