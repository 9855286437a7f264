// `tandem serve` end to end with a configuration: the server's tasks get the `[tools]` grants
// (a writable database granted by auto_approve runs without asking), and the delegate tool is
// not offered to them.
#include <gmock/gmock.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class ServeConfigTest : public ::testing::Test {
 protected:
  ServeConfigTest() {
    database_ = dir_.Write("crm.db", "");  // SQLite treats an empty file as an empty database.
    dir_.Write("tandem.toml",
               "[routing]\ngeneric = \"cloud\"\n[[providers]]\nname = \"cloud\"\n"
               "base_url = \"" +
                   model_.base_url() +
                   "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\n"
                   "[tools]\nauto_approve = [\"sql_query\"]\n"
                   "[tools.sql.databases]\ncrm = { path = \"" +
                   database_.string() + "\", writable = true }\n");
  }
  testing::ProcessOptions Options(std::string stdin_text = "") {
    return {.working_dir = dir_.path().string(),
            .env = {{"TANDEM_HOME", (dir_.path() / "home").string()}, {"TANDEM_LOG_LEVEL", "warn"}},
            .stdin_text = std::move(stdin_text)};
  }

  // The port `tandem serve --listen 127.0.0.1:0` printed to `log`, or 0 while it has not.
  static int PortFrom(const std::string& log) {
    const std::string marker = "listening on http://127.0.0.1:";
    size_t at = log.find(marker);
    return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + marker.size());
  }

  testing::TempDir dir_;
  testing::ScriptedModelServer model_;
  std::filesystem::path database_;
};

TEST_F(ServeConfigTest, ServerTasksUseTheToolsGrantsAndAreNotOfferedDelegate) {
  ASSERT_EQ(testing::RunTandem({"user", "add", "alice"}, Options("a long passphrase\n")).exit_code,
            0);
  testing::ProcessResult token = testing::RunTandem({"user", "token", "alice"}, Options());
  ASSERT_EQ(token.exit_code, 0) << token.err;
  httplib::Headers auth = {
      {"Authorization", "Bearer " + token.out.substr(0, token.out.find('\n'))}};
  model_.PushToolCall("sql_query", {{"database", "crm"}, {"sql", "CREATE TABLE notes (x TEXT)"}});
  model_.PushToolCall("finish", {{"summary", "created the table"}});

  std::string log = (dir_.path() / "serve.log").string();
  int pid =
      testing::SpawnProcess({TANDEM_BINARY, "serve", "--listen", "127.0.0.1:0"}, Options(), log);
  ASSERT_GT(pid, 0);
  int port = 0;
  // Deadlines against a hang only; nothing depends on how long anything takes.
  for (int i = 0; i < 600 && port == 0; ++i) {
    port = PortFrom(testing::ReadFile(log));
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(port, 0) << testing::ReadFile(log);
  httplib::Client client("127.0.0.1", port);
  auto created =
      client.Post("/api/tasks", auth, R"({"goal":"Set up the CRM"})", "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  std::string id = json::parse(created->body)["id"];
  json detail;
  for (int i = 0; i < 1500; ++i) {
    auto shown = client.Get("/api/tasks/" + id, auth);
    detail = shown ? json::parse(shown->body, nullptr, false) : json();
    if (detail.is_object() && detail["status"] != "pending" && detail["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);

  EXPECT_EQ(detail["status"], "succeeded") << detail.dump() << testing::ReadFile(log);
  EXPECT_EQ(detail["steps"][0]["approval"]["by"], "configuration");
  EXPECT_GT(std::filesystem::file_size(database_), 0u) << "the granted statement ran";
  std::vector<json> requests = model_.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_THAT(requests[0]["tools"].dump(), HasSubstr("\"sql_query\""));
  EXPECT_THAT(requests[0]["tools"].dump(), Not(HasSubstr("\"delegate\"")));
}

}  // namespace
}  // namespace tandem::server
