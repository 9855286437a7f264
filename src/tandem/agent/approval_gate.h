// The approval policy the controller applies to each proposed tool call: `read` and
// `write_workspace` calls run; `external` calls run when the configuration grants the tool,
// otherwise an Approver decides (nobody: refused). Implementation detail of the agent module.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/agent/approval.h"
#include "tandem/store/records.h"
#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::agent {

// What happens to one proposed call.
enum class GateAction {
  kRun,       // Run the tool.
  kRefuse,    // Record `observation` as the (error) result; the tool does not run.
  kFeedback,  // Record `observation` (the person's feedback) as the result; the tool does not run.
  kStopRun,   // Nobody answered: leave the step proposed and stop the run with `observation`.
};

struct GateOutcome {
  GateAction action = GateAction::kRun;
  std::string observation;
  nlohmann::json record;  // For StepRecord::approval; null when the call needed no approval.
};

// One per run of the loop (it remembers "approve the next N"). Not thread-safe.
class ApprovalGate {
 public:
  using Emit = std::function<void(std::string type, nlohmann::json payload)>;

  // None owned. `approver` null: nobody can approve. `config` null: no tool is granted.
  ApprovalGate(Approver* approver, const tools::ToolsConfig* config)
      : approver_(approver), config_(config) {}

  // Decides about `step` (its tool and validated `args`), given the task's earlier steps for
  // the untrusted-argument check. Emits approval_required, approval_granted, approval_refused
  // and feedback events through `emit`.
  GateOutcome Check(const store::StepRecord& step, const tools::Tool& tool,
                    const nlohmann::json& args, const std::vector<store::StepRecord>& history,
                    const Emit& emit);

 private:
  Approver* approver_;
  const tools::ToolsConfig* config_;
  int approved_ahead_ = 0;  // Calls still approved by an earlier "approve the next N".
};

// Whether a step's saved approval says it was granted (a resumed run must not ask again).
bool ApprovalGranted(const store::StepRecord& step);

}  // namespace tandem::agent
