// Agent Protocol v1 basics over real HTTP: task create/list/get, stepping until is_last,
// steps and artifacts listings with pagination, artifact download, errors.
#include <gmock/gmock.h>

#include "server_fixture.h"

namespace tandem::server {
namespace {

using nlohmann::json;

class AgentProtocolTest : public ServerTest {};

TEST_F(AgentProtocolTest, ClientStepsATaskToItsLastStepAndDownloadsTheArtifact) {
  HttpResult created = Post("/ap/v1/agent/tasks", alice_, {{"input", "Write a report"}});
  ASSERT_EQ(created.status, 200) << created.body;
  std::string id = created.Json()["task_id"];
  EXPECT_EQ(created.Json()["input"], "Write a report");
  EXPECT_TRUE(created.Json()["artifacts"].is_array());

  std::vector<json> steps;
  for (int i = 0; i < 20; ++i) {
    HttpResult step = Post("/ap/v1/agent/tasks/" + id + "/steps", alice_, json::object());
    ASSERT_EQ(step.status, 200) << step.body;
    steps.push_back(step.Json());
    if (steps.back()["is_last"] == true) break;
  }
  ASSERT_FALSE(steps.empty());
  const json& last = steps.back();
  EXPECT_EQ(last["is_last"], true);
  EXPECT_EQ(last["name"], "finish");
  EXPECT_EQ(last["status"], "completed");
  EXPECT_EQ(last["task_id"], id);

  HttpResult listed = Get("/ap/v1/agent/tasks/" + id + "/steps?page_size=1", alice_);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.Json()["steps"].size(), 1u);
  EXPECT_EQ(listed.Json()["steps"][0]["name"], "write_file");
  EXPECT_EQ(listed.Json()["pagination"]["total_items"], 2);
  EXPECT_EQ(listed.Json()["pagination"]["total_pages"], 2);
  EXPECT_EQ(Get("/ap/v1/agent/tasks/" + id + "/steps/1", alice_).Json()["name"], "write_file");
  EXPECT_EQ(Get("/ap/v1/agent/tasks/" + id + "/steps/9", alice_).status, 404);

  HttpResult artifacts = Get("/ap/v1/agent/tasks/" + id + "/artifacts", alice_);
  ASSERT_EQ(artifacts.status, 200);
  ASSERT_EQ(artifacts.Json()["artifacts"].size(), 1u);
  json artifact = artifacts.Json()["artifacts"][0];
  EXPECT_EQ(artifact["file_name"], "report.md");
  HttpResult file =
      Get("/ap/v1/agent/tasks/" + id + "/artifacts/" + artifact["artifact_id"].get<std::string>(),
          alice_);
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "# Report\n");
  EXPECT_EQ(Get("/ap/v1/agent/tasks/" + id + "/artifacts/abcd", alice_).status, 404);

  HttpResult task = Get("/ap/v1/agent/tasks/" + id, alice_);
  ASSERT_EQ(task.status, 200);
  EXPECT_EQ(task.Json()["artifacts"].size(), 1u);
  HttpResult tasks = Get("/ap/v1/agent/tasks", alice_);
  ASSERT_EQ(tasks.status, 200);
  EXPECT_EQ(tasks.Json()["tasks"].size(), 1u);
  EXPECT_EQ(tasks.Json()["pagination"]["total_items"], 1);
}

TEST_F(AgentProtocolTest, BadRequestsRolesAndFeedbackGetClearAnswers) {
  EXPECT_EQ(Post("/ap/v1/agent/tasks", "", {{"input", "x"}}).status, 401);
  EXPECT_EQ(Post("/ap/v1/agent/tasks", victor_, {{"input", "x"}}).status, 403);
  EXPECT_EQ(Post("/ap/v1/agent/tasks", alice_, {{"input", 3}}).status, 400);
  EXPECT_EQ(Get("/ap/v1/agent/tasks/nope", alice_).status, 404);
  HttpResult created = Post("/ap/v1/agent/tasks", alice_, {{"input", "Write a report"}});
  ASSERT_EQ(created.status, 200);
  std::string id = created.Json()["task_id"];
  EXPECT_EQ(Get("/ap/v1/agent/tasks/" + id, bob_).status, 404) << "private to alice";
  EXPECT_EQ(Post("/ap/v1/agent/tasks/" + id + "/steps", alice_, {{"input", 3}}).status, 400);
  WaitForEnd(alice_, id);
  // Feedback (non-empty input) cannot reach a task that has ended (approval_api_test.cpp has
  // the feedback that does).
  EXPECT_EQ(Post("/ap/v1/agent/tasks/" + id + "/steps", alice_, {{"input", "use French"}}).status,
            409);
}

}  // namespace
}  // namespace tandem::server
