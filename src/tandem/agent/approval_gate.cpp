#include "tandem/agent/approval_gate.h"

#include <fmt/format.h>

#include <algorithm>

namespace tandem::agent {
namespace {

using nlohmann::json;

std::string Decision(const store::StepRecord& step) {
  json approval = json::parse(step.approval, nullptr, false);
  return approval.is_object() ? approval.value("decision", "") : "";
}

// Results the tool itself produced: a refusal or feedback text was written by Tandem or the
// person, not read from the world, so it cannot taint arguments.
std::vector<std::string_view> Observations(const std::vector<store::StepRecord>& history) {
  std::vector<std::string_view> out;
  for (const store::StepRecord& step : history) {
    if (step.status != store::StepStatus::kDone || step.result.empty()) continue;
    std::string decision = Decision(step);
    if (decision == "refused" || decision == "feedback") continue;
    out.push_back(step.result);
  }
  return out;
}

json With(json base, const json& extra) {
  base.update(extra);
  return base;
}

json Record(std::string_view decision, std::string_view by, const ApprovalRequest& request) {
  json record = {
      {"decision", decision}, {"by", by}, {"effect", tools::EffectClassName(request.effect)}};
  if (!request.untrusted_paths.empty()) record["untrusted"] = request.untrusted_paths;
  return record;
}

}  // namespace

GateOutcome ApprovalGate::Check(const store::StepRecord& step, const tools::Tool& tool,
                                const json& args, const std::vector<store::StepRecord>& history,
                                const Emit& emit) {
  tools::EffectClass effect = tool.EffectOf(args);
  if (effect != tools::EffectClass::kExternal) return {};
  ApprovalRequest request{
      .task_id = step.task_id,
      .step_seq = step.seq,
      .tool = step.tool_name,
      .arguments = args,
      .effect = effect,
      .untrusted_paths = FindUntrustedArguments(args, Observations(history)),
      .reason = fmt::format("{} has an external effect: it changes things outside the workspace",
                            step.tool_name)};
  json base = {{"step", step.seq}, {"tool", step.tool_name}};
  if (config_ != nullptr && !tools::NeedsApproval(tool, args, *config_)) {
    emit("approval_granted", With(base, {{"by", "configuration"}}));
    return {.record = Record("granted", "configuration", request)};
  }
  // An earlier "approve the next N" does not cover arguments copied from tool output: text the
  // model read could have steered them, so a person looks again.
  if (approved_ahead_ > 0 && request.untrusted_paths.empty()) {
    --approved_ahead_;
    emit("approval_granted",
         With(base, {{"by", "approved_ahead"}, {"remaining", approved_ahead_}}));
    return {.record = Record("granted", "approved_ahead", request)};
  }
  emit("approval_required", With(base, {{"effect", tools::EffectClassName(effect)},
                                        {"arguments", args},
                                        {"untrusted", request.untrusted_paths},
                                        {"reason", request.reason}}));
  if (approver_ == nullptr) {
    emit("approval_refused", With(base, {{"by", "nobody"}, {"reason", "no approver"}}));
    return {.action = GateAction::kRefuse,
            .observation = fmt::format(
                "refused: {} has an external effect and needs approval, but no one can approve "
                "in this non-interactive run. Choose another way or finish.",
                step.tool_name),
            .record = Record("refused", "nobody", request)};
  }
  ApprovalDecision decision = approver_->Decide(request);
  const std::string by = decision.by.empty() ? "person" : decision.by;
  json record = Record("granted", by, request);
  if (!decision.note.empty()) record["note"] = decision.note;
  switch (decision.kind) {
    case ApprovalKind::kApprove:
    case ApprovalKind::kApproveNext:
      approved_ahead_ =
          decision.kind == ApprovalKind::kApproveNext ? std::max(decision.count, 0) : 0;
      if (approved_ahead_ > 0) record["approved_ahead"] = approved_ahead_;
      emit("approval_granted",
           With(base, {{"by", by}, {"approved_ahead", approved_ahead_}, {"note", decision.note}}));
      return {.record = std::move(record)};
    case ApprovalKind::kFeedback:
      record["decision"] = "feedback";
      record["feedback"] = decision.feedback;
      emit("feedback", With(base, {{"text", decision.feedback}, {"by", by}}));
      return {.action = GateAction::kFeedback,
              .observation = fmt::format(
                  "not run: the person reviewing this call did not approve it and answered: "
                  "\"{}\". Take this into account and decide your next action.",
                  decision.feedback),
              .record = std::move(record)};
    case ApprovalKind::kRefuse:
      break;
  }
  approved_ahead_ = 0;
  record["decision"] = decision.stop_run ? "unanswered" : "refused";
  emit("approval_refused",
       With(base, {{"by", by}, {"stop", decision.stop_run}, {"reason", decision.note}}));
  if (decision.stop_run) {
    return {.action = GateAction::kStopRun,
            .observation = fmt::format(
                "waiting for approval of step {} ({}){}; resume with `tandem resume {}`", step.seq,
                step.tool_name, decision.note.empty() ? "" : ": " + decision.note, step.task_id),
            .record = std::move(record)};
  }
  return {.action = GateAction::kRefuse,
          .observation = fmt::format(
              "refused: the person reviewing this call did not allow {}{}. Do not repeat it; "
              "choose another way or finish.",
              step.tool_name, decision.note.empty() ? "" : " (" + decision.note + ")"),
          .record = std::move(record)};
}

bool ApprovalGranted(const store::StepRecord& step) {
  return Decision(step) == "granted";
}

}  // namespace tandem::agent
