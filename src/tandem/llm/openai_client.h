// A ChatModel that speaks the OpenAI Chat Completions protocol over HTTP: OpenAI and other
// cloud APIs, Ollama /v1, llama.cpp server, vLLM, LM Studio.
#pragma once

#include <memory>
#include <string>

#include "tandem/core/config.h"
#include "tandem/llm/chat_model.h"

namespace tandem::llm {

struct OpenAiClientOptions {
  std::string base_url;  // Up to and including "/v1"; "/chat/completions" is appended.
  std::string model;
  std::string api_key;  // Sent as "Authorization: Bearer"; empty sends no header.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{600'000};
};

// Thread-safe: calls share no mutable state.
class OpenAiClient final : public ChatModel {
 public:
  explicit OpenAiClient(OpenAiClientOptions options);

  // Maps HTTP errors: 401/403 kUnauthenticated, 429 kRateLimited, 400/404/413/422
  // kInvalidArgument, 5xx kUnavailable; each message includes the provider's own.
  Result<ChatResponse> Chat(const ChatRequest& request, const CallOptions& options) override;
  const std::string& model_name() const override { return options_.model; }

 private:
  OpenAiClientOptions options_;
};

// A client for a configured provider (kind "openai"), taking its key from config.secrets.
// Fails with kInvalidArgument when the key variable is missing.
Result<std::unique_ptr<OpenAiClient>> MakeOpenAiClient(const Config& config,
                                                       const ProviderConfig& provider);

}  // namespace tandem::llm
