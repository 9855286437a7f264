// `tandem run --interactive` with answers scripted through stdin: approve one, approve the next
// N, refuse, feedback, end of input (and resume), continuous mode, and the default refusal when
// nobody can answer. The external tool is sql_query on a writable SQLite database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"

namespace tandem {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;

class ApprovalEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = dir_.Write("crm.db", "");  // SQLite treats an empty file as an empty database.
    config_ = dir_.Write("tandem.toml", "[[providers]]\nname = \"local\"\nbase_url = \"" +
                                            server_.base_url() +
                                            "\"\nmodel = \"scripted-model\"\nzone = \"local\"\n"
                                            "[tools.sql.databases]\ncrm = { path = \"" +
                                            database_.string() + "\", writable = true }\n");
  }

  ProcessResult Tandem(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--config", config_.string()});
    return testing::RunTandem(args, {.working_dir = dir_.path().string(),
                                     .env = {{"TANDEM_HOME", (dir_.path() / "home").string()},
                                             {"TANDEM_LOG_LEVEL", "warn"}},
                                     .stdin_text = stdin_text});
  }

  ProcessResult Run(const std::string& stdin_text, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", "Update the CRM", "--workspace",
                                     (dir_.path() / "ws").string(), "--interactive"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Tandem(args, stdin_text);
  }

  void PushSql(const std::string& sql) {
    server_.PushToolCall("sql_query", {{"database", "crm"}, {"sql", sql}});
  }

  // Whether the agent's SQL ran: the empty database file grows once a table is created.
  bool DatabaseChanged() const { return std::filesystem::file_size(database_) > 0; }

  static std::string TaskIdFrom(const std::string& out) {
    size_t start = out.find("task ");
    return start == std::string::npos ? "" : out.substr(start + 5, 26);
  }

  nlohmann::json Show(const std::string& id) {
    return nlohmann::json::parse(Tandem({"tasks", "show", id, "--json"}).out, nullptr, false);
  }

  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
      ++n;
    return n;
  }

  testing::TempDir dir_;
  testing::ScriptedModelServer server_;
  std::filesystem::path config_;
  std::filesystem::path database_;
};

TEST_F(ApprovalEndToEndTest, ApprovedCallRunsAndArgumentsFromToolOutputAreMarked) {
  dir_.Write("ws/todo.txt", "CREATE TABLE customers (name TEXT, email TEXT)\n");
  server_.PushToolCall("read_file", {{"path", "todo.txt"}});
  PushSql("CREATE TABLE customers (name TEXT, email TEXT)");
  server_.PushToolCall("finish", {{"summary", "created"}});
  ProcessResult run = Run("y\n");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(DatabaseChanged());
  EXPECT_THAT(run.err, HasSubstr("approval needed: step 2 calls sql_query (external)"));
  EXPECT_THAT(run.err, HasSubstr("! sql: CREATE TABLE customers"));
  EXPECT_THAT(run.err, HasSubstr("UNTRUSTED: /sql copied from earlier tool output"));
  EXPECT_THAT(run.out, Not(HasSubstr("approval needed"))) << "prompts stay off stdout";
  nlohmann::json task = Show(TaskIdFrom(run.out));
  EXPECT_EQ(task["steps"][0]["approval"], nullptr);  // read_file needs none.
  EXPECT_EQ(task["steps"][1]["approval"]["decision"], "granted");
  EXPECT_EQ(task["steps"][1]["approval"]["untrusted"][0], "/sql");
}

TEST_F(ApprovalEndToEndTest, ApproveNextNAsksOnceForThreeCalls) {
  PushSql("CREATE TABLE t (x TEXT)");
  PushSql("INSERT INTO t VALUES ('a')");
  PushSql("INSERT INTO t VALUES ('b')");
  PushSql("INSERT INTO t VALUES ('c')");
  server_.PushToolCall("finish", {{"summary", "filled"}});
  ProcessResult run = Run("a 2\nn\n");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(Count(run.err, "approval needed"), 2u) << run.err;
  nlohmann::json steps = Show(TaskIdFrom(run.out))["steps"];
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[0]["approval"]["by"], "person");
  EXPECT_EQ(steps[1]["approval"]["by"], "approved_ahead");
  EXPECT_EQ(steps[2]["approval"]["by"], "approved_ahead");
  EXPECT_FALSE(steps[2]["is_error"].get<bool>());
  EXPECT_EQ(steps[3]["approval"]["decision"], "refused");
}

TEST_F(ApprovalEndToEndTest, RefusedCallDoesNotRunAndTheTaskGoesOn) {
  PushSql("DROP TABLE IF EXISTS customers");
  server_.PushToolCall("finish", {{"summary", "left it alone"}});
  ProcessResult run = Run("n\n");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_FALSE(DatabaseChanged());
  EXPECT_THAT(run.out, HasSubstr("refused sql_query"));
  nlohmann::json step = Show(TaskIdFrom(run.out))["steps"][0];
  EXPECT_TRUE(step["is_error"].get<bool>());
  EXPECT_EQ(step["approval"]["decision"], "refused");
  std::vector<nlohmann::json> requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[1]["messages"].back()["content"].get<std::string>(), HasSubstr("refused"));
}

TEST_F(ApprovalEndToEndTest, FeedbackIsNotRunAndTheModelSeesItInItsNextRequest) {
  PushSql("CREATE TABLE people (name TEXT)");
  PushSql("CREATE TABLE customers (name TEXT)");
  server_.PushToolCall("finish", {{"summary", "created customers"}});
  ProcessResult run = Run("f call the table customers, not people\ny\n");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::vector<nlohmann::json> requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(requests[1]["messages"].back()["content"].get<std::string>(),
              HasSubstr("call the table customers, not people"));
  nlohmann::json steps = Show(TaskIdFrom(run.out))["steps"];
  EXPECT_EQ(steps[0]["approval"]["decision"], "feedback");
  EXPECT_EQ(steps[0]["approval"]["feedback"], "call the table customers, not people");
  EXPECT_EQ(steps[1]["approval"]["decision"], "granted");
  EXPECT_TRUE(DatabaseChanged());
}

TEST_F(ApprovalEndToEndTest, EndOfInputStopsResumablyAndResumeAsksAgain) {
  PushSql("CREATE TABLE t (x TEXT)");
  ProcessResult run = Run("");
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("waiting for approval of step 1 (sql_query): stdin closed"));
  EXPECT_FALSE(DatabaseChanged());
  std::string id = TaskIdFrom(run.out);
  nlohmann::json task = Show(id);
  EXPECT_EQ(task["status"], "stopped");
  EXPECT_EQ(task["steps"][0]["status"], "proposed");

  server_.PushToolCall("finish", {{"summary", "created"}});
  ProcessResult resumed = Tandem({"resume", id, "--interactive"}, "y\n");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("approval needed: step 1 calls sql_query"));
  EXPECT_TRUE(DatabaseChanged());
  task = Show(id);
  EXPECT_EQ(task["status"], "succeeded");
  ASSERT_EQ(task["steps"].size(), 2u);
  EXPECT_EQ(task["steps"][0]["approval"]["decision"], "granted");
}

TEST_F(ApprovalEndToEndTest, ContinuousModeApprovesWithoutAsking) {
  PushSql("CREATE TABLE t (x TEXT)");
  server_.PushToolCall("finish", {{"summary", "created"}});
  ProcessResult run = Tandem(
      {"run", "Update the CRM", "--workspace", (dir_.path() / "ws").string(), "--continuous"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(DatabaseChanged());
  EXPECT_THAT(run.err, Not(HasSubstr("approval needed")));
  EXPECT_THAT(run.out, HasSubstr("approved sql_query (continuous mode)"));
}

TEST_F(ApprovalEndToEndTest, WithoutATerminalOrInteractiveTheCallIsRefused) {
  PushSql("CREATE TABLE t (x TEXT)");
  server_.PushToolCall("finish", {{"summary", "could not"}});
  ProcessResult run =
      Tandem({"run", "Update the CRM", "--workspace", (dir_.path() / "ws").string()}, "y\n");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_FALSE(DatabaseChanged());
  EXPECT_THAT(run.out, HasSubstr("no one can approve"));
}

TEST_F(ApprovalEndToEndTest, ContinuousAndInteractiveTogetherAreAUsageError) {
  ProcessResult run = Tandem({"run", "x", "--continuous", "--interactive"});
  EXPECT_EQ(run.exit_code, 2);
}

}  // namespace
}  // namespace tandem
