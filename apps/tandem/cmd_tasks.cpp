// `tandem tasks list|show`: what ran, what it did, what it cost.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "tandem/agent/task_json.h"
#include "tandem/store/task_json.h"
#include "tandem/store/task_store.h"

namespace tandem::cli {
namespace {

using nlohmann::ordered_json;
using store::TaskJson;

struct TasksFlags {
  bool json = false;
  std::string task_id;
  int limit = 50;
};

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
  Result<ordered_json> out = agent::TaskDetailJson(*store, flags.task_id);
  if (!steps || !artifacts || !out) {
    state.exit_code = ReportError(Error(ErrorCode::kInternal, "reading the task's records failed"),
                                  kExitTaskFailed);
    return;
  }
  if (flags.json) {
    fmt::print("{}\n", Dump(*out));
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
  const ordered_json& totals = (*out)["totals"];
  fmt::print("model calls: {}, tokens: {} in / {} out, cost: ${:.6f}{}\n",
             totals["model_calls"].get<int64_t>(), totals["prompt_tokens"].get<int64_t>(),
             totals["completion_tokens"].get<int64_t>(), totals["cost_usd"].get<double>(),
             totals["cost_complete"].get<bool>() ? "" : " (some models unpriced)");
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
