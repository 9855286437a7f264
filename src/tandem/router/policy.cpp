#include "tandem/router/policy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "tandem/llm/price_catalog.h"
#include "tandem/router/glob.h"

namespace tandem::router {
namespace {

constexpr double kUnknownPrice = std::numeric_limits<double>::max();

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool Contains(const std::vector<EntityType>& list, EntityType value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

namespace {

// The texts of `request` the scanner reads, each hashed once: message contents (part = message
// index), then tool-call arguments (part = messages.size() + running index of the call).
std::vector<ScanText> HashedTexts(const llm::ChatRequest& request) {
  std::vector<ScanText> texts;
  texts.reserve(request.messages.size() * 2);
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const std::string& content = request.messages[i].content;
    texts.push_back({content, HashText(content), static_cast<uint32_t>(i)});
  }
  auto part = static_cast<uint32_t>(request.messages.size());
  for (const llm::Message& m : request.messages) {
    for (const llm::ToolCall& call : m.tool_calls) {
      texts.push_back({call.arguments, HashText(call.arguments), part++});
    }
  }
  return texts;
}

// The fingerprint of `request` whose HashedTexts are `texts`. Each field is hashed on its own
// and the sequence of those hashes, with each message's role and number of calls, is hashed
// again: order and boundaries count ("ab" + "c" and "a" + "bc" differ), and the long texts are
// read once for both the scan cache and this. It binds a decision to its payload against
// mistakes in the calling code, not against an adversary inside the process.
uint64_t Fingerprint(const llm::ChatRequest& request, std::span<const ScanText> texts) {
  std::vector<uint64_t> fields;
  fields.reserve(texts.size() * 2 + request.messages.size() * 3);
  size_t call_index = request.messages.size();
  for (size_t i = 0; i < request.messages.size(); ++i) {
    const llm::Message& m = request.messages[i];
    fields.push_back(static_cast<uint64_t>(m.role));
    fields.push_back(texts[i].hash);
    fields.push_back(m.tool_calls.size());
    for (const llm::ToolCall& call : m.tool_calls) {
      fields.push_back(HashText(call.name));
      fields.push_back(texts[call_index++].hash);
    }
    fields.push_back(HashText(m.tool_call_id));
  }
  return XXH3_64bits(fields.data(), fields.size() * sizeof(uint64_t));
}

}  // namespace

uint64_t PayloadFingerprint(const llm::ChatRequest& request) {
  return Fingerprint(request, HashedTexts(request));
}

namespace {

// Distinct type names of `findings`, in order of first appearance.
std::vector<std::string> TypeNames(const std::vector<Finding>& findings) {
  std::vector<std::string> names;
  for (const Finding& f : findings) {
    std::string name(EntityTypeName(f.type));
    if (!Contains(names, name)) names.push_back(std::move(name));
  }
  return names;
}

int Strictness(RuleAction action) {
  switch (action) {
    case RuleAction::kCloud:
      return 0;
    case RuleAction::kLocal:
      return 1;
    case RuleAction::kDeny:
      return 2;
  }
  return 2;
}

}  // namespace

std::string_view RouteName(Route route) {
  switch (route) {
    case Route::kLocal:
      return "local";
    case Route::kCloud:
      return "cloud";
    case Route::kDeny:
      return "deny";
  }
  return "deny";
}

Policy::Policy(RoutingConfig routing, Scanner scanner, std::vector<ProviderConfig> providers,
               std::map<std::string, double> price_per_token)
    : routing_(std::move(routing)),
      scanner_(std::move(scanner)),
      providers_(std::move(providers)),
      price_per_token_(std::move(price_per_token)) {}

Result<std::unique_ptr<Policy>> Policy::Create(const Config& config) {
  Result<RoutingConfig> routing = ParseRoutingConfig(config);
  if (!routing) return std::unexpected(routing.error());
  Result<Scanner> scanner = Scanner::Create({.keywords = routing->keywords,
                                             .patterns = routing->patterns,
                                             .disabled = routing->disabled_detectors});
  if (!scanner) return std::unexpected(std::move(scanner.error()).WithContext("[routing]"));
  std::map<std::string, double> prices;
  bool cheapest = routing->generic == GenericRoute::kCheapest;
  for (const RouteProfile& profile : routing->profiles)
    cheapest = cheapest || profile.generic == GenericRoute::kCheapest;
  if (cheapest) {
    Result<llm::PriceCatalog> catalog = llm::PriceCatalog::Load(config);
    if (!catalog) return std::unexpected(catalog.error());
    for (const ProviderConfig& p : config.providers) {
      if (p.zone == Zone::kLocal) {
        prices[p.name] = 0;  // Marginal cost of a local model is its hardware, not tokens.
      } else if (auto price = catalog->Find(p.model)) {
        prices[p.name] = price->input_cost_per_token + price->output_cost_per_token;
      } else {
        prices[p.name] = kUnknownPrice;
      }
    }
  }
  return std::unique_ptr<Policy>(
      new Policy(std::move(*routing), std::move(*scanner), config.providers, std::move(prices)));
}

std::vector<Finding> Policy::ScanRequest(std::span<const ScanText> texts) const {
  std::vector<Finding> findings;
  scan_cache_.ScanInto(scanner_, texts, findings);
  return findings;
}

bool Policy::IsConfidentialPath(std::string_view path) const {
  for (const std::string& pattern : routing_.confidential_paths) {
    if (GlobMatch(pattern, path)) return true;
  }
  return false;
}

const ProviderConfig* Policy::PinnedProvider(std::string_view name) const {
  if (name.empty()) return nullptr;
  for (const ProviderConfig& p : providers_) {
    if (p.name == name) return &p;
  }
  for (const ProviderConfig& p : providers_) {
    if (p.model == name) return &p;
  }
  return nullptr;
}

bool Policy::KnowsProfile(std::string_view name) const {
  return name.empty() || name == "auto" || FindProfile(routing_, name) ||
         PinnedProvider(name) != nullptr;
}

bool Policy::Observe(TaintState& taint, TaintSource source, std::string_view origin,
                     std::string_view content, std::vector<std::string> reasons) const {
  for (std::string& name : TypeNames(scanner_.Scan(content))) {
    if (!Contains(reasons, name)) reasons.push_back(std::move(name));
  }
  if (reasons.empty()) return false;
  taint.Add({source, std::string(origin), std::move(reasons)});
  return true;
}

bool Policy::ObserveGoal(TaintState& taint, std::string_view goal) const {
  return Observe(taint, TaintSource::kGoal, "", goal, {});
}

bool Policy::ObserveFileRead(TaintState& taint, std::string_view path,
                             std::string_view content) const {
  std::vector<std::string> reasons;
  if (IsConfidentialPath(path)) reasons.emplace_back("confidential_path");
  return Observe(taint, TaintSource::kFileRead, path, content, std::move(reasons));
}

bool Policy::ObserveToolOutput(TaintState& taint, std::string_view tool,
                               std::string_view output) const {
  std::vector<std::string> reasons;
  if (Contains(routing_.sensitive_tools, tool)) reasons.emplace_back("sensitive_tool");
  return Observe(taint, TaintSource::kToolObservation, tool, output, std::move(reasons));
}

bool Policy::ObserveMemoryRecall(TaintState& taint, std::string_view text) const {
  return Observe(taint, TaintSource::kMemoryRecall, "", text, {});
}

void Policy::Escalation(const CallContext& context, const llm::ChatRequest& request,
                        Decision& decision) const {
  const EscalationConfig& e = routing_.escalation;
  size_t bytes = 0;
  for (const llm::Message& m : request.messages) {
    bytes += m.content.size();
    for (const llm::ToolCall& call : m.tool_calls)
      bytes += call.arguments.size();
  }
  for (const llm::ToolSpec& tool : request.tools)
    bytes += tool.description.size();
  decision.estimated_tokens_ = static_cast<int64_t>(bytes / 4);
  auto& reasons = decision.escalation_reasons_;
  if (decision.estimated_tokens_ > e.max_small_prompt_tokens) {
    reasons.push_back(fmt::format("prompt of about {} tokens exceeds max_small_prompt_tokens {}",
                                  decision.estimated_tokens_, e.max_small_prompt_tokens));
  }
  if (static_cast<int64_t>(request.tools.size()) > e.max_small_tools) {
    reasons.push_back(fmt::format("{} tools offered exceeds max_small_tools {}",
                                  request.tools.size(), e.max_small_tools));
  }
  if (e.failures_to_escalate > 0 && context.previous_failures >= e.failures_to_escalate) {
    reasons.push_back(fmt::format("{} previous failures reach failures_to_escalate {}",
                                  context.previous_failures, e.failures_to_escalate));
  }
  if (context.escalate) reasons.emplace_back("escalation requested");
  for (const std::string& label : context.labels) {
    if (Contains(e.labels, label)) reasons.push_back(fmt::format("label '{}' escalates", label));
  }
  decision.strong_ = !reasons.empty();
}

std::vector<std::string> Policy::Candidates(const std::vector<Zone>& zones, bool strong,
                                            const std::string& preferred,
                                            GenericRoute generic) const {
  struct Ranked {
    double primary;
    int tier_mismatch;
    size_t index;
    const std::string* name;
  };
  const bool cheapest = generic == GenericRoute::kCheapest && zones.size() > 1;
  std::vector<Ranked> ranked;
  for (size_t i = 0; i < providers_.size(); ++i) {
    const ProviderConfig& p = providers_[i];
    auto zone = std::find(zones.begin(), zones.end(), p.zone);
    if (zone == zones.end()) continue;
    double primary = static_cast<double>(zone - zones.begin());
    if (cheapest) {
      auto price = price_per_token_.find(p.name);
      primary = price == price_per_token_.end() ? kUnknownPrice : price->second;
    }
    // With no strong providers configured there are no tiers to choose between.
    bool is_strong = Contains(routing_.escalation.strong, p.name);
    int mismatch = routing_.escalation.strong.empty() ? 0 : (is_strong != strong ? 1 : 0);
    if (p.name == preferred) primary = -1;
    ranked.push_back({primary, mismatch, i, &p.name});
  }
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.primary != b.primary) return a.primary < b.primary;
    if (a.tier_mismatch != b.tier_mismatch) return a.tier_mismatch < b.tier_mismatch;
    return a.index < b.index;
  });
  std::vector<std::string> out;
  for (const Ranked& r : ranked)
    out.push_back(*r.name);
  return out;
}

Decision Policy::Decide(const CallContext& context, const llm::ChatRequest& request) const {
  Decision d;
  std::vector<ScanText> texts = HashedTexts(request);
  d.fingerprint_ = Fingerprint(request, texts);
  d.findings_ = ScanRequest(texts);
  const bool default_route = context.profile.empty() || context.profile == "auto";
  const RouteProfile* profile = default_route ? nullptr : FindProfile(routing_, context.profile);
  const ProviderConfig* pinned =
      default_route || profile ? nullptr : PinnedProvider(context.profile);
  if (!default_route && !profile && !pinned) {
    d.route_ = Route::kDeny;
    d.reason_ = fmt::format("no route profile, provider or model is named '{}'", context.profile);
    return d;
  }
  Escalation(context, request, d);
  if (profile && profile->tier == "strong") {
    d.escalation_reasons_.push_back(
        fmt::format("profile '{}' asks for a strong model", profile->name));
    d.strong_ = true;
  } else if (profile && profile->tier == "small") {
    d.escalation_reasons_.clear();
    d.strong_ = false;
  }
  const GenericRoute generic = profile && profile->generic ? *profile->generic : routing_.generic;

  // Sensitivity that masking cannot remove: labels, confidential files, sensitive tools, taint.
  std::vector<std::string> labels;
  for (const std::string& path : context.paths) {
    if (IsConfidentialPath(path) && !Contains(labels, "confidential_path")) {
      labels.emplace_back("confidential_path");
    }
  }
  for (const std::string& tool : context.tools) {
    if (Contains(routing_.sensitive_tools, tool)) labels.push_back("sensitive_tool:" + tool);
  }
  for (const std::string& label : context.labels) {
    if (Contains(routing_.sensitive_labels, label)) labels.push_back("sensitive_label:" + label);
  }
  if (context.taint && context.taint->tainted()) labels.emplace_back("taint");
  bool maskable = !d.findings_.empty() && !routing_.mask.empty();
  for (const Finding& f : d.findings_)
    maskable = maskable && Contains(routing_.mask, f.type);
  d.sensitive_ = !labels.empty() || (!d.findings_.empty() && !maskable);

  // Rules: the strictest matching action wins.
  std::optional<RuleAction> action;
  std::string preferred;
  const RoutingRule* deciding = nullptr;
  for (const RoutingRule& rule : routing_.rules) {
    bool match = true;
    if (!rule.label.empty()) match = match && Contains(context.labels, rule.label);
    if (!rule.tool.empty()) {
      bool offered = std::any_of(request.tools.begin(), request.tools.end(),
                                 [&](const llm::ToolSpec& t) { return t.name == rule.tool; });
      match = match && (offered || Contains(context.tools, rule.tool));
    }
    if (!rule.path.empty()) {
      match = match && std::any_of(context.paths.begin(), context.paths.end(),
                                   [&](const std::string& p) { return GlobMatch(rule.path, p); });
    }
    if (rule.detector) {
      match = match && std::any_of(d.findings_.begin(), d.findings_.end(),
                                   [&](const Finding& f) { return f.type == *rule.detector; });
    }
    if (!rule.complexity.empty()) match = match && (rule.complexity == "strong") == d.strong_;
    if (!match) continue;
    d.rules_.push_back(rule.name);
    if (!action || Strictness(rule.action) > Strictness(*action)) {
      action = rule.action;
      deciding = &rule;
    }
  }
  if (deciding) preferred = deciding->provider;
  if (preferred.empty() && profile) preferred = profile->provider;
  if (pinned) preferred = pinned->name;
  for (const std::string& label : labels)
    d.rules_.push_back(label);
  if (profile) d.rules_.push_back("profile:" + profile->name);
  if (pinned) d.rules_.push_back("model:" + context.profile);

  std::string what = d.findings_.empty() ? std::string()
                                         : fmt::format("{} finding(s) ({})", d.findings_.size(),
                                                       fmt::join(TypeNames(d.findings_), ", "));
  if (action == RuleAction::kDeny) {
    d.route_ = Route::kDeny;
    d.reason_ = fmt::format("rule '{}' denies this call", deciding->name);
    return d;
  }
  std::vector<Zone> zones;
  if (d.sensitive_) {
    zones = {Zone::kLocal};
    std::vector<std::string> why = labels;
    if (!what.empty()) why.insert(why.begin(), what);
    d.reason_ = fmt::format("sensitive: {}; local zone only", fmt::join(why, ", "));
    if (action == RuleAction::kCloud) {
      d.reason_ += fmt::format(" (rule '{}' asks for cloud, which sensitive data never uses)",
                               deciding->name);
    }
  } else if (action) {
    zones = *action == RuleAction::kLocal ? std::vector<Zone>{Zone::kLocal}
                                          : std::vector<Zone>{Zone::kCloud, Zone::kLocal};
    d.reason_ = fmt::format("rule '{}' routes {}", deciding->name, RuleActionName(*action));
  } else {
    switch (generic) {
      case GenericRoute::kLocal:
        zones = {Zone::kLocal};
        break;
      case GenericRoute::kCloud:
        zones = {Zone::kCloud, Zone::kLocal};
        break;
      case GenericRoute::kCheapest:
        zones = {Zone::kLocal, Zone::kCloud};
        break;
    }
    d.reason_ = fmt::format("nothing sensitive found; generic routing '{}'",
                            generic == GenericRoute::kLocal   ? "local"
                            : generic == GenericRoute::kCloud ? "cloud"
                                                              : "cheapest");
    if (profile && profile->generic) d.reason_ += fmt::format(" (profile '{}')", profile->name);
  }
  if (profile && !profile->zones.empty()) {
    std::erase_if(zones, [&](Zone z) {
      return std::find(profile->zones.begin(), profile->zones.end(), z) == profile->zones.end();
    });
    if (zones.empty()) {
      d.route_ = Route::kDeny;
      d.reason_ +=
          fmt::format("; profile '{}' allows none of the zones this call may use", profile->name);
      return d;
    }
  }
  d.candidates_ = Candidates(zones, d.strong_, preferred, generic);
  if (pinned) {
    std::erase_if(d.candidates_, [&](const std::string& name) { return name != pinned->name; });
    if (d.candidates_.empty()) {
      d.route_ = Route::kDeny;
      d.reason_ += fmt::format(
          "; the requested model '{}' (provider '{}', {} zone) is not "
          "allowed for this call",
          context.profile, pinned->name, ZoneName(pinned->zone));
      return d;
    }
  }
  if (d.candidates_.empty()) {
    d.route_ = Route::kDeny;
    d.reason_ += d.sensitive_ ? "; no local provider is configured, so the call is refused"
                              : "; no provider is configured in an allowed zone";
    return d;
  }
  d.provider_ = d.candidates_.front();
  const ProviderConfig* chosen = nullptr;
  for (const ProviderConfig& p : providers_) {
    if (p.name == d.provider_) chosen = &p;
  }
  d.route_ = chosen->zone == Zone::kCloud ? Route::kCloud : Route::kLocal;
  if (!d.sensitive_ && !d.findings_.empty() && d.route_ == Route::kCloud) {
    d.masked_ = true;
    d.reason_ =
        fmt::format("only maskable entities: {}; sent masked, restored in the answer", what);
  }
  if (d.strong_) {
    d.reason_ +=
        fmt::format("; escalated to a strong model: {}", fmt::join(d.escalation_reasons_, "; "));
  }
  return d;
}

}  // namespace tandem::router
