// The agent's memory: observations and summaries stored with task, step, tool and taint label;
// memories of other tasks recalled into the prompt (full text, no embedder); a recalled
// sensitive memory taints the task before the call it goes into.
#include "tandem/agent/agent_memory.h"

#include <gtest/gtest.h>

#include "agent_fixture.h"
#include "support/scripted_model_access.h"
#include "tandem/agent/controller.h"

namespace tandem::agent {
namespace {

class AgentMemoryTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    if (HasFatalFailure()) return;
    auto memory = memory::MemoryStore::Open(dir_.path() / "memory", {}, nullptr);
    ASSERT_TRUE(memory) << memory.error().message();
    memory_ = std::move(*memory);
    policy_ = CloudPolicy();
    ASSERT_TRUE(policy_);
  }

  // Runs one task to completion with memory.
  store::TaskRecord RunTask(testing::QueuedModelAccess& model, const std::string& goal) {
    AgentMemory agent_memory(memory_.get(), {.enabled = true}, policy_.get());
    Controller controller({.store = store_.get(),
                           .models = &model,
                           .tools = &registry_,
                           .policy = policy_.get(),
                           .memory = &agent_memory});
    auto task = controller.Create(goal, dir_.path() / "ws", {});
    EXPECT_TRUE(task);
    auto outcome = controller.Run(task->id, {});
    EXPECT_TRUE(outcome) << outcome.error().message();
    auto stored = store_->GetTask(task->id);
    EXPECT_TRUE(stored && *stored);
    return **stored;
  }

  std::unique_ptr<memory::MemoryStore> memory_;
  std::unique_ptr<router::Policy> policy_;
};

TEST_F(AgentMemoryTest, ObservationsAndSummaryAreStoredWithTheirLabels) {
  dir_.Write("ws/telescope.txt", "The zanzibar telescope needs calibration every spring.\n");
  testing::QueuedModelAccess model;
  model.Push("read_file", {{"path", "telescope.txt"}});
  model.Push("finish", {{"summary", "The telescope is calibrated each spring."}});
  store::TaskRecord task = RunTask(model, "Find out when to calibrate the telescope");

  auto observations = memory_->Get(std::string(kObservationsCollection), {});
  ASSERT_TRUE(observations) << observations.error().message();
  ASSERT_EQ(observations->size(), 1u);
  const memory::Hit& observation = observations->front();
  EXPECT_EQ(observation.id, task.id + ":1");
  EXPECT_NE(observation.document.find("zanzibar"), std::string::npos);
  EXPECT_EQ(observation.metadata["task"], task.id);
  EXPECT_EQ(observation.metadata["step"], 1);
  EXPECT_EQ(observation.metadata["tool"], "read_file");
  EXPECT_EQ(observation.metadata["taint"], kTaintNone);

  auto summaries = memory_->Get(std::string(kSummariesCollection), {});
  ASSERT_TRUE(summaries);
  ASSERT_EQ(summaries->size(), 1u);
  EXPECT_NE(summaries->front().document.find("calibrated each spring"), std::string::npos);
  EXPECT_EQ(summaries->front().metadata["taint"], kTaintNone);
}

TEST_F(AgentMemoryTest, ObservationsOfATaintedTaskAreLabelledSensitive) {
  dir_.Write("ws/contacts.txt", "Write to jane.doe@example.com about the zanzibar order.\n");
  testing::QueuedModelAccess model;
  model.Push("read_file", {{"path", "contacts.txt"}});
  model.Push("finish", {{"summary", "found the contact"}});
  RunTask(model, "Find the contact for the order");
  auto observations = memory_->Get(std::string(kObservationsCollection), {});
  ASSERT_TRUE(observations);
  ASSERT_EQ(observations->size(), 1u);
  EXPECT_EQ(observations->front().metadata["taint"], kTaintSensitive);
}

TEST_F(AgentMemoryTest, AnotherTasksObservationIsRecalledIntoThePrompt) {
  dir_.Write("ws/telescope.txt", "The zanzibar telescope needs calibration every spring.\n");
  testing::QueuedModelAccess first;
  first.Push("read_file", {{"path", "telescope.txt"}});
  first.Push("finish", {{"summary", "spring"}});
  RunTask(first, "Read the telescope notes");
  // The recalling task's own first prompt has no steps: the memory can only come from recall.
  EXPECT_EQ(first.calls[0].Text().find("needs calibration every spring"), std::string::npos);

  testing::QueuedModelAccess second;
  second.Push("finish", {{"summary", "spring"}});
  store::TaskRecord task = RunTask(second, "When should the zanzibar telescope get calibration?");
  ASSERT_EQ(second.calls.size(), 1u);
  EXPECT_NE(second.calls[0].Text().find("needs calibration every spring"), std::string::npos);
  EXPECT_FALSE(second.calls[0].tainted);
  EXPECT_EQ(task.taint, "") << "nothing sensitive was recalled";
}

TEST_F(AgentMemoryTest, RecalledSensitiveMemoryTaintsTheTaskBeforeItsCall) {
  ASSERT_TRUE(memory_->GetOrCreateCollection(std::string(kObservationsCollection), {}));
  ASSERT_TRUE(memory_->Add(
      std::string(kObservationsCollection),
      {{.id = "old:1",
        .document = "Quarterly zanzibar figures are in the board folder.",
        .metadata = {
            {"task", "old"}, {"step", 1}, {"tool", "read_file"}, {"taint", kTaintSensitive}}}}));
  testing::QueuedModelAccess model;
  model.Push("finish", {{"summary", "noted"}});
  store::TaskRecord task = RunTask(model, "Where are the zanzibar figures?");
  ASSERT_EQ(model.calls.size(), 1u);
  EXPECT_TRUE(model.calls[0].tainted) << "the call carrying the sensitive memory must be tainted";
  EXPECT_NE(task.taint.find("memory_recall"), std::string::npos) << task.taint;
  auto events = store_->ListEvents(task.id);
  ASSERT_TRUE(events);
  bool raised = false;
  for (const store::EventRecord& event : *events)
    raised |= event.type == "taint_raised";
  EXPECT_TRUE(raised);
}

TEST_F(AgentMemoryTest, UnrelatedGoalRecallsNothing) {
  ASSERT_TRUE(memory_->GetOrCreateCollection(std::string(kObservationsCollection), {}));
  ASSERT_TRUE(memory_->Add(std::string(kObservationsCollection),
                           {{.id = "old:1",
                             .document = "Quarterly zanzibar figures are in the board folder.",
                             .metadata = {{"task", "old"}, {"taint", kTaintSensitive}}}}));
  testing::QueuedModelAccess model;
  model.Push("finish", {{"summary", "ok"}});
  store::TaskRecord task = RunTask(model, "Write a haiku about autumn");
  EXPECT_FALSE(model.calls[0].tainted);
  EXPECT_EQ(model.calls[0].Text().find("zanzibar"), std::string::npos);
  EXPECT_EQ(task.taint, "");
}

TEST(AgentMemoryOptions, ReadFromTheMemorySection) {
  ConfigLoadOptions load;
  load.environment = std::map<std::string, std::string>{};
  auto config = ParseConfig("[memory]\nagent = true\nrecall_count = 5\n", "tandem.toml", load);
  ASSERT_TRUE(config) << config.error().message();
  auto options = ReadAgentMemoryOptions(*config);
  ASSERT_TRUE(options) << options.error().message();
  EXPECT_TRUE(options->enabled);
  EXPECT_EQ(options->recall_count, 5u);
  auto none = ParseConfig("", "tandem.toml", load);
  ASSERT_TRUE(none);
  EXPECT_FALSE(ReadAgentMemoryOptions(*none)->enabled);
  auto bad = ParseConfig("[memory]\nrecall_count = -1\n", "tandem.toml", load);
  ASSERT_TRUE(bad);
  auto refused = ReadAgentMemoryOptions(*bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("recall_count"), std::string::npos);
}

}  // namespace
}  // namespace tandem::agent
