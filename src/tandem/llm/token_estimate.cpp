#include "tandem/llm/token_estimate.h"

namespace tandem::llm {
namespace {

constexpr int64_t kBytesPerToken = 4;
constexpr int64_t kTokensPerMessage = 4;  // Role markers and separators of chat formats.

int64_t MessageTokens(const Message& message) {
  int64_t tokens = kTokensPerMessage + EstimateTokens(message.content);
  for (const ToolCall& call : message.tool_calls) {
    tokens += EstimateTokens(call.name) + EstimateTokens(call.arguments);
  }
  return tokens;
}

}  // namespace

int64_t EstimateTokens(std::string_view text) {
  return (static_cast<int64_t>(text.size()) + kBytesPerToken - 1) / kBytesPerToken;
}

int64_t EstimatePromptTokens(const std::vector<Message>& messages) {
  int64_t tokens = 0;
  for (const Message& message : messages)
    tokens += MessageTokens(message);
  return tokens;
}

Usage EstimateUsage(const ChatRequest& request, const Message& answer) {
  int64_t prompt = EstimatePromptTokens(request.messages);
  for (const ToolSpec& tool : request.tools) {
    prompt += EstimateTokens(tool.name) + EstimateTokens(tool.description) +
              EstimateTokens(tool.parameters.dump());
  }
  return Usage{prompt, MessageTokens(answer) - kTokensPerMessage, 0, true};
}

}  // namespace tandem::llm
