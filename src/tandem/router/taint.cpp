#include "tandem/router/taint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace tandem::router {

std::string_view TaintSourceName(TaintSource source) {
  switch (source) {
    case TaintSource::kGoal:
      return "goal";
    case TaintSource::kFileRead:
      return "file_read";
    case TaintSource::kToolObservation:
      return "tool_observation";
    case TaintSource::kMemoryRecall:
      return "memory_recall";
    case TaintSource::kParentTask:
      return "parent_task";
  }
  return "unknown";
}

TaintState TaintState::InheritFrom(const TaintState& parent) {
  TaintState child;
  for (const TaintMark& mark : parent.marks_) {
    TaintMark inherited = mark;
    if (inherited.source != TaintSource::kParentTask) {
      inherited.origin = fmt::format("{}{}{}", TaintSourceName(mark.source),
                                     mark.origin.empty() ? "" : " ", mark.origin);
      inherited.source = TaintSource::kParentTask;
    }
    child.Add(std::move(inherited));
  }
  return child;
}

void TaintState::Add(TaintMark mark) {
  if (std::find(marks_.begin(), marks_.end(), mark) == marks_.end()) {
    marks_.push_back(std::move(mark));
  }
}

void TaintState::Merge(const TaintState& other) {
  for (const TaintMark& mark : other.marks_)
    Add(mark);
}

std::string TaintState::Describe() const {
  std::vector<std::string> parts;
  for (const TaintMark& mark : marks_) {
    parts.push_back(fmt::format("{}{}{} ({})", TaintSourceName(mark.source),
                                mark.origin.empty() ? "" : " ", mark.origin,
                                fmt::join(mark.reasons, ", ")));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace tandem::router
