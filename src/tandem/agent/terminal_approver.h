// Asks a person on a terminal (or on any line-oriented stream, for scripts and tests) whether a
// tool call may run.
//
//   TerminalApprover approver(stdin, stderr);
//   Controller controller({..., .approver = &approver});
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "tandem/agent/approval.h"

namespace tandem::agent {

// Parses one answer line: "y"/"yes" approve; "a N" approve this and the next N; "n"/"no"
// refuse; "f TEXT" feedback TEXT; any other non-empty text is feedback as typed. Returns nullopt
// for an empty line or "a" without a positive count (the caller asks again).
std::optional<ApprovalDecision> ParseApprovalAnswer(std::string_view line);

// The prompt shown for `request`: tool, effect, reason, each argument, and a clear mark on
// arguments copied from tool output.
std::string FormatApprovalPrompt(const ApprovalRequest& request);

// Reads answers from `in`, writes prompts to `out`; neither owned, both must outlive it. End of
// input refuses and stops the run (resumable). Not thread-safe.
class TerminalApprover final : public Approver {
 public:
  TerminalApprover(std::FILE* in, std::FILE* out) : in_(in), out_(out) {}
  ApprovalDecision Decide(const ApprovalRequest& request) override;

 private:
  std::FILE* in_;
  std::FILE* out_;
};

}  // namespace tandem::agent
