// Approvals: who may let a tool call with an `external` effect run. The controller asks an
// Approver (the terminal, the web server, a test script) and records every decision as an event
// and in the step, so a resumed task never asks twice for a call that was approved and started.
//
//   class MyApprover final : public Approver {
//     ApprovalDecision Decide(const ApprovalRequest& request) override {
//       return {.kind = ApprovalKind::kApprove};
//     }
//   };
//   Controller controller({..., .approver = &my_approver, .tools_config = &tools_config});
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/tools/tools.h"

namespace tandem::agent {

// What the controller wants a person to decide about one proposed tool call.
struct ApprovalRequest {
  std::string task_id;
  int64_t step_seq = 0;
  std::string tool;
  nlohmann::json arguments;  // Validated against the tool's schema.
  tools::EffectClass effect = tools::EffectClass::kExternal;
  // JSON pointers ("/to", "/recipients/0") of string arguments whose value, or a run of at least
  // kUntrustedRun characters of it, appears verbatim in an earlier tool result of the task: the
  // model may have been steered by data it read. Show these prominently.
  std::vector<std::string> untrusted_paths;
  std::string reason;  // Why approval is needed, for people.
};

enum class ApprovalKind {
  kApprove,      // Run this call.
  kApproveNext,  // Run this call and the next `count` calls that would need approval.
  kRefuse,       // Do not run it; the model is told it was refused.
  kFeedback,     // Do not run it; the model is told `feedback` instead and decides again.
};

struct ApprovalDecision {
  ApprovalKind kind = ApprovalKind::kRefuse;
  int count = 0;          // kApproveNext: further calls approved without asking (>= 1).
  std::string feedback;   // kFeedback: the person's words for the model.
  std::string note;       // Optional: recorded with the decision ("continuous mode", ...).
  bool stop_run = false;  // kRefuse only: nobody is there any more (stdin closed): the step is
                          // left unanswered and the task stops, resumable; resume asks again.
  std::string by;         // Who decided (a user name), recorded and emitted; empty: "person".
};

// Decides about tool calls that need approval. Decide blocks until an answer exists; it is
// called on the controller's thread, at most once per step. Implementations say whether they
// are thread-safe; the controller never calls one from two threads.
class Approver {
 public:
  virtual ~Approver() = default;
  virtual ApprovalDecision Decide(const ApprovalRequest& request) = 0;
};

// Approves every call without asking (`--continuous`); the step limit and budgets still bound
// the run. Thread-safe.
class ContinuousApprover final : public Approver {
 public:
  ApprovalDecision Decide(const ApprovalRequest& request) override;
};

// Shortest run of characters of an argument value that counts as copied from tool output.
inline constexpr size_t kUntrustedRun = 16;
// Shortest whole argument value that counts as copied: shorter ones ("." or "yes") are too
// common in any output to say where they came from.
inline constexpr size_t kUntrustedMinValue = 6;

// The JSON pointers of string leaves of `arguments` (objects and arrays are walked) whose whole
// value (at least kUntrustedMinValue bytes) or any kUntrustedRun-byte run of it occurs verbatim
// in one of `observations`. Linear in the total size of the inputs.
std::vector<std::string> FindUntrustedArguments(const nlohmann::json& arguments,
                                                const std::vector<std::string_view>& observations);

// "approve", "approve_next", "refuse", "feedback".
std::string_view ApprovalKindName(ApprovalKind kind);

}  // namespace tandem::agent
