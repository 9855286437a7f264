#include "tandem/agent/task_json.h"

#include "tandem/agent/thoughts.h"
#include "tandem/store/task_json.h"

namespace tandem::agent {

using nlohmann::ordered_json;

Result<ordered_json> TaskDetailJson(store::TaskStore& store, std::string_view task_id) {
  Result<ordered_json> out = store::TaskDetailJson(store, task_id);
  if (!out) return out;
  for (ordered_json& step : (*out)["steps"]) {
    std::string thoughts = step.value("thoughts", std::string());
    step["structured_thoughts"] = ThoughtsToJson(ParseThoughts(thoughts));
  }
  Result<std::optional<store::ContextSummary>> summary = store.GetContextSummary(task_id);
  if (!summary) return std::unexpected(summary.error());
  if (*summary) {
    (*out)["context_summary"] = {{"through_step", (*summary)->through_seq},
                                 {"summary", (*summary)->summary}};
  }
  return out;
}

}  // namespace tandem::agent
