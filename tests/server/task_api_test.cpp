// Tasks over real HTTP: runs through the gateway to a model on loopback, visibility by role,
// events over SSE (replay and live), artifacts, cancel, and graceful shutdown with resume.
#include <gmock/gmock.h>

#include <thread>

#include "server_fixture.h"
#include "tandem/agent/task_json.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class TaskApiTest : public ServerTest {};

struct SseEvent {
  int64_t id = 0;
  std::string type;
  json data;
};

std::vector<SseEvent> ParseSse(const std::string& text) {
  std::vector<SseEvent> events;
  SseEvent current;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) break;
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("id: ", 0) == 0) current.id = std::stoll(line.substr(4));
    if (line.rfind("event: ", 0) == 0) current.type = line.substr(7);
    if (line.rfind("data: ", 0) == 0) current.data = json::parse(line.substr(6));
    if (line.empty() && current.id != 0) {
      events.push_back(current);
      current = {};
    }
  }
  return events;
}

TEST_F(TaskApiTest, TaskRunsThroughTheGatewayAndShowsLikeTheCli) {
  std::string id = StartTask(alice_, "Write a report");
  ASSERT_FALSE(id.empty());
  json detail = WaitForEnd(alice_, id);
  EXPECT_EQ(detail["status"], "succeeded");
  ASSERT_EQ(detail["steps"].size(), 2u);
  EXPECT_EQ(detail["steps"][0]["tool_call"]["name"], "write_file");
  EXPECT_EQ(detail["steps"][0]["zone"], "cloud");
  EXPECT_EQ(detail["totals"]["model_calls"], 2);
  EXPECT_EQ(detail["totals"]["prompt_tokens"], 200);
  auto expected = agent::TaskDetailJson(*store_, id);
  ASSERT_TRUE(expected);
  (*expected)["pending_approval"] = nullptr;  // The server adds the call it waits on.
  EXPECT_EQ(detail, json::parse(expected->dump())) << "same shape as `tandem tasks show --json`";
  EXPECT_EQ(model_.calls(), 2);

  HttpResult artifacts = Get("/api/tasks/" + id + "/artifacts", alice_);
  ASSERT_EQ(artifacts.status, 200);
  ASSERT_EQ(artifacts.Json().size(), 1u);
  EXPECT_EQ(artifacts.Json()[0]["path"], "report.md");
  HttpResult file = Get("/api/tasks/" + id + "/artifacts/report.md", alice_);
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "# Report\n");
  EXPECT_EQ(Get("/api/tasks/" + id + "/artifacts/..%2Ftandem.db", alice_).status, 404);
  EXPECT_EQ(Get("/api/tasks/" + id + "/artifacts/other.md", alice_).status, 404);
}

TEST_F(TaskApiTest, MembersSeeSharedTasksAndTheirOwnPrivateOnes) {
  std::string alice_private = StartTask(alice_, "Private to alice");
  std::string bob_shared = StartTask(bob_, "Shared by bob", /*shared=*/true);
  ASSERT_FALSE(alice_private.empty());
  ASSERT_FALSE(bob_shared.empty());
  WaitForEnd(alice_, alice_private);
  WaitForEnd(bob_, bob_shared);
  auto ids = [&](const std::string& token) {
    std::vector<std::string> out;
    for (const json& task : Get("/api/tasks", token).Json())
      out.push_back(task["id"]);
    return out;
  };
  using ::testing::UnorderedElementsAre;
  EXPECT_THAT(ids(alice_), UnorderedElementsAre(alice_private, bob_shared));
  EXPECT_THAT(ids(bob_), UnorderedElementsAre(bob_shared));
  EXPECT_THAT(ids(victor_), UnorderedElementsAre(bob_shared));
  EXPECT_THAT(ids(root_), UnorderedElementsAre(alice_private, bob_shared));
  // Hidden tasks look absent, down to their events and artifacts.
  EXPECT_EQ(Get("/api/tasks/" + alice_private, bob_).status, 404);
  EXPECT_EQ(Get("/api/tasks/" + alice_private + "/events", bob_).status, 404);
  EXPECT_EQ(Get("/api/tasks/" + alice_private + "/artifacts/report.md", victor_).status, 404);
  EXPECT_EQ(Post("/api/tasks/" + alice_private + "/resume", bob_, json::object()).status, 404);
  EXPECT_EQ(Get("/api/tasks/" + alice_private, root_).status, 200);
}

TEST_F(TaskApiTest, EventStreamReplaysFromLastEventIdAndEndsWithTheTask) {
  std::string id = StartTask(alice_, "Write a report");
  ASSERT_FALSE(id.empty());
  WaitForEnd(alice_, id);
  HttpResult all = Get("/api/tasks/" + id + "/events", alice_);
  ASSERT_EQ(all.status, 200);
  std::vector<SseEvent> events = ParseSse(all.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front().type, "task_started");
  EXPECT_EQ(events.back().type, "task_finished");
  EXPECT_EQ(events.back().data["payload"]["status"], "succeeded");
  auto stored = store_->ListEvents(id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(events.size(), stored->size());

  int64_t resume_after = events[1].id;
  HttpResult rest = Get("/api/tasks/" + id + "/events", alice_,
                        {{"Last-Event-ID", std::to_string(resume_after)}});
  std::vector<SseEvent> replay = ParseSse(rest.body);
  ASSERT_EQ(replay.size(), events.size() - 2);
  EXPECT_EQ(replay.front().id, events[2].id);
  EXPECT_EQ(Get("/api/tasks/" + id + "/events", alice_, {{"Last-Event-ID", "abc"}}).status, 400);
}

TEST_F(TaskApiTest, EventStreamDeliversLiveEventsWhileTheTaskRuns) {
  model_.CloseGate();  // The first model call waits until the watcher is connected.
  std::string id = StartTask(alice_, "Write a report");
  ASSERT_FALSE(id.empty());
  std::mutex mu;
  std::string received;
  bool saw_start = false;
  std::condition_variable cv;
  std::thread watcher([&] {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(30, 0);
    client.Get("/api/tasks/" + id + "/events", {{"Authorization", "Bearer " + alice_}},
               [&](const char* data, size_t size) {
                 std::lock_guard lock(mu);
                 received.append(data, size);
                 if (received.find("event: task_started") != std::string::npos) saw_start = true;
                 cv.notify_all();
                 return true;
               });
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return saw_start; }));
    // Connected and the task is still waiting on its first model answer.
    EXPECT_EQ(received.find("event: step_done"), std::string::npos);
  }
  model_.OpenGate();
  watcher.join();  // The stream ends by itself when the task does.
  std::vector<SseEvent> events = ParseSse(received);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type, "task_finished");
  EXPECT_THAT(received, HasSubstr("event: step_done"));
}

TEST_F(TaskApiTest, CancelStopsARunningTaskAndResumeFinishesIt) {
  model_.CloseGate();
  std::string id = StartTask(alice_, "Write a report");
  ASSERT_FALSE(id.empty());
  HttpResult cancel = Post("/api/tasks/" + id + "/cancel", alice_, json::object());
  EXPECT_EQ(cancel.status, 202) << cancel.body;
  model_.OpenGate();
  json stopped = WaitForEnd(alice_, id);
  EXPECT_EQ(stopped["status"], "stopped") << stopped.dump();
  EXPECT_EQ(Post("/api/tasks/" + id + "/cancel", alice_, json::object()).status, 409);
  ASSERT_EQ(Post("/api/tasks/" + id + "/resume", alice_, json::object()).status, 202);
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_EQ(Post("/api/tasks/" + id + "/resume", alice_, json::object()).status, 409);
}

// Writes a new file on every call (slowly, so the task is mid-run when the server stops) until
// told to finish.
class ShutdownTest : public ServerTest {
 protected:
  ShutdownTest()
      : ServerTest([this](int call) -> json {
          if (finish_) return ModelEndpoint::ToolCall("finish", {{"summary", "done"}});
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return ModelEndpoint::ToolCall(
              "write_file", {{"path", "part" + std::to_string(call) + ".txt"}, {"content", "x"}});
        }) {
    options_.max_steps = 100000;
  }
  std::atomic<bool> finish_{false};
};

TEST_F(ShutdownTest, StopEndsRunningTasksAtASafePointAndTheyResumeAfterRestart) {
  std::string id = StartTask(alice_, "Write parts");
  ASSERT_FALSE(id.empty());
  for (int i = 0; i < 3000 && model_.calls() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_GE(model_.calls(), 3);
  StopServer();  // Returns once the task has stopped.
  auto task = store_->GetTask(id);
  ASSERT_TRUE(task && *task);
  EXPECT_EQ((*task)->status, store::TaskStatus::kStopped) << (*task)->stop_reason;
  auto steps = store_->ListSteps(id);
  ASSERT_TRUE(steps);
  for (const store::StepRecord& step : *steps)
    EXPECT_EQ(step.status, store::StepStatus::kDone) << "step " << step.seq;

  finish_ = true;
  StartServer();
  EXPECT_EQ(Get("/readyz", "").status, 200);
  ASSERT_EQ(Post("/api/tasks/" + id + "/resume", alice_, json::object()).status, 202);
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
}

}  // namespace
}  // namespace tandem::server
