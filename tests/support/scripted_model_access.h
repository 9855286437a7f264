// A ModelAccess for unit tests that need no HTTP: each call's tool call comes from a function of
// the call (task, step); calls are recorded. Header-only, so only tests that link the agent
// module pull it in. Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tandem/agent/model_access.h"

namespace tandem::testing {

class ScriptedModelAccess final : public agent::ModelAccess {
 public:
  // The tool name and JSON arguments to call; an error makes the call fail.
  using Script =
      std::function<Result<std::pair<std::string, nlohmann::json>>(const agent::CallContext&)>;

  explicit ScriptedModelAccess(Script script) : script_(std::move(script)) {}

  Result<agent::ModelAnswer> Call(const llm::ChatRequest&,
                                  const agent::CallContext& context) override {
    {
      std::lock_guard lock(mu_);
      calls_.push_back({context.task_id, context.step_seq,
                        context.taint != nullptr && context.taint->tainted()});
    }
    Result<std::pair<std::string, nlohmann::json>> action = script_(context);
    if (!action) return std::unexpected(action.error());
    agent::ModelAnswer answer;
    answer.response.message = {
        llm::Role::kAssistant, "", {{"call", action->first, action->second.dump()}}, ""};
    answer.provider = "scripted";
    return answer;
  }

  struct Seen {
    std::string task_id;
    int64_t step_seq = 0;
    bool tainted = false;
  };
  std::vector<Seen> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  Script script_;
  mutable std::mutex mu_;
  std::vector<Seen> calls_;  // GUARDED_BY(mu_)
};

}  // namespace tandem::testing
