// Delegation: the `delegate` tool starts a child task for a sub-goal, runs it to completion in
// the same process through the same Controller machinery, and returns its outcome as the
// parent's observation. The child's budget is carved out of what the parent has left (a
// parent's spend includes its children's); the child starts with the parent's taint, and the
// parent takes on any taint the child gains.
#pragma once

#include <memory>
#include <string>

#include "tandem/agent/budget.h"
#include "tandem/agent/controller.h"
#include "tandem/tools/tools.h"

namespace tandem::agent {

inline constexpr std::string_view kDelegateTool = "delegate";

// What the descendants of a task used: ledger cost and tokens, tool calls of done steps. Wall
// time is not included (children run inside the parent's own wall time).
Result<Spend> SpendOfChildren(store::TaskStore& store, const std::string& task_id);

struct DelegationOptions {
  int max_depth = 2;             // Levels of children below a top-level task.
  int default_child_steps = 10;  // Step limit of a child when the model names none.
};

// The `delegate` tool. Register it, then Bind the deps the children run with (the same store,
// model access, registry, policy, events, cancellation and memory as the parent). Invoke is
// not thread-safe: children run one at a time on the caller's thread.
class DelegateTool final : public tools::Tool {
 public:
  explicit DelegateTool(DelegationOptions options = {});
  // `context_tokens`: the children's context window (RunOptions::context_tokens).
  void Bind(ControllerDeps deps, int64_t context_tokens = 0) {
    deps_ = deps;
    context_tokens_ = context_tokens;
  }

  std::string_view name() const override { return kDelegateTool; }
  std::string_view description() const override;
  const nlohmann::json& schema() const override { return schema_; }
  // The child runs tools in the parent's workspace.
  tools::EffectClass effect() const override { return tools::EffectClass::kWriteWorkspace; }
  // Needs ToolContext::task_id (the parent). Returns the child's summary (or why it stopped,
  // with is_error); fails with kFailedPrecondition when unbound, kInvalidArgument past the
  // depth limit or with no budget left, kCancelled when the child was cancelled.
  Result<tools::ToolResult> Invoke(const nlohmann::json& args,
                                   tools::ToolContext& context) const override;

 private:
  Result<int> DepthOf(const store::TaskRecord& task) const;
  Result<RunOptions> ChildOptions(const store::TaskRecord& parent,
                                  const nlohmann::json& args) const;

  DelegationOptions options_;
  ControllerDeps deps_;
  int64_t context_tokens_ = 0;
  nlohmann::json schema_;
};

}  // namespace tandem::agent
