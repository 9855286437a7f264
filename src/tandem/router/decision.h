// A routing decision: where one model call may go and why. Only the router creates decisions,
// and the gateway sends a payload only with the decision made for exactly that payload.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/router/detectors.h"

namespace tandem::router {

// The outcome's zone, or a refusal.
enum class Route { kLocal, kCloud, kDeny };
std::string_view RouteName(Route route);  // "local", "cloud", "deny"

// Immutable value. Its constructor is private: Policy creates decisions, Gateway records which
// candidate served the call; no other code can fabricate one to reach a cloud provider.
class Decision {
 public:
  Route route() const { return route_; }
  bool refused() const { return route_ == Route::kDeny; }
  // The provider chosen (first healthy candidate); empty when refused.
  const std::string& provider() const { return provider_; }
  // Allowed providers in order of preference; all lie in zones the policy allows.
  const std::vector<std::string>& candidates() const { return candidates_; }
  // True when something in the call or the task's taint is sensitive: local zone only.
  bool sensitive() const { return sensitive_; }
  // Detector hits in the payload (type and offsets; part = scanned text index).
  const std::vector<Finding>& findings() const { return findings_; }
  // Names of the matched rules and label reasons ("confidential_path", "taint", ...).
  const std::vector<std::string>& rules() const { return rules_; }
  // One sentence explaining the outcome.
  const std::string& reason() const { return reason_; }
  // True when the payload is sent masked (typed placeholders) and restored in the answer.
  bool masked() const { return masked_; }
  // Edge-first escalation outcome: a strong model was preferred, and why.
  bool strong() const { return strong_; }
  const std::vector<std::string>& escalation_reasons() const { return escalation_reasons_; }
  // Estimated prompt tokens (bytes / 4) used by the escalation thresholds.
  int64_t estimated_tokens() const { return estimated_tokens_; }
  // FNV-1a hash of the payload this decision was made for.
  uint64_t fingerprint() const { return fingerprint_; }

 private:
  friend class Policy;
  friend class Gateway;
  Decision() = default;

  Route route_ = Route::kDeny;
  std::string provider_;
  std::vector<std::string> candidates_;
  bool sensitive_ = false;
  std::vector<Finding> findings_;
  std::vector<std::string> rules_;
  std::string reason_;
  bool masked_ = false;
  bool strong_ = false;
  std::vector<std::string> escalation_reasons_;
  int64_t estimated_tokens_ = 0;
  uint64_t fingerprint_ = 0;
};

}  // namespace tandem::router
