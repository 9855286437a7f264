#include "tandem/llm/stream_assembler.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tandem/llm/provider_error.h"

namespace tandem::llm {
namespace {

using nlohmann::json;

std::string StringOr(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t CountOr(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? std::max<int64_t>(0, it->get<int64_t>())
                                                       : 0;
}

Error Malformed(std::string message) {
  return MakeProviderError(ProviderErrorKind::kInvalidResponse, std::move(message));
}

}  // namespace

Result<std::string> StreamAssembler::Add(std::string_view chunk_json) {
  json chunk = json::parse(chunk_json, nullptr, false);
  if (chunk.is_discarded() || !chunk.is_object()) {
    return std::unexpected(Malformed(fmt::format("stream chunk {} is not a JSON object", chunks_)));
  }
  ++chunks_;
  if (auto error = chunk.find("error"); error != chunk.end()) {
    std::string body = json{{"error", *error}}.dump();
    std::string message = error->is_object() ? StringOr(*error, "message") : error->dump();
    return std::unexpected(
        MakeProviderError(ClassifyHttpError(500, body), "error in stream: " + message));
  }
  if (model_.empty()) model_ = StringOr(chunk, "model");
  if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
    Usage reported{CountOr(*usage, "prompt_tokens"), CountOr(*usage, "completion_tokens"), 0,
                   false};
    if (auto details = usage->find("prompt_tokens_details");
        details != usage->end() && details->is_object()) {
      reported.cached_prompt_tokens = CountOr(*details, "cached_tokens");
    }
    usage_ = reported;
  }
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return std::string();
  const json& choice = (*choices)[0];
  if (!choice.is_object()) return std::unexpected(Malformed("choices[0] is not an object"));
  if (std::string finish = StringOr(choice, "finish_reason"); !finish.empty()) {
    finish_reason_ = finish;
  }
  auto delta = choice.find("delta");
  if (delta == choice.end() || !delta->is_object()) return std::string();
  std::string text = StringOr(*delta, "content");
  content_ += text;
  if (auto calls = delta->find("tool_calls"); calls != delta->end() && calls->is_array()) {
    for (const json& call : *calls) {
      if (Status added = AddToolCallDelta(call); !added) return std::unexpected(added.error());
    }
  }
  return text;
}

Status StreamAssembler::AddToolCallDelta(const json& delta) {
  if (!delta.is_object()) return std::unexpected(Malformed("tool call delta is not an object"));
  int64_t index = CountOr(delta, "index");
  std::string id = StringOr(delta, "id");
  PartialCall* target = nullptr;
  if (!id.empty()) {
    for (PartialCall& call : calls_) {
      if (call.id == id) target = &call;
    }
  }
  if (target == nullptr) {
    // The latest call with this index continues, unless a new id starts another call.
    for (auto it = calls_.rbegin(); it != calls_.rend(); ++it) {
      if (it->index == index) {
        if (id.empty() || it->id.empty()) target = &*it;
        break;
      }
    }
  }
  if (target == nullptr) {
    calls_.push_back(PartialCall{index, id, "", ""});
    target = &calls_.back();
  }
  if (target->id.empty()) target->id = id;
  if (auto function = delta.find("function"); function != delta.end() && function->is_object()) {
    target->name += StringOr(*function, "name");
    if (auto arguments = function->find("arguments"); arguments != function->end()) {
      if (arguments->is_string()) {
        target->arguments += arguments->get<std::string>();
      } else if (arguments->is_object()) {
        target->arguments += arguments->dump();
      }
    }
  }
  return {};
}

Result<ChatResponse> StreamAssembler::Finish() const {
  ChatResponse response;
  response.message.role = Role::kAssistant;
  response.message.content = content_;
  for (size_t i = 0; i < calls_.size(); ++i) {
    if (calls_[i].name.empty()) {
      return std::unexpected(Malformed(fmt::format("streamed tool call {} has no name", i)));
    }
    response.message.tool_calls.push_back(
        {calls_[i].id, calls_[i].name, calls_[i].arguments.empty() ? "{}" : calls_[i].arguments});
  }
  response.finish_reason = finish_reason_;
  response.model = model_;
  if (usage_) response.usage = *usage_;
  return response;
}

}  // namespace tandem::llm
