#include "tandem/store/task_json.h"

namespace tandem::store {

using nlohmann::ordered_json;

ordered_json TaskJson(const TaskRecord& task) {
  return {{"id", task.id},
          {"parent_id", task.parent_id},
          {"goal", task.goal},
          {"status", TaskStatusName(task.status)},
          {"stop_reason", task.stop_reason},
          {"workspace", task.workspace},
          {"taint", task.taint},
          {"created_at_ms", task.created_at_ms},
          {"updated_at_ms", task.updated_at_ms}};
}

ordered_json StepJson(const StepRecord& step) {
  ordered_json arguments = ordered_json::parse(step.tool_arguments, nullptr, false);
  if (arguments.is_discarded()) arguments = step.tool_arguments;
  ordered_json approval = ordered_json::parse(step.approval, nullptr, false);
  if (approval.is_discarded()) approval = nullptr;  // Empty: the call needed no approval.
  return {{"seq", step.seq},
          {"status", StepStatusName(step.status)},
          {"thoughts", step.thoughts},
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

Result<ordered_json> TaskDetailJson(TaskStore& store, std::string_view task_id) {
  Result<std::optional<TaskRecord>> task = store.GetTask(task_id);
  if (!task) return std::unexpected(task.error());
  if (!*task) return MakeError(ErrorCode::kNotFound, "no task {}", task_id);
  auto steps = store.ListSteps(task_id);
  if (!steps) return std::unexpected(steps.error());
  auto artifacts = store.ListArtifacts(task_id);
  if (!artifacts) return std::unexpected(artifacts.error());
  auto ledger = store.ListLedger({.task_id = std::string(task_id)});
  if (!ledger) return std::unexpected(ledger.error());
  ordered_json out = TaskJson(**task);
  out["steps"] = ordered_json::array();
  for (const StepRecord& step : *steps)
    out["steps"].push_back(StepJson(step));
  out["artifacts"] = ordered_json::array();
  for (const ArtifactRecord& artifact : *artifacts) {
    out["artifacts"].push_back({{"path", artifact.path},
                                {"size_bytes", artifact.size_bytes},
                                {"step", artifact.step_seq}});
  }
  int64_t prompt = 0, completion = 0;
  double cost = 0;
  bool cost_known = true;
  for (const LedgerRow& row : *ledger) {
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
  return out;
}

}  // namespace tandem::store
