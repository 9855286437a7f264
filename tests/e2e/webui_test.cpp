// The web UI in a real browser: `tandem serve` with a scripted cloud model behind it, and
// web/tests/e2e.mjs driving headless Chromium through sign-in, a new task, its live page, the
// artifact download and the cost dashboard.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "support/free_port.h"
#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

using ::testing::HasSubstr;

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kPassword[] = "a long passphrase";
constexpr char kReport[] = "# Weekly report\n\nAll green.\n";

class WebUiBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web_ = std::filesystem::path(TANDEM_SOURCE_DIR) / "web";
    if (std::string(TANDEM_NODE).empty()) GTEST_SKIP() << "node is not installed (scripts/setup)";
    if (!std::filesystem::exists(kChromium)) {
      GTEST_SKIP() << kChromium << " is missing: run scripts/setup (Debian package chromium)";
    }
    if (!std::filesystem::exists(web_ / "node_modules" / "playwright-core")) {
      GTEST_SKIP() << "web/node_modules is missing: run scripts/setup (npm ci in web/)";
    }
    database_ = dir_.Write("crm.db", "");  // SQLite takes an empty file as an empty database.
    dir_.Write("tandem.toml",
               "[routing]\ngeneric = \"cloud\"\n[[providers]]\nname = \"cloud\"\n"
               "base_url = \"" +
                   model_.base_url() +
                   "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\n"
                   "[tools.sql.databases]\ncrm = { path = \"" +
                   database_.string() + "\", writable = true }\n");
    testing::ProcessResult added =
        testing::RunTandem({"user", "add", "root", "--role", "admin"}, Options(kPassword));
    ASSERT_EQ(added.exit_code, 0) << added.err;
    port_ = testing::FreeLoopbackPort();
    ASSERT_GT(port_, 0);
    log_ = (dir_.path() / "serve.log").string();
    pid_ = testing::SpawnProcess(
        {TANDEM_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(port_)}, Options(),
        log_);
    ASSERT_GT(pid_, 0);
    httplib::Client client("127.0.0.1", port_);
    bool up = false;
    // A deadline against a hang only; nothing depends on how long start-up takes.
    for (int i = 0; i < 1200 && !up; ++i) {
      auto health = client.Get("/healthz");
      up = health && health->status == 200;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(up) << testing::ReadFile(log_);
  }

  void TearDown() override {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  testing::ProcessOptions Options(std::string stdin_text = "") const {
    return {.working_dir = dir_.path().string(),
            .env = {{"TANDEM_HOME", (dir_.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "info"}},
            .stdin_text = std::move(stdin_text)};
  }

  // Runs the browser script against the server; its checks print one line each.
  testing::ProcessResult Browse(bool approve) {
    std::filesystem::create_directories(dir_.path() / "downloads");
    return testing::RunProcess({TANDEM_NODE, (web_ / "tests" / "e2e.mjs").string()},
                               {.working_dir = web_.string(),
                                .env = {{"TANDEM_URL", "http://127.0.0.1:" + std::to_string(port_)},
                                        {"TANDEM_USER", "root"},
                                        {"TANDEM_PASSWORD", kPassword},
                                        {"TANDEM_ARTIFACT", "report.md"},
                                        {"TANDEM_ARTIFACT_TEXT", kReport},
                                        {"TANDEM_APPROVE", approve ? "1" : "0"},
                                        {"TANDEM_DOWNLOADS", (dir_.path() / "downloads").string()},
                                        {"CHROMIUM", kChromium}}});
  }

  testing::TempDir dir_;
  testing::ScriptedModelServer model_;
  std::filesystem::path web_;
  std::filesystem::path database_;
  std::string log_;
  int port_ = 0;
  int pid_ = 0;
};

TEST_F(WebUiBrowserTest, SignInStartATaskWatchItDownloadItsArtifactAndSeeTheCost) {
  model_.PushToolCall("write_file", {{"path", "report.md"}, {"content", kReport}},
                      "I will write the report.", 1200, 300);
  model_.PushToolCall("finish", {{"summary", "Wrote report.md"}}, "", 1500, 40);
  testing::ProcessResult run = Browse(/*approve=*/false);
  std::cout << run.out;  // The checks the browser made, one a line.
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << "\nserver log:\n" << testing::ReadFile(log_);
  EXPECT_THAT(run.out, HasSubstr("PASS"));
  EXPECT_EQ(testing::ReadFile(dir_.path() / "downloads" / "report.md"), kReport);
  // The server really saw the browser's requests (the UI is the embedded build).
  std::string log = testing::ReadFile(log_);
  EXPECT_THAT(log, HasSubstr("POST /api/login 200"));
  EXPECT_THAT(log, HasSubstr("POST /api/tasks 201"));
  EXPECT_THAT(log, HasSubstr("GET /api/tasks/"));
}

TEST_F(WebUiBrowserTest, AStepWaitingForApprovalRunsOnceApprovedInTheBrowser) {
  // Writing to a database is an external effect: the task waits until someone approves it.
  model_.PushToolCall("sql_query", {{"database", "crm"}, {"sql", "CREATE TABLE leads (name TEXT)"}},
                      "I will create the table.", 1000, 100);
  model_.PushToolCall("write_file", {{"path", "report.md"}, {"content", kReport}}, "", 1100, 200);
  model_.PushToolCall("finish", {{"summary", "Created the table and wrote report.md"}}, "", 1200,
                      30);
  testing::ProcessResult run = Browse(/*approve=*/true);
  std::cout << run.out;
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << "\nserver log:\n" << testing::ReadFile(log_);
  EXPECT_THAT(run.out, HasSubstr("approved the pending step"));
  EXPECT_GT(std::filesystem::file_size(database_), 0u) << "the approved SQL ran";
  EXPECT_THAT(testing::ReadFile(log_), HasSubstr("/approve 200"));
}

}  // namespace
}  // namespace tandem
