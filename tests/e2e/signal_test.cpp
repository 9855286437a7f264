// SIGTERM (or Ctrl-C) stops a task at a safe point, saves it as stopped, and it can resume.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/loopback_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

TEST(SignalTest, SigtermDuringAModelCallStopsTheTaskAndResumeFinishesIt) {
  testing::TempDir dir;
  testing::LoopbackServer server;
  std::atomic<int> calls{0};
  server.server().Post(
      "/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
        if (++calls == 1) std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // Slow.
        res.set_content(
            R"({"choices":[{"finish_reason":"tool_calls","message":{"role":"assistant","content":"",
            "tool_calls":[{"id":"c1","type":"function","function":{"name":"finish",
            "arguments":"{\"summary\":\"done\"}"}}]}}],"usage":{"prompt_tokens":1,"completion_tokens":1}})",
            "application/json");
      });
  server.Start();
  std::filesystem::path config =
      dir.Write("tandem.toml", "[[providers]]\nname = \"local\"\nbase_url = \"" + server.url() +
                                   "/v1\"\nmodel = \"m\"\nzone = \"local\"\n");
  testing::ProcessOptions options{
      .working_dir = dir.path().string(),
      .env = {{"TANDEM_HOME", (dir.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}}};
  std::string out_path = (dir.path() / "run.out").string();
  int pid = testing::SpawnProcess({TANDEM_BINARY, "--config", config.string(), "run", "Do it"},
                                  options, out_path);
  while (calls == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "killed instead of stopping cleanly";
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::string printed = testing::ReadFile(out_path);
  EXPECT_THAT(printed, ::testing::HasSubstr("cancelled"));
  std::string id = printed.substr(printed.find("task ") + 5, 26);
  testing::ProcessResult shown =
      testing::RunTandem({"--config", config.string(), "tasks", "show", id, "--json"}, options);
  EXPECT_EQ(nlohmann::json::parse(shown.out)["status"], "stopped");

  testing::ProcessResult resumed =
      testing::RunTandem({"--config", config.string(), "resume", id}, options);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
}

}  // namespace
}  // namespace tandem
