// A small JSON-Schema validator covering the keywords tool schemas use. Unknown keywords are
// ignored, as JSON Schema prescribes; the schemas themselves are written by us, arguments are not.
#include <fmt/format.h>

#include "tandem/tools/tools.h"

namespace tandem::tools {
namespace {

using nlohmann::json;

std::string_view JsonTypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "binary";
  }
}

bool MatchesType(const json& value, std::string_view type) {
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    // 3.0 is an integer in JSON Schema; 3.5 is not.
    return value.is_number_float() &&
           value.get<double>() == static_cast<double>(static_cast<int64_t>(value.get<double>()));
  }
  if (type == "number") return value.is_number();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return false;
}

// Number of Unicode code points (maxLength counts characters, not bytes). Invalid UTF-8 bytes
// count one each.
size_t CodePoints(const std::string& text) {
  size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string Where(const std::string& path) {
  return path.empty() ? std::string("arguments") : fmt::format("argument '{}'", path);
}

Status Validate(const json& schema, const json& value, const std::string& path);

Status ValidateObject(const json& schema, const json& value, const std::string& path) {
  const json* properties = schema.contains("properties") ? &schema["properties"] : nullptr;
  if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
    for (const json& name : *it) {
      if (name.is_string() && !value.contains(name.get<std::string>())) {
        std::string child = path.empty() ? name.get<std::string>()
                                         : fmt::format("{}.{}", path, name.get<std::string>());
        return MakeError(ErrorCode::kInvalidArgument, "argument '{}' is required", child);
      }
    }
  }
  bool closed = schema.value("additionalProperties", true) == false;
  for (const auto& [key, child_value] : value.items()) {
    std::string child = path.empty() ? key : fmt::format("{}.{}", path, key);
    if (properties && properties->contains(key)) {
      if (Status s = Validate((*properties)[key], child_value, child); !s) return s;
    } else if (closed) {
      std::string known;
      if (properties) {
        for (const auto& [name, unused] : properties->items()) {
          known += known.empty() ? name : ", " + name;
        }
      }
      return MakeError(ErrorCode::kInvalidArgument, "unknown argument '{}' (expected: {})", child,
                       known.empty() ? "none" : known);
    }
  }
  return {};
}

Status ValidateArray(const json& schema, const json& value, const std::string& path) {
  if (auto it = schema.find("minItems"); it != schema.end() && value.size() < it->get<size_t>()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: expected at least {} items, got {}",
                     Where(path), it->get<size_t>(), value.size());
  }
  if (auto it = schema.find("maxItems"); it != schema.end() && value.size() > it->get<size_t>()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: expected at most {} items, got {}",
                     Where(path), it->get<size_t>(), value.size());
  }
  if (auto it = schema.find("items"); it != schema.end() && it->is_object()) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (Status s = Validate(*it, value[i], fmt::format("{}[{}]", path, i)); !s) return s;
    }
  }
  return {};
}

Status ValidateScalar(const json& schema, const json& value, const std::string& path) {
  if (value.is_number()) {
    double number = value.get<double>();
    if (auto it = schema.find("minimum"); it != schema.end() && number < it->get<double>()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: {} is below the minimum {}", Where(path),
                       value.dump(), it->dump());
    }
    if (auto it = schema.find("maximum"); it != schema.end() && number > it->get<double>()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: {} is above the maximum {}", Where(path),
                       value.dump(), it->dump());
    }
  }
  if (value.is_string()) {
    size_t length = CodePoints(value.get_ref<const std::string&>());
    if (auto it = schema.find("maxLength"); it != schema.end() && length > it->get<size_t>()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "{}: too long ({} characters, at most {} allowed)", Where(path), length,
                       it->get<size_t>());
    }
    if (auto it = schema.find("minLength"); it != schema.end() && length < it->get<size_t>()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: too short (at least {} characters)",
                       Where(path), it->get<size_t>());
    }
  }
  return {};
}

Status CheckType(const json& schema, const json& value, const std::string& path) {
  auto it = schema.find("type");
  if (it == schema.end()) return {};
  std::vector<std::string> types;
  if (it->is_string()) types.push_back(it->get<std::string>());
  if (it->is_array()) {
    for (const json& t : *it) {
      if (t.is_string()) types.push_back(t.get<std::string>());
    }
  }
  for (const std::string& type : types) {
    if (MatchesType(value, type)) return {};
  }
  std::string expected;
  for (const std::string& type : types)
    expected += expected.empty() ? type : " or " + type;
  return MakeError(ErrorCode::kInvalidArgument, "{}: expected {}, got {}", Where(path), expected,
                   JsonTypeName(value));
}

Status Validate(const json& schema, const json& value, const std::string& path) {
  if (!schema.is_object()) return {};
  if (Status s = CheckType(schema, value, path); !s) return s;
  if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
    bool found = false;
    for (const json& option : *it)
      found = found || option == value;
    if (!found) {
      return MakeError(ErrorCode::kInvalidArgument, "{}: {} is not one of {}", Where(path),
                       value.dump(), it->dump());
    }
  }
  if (value.is_object()) return ValidateObject(schema, value, path);
  if (value.is_array()) return ValidateArray(schema, value, path);
  return ValidateScalar(schema, value, path);
}

}  // namespace

Status ValidateArguments(const nlohmann::json& schema, const nlohmann::json& args) {
  if (!args.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "arguments: expected a JSON object, got {}",
                     JsonTypeName(args));
  }
  return Validate(schema, args, "");
}

}  // namespace tandem::tools
