// The loop's safety nets end to end: the watchdog, USD budgets with resume --add-budget, and
// machine-readable events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

using ::testing::HasSubstr;
using testing::ProcessResult;

class AgentLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ =
        dir_.Write("tandem.toml",
                   "[routing]\ngeneric = \"cloud\"\n[[providers]]\n"
                   "name = \"cloud\"\nbase_url = \"" +
                       server_.base_url() + "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\n");
  }
  ProcessResult Tandem(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config_.string()});
    return testing::RunTandem(args, {.working_dir = dir_.path().string(),
                                     .env = {{"TANDEM_HOME", (dir_.path() / "home").string()},
                                             {"TANDEM_LOG_LEVEL", "warn"}}});
  }
  static std::string TaskIdFrom(const std::string& out) {
    size_t start = out.find("task ");
    return start == std::string::npos ? "" : out.substr(start + 5, 26);
  }
  nlohmann::json Show(const std::string& id) {
    return nlohmann::json::parse(Tandem({"tasks", "show", id, "--json"}).out, nullptr, false);
  }

  testing::TempDir dir_;
  testing::ScriptedModelServer server_;
  std::filesystem::path config_;
};

TEST_F(AgentLimitsTest, RepeatingTheSameActionIsStoppedByTheWatchdog) {
  for (int i = 0; i < 20; ++i)
    server_.PushToolCall("list_files", {{"path", "."}});
  ProcessResult run = Tandem({"run", "Find the report", "--max-steps", "20"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("stopped by the watchdog"));
  EXPECT_THAT(run.out, HasSubstr("same action was proposed 3 times in a row"));
  nlohmann::json task = Show(TaskIdFrom(run.out));
  EXPECT_EQ(task["status"], "failed");
  EXPECT_LE(task["steps"].size(), 2u);       // Repeats beyond the second never ran.
  EXPECT_LE(server_.requests().size(), 6u);  // Well before the 20-step limit.
  // The model was told to re-plan before the stop.
  std::string last = server_.requests().back()["messages"].back()["content"];
  EXPECT_THAT(last, HasSubstr("Watchdog"));
}

TEST_F(AgentLimitsTest, AlternatingActionsAreDetectedAsACycle) {
  for (int i = 0; i < 10; ++i) {
    server_.PushToolCall("list_files", {{"path", "."}});
    server_.PushToolCall("list_files", {{"path", "sub"}});
  }
  ProcessResult run = Tandem({"run", "Look", "--max-steps", "20"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("A-B-A-B"));
}

TEST_F(AgentLimitsTest, UsdBudgetStopsTheTaskAndAddBudgetFinishesIt) {
  // Each call costs 10000 * 1.5e-7 + 1000 * 6e-7 = 0.0021 USD with gpt-4o-mini's catalog price.
  server_.PushToolCall("write_file", {{"path", "a.txt"}, {"content", "1"}}, "", 10000, 1000);
  server_.PushToolCall("write_file", {{"path", "b.txt"}, {"content", "2"}}, "", 10000, 1000);
  ProcessResult run = Tandem({"run", "Write files", "--budget-usd", "0.004"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("budget exhausted: USD 0.0042 of 0.0040"));
  std::string id = TaskIdFrom(run.out);
  EXPECT_EQ(Show(id)["status"], "stopped");
  EXPECT_EQ(server_.requests().size(), 2u);

  server_.PushToolCall("finish", {{"summary", "done"}}, "", 10000, 1000);
  ProcessResult resumed = Tandem({"resume", id, "--add-budget", "0.01"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  nlohmann::json task = Show(id);
  EXPECT_EQ(task["status"], "succeeded");
  EXPECT_NEAR(task["totals"]["cost_usd"].get<double>(), 3 * 0.0021, 1e-12);
}

TEST_F(AgentLimitsTest, EventsCanBePrintedAsJsonLines) {
  server_.PushToolCall("write_file", {{"path", "a.txt"}, {"content", "1"}}, "I write");
  server_.PushToolCall("finish", {{"summary", "done"}});
  ProcessResult run = Tandem({"run", "Write", "--events", "jsonl"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::vector<std::string> types;
  std::string streamed;  // Model text deltas, which are not persisted events.
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(event.is_discarded()) << line;
    if (event["type"] == "model_delta") {
      EXPECT_EQ(event["step"], 1);
      streamed += event["text"].get<std::string>();
      continue;
    }
    types.push_back(event["type"]);
  }
  EXPECT_THAT(types, ::testing::ElementsAre("task_started", "action_proposed", "step_done",
                                            "task_finished"));
  EXPECT_EQ(streamed, "I write");
}

}  // namespace
}  // namespace tandem
