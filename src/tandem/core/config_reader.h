// Typed, validated access to one TOML table of the configuration. Every error names the file,
// line and full key ("tandem.toml:7: key 'providers[1].zone': unknown zone 'moon'"), or the
// environment variable an overriding value came from.
#pragma once

#include <toml++/toml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "tandem/core/error.h"

namespace tandem {

// Reads keys of one table. Not thread-safe; cheap to construct.
class ConfigReader {
 public:
  // `key_prefix` is the table's dotted path ("routing", "providers[0]"); empty for the root.
  ConfigReader(const toml::table& table, std::string key_prefix);

  // Each getter returns nullopt when the key is absent, an error when it has the wrong type.
  Result<std::optional<std::string>> String(std::string_view key) const;
  Result<std::optional<int64_t>> Integer(std::string_view key) const;
  Result<std::optional<double>> Number(std::string_view key) const;  // integer or float
  Result<std::optional<bool>> Boolean(std::string_view key) const;
  Result<std::optional<std::vector<std::string>>> StringArray(std::string_view key) const;
  const toml::table* Table(std::string_view key) const;  // nullptr if absent or not a table

  // Fails naming the first key of the table not in `known`, listing the valid ones.
  Status CheckKnownKeys(std::initializer_list<std::string_view> known) const;

  // An kInvalidArgument error located at `key` of this table (or at the table if absent).
  Error ErrorAt(std::string_view key, std::string_view message) const;

  std::string FullKey(std::string_view key) const;

 private:
  const toml::table& table_;
  std::string prefix_;
};

// "file:line" or "environment variable NAME" for where a node came from.
std::string DescribeSource(const toml::source_region& source);

}  // namespace tandem
