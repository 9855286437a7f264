// `kill -9` at random points of a task that appends to a file through tools, then
// `tandem resume`: no completed append is ever repeated and no committed step is lost.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "support/loopback_server.h"
#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

constexpr int kAppends = 6;
constexpr int kRounds = 50;

// A deterministic model: its next action depends only on the conversation so far, so a resumed
// task continues where the saved steps say it is. After k tool results it appends line k+1.
void ServeAppendingModel(testing::LoopbackServer& server) {
  server.server().Post(
      "/v1/chat/completions", [](const httplib::Request& req, httplib::Response& res) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // A model takes time.
        int results = testing::ToolResults(nlohmann::json::parse(req.body, nullptr, false));
        nlohmann::json answer =
            results < kAppends
                ? testing::ToolCallCompletion(
                      fmt::format("c{}", results), "append_file",
                      {{"path", "log.txt"}, {"content", fmt::format("line {}\n", results + 1)}})
                : testing::ToolCallCompletion(fmt::format("c{}", results), "finish",
                                              {{"summary", "done"}});
        res.set_content(answer.dump(), "application/json");
      });
  server.Start();
}

TEST(CrashResumeTest, KilledRunsResumeWithoutRepeatingCompletedAppends) {
  testing::TempDir dir;
  testing::LoopbackServer server;
  ServeAppendingModel(server);
  std::filesystem::path config =
      dir.Write("tandem.toml", "[[providers]]\nname = \"local\"\nbase_url = \"" + server.url() +
                                   "/v1\"\nmodel = \"m\"\nzone = \"local\"\n");
  testing::ProcessOptions options{
      .working_dir = dir.path().string(),
      .env = {{"TANDEM_HOME", (dir.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}}};
  std::mt19937 rng(20261125);
  int killed_mid_task = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::filesystem::path workspace = dir.path() / fmt::format("ws{}", round);
    std::string out_path = (dir.path() / fmt::format("run{}.out", round)).string();
    int pid = testing::SpawnProcess({TANDEM_BINARY, "--config", config.string(), "run",
                                     "Append the lines", "--workspace", workspace.string()},
                                    options, out_path);
    // Kill at a random point: after a random step has been proposed, plus a random delay.
    int kill_after_step = std::uniform_int_distribution<int>(1, kAppends)(rng);
    int status = 0;
    bool exited = false;
    for (int polls = 0; polls < 5000 && !exited; ++polls) {
      if (testing::ReadFile(out_path).find(fmt::format("step {}:", kill_after_step)) !=
          std::string::npos) {
        break;
      }
      exited = waitpid(pid, &status, WNOHANG) == pid;
      usleep(2000);
    }
    usleep(std::uniform_int_distribution<useconds_t>(0, 30'000)(rng));
    if (!exited) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    std::string printed = testing::ReadFile(out_path);
    size_t at = printed.find("task ");
    if (at == std::string::npos) continue;  // Killed before the task was created.
    std::string id = printed.substr(at + 5, 26);
    if (WIFSIGNALED(status)) {
      ++killed_mid_task;
      testing::ProcessResult resumed =
          testing::RunTandem({"--config", config.string(), "resume", id}, options);
      ASSERT_EQ(resumed.exit_code, 0) << "round " << round << ": " << resumed.out << resumed.err;
    } else {
      ASSERT_EQ(WEXITSTATUS(status), 0) << "round " << round << ": " << printed;
    }

    // No line appended twice, and lines in order.
    std::istringstream file(testing::ReadFile(workspace / "log.txt"));
    std::map<std::string, int> seen;
    int previous = 0;
    for (std::string line; std::getline(file, line);) {
      ASSERT_EQ(++seen[line], 1) << "round " << round << ": '" << line << "' appended twice";
      int number = std::stoi(line.substr(5));
      ASSERT_GT(number, previous) << "round " << round;
      previous = number;
    }
    // Every step recorded as done and successful is in the file.
    nlohmann::json task = nlohmann::json::parse(
        testing::RunTandem({"--config", config.string(), "tasks", "show", id, "--json"}, options)
            .out);
    ASSERT_EQ(task["status"], "succeeded") << "round " << round;
    for (const nlohmann::json& step : task["steps"]) {
      ASSERT_EQ(step["status"], "done");
      if (step["tool_call"]["name"] != "append_file" || step["is_error"].get<bool>()) continue;
      std::string content = step["tool_call"]["arguments"]["content"];
      content.pop_back();  // The newline.
      EXPECT_EQ(seen[content], 1) << "round " << round << ": committed step lost: " << content;
    }
  }
  EXPECT_GT(killed_mid_task, 0) << "no kill landed inside a task";
}

}  // namespace
}  // namespace tandem
