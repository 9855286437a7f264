#include "tandem/engine/json_grammar.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

namespace tandem::engine {
namespace {

using nlohmann::json;

enum class Kind : uint8_t { kObject, kArray, kString, kNumber, kLiteral, kUnion };

// Frame phases, one list for every kind of frame.
enum Phase : uint8_t {
  kRootValue,
  kRootDone,
  kObjOpen,
  kObjStart,
  kObjKey,
  kObjColon,
  kObjValue,
  kObjAfterValue,
  kObjComma,
  kArrOpen,
  kArrStart,
  kArrAfterValue,
  kArrComma,
  kStrOpen,
  kStrBody,
  kStrUtf8,
  kStrEscape,
  kStrHex,
  kStrLowBackslash,
  kStrLowU,
  kStrLowHex,
  kNumStart,
  kNumMinus,
  kNumZero,
  kNumInt,
  kNumDot,
  kNumFrac,
  kNumExp,
  kNumExpSign,
  kNumExpDigits,
  kLitBody,
};

// Digits before and after the point: 15 keep every number exact in a double, so bounds are
// checked on the same value a JSON parser reads (and no number can overflow).
constexpr int kMaxDigits = 15;
constexpr int kMaxExponentDigits = 2;
constexpr size_t kMaxProperties = 64;
constexpr size_t kMaxLiteralsPerNode = 64;
constexpr double kMaxMagnitude = 999999999999999.0;  // 15 nines

constexpr int64_t kPow10[] = {1,
                              10,
                              100,
                              1000,
                              10000,
                              100000,
                              1000000,
                              10000000,
                              100000000,
                              1000000000,
                              10000000000,
                              100000000000,
                              1000000000000,
                              10000000000000,
                              100000000000000,
                              1000000000000000};

bool IsWhitespace(uint8_t b) {
  return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

int HexValue(uint8_t b) {
  if (b >= '0' && b <= '9') return b - '0';
  if (b >= 'a' && b <= 'f') return b - 'a' + 10;
  if (b >= 'A' && b <= 'F') return b - 'A' + 10;
  return -1;
}

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

std::string PointerEscape(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// A JSON string's text between its quotes, as a compact serializer writes it.
std::string EscapedKey(const std::string& key) {
  std::string text = json(key).dump();
  return text.substr(1, text.size() - 2);
}

}  // namespace

struct JsonGrammar::Node {
  Kind kind = Kind::kUnion;
  std::vector<int32_t> alternatives;  // kUnion (flattened to concrete nodes after compiling)
  std::vector<std::string> texts;     // kLiteral: serialized values
  uint32_t min_count = 0;             // kString: code points; kArray: items
  uint32_t max_count = std::numeric_limits<uint32_t>::max();
  bool integer = false;  // kNumber
  bool bounded = false;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  bool max_exclusive = false;
  int64_t imin = 0;  // integer bounds, inclusive
  int64_t imax = 0;
  struct Property {
    std::string key;  // escaped text between the quotes
    int32_t node = -1;
  };
  std::vector<Property> properties;  // kObject
  uint64_t required = 0;
  int32_t additional = -1;  // node of additional properties; -1: none allowed
  int32_t items = -1;       // kArray
};

namespace {

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
          Compile(sub, fmt::format("{}/properties/{}", path, PointerEscape(name)));
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

// ----- Byte machine -----

enum class Action : uint8_t { kReject, kKeep, kPop, kPopRetry, kPush };

struct Step {
  Action action = Action::kReject;
  int32_t child = -1;
};

constexpr Step kReject{Action::kReject};
constexpr Step kKeep{Action::kKeep};
constexpr Step kPop{Action::kPop};
constexpr Step kPopRetry{Action::kPopRetry};

uint64_t AllProperties(const Node& node) {
  size_t n = node.properties.size();
  return n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
}

// Exact value of a number frame (at most 15 significant digits: one correctly rounded division).
double NumberValue(const JsonFrame& f) {
  double value = static_cast<double>(f.ival * kPow10[f.fdigits] + f.fval) /
                 static_cast<double>(kPow10[f.fdigits]);
  return f.negative ? -value : value;
}

bool InRange(const Node& node, const JsonFrame& f) {
  if (!node.bounded) return true;
  if (node.integer) {
    int64_t value = f.negative ? -f.ival : f.ival;
    return value >= node.imin && value <= node.imax;
  }
  double value = NumberValue(f);
  bool above = node.min_exclusive ? value > node.min : value >= node.min;
  bool below = node.max_exclusive ? value < node.max : value <= node.max;
  return above && below;
}

bool NumberComplete(const Node& node, const JsonFrame& f) {
  bool phase_ok =
      f.phase == kNumZero || f.phase == kNumInt || f.phase == kNumFrac || f.phase == kNumExpDigits;
  return phase_ok && InRange(node, f);
}

bool LiteralComplete(const Node& node, const JsonFrame& f) {
  for (size_t i = 0; i < node.texts.size(); ++i) {
    if ((f.mask >> i & 1) && node.texts[i].size() == f.len) return true;
  }
  return false;
}

// Whether a magnitude interval [lo, hi] (of the frame's sign) meets the node's bounds.
bool Meets(const Node& node, bool negative, double lo, double hi) {
  if (negative) std::tie(lo, hi) = std::pair(-hi, -lo);
  return lo <= node.max && hi >= node.min;
}

// Whether some continuation of a bounded number's prefix lands within the bounds.
bool NumberViable(const Node& node, const JsonFrame& f) {
  if (!node.bounded) return true;
  switch (f.phase) {
    case kNumStart:
      return true;
    case kNumMinus:
      if (node.integer) return node.imin <= 0;
      return node.min < 0 || (node.min == 0 && !node.min_exclusive);
    case kNumZero:
    case kNumInt: {
      int more_int = f.phase == kNumInt ? kMaxDigits - f.idigits : 0;
      bool fraction = !node.integer && f.idigits < kMaxDigits;
      if (more_int == 0 && !fraction) return InRange(node, f);
      for (int k = 0; k <= more_int; ++k) {
        if (node.integer) {
          int64_t lo = f.ival * kPow10[k];
          int64_t hi = (f.ival + 1) * kPow10[k] - 1;
          if (f.negative) std::tie(lo, hi) = std::pair(-hi, -lo);
          if (k == 0 && f.phase == kNumZero) lo = hi = 0;
          if (lo <= node.imax && hi >= node.imin) return true;
        } else {
          double lo = static_cast<double>(f.ival * kPow10[k]);
          double hi = static_cast<double>((f.ival + 1) * kPow10[k]);
          if (k == 0 && !fraction) hi = lo;
          if (Meets(node, f.negative, lo, hi)) return true;
        }
      }
      return false;
    }
    case kNumDot:
      return Meets(node, f.negative, static_cast<double>(f.ival), static_cast<double>(f.ival + 1));
    case kNumFrac: {
      if (f.idigits + f.fdigits >= kMaxDigits) return InRange(node, f);
      double value = std::abs(NumberValue(f));
      return Meets(node, f.negative, value, value + 1.0 / static_cast<double>(kPow10[f.fdigits]));
    }
    default:
      return true;  // exponents are not allowed with bounds
  }
}

bool NumberByte(const Node& node, JsonFrame& f, uint8_t b) {
  int digit = b >= '0' && b <= '9' ? b - '0' : -1;
  bool exponent = !node.integer && !node.bounded && (b == 'e' || b == 'E');
  bool point = !node.integer && b == '.';
  switch (f.phase) {
    case kNumStart:
      if (b == '-') {
        f.negative = true;
        f.phase = kNumMinus;
        return true;
      }
      [[fallthrough]];
    case kNumMinus:
      if (digit < 0) return false;
      f.ival = digit;
      f.idigits = 1;
      f.phase = digit == 0 ? kNumZero : kNumInt;
      return true;
    case kNumZero:
    case kNumInt:
      if (digit >= 0 && f.phase == kNumInt && f.idigits < kMaxDigits) {
        f.ival = f.ival * 10 + digit;
        ++f.idigits;
        return true;
      }
      if (point) {
        f.phase = kNumDot;
        return true;
      }
      if (exponent) {
        f.phase = kNumExp;
        return true;
      }
      return false;
    case kNumDot:
    case kNumFrac:
      if (digit >= 0 && f.fdigits < kMaxDigits &&
          (!node.bounded || f.idigits + f.fdigits < kMaxDigits)) {
        if (node.bounded) f.fval = f.fval * 10 + digit;
        ++f.fdigits;
        f.phase = kNumFrac;
        return true;
      }
      if (exponent && f.phase == kNumFrac) {
        f.phase = kNumExp;
        return true;
      }
      return false;
    case kNumExp:
      if (b == '+' || b == '-') {
        f.phase = kNumExpSign;
        return true;
      }
      [[fallthrough]];
    case kNumExpSign:
    case kNumExpDigits:
      if (digit < 0 || f.edigits >= kMaxExponentDigits) return false;
      ++f.edigits;
      f.phase = kNumExpDigits;
      return true;
    default:
      return false;
  }
}

Step NumberStep(const Node& node, JsonFrame& f, uint8_t b) {
  JsonFrame next = f;
  if (NumberByte(node, next, b) && NumberViable(node, next)) {
    f = next;
    return kKeep;
  }
  return NumberComplete(node, f) ? kPopRetry : kReject;
}

Step LiteralStep(const Node& node, JsonFrame& f, uint8_t b) {
  uint64_t next = 0;
  for (size_t i = 0; i < node.texts.size(); ++i) {
    const std::string& text = node.texts[i];
    if ((f.mask >> i & 1) && text.size() > f.len && static_cast<uint8_t>(text[f.len]) == b) {
      next |= uint64_t{1} << i;
    }
  }
  if (next != 0) {
    f.mask = next;
    ++f.len;
    return kKeep;
  }
  return LiteralComplete(node, f) ? kPopRetry : kReject;
}

// The first byte of a UTF-8 sequence: continuation count and the range of the next byte.
bool Utf8Lead(uint8_t b, JsonFrame& f) {
  if (b >= 0xC2 && b <= 0xDF) {
    f.utf8_left = 1;
    f.utf8_lo = 0x80;
    f.utf8_hi = 0xBF;
  } else if (b >= 0xE0 && b <= 0xEF) {
    f.utf8_left = 2;
    f.utf8_lo = b == 0xE0 ? 0xA0 : 0x80;
    f.utf8_hi = b == 0xED ? 0x9F : 0xBF;  // no UTF-16 surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    f.utf8_left = 3;
    f.utf8_lo = b == 0xF0 ? 0x90 : 0x80;
    f.utf8_hi = b == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
  } else {
    return false;
  }
  return true;
}

Step StringStep(const Node& node, JsonFrame& f, uint8_t b) {
  switch (f.phase) {
    case kStrOpen:
      if (b != '"') return kReject;
      f.phase = kStrBody;
      return kKeep;
    case kStrBody:
      if (b == '"') return f.count >= node.min_count ? kPop : kReject;
      if (b < 0x20 || f.count >= node.max_count) return kReject;
      if (b == '\\') {
        f.phase = kStrEscape;
        return kKeep;
      }
      if (b >= 0x80) {
        if (!Utf8Lead(b, f)) return kReject;
        f.phase = kStrUtf8;
      }
      ++f.count;
      return kKeep;
    case kStrUtf8:
      if (b < f.utf8_lo || b > f.utf8_hi) return kReject;
      f.utf8_lo = 0x80;
      f.utf8_hi = 0xBF;
      if (--f.utf8_left == 0) f.phase = kStrBody;
      return kKeep;
    case kStrEscape:
      if (b == 'u') {
        f.phase = kStrHex;
        f.len = 0;
        f.unicode = 0;
        return kKeep;
      }
      if (std::string_view("\"\\/bfnrt").find(static_cast<char>(b)) == std::string_view::npos) {
        return kReject;
      }
      ++f.count;
      f.phase = kStrBody;
      return kKeep;
    case kStrHex:
    case kStrLowHex: {
      int h = HexValue(b);
      if (h < 0) return kReject;
      uint32_t value = f.unicode * 16u + static_cast<uint32_t>(h);
      ++f.len;
      if (f.phase == kStrHex) {
        // A low surrogate may only follow a high one.
        if (f.len == 2 && value >= 0xDC && value <= 0xDF) return kReject;
      } else if ((f.len == 1 && value != 0xD) || (f.len == 2 && value < 0xDC)) {
        return kReject;
      }
      f.unicode = static_cast<uint16_t>(value);
      if (f.len < 4) return kKeep;
      if (f.phase == kStrHex && value >= 0xD800 && value <= 0xDBFF) {
        f.phase = kStrLowBackslash;
        return kKeep;
      }
      ++f.count;
      f.phase = kStrBody;
      return kKeep;
    }
    case kStrLowBackslash:
      if (b != '\\') return kReject;
      f.phase = kStrLowU;
      return kKeep;
    case kStrLowU:
      if (b != 'u') return kReject;
      f.phase = kStrLowHex;
      f.len = 0;
      f.unicode = 0;
      return kKeep;
    default:
      return kReject;
  }
}

Step StartKey(const Node& node, JsonFrame& f) {
  f.key_mask = AllProperties(node);
  f.key_extra = node.additional >= 0;
  f.len = 0;
  if ((f.key_mask & ~f.mask) == 0 && !f.key_extra) return kReject;
  f.phase = kObjKey;
  f.ws = 0;
  return kKeep;
}

Step KeyByte(const Node& node, JsonFrame& f, uint8_t b) {
  if (b == '"') {
    for (size_t p = 0; p < node.properties.size(); ++p) {
      if ((f.key_mask >> p & 1) && node.properties[p].key.size() == f.len) {
        if (f.mask >> p & 1) return kReject;  // a key twice
        f.prop = static_cast<int32_t>(p);
        f.phase = kObjColon;
        return kKeep;
      }
    }
    if (!f.key_extra) return kReject;
    f.prop = -2;
    f.phase = kObjColon;
    return kKeep;
  }
  uint64_t next = 0;
  for (size_t p = 0; p < node.properties.size(); ++p) {
    const std::string& key = node.properties[p].key;
    if ((f.key_mask >> p & 1) && key.size() > f.len && static_cast<uint8_t>(key[f.len]) == b) {
      next |= uint64_t{1} << p;
    }
  }
  // Additional property names are kept to printable ASCII without escapes, so the name typed
  // is the name a parser reads (and duplicates of declared names can be recognised).
  bool extra = f.key_extra && b >= 0x20 && b < 0x7F && b != '\\';
  if ((next & ~f.mask) == 0 && !extra) return kReject;
  f.key_mask = next;
  f.key_extra = extra;
  ++f.len;
  return kKeep;
}

Step ObjectStep(const Node& node, JsonFrame& f, uint8_t b) {
  switch (f.phase) {
    case kObjOpen:
      if (b != '{') return kReject;
      f.phase = kObjStart;
      return kKeep;
    case kObjStart:
    case kObjComma:
      if (b == '"') return StartKey(node, f);
      if (b == '}' && f.phase == kObjStart) {
        return (node.required & ~f.mask) == 0 ? kPop : kReject;
      }
      return kReject;
    case kObjKey:
      return KeyByte(node, f, b);
    case kObjColon:
      if (b != ':') return kReject;
      f.phase = kObjValue;
      f.ws = 0;
      return kKeep;
    case kObjValue: {
      int32_t child = node.additional;
      if (f.prop >= 0) {
        child = node.properties[static_cast<size_t>(f.prop)].node;
        f.mask |= uint64_t{1} << f.prop;
      }
      f.phase = kObjAfterValue;
      f.ws = 0;
      return Step{Action::kPush, child};
    }
    case kObjAfterValue:
      if (b == ',') {
        if ((AllProperties(node) & ~f.mask) == 0 && node.additional < 0) return kReject;
        f.phase = kObjComma;
        f.ws = 0;
        return kKeep;
      }
      if (b == '}') return (node.required & ~f.mask) == 0 ? kPop : kReject;
      return kReject;
    default:
      return kReject;
  }
}

Step ArrayStep(const Node& node, JsonFrame& f, uint8_t b) {
  switch (f.phase) {
    case kArrOpen:
      if (b != '[') return kReject;
      f.phase = kArrStart;
      return kKeep;
    case kArrStart:
      if (b == ']') return node.min_count == 0 ? kPop : kReject;
      if (node.max_count == 0) return kReject;
      [[fallthrough]];
    case kArrComma:
      ++f.count;
      f.phase = kArrAfterValue;
      f.ws = 0;
      return Step{Action::kPush, node.items};
    case kArrAfterValue:
      if (b == ',') {
        if (f.count >= node.max_count) return kReject;
        f.phase = kArrComma;
        f.ws = 0;
        return kKeep;
      }
      if (b == ']') return f.count >= node.min_count ? kPop : kReject;
      return kReject;
    default:
      return kReject;
  }
}

// Phases in which whitespace may come (between the JSON text's tokens).
bool AcceptsWhitespace(uint8_t phase) {
  switch (phase) {
    case kObjStart:
    case kObjColon:
    case kObjValue:
    case kObjAfterValue:
    case kObjComma:
    case kArrStart:
    case kArrAfterValue:
    case kArrComma:
      return true;
    default:
      return false;
  }
}

JsonFrame InitFrame(int32_t index, const Node& node) {
  JsonFrame f;
  f.node = index;
  switch (node.kind) {
    case Kind::kObject:
      f.phase = kObjOpen;
      break;
    case Kind::kArray:
      f.phase = kArrOpen;
      break;
    case Kind::kString:
      f.phase = kStrOpen;
      break;
    case Kind::kNumber:
      f.phase = kNumStart;
      break;
    case Kind::kLiteral:
      f.phase = kLitBody;
      f.mask = node.texts.size() == 64 ? ~uint64_t{0} : (uint64_t{1} << node.texts.size()) - 1;
      break;
    case Kind::kUnion:
      break;
  }
  return f;
}

}  // namespace

JsonGrammar::JsonGrammar() = default;
JsonGrammar::~JsonGrammar() = default;

Result<std::unique_ptr<JsonGrammar>> JsonGrammar::Compile(const nlohmann::json& schema,
                                                          const JsonGrammarOptions& options) {
  std::unique_ptr<JsonGrammar> grammar(new JsonGrammar());
  grammar->options_ = options;
  grammar->options_.max_whitespace = std::clamp(options.max_whitespace, 0, 255);
  grammar->options_.max_depth = std::max(options.max_depth, 1);
  SchemaCompiler compiler(schema, grammar->nodes_);
  Result<int32_t> root = compiler.Compile(schema, "#");
  if (!root) return std::unexpected(std::move(root).error().WithContext("compiling JSON Schema"));
  if (Status s = compiler.Flatten(); !s) {
    return std::unexpected(std::move(s).error().WithContext("compiling JSON Schema"));
  }
  grammar->root_ = *root;
  return grammar;
}

JsonState JsonGrammar::Start() const {
  JsonFrame root;
  root.node = -1;
  root.phase = kRootValue;
  return JsonState{{JsonStack{root}}};
}

void JsonGrammar::PushValue(JsonStack stack, int32_t node, uint8_t byte,
                            std::vector<JsonStack>& out) const {
  if (stack.size() > static_cast<size_t>(options_.max_depth)) return;
  const Node& n = nodes_[static_cast<size_t>(node)];
  if (n.kind != Kind::kUnion) {
    stack.push_back(InitFrame(node, n));
    Feed(std::move(stack), byte, out);
    return;
  }
  for (size_t i = 0; i < n.alternatives.size(); ++i) {
    int32_t alternative = n.alternatives[i];
    JsonStack copy = i + 1 == n.alternatives.size() ? std::move(stack) : stack;
    copy.push_back(InitFrame(alternative, nodes_[static_cast<size_t>(alternative)]));
    Feed(std::move(copy), byte, out);
  }
}

void JsonGrammar::Feed(JsonStack stack, uint8_t byte, std::vector<JsonStack>& out) const {
  JsonFrame& f = stack.back();
  if (f.node < 0) {
    if (f.phase != kRootValue) return;
    f.phase = kRootDone;
    PushValue(std::move(stack), root_, byte, out);
    return;
  }
  if (IsWhitespace(byte) && AcceptsWhitespace(f.phase)) {
    if (f.ws >= options_.max_whitespace) return;
    ++f.ws;
    out.push_back(std::move(stack));
    return;
  }
  const Node& node = nodes_[static_cast<size_t>(f.node)];
  Step step;
  switch (node.kind) {
    case Kind::kObject:
      step = ObjectStep(node, f, byte);
      break;
    case Kind::kArray:
      step = ArrayStep(node, f, byte);
      break;
    case Kind::kString:
      step = StringStep(node, f, byte);
      break;
    case Kind::kNumber:
      step = NumberStep(node, f, byte);
      break;
    case Kind::kLiteral:
      step = LiteralStep(node, f, byte);
      break;
    case Kind::kUnion:
      break;
  }
  switch (step.action) {
    case Action::kReject:
      return;
    case Action::kKeep:
      out.push_back(std::move(stack));
      return;
    case Action::kPop:
      stack.pop_back();
      out.push_back(std::move(stack));
      return;
    case Action::kPopRetry:
      stack.pop_back();
      Feed(std::move(stack), byte, out);
      return;
    case Action::kPush:
      PushValue(std::move(stack), step.child, byte, out);
      return;
  }
}

void JsonGrammar::Advance(const JsonState& in, uint8_t byte, JsonState& out) const {
  out.stacks.clear();
  for (const JsonStack& stack : in.stacks)
    Feed(stack, byte, out.stacks);
  // Alternatives that reached the same state are one.
  for (size_t i = 1; i < out.stacks.size();) {
    bool duplicate = false;
    for (size_t j = 0; j < i && !duplicate; ++j)
      duplicate = out.stacks[j] == out.stacks[i];
    if (duplicate) {
      out.stacks.erase(out.stacks.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

bool JsonGrammar::IsComplete(const JsonState& state) const {
  for (const JsonStack& stack : state.stacks) {
    if (stack.size() == 1 && stack[0].phase == kRootDone) return true;
    if (stack.size() == 2 && stack[0].phase == kRootDone) {
      const JsonFrame& top = stack[1];
      const Node& node = nodes_[static_cast<size_t>(top.node)];
      if (node.kind == Kind::kNumber && NumberComplete(node, top)) return true;
      if (node.kind == Kind::kLiteral && LiteralComplete(node, top)) return true;
    }
  }
  return false;
}

JsonMatcher::JsonMatcher(const JsonGrammar& grammar)
    : grammar_(&grammar), state_(grammar.Start()) {}

bool JsonMatcher::Run(std::string_view bytes, JsonState& out) const {
  out = state_;
  for (char c : bytes) {
    grammar_->Advance(out, static_cast<uint8_t>(c), scratch_[0]);
    std::swap(out.stacks, scratch_[0].stacks);
    if (out.stacks.empty()) return false;
  }
  return true;
}

bool JsonMatcher::Feed(std::string_view bytes) {
  JsonState next;
  if (!Run(bytes, next)) return false;
  state_ = std::move(next);
  return true;
}

bool JsonMatcher::CanFeed(std::string_view bytes) const {
  return Run(bytes, scratch_[1]);
}

}  // namespace tandem::engine
