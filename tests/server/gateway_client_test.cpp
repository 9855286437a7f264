// The official `openai` npm client against the built `tandem serve`: chat (streamed and not),
// tools, embeddings, models, a privacy refusal and auth (tests/gateway_client/client_test.mjs).
// Needs `npm ci` in tests/gateway_client (scripts/setup runs it); skips when that was not done.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "gateway_config.h"
#include "support/free_port.h"
#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The `node` executable on PATH, or "".
std::string FindNode() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t at = 0;
  while (at <= dirs.size()) {
    size_t end = dirs.find(':', at);
    if (end == std::string::npos) end = dirs.size();
    std::filesystem::path candidate = std::filesystem::path(dirs.substr(at, end - at)) / "node";
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    at = end + 1;
  }
  return "";
}

TEST(GatewayClientTest, OfficialOpenAiNodeClientWorksAgainstTandemServe) {
  const std::filesystem::path project =
      std::filesystem::path(TANDEM_SOURCE_DIR) / "tests" / "gateway_client";
  if (!std::filesystem::exists(project / "node_modules" / "openai" / "package.json")) {
    GTEST_SKIP() << "tests/gateway_client/node_modules is missing: run scripts/setup (npm ci "
                    "there) to test the gateway with the official openai client";
  }
  const std::string node_binary = FindNode();
  ASSERT_FALSE(node_binary.empty()) << "node_modules is installed but `node` is not on PATH";
  testing::TempDir dir;
  testing::ScriptedModelServer local;
  testing::ScriptedModelServer cloud;
  dir.Write("tandem.toml", GatewayTestConfig(local.base_url(), cloud.base_url()));
  testing::ProcessOptions options{
      .working_dir = dir.path().string(),
      .env = {{"TANDEM_HOME", (dir.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}}};
  testing::ProcessOptions with_password = options;
  with_password.stdin_text = "a long passphrase\n";
  ASSERT_EQ(
      testing::RunTandem({"user", "add", "alice", "--role", "member"}, with_password).exit_code, 0);
  testing::ProcessResult token = testing::RunTandem({"user", "token", "alice"}, options);
  ASSERT_EQ(token.exit_code, 0) << token.err;

  // The answers client_test.mjs expects, in the order it asks.
  cloud.PushText("Hello from the cloud model");
  cloud.PushText("one two three");
  local.PushText("Handled on this machine");
  local.PushToolCall("get_weather", {{"city", "Paris"}});

  int port = testing::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  std::string log = (dir.path() / "serve.log").string();
  int pid = testing::SpawnProcess(
      {TANDEM_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(port)}, options, log);
  ASSERT_GT(pid, 0);
  httplib::Client probe("127.0.0.1", port);
  bool up = false;
  // A deadline against a hang only; nothing depends on how long start-up takes.
  for (int i = 0; i < 600 && !up; ++i) {
    auto health = probe.Get("/healthz");
    up = health && health->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(up) << testing::ReadFile(log);

  testing::ProcessResult node = testing::RunProcess(
      {node_binary, (project / "client_test.mjs").string()},
      {.working_dir = project.string(),
       .env = {{"TANDEM_URL", "http://127.0.0.1:" + std::to_string(port) + "/v1"},
               {"TANDEM_TOKEN", token.out.substr(0, token.out.find('\n'))}}});
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(node.exit_code, 0) << node.out << node.err << "\nserver log:\n"
                               << testing::ReadFile(log);
  EXPECT_THAT(node.out, HasSubstr("ok embeddings"));
  EXPECT_THAT(node.out, Not(HasSubstr("FAILED")));
  // Nothing sensitive reached the cloud endpoint: its only chat requests are the two generic ones.
  int cloud_chats = 0;
  for (const nlohmann::json& request : cloud.requests()) {
    EXPECT_EQ(request.dump().find("123-45-6789"), std::string::npos);
    if (request.contains("messages")) ++cloud_chats;
  }
  EXPECT_EQ(cloud_chats, 2);
  // The gateway's calls are in the ledger under the user's gateway source.
  testing::ProcessResult cost =
      testing::RunTandem({"cost", "report", "--by", "task", "--json"}, options);
  EXPECT_THAT(cost.out + cost.err, HasSubstr("gateway:alice"));
}

}  // namespace
}  // namespace tandem::server
