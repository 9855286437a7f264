// The routing policy: classifies a model call (payload findings, labels, task taint, rules,
// complexity) and produces the Decision. Pure: no I/O, no clock; the Gateway adds health.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/core/error.h"
#include "tandem/llm/types.h"
#include "tandem/router/decision.h"
#include "tandem/router/detectors.h"
#include "tandem/router/routing_config.h"
#include "tandem/router/scan_cache.h"
#include "tandem/router/taint.h"

namespace tandem::router {

// What the caller knows about a call beyond its messages.
struct CallContext {
  std::string task_id = {};              // For the audit record.
  std::vector<std::string> labels = {};  // Task labels (`--label`, task metadata).
  std::vector<std::string> tools = {};   // Tools the step ran (offered tools come from
                                         // the request).
  std::vector<std::string> paths = {};   // Files whose contents are in the payload.
  const TaintState* taint = nullptr;     // The task's taint; nullptr: untainted.
  int previous_failures = 0;             // Failed attempts of this step so far.
  bool escalate = false;                 // Watchdog or caller asks for a strong model.
  // A [[routing.profiles]] name; or a provider's name or model, which pins that provider;
  // "" or "auto": the default routing. An unknown name gets a refusal decision.
  std::string profile = {};
};

// A 64-bit hash of a request's roles, contents and tool calls: binds a decision to its payload.
uint64_t PayloadFingerprint(const llm::ChatRequest& request);

// Immutable after Create (but for its scan cache); thread-safe.
class Policy {
 public:
  // Fails with kInvalidArgument (file:line:key) on a bad [routing] section.
  static Result<std::unique_ptr<Policy>> Create(const Config& config);

  // Classifies `request` in `context`. Never fails: a payload that cannot go anywhere gets a
  // refusal decision (route kDeny) with the reason.
  Decision Decide(const CallContext& context, const llm::ChatRequest& request) const;

  // Taint sources: scan content and labels, and add a mark when anything is sensitive.
  // Each returns true when it added taint.
  bool ObserveGoal(TaintState& taint, std::string_view goal) const;
  bool ObserveFileRead(TaintState& taint, std::string_view path, std::string_view content) const;
  bool ObserveToolOutput(TaintState& taint, std::string_view tool, std::string_view output) const;
  bool ObserveMemoryRecall(TaintState& taint, std::string_view text) const;

  bool IsConfidentialPath(std::string_view path) const;
  // True when CallContext::profile = `name` selects something ("", "auto", a profile, a
  // provider's name or model).
  bool KnowsProfile(std::string_view name) const;
  // The provider `name` pins (by provider name, else by model), or nullptr.
  const ProviderConfig* PinnedProvider(std::string_view name) const;
  const std::vector<ProviderConfig>& providers() const { return providers_; }
  const Scanner& scanner() const { return scanner_; }
  const RoutingConfig& config() const { return routing_; }

 private:
  Policy(RoutingConfig routing, Scanner scanner, std::vector<ProviderConfig> providers,
         std::map<std::string, double> price_per_token);
  // Findings of a request's texts: message contents (part = message index), then tool-call
  // arguments (part = messages.size() + running index of the call).
  std::vector<Finding> ScanRequest(std::span<const ScanText> texts) const;
  bool Observe(TaintState& taint, TaintSource source, std::string_view origin,
               std::string_view content, std::vector<std::string> reasons) const;
  void Escalation(const CallContext& context, const llm::ChatRequest& request,
                  Decision& decision) const;
  std::vector<std::string> Candidates(const std::vector<Zone>& zones, bool strong,
                                      const std::string& preferred, GenericRoute generic) const;

  RoutingConfig routing_;
  Scanner scanner_;
  std::vector<ProviderConfig> providers_;
  std::map<std::string, double> price_per_token_;  // Provider name -> USD; local providers 0.
  mutable ScanCache scan_cache_;  // Decide rescans each resent history; this makes that cheap.
};

}  // namespace tandem::router
