// Conversion between Tandem's chat types and the OpenAI Chat Completions JSON bodies. Shared by
// the client (requests out, responses in) and, later, the server's compatible gateway.
#pragma once

#include <nlohmann/json.hpp>

#include "tandem/core/error.h"
#include "tandem/llm/types.h"

namespace tandem::llm {

// The request body for POST /chat/completions.
nlohmann::json ChatRequestToJson(const ChatRequest& request, const std::string& model);

// Parses a non-streaming response body. Fails with kInvalidArgument naming the missing or
// mistyped field ("choices[0].message.tool_calls[1].function.name").
Result<ChatResponse> ParseChatResponse(std::string_view body);

// The provider's error message from an error body ({"error": {"message": ...}}), or the body
// itself shortened to 300 bytes when it has no such field.
std::string ExtractErrorMessage(std::string_view body);

}  // namespace tandem::llm
