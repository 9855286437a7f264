// Secrets (API keys) come only from the environment or a .env file, never from tandem.toml.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "tandem/core/error.h"

namespace tandem {

// A read-only set of named secrets. Values are never logged; Redact() masks them in text.
// Thread-safe after construction (immutable).
class Secrets {
 public:
  Secrets() = default;
  explicit Secrets(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  std::optional<std::string> Get(const std::string& name) const;
  bool Has(const std::string& name) const { return values_.contains(name); }

  // Replaces every occurrence of a secret value (8+ characters, in a variable whose name
  // looks secret: see IsSecretName) with "[redacted]".
  std::string Redact(std::string text) const;

 private:
  std::map<std::string, std::string> values_;
};

// True for variable names that hold credentials: *KEY*, *TOKEN*, *SECRET*, *PASSWORD*...
bool IsSecretName(std::string_view name);

// Parses .env text: KEY=VALUE lines, optional `export `, quotes, # comments.
// Fails with kInvalidArgument naming the line of a malformed entry.
Result<std::map<std::string, std::string>> ParseDotEnv(std::string_view text,
                                                       std::string_view source_name);

// Secrets from `environment` overlaid on `working_dir/.env` (the environment wins).
Result<Secrets> LoadSecrets(const std::map<std::string, std::string>& environment,
                            const std::filesystem::path& working_dir);

// The process environment as a map.
std::map<std::string, std::string> ProcessEnvironment();

}  // namespace tandem
