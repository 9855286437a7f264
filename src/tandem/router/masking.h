// Reversible masking: detected values are replaced by typed placeholders ("<EMAIL_1>") before a
// call leaves and put back into the answer. The mapping lives only in memory for one call.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/llm/types.h"
#include "tandem/router/detectors.h"

namespace tandem::router {

// Not thread-safe; one per call.
class Masker {
 public:
  // Replaces every finding (parts numbered as in Policy::ScanRequest) in `request`. Equal values
  // get the same placeholder; overlapping findings are merged into one.
  llm::ChatRequest Mask(const llm::ChatRequest& request, const std::vector<Finding>& findings);
  // Puts the original values back wherever a placeholder appears in `text`.
  std::string Restore(std::string_view text) const;
  // Restores content and tool-call arguments of an answer.
  void Restore(llm::Message& message) const;
  size_t size() const { return values_.size(); }

 private:
  std::string MaskText(std::string_view text, std::vector<Finding> spans);
  std::string Placeholder(EntityType type, std::string_view value);

  std::map<std::string, std::string, std::less<>> placeholders_;  // value -> placeholder
  std::map<std::string, std::string, std::less<>> values_;        // placeholder -> value
  std::map<EntityType, int> counters_;
};

}  // namespace tandem::router
