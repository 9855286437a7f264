// `tandem tool list` and `tandem tool call` through the real binary.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace tandem::tools {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together.
};

class CliToolTest : public ::testing::Test {
 protected:
  CliToolTest() {
    config_ = dir_.Write("tandem.toml", "[tools]\ntimeout_s = 10\n");
    workspace_ = dir_.path() / "ws";
    std::filesystem::create_directories(workspace_);
  }
  CliRun Tandem(const std::string& arguments) {
    std::string command = fmt::format("'{}' --config '{}' {} </dev/null 2>&1", TANDEM_BINARY,
                                      config_.string(), arguments);
    CliRun run;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return run;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
      run.output.append(buffer, n);
    int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }
  std::string Ws() { return "--workspace '" + workspace_.string() + "'"; }

  testing::TempDir dir_;
  std::filesystem::path config_;
  std::filesystem::path workspace_;
};

TEST_F(CliToolTest, ListJsonDescribesEveryTool) {
  CliRun run = Tandem("tool list --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json tools = nlohmann::json::parse(run.output);
  std::map<std::string, std::string> effects;
  for (const auto& tool : tools)
    effects[tool["name"]] = tool["effect"];
  EXPECT_EQ(effects["read_file"], "read");
  EXPECT_EQ(effects["write_file"], "write_workspace");
  EXPECT_EQ(effects["send_email"], "external");
  EXPECT_EQ(tools[0]["parameters"]["type"], "object");
}

TEST_F(CliToolTest, CallWritesAndReadsInTheWorkspace) {
  CliRun write = Tandem("tool call write_file --args '{\"path\":\"a.txt\",\"content\":\"hi\"}' " +
                        Ws() + " --json");
  ASSERT_EQ(write.exit_code, 0) << write.output;
  EXPECT_EQ(nlohmann::json::parse(write.output)["paths_written"][0], "a.txt");
  CliRun read = Tandem("tool call read_file --args '{\"path\":\"a.txt\"}' " + Ws());
  EXPECT_EQ(read.exit_code, 0);
  EXPECT_EQ(read.output, "hi\n");
}

TEST_F(CliToolTest, RefusedCallsExitWithFour) {
  CliRun escape = Tandem("tool call read_file --args '{\"path\":\"../tandem.toml\"}' " + Ws());
  EXPECT_EQ(escape.exit_code, 4) << escape.output;
  EXPECT_NE(escape.output.find("leaves the workspace"), std::string::npos);
  CliRun email = Tandem(
      "tool call send_email --args '{\"to\":\"a@example.com\",\"subject\":\"s\",\"body\":\"b\"}' " +
      Ws());
  EXPECT_EQ(email.exit_code, 4) << email.output;
  EXPECT_NE(email.output.find("needs approval"), std::string::npos) << email.output;
  EXPECT_NE(email.output.find("stdin is not a terminal"), std::string::npos);
}

TEST_F(CliToolTest, BadArgumentsAreUsageErrors) {
  CliRun json = Tandem("tool call read_file --args '{not json' " + Ws());
  EXPECT_EQ(json.exit_code, 2) << json.output;
  CliRun missing = Tandem("tool call read_file --args '{}' " + Ws());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("argument 'path' is required"), std::string::npos);
  CliRun unknown = Tandem("tool call no_such_tool " + Ws());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("unknown tool"), std::string::npos);
}

TEST_F(CliToolTest, FailedCommandExitsWithOne) {
  CliRun run =
      Tandem("tool call execute_shell --args '{\"command\":\"echo out; exit 5\"}' " + Ws());
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(run.output, "[exit 5]\nout\n");
}

}  // namespace
}  // namespace tandem::tools
