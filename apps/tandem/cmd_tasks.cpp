// `tandem tasks list|show`: what ran, what it did, what it cost.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "tandem/agent/thoughts.h"
#include "tandem/store/task_store.h"

namespace tandem::cli {
namespace {

using nlohmann::ordered_json;

struct TasksFlags {
  bool json = false;
  std::string task_id;
  int limit = 50;
};

ordered_json TaskJson(const store::TaskRecord& task) {
  return {{"id", task.id},
          {"parent_id", task.parent_id},
          {"goal", task.goal},
          {"status", store::TaskStatusName(task.status)},
          {"stop_reason", task.stop_reason},
          {"workspace", task.workspace},
          {"taint", task.taint},
          {"created_at_ms", task.created_at_ms},
          {"updated_at_ms", task.updated_at_ms}};
}

ordered_json StepJson(const store::StepRecord& step) {
  ordered_json arguments = ordered_json::parse(step.tool_arguments, nullptr, false);
  if (arguments.is_discarded()) arguments = step.tool_arguments;
  ordered_json approval = ordered_json::parse(step.approval, nullptr, false);
  if (approval.is_discarded()) approval = nullptr;  // Empty: the call needed no approval.
  return {{"seq", step.seq},
          {"status", store::StepStatusName(step.status)},
          {"thoughts", step.thoughts},
          {"structured_thoughts", agent::ThoughtsToJson(agent::ParseThoughts(step.thoughts))},
          {"tool_call",
           {{"id", step.tool_call_id}, {"name", step.tool_name}, {"arguments", arguments}}},
          {"result", step.result},
          {"is_error", step.result_is_error},
          {"prompt_tokens", step.prompt_tokens},
          {"completion_tokens", step.completion_tokens},
          {"cost_usd", step.cost_usd},
          {"provider", step.provider},
          {"zone", step.zone},
          {"approval", approval}};
}

std::string Dump(const ordered_json& value) {
  return value.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

void ListCommand(CommandState& state, const TasksFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  auto tasks = store->ListTasks(flags.limit);
  if (!tasks) {
    state.exit_code = ReportError(tasks.error(), kExitTaskFailed);
    return;
  }
  if (flags.json) {
    ordered_json out = ordered_json::array();
    for (const store::TaskRecord& task : *tasks)
      out.push_back(TaskJson(task));
    fmt::print("{}\n", Dump(out));
    return;
  }
  if (tasks->empty()) fmt::print("no tasks yet\n");
  for (const store::TaskRecord& task : *tasks) {
    std::string goal = task.goal.size() > 60 ? task.goal.substr(0, 57) + "..." : task.goal;
    fmt::print("{}  {:<9}  {}\n", task.id, store::TaskStatusName(task.status), goal);
  }
}

void ShowCommand(CommandState& state, const TasksFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  std::optional<store::TaskRecord> task = FindTaskOrReport(*store, flags.task_id, state);
  if (!task) return;
  auto steps = store->ListSteps(flags.task_id);
  auto artifacts = store->ListArtifacts(flags.task_id);
  auto ledger = store->ListLedger({.task_id = flags.task_id});
  if (!steps || !artifacts || !ledger) {
    state.exit_code = ReportError(Error(ErrorCode::kInternal, "reading the task's records failed"),
                                  kExitTaskFailed);
    return;
  }
  ordered_json out = TaskJson(*task);
  out["steps"] = ordered_json::array();
  for (const store::StepRecord& step : *steps)
    out["steps"].push_back(StepJson(step));
  if (auto summary = store->GetContextSummary(flags.task_id); summary && *summary) {
    out["context_summary"] = {{"through_step", (*summary)->through_seq},
                              {"summary", (*summary)->summary}};
  }
  out["artifacts"] = ordered_json::array();
  for (const store::ArtifactRecord& artifact : *artifacts) {
    out["artifacts"].push_back({{"path", artifact.path},
                                {"size_bytes", artifact.size_bytes},
                                {"step", artifact.step_seq}});
  }
  int64_t prompt = 0, completion = 0;
  double cost = 0;
  bool cost_known = true;
  for (const store::LedgerRow& row : *ledger) {
    prompt += row.prompt_tokens;
    completion += row.completion_tokens;
    if (row.cost_usd) {
      cost += *row.cost_usd;
    } else {
      cost_known = false;
    }
  }
  out["totals"] = {{"model_calls", ledger->size()},
                   {"prompt_tokens", prompt},
                   {"completion_tokens", completion},
                   {"cost_usd", cost},
                   {"cost_complete", cost_known}};
  if (flags.json) {
    fmt::print("{}\n", Dump(out));
    return;
  }
  fmt::print("task {}  {}\ngoal: {}\nworkspace: {}\n", task->id,
             store::TaskStatusName(task->status), task->goal, task->workspace);
  if (!task->stop_reason.empty()) fmt::print("stop reason: {}\n", task->stop_reason);
  for (const store::StepRecord& step : *steps) {
    fmt::print("step {} [{}] {} {}\n", step.seq, store::StepStatusName(step.status), step.tool_name,
               step.tool_arguments);
    if (!step.result.empty()) {
      std::string result =
          step.result.size() > 300 ? step.result.substr(0, 300) + "..." : step.result;
      fmt::print("    -> {}\n", result);
    }
  }
  for (const store::ArtifactRecord& artifact : *artifacts) {
    fmt::print("artifact: {} ({} bytes)\n", artifact.path, artifact.size_bytes);
  }
  fmt::print("model calls: {}, tokens: {} in / {} out, cost: ${:.6f}{}\n", ledger->size(), prompt,
             completion, cost, cost_known ? "" : " (some models unpriced)");
}

}  // namespace

void AddTasksCommands(CLI::App& app, CommandState& state) {
  // Shared with the callbacks, which run after this function returns.
  auto flags = std::make_shared<TasksFlags>();
  CLI::App* tasks = app.add_subcommand("tasks", "List and inspect tasks");
  tasks->require_subcommand(1);
  CLI::App* list = tasks->add_subcommand("list", "List recent tasks, newest first");
  list->add_flag("--json", flags->json, "Print JSON");
  list->add_option("--limit", flags->limit, "How many tasks")->check(CLI::Range(1, 100000));
  list->callback([&state, flags] { ListCommand(state, *flags); });
  CLI::App* show = tasks->add_subcommand("show", "Show a task's steps, artifacts and totals");
  show->add_option("task-id", flags->task_id, "Task id")->required();
  show->add_flag("--json", flags->json, "Print JSON");
  show->callback([&state, flags] { ShowCommand(state, *flags); });
}

}  // namespace tandem::cli
