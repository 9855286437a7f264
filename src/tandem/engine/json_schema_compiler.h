// Internal to the engine: the nodes a JSON Schema compiles into (JsonGrammar's data), and the
// compiler from schema to nodes. json_grammar.cpp runs the byte machine over these nodes.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/json_grammar.h"

namespace tandem::engine {

enum class JsonNodeKind : uint8_t { kObject, kArray, kString, kNumber, kLiteral, kUnion };

// Bounded numbers keep at most this many significant digits, so each one is exact in a double
// and bounds are checked on the value a JSON parser reads.
inline constexpr int kJsonMaxDigits = 15;
inline constexpr double kJsonMaxMagnitude = 999999999999999.0;  // 15 nines

struct JsonGrammar::Node {
  JsonNodeKind kind = JsonNodeKind::kUnion;
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

// Compiles `schema` into `nodes` (appended; unions flattened to concrete alternatives) and
// returns the root node. kInvalidArgument naming the keyword and its JSON pointer path for an
// unsupported keyword or a schema no value satisfies.
[[nodiscard]] Result<int32_t> CompileJsonSchema(const nlohmann::json& schema,
                                                std::vector<JsonGrammar::Node>& nodes);

}  // namespace tandem::engine
