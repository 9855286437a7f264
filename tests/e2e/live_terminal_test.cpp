// `tandem run` on a real pseudo-terminal: the model's text is streamed as it arrives and a
// progress line (step, elapsed time, cost, remaining budget) is drawn in place.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

using ::testing::HasSubstr;

constexpr int kNoTerminal = -2;

struct TerminalRun {
  int exit_code = -1;
  std::string screen;  // Everything written to the terminal.
};

// Runs the CLI with stdin, stdout and stderr on a new pseudo-terminal; reads until it exits.
TerminalRun RunOnTerminal(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env) {
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) return {.exit_code = kNoTerminal};
  if (pid == 0) {
    for (const auto& [key, value] : env)
      setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    std::string binary = TANDEM_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copies = args;
    for (std::string& arg : copies)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  TerminalRun run;
  char buffer[4096];
  while (true) {
    ssize_t n = read(master, buffer, sizeof buffer);
    if (n > 0) {
      run.screen.append(buffer, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child has exited and the terminal closed.
    }
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

TEST(LiveTerminalTest, StreamsModelTextAndDrawsAProgressLine) {
  testing::TempDir dir;
  testing::ScriptedModelServer server;
  std::filesystem::path config = dir.Write(
      "tandem.toml", "[[providers]]\nname = \"local\"\nbase_url = \"" + server.base_url() +
                         "\"\nmodel = \"scripted-model\"\nzone = \"local\"\n");
  server.PushToolCall("list_files", {{"path", "."}}, "Looking around the workspace first.");
  server.PushToolCall("finish", {{"summary", "looked"}}, "Nothing else to do.");
  TerminalRun run = RunOnTerminal(
      {"--config", config.string(), "run", "Look around", "--workspace",
       (dir.path() / "ws").string(), "--max-steps", "9", "--budget-tool-calls", "5"},
      {{"TANDEM_HOME", (dir.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}});
  if (run.exit_code == kNoTerminal) GTEST_SKIP() << "no pseudo-terminal available (forkpty failed)";
  ASSERT_EQ(run.exit_code, 0) << run.screen;
  // The answers were requested as streams and their text shown once each.
  std::vector<nlohmann::json> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[0].value("stream", false));
  EXPECT_THAT(run.screen, HasSubstr("thinking: Looking around the workspace first."));
  size_t first = run.screen.find("Looking around the workspace first.");
  EXPECT_EQ(run.screen.find("Looking around the workspace first.", first + 1), std::string::npos);
  // The progress line, redrawn in place with an erase sequence.
  EXPECT_THAT(run.screen, HasSubstr("[step 0/9 | "));
  EXPECT_THAT(run.screen, HasSubstr("[step 1/9 | "));
  EXPECT_THAT(run.screen, HasSubstr("left: 4 tool calls]"));
  EXPECT_THAT(run.screen, HasSubstr("\r\033[K"));
  EXPECT_THAT(run.screen, HasSubstr("succeeded after 2 step(s)"));
}

}  // namespace
}  // namespace tandem
