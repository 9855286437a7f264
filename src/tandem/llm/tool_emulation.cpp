#include "tandem/llm/tool_emulation.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace tandem::llm {
namespace {

using nlohmann::json;

json AnswerSchema(const std::vector<ToolSpec>& tools) {
  json branches = json::array();
  for (const ToolSpec& tool : tools) {
    branches.push_back({{"type", "object"},
                        {"properties",
                         {{"thoughts", {{"type", "string"}}},
                          {"tool", {{"const", tool.name}}},
                          {"arguments", tool.parameters}}},
                        {"required", {"tool", "arguments"}},
                        {"additionalProperties", false}});
  }
  return {{"anyOf", branches}};
}

std::string Instructions(const std::vector<ToolSpec>& tools) {
  std::string text =
      "You act only through tools. Answer with exactly one JSON object and nothing else:\n"
      R"({"thoughts": "your reasoning", "tool": "TOOL_NAME", "arguments": {...}})"
      "\nwhere arguments follow the tool's JSON Schema. Tools:\n";
  for (const ToolSpec& tool : tools) {
    text += fmt::format("- {}: {}\n  parameters: {}\n", tool.name, tool.description,
                        tool.parameters.dump());
  }
  return text;
}

// An earlier call as the JSON object the model is asked to write.
std::string CallAsText(const Message& message) {
  std::string out;
  for (const ToolCall& call : message.tool_calls) {
    json arguments = json::parse(call.arguments, nullptr, false);
    if (arguments.is_discarded()) arguments = call.arguments;
    json object = {{"tool", call.name}, {"arguments", arguments}};
    if (!message.content.empty()) object["thoughts"] = message.content;
    if (!out.empty()) out += "\n";
    out += object.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out;
}

// The text between the first '{' and the last '}': models often wrap JSON in a code fence.
std::string_view JsonPart(std::string_view text) {
  size_t open = text.find('{');
  size_t close = text.rfind('}');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return {};
  return text.substr(open, close - open + 1);
}

}  // namespace

ChatRequest EmulateTools(ChatRequest request, bool json_schema) {
  if (request.tools.empty()) return request;
  std::map<std::string, std::string> tool_of_call;  // Call id -> tool name.
  std::vector<Message> messages;
  messages.push_back(Message::System(Instructions(request.tools)));
  for (Message& message : request.messages) {
    if (message.role == Role::kAssistant && !message.tool_calls.empty()) {
      for (const ToolCall& call : message.tool_calls)
        tool_of_call[call.id] = call.name;
      messages.push_back({Role::kAssistant, CallAsText(message), {}, {}});
    } else if (message.role == Role::kTool) {
      auto tool = tool_of_call.find(message.tool_call_id);
      std::string name = tool == tool_of_call.end() ? "tool" : tool->second;
      messages.push_back(
          Message::User(fmt::format("Result of the {} call:\n{}", name, message.content)));
    } else {
      messages.push_back(std::move(message));
    }
  }
  request.messages = std::move(messages);
  if (json_schema) {
    request.response_format = {ResponseFormat::Kind::kJsonSchema, "tool_call",
                               AnswerSchema(request.tools)};
  } else {
    request.response_format = {ResponseFormat::Kind::kJsonObject, "", json()};
  }
  request.tools.clear();
  request.tool_choice.clear();
  return request;
}

void RecoverToolCall(ChatResponse& response, const std::vector<ToolSpec>& tools,
                     size_t call_index) {
  Message& message = response.message;
  if (!message.tool_calls.empty()) return;
  json answer = json::parse(JsonPart(message.content), nullptr, false);
  if (!answer.is_object() || !answer.contains("tool") || !answer["tool"].is_string()) return;
  std::string name = answer["tool"];
  bool known = std::any_of(tools.begin(), tools.end(),
                           [&](const ToolSpec& tool) { return tool.name == name; });
  if (!known || !answer.contains("arguments")) return;
  std::string thoughts;
  if (auto it = answer.find("thoughts"); it != answer.end() && it->is_string()) thoughts = *it;
  message.tool_calls = {{fmt::format("call_emulated_{}", call_index), name,
                         answer["arguments"].dump(-1, ' ', false, json::error_handler_t::replace)}};
  message.content = thoughts;
  response.finish_reason = "tool_calls";
}

}  // namespace tandem::llm
