#include "tandem/engine/json_grammar.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "tandem/engine/json_schema_compiler.h"

namespace tandem::engine {
namespace {

using Kind = JsonNodeKind;
using Node = JsonGrammar::Node;

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

// Digits before and after the point (15 keep every number exact in a double and none overflows).
constexpr int kMaxDigits = kJsonMaxDigits;
constexpr int kMaxExponentDigits = 2;

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
  f.key_escape = false;
  f.len = 0;
  if ((f.key_mask & ~f.mask) == 0 && !f.key_extra) return kReject;
  f.phase = kObjKey;
  f.ws = 0;
  return kKeep;
}

Step KeyByte(const Node& node, JsonFrame& f, uint8_t b) {
  if (b == '"' && !f.key_escape) {
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
  f.key_escape = b == '\\' && !f.key_escape;
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

// One byte for the top frame of a stack (not the root): whitespace between tokens, or the
// frame's own rule.
Step StepFrame(const std::vector<Node>& nodes, int max_whitespace, JsonFrame& f, uint8_t byte) {
  if (IsWhitespace(byte) && AcceptsWhitespace(f.phase)) {
    if (f.ws >= max_whitespace) return kReject;
    ++f.ws;
    return kKeep;
  }
  const Node& node = nodes[static_cast<size_t>(f.node)];
  switch (node.kind) {
    case Kind::kObject:
      return ObjectStep(node, f, byte);
    case Kind::kArray:
      return ArrayStep(node, f, byte);
    case Kind::kString:
      return StringStep(node, f, byte);
    case Kind::kNumber:
      return NumberStep(node, f, byte);
    case Kind::kLiteral:
      return LiteralStep(node, f, byte);
    case Kind::kUnion:
      break;
  }
  return kReject;
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
  Result<int32_t> root = CompileJsonSchema(schema, grammar->nodes_);
  if (!root) return std::unexpected(std::move(root).error().WithContext("compiling JSON Schema"));
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
    // Leading blanks are allowed (SentencePiece models like to start with "▁{"); trailing ones
    // are not, since generation ends as soon as the value is complete.
    if (IsWhitespace(byte)) {
      if (f.ws >= options_.max_whitespace) return;
      ++f.ws;
      out.push_back(std::move(stack));
      return;
    }
    f.phase = kRootDone;
    PushValue(std::move(stack), root_, byte, out);
    return;
  }
  Step step = StepFrame(nodes_, options_.max_whitespace, f, byte);
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
  // Fast path for the common case, one stack whose top frame takes the byte in place: `out`
  // keeps its storage, so walking a vocabulary trie allocates nothing per node.
  if (in.stacks.size() == 1 && in.stacks[0].back().node >= 0) {
    const JsonStack& stack = in.stacks[0];
    JsonFrame top = stack.back();
    Step step = StepFrame(nodes_, options_.max_whitespace, top, byte);
    if (step.action == Action::kReject) {
      out.stacks.clear();
      return;
    }
    if (step.action == Action::kKeep) {
      out.stacks.resize(1);
      out.stacks[0].assign(stack.begin(), stack.end());
      out.stacks[0].back() = top;
      return;
    }
  }
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

JsonGrammar::InPlace JsonGrammar::TryAdvanceInPlace(JsonState& state, uint8_t byte,
                                                    JsonFrame& saved) const {
  if (state.stacks.size() != 1 || state.stacks[0].back().node < 0) return InPlace::kUnhandled;
  JsonFrame& top = state.stacks[0].back();
  JsonFrame next = top;
  Step step = StepFrame(nodes_, options_.max_whitespace, next, byte);
  if (step.action == Action::kReject) return InPlace::kRejected;
  if (step.action != Action::kKeep) return InPlace::kUnhandled;
  saved = top;
  top = next;
  return InPlace::kApplied;
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
