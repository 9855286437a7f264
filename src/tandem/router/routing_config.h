// The [routing] section of tandem.toml: where generic work goes, what counts as sensitive, rules,
// escalation thresholds and provider health settings. See docs/routing.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/core/error.h"
#include "tandem/router/detectors.h"

namespace tandem::router {

// Where work with nothing sensitive in it goes.
enum class GenericRoute {
  kLocal,     // Local zone only.
  kCloud,     // Cloud first; local providers are an allowed fallback.
  kCheapest,  // Every provider, cheapest per token first (local models count as free).
};

// What a matching rule does. Restrictions win: kDeny over kLocal over kCloud. kCloud only
// applies to payloads with nothing sensitive in them.
enum class RuleAction { kLocal, kCloud, kDeny };
std::string_view RuleActionName(RuleAction action);

// [[routing.rules]]: every condition given must hold; at least one is required.
struct RoutingRule {
  std::string name;                    // Shown in decisions; defaults to "rules[N]".
  std::string label;                   // The task carries this label.
  std::string tool;                    // The call offers, or the step ran, this tool.
  std::string path;                    // A file in the payload matches this glob.
  std::optional<EntityType> detector;  // The payload has a finding of this type.
  std::string complexity;              // "small" or "strong": the escalation outcome.
  RuleAction action = RuleAction::kLocal;
  std::string provider;  // Preferred provider when the rule applies (must exist).
  int line = 0;
};

// [routing.escalation]: edge-first: small models unless one of these thresholds is crossed.
struct EscalationConfig {
  std::vector<std::string> strong;         // Providers that count as strong; others are small.
  int64_t max_small_prompt_tokens = 6000;  // Estimated prompt tokens above which to escalate.
  int64_t max_small_tools = 8;             // More tools offered than this escalates.
  int64_t failures_to_escalate = 2;        // Failed attempts of this step before escalating.
  std::vector<std::string> labels;         // Task labels that always escalate.
};

// [routing.health]: circuit breaker per provider.
struct HealthConfig {
  int64_t failure_threshold = 3;  // Consecutive failures that open the circuit.
  double cooldown_s = 30;         // Open time before one trial call is let through.
};

// [[routing.profiles]]: a named way of routing that a caller picks per call (the gateway's
// `model` field, a task's `policy`). A profile changes where non-sensitive work goes and which
// model is preferred; it never lets sensitive data out of the local zone.
struct RouteProfile {
  std::string name;
  std::string description;
  std::optional<GenericRoute> generic;  // Replaces [routing] generic for this profile.
  std::vector<Zone> zones;              // Only these zones, even for rules; empty: no limit.
  std::string provider;                 // Preferred provider (must exist).
  std::string tier;                     // "strong": escalate; "small": never; "": as usual.
  int line = 0;
};

struct RoutingConfig {
  // Default "local": with no configuration nothing leaves the machine.
  GenericRoute generic = GenericRoute::kLocal;
  std::vector<std::string> confidential_paths;  // Globs; files read from them are sensitive.
  std::vector<std::string> keywords;            // Extra sensitive words.
  std::vector<std::string> patterns;            // Extra sensitive regular expressions.
  std::vector<std::string> sensitive_tools;     // Their observations taint the task.
  std::vector<std::string> sensitive_labels;    // Task labels that keep work local.
  std::vector<EntityType> disabled_detectors;   // Types not reported at all.
  // Entity types that may leave the local zone masked (typed placeholders, restored in the
  // answer) when nothing else in the call is sensitive. Empty: no masking.
  std::vector<EntityType> mask;
  std::vector<RoutingRule> rules;
  std::vector<RouteProfile> profiles;
  // Provider name -> its `embedding_model` ([[providers]] key read here): the model that
  // provider serves at /embeddings for the gateway. Providers without one embed nothing.
  std::map<std::string, std::string> embedding_models;
  EscalationConfig escalation;
  HealthConfig health;
};

// The profile named `name`, or nullptr.
const RouteProfile* FindProfile(const RoutingConfig& config, std::string_view name);

// Reads [routing] from the configuration (defaults when absent). Fails with kInvalidArgument
// naming file:line and key of the first bad value, including rules naming unknown providers.
Result<RoutingConfig> ParseRoutingConfig(const Config& config);

}  // namespace tandem::router
