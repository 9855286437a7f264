// Provider-neutral chat types: messages, tool specifications and calls, usage. They mirror the
// OpenAI Chat Completions shapes, the de-facto standard of cloud APIs and local servers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tandem::llm {

enum class Role { kSystem, kUser, kAssistant, kTool };
std::string_view RoleName(Role role);

// A tool invocation requested by the model. `arguments` is the raw JSON text the model produced;
// it is untrusted and must be parsed and validated before use.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
  bool operator==(const ToolCall&) const = default;
};

struct Message {
  Role role = Role::kUser;
  std::string content;
  std::vector<ToolCall> tool_calls;  // Assistant messages only.
  std::string tool_call_id;          // Tool messages only: the call this answers.
  bool operator==(const Message&) const = default;

  static Message System(std::string text) { return {Role::kSystem, std::move(text), {}, {}}; }
  static Message User(std::string text) { return {Role::kUser, std::move(text), {}, {}}; }
  static Message ToolResult(std::string call_id, std::string text) {
    return {Role::kTool, std::move(text), {}, std::move(call_id)};
  }
};

// A function the model may call; `parameters` is its JSON Schema.
struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json parameters = nlohmann::json::object();
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  bool estimated = false;  // True when the provider did not report usage.
  bool operator==(const Usage&) const = default;
};

// Structured output requested from the model (`response_format`).
struct ResponseFormat {
  enum class Kind { kText, kJsonObject, kJsonSchema };
  Kind kind = Kind::kText;
  std::string name;       // Schema name (kJsonSchema).
  nlohmann::json schema;  // JSON Schema (kJsonSchema).
};

struct ChatRequest {
  std::vector<Message> messages;
  std::vector<ToolSpec> tools;
  std::string tool_choice;  // "", "auto", "none", "required", or a tool name.
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> seed;
  std::optional<int64_t> max_tokens;
  std::vector<std::string> stop;
  ResponseFormat response_format;
};

struct ChatResponse {
  Message message;  // Role kAssistant.
  Usage usage;
  std::string finish_reason;           // "stop", "tool_calls", "length", "content_filter".
  std::string model;                   // The model that answered, as the provider named it.
  int64_t time_to_first_token_ms = 0;  // Streaming: first content; otherwise the whole answer.
};

}  // namespace tandem::llm
