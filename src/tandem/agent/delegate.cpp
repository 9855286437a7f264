#include "tandem/agent/delegate.h"

#include <fmt/format.h>

#include <algorithm>

#include "tandem/core/id.h"

namespace tandem::agent {
namespace {

using nlohmann::json;

// Limits left of `budget` after `spend`; unset limits stay unset.
Budget Remaining(const Budget& budget, const Spend& spend) {
  Budget left;
  if (budget.usd) left.usd = std::max(0.0, *budget.usd - spend.usd);
  if (budget.tokens) left.tokens = std::max<int64_t>(0, *budget.tokens - spend.tokens);
  if (budget.seconds) left.seconds = std::max(0.0, *budget.seconds - spend.seconds);
  if (budget.tool_calls) {
    // The delegate call itself is one of the parent's tool calls.
    left.tool_calls = std::max<int64_t>(0, *budget.tool_calls - spend.tool_calls - 1);
  }
  return left;
}

template <typename T>
std::optional<T> Smaller(std::optional<T> a, std::optional<T> b) {
  if (a && b) return std::min(*a, *b);
  return a ? a : b;
}

double StoredElapsed(const store::TaskRecord& task) {
  json settings = json::parse(task.settings, nullptr, false);
  return settings.is_object() ? settings.value("elapsed_s", 0.0) : 0.0;
}

}  // namespace

Result<Spend> SpendOfChildren(store::TaskStore& store, const std::string& task_id) {
  Spend spend;
  Result<std::vector<store::TaskRecord>> children = store.ListChildTasks(task_id);
  if (!children) return std::unexpected(children.error());
  std::vector<std::string> pending;
  for (store::TaskRecord& child : *children)
    pending.push_back(std::move(child.id));
  while (!pending.empty()) {
    std::string id = std::move(pending.back());
    pending.pop_back();
    Result<store::LedgerTotals> used = store.SumLedger(id);
    if (!used) return std::unexpected(used.error());
    spend.usd += used->cost_usd;
    spend.tokens += used->tokens;
    Result<std::vector<store::StepRecord>> steps = store.ListSteps(id);
    if (!steps) return std::unexpected(steps.error());
    for (const store::StepRecord& step : *steps) {
      if (step.tool_name != kFinishTool && step.status == store::StepStatus::kDone) {
        ++spend.tool_calls;
      }
    }
    Result<std::vector<store::TaskRecord>> grandchildren = store.ListChildTasks(id);
    if (!grandchildren) return std::unexpected(grandchildren.error());
    for (store::TaskRecord& child : *grandchildren)
      pending.push_back(std::move(child.id));
  }
  return spend;
}

DelegateTool::DelegateTool(DelegationOptions options) : options_(options) {
  schema_ = {{"type", "object"},
             {"properties",
              {{"goal", {{"type", "string"}, {"minLength", 1}}},
               {"max_steps", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}},
               {"budget_usd", {{"type", "number"}, {"minimum", 0}}}}},
             {"required", {"goal"}},
             {"additionalProperties", false}};
}

std::string_view DelegateTool::description() const {
  return "Hand a self-contained sub-goal to a helper agent that works in the same workspace and "
         "returns its summary. Optional max_steps and budget_usd (taken from your budget).";
}

Result<int> DelegateTool::DepthOf(const store::TaskRecord& task) const {
  int depth = 0;
  std::string parent = task.parent_id;
  while (!parent.empty()) {
    if (++depth > options_.max_depth) break;
    Result<std::optional<store::TaskRecord>> up = deps_.store->GetTask(parent);
    if (!up) return std::unexpected(up.error());
    parent = *up ? (*up)->parent_id : "";
  }
  return depth;
}

Result<RunOptions> DelegateTool::ChildOptions(const store::TaskRecord& parent,
                                              const json& args) const {
  RunOptions parent_options = StoredRunOptions(parent);
  Result<Spend> spend = SpendOfChildren(*deps_.store, parent.id);
  if (!spend) return std::unexpected(spend.error());
  // The parent's own use, as CurrentSpend counts it.
  Result<store::LedgerTotals> used = deps_.store->SumLedger(parent.id);
  if (!used) return std::unexpected(used.error());
  spend->usd += used->cost_usd;
  spend->tokens += used->tokens;
  Result<std::vector<store::StepRecord>> steps = deps_.store->ListSteps(parent.id);
  if (!steps) return std::unexpected(steps.error());
  for (const store::StepRecord& step : *steps) {
    if (step.tool_name != kFinishTool && step.status == store::StepStatus::kDone) {
      ++spend->tool_calls;
    }
  }
  spend->seconds = StoredElapsed(parent);
  RunOptions child;
  child.context_tokens = context_tokens_;
  child.max_steps = args.value("max_steps", options_.default_child_steps);
  child.budget = Remaining(parent_options.budget, *spend);
  if (args.contains("budget_usd")) {
    child.budget.usd = Smaller(child.budget.usd, std::optional(args["budget_usd"].get<double>()));
  }
  if (std::optional<std::string> exhausted = ExhaustedLimit(child.budget, Spend{})) {
    return MakeError(ErrorCode::kInvalidArgument, "no budget left to delegate: {}", *exhausted);
  }
  return child;
}

Result<tools::ToolResult> DelegateTool::Invoke(const json& args,
                                               tools::ToolContext& context) const {
  if (deps_.store == nullptr || deps_.models == nullptr || deps_.tools == nullptr) {
    return MakeError(ErrorCode::kFailedPrecondition, "the delegate tool is not bound");
  }
  if (context.task_id.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition, "delegate needs the calling task");
  }
  Result<std::optional<store::TaskRecord>> parent = deps_.store->GetTask(context.task_id);
  if (!parent) return std::unexpected(parent.error());
  if (!*parent) return MakeError(ErrorCode::kNotFound, "no task {}", context.task_id);
  Result<int> depth = DepthOf(**parent);
  if (!depth) return std::unexpected(depth.error());
  if (*depth >= options_.max_depth) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "delegation is limited to {} levels; do this sub-goal yourself",
                     options_.max_depth);
  }
  Result<RunOptions> child_options = ChildOptions(**parent, args);
  if (!child_options) return std::unexpected(child_options.error());
  Result<router::TaintState> parent_taint = router::TaintState::FromJson((*parent)->taint);
  if (!parent_taint) return std::unexpected(parent_taint.error());

  Clock* clock = deps_.clock;
  store::TaskRecord child{.id = NewId(clock->Now()),
                          .parent_id = (*parent)->id,
                          .goal = args.value("goal", ""),
                          .status = store::TaskStatus::kPending,
                          .workspace = (*parent)->workspace,
                          .settings = "{}",
                          .created_at_ms = ToUnixMillis(clock->Now()),
                          .updated_at_ms = ToUnixMillis(clock->Now())};
  router::TaintState taint = router::TaintState::InheritFrom(*parent_taint);
  if (deps_.policy != nullptr) deps_.policy->ObserveGoal(taint, child.goal);
  if (taint.tainted()) child.taint = taint.ToJson();
  if (Status created = deps_.store->CreateTask(child); !created) {
    return std::unexpected(created.error());
  }
  Controller controller(deps_);
  Result<TaskOutcome> outcome = controller.Run(child.id, *child_options);
  if (!outcome) return std::unexpected(std::move(outcome.error()).WithContext("child task"));
  if (outcome->status == store::TaskStatus::kStopped && context.Cancelled()) {
    return MakeError(ErrorCode::kCancelled, "child task {} was cancelled", child.id);
  }
  bool succeeded = outcome->status == store::TaskStatus::kSucceeded;
  return tools::ToolResult{
      .output = fmt::format("child task {} {} after {} step(s): {}", child.id,
                            store::TaskStatusName(outcome->status), outcome->steps,
                            succeeded ? outcome->summary : outcome->stop_reason),
      .is_error = !succeeded,
      .data = {{"child_task", child.id}, {"status", store::TaskStatusName(outcome->status)}}};
}

}  // namespace tandem::agent
