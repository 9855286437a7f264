#include "tandem/llm/openai_protocol.h"

#include <fmt/format.h>

namespace tandem::llm {
namespace {

using nlohmann::json;

json MessageToJson(const Message& message) {
  json out = {{"role", RoleName(message.role)}};
  if (message.role == Role::kAssistant && !message.tool_calls.empty()) {
    out["content"] = message.content.empty() ? json(nullptr) : json(message.content);
    json calls = json::array();
    for (const ToolCall& call : message.tool_calls) {
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    out["tool_calls"] = std::move(calls);
  } else {
    out["content"] = message.content;
  }
  if (message.role == Role::kTool) out["tool_call_id"] = message.tool_call_id;
  return out;
}

// Reads an optional string field; null counts as absent.
Result<std::string> OptionalString(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}.{} should be a string", where, key);
  }
  return it->get<std::string>();
}

Result<int64_t> OptionalCount(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "{}.{} should be a non-negative integer", where,
                     key);
  }
  return it->get<int64_t>();
}

Result<ToolCall> ParseToolCall(const json& item, const std::string& where) {
  if (!item.is_object())
    return MakeError(ErrorCode::kInvalidArgument, "{} should be an object", where);
  auto function = item.find("function");
  if (function == item.end() || !function->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}.function is missing", where);
  }
  ToolCall call;
  Result<std::string> id = OptionalString(item, "id", where);
  if (!id) return std::unexpected(id.error());
  call.id = *id;
  Result<std::string> name = OptionalString(*function, "name", where + ".function");
  if (!name) return std::unexpected(name.error());
  if (name->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "{}.function.name is missing", where);
  }
  call.name = *name;
  auto arguments = function->find("arguments");
  if (arguments != function->end() && arguments->is_string()) {
    call.arguments = arguments->get<std::string>();
  } else if (arguments != function->end() && arguments->is_object()) {
    call.arguments = arguments->dump();  // Some servers send an object instead of text.
  } else {
    call.arguments = "{}";
  }
  return call;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSystem:
      return "system";
    case Role::kUser:
      return "user";
    case Role::kAssistant:
      return "assistant";
    case Role::kTool:
      return "tool";
  }
  return "user";
}

json ChatRequestToJson(const ChatRequest& request, const std::string& model) {
  json body = {{"model", model}, {"messages", json::array()}};
  for (const Message& message : request.messages)
    body["messages"].push_back(MessageToJson(message));
  if (!request.tools.empty()) {
    json tools = json::array();
    for (const ToolSpec& tool : request.tools) {
      tools.push_back({{"type", "function"},
                       {"function",
                        {{"name", tool.name},
                         {"description", tool.description},
                         {"parameters", tool.parameters}}}});
    }
    body["tools"] = std::move(tools);
  }
  if (request.tool_choice == "auto" || request.tool_choice == "none" ||
      request.tool_choice == "required") {
    body["tool_choice"] = request.tool_choice;
  } else if (!request.tool_choice.empty()) {
    body["tool_choice"] = {{"type", "function"}, {"function", {{"name", request.tool_choice}}}};
  }
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (request.seed) body["seed"] = *request.seed;
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (!request.stop.empty()) body["stop"] = request.stop;
  switch (request.response_format.kind) {
    case ResponseFormat::Kind::kText:
      break;
    case ResponseFormat::Kind::kJsonObject:
      body["response_format"] = {{"type", "json_object"}};
      break;
    case ResponseFormat::Kind::kJsonSchema:
      body["response_format"] = {
          {"type", "json_schema"},
          {"json_schema",
           {{"name",
             request.response_format.name.empty() ? "answer" : request.response_format.name},
            {"schema", request.response_format.schema},
            {"strict", true}}}};
      break;
  }
  return body;
}

Result<ChatResponse> ParseChatResponse(std::string_view body) {
  json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return MakeError(ErrorCode::kInvalidArgument, "response is not valid JSON: {}",
                     ExtractErrorMessage(body));
  }
  if (!root.is_object()) return MakeError(ErrorCode::kInvalidArgument, "response is not an object");
  auto choices = root.find("choices");
  if (choices == root.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "response has no choices[0]");
  }
  const json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "choices[0].message is missing");
  }
  ChatResponse response;
  response.message.role = Role::kAssistant;
  Result<std::string> content = OptionalString(*message, "content", "choices[0].message");
  if (!content) return std::unexpected(content.error());
  response.message.content = *content;
  if (auto calls = message->find("tool_calls"); calls != message->end() && !calls->is_null()) {
    if (!calls->is_array()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "choices[0].message.tool_calls should be an array");
    }
    for (size_t i = 0; i < calls->size(); ++i) {
      Result<ToolCall> call =
          ParseToolCall((*calls)[i], fmt::format("choices[0].message.tool_calls[{}]", i));
      if (!call) return std::unexpected(call.error());
      response.message.tool_calls.push_back(std::move(*call));
    }
  }
  Result<std::string> finish = OptionalString(choice, "finish_reason", "choices[0]");
  if (!finish) return std::unexpected(finish.error());
  response.finish_reason = *finish;
  Result<std::string> model = OptionalString(root, "model", "response");
  if (!model) return std::unexpected(model.error());
  response.model = *model;
  auto usage = root.find("usage");
  if (usage != root.end() && usage->is_object()) {
    Result<int64_t> prompt = OptionalCount(*usage, "prompt_tokens", "usage");
    Result<int64_t> completion = OptionalCount(*usage, "completion_tokens", "usage");
    if (!prompt) return std::unexpected(prompt.error());
    if (!completion) return std::unexpected(completion.error());
    response.usage.prompt_tokens = *prompt;
    response.usage.completion_tokens = *completion;
    if (auto details = usage->find("prompt_tokens_details");
        details != usage->end() && details->is_object()) {
      Result<int64_t> cached =
          OptionalCount(*details, "cached_tokens", "usage.prompt_tokens_details");
      if (!cached) return std::unexpected(cached.error());
      response.usage.cached_prompt_tokens = *cached;
    }
  } else {
    response.usage.estimated = true;
  }
  return response;
}

std::string ExtractErrorMessage(std::string_view body) {
  json root = json::parse(body, nullptr, false);
  if (!root.is_discarded() && root.is_object()) {
    auto error = root.find("error");
    if (error != root.end()) {
      if (error->is_object() && error->contains("message") && (*error)["message"].is_string()) {
        return (*error)["message"].get<std::string>();
      }
      if (error->is_string()) return error->get<std::string>();
    }
  }
  constexpr size_t kMaxShown = 300;
  std::string shown(body.substr(0, kMaxShown));
  if (body.size() > kMaxShown) shown += "...";
  return shown;
}

}  // namespace tandem::llm
