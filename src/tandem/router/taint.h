// Task taint: the record of sensitive things that entered a task. It only grows; once a task is
// tainted every later model call of that task stays in the local zone.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::router {

// Where sensitive content came from.
enum class TaintSource { kGoal, kFileRead, kToolObservation, kMemoryRecall, kParentTask };
std::string_view TaintSourceName(TaintSource source);  // "goal", "file_read", ...

// One reason a task is tainted. Holds names and detector types, never the sensitive values.
struct TaintMark {
  TaintSource source = TaintSource::kGoal;
  std::string origin;                // File path or tool name; empty for goal and memory.
  std::vector<std::string> reasons;  // Entity type names, "confidential_path", "sensitive_tool".
  bool operator==(const TaintMark&) const = default;
};

// Not thread-safe: owned by one task. Copyable only by construction (a child task starts from
// its parent's taint); assignment is deleted so a taint can never be replaced by a cleaner one.
class TaintState {
 public:
  TaintState() = default;
  TaintState(const TaintState&) = default;
  TaintState& operator=(const TaintState&) = delete;
  TaintState& operator=(TaintState&&) = delete;

  // A child task's starting taint: the parent's marks, re-labelled as inherited.
  static TaintState InheritFrom(const TaintState& parent);

  bool tainted() const { return !marks_.empty(); }
  const std::vector<TaintMark>& marks() const { return marks_; }

  // Adds a mark (duplicates are kept once). There is deliberately no way to remove one.
  void Add(TaintMark mark);
  // Adds every mark of `other` (e.g. results merged back from a child task).
  void Merge(const TaintState& other);

  // "file_read contracts/a.txt (email, keyword); goal (phone)".
  std::string Describe() const;

  // JSON array of marks, for the task store; the inverse fails naming what is malformed.
  std::string ToJson() const;
  static Result<TaintState> FromJson(std::string_view text);

 private:
  std::vector<TaintMark> marks_;
};

}  // namespace tandem::router
