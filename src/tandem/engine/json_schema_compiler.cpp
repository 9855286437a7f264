#include "tandem/engine/json_schema_compiler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>
#include <utility>

namespace tandem::engine {
namespace {

using nlohmann::json;
using Kind = JsonNodeKind;
constexpr size_t kMaxProperties = 64;
constexpr size_t kMaxLiteralsPerNode = 64;
constexpr double kMaxMagnitude = kJsonMaxMagnitude;

bool IsAnnotation(std::string_view key) {
  static const std::set<std::string_view> kAnnotations = {
      "title",       "description",      "default",         "examples",  "$schema", "$id",
      "$comment",    "deprecated",       "readOnly",        "writeOnly", "format",  "$defs",
      "definitions", "contentMediaType", "contentEncoding", "$anchor"};
  return kAnnotations.contains(key);
}

bool IsSupported(std::string_view key) {
  static const std::set<std::string_view> kSupported = {"type",
                                                        "properties",
                                                        "required",
                                                        "additionalProperties",
                                                        "enum",
                                                        "const",
                                                        "anyOf",
                                                        "oneOf",
                                                        "allOf",
                                                        "items",
                                                        "minItems",
                                                        "maxItems",
                                                        "minLength",
                                                        "maxLength",
                                                        "minimum",
                                                        "maximum",
                                                        "exclusiveMinimum",
                                                        "exclusiveMaximum",
                                                        "$ref"};
  return kSupported.contains(key);
}

bool MatchesType(const json& value, std::string_view type) {
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    return value.is_number_float() && std::isfinite(value.get<double>()) &&
           value.get<double>() == std::floor(value.get<double>());
  }
  if (type == "number") return value.is_number();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return false;
}

// A JSON string's text between its quotes, as a compact serializer writes it.
std::string EscapedKey(const std::string& key) {
  std::string text = json(key).dump();
  return text.substr(1, text.size() - 2);
}

using Node = JsonGrammar::Node;

class SchemaCompiler {
 public:
  SchemaCompiler(const json& root, std::vector<Node>& nodes) : root_(root), nodes_(nodes) {}

  Result<int32_t> Compile(const json& schema, const std::string& path);
  Status Flatten();

 private:
  int32_t Add(Node node) {
    nodes_.push_back(std::move(node));
    return static_cast<int32_t>(nodes_.size() - 1);
  }
  int32_t AnyNode();
  Result<int32_t> CompileSchema(const json& schema, const std::string& path);
  Result<const json*> Resolve(const json& ref, const std::string& path);
  Result<int32_t> CompileRef(const json& ref, const std::string& path);
  Result<int32_t> CompileAlternatives(const json& schema, const std::string& keyword,
                                      const std::string& path);
  Result<int32_t> CompileEnum(const json& schema, const std::string& path);
  Result<int32_t> CompileType(const json& schema, std::string_view type, const std::string& path);
  Result<int32_t> CompileObject(const json& schema, const std::string& path);
  Result<int32_t> CompileArray(const json& schema, const std::string& path);
  Result<int32_t> CompileNumber(const json& schema, bool integer, const std::string& path);
  Result<int32_t> CompileString(const json& schema, const std::string& path);
  Status FlattenNode(int32_t index, std::vector<int32_t>& on_path, std::vector<int32_t>& out);

  const json& root_;
  std::vector<Node>& nodes_;
  std::map<std::string, int32_t> refs_;
  int32_t any_ = -1;
  int depth_ = 0;  // schemas being compiled, one inside the other
};

Result<uint32_t> ReadCount(const json& schema, const char* keyword, const std::string& path) {
  auto it = schema.find(keyword);
  if (it == schema.end()) return MakeError(ErrorCode::kNotFound, "absent");
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    return MakeError(ErrorCode::kInvalidArgument, "'{}' at {} must be a non-negative integer",
                     keyword, path);
  }
  uint64_t value = it->get<uint64_t>();
  return static_cast<uint32_t>(std::min<uint64_t>(value, std::numeric_limits<uint32_t>::max()));
}

Status ReadCountRange(const json& schema, const char* min_key, const char* max_key,
                      const std::string& path, Node& node) {
  if (Result<uint32_t> v = ReadCount(schema, min_key, path); v) {
    node.min_count = *v;
  } else if (v.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(v.error());
  }
  if (Result<uint32_t> v = ReadCount(schema, max_key, path); v) {
    node.max_count = *v;
  } else if (v.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(v.error());
  }
  if (node.min_count > node.max_count) {
    return MakeError(ErrorCode::kInvalidArgument, "'{}' ({}) exceeds '{}' ({}) at {}", min_key,
                     node.min_count, max_key, node.max_count, path);
  }
  return {};
}

int32_t SchemaCompiler::AnyNode() {
  if (any_ >= 0) return any_;
  any_ = Add(Node{});
  Node object{.kind = Kind::kObject};
  object.additional = any_;
  Node array{.kind = Kind::kArray};
  array.items = any_;
  Node literals{.kind = Kind::kLiteral};
  literals.texts = {"true", "false", "null"};
  std::vector<int32_t> alternatives = {Add(std::move(object)), Add(std::move(array)),
                                       Add(Node{.kind = Kind::kString}),
                                       Add(Node{.kind = Kind::kNumber}), Add(std::move(literals))};
  nodes_[static_cast<size_t>(any_)].alternatives = std::move(alternatives);
  return any_;
}

Result<const json*> SchemaCompiler::Resolve(const json& ref, const std::string& path) {
  if (!ref.is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "'$ref' at {} must be a string", path);
  }
  const std::string& text = ref.get_ref<const std::string&>();
  if (text.empty() || text[0] != '#') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'$ref' '{}' at {}: only local references (#/$defs/...) are supported", text,
                     path);
  }
  try {
    json::json_pointer pointer(text.substr(1));
    if (!root_.contains(pointer)) {
      return MakeError(ErrorCode::kInvalidArgument, "'$ref' '{}' at {} points at nothing", text,
                       path);
    }
    return &root_.at(pointer);
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, "'$ref' '{}' at {} is not a JSON pointer: {}",
                     text, path, e.what());
  }
}

Result<int32_t> SchemaCompiler::CompileRef(const json& ref, const std::string& path) {
  Result<const json*> target = Resolve(ref, path);
  if (!target) return std::unexpected(target.error());
  const std::string& text = ref.get_ref<const std::string&>();
  if (auto it = refs_.find(text); it != refs_.end()) return it->second;
  // The node exists before its target is compiled, so recursive references find it.
  int32_t index = Add(Node{});
  refs_[text] = index;
  Result<int32_t> body = Compile(**target, text);
  if (!body) return body;
  nodes_[static_cast<size_t>(index)].alternatives = {*body};
  return index;
}

Result<int32_t> SchemaCompiler::Compile(const json& schema, const std::string& path) {
  constexpr int kMaxSchemaDepth = 64;
  if (depth_ >= kMaxSchemaDepth) {
    return MakeError(ErrorCode::kInvalidArgument, "schema at {} is nested more than {} deep", path,
                     kMaxSchemaDepth);
  }
  ++depth_;
  Result<int32_t> node = CompileSchema(schema, path);
  --depth_;
  return node;
}

Result<int32_t> SchemaCompiler::CompileSchema(const json& schema, const std::string& path) {
  if (schema.is_boolean()) {
    if (schema.get<bool>()) return AnyNode();
    return MakeError(ErrorCode::kInvalidArgument, "schema 'false' at {} allows no value", path);
  }
  if (!schema.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "schema at {} must be an object or a boolean",
                     path);
  }
  std::vector<std::string> assertions;
  for (const auto& [key, value] : schema.items()) {
    if (IsAnnotation(key)) continue;
    if (!IsSupported(key)) {
      return MakeError(ErrorCode::kInvalidArgument, "unsupported JSON Schema keyword '{}' at {}",
                       key, path);
    }
    assertions.push_back(key);
  }
  if (schema.contains("$ref")) {
    if (assertions.size() > 1) {
      std::string other = assertions[0] == "$ref" ? assertions[1] : assertions[0];
      return MakeError(ErrorCode::kInvalidArgument,
                       "keyword '{}' beside '$ref' at {} is unsupported", other, path);
    }
    return CompileRef(schema["$ref"], path + "/$ref");
  }
  if (auto it = schema.find("allOf"); it != schema.end()) {
    if (!it->is_array() || it->size() != 1 || assertions.size() > 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "'allOf' at {} is supported only as the single keyword with one schema",
                       path);
    }
    return Compile((*it)[0], path + "/allOf/0");
  }
  if (schema.contains("anyOf") && schema.contains("oneOf")) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'anyOf' and 'oneOf' together at {} are unsupported", path);
  }
  for (const char* keyword : {"anyOf", "oneOf"}) {
    if (schema.contains(keyword)) return CompileAlternatives(schema, keyword, path);
  }
  if (schema.contains("enum") || schema.contains("const")) return CompileEnum(schema, path);

  std::vector<std::string> types;
  if (auto it = schema.find("type"); it != schema.end()) {
    if (it->is_string()) {
      types.push_back(it->get<std::string>());
    } else if (it->is_array() && !it->empty()) {
      for (const json& t : *it) {
        if (!t.is_string()) {
          return MakeError(ErrorCode::kInvalidArgument, "'type' at {} must name types", path);
        }
        types.push_back(t.get<std::string>());
      }
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       "'type' at {} must be a type name or a non-empty array of them", path);
    }
  } else if (schema.contains("properties") || schema.contains("required") ||
             schema.contains("additionalProperties")) {
    types.push_back("object");
  } else if (schema.contains("items") || schema.contains("minItems") ||
             schema.contains("maxItems")) {
    types.push_back("array");
  } else if (schema.contains("minLength") || schema.contains("maxLength")) {
    types.push_back("string");
  } else if (schema.contains("minimum") || schema.contains("maximum") ||
             schema.contains("exclusiveMinimum") || schema.contains("exclusiveMaximum")) {
    types.push_back("number");
  } else {
    return AnyNode();
  }
  if (types.size() == 1) return CompileType(schema, types[0], path);
  Node node;
  for (const std::string& type : types) {
    Result<int32_t> alternative = CompileType(schema, type, path);
    if (!alternative) return alternative;
    node.alternatives.push_back(*alternative);
  }
  return Add(std::move(node));
}

Result<int32_t> SchemaCompiler::CompileAlternatives(const json& schema, const std::string& keyword,
                                                    const std::string& path) {
  const json& branches = schema[keyword];
  if (!branches.is_array() || branches.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "'{}' at {} must be a non-empty array", keyword,
                     path);
  }
  // Keywords beside anyOf apply to every branch: merge them into each one.
  json siblings = json::object();
  for (const auto& [key, value] : schema.items()) {
    if (key != keyword && !IsAnnotation(key)) siblings[key] = value;
  }
  Node node;
  for (size_t i = 0; i < branches.size(); ++i) {
    std::string branch_path = fmt::format("{}/{}/{}", path, keyword, i);
    Result<int32_t> alternative;
    if (siblings.empty()) {
      alternative = Compile(branches[i], branch_path);
    } else {
      json branch = branches[i];
      if (branch.is_object() && branch.contains("$ref")) {
        Result<const json*> target = Resolve(branch["$ref"], branch_path);
        if (!target) return std::unexpected(target.error());
        branch = **target;
      }
      if (!branch.is_object()) {
        return MakeError(ErrorCode::kInvalidArgument, "schema at {} must be an object",
                         branch_path);
      }
      for (const auto& [key, value] : siblings.items()) {
        if (key == "properties" && branch.contains(key)) {
          for (const auto& [name, sub] : value.items()) {
            if (!branch[key].contains(name)) branch[key][name] = sub;
          }
        } else if (key == "required" && branch.contains(key)) {
          for (const json& name : value)
            branch[key].push_back(name);
        } else if (!branch.contains(key)) {
          branch[key] = value;
        }
      }
      alternative = Compile(branch, branch_path);
    }
    if (!alternative) return alternative;
    node.alternatives.push_back(*alternative);
  }
  return Add(std::move(node));
}

Result<int32_t> SchemaCompiler::CompileEnum(const json& schema, const std::string& path) {
  std::vector<json> values;
  if (auto it = schema.find("const"); it != schema.end()) {
    values.push_back(*it);
  } else {
    const json& options = schema["enum"];
    if (!options.is_array()) {
      return MakeError(ErrorCode::kInvalidArgument, "'enum' at {} must be an array", path);
    }
    values.assign(options.begin(), options.end());
  }
  if (auto it = schema.find("type"); it != schema.end()) {
    std::vector<json> typed;
    for (const json& value : values) {
      bool matches = false;
      if (it->is_string()) matches = MatchesType(value, it->get<std::string>());
      if (it->is_array()) {
        for (const json& t : *it)
          matches = matches || (t.is_string() && MatchesType(value, t.get<std::string>()));
      }
      if (matches) typed.push_back(value);
    }
    values = std::move(typed);
  }
  if (values.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "'{}' at {} allows no value of the given type",
                     schema.contains("const") ? "const" : "enum", path);
  }
  Node node;
  for (size_t start = 0; start < values.size(); start += kMaxLiteralsPerNode) {
    Node literal{.kind = Kind::kLiteral};
    for (size_t i = start; i < std::min(values.size(), start + kMaxLiteralsPerNode); ++i) {
      std::string text = values[i].dump();
      if (std::find(literal.texts.begin(), literal.texts.end(), text) == literal.texts.end()) {
        literal.texts.push_back(std::move(text));
      }
    }
    node.alternatives.push_back(Add(std::move(literal)));
  }
  if (node.alternatives.size() == 1) return node.alternatives[0];
  return Add(std::move(node));
}

Result<int32_t> SchemaCompiler::CompileType(const json& schema, std::string_view type,
                                            const std::string& path) {
  if (type == "object") return CompileObject(schema, path);
  if (type == "array") return CompileArray(schema, path);
  if (type == "string") return CompileString(schema, path);
  if (type == "number") return CompileNumber(schema, false, path);
  if (type == "integer") return CompileNumber(schema, true, path);
  if (type == "boolean" || type == "null") {
    Node literal{.kind = Kind::kLiteral};
    literal.texts = type == "null" ? std::vector<std::string>{"null"}
                                   : std::vector<std::string>{"true", "false"};
    return Add(std::move(literal));
  }
  return MakeError(ErrorCode::kInvalidArgument, "unknown type '{}' at {}", type, path);
}

Result<int32_t> SchemaCompiler::CompileObject(const json& schema, const std::string& path) {
  Node node{.kind = Kind::kObject};
  if (auto it = schema.find("properties"); it != schema.end()) {
    if (!it->is_object()) {
      return MakeError(ErrorCode::kInvalidArgument, "'properties' at {} must be an object", path);
    }
    if (it->size() > kMaxProperties) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "'properties' at {} has {} entries; at most {} are supported", path,
                       it->size(), kMaxProperties);
    }
    for (const auto& [name, sub] : it->items()) {
      Result<int32_t> child =
          Compile(sub, path + "/properties" + (nlohmann::json::json_pointer() / name).to_string());
      if (!child) return child;
      node.properties.push_back({EscapedKey(name), *child});
    }
  }
  if (auto it = schema.find("required"); it != schema.end()) {
    if (!it->is_array()) {
      return MakeError(ErrorCode::kInvalidArgument, "'required' at {} must be an array", path);
    }
    for (const json& name : *it) {
      if (!name.is_string()) {
        return MakeError(ErrorCode::kInvalidArgument, "'required' at {} must list strings", path);
      }
      std::string key = EscapedKey(name.get<std::string>());
      auto found = std::find_if(node.properties.begin(), node.properties.end(),
                                [&](const Node::Property& p) { return p.key == key; });
      if (found == node.properties.end()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "required property '{}' at {} is not declared in 'properties'",
                         name.get<std::string>(), path);
      }
      node.required |= uint64_t{1} << (found - node.properties.begin());
    }
  }
  if (auto it = schema.find("additionalProperties"); it != schema.end()) {
    if (!(it->is_boolean() && !it->get<bool>())) {
      Result<int32_t> extra = Compile(*it, path + "/additionalProperties");
      if (!extra) return extra;
      node.additional = *extra;
    }
  }
  return Add(std::move(node));
}

Result<int32_t> SchemaCompiler::CompileArray(const json& schema, const std::string& path) {
  Node node{.kind = Kind::kArray};
  if (Status s = ReadCountRange(schema, "minItems", "maxItems", path, node); !s) {
    return std::unexpected(s.error());
  }
  if (auto it = schema.find("items"); it != schema.end()) {
    if (it->is_array()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "'items' as an array (tuple form) at {} is unsupported", path);
    }
    if (it->is_boolean() && !it->get<bool>()) {
      node.max_count = 0;
      if (node.min_count > 0) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "'minItems' at {} cannot be met: 'items' is false", path);
      }
    } else {
      Result<int32_t> items = Compile(*it, path + "/items");
      if (!items) return items;
      node.items = *items;
    }
  } else {
    node.items = AnyNode();
  }
  return Add(std::move(node));
}

Result<int32_t> SchemaCompiler::CompileString(const json& schema, const std::string& path) {
  Node node{.kind = Kind::kString};
  if (Status s = ReadCountRange(schema, "minLength", "maxLength", path, node); !s) {
    return std::unexpected(s.error());
  }
  return Add(std::move(node));
}

Result<int32_t> SchemaCompiler::CompileNumber(const json& schema, bool integer,
                                              const std::string& path) {
  Node node{.kind = Kind::kNumber};
  node.integer = integer;
  for (const char* keyword : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
    auto it = schema.find(keyword);
    if (it == schema.end()) continue;
    if (!it->is_number()) {
      return MakeError(ErrorCode::kInvalidArgument, "'{}' at {} must be a number", keyword, path);
    }
    double value = it->get<double>();
    std::string_view name = keyword;
    bool exclusive = name.starts_with("exclusive");
    if (name.ends_with("inimum") && (value > node.min || (value == node.min && exclusive))) {
      node.min = value;
      node.min_exclusive = exclusive;
    }
    if (name.ends_with("aximum") && (value < node.max || (value == node.max && exclusive))) {
      node.max = value;
      node.max_exclusive = exclusive;
    }
    node.bounded = true;
  }
  if (!node.bounded) return Add(std::move(node));
  if (node.min > kMaxMagnitude || node.max < -kMaxMagnitude) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bounds at {} are outside the supported range (15 digits)", path);
  }
  if (integer) {
    double lo = node.min_exclusive ? std::floor(node.min) + 1 : std::ceil(node.min);
    double hi = node.max_exclusive ? std::ceil(node.max) - 1 : std::floor(node.max);
    node.imin = static_cast<int64_t>(std::max(lo, -kMaxMagnitude));
    node.imax = static_cast<int64_t>(std::min(hi, kMaxMagnitude));
    if (node.imin > node.imax) {
      return MakeError(ErrorCode::kInvalidArgument, "no integer lies within the bounds at {}",
                       path);
    }
  } else if (node.min > node.max ||
             (node.min == node.max && (node.min_exclusive || node.max_exclusive))) {
    return MakeError(ErrorCode::kInvalidArgument, "no number lies within the bounds at {}", path);
  }
  return Add(std::move(node));
}

Status SchemaCompiler::FlattenNode(int32_t index, std::vector<int32_t>& on_path,
                                   std::vector<int32_t>& out) {
  const Node& node = nodes_[static_cast<size_t>(index)];
  if (node.kind != Kind::kUnion) {
    if (std::find(out.begin(), out.end(), index) == out.end()) out.push_back(index);
    return {};
  }
  if (std::find(on_path.begin(), on_path.end(), index) != on_path.end()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'$ref' cycle that never enters an object or array: no value satisfies it");
  }
  on_path.push_back(index);
  std::vector<int32_t> alternatives = node.alternatives;  // nodes_ is not resized here
  for (int32_t alternative : alternatives) {
    if (Status s = FlattenNode(alternative, on_path, out); !s) return s;
  }
  on_path.pop_back();
  return {};
}

Status SchemaCompiler::Flatten() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].kind != Kind::kUnion) continue;
    std::vector<int32_t> on_path;
    std::vector<int32_t> concrete;
    if (Status s = FlattenNode(static_cast<int32_t>(i), on_path, concrete); !s) return s;
    nodes_[i].alternatives = std::move(concrete);
  }
  return {};
}

}  // namespace

Result<int32_t> CompileJsonSchema(const nlohmann::json& schema,
                                  std::vector<JsonGrammar::Node>& nodes) {
  SchemaCompiler compiler(schema, nodes);
  try {
    Result<int32_t> root = compiler.Compile(schema, "#");
    if (!root) return root;
    if (Status s = compiler.Flatten(); !s) return std::unexpected(std::move(s).error());
    return root;
  } catch (const json::exception& e) {
    // A keyword of the wrong JSON type somewhere the compiler trusted its shape.
    return MakeError(ErrorCode::kInvalidArgument, "malformed schema: {}", e.what());
  }
}

}  // namespace tandem::engine
