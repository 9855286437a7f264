// JsonGrammar: a JSON Schema compiled into a byte-level recogniser of the JSON texts valid
// against it, and JsonMatcher, the parse state that checks text byte by byte.
//
//   Result<std::unique_ptr<JsonGrammar>> grammar = JsonGrammar::Compile(schema, {});
//   JsonMatcher matcher(**grammar);
//   bool ok = matcher.Feed(R"({"city": "Par)");   // a viable prefix
//   bool done = matcher.IsComplete();              // false until the object closes
//
// The recogniser is a nondeterministic pushdown machine: a state is a set of stacks of frames
// (one frame per open value), so anyOf/oneOf and type arrays are followed in parallel until the
// text decides between them. Every accepted prefix can still be completed into valid text (the
// property the token constraint needs: it never leads generation into a dead end).
//
// JsonGrammar is immutable and thread-safe; JsonMatcher is not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::engine {

struct JsonGrammarOptions {
  // Whitespace bytes allowed in one gap between the tokens of the JSON text (pretty-printed
  // output needs a newline plus indentation); bounding it stops a model from emitting blanks
  // forever. 0 allows compact JSON only. The same bound applies before the value; none is
  // allowed after it.
  int max_whitespace = 24;
  // Deepest nesting of arrays and objects; matters for recursive schemas ($ref cycles, schemas
  // without a type, which allow any JSON value).
  int max_depth = 24;
};

// One open value of the text being parsed. Internal to the matcher; public so that callers that
// walk many continuations (the vocabulary trie) can keep states without a matcher per branch.
struct JsonFrame {
  int32_t node = -1;  // index of the schema node; -1 for the root
  uint8_t phase = 0;
  uint8_t ws = 0;         // whitespace bytes in the current gap
  uint8_t utf8_left = 0;  // string: continuation bytes still expected
  uint8_t utf8_lo = 0;    // string: range of the next continuation byte
  uint8_t utf8_hi = 0;
  uint8_t idigits = 0;  // number: digits before the point
  uint8_t fdigits = 0;  // number: digits after the point
  uint8_t edigits = 0;  // number: exponent digits
  bool negative = false;
  bool key_extra = false;   // object: the key being typed may still be an additional property
  bool key_escape = false;  // object: the key's last byte began an escape
  uint16_t unicode = 0;     // string: value of the \u escape being read
  int32_t prop = -1;        // object: property whose value is open
  uint32_t len = 0;         // key prefix, literal offset or \u digits read
  uint32_t count = 0;       // array items or string code points so far
  uint64_t mask = 0;        // object: properties seen; literal: candidate texts
  uint64_t key_mask = 0;    // object: declared keys matching the key typed so far
  int64_t ival = 0;         // number: integer part
  int64_t fval = 0;         // number: fraction digits as an integer

  bool operator==(const JsonFrame&) const = default;
};

using JsonStack = std::vector<JsonFrame>;

// The parse state: every stack the text so far can be in (usually one).
struct JsonState {
  std::vector<JsonStack> stacks;
};

class JsonGrammar {
 public:
  // Compiles `schema`. Supported: type (object, array, string, number, integer, boolean, null and
  // arrays of them), properties, required, additionalProperties (false when absent), enum,
  // const, anyOf, oneOf, allOf with one schema, items, minItems, maxItems, minLength, maxLength,
  // minimum, maximum, exclusiveMinimum, exclusiveMaximum, $ref to local pointers (#/$defs/...,
  // #/definitions/...). Annotations (title, description, default, examples, format, ...) are
  // ignored. Fails with kInvalidArgument naming the keyword and its path for anything else, and
  // for schemas no text can satisfy (empty enum, minItems above maxItems, ...).
  [[nodiscard]] static Result<std::unique_ptr<JsonGrammar>> Compile(
      const nlohmann::json& schema, const JsonGrammarOptions& options);

  ~JsonGrammar();
  JsonGrammar(const JsonGrammar&) = delete;
  JsonGrammar& operator=(const JsonGrammar&) = delete;

  // The state before any byte.
  JsonState Start() const;
  // The states after `byte`; `out` is overwritten (its storage reused). Empty when rejected.
  void Advance(const JsonState& in, uint8_t byte, JsonState& out) const;
  // For walks over many continuations (the vocabulary trie): applies `byte` to a one-stack state
  // in place when the top frame takes it without opening or closing a value. kRejected: the byte
  // is refused, state untouched. kApplied: done; `saved` holds the previous top frame, which the
  // caller puts back to undo. kUnhandled: state untouched, use Advance.
  enum class InPlace { kRejected, kApplied, kUnhandled };
  InPlace TryAdvanceInPlace(JsonState& state, uint8_t byte, JsonFrame& saved) const;
  // True when the text so far is a complete valid JSON value.
  bool IsComplete(const JsonState& state) const;

  struct Node;  // a compiled schema node (json_schema_compiler.h)

 private:
  JsonGrammar();
  void Feed(JsonStack stack, uint8_t byte, std::vector<JsonStack>& out) const;
  void PushValue(JsonStack stack, int32_t node, uint8_t byte, std::vector<JsonStack>& out) const;

  JsonGrammarOptions options_;
  std::vector<Node> nodes_;
  int32_t root_ = 0;
};

// Checks text against a grammar, byte by byte.
class JsonMatcher {
 public:
  // `grammar` must outlive the matcher.
  explicit JsonMatcher(const JsonGrammar& grammar);

  // Appends `bytes` when the result is still a viable prefix and returns true; otherwise returns
  // false and leaves the state unchanged.
  bool Feed(std::string_view bytes);
  // Whether Feed(bytes) would succeed.
  bool CanFeed(std::string_view bytes) const;
  bool IsComplete() const { return grammar_->IsComplete(state_); }
  const JsonState& state() const { return state_; }
  const JsonGrammar& grammar() const { return *grammar_; }

 private:
  bool Run(std::string_view bytes, JsonState& out) const;

  const JsonGrammar* grammar_;
  JsonState state_;
  mutable JsonState scratch_[2];
};

}  // namespace tandem::engine
