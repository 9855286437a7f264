#include "tandem/router/routing_config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "tandem/core/config_reader.h"

namespace tandem::router {
namespace {

Status ReadStrings(const ConfigReader& reader, std::string_view key,
                   std::vector<std::string>& out) {
  auto value = reader.StringArray(key);
  if (!value) return std::unexpected(value.error());
  if (*value) out = std::move(**value);
  return {};
}

Status ReadTypes(const ConfigReader& reader, std::string_view key, std::vector<EntityType>& out) {
  std::vector<std::string> names;
  if (Status read = ReadStrings(reader, key, names); !read) return read;
  for (const std::string& name : names) {
    std::optional<EntityType> type = ParseEntityType(name);
    if (!type) {
      return std::unexpected(reader.ErrorAt(key, fmt::format("unknown detector '{}'", name)));
    }
    out.push_back(*type);
  }
  return {};
}

Status CheckProvider(const Config& config, const ConfigReader& reader, std::string_view key,
                     const std::string& name) {
  if (config.FindProvider(name)) return {};
  return std::unexpected(
      reader.ErrorAt(key, fmt::format("no provider named '{}' in [[providers]]", name)));
}

Result<RoutingRule> ParseRule(const Config& config, const toml::table& table, size_t index) {
  ConfigReader reader(table, fmt::format("routing.rules[{}]", index));
  if (Status known = reader.CheckKnownKeys(
          {"name", "label", "tool", "path", "detector", "complexity", "route", "provider"});
      !known) {
    return std::unexpected(known.error());
  }
  RoutingRule rule;
  rule.line = static_cast<int>(table.source().begin.line);
  rule.name = fmt::format("rules[{}]", index);
  for (auto [key, field] :
       {std::pair{"name", &rule.name}, std::pair{"label", &rule.label},
        std::pair{"tool", &rule.tool}, std::pair{"path", &rule.path},
        std::pair{"complexity", &rule.complexity}, std::pair{"provider", &rule.provider}}) {
    auto value = reader.String(key);
    if (!value) return std::unexpected(value.error());
    if (*value) *field = **value;
  }
  auto detector = reader.String("detector");
  if (!detector) return std::unexpected(detector.error());
  if (*detector) {
    rule.detector = ParseEntityType(**detector);
    if (!rule.detector) {
      return std::unexpected(
          reader.ErrorAt("detector", fmt::format("unknown detector '{}'", **detector)));
    }
  }
  if (!rule.complexity.empty() && rule.complexity != "small" && rule.complexity != "strong") {
    return std::unexpected(reader.ErrorAt("complexity", "expected \"small\" or \"strong\""));
  }
  if (rule.label.empty() && rule.tool.empty() && rule.path.empty() && !rule.detector &&
      rule.complexity.empty()) {
    return std::unexpected(reader.ErrorAt(
        "route", "a rule needs at least one of label, tool, path, detector, complexity"));
  }
  auto route = reader.String("route");
  if (!route) return std::unexpected(route.error());
  if (!*route) return std::unexpected(reader.ErrorAt("route", "every rule needs a route"));
  if (**route == "local") {
    rule.action = RuleAction::kLocal;
  } else if (**route == "cloud") {
    rule.action = RuleAction::kCloud;
  } else if (**route == "deny") {
    rule.action = RuleAction::kDeny;
  } else {
    return std::unexpected(reader.ErrorAt(
        "route", fmt::format("unknown route '{}' (expected local, cloud or deny)", **route)));
  }
  if (!rule.provider.empty()) {
    if (Status ok = CheckProvider(config, reader, "provider", rule.provider); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return rule;
}

Status ParseRules(const Config& config, const ConfigReader& reader, const toml::table& table,
                  RoutingConfig& out) {
  const toml::node* node = table.get("rules");
  if (!node) return {};
  const toml::array* array = node->as_array();
  if (!array) return std::unexpected(reader.ErrorAt("rules", "expected [[routing.rules]] tables"));
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* rule_table = array->get(i)->as_table();
    if (!rule_table) {
      return std::unexpected(reader.ErrorAt("rules", fmt::format("entry {} is not a table", i)));
    }
    Result<RoutingRule> rule = ParseRule(config, *rule_table, i);
    if (!rule) return std::unexpected(rule.error());
    out.rules.push_back(std::move(*rule));
  }
  return {};
}

Result<GenericRoute> ParseGeneric(const ConfigReader& reader, std::string_view key,
                                  const std::string& value) {
  if (value == "local") return GenericRoute::kLocal;
  if (value == "cloud") return GenericRoute::kCloud;
  if (value == "cheapest") return GenericRoute::kCheapest;
  return std::unexpected(reader.ErrorAt(
      key, fmt::format("unknown value '{}' (expected cloud, local or cheapest)", value)));
}

Result<RouteProfile> ParseProfile(const Config& config, const toml::table& table, size_t index) {
  ConfigReader reader(table, fmt::format("routing.profiles[{}]", index));
  if (Status known =
          reader.CheckKnownKeys({"name", "description", "generic", "zones", "provider", "tier"});
      !known) {
    return std::unexpected(known.error());
  }
  RouteProfile profile;
  profile.line = static_cast<int>(table.source().begin.line);
  for (auto [key, field] :
       {std::pair{"name", &profile.name}, std::pair{"description", &profile.description},
        std::pair{"provider", &profile.provider}, std::pair{"tier", &profile.tier}}) {
    auto value = reader.String(key);
    if (!value) return std::unexpected(value.error());
    if (*value) *field = **value;
  }
  if (profile.name.empty()) {
    return std::unexpected(reader.ErrorAt("name", "every profile needs a non-empty name"));
  }
  if (profile.name == "auto") {
    return std::unexpected(
        reader.ErrorAt("name", "'auto' is reserved for the default routing (no profile)"));
  }
  if (config.FindProvider(profile.name)) {
    return std::unexpected(
        reader.ErrorAt("name", fmt::format("'{}' is already a provider's name", profile.name)));
  }
  auto generic = reader.String("generic");
  if (!generic) return std::unexpected(generic.error());
  if (*generic) {
    Result<GenericRoute> parsed = ParseGeneric(reader, "generic", **generic);
    if (!parsed) return std::unexpected(parsed.error());
    profile.generic = *parsed;
  }
  std::vector<std::string> zones;
  if (Status s = ReadStrings(reader, "zones", zones); !s) return std::unexpected(s.error());
  for (const std::string& name : zones) {
    std::optional<Zone> zone = ParseZone(name);
    if (!zone) {
      return std::unexpected(reader.ErrorAt(
          "zones", fmt::format("unknown zone '{}' (expected local or cloud)", name)));
    }
    profile.zones.push_back(*zone);
  }
  if (!profile.tier.empty() && profile.tier != "small" && profile.tier != "strong") {
    return std::unexpected(reader.ErrorAt("tier", "expected \"small\" or \"strong\""));
  }
  if (!profile.provider.empty()) {
    if (Status ok = CheckProvider(config, reader, "provider", profile.provider); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return profile;
}

Status ParseProfiles(const Config& config, const ConfigReader& reader, const toml::table& table,
                     RoutingConfig& out) {
  const toml::node* node = table.get("profiles");
  if (!node) return {};
  const toml::array* array = node->as_array();
  if (!array) {
    return std::unexpected(reader.ErrorAt("profiles", "expected [[routing.profiles]] tables"));
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* profile_table = array->get(i)->as_table();
    if (!profile_table) {
      return std::unexpected(reader.ErrorAt("profiles", fmt::format("entry {} is not a table", i)));
    }
    Result<RouteProfile> profile = ParseProfile(config, *profile_table, i);
    if (!profile) return std::unexpected(profile.error());
    if (FindProfile(out, profile->name)) {
      return std::unexpected(
          ConfigReader(*profile_table, fmt::format("routing.profiles[{}]", i))
              .ErrorAt("name", fmt::format("a profile named '{}' already exists", profile->name)));
    }
    out.profiles.push_back(std::move(*profile));
  }
  return {};
}

Status ReadNonNegative(const ConfigReader& reader, std::string_view key, int64_t& out) {
  auto value = reader.Integer(key);
  if (!value) return std::unexpected(value.error());
  if (!*value) return {};
  if (**value < 0) return std::unexpected(reader.ErrorAt(key, "must not be negative"));
  out = **value;
  return {};
}

Status ParseEscalation(const Config& config, const toml::table& table, EscalationConfig& out) {
  ConfigReader reader(table, "routing.escalation");
  if (Status known = reader.CheckKnownKeys({"strong", "max_small_prompt_tokens", "max_small_tools",
                                            "failures_to_escalate", "labels"});
      !known) {
    return known;
  }
  if (Status s = ReadStrings(reader, "strong", out.strong); !s) return s;
  for (const std::string& name : out.strong) {
    if (Status ok = CheckProvider(config, reader, "strong", name); !ok) return ok;
  }
  if (Status s = ReadStrings(reader, "labels", out.labels); !s) return s;
  if (Status s = ReadNonNegative(reader, "max_small_prompt_tokens", out.max_small_prompt_tokens);
      !s) {
    return s;
  }
  if (Status s = ReadNonNegative(reader, "max_small_tools", out.max_small_tools); !s) return s;
  return ReadNonNegative(reader, "failures_to_escalate", out.failures_to_escalate);
}

Status ParseHealth(const toml::table& table, HealthConfig& out) {
  ConfigReader reader(table, "routing.health");
  if (Status known = reader.CheckKnownKeys({"failure_threshold", "cooldown_s"}); !known) {
    return known;
  }
  if (Status s = ReadNonNegative(reader, "failure_threshold", out.failure_threshold); !s) return s;
  if (out.failure_threshold == 0) {
    return std::unexpected(reader.ErrorAt("failure_threshold", "must be at least 1"));
  }
  auto cooldown = reader.Number("cooldown_s");
  if (!cooldown) return std::unexpected(cooldown.error());
  if (*cooldown) {
    if (**cooldown < 0)
      return std::unexpected(reader.ErrorAt("cooldown_s", "must not be negative"));
    out.cooldown_s = **cooldown;
  }
  return {};
}

}  // namespace

std::string_view RuleActionName(RuleAction action) {
  switch (action) {
    case RuleAction::kLocal:
      return "local";
    case RuleAction::kCloud:
      return "cloud";
    case RuleAction::kDeny:
      return "deny";
  }
  return "deny";
}

const RouteProfile* FindProfile(const RoutingConfig& config, std::string_view name) {
  for (const RouteProfile& profile : config.profiles) {
    if (profile.name == name) return &profile;
  }
  return nullptr;
}

Status ParseEmbeddingModels(const Config& config, RoutingConfig& out) {
  const toml::array* providers = config.document->get_as<toml::array>("providers");
  if (!providers) return {};
  for (size_t i = 0; i < providers->size() && i < config.providers.size(); ++i) {
    const toml::table* table = providers->get(i)->as_table();
    if (!table) continue;
    ConfigReader reader(*table, fmt::format("providers[{}]", i));
    auto model = reader.String("embedding_model");
    if (!model) return std::unexpected(model.error());
    if (!*model) continue;
    if ((*model)->empty() || config.providers[i].kind != "openai") {
      return std::unexpected(reader.ErrorAt(
          "embedding_model", "must be a model name, on a provider of kind \"openai\""));
    }
    out.embedding_models[config.providers[i].name] = **model;
  }
  return {};
}

Result<RoutingConfig> ParseRoutingConfig(const Config& config) {
  RoutingConfig out;
  if (!config.document) return out;
  if (Status s = ParseEmbeddingModels(config, out); !s) return std::unexpected(s.error());
  const toml::table* table = ConfigReader(*config.document, "").Table("routing");
  if (!table) {
    if (config.document->get("routing")) {
      return std::unexpected(
          ConfigReader(*config.document, "").ErrorAt("routing", "expected a table"));
    }
    return out;
  }
  ConfigReader reader(*table, "routing");
  if (Status known =
          reader.CheckKnownKeys({"generic", "confidential_paths", "keywords", "patterns",
                                 "sensitive_tools", "sensitive_labels", "disabled_detectors",
                                 "mask", "rules", "profiles", "escalation", "health"});
      !known) {
    return std::unexpected(known.error());
  }
  auto generic = reader.String("generic");
  if (!generic) return std::unexpected(generic.error());
  if (*generic) {
    Result<GenericRoute> parsed = ParseGeneric(reader, "generic", **generic);
    if (!parsed) return std::unexpected(parsed.error());
    out.generic = *parsed;
  }
  for (auto [key, field] :
       {std::pair{"confidential_paths", &out.confidential_paths},
        std::pair{"keywords", &out.keywords}, std::pair{"patterns", &out.patterns},
        std::pair{"sensitive_tools", &out.sensitive_tools},
        std::pair{"sensitive_labels", &out.sensitive_labels}}) {
    if (Status s = ReadStrings(reader, key, *field); !s) return std::unexpected(s.error());
  }
  // Keywords and patterns are compiled here too, so a bad one is reported at its line.
  if (auto scanner = Scanner::Create({.keywords = out.keywords}); !scanner) {
    return std::unexpected(reader.ErrorAt("keywords", scanner.error().message()));
  }
  if (auto scanner = Scanner::Create({.patterns = out.patterns}); !scanner) {
    return std::unexpected(reader.ErrorAt("patterns", scanner.error().message()));
  }
  if (Status s = ReadTypes(reader, "disabled_detectors", out.disabled_detectors); !s) {
    return std::unexpected(s.error());
  }
  if (Status s = ReadTypes(reader, "mask", out.mask); !s) return std::unexpected(s.error());
  if (Status s = ParseRules(config, reader, *table, out); !s) return std::unexpected(s.error());
  if (Status s = ParseProfiles(config, reader, *table, out); !s) {
    return std::unexpected(s.error());
  }
  for (auto [key, parse] : {std::pair{"escalation", 0}, std::pair{"health", 1}}) {
    const toml::node* node = table->get(key);
    if (!node) continue;
    const toml::table* sub = node->as_table();
    if (!sub) return std::unexpected(reader.ErrorAt(key, "expected a table"));
    Status s =
        parse == 0 ? ParseEscalation(config, *sub, out.escalation) : ParseHealth(*sub, out.health);
    if (!s) return std::unexpected(s.error());
  }
  return out;
}

}  // namespace tandem::router
