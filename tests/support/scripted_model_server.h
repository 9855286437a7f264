// A real OpenAI-compatible HTTP server on loopback that answers /v1/chat/completions with
// scripted replies, for tests of the client, the agent and the CLI. /v1/embeddings answers every
// input with EmbeddingOf(input).
#pragma once

#include <httplib.h>

#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace tandem::testing {

// The body of a chat completion whose answer is one call of tool `name` with `arguments`.
nlohmann::json ToolCallCompletion(const std::string& call_id, const std::string& name,
                                  const nlohmann::json& arguments, const std::string& thoughts = "",
                                  int prompt_tokens = 10, int completion_tokens = 5);
// How many tool results a chat request carries: how far a task has got, for models whose next
// action depends only on the conversation (so a resumed task continues where it stopped).
int ToolResults(const nlohmann::json& request);

struct ScriptedReply {
  int status = 200;
  std::string body;  // Sent as is (JSON text).
};

// Thread-safe. Starts listening on 127.0.0.1 (ephemeral port) in the constructor.
class ScriptedModelServer {
 public:
  ScriptedModelServer();
  ~ScriptedModelServer();
  ScriptedModelServer(const ScriptedModelServer&) = delete;
  ScriptedModelServer& operator=(const ScriptedModelServer&) = delete;

  // "http://127.0.0.1:PORT/v1".
  std::string base_url() const;

  // Queues a reply. When the queue is empty the server answers 500. A request with
  // "stream": true gets a chat completion reply as server-sent events (text in pieces).
  void Push(ScriptedReply reply);
  // A chat completion with one tool call and the given usage.
  void PushToolCall(const std::string& name, const nlohmann::json& arguments,
                    const std::string& thoughts = "", int prompt_tokens = 10,
                    int completion_tokens = 5);
  void PushText(const std::string& text);

  // Bodies of the requests received so far (chat completions and embeddings).
  std::vector<nlohmann::json> requests() const;

  // The vector /v1/embeddings answers for `text`: {bytes, first byte, 1}.
  static std::vector<float> EmbeddingOf(const std::string& text);

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::deque<ScriptedReply> replies_;     // GUARDED_BY(mu_)
  std::vector<nlohmann::json> requests_;  // GUARDED_BY(mu_)
  int calls_ = 0;                         // GUARDED_BY(mu_)
};

}  // namespace tandem::testing
