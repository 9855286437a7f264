// `tandem run`, `tasks` and `config check` end to end: the real binary, a real loopback model
// server, real SQLite files and a real workspace.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

using ::testing::HasSubstr;
using testing::ProcessResult;
using testing::RunTandem;

class RunEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteConfig(""); }

  void WriteConfig(const std::string& extra_provider_keys) {
    config_ =
        dir_.Write("tandem.toml", "[[providers]]\nname = \"local\"\nbase_url = \"" +
                                      server_.base_url() + "\"\nmodel = \"scripted-model\"\n" +
                                      "zone = \"local\"\n" + extra_provider_keys);
  }

  testing::ProcessOptions Options() const {
    return {
        .working_dir = dir_.path().string(),
        .env = {{"TANDEM_HOME", (dir_.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}}};
  }

  ProcessResult Tandem(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config_.string()});
    return RunTandem(args, Options());
  }

  // The task id printed by `tandem run` ("task <id> started in ...").
  static std::string TaskIdFrom(const std::string& out) {
    size_t start = out.find("task ");
    if (start == std::string::npos) return "";
    return out.substr(start + 5, 26);
  }

  nlohmann::json ShowJson(const std::string& id) {
    ProcessResult shown = Tandem({"tasks", "show", id, "--json"});
    EXPECT_EQ(shown.exit_code, 0) << shown.err;
    return nlohmann::json::parse(shown.out, nullptr, false);
  }

  testing::TempDir dir_;
  testing::ScriptedModelServer server_;
  std::filesystem::path config_;
};

TEST_F(RunEndToEndTest, ModelWritesAFileThenFinishesAndStepsAreSaved) {
  server_.PushToolCall("write_file", {{"path", "notes.txt"}, {"content", "hello from tandem\n"}},
                       "I will write the note.", 100, 20);
  server_.PushToolCall("finish", {{"summary", "Wrote notes.txt"}}, "", 150, 10);
  std::filesystem::path workspace = dir_.path() / "ws";

  ProcessResult run = Tandem({"run", "Write a note", "--workspace", workspace.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(testing::ReadFile(workspace / "notes.txt"), "hello from tandem\n");
  std::string id = TaskIdFrom(run.out);
  ASSERT_EQ(id.size(), 26u) << run.out;

  nlohmann::json task = ShowJson(id);
  EXPECT_EQ(task["status"], "succeeded");
  ASSERT_EQ(task["steps"].size(), 2u);
  const nlohmann::json& write = task["steps"][0];
  EXPECT_EQ(write["status"], "done");
  EXPECT_EQ(write["tool_call"]["name"], "write_file");
  EXPECT_EQ(write["tool_call"]["arguments"]["path"], "notes.txt");
  EXPECT_EQ(write["thoughts"], "I will write the note.");
  EXPECT_FALSE(write["result"].get<std::string>().empty());
  EXPECT_FALSE(write["is_error"].get<bool>());
  EXPECT_EQ(write["zone"], "local");
  EXPECT_EQ(task["steps"][1]["tool_call"]["name"], "finish");
  ASSERT_EQ(task["artifacts"].size(), 1u);
  EXPECT_EQ(task["artifacts"][0]["path"], "notes.txt");
  EXPECT_EQ(task["totals"]["model_calls"], 2);
  EXPECT_EQ(task["totals"]["prompt_tokens"], 250);
  EXPECT_EQ(task["totals"]["completion_tokens"], 30);

  // The second request carried the tool result back to the model.
  std::vector<nlohmann::json> requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  const nlohmann::json& messages = requests[1]["messages"];
  EXPECT_EQ(messages.back()["role"], "tool");
  EXPECT_FALSE(requests[0]["tools"].empty());

  ProcessResult listed = Tandem({"tasks", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(nlohmann::json::parse(listed.out)[0]["id"], id);
}

TEST_F(RunEndToEndTest, FileToolsCannotEscapeTheWorkspace) {
  server_.PushToolCall("write_file", {{"path", "../escaped.txt"}, {"content", "x"}});
  server_.PushToolCall("finish", {{"summary", "tried"}});
  std::filesystem::path workspace = dir_.path() / "ws";
  ProcessResult run = Tandem({"run", "Escape", "--workspace", workspace.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "escaped.txt"));
  nlohmann::json task = ShowJson(TaskIdFrom(run.out));
  EXPECT_TRUE(task["steps"][0]["is_error"].get<bool>());
}

TEST_F(RunEndToEndTest, StepLimitStopsTheTaskAndResumeFinishesIt) {
  for (int i = 0; i < 2; ++i)
    server_.PushToolCall("list_files", {{"path", "."}});
  ProcessResult run = Tandem({"run", "Look around", "--max-steps", "2"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("step limit of 2 reached"));
  std::string id = TaskIdFrom(run.out);
  EXPECT_EQ(ShowJson(id)["status"], "stopped");

  server_.PushToolCall("finish", {{"summary", "done"}});
  ProcessResult resumed = Tandem({"resume", id, "--max-steps", "5"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  nlohmann::json task = ShowJson(id);
  EXPECT_EQ(task["status"], "succeeded");
  EXPECT_EQ(task["steps"].size(), 3u);
}

TEST_F(RunEndToEndTest, ThreeInvalidAnswersInARowFailTheTask) {
  server_.PushText("I refuse to use tools.");
  server_.PushToolCall("no_such_tool", nlohmann::json::object());
  server_.PushToolCall("write_file", {{"content", "missing path"}});
  ProcessResult run = Tandem({"run", "Do something"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("3 answers in a row without a usable tool call"));
  // Each retry told the model what was wrong.
  std::vector<nlohmann::json> requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(requests[2]["messages"].back()["content"].get<std::string>(),
              HasSubstr("no_such_tool"));
}

TEST_F(RunEndToEndTest, ModelServerErrorFailsTheTaskWithTheProviderMessage) {
  server_.Push({401, R"({"error":{"message":"invalid api key"}})"});
  ProcessResult run = Tandem({"run", "Anything"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out + run.err, HasSubstr("invalid api key"));
}

TEST_F(RunEndToEndTest, MissingApiKeyIsReportedByNameBeforeAnyNetworkCall) {
  WriteConfig("api_key_env = \"TANDEM_TEST_ABSENT_KEY\"\n");
  ProcessResult run = Tandem({"run", "Anything"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("TANDEM_TEST_ABSENT_KEY"));
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(RunEndToEndTest, NoProviderConfiguredExitsWithConfigurationError) {
  config_ = dir_.Write("empty.toml", "");
  ProcessResult run = Tandem({"run", "Anything"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("no model is configured"));
}

TEST_F(RunEndToEndTest, WrongTypeInConfigurationExits3NamingFileLineAndKey) {
  config_ = dir_.Write("bad.toml", "[agent]\nmax_steps = \"ten\"\n");
  ProcessResult run = Tandem({"run", "Anything"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("bad.toml:2"));
  EXPECT_THAT(run.err, HasSubstr("agent.max_steps"));
}

TEST_F(RunEndToEndTest, UnknownZoneExits3NamingFileLineAndKey) {
  config_ = dir_.Write("zone.toml",
                       "[[providers]]\nname = \"x\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
                       "zone = \"moon\"\n");
  ProcessResult check = Tandem({"config", "check"});
  EXPECT_EQ(check.exit_code, 3);
  EXPECT_THAT(check.err, HasSubstr("zone.toml:4"));
  EXPECT_THAT(check.err, HasSubstr("providers[0].zone"));
  EXPECT_THAT(check.err, HasSubstr("unknown zone 'moon'"));
}

TEST_F(RunEndToEndTest, ConfigCheckPrintsEffectiveConfigWithSecretsRedacted) {
  WriteConfig("api_key_env = \"TANDEM_TEST_KEY\"\n");
  testing::ProcessOptions options = Options();
  options.env["TANDEM_TEST_KEY"] = "sk-very-secret-value";
  ProcessResult check =
      RunTandem({"--config", config_.string(), "config", "check", "--json"}, options);
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, Not(HasSubstr("sk-very-secret-value")));
  nlohmann::json config = nlohmann::json::parse(check.out);
  EXPECT_EQ(config["providers"][0]["api_key"], "(set, redacted)");
  EXPECT_EQ(config["providers"][0]["zone"], "local");
}

TEST_F(RunEndToEndTest, EverySubcommandHasHelpAndBadUsageExits2) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"run", "--help"},
                                        {"resume", "--help"},
                                        {"tasks", "list", "--help"},
                                        {"tasks", "show", "--help"},
                                        {"config", "check", "--help"}}) {
    ProcessResult help = RunTandem(args, Options());
    EXPECT_EQ(help.exit_code, 0) << args.front();
    EXPECT_THAT(help.out, HasSubstr("Usage")) << args.front();
  }
  EXPECT_EQ(RunTandem({"run"}, Options()).exit_code, 2);
  EXPECT_EQ(RunTandem({"no-such-command"}, Options()).exit_code, 2);
  EXPECT_EQ(RunTandem({"run", "x", "--max-steps", "0"}, Options()).exit_code, 2);
  ProcessResult version = RunTandem({"--version"}, Options());
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("tandem "));
}

TEST_F(RunEndToEndTest, ShowingAnUnknownTaskFails) {
  ProcessResult shown = Tandem({"tasks", "show", "01ARZ3NDEKTSV4RRFFQ69G5FAV"});
  EXPECT_EQ(shown.exit_code, 1);
  EXPECT_THAT(shown.err, HasSubstr("no task with id"));
}

}  // namespace
}  // namespace tandem
