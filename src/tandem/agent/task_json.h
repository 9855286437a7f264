// The JSON view of a task for people and programs (`tandem tasks show --json`, the server's
// GET /api/tasks/{id}): the store's view plus what the agent reads out of its records — each
// step's structured thoughts and the context summary.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "tandem/core/error.h"
#include "tandem/store/task_store.h"

namespace tandem::agent {

// kNotFound for an unknown task.
Result<nlohmann::ordered_json> TaskDetailJson(store::TaskStore& store, std::string_view task_id);

}  // namespace tandem::agent
