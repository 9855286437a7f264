// The delegate tool end to end with a scripted model: a child task runs to completion inside the
// parent's step, its summary is the parent's observation, its budget comes out of the parent's,
// and taint flows down (inherited) and back up (merged).
#include "tandem/agent/delegate.h"

#include <gtest/gtest.h>

#include "agent_fixture.h"
#include "support/scripted_model_access.h"

namespace tandem::agent {
namespace {

class DelegateTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    if (HasFatalFailure()) return;
    auto delegate = std::make_unique<DelegateTool>();
    delegate_ = delegate.get();
    ASSERT_TRUE(registry_.Register(std::move(delegate)));
    policy_ = CloudPolicy();
    ASSERT_TRUE(policy_);
    deps_ = {
        .store = store_.get(), .models = &model_, .tools = &registry_, .policy = policy_.get()};
    delegate_->Bind(deps_);
  }

  Result<TaskOutcome> RunParent(const std::string& goal, const RunOptions& options = {}) {
    Controller controller(deps_);
    auto task = controller.Create(goal, dir_.path() / "ws", options);
    if (!task) return std::unexpected(task.error());
    parent_id_ = task->id;
    return controller.Run(task->id, options);
  }

  std::vector<store::TaskRecord> Children() {
    auto children = store_->ListChildTasks(parent_id_);
    EXPECT_TRUE(children);
    return children ? *children : std::vector<store::TaskRecord>{};
  }

  DelegateTool* delegate_ = nullptr;
  std::unique_ptr<router::Policy> policy_;
  testing::QueuedModelAccess model_;
  ControllerDeps deps_;
  std::string parent_id_;
};

TEST_F(DelegateTest, ChildRunsToCompletionAndItsSummaryIsTheObservation) {
  model_.Push("delegate", {{"goal", "Write hello to child.txt"}});
  model_.Push("write_file", {{"path", "child.txt"}, {"content", "hello"}});
  model_.Push("finish", {{"summary", "child.txt holds hello"}});
  model_.Push("finish", {{"summary", "delegated"}});
  auto outcome = RunParent("Get child.txt written");
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(outcome->status, store::TaskStatus::kSucceeded) << outcome->stop_reason;

  std::vector<store::TaskRecord> children = Children();
  ASSERT_EQ(children.size(), 1u);
  const store::TaskRecord& child = children[0];
  EXPECT_EQ(child.parent_id, parent_id_);
  EXPECT_EQ(child.status, store::TaskStatus::kSucceeded);
  EXPECT_EQ(child.goal, "Write hello to child.txt");
  EXPECT_EQ(testing::ReadFile(dir_.path() / "ws" / "child.txt"), "hello");
  std::vector<std::string> callers;
  for (const auto& call : model_.calls)
    callers.push_back(call.task_id);
  EXPECT_EQ(callers, (std::vector<std::string>{parent_id_, child.id, child.id, parent_id_}));

  auto steps = store_->ListSteps(parent_id_);
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0].tool_name, "delegate");
  EXPECT_FALSE((*steps)[0].result_is_error);
  EXPECT_NE((*steps)[0].result.find("child.txt holds hello"), std::string::npos);
}

TEST_F(DelegateTest, ChildBudgetIsCarvedFromTheParentsAndCountsAgainstIt) {
  model_.Push("delegate", {{"goal", "List and read"}});
  model_.Push("list_files", {{"path", "."}});
  model_.Push("list_files", {{"path", "sub"}});
  model_.Push("list_files", {{"path", "other"}});  // Over the child's carved limit: not reached.
  dir_.Write("ws/sub/a.txt", "a");
  RunOptions options;
  options.budget.tool_calls = 3;
  auto outcome = RunParent("Explore", options);
  ASSERT_TRUE(outcome) << outcome.error().message();

  std::vector<store::TaskRecord> children = Children();
  ASSERT_EQ(children.size(), 1u);
  RunOptions child_options = StoredRunOptions(children[0]);
  ASSERT_TRUE(child_options.budget.tool_calls);
  EXPECT_EQ(*child_options.budget.tool_calls, 2) << "3 left, minus the delegate call itself";
  EXPECT_EQ(children[0].status, store::TaskStatus::kStopped);
  EXPECT_NE(children[0].stop_reason.find("budget"), std::string::npos);
  // The parent's 1 call plus the child's 2 use up the parent's 3.
  EXPECT_EQ(outcome->status, store::TaskStatus::kStopped);
  EXPECT_NE(outcome->stop_reason.find("budget"), std::string::npos) << outcome->stop_reason;
  EXPECT_EQ(model_.calls.size(), 3u) << "the parent made no call after its budget ran out";
}

TEST_F(DelegateTest, ChildInheritsTheParentsTaint) {
  model_.Push("delegate", {{"goal", "Draft a note"}});
  model_.Push("finish", {{"summary", "drafted"}});
  model_.Push("finish", {{"summary", "done"}});
  auto outcome = RunParent("Call +86 138 0013 8000 about the offer");
  ASSERT_TRUE(outcome) << outcome.error().message();
  ASSERT_EQ(model_.calls.size(), 3u);
  EXPECT_TRUE(model_.calls[1].tainted) << "the child's first call carries the parent's taint";
  std::vector<store::TaskRecord> children = Children();
  ASSERT_EQ(children.size(), 1u);
  EXPECT_NE(children[0].taint.find("parent_task"), std::string::npos) << children[0].taint;
}

TEST_F(DelegateTest, TaintTheChildMeetsReachesTheParent) {
  dir_.Write("ws/contacts.txt", "jane.doe@example.com\n");
  model_.Push("delegate", {{"goal", "Read contacts.txt"}});
  model_.Push("read_file", {{"path", "contacts.txt"}});
  model_.Push("finish", {{"summary", "one contact"}});
  model_.Push("finish", {{"summary", "done"}});
  auto outcome = RunParent("Count the contacts");
  ASSERT_TRUE(outcome) << outcome.error().message();
  ASSERT_EQ(model_.calls.size(), 4u);
  EXPECT_FALSE(model_.calls[0].tainted);
  EXPECT_TRUE(model_.calls[3].tainted) << "the parent's call after the child read sensitive data";
  auto parent = store_->GetTask(parent_id_);
  ASSERT_TRUE(parent && *parent);
  EXPECT_NE((*parent)->taint.find("email"), std::string::npos) << (*parent)->taint;
}

TEST_F(DelegateTest, DelegationDepthIsBounded) {
  for (int i = 0; i < 3; ++i)
    model_.Push("delegate", {{"goal", fmt::format("level {}", i + 1)}});
  model_.Push("finish", {{"summary", "level 2 did it"}});
  model_.Push("finish", {{"summary", "level 1 done"}});
  model_.Push("finish", {{"summary", "top done"}});
  auto outcome = RunParent("Top");
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(outcome->status, store::TaskStatus::kSucceeded) << outcome->stop_reason;
  auto all = store_->ListTasks();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u) << "top, level 1 and level 2; the third delegation was refused";
}

}  // namespace
}  // namespace tandem::agent
