// The controller with a scripted ModelAccess (no HTTP): taint reaches every routed call, the
// watchdog's re-plan asks for a stronger model, and interrupted steps are recovered safely.
#include "tandem/agent/controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent_fixture.h"
#include "support/scripted_model_access.h"

namespace tandem::agent {
namespace {

// A tool with an external effect that records whether it ever ran.
class ExternalTool final : public tools::Tool {
 public:
  explicit ExternalTool(bool* ran) : ran_(ran) {}
  std::string_view name() const override { return "post_message"; }
  std::string_view description() const override { return "Posts a message outside"; }
  const nlohmann::json& schema() const override { return schema_; }
  tools::EffectClass effect() const override { return tools::EffectClass::kExternal; }
  Result<tools::ToolResult> Invoke(const nlohmann::json&, tools::ToolContext&) const override {
    *ran_ = true;
    return tools::ToolResult{.output = "posted"};
  }

 private:
  bool* ran_;
  nlohmann::json schema_ = {{"type", "object"}};
};

class ControllerTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    if (HasFatalFailure()) return;
    policy_ = CloudPolicy();
    ASSERT_TRUE(policy_);
  }

  Controller MakeController() {
    return Controller(
        {.store = store_.get(), .models = &model_, .tools = &registry_, .policy = policy_.get()});
  }

  std::unique_ptr<router::Policy> policy_;
  testing::QueuedModelAccess model_;
};

TEST_F(ControllerTest, SensitiveFileReadTaintsEveryLaterCall) {
  dir_.Write("ws/notes.txt", "Contact jane.doe@example.com about the offer.\n");
  model_.Push("read_file", {{"path", "notes.txt"}});
  model_.Push("list_files", {{"path", "."}});
  model_.Push("finish", {{"summary", "done"}});
  Controller controller = MakeController();
  auto task = controller.Create("Summarise the notes", dir_.path() / "ws", {});
  ASSERT_TRUE(task) << task.error().message();
  auto outcome = controller.Run(task->id, {});
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(outcome->status, store::TaskStatus::kSucceeded);
  ASSERT_EQ(model_.calls.size(), 3u);
  EXPECT_FALSE(model_.calls[0].tainted);
  EXPECT_TRUE(model_.calls[1].tainted);
  EXPECT_TRUE(model_.calls[2].tainted);
  auto stored = store_->GetTask(task->id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_NE((*stored)->taint.find("email"), std::string::npos);
  EXPECT_EQ((*stored)->taint.find("jane"), std::string::npos) << "taint must not keep values";
}

TEST_F(ControllerTest, SensitiveGoalTaintsTheFirstCall) {
  model_.Push("finish", {{"summary", "done"}});
  Controller controller = MakeController();
  auto task = controller.Create("Call +86 138 0013 8000 tomorrow", dir_.path() / "ws", {});
  ASSERT_TRUE(task);
  ASSERT_TRUE(controller.Run(task->id, {}));
  ASSERT_EQ(model_.calls.size(), 1u);
  EXPECT_TRUE(model_.calls[0].tainted);
}

TEST_F(ControllerTest, OnAMachineThatMayNotSeeSensitiveDataATaintedTaskIsHandedOver) {
  dir_.Write("ws/notes.txt", "Contact jane.doe@example.com about the offer.\n");
  model_.Push("read_file", {{"path", "notes.txt"}});
  Controller controller({.store = store_.get(),
                         .models = &model_,
                         .tools = &registry_,
                         .policy = policy_.get(),
                         .may_run_tainted = false});
  auto task = controller.Create("Summarise the notes", dir_.path() / "ws", {});
  ASSERT_TRUE(task);
  auto outcome = controller.Run(task->id, {});
  ASSERT_TRUE(outcome) << outcome.error().message();
  // The read ran (nothing was sensitive before it); no model call came after it.
  EXPECT_TRUE(outcome->handed_over);
  EXPECT_EQ(outcome->status, store::TaskStatus::kPending);
  EXPECT_EQ(model_.calls.size(), 1u);
  auto stored = store_->GetTask(task->id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->status, store::TaskStatus::kPending);
  EXPECT_THAT((*stored)->stop_reason, ::testing::HasSubstr("handed over"));
  auto events = store_->ListEvents(task->id);
  ASSERT_TRUE(events);
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->back().type, "handed_over");  // Not the task's end.
  // A task sensitive from its goal makes no call at all there.
  auto secret = controller.Create("Call +86 138 0013 8000 tomorrow", dir_.path() / "ws2", {});
  ASSERT_TRUE(secret);
  auto handed = controller.Run(secret->id, {});
  ASSERT_TRUE(handed);
  EXPECT_TRUE(handed->handed_over);
  EXPECT_EQ(model_.calls.size(), 1u);
}

TEST_F(ControllerTest, WatchdogReplanAsksForAStrongerModel) {
  for (int i = 0; i < 3; ++i)
    model_.Push("list_files", {{"path", "."}});
  model_.Push("finish", {{"summary", "changed approach"}});
  Controller controller = MakeController();
  auto task = controller.Create("Look", dir_.path() / "ws", {});
  ASSERT_TRUE(task);
  auto outcome = controller.Run(task->id, {});
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, store::TaskStatus::kSucceeded);
  ASSERT_EQ(model_.calls.size(), 4u);
  EXPECT_FALSE(model_.calls[2].escalate);
  EXPECT_TRUE(model_.calls[3].escalate);  // The call after the re-plan.
}

TEST_F(ControllerTest, InterruptedSideEffectIsNotRepeatedButAnInterruptedReadIs) {
  Controller controller = MakeController();
  auto task = controller.Create("Append", dir_.path() / "ws", {});
  ASSERT_TRUE(task);
  // A crash left step 1 (an append) running: its effect is unknown, so it must not run again.
  ASSERT_TRUE(store_->SaveStep({.task_id = task->id,
                                .seq = 1,
                                .status = store::StepStatus::kRunning,
                                .tool_name = "append_file",
                                .tool_arguments = R"({"path":"log.txt","content":"x\n"})",
                                .idempotency_key = task->id + ":1"}));
  model_.Push("finish", {{"summary", "done"}});
  ASSERT_TRUE(controller.Run(task->id, {}));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "ws/log.txt"));
  auto steps = store_->ListSteps(task->id);
  ASSERT_TRUE(steps);
  EXPECT_TRUE((*steps)[0].result_is_error);
  EXPECT_NE((*steps)[0].result.find("effect is unknown"), std::string::npos);

  // An interrupted read is simply run again.
  dir_.Write("ws2/a.txt", "hello");
  auto second = controller.Create("Read", dir_.path() / "ws2", {});
  ASSERT_TRUE(second);
  ASSERT_TRUE(store_->SaveStep({.task_id = second->id,
                                .seq = 1,
                                .status = store::StepStatus::kRunning,
                                .tool_name = "read_file",
                                .tool_arguments = R"({"path":"a.txt"})",
                                .idempotency_key = second->id + ":1"}));
  model_.Push("finish", {{"summary", "done"}});
  ASSERT_TRUE(controller.Run(second->id, {}));
  auto read_steps = store_->ListSteps(second->id);
  ASSERT_TRUE(read_steps);
  EXPECT_FALSE((*read_steps)[0].result_is_error);
  EXPECT_NE((*read_steps)[0].result.find("hello"), std::string::npos);
}

TEST_F(ControllerTest, ExternalActionIsRefusedWhenNoOneCanApprove) {
  bool ran = false;
  ASSERT_TRUE(registry_.Register(std::make_unique<ExternalTool>(&ran)));
  model_.Push("post_message", nlohmann::json::object());
  model_.Push("finish", {{"summary", "could not post"}});
  Controller controller = MakeController();
  auto task = controller.Create("Post the news", dir_.path() / "ws", {});
  ASSERT_TRUE(task);
  ASSERT_TRUE(controller.Run(task->id, {}));
  EXPECT_FALSE(ran);
  auto steps = store_->ListSteps(task->id);
  ASSERT_TRUE(steps);
  EXPECT_TRUE((*steps)[0].result_is_error);
  EXPECT_NE((*steps)[0].result.find("needs approval"), std::string::npos);
}

}  // namespace
}  // namespace tandem::agent
