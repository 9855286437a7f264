#include "tandem/router/taint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <nlohmann/json.hpp>

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

std::string TaintState::ToJson() const {
  nlohmann::json marks = nlohmann::json::array();
  for (const TaintMark& mark : marks_) {
    marks.push_back({{"source", TaintSourceName(mark.source)},
                     {"origin", mark.origin},
                     {"reasons", mark.reasons}});
  }
  return marks.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<TaintState> TaintState::FromJson(std::string_view text) {
  TaintState taint;
  if (text.empty()) return taint;
  nlohmann::json marks = nlohmann::json::parse(text, nullptr, false);
  if (marks.is_discarded() || !marks.is_array()) {
    return MakeError(ErrorCode::kDataLoss, "stored taint is not a JSON array");
  }
  for (const nlohmann::json& item : marks) {
    if (!item.is_object() || !item.contains("source") || !item["source"].is_string()) {
      return MakeError(ErrorCode::kDataLoss, "stored taint mark has no source");
    }
    TaintMark mark;
    bool known = false;
    for (TaintSource source :
         {TaintSource::kGoal, TaintSource::kFileRead, TaintSource::kToolObservation,
          TaintSource::kMemoryRecall, TaintSource::kParentTask}) {
      if (TaintSourceName(source) == item["source"].get<std::string>()) {
        mark.source = source;
        known = true;
      }
    }
    if (!known) return MakeError(ErrorCode::kDataLoss, "stored taint mark has an unknown source");
    mark.origin = item.value("origin", "");
    for (const nlohmann::json& reason : item.value("reasons", nlohmann::json::array())) {
      if (reason.is_string()) mark.reasons.push_back(reason.get<std::string>());
    }
    taint.Add(std::move(mark));
  }
  return taint;
}

}  // namespace tandem::router
