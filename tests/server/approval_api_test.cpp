// Approvals over real HTTP: a task proposing an `external` call waits for a person; approve,
// refuse, feedback (native and Agent Protocol), approve-ahead, roles, CSRF, bad input, and what
// cancel, shutdown and the approval timeout leave behind.
#include <gmock/gmock.h>

#include <mutex>
#include <thread>

#include "server_fixture.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// An `external` tool that records what it was asked to send.
class NotifyTool final : public tools::Tool {
 public:
  explicit NotifyTool(std::vector<std::string>* sent, std::mutex* mu) : sent_(sent), mu_(mu) {}
  std::string_view name() const override { return "notify"; }
  std::string_view description() const override { return "Sends a message to the team."; }
  const json& schema() const override { return schema_; }
  tools::EffectClass effect() const override { return tools::EffectClass::kExternal; }
  Result<tools::ToolResult> Invoke(const json& args, tools::ToolContext&) const override {
    std::lock_guard lock(*mu_);
    sent_->push_back(args["message"].get<std::string>());
    return tools::ToolResult{.output = "delivered"};
  }

 private:
  std::vector<std::string>* sent_;
  std::mutex* mu_;
  json schema_ = {{"type", "object"},
                  {"properties", {{"message", {{"type", "string"}}}}},
                  {"required", {"message"}}};
};

class ApprovalApiTest : public ServerTest {
 protected:
  // The model sends `notes` one notify call each, then finishes.
  ApprovalApiTest()
      : ServerTest([this](int call) -> json {
          if (call < static_cast<int>(notes_.size())) {
            return ModelEndpoint::ToolCall("notify", {{"message", notes_[call]}});
          }
          return ModelEndpoint::ToolCall("finish", {{"summary", "notified"}});
        }) {}

  void SetUp() override {
    ServerTest::SetUp();
    ASSERT_TRUE(registry_.Register(std::make_unique<NotifyTool>(&sent_, &sent_mu_)));
  }

  std::vector<std::string> Sent() {
    std::lock_guard lock(sent_mu_);
    return sent_;
  }

  // Polls until the task waits for approval; returns pending_approval (null if it never does).
  json WaitForPending(const std::string& token, const std::string& id) {
    for (int i = 0; i < 3000; ++i) {
      json detail = Get("/api/tasks/" + id, token).Json();
      if (detail.is_object() && detail.contains("pending_approval") &&
          !detail["pending_approval"].is_null()) {
        return detail["pending_approval"];
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "task " << id << " never waited for approval";
    return json();
  }

  HttpResult PostRaw(const std::string& path, const std::string& token, const std::string& body) {
    httplib::Client client("127.0.0.1", server_->port());
    httplib::Headers headers = {{"Authorization", "Bearer " + token}};
    auto result = client.Post(path, headers, body, "application/json");
    if (!result) return {};
    return {result->status, result->body, result->headers};
  }

  // The events of `type` the task recorded, as payloads.
  std::vector<json> Events(const std::string& id, const std::string& type) {
    std::vector<json> out;
    auto events = store_->ListEvents(id);
    EXPECT_TRUE(events);
    if (!events) return out;
    for (const store::EventRecord& event : *events) {
      if (event.type == type) out.push_back(json::parse(event.payload));
    }
    return out;
  }

  // The content of the tool message the model got in its `call`-th request (0-based).
  std::string ToolMessage(size_t call) {
    std::vector<json> requests = model_.requests();
    if (call >= requests.size()) return "";
    std::string found;
    for (const json& message : requests[call]["messages"]) {
      if (message.value("role", "") == "tool" && message["content"].is_string()) {
        found = message["content"].get<std::string>();
      }
    }
    if (found.empty()) return requests[call].dump();  // Whatever shape, the text is in there.
    return found;
  }

  std::vector<std::string> notes_ = {"deploy finished"};
  std::mutex sent_mu_;
  std::vector<std::string> sent_;  // GUARDED_BY(sent_mu_)
};

TEST_F(ApprovalApiTest, ExternalCallWaitsAndRunsOnceApproved) {
  std::string id = StartTask(alice_, "Tell the team");
  ASSERT_FALSE(id.empty());
  json pending = WaitForPending(alice_, id);
  EXPECT_EQ(pending["step"], 1);
  EXPECT_EQ(pending["tool"], "notify");
  EXPECT_EQ(pending["effect"], "external");
  EXPECT_EQ(pending["arguments"]["message"], "deploy finished");
  EXPECT_EQ(pending["untrusted_paths"], json::array());
  EXPECT_THAT(pending["reason"].get<std::string>(), HasSubstr("external effect"));
  EXPECT_EQ(Get("/api/tasks/" + id, alice_).Json()["status"], "running");
  json listed = Get("/api/tasks", alice_).Json();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["pending_approval"]["step"], 1);
  EXPECT_TRUE(Sent().empty()) << "nothing runs before a person answers";

  HttpResult approved = Post("/api/tasks/" + id + "/approve", alice_, json::object());
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.Json(), json({{"decision", "approve"}, {"step", 1}}));
  json detail = WaitForEnd(alice_, id);
  EXPECT_EQ(detail["status"], "succeeded");
  EXPECT_EQ(detail["pending_approval"], nullptr);
  EXPECT_EQ(Sent(), std::vector<std::string>{"deploy finished"});
  EXPECT_EQ(detail["steps"][0]["approval"]["by"], "alice");
  ASSERT_EQ(Events(id, "approval_required").size(), 1u);
  std::vector<json> granted = Events(id, "approval_granted");
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0]["by"], "alice");
  EXPECT_EQ(granted[0]["step"], 1);
}

TEST_F(ApprovalApiTest, RefusedCallDoesNotRunAndTheModelIsTold) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  HttpResult refused =
      Post("/api/tasks/" + id + "/refuse", alice_, {{"reason", "not during the freeze"}});
  ASSERT_EQ(refused.status, 200) << refused.body;
  EXPECT_EQ(refused.Json()["decision"], "refuse");
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_TRUE(Sent().empty());
  std::string told = ToolMessage(1);
  EXPECT_THAT(told, HasSubstr("refused"));
  EXPECT_THAT(told, HasSubstr("not during the freeze"));
  std::vector<json> events = Events(id, "approval_refused");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["by"], "alice");
}

TEST_F(ApprovalApiTest, FeedbackReachesTheModelInsteadOfTheCall) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  HttpResult answered =
      Post("/api/tasks/" + id + "/feedback", alice_, {{"text", "post it in #ops instead"}});
  ASSERT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(answered.Json()["decision"], "feedback");
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_TRUE(Sent().empty());
  EXPECT_THAT(ToolMessage(1), HasSubstr("post it in #ops instead"));
  std::vector<json> events = Events(id, "feedback");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["by"], "alice");
}

TEST_F(ApprovalApiTest, ApproveWithCountCoversTheNextCalls) {
  notes_ = {"first note", "second note", "third note", "fourth note"};
  std::string id = StartTask(alice_, "Tell the team four times");
  WaitForPending(alice_, id);
  HttpResult approved = Post("/api/tasks/" + id + "/approve", alice_, {{"count", 2}});
  ASSERT_EQ(approved.status, 200) << approved.body;
  // The fourth call is beyond the count: it waits again.
  json pending = WaitForPending(alice_, id);
  EXPECT_EQ(pending["step"], 4);
  EXPECT_EQ(Sent().size(), 3u);
  ASSERT_EQ(Post("/api/tasks/" + id + "/approve", alice_, json::object()).status, 200);
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_EQ(Sent().size(), 4u);
  int ahead = 0;
  for (const json& event : Events(id, "approval_granted"))
    ahead += event["by"] == "approved_ahead";
  EXPECT_EQ(ahead, 2);
}

TEST_F(ApprovalApiTest, ViewersAreForbiddenAndOthersSeeNoTask) {
  std::string id = StartTask(alice_, "Tell the team", /*shared=*/true);
  WaitForPending(alice_, id);
  for (const char* action : {"approve", "refuse", "feedback"}) {
    HttpResult denied = Post("/api/tasks/" + id + "/" + action, victor_, {{"text", "x"}});
    EXPECT_EQ(denied.status, 403) << action;
  }
  std::string hidden = StartTask(bob_, "Private");
  EXPECT_EQ(Post("/api/tasks/" + hidden + "/approve", alice_, json::object()).status, 404);
  // A member who can see the shared task may answer it.
  HttpResult approved = Post("/api/tasks/" + id + "/approve", bob_, json::object());
  EXPECT_EQ(approved.status, 200) << approved.body;
  WaitForEnd(alice_, id);
  EXPECT_EQ(store_->GetTask(id).value()->status, store::TaskStatus::kSucceeded);
  EXPECT_EQ(Events(id, "approval_granted").at(0)["by"], "bob");
}

TEST_F(ApprovalApiTest, NothingPendingIsAConflict) {
  notes_.clear();  // The task finishes at once.
  std::string id = StartTask(alice_, "Nothing to send");
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  for (const char* action : {"approve", "refuse", "feedback"}) {
    HttpResult conflict = Post("/api/tasks/" + id + "/" + action, alice_, {{"text", "x"}});
    if (std::string_view(action) != "feedback") {
      conflict = Post("/api/tasks/" + id + "/" + action, alice_, json::object());
    }
    EXPECT_EQ(conflict.status, 409) << action;
    EXPECT_EQ(conflict.Json()["error"]["code"], "no_pending_approval") << action;
  }
}

TEST_F(ApprovalApiTest, BadInputIsRejectedAndLeavesTheCallWaiting) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  const std::string base = "/api/tasks/" + id;
  const std::pair<std::string, std::string> bad[] = {
      {"/approve", "{"},
      {"/approve", "[]"},
      {"/approve", R"({"count": "2"})"},
      {"/approve", R"({"count": -1})"},
      {"/approve", R"({"count": 1.5})"},
      {"/approve", R"({"count": 100000000})"},
      {"/approve", R"({"cuont": 2})"},
      {"/refuse", "not json"},
      {"/refuse", R"({"reason": 5})"},
      {"/refuse", R"("no")"},
      {"/feedback", ""},
      {"/feedback", "{}"},
      {"/feedback", R"({"text": ""})"},
      {"/feedback", R"({"text": ["a"]})"},
      {"/feedback", R"({"text": "x", "extra": 1})"},
      {"/feedback", "{\"text\": \"" + std::string(20000, 'a') + "\"}"},
  };
  for (const auto& [route, body] : bad) {
    HttpResult rejected = PostRaw(base + route, alice_, body);
    EXPECT_EQ(rejected.status, 400) << route << " " << body.substr(0, 40);
    EXPECT_EQ(rejected.Json()["error"]["code"], "invalid_argument") << route;
  }
  EXPECT_EQ(WaitForPending(alice_, id)["step"], 1) << "still waiting";
  EXPECT_TRUE(Sent().empty());
  ASSERT_EQ(PostRaw(base + "/approve", alice_, "").status, 200) << "an empty body approves";
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
}

TEST_F(ApprovalApiTest, CookieSessionsNeedTheCsrfToken) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  HttpResult login =
      Post("/api/login", "", {{"user", "alice"}, {"password", "correct horse battery"}});
  ASSERT_EQ(login.status, 200) << login.body;
  std::string cookie = login.headers.find("Set-Cookie")->second;
  cookie = cookie.substr(0, cookie.find(';'));
  std::string csrf = login.Json()["csrf_token"];
  HttpResult forged =
      Post("/api/tasks/" + id + "/approve", "", json::object(), {{"Cookie", cookie}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(forged.Json()["error"]["code"], "csrf");
  HttpResult approved = Post("/api/tasks/" + id + "/approve", "", json::object(),
                             {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
}

TEST_F(ApprovalApiTest, AgentProtocolEmptyInputApprovesTheWaitingCall) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  HttpResult step = Post("/ap/v1/agent/tasks/" + id + "/steps", alice_, {{"input", ""}});
  ASSERT_EQ(step.status, 200) << step.body;
  EXPECT_EQ(step.Json()["step_id"], "1");
  EXPECT_EQ(step.Json()["output"], "delivered");
  EXPECT_EQ(Sent(), std::vector<std::string>{"deploy finished"});
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
}

TEST_F(ApprovalApiTest, AgentProtocolInputIsFeedbackForTheWaitingCall) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  HttpResult step =
      Post("/ap/v1/agent/tasks/" + id + "/steps", alice_, {{"input", "wait for the release"}});
  ASSERT_EQ(step.status, 200) << step.body;
  EXPECT_EQ(step.Json()["step_id"], "1");
  EXPECT_THAT(step.Json()["output"].get<std::string>(), HasSubstr("wait for the release"));
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_TRUE(Sent().empty());
  EXPECT_THAT(ToolMessage(1), HasSubstr("wait for the release"));
  EXPECT_EQ(Post("/ap/v1/agent/tasks/" + id + "/steps", alice_, {{"input", "more"}}).status, 409)
      << "the task has ended";
  EXPECT_EQ(Post("/ap/v1/agent/tasks/" + id + "/steps", alice_, {{"input", 5}}).status, 400);
}

TEST_F(ApprovalApiTest, CancelWhileWaitingStopsResumablyAndResumeAsksAgain) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  ASSERT_EQ(Post("/api/tasks/" + id + "/cancel", alice_, json::object()).status, 202);
  json stopped = WaitForEnd(alice_, id);
  EXPECT_EQ(stopped["status"], "stopped") << stopped.dump();
  EXPECT_EQ(stopped["pending_approval"], nullptr);
  EXPECT_EQ(stopped["steps"][0]["status"], "proposed");
  EXPECT_EQ(stopped["steps"][0]["approval"]["decision"], "unanswered");
  EXPECT_EQ(Post("/api/tasks/" + id + "/approve", alice_, json::object()).status, 409);

  ASSERT_EQ(Post("/api/tasks/" + id + "/resume", alice_, json::object()).status, 202);
  EXPECT_EQ(WaitForPending(alice_, id)["step"], 1);
  ASSERT_EQ(Post("/api/tasks/" + id + "/approve", alice_, json::object()).status, 200);
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_EQ(Sent(), std::vector<std::string>{"deploy finished"});
}

TEST_F(ApprovalApiTest, AgentProtocolFeedbackIsKeptForAStoppedTasksNextCall) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  ASSERT_EQ(Post("/api/tasks/" + id + "/cancel", alice_, json::object()).status, 202);
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "stopped");
  // Nothing waits now: the feedback is kept, the task resumes, and it answers the call asked again.
  HttpResult step =
      Post("/ap/v1/agent/tasks/" + id + "/steps", alice_, {{"input", "use the status page"}});
  ASSERT_EQ(step.status, 200) << step.body;
  EXPECT_EQ(step.Json()["step_id"], "1");
  EXPECT_THAT(step.Json()["output"].get<std::string>(), HasSubstr("use the status page"));
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_TRUE(Sent().empty());
}

TEST_F(ApprovalApiTest, ShutdownWhileWaitingLeavesTheTaskResumableAndResumeAsksAgain) {
  std::string id = StartTask(alice_, "Tell the team");
  WaitForPending(alice_, id);
  StopServer();  // Returns once the task has stopped.
  auto task = store_->GetTask(id);
  ASSERT_TRUE(task && *task);
  EXPECT_EQ((*task)->status, store::TaskStatus::kStopped) << (*task)->stop_reason;
  auto steps = store_->ListSteps(id);
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 1u);
  EXPECT_EQ((*steps)[0].status, store::StepStatus::kProposed);
  EXPECT_TRUE(Sent().empty());

  StartServer();
  ASSERT_EQ(Post("/api/tasks/" + id + "/resume", alice_, json::object()).status, 202);
  EXPECT_EQ(WaitForPending(alice_, id)["step"], 1);
  ASSERT_EQ(Post("/api/tasks/" + id + "/approve", alice_, json::object()).status, 200);
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_EQ(Sent(), std::vector<std::string>{"deploy finished"});
}

TEST_F(ApprovalApiTest, UnansweredPastTheTimeoutStopsResumably) {
  StopServer();
  options_.approval_timeout_s = 1;
  StartServer();
  std::string id = StartTask(alice_, "Tell the team");
  json stopped = WaitForEnd(alice_, id);
  EXPECT_EQ(stopped["status"], "stopped");
  EXPECT_THAT(stopped["stop_reason"].get<std::string>(), HasSubstr("no answer within 1 s"));
  EXPECT_EQ(stopped["steps"][0]["status"], "proposed");
  EXPECT_TRUE(Sent().empty());
}

TEST_F(ApprovalApiTest, ToolsGrantedByConfigurationRunWithoutAsking) {
  StopServer();
  tools_config_.auto_approve = {"notify"};
  StartServer();
  std::string id = StartTask(alice_, "Tell the team");
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  EXPECT_EQ(Sent(), std::vector<std::string>{"deploy finished"});
  EXPECT_TRUE(Events(id, "approval_required").empty());
  EXPECT_EQ(Events(id, "approval_granted").at(0)["by"], "configuration");
}

}  // namespace
}  // namespace tandem::server
