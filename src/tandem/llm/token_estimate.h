// Token counts when no tokenizer is available: a documented approximation (docs/providers.md)
// of one token per 4 bytes of UTF-8, plus a small overhead per message.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tandem/llm/types.h"

namespace tandem::llm {

// ceil(bytes / 4).
int64_t EstimateTokens(std::string_view text);
// Prompt tokens of a conversation: each message's text and tool calls, plus 4 per message.
int64_t EstimatePromptTokens(const std::vector<Message>& messages);
// Usage of an answer to `request`, marked estimated.
Usage EstimateUsage(const ChatRequest& request, const Message& answer);

}  // namespace tandem::llm
