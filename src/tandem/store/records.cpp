#include "tandem/store/records.h"

namespace tandem::store {

std::string_view TaskStatusName(TaskStatus status) {
  switch (status) {
    case TaskStatus::kPending:
      return "pending";
    case TaskStatus::kRunning:
      return "running";
    case TaskStatus::kSucceeded:
      return "succeeded";
    case TaskStatus::kFailed:
      return "failed";
    case TaskStatus::kStopped:
      return "stopped";
  }
  return "failed";
}

std::optional<TaskStatus> ParseTaskStatus(std::string_view name) {
  for (TaskStatus s : {TaskStatus::kPending, TaskStatus::kRunning, TaskStatus::kSucceeded,
                       TaskStatus::kFailed, TaskStatus::kStopped}) {
    if (TaskStatusName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view StepStatusName(StepStatus status) {
  switch (status) {
    case StepStatus::kProposed:
      return "proposed";
    case StepStatus::kRunning:
      return "running";
    case StepStatus::kDone:
      return "done";
  }
  return "proposed";
}

std::optional<StepStatus> ParseStepStatus(std::string_view name) {
  for (StepStatus s : {StepStatus::kProposed, StepStatus::kRunning, StepStatus::kDone}) {
    if (StepStatusName(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace tandem::store
