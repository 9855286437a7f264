#include "tandem/core/config_reader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace tandem {
namespace {

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    default:
      return "date/time";
  }
}

}  // namespace

std::string DescribeSource(const toml::source_region& source) {
  if (source.path && source.path->starts_with("$")) {
    return fmt::format("environment variable {}", source.path->substr(1));
  }
  std::string path = source.path ? *source.path : std::string("<config>");
  return fmt::format("{}:{}", path, source.begin.line);
}

ConfigReader::ConfigReader(const toml::table& table, std::string key_prefix)
    : table_(table), prefix_(std::move(key_prefix)) {}

std::string ConfigReader::FullKey(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
}

Error ConfigReader::ErrorAt(std::string_view key, std::string_view message) const {
  const toml::node* node = table_.get(key);
  const toml::source_region& source = node ? node->source() : table_.source();
  return Error(ErrorCode::kInvalidArgument,
               fmt::format("{}: key '{}': {}", DescribeSource(source), FullKey(key), message));
}

Result<std::optional<std::string>> ConfigReader::String(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::nullopt;
  if (auto value = node->value<std::string>(); value && node->is_string()) return *value;
  return std::unexpected(ErrorAt(key, fmt::format("expected a string, found {}", TypeName(*node))));
}

Result<std::optional<int64_t>> ConfigReader::Integer(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::nullopt;
  if (node->is_integer()) return node->as_integer()->get();
  return std::unexpected(
      ErrorAt(key, fmt::format("expected an integer, found {}", TypeName(*node))));
}

Result<std::optional<double>> ConfigReader::Number(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::nullopt;
  if (node->is_integer()) return static_cast<double>(node->as_integer()->get());
  if (node->is_floating_point()) return node->as_floating_point()->get();
  return std::unexpected(ErrorAt(key, fmt::format("expected a number, found {}", TypeName(*node))));
}

Result<std::optional<bool>> ConfigReader::Boolean(std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::nullopt;
  if (node->is_boolean()) return node->as_boolean()->get();
  return std::unexpected(
      ErrorAt(key, fmt::format("expected true or false, found {}", TypeName(*node))));
}

Result<std::optional<std::vector<std::string>>> ConfigReader::StringArray(
    std::string_view key) const {
  const toml::node* node = table_.get(key);
  if (!node) return std::nullopt;
  const toml::array* array = node->as_array();
  if (!array) {
    return std::unexpected(
        ErrorAt(key, fmt::format("expected an array of strings, found {}", TypeName(*node))));
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& item = *array->get(i);
    if (!item.is_string()) {
      return std::unexpected(
          ErrorAt(key, fmt::format("element {} should be a string, found {}", i, TypeName(item))));
    }
    out.push_back(item.as_string()->get());
  }
  return out;
}

const toml::table* ConfigReader::Table(std::string_view key) const {
  const toml::node* node = table_.get(key);
  return node ? node->as_table() : nullptr;
}

Status ConfigReader::CheckKnownKeys(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, node] : table_) {
    bool found = false;
    for (std::string_view k : known)
      found = found || k == key.str();
    if (!found) {
      return std::unexpected(
          Error(ErrorCode::kInvalidArgument,
                fmt::format("{}: unknown key '{}' (valid keys: {})", DescribeSource(node.source()),
                            FullKey(key.str()), fmt::join(known, ", "))));
    }
  }
  return {};
}

}  // namespace tandem
