// The JSON views of tasks shared by `tandem tasks list|show --json` and the server's API, so
// both always have the same shape.
#pragma once

#include <nlohmann/json.hpp>

#include "tandem/store/task_store.h"

namespace tandem::store {

// One task's row: id, parent_id, goal, status, stop_reason, workspace, taint, timestamps.
nlohmann::ordered_json TaskJson(const TaskRecord& task);
// One step: seq, status, thoughts, tool_call {id, name, arguments}, result, usage, zone.
nlohmann::ordered_json StepJson(const StepRecord& step);
// TaskJson plus steps, artifacts and totals (model calls, tokens, cost). Fails with kNotFound
// when the task does not exist, or with the store's error.
Result<nlohmann::ordered_json> TaskDetailJson(TaskStore& store, std::string_view task_id);

}  // namespace tandem::store
