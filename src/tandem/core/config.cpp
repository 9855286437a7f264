#include "tandem/core/config.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tandem/core/config_reader.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEnvPrefix = "TANDEM_";

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> Lookup(const std::map<std::string, std::string>& env,
                                  const std::string& name) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

// Parses an override as a TOML value (so numbers and booleans keep their type), falling back to
// a plain string. The value is under key "v"; its source path records the variable, for errors.
Result<toml::table> ParseOverrideValue(const std::string& variable, const std::string& text) {
  std::string source = "$" + variable;
  try {
    return toml::parse("v = " + text, std::string_view(source));
  } catch (const toml::parse_error&) {
    // Not a TOML literal: treat it as a string.
  }
  std::string quoted = "v = \"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    if (c < 0x20) {
      quoted += fmt::format("\\u{:04x}", c);
    } else {
      quoted += static_cast<char>(c);
    }
  }
  quoted += '"';
  try {
    return toml::parse(quoted, std::string_view(source));
  } catch (const toml::parse_error& e) {
    return MakeError(ErrorCode::kInvalidArgument, "environment variable {}: {}", variable,
                     e.description());
  }
}

// Moves `value` into `table[key]`, keeping its concrete type and its source location (toml++
// keeps the source on move but not on copy).
void Assign(toml::table& table, const std::string& key, toml::node& value) {
  value.visit([&](auto& concrete) { table.insert_or_assign(key, std::move(concrete)); });
}

// TANDEM_HOME, TANDEM_STORE and TANDEM_LOG_LEVEL set those keys; TANDEM_<SECTION>__<KEY> sets
// [section] key.
Status ApplyEnvironmentOverrides(toml::table& root, const std::map<std::string, std::string>& env) {
  for (const auto& [name, value] : env) {
    if (!name.starts_with(kEnvPrefix) || name == "TANDEM_CONFIG") continue;
    std::string rest = ToLower(std::string_view(name).substr(kEnvPrefix.size()));
    if (rest == "log_level") rest = "log__level";
    size_t split = rest.find("__");
    // Other TANDEM_* variables (TANDEM_CONFIG, test or user variables) are not configuration.
    if (split == std::string::npos && rest != "home" && rest != "store") continue;
    Result<toml::table> parsed = ParseOverrideValue(name, value);
    if (!parsed) return std::unexpected(parsed.error());
    toml::node& node = *parsed->get("v");
    if (split == std::string::npos) {
      Assign(root, rest, node);
      continue;
    }
    std::string section = rest.substr(0, split);
    std::string key = rest.substr(split + 2);
    toml::node* existing = root.get(section);
    if (existing && !existing->is_table()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "environment variable {}: '{}' is not a table in the configuration", name,
                       section);
    }
    if (!existing) root.insert(section, toml::table{});
    Assign(*root.get(section)->as_table(), key, node);
  }
  return {};
}

Result<ProviderConfig> ParseProvider(const toml::table& table, size_t index) {
  ConfigReader reader(table, fmt::format("providers[{}]", index));
  if (Status known = reader.CheckKnownKeys(
          {"name", "kind", "base_url", "model", "model_path", "zone", "api_key_env",
           "max_concurrency", "timeout_connect_s", "timeout_first_byte_s", "timeout_idle_s",
           "timeout_total_s", "capabilities", "price",
           "embedding_model"});  // embedding_model: read by the router (routing_config.h).
      !known) {
    return std::unexpected(known.error());
  }
  ProviderConfig p;
  p.line = static_cast<int>(table.source().begin.line);
  auto name = reader.String("name");
  if (!name) return std::unexpected(name.error());
  if (!*name || (*name)->empty()) {
    return std::unexpected(reader.ErrorAt("name", "every provider needs a non-empty name"));
  }
  p.name = **name;
  auto kind = reader.String("kind");
  if (!kind) return std::unexpected(kind.error());
  p.kind = kind->value_or("openai");
  if (p.kind != "openai" && p.kind != "engine") {
    return std::unexpected(reader.ErrorAt(
        "kind", fmt::format("unknown kind '{}' (expected openai or engine)", p.kind)));
  }
  for (auto [key, field] :
       {std::pair{"base_url", &p.base_url}, std::pair{"model", &p.model},
        std::pair{"model_path", &p.model_path}, std::pair{"api_key_env", &p.api_key_env}}) {
    auto value = reader.String(key);
    if (!value) return std::unexpected(value.error());
    if (*value) *field = **value;
  }
  auto zone = reader.String("zone");
  if (!zone) return std::unexpected(zone.error());
  if (*zone) {
    std::optional<Zone> parsed = ParseZone(**zone);
    if (!parsed) {
      return std::unexpected(reader.ErrorAt(
          "zone", fmt::format("unknown zone '{}' (expected local or cloud)", **zone)));
    }
    p.zone = *parsed;
  }
  if (p.kind == "openai" && p.base_url.empty()) {
    return std::unexpected(reader.ErrorAt("base_url", "an openai provider needs base_url"));
  }
  if (p.kind == "openai" && !p.base_url.starts_with("http://") &&
      !p.base_url.starts_with("https://")) {
    return std::unexpected(reader.ErrorAt("base_url", "must start with http:// or https://"));
  }
  if (p.kind == "engine" && p.model_path.empty()) {
    return std::unexpected(reader.ErrorAt("model_path", "an engine provider needs model_path"));
  }
  if (p.kind == "engine" && p.zone != Zone::kLocal) {
    return std::unexpected(reader.ErrorAt("zone", "the embedded engine always runs locally"));
  }
  auto concurrency = reader.Integer("max_concurrency");
  if (!concurrency) return std::unexpected(concurrency.error());
  if (*concurrency) {
    if (**concurrency < 1 || **concurrency > 1024) {
      return std::unexpected(reader.ErrorAt("max_concurrency", "must be between 1 and 1024"));
    }
    p.max_concurrency = static_cast<int>(**concurrency);
  }
  for (auto [key, field] : {std::pair{"timeout_connect_s", &p.timeout_connect_s},
                            std::pair{"timeout_first_byte_s", &p.timeout_first_byte_s},
                            std::pair{"timeout_idle_s", &p.timeout_idle_s},
                            std::pair{"timeout_total_s", &p.timeout_total_s}}) {
    auto value = reader.Number(key);
    if (!value) return std::unexpected(value.error());
    if (*value) {
      if (**value <= 0) return std::unexpected(reader.ErrorAt(key, "must be positive"));
      *field = **value;
    }
  }
  return p;
}

Status ParseProviders(const toml::table& root, Config& config) {
  const toml::node* node = root.get("providers");
  if (!node) return {};
  const toml::array* array = node->as_array();
  if (!array) {
    return std::unexpected(
        ConfigReader(root, "").ErrorAt("providers", "expected an array of tables ([[providers]])"));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* table = array->get(i)->as_table();
    if (!table) {
      return std::unexpected(ConfigReader(root, "").ErrorAt(
          "providers", fmt::format("entry {} should be a table", i)));
    }
    Result<ProviderConfig> provider = ParseProvider(*table, i);
    if (!provider) return std::unexpected(provider.error());
    if (!names.insert(provider->name).second) {
      return std::unexpected(
          ConfigReader(*table, fmt::format("providers[{}]", i))
              .ErrorAt("name", fmt::format("duplicate provider name '{}'", provider->name)));
    }
    config.providers.push_back(std::move(*provider));
  }
  return {};
}

Status ParseLog(const toml::table& root, Config& config) {
  const toml::table* table = ConfigReader(root, "").Table("log");
  if (!table) return {};
  ConfigReader reader(*table, "log");
  if (Status known = reader.CheckKnownKeys({"level", "format"}); !known) return known;
  auto level = reader.String("level");
  if (!level) return std::unexpected(level.error());
  if (*level) {
    static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
    if (!kLevels.contains(**level)) {
      return std::unexpected(reader.ErrorAt(
          "level", fmt::format("unknown level '{}' (expected trace, debug, info, warn, error "
                               "or off)",
                               **level)));
    }
    config.log.level = **level;
  }
  auto format = reader.String("format");
  if (!format) return std::unexpected(format.error());
  if (*format) {
    if (**format != "text" && **format != "json") {
      return std::unexpected(reader.ErrorAt(
          "format", fmt::format("unknown format '{}' (expected text or json)", **format)));
    }
    config.log.format = **format;
  }
  return {};
}

Status ParseAgent(const toml::table& root, Config& config) {
  const toml::table* table = ConfigReader(root, "").Table("agent");
  if (!table) return {};
  ConfigReader reader(*table, "agent");
  if (Status known = reader.CheckKnownKeys({"max_steps", "context_tokens"}); !known) return known;
  auto max_steps = reader.Integer("max_steps");
  if (!max_steps) return std::unexpected(max_steps.error());
  if (*max_steps) {
    if (**max_steps < 1 || **max_steps > 100000) {
      return std::unexpected(reader.ErrorAt("max_steps", "must be between 1 and 100000"));
    }
    config.agent.max_steps = static_cast<int>(**max_steps);
  }
  auto context_tokens = reader.Integer("context_tokens");
  if (!context_tokens) return std::unexpected(context_tokens.error());
  if (*context_tokens) {
    if (**context_tokens < 512 || **context_tokens > 100000000) {
      return std::unexpected(reader.ErrorAt("context_tokens", "must be between 512 and 100000000"));
    }
    config.agent.context_tokens = **context_tokens;
  }
  return {};
}

fs::path DefaultHome(const std::map<std::string, std::string>& env) {
  if (auto xdg = Lookup(env, "XDG_DATA_HOME")) return fs::path(*xdg) / "tandem";
  if (auto home = Lookup(env, "HOME")) return fs::path(*home) / ".local/share/tandem";
  return fs::current_path() / ".tandem";
}

Result<Config> BuildConfig(toml::table root, const ConfigLoadOptions& options,
                           const std::map<std::string, std::string>& env) {
  if (Status applied = ApplyEnvironmentOverrides(root, env); !applied) {
    return std::unexpected(applied.error());
  }
  Config config;
  ConfigReader reader(root, "");
  if (Status known =
          reader.CheckKnownKeys({"home", "log", "agent", "providers", "routing", "tools", "memory",
                                 "cost", "catalog", "server", "store", "engine", "budget"});
      !known) {
    return std::unexpected(known.error());
  }
  auto home = reader.String("home");
  if (!home) return std::unexpected(home.error());
  config.home = *home ? fs::path(**home) : DefaultHome(env);
  for (auto parse : {ParseLog, ParseAgent, ParseProviders}) {
    if (Status status = parse(root, config); !status) return std::unexpected(status.error());
  }
  Result<Secrets> secrets = LoadSecrets(env, options.working_dir);
  if (!secrets) return std::unexpected(secrets.error());
  config.secrets = std::move(*secrets);
  config.document = std::make_shared<const toml::table>(std::move(root));
  return config;
}

std::optional<fs::path> FindConfigFile(const ConfigLoadOptions& options,
                                       const std::map<std::string, std::string>& env) {
  if (options.explicit_path) return options.explicit_path;
  if (auto from_env = Lookup(env, "TANDEM_CONFIG")) return fs::path(*from_env);
  if (fs::exists(options.working_dir / "tandem.toml")) return options.working_dir / "tandem.toml";
  if (auto xdg = Lookup(env, "XDG_CONFIG_HOME")) {
    fs::path candidate = fs::path(*xdg) / "tandem/tandem.toml";
    if (fs::exists(candidate)) return candidate;
  } else if (auto home = Lookup(env, "HOME")) {
    fs::path candidate = fs::path(*home) / ".config/tandem/tandem.toml";
    if (fs::exists(candidate)) return candidate;
  }
  return std::nullopt;
}

Result<toml::table> ParseToml(std::string_view text, const fs::path& source_name) {
  try {
    return toml::parse(text, source_name.string());
  } catch (const toml::parse_error& e) {
    return MakeError(ErrorCode::kInvalidArgument, "{}:{}:{}: {}", source_name.string(),
                     e.source().begin.line, e.source().begin.column, e.description());
  }
}

}  // namespace

std::string_view ZoneName(Zone zone) {
  return zone == Zone::kLocal ? "local" : "cloud";
}

std::optional<Zone> ParseZone(std::string_view name) {
  if (name == "local") return Zone::kLocal;
  if (name == "cloud") return Zone::kCloud;
  return std::nullopt;
}

const ProviderConfig* Config::FindProvider(std::string_view name) const {
  for (const ProviderConfig& p : providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<Config> ParseConfig(std::string_view text, const fs::path& source_name,
                           const ConfigLoadOptions& options) {
  std::map<std::string, std::string> env = options.environment.value_or(ProcessEnvironment());
  Result<toml::table> root = ParseToml(text, source_name);
  if (!root) return std::unexpected(root.error());
  Result<Config> config = BuildConfig(std::move(*root), options, env);
  if (config) config->source = source_name;
  return config;
}

Result<Config> LoadConfig(const ConfigLoadOptions& options) {
  std::map<std::string, std::string> env = options.environment.value_or(ProcessEnvironment());
  std::optional<fs::path> path = FindConfigFile(options, env);
  if (!path) return BuildConfig(toml::table{}, options, env);
  std::ifstream file(*path, std::ios::binary);
  if (!file) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot read configuration file {}",
                     path->string());
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  return ParseConfig(buffer.str(), *path, options);
}

std::string DescribeConfig(const Config& config) {
  nlohmann::ordered_json out;
  out["source"] = config.source.empty() ? "(none: built-in defaults)" : config.source.string();
  out["home"] = config.home.string();
  out["log"] = {{"level", config.log.level}, {"format", config.log.format}};
  out["agent"] = {{"max_steps", config.agent.max_steps}};
  out["providers"] = nlohmann::json::array();
  for (const ProviderConfig& p : config.providers) {
    nlohmann::ordered_json provider = {
        {"name", p.name}, {"kind", p.kind}, {"zone", ZoneName(p.zone)}, {"model", p.model}};
    if (p.kind == "openai") provider["base_url"] = p.base_url;
    if (p.kind == "engine") provider["model_path"] = p.model_path;
    provider["max_concurrency"] = p.max_concurrency;
    if (!p.api_key_env.empty()) {
      provider["api_key_env"] = p.api_key_env;
      provider["api_key"] = config.secrets.Has(p.api_key_env) ? "(set, redacted)" : "(missing)";
    }
    out["providers"].push_back(std::move(provider));
  }
  return out.dump(2);
}

Status CheckProviderKeys(const Config& config, const ProviderConfig& provider) {
  if (provider.api_key_env.empty() || config.secrets.Has(provider.api_key_env)) return {};
  return MakeError(ErrorCode::kInvalidArgument,
                   "provider '{}' (line {}): environment variable {} named by api_key_env is "
                   "not set (looked in the environment and ./.env)",
                   provider.name, provider.line, provider.api_key_env);
}

Result<std::string> StoreLocation(const Config& config) {
  if (config.document == nullptr) return std::string();
  Result<std::optional<std::string>> value = ConfigReader(*config.document, "").String("store");
  if (!value) return std::unexpected(value.error());
  return value->value_or("");
}

}  // namespace tandem
