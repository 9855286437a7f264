// Tandem's configuration: one TOML file, TANDEM_* environment overrides, and secrets from the
// environment or a .env file. Modules with sections of their own read them via ConfigReader.
//
//   Result<Config> config = LoadConfig({.explicit_path = flag_value});
//   for (const ProviderConfig& p : config->providers) ...
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/core/secrets.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace tandem {

// Where a model may run. Sensitive work is only ever sent to kLocal.
enum class Zone { kLocal, kCloud };
std::string_view ZoneName(Zone zone);
std::optional<Zone> ParseZone(std::string_view name);

struct ProviderConfig {
  std::string name;               // Unique; referenced by routing rules and the ledger.
  std::string kind = "openai";    // "openai": any OpenAI-compatible endpoint; "engine": embedded.
  std::string base_url;           // e.g. "http://127.0.0.1:8080/v1" (kind "openai").
  std::string model;              // Model name sent to the endpoint.
  std::string model_path;         // GGUF file (kind "engine").
  Zone zone = Zone::kLocal;       // Privacy zone of the endpoint.
  std::string api_key_env;        // Variable holding the key; empty means no key is sent.
  int max_concurrency = 4;        // Concurrent requests allowed to this provider.
  double timeout_connect_s = 10;  // TCP/TLS connect limit.
  double timeout_first_byte_s = 120;  // Until the first response byte (slow prompt processing).
  double timeout_idle_s = 60;         // Longest silence inside a streamed answer.
  double timeout_total_s = 600;       // Whole-request limit; long generations need a high value.
  int line = 0;                       // Line of the [[providers]] entry, for error messages.
};

struct AgentConfig {
  int max_steps = 30;  // Default step limit of `tandem run` when --max-steps is not given.
  // Context window the agent plans each prompt for; 0: from the catalog (docs/agent.md).
  // Smaller than the model's real window condenses history sooner (more summary calls).
  int64_t context_tokens = 0;
};

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error, off.
  std::string format = "text";  // "text" for people, "json" for JSON lines.
};

struct Config {
  std::filesystem::path source;  // The file read; empty when none was found.
  std::filesystem::path home;    // State directory ($TANDEM_HOME or $XDG_DATA_HOME/tandem).
  LogConfig log;
  AgentConfig agent;
  std::vector<ProviderConfig> providers;
  Secrets secrets;

  // The parsed document, for modules that read their own sections through ConfigReader.
  // Shared because Config is a copyable value and the document is immutable after loading.
  std::shared_ptr<const toml::table> document;

  const ProviderConfig* FindProvider(std::string_view name) const;
};

struct ConfigLoadOptions {
  std::optional<std::filesystem::path> explicit_path;  // --config; must exist when given.
  std::filesystem::path working_dir = std::filesystem::current_path();  // For ./tandem.toml, .env.
  // Environment to read; defaults to the process environment. Tests pass their own.
  std::optional<std::map<std::string, std::string>> environment;
};

// Finds, parses and validates the configuration. Search order: explicit path, $TANDEM_CONFIG,
// ./tandem.toml, $XDG_CONFIG_HOME/tandem/tandem.toml; with none found, the defaults apply.
// Fails with kInvalidArgument naming the file, line and key of the first bad value.
Result<Config> LoadConfig(const ConfigLoadOptions& options = {});

// Parses configuration text as if read from `source_name` (used by tests and `config check`).
Result<Config> ParseConfig(std::string_view text, const std::filesystem::path& source_name,
                           const ConfigLoadOptions& options = {});

// The effective configuration as TOML-like JSON text with secrets shown only as set/missing.
std::string DescribeConfig(const Config& config);

// Checks that each provider's API key variable is set; names the first missing one.
Status CheckProviderKeys(const Config& config, const ProviderConfig& provider);

// The top-level `store` key (TANDEM_STORE sets it too): a PostgreSQL URL or a SQLite path; empty
// when absent. Fails with kInvalidArgument when it is not a string.
Result<std::string> StoreLocation(const Config& config);

}  // namespace tandem
