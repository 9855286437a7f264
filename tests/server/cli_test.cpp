// The CLI end to end: `tandem user add|list|token` and `tandem serve` answering over loopback
// and stopping cleanly on SIGTERM.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/free_port.h"
#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem::server {
namespace {

using ::testing::HasSubstr;

class CliTest : public ::testing::Test {
 protected:
  CliTest() {
    dir_.Write("tandem.toml",
               "[routing]\ngeneric = \"cloud\"\n[[providers]]\nname = \"cloud\"\n"
               "base_url = \"" +
                   model_.base_url() + "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\n");
  }
  testing::ProcessOptions Options(std::string stdin_text = "") {
    return {.working_dir = dir_.path().string(),
            .env = {{"TANDEM_HOME", (dir_.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}},
            .stdin_text = std::move(stdin_text)};
  }
  testing::ProcessResult Tandem(std::vector<std::string> args, std::string stdin_text = "") {
    return testing::RunTandem(args, Options(std::move(stdin_text)));
  }

  testing::TempDir dir_;
  testing::ScriptedModelServer model_;
};

TEST_F(CliTest, UserAddListAndTokenManageAccounts) {
  testing::ProcessResult weak = Tandem({"user", "add", "alice"}, "short\n");
  EXPECT_EQ(weak.exit_code, 1);
  EXPECT_THAT(weak.err, HasSubstr("at least 8 characters"));
  testing::ProcessResult added =
      Tandem({"user", "add", "alice", "--role", "viewer"}, "a long passphrase\n");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(Tandem({"user", "add", "alice"}, "a long passphrase\n").exit_code, 1);
  EXPECT_EQ(Tandem({"user", "add", "bob", "--role", "owner"}, "a long passphrase\n").exit_code, 2);
  testing::ProcessResult listed = Tandem({"user", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  nlohmann::json users = nlohmann::json::parse(listed.out);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0]["name"], "alice");
  EXPECT_EQ(users[0]["role"], "viewer");
  EXPECT_FALSE(users[0].contains("password_hash"));
  testing::ProcessResult token = Tandem({"user", "token", "alice"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  EXPECT_EQ(token.out.rfind("tdm_", 0), 0u);
  EXPECT_EQ(token.out.size(), 4u + 64u + 1u);
  EXPECT_EQ(Tandem({"user", "token", "nobody"}).exit_code, 1);
}

TEST_F(CliTest, ServeAnswersWithATokenAndStopsCleanlyOnSigterm) {
  ASSERT_EQ(Tandem({"user", "add", "root", "--role", "admin"}, "a long passphrase\n").exit_code, 0);
  testing::ProcessResult token = Tandem({"user", "token", "root"});
  ASSERT_EQ(token.exit_code, 0);
  std::string bearer = "Bearer " + token.out.substr(0, token.out.find('\n'));
  int port = testing::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  std::string log = (dir_.path() / "serve.log").string();
  int pid = testing::SpawnProcess(
      {TANDEM_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(port)}, Options(), log);
  ASSERT_GT(pid, 0);
  httplib::Client client("127.0.0.1", port);
  bool up = false;
  // A deadline against a hang only; nothing depends on how long start-up takes.
  for (int i = 0; i < 600 && !up; ++i) {
    auto health = client.Get("/healthz");
    up = health && health->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(up) << testing::ReadFile(log);
  auto anonymous = client.Get("/api/me");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto me = client.Get("/api/me", {{"Authorization", bearer}});
  ASSERT_TRUE(me) << httplib::to_string(me.error()) << "\n" << testing::ReadFile(log);
  EXPECT_EQ(me->status, 200);
  EXPECT_THAT(me->body, HasSubstr("\"role\":\"admin\""));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << testing::ReadFile(log);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(testing::ReadFile(log), HasSubstr("listening on http://127.0.0.1:"));
  EXPECT_THAT(testing::ReadFile(log), HasSubstr("stopping"));
}

TEST_F(CliTest, ServeRejectsABadListenAddressAsUsage) {
  EXPECT_EQ(Tandem({"serve", "--listen", "localhost"}).exit_code, 2);
  dir_.Write("bad.toml", "[server]\nworkers = 0\n");
  testing::ProcessResult bad = Tandem({"--config", "bad.toml", "serve"});
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_THAT(bad.err, HasSubstr("server.workers"));
}

}  // namespace
}  // namespace tandem::server
