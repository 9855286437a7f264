// Context condensing with a scripted model and a small window: one summary call per overflow,
// the summary persisted, extended rather than redone, and reused after resume.
#include "tandem/agent/context.h"

#include <gtest/gtest.h>

#include <deque>

#include "agent_fixture.h"
#include "tandem/agent/controller.h"
#include "tandem/agent/thoughts.h"
#include "tandem/llm/token_estimate.h"

namespace tandem::agent {
namespace {

constexpr size_t kFileBytes = 2000;  // About 500 estimated tokens per read_file step.

// Answers step calls (with tools) from a script and summary calls (no tools) with a numbered
// summary; records every request.
class RecordingModel final : public ModelAccess {
 public:
  void Push(std::string tool, nlohmann::json args) {
    replies_.push_back({std::move(tool), args.dump()});
  }
  Result<ModelAnswer> Call(const llm::ChatRequest& request, const CallContext&) override {
    requests.push_back(request);
    ModelAnswer answer;
    answer.provider = "scripted";
    if (request.tools.empty()) {
      summaries.push_back(requests.size() - 1);
      answer.response.message =
          llm::Message{llm::Role::kAssistant, fmt::format("SUMMARY-{}", summaries.size()), {}, ""};
      return answer;
    }
    if (replies_.empty()) return MakeError(ErrorCode::kUnavailable, "script exhausted");
    auto [tool, args] = replies_.front();
    replies_.pop_front();
    answer.response.message = {llm::Role::kAssistant,
                               "Observations: none yet\nReasoning: read the next file\nPlan: read "
                               "all files\nCriticism: slow",
                               {{"id", tool, args}},
                               ""};
    return answer;
  }

  static std::string Text(const llm::ChatRequest& request) {
    std::string text;
    for (const llm::Message& message : request.messages)
      text += message.content + "\n";
    return text;
  }

  std::vector<llm::ChatRequest> requests;
  std::vector<size_t> summaries;  // Indexes into `requests` of summary calls.

 private:
  std::deque<std::pair<std::string, std::string>> replies_;
};

class ContextTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    if (HasFatalFailure()) return;
    for (int i = 0; i < 12; ++i) {
      dir_.Write(fmt::format("ws/f{}.txt", i),
                 std::string(kFileBytes, static_cast<char>('a' + i)) + "\n");
    }
  }

  // A window where the fixed prompt plus about 3.5 file reads fit, leaving the answer reserve.
  int64_t SmallWindow() {
    store::TaskRecord task{.goal = "Read the files"};
    std::vector<llm::ToolSpec> specs = ToolSpecs(registry_);
    int64_t fixed = llm::EstimatePromptTokens(BuildMessages(task, {}, specs, ""));
    for (const llm::ToolSpec& spec : specs) {
      fixed += llm::EstimateTokens(spec.name) + llm::EstimateTokens(spec.description) +
               llm::EstimateTokens(spec.parameters.dump()) + 4;
    }
    auto step = static_cast<int64_t>(kFileBytes / 4 + 60);
    return (fixed + step * 7 / 2) * 4 / 3;
  }

  Controller MakeController(RecordingModel& model) {
    return Controller({.store = store_.get(), .models = &model, .tools = &registry_});
  }
};

TEST_F(ContextTest, CondensesOncePerOverflowAndExtendsTheSummary) {
  RecordingModel model;
  for (int i = 0; i < 10; ++i)
    model.Push("read_file", {{"path", fmt::format("f{}.txt", i)}});
  model.Push("finish", {{"summary", "read them all"}});
  Controller controller = MakeController(model);
  RunOptions options{.context_tokens = SmallWindow()};
  auto task = controller.Create("Read the files", dir_.path() / "ws", options);
  ASSERT_TRUE(task);
  auto outcome = controller.Run(task->id, options);
  ASSERT_TRUE(outcome) << outcome.error().message();
  EXPECT_EQ(outcome->status, store::TaskStatus::kSucceeded) << outcome->stop_reason;

  ASSERT_GE(model.summaries.size(), 2u) << "ten large reads overflow the window more than once";
  for (size_t i = 1; i < model.summaries.size(); ++i) {
    EXPECT_GE(model.summaries[i] - model.summaries[i - 1], 3u)
        << "a summary must free room for several steps, not be redone at every step";
    // Extended, not redone: the new call is given the previous summary.
    EXPECT_NE(
        RecordingModel::Text(model.requests[model.summaries[i]]).find(fmt::format("SUMMARY-{}", i)),
        std::string::npos);
  }
  // Each summary goes through the same model access as steps; no step call lacks tools.
  size_t step_calls = model.requests.size() - model.summaries.size();
  EXPECT_EQ(step_calls, 11u);

  // Every step request fits the window and carries the latest summary instead of old steps.
  ContextBuilder sizing(store_.get(), &model, &SystemClock(), options.context_tokens);
  const llm::ChatRequest& last = model.requests.back();
  std::string last_text = RecordingModel::Text(last);
  EXPECT_NE(last_text.find(fmt::format("SUMMARY-{}", model.summaries.size())), std::string::npos);
  EXPECT_EQ(last_text.find(std::string(100, 'a')), std::string::npos) << "step 1 was condensed";
  EXPECT_NE(last_text.find(std::string(100, 'j')), std::string::npos) << "newest step kept";
  EXPECT_LE(llm::EstimatePromptTokens(last.messages),
            options.context_tokens - sizing.answer_reserve());

  auto stored = store_->GetContextSummary(task->id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->summary, fmt::format("SUMMARY-{}", model.summaries.size()));
  EXPECT_GT((*stored)->through_seq, 0);
  auto events = store_->ListEvents(task->id);
  ASSERT_TRUE(events);
  size_t summarised = 0;
  for (const store::EventRecord& event : *events)
    summarised += event.type == "context_summarised";
  EXPECT_EQ(summarised, model.summaries.size());
}

TEST_F(ContextTest, ResumedTaskReusesTheStoredSummary) {
  RecordingModel first;
  for (int i = 0; i < 5; ++i)
    first.Push("read_file", {{"path", fmt::format("f{}.txt", i)}});
  RunOptions options{.max_steps = 5, .context_tokens = SmallWindow()};
  auto task = MakeController(first).Create("Read the files", dir_.path() / "ws", options);
  ASSERT_TRUE(task);
  auto stopped = MakeController(first).Run(task->id, options);
  ASSERT_TRUE(stopped) << stopped.error().message();
  ASSERT_EQ(stopped->status, store::TaskStatus::kStopped);
  ASSERT_EQ(first.summaries.size(), 1u);
  auto saved = store_->GetContextSummary(task->id);
  ASSERT_TRUE(saved && *saved);

  RecordingModel second;
  second.Push("finish", {{"summary", "done"}});
  options.max_steps = 10;
  auto resumed = MakeController(second).Run(task->id, options);
  ASSERT_TRUE(resumed) << resumed.error().message();
  EXPECT_EQ(resumed->status, store::TaskStatus::kSucceeded);
  EXPECT_TRUE(second.summaries.empty()) << "the stored summary still fits: no new summary call";
  ASSERT_EQ(second.requests.size(), 1u);
  std::string text = RecordingModel::Text(second.requests[0]);
  EXPECT_NE(text.find("SUMMARY-1"), std::string::npos);
  EXPECT_EQ(text.find(std::string(100, 'a')), std::string::npos) << "condensed step not resent";
}

TEST_F(ContextTest, UnlimitedWindowNeverCondenses) {
  RecordingModel model;
  for (int i = 0; i < 6; ++i)
    model.Push("read_file", {{"path", fmt::format("f{}.txt", i)}});
  model.Push("finish", {{"summary", "done"}});
  Controller controller = MakeController(model);
  auto task = controller.Create("Read the files", dir_.path() / "ws", {});
  ASSERT_TRUE(task);
  ASSERT_TRUE(controller.Run(task->id, {}));
  EXPECT_TRUE(model.summaries.empty());
  auto stored = store_->GetContextSummary(task->id);
  ASSERT_TRUE(stored);
  EXPECT_FALSE(*stored);
}

TEST_F(ContextTest, EachRequestIsWhatBuildMessagesGivesWhileTheStepsChange) {
  RecordingModel model;  // Never called: the window is unlimited.
  ContextBuilder builder(store_.get(), &model, &SystemClock(), 0);
  store::TaskRecord task{.id = "task-1", .goal = "Read the files"};
  std::vector<llm::ToolSpec> specs = ToolSpecs(registry_);
  std::vector<store::StepRecord> steps;
  auto step = [](int64_t seq, store::StepStatus status) {
    return store::StepRecord{.seq = seq,
                             .status = status,
                             .thoughts = fmt::format("thinking {}", seq),
                             .tool_name = "read_file",
                             .tool_arguments = fmt::format(R"({{"path": "f{}.txt"}})", seq),
                             .result = fmt::format("contents {}", seq)};
  };
  auto expect_as_built = [&](const std::string& note, const std::vector<std::string>& recalled) {
    auto built = builder.Build(task, steps, specs, note, recalled, {});
    ASSERT_TRUE(built) << built.error().message();
    EXPECT_EQ(built->request->messages,
              BuildMessages(task, steps, specs, note, {.recalled = recalled}));
    EXPECT_EQ(built->request->tools.size(), specs.size());
    EXPECT_EQ(built->request->tool_choice, "auto");
  };
  expect_as_built("", {});
  steps.push_back(step(1, store::StepStatus::kDone));
  expect_as_built("your last answer had no tool call", {"a memory"});
  steps.push_back(step(2, store::StepStatus::kDone));
  steps.push_back(step(3, store::StepStatus::kDone));
  expect_as_built("", {});
  // An unfinished step is left out until it is done.
  steps.push_back(step(4, store::StepStatus::kRunning));
  expect_as_built("", {"another memory"});
  steps.back().status = store::StepStatus::kDone;
  expect_as_built("", {});
  // A done step after an unfinished one, then the unfinished one done.
  steps.push_back(step(5, store::StepStatus::kProposed));
  steps.push_back(step(6, store::StepStatus::kDone));
  expect_as_built("", {});
  steps[4].status = store::StepStatus::kDone;
  expect_as_built("a note", {});
  // A different record of steps (another task's, or one rewritten) is not taken for grown.
  steps = {step(1, store::StepStatus::kDone)};
  expect_as_built("", {});
  task.id = "task-2";
  steps.push_back(step(2, store::StepStatus::kDone));
  expect_as_built("", {});
}

TEST(ContextWindowFor, ConfigurationWinsThenCatalogThenDefault) {
  Config config;
  EXPECT_EQ(ContextWindowFor(config, nullptr), kDefaultContextTokens);
  auto catalog = llm::PriceCatalog::FromJson(
      R"({"small-model": {"input_cost_per_token": 0, "output_cost_per_token": 0,
                          "max_input_tokens": 8000},
          "big-model": {"input_cost_per_token": 0, "output_cost_per_token": 0,
                        "max_input_tokens": 128000}})",
      "test");
  ASSERT_TRUE(catalog) << catalog.error().message();
  config.providers.push_back({.name = "a", .model = "big-model"});
  config.providers.push_back({.name = "b", .model = "small-model"});
  config.providers.push_back({.name = "c", .model = "unknown-model"});
  EXPECT_EQ(ContextWindowFor(config, &*catalog), 8000) << "any provider may be routed to";
  config.agent.context_tokens = 4096;
  EXPECT_EQ(ContextWindowFor(config, &*catalog), 4096);
}

TEST(Thoughts, ParsesLabelledPartsWithDecorations) {
  Thoughts thoughts = ParseThoughts(
      "Let me think.\n**Observations:** the file is empty\n- Reasoning: nothing to keep\n"
      "  and it is safe\nPLAN: write it\nSelf-criticism: maybe it was meant to be empty");
  EXPECT_EQ(thoughts.observations, "the file is empty");
  EXPECT_EQ(thoughts.reasoning, "nothing to keep\nand it is safe");
  EXPECT_EQ(thoughts.plan, "write it");
  EXPECT_EQ(thoughts.criticism, "maybe it was meant to be empty");
  EXPECT_TRUE(ParseThoughts("I'll just read the file.").empty());
  EXPECT_TRUE(ThoughtsToJson(ParseThoughts("")).is_null());
  EXPECT_EQ(ThoughtsToJson(thoughts)["plan"], "write it");
}

}  // namespace
}  // namespace tandem::agent
