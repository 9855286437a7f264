// The interfaces every model implementation provides: chat and embeddings.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"
#include "tandem/llm/types.h"

namespace tandem::llm {

// Per-call options that are not part of the request body.
struct CallOptions {
  const CancellationToken* cancel = nullptr;  // Checked while waiting; nullptr: not cancellable.
  // Ask for a streamed answer when the provider can stream; the result is the same message.
  bool stream = false;
  // Called with each piece of streamed text, when the answer is streamed.
  std::function<void(std::string_view delta)> on_text;
};

// A chat model. Implementations say whether they are thread-safe.
class ChatModel {
 public:
  virtual ~ChatModel() = default;

  // Sends the conversation and returns the assistant's answer with usage.
  // Errors: kUnavailable/kRateLimited/kDeadlineExceeded (retryable), kUnauthenticated,
  // kInvalidArgument (bad request or unparseable answer), kCancelled.
  virtual Result<ChatResponse> Chat(const ChatRequest& request, const CallOptions& options) = 0;

  // The model name used in requests and in the ledger.
  virtual const std::string& model_name() const = 0;
};

// Turns texts into vectors of one fixed dimension.
class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) = 0;
  virtual const std::string& model_name() const = 0;
};

}  // namespace tandem::llm
