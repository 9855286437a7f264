// EngineServer: `tandem model serve` — an OpenAI-compatible HTTP server on loopback over one
// EngineChatModel and EngineEmbedder: POST /v1/chat/completions (JSON or SSE stream, tools),
// POST /v1/embeddings, GET /v1/models.
//
//   EngineServer server(model, {.n_threads = 2});
//   Result<int> port = server.Start("127.0.0.1", 8080);   // 0 picks a free port
//   ... server.Stop();
//
// Requests are answered one at a time per model (EngineChatModel serialises); the HTTP layer
// accepts connections concurrently. Thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tandem/core/error.h"
#include "tandem/engine/engine_chat_model.h"
#include "tandem/llm/types.h"

namespace httplib {
class Server;
}

namespace tandem::engine {

// An OpenAI Chat Completions request body as an llm::ChatRequest; `stream` and
// `include_usage` report the streaming fields. kInvalidArgument names the offending field.
struct ParsedChatBody {
  llm::ChatRequest request;
  bool stream = false;
  bool include_usage = false;
};
[[nodiscard]] Result<ParsedChatBody> ParseChatCompletionBody(const nlohmann::json& body);

// A response as the non-streaming Chat Completions JSON.
nlohmann::json ChatCompletionJson(const llm::ChatResponse& response, const std::string& id,
                                  int64_t created);

class EngineServer {
 public:
  EngineServer(std::shared_ptr<const Model> model, EngineModelOptions options);
  ~EngineServer();
  EngineServer(const EngineServer&) = delete;
  EngineServer& operator=(const EngineServer&) = delete;

  // Binds `host`:`port` (0: any free port) and serves on a background thread; returns the
  // port. kUnavailable when the address cannot be bound.
  [[nodiscard]] Result<int> Start(const std::string& host, int port);
  void Stop();
  const std::string& model_name() const { return chat_.model_name(); }

 private:
  void Routes();

  EngineChatModel chat_;
  EngineEmbedder embedder_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace tandem::engine
