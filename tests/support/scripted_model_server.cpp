#include "support/scripted_model_server.h"

#include <stdexcept>

namespace tandem::testing {
namespace {

using nlohmann::json;

// A chat completion as the server-sent events of a streamed answer: the text in a few pieces,
// the tool calls, the finish reason, the usage, then [DONE] (OpenAI's chunk format).
std::string ToEventStream(const json& completion) {
  std::string out;
  auto send = [&out](const json& chunk) { out += "data: " + chunk.dump() + "\n\n"; };
  auto delta = [](json fields) { return json{{"choices", {{{"index", 0}, {"delta", fields}}}}}; };
  const json& choice = completion["choices"][0];
  const json& message = choice["message"];
  send(delta({{"role", "assistant"}}));
  std::string content = message.value("content", "");
  for (size_t at = 0; at < content.size();) {
    size_t next = content.find(' ', at + 1);
    next = next == std::string::npos ? content.size() : next;
    send(delta({{"content", content.substr(at, next - at)}}));
    at = next;
  }
  if (message.contains("tool_calls")) {
    json calls = message["tool_calls"];
    for (size_t i = 0; i < calls.size(); ++i)
      calls[i]["index"] = i;
    send(delta({{"tool_calls", calls}}));
  }
  send({{"choices",
         {{{"index", 0}, {"delta", json::object()}, {"finish_reason", choice["finish_reason"]}}}}});
  if (completion.contains("usage"))
    send({{"choices", json::array()}, {"usage", completion["usage"]}});
  return out + "data: [DONE]\n\n";
}

}  // namespace

ScriptedModelServer::ScriptedModelServer() {
  server_.Post("/v1/chat/completions",
               [this](const httplib::Request& request, httplib::Response& response) {
                 ScriptedReply reply{500, R"({"error":{"message":"no scripted reply left"}})"};
                 json body = json::parse(request.body, nullptr, false);
                 bool stream = body.is_object() && body.value("stream", false);
                 {
                   std::lock_guard lock(mu_);
                   requests_.push_back(body);
                   if (!replies_.empty()) {
                     reply = std::move(replies_.front());
                     replies_.pop_front();
                   }
                 }
                 response.status = reply.status;
                 json completion = json::parse(reply.body, nullptr, false);
                 if (stream && reply.status == 200 && completion.contains("choices")) {
                   response.set_content(ToEventStream(completion), "text/event-stream");
                 } else {
                   response.set_content(reply.body, "application/json");
                 }
               });
  server_.Post("/v1/embeddings", [this](const httplib::Request& request,
                                        httplib::Response& response) {
    json body = json::parse(request.body, nullptr, false);
    {
      std::lock_guard lock(mu_);
      requests_.push_back(body);
    }
    json input = body.is_object() ? body.value("input", json()) : json();
    if (input.is_string()) input = json::array({input});
    if (!input.is_array()) {
      response.status = 400;
      response.set_content(R"({"error":{"message":"input is missing"}})", "application/json");
      return;
    }
    json data = json::array();
    for (size_t i = 0; i < input.size(); ++i) {
      data.push_back({{"object", "embedding"},
                      {"index", i},
                      {"embedding", EmbeddingOf(input[i].get<std::string>())}});
    }
    response.set_content(json{{"object", "list"}, {"data", data}, {"model", body["model"]}}.dump(),
                         "application/json");
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("cannot bind a loopback port");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // bind_to_any_port already listens: early connections wait in the backlog until accepted.
}

ScriptedModelServer::~ScriptedModelServer() {
  server_.stop();
  thread_.join();
}

std::string ScriptedModelServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

void ScriptedModelServer::Push(ScriptedReply reply) {
  std::lock_guard lock(mu_);
  replies_.push_back(std::move(reply));
}

nlohmann::json ToolCallCompletion(const std::string& call_id, const std::string& name,
                                  const nlohmann::json& arguments, const std::string& thoughts,
                                  int prompt_tokens, int completion_tokens) {
  return {{"id", "chatcmpl-test"},
          {"object", "chat.completion"},
          {"model", "scripted-model"},
          {"choices",
           {{{"index", 0},
             {"finish_reason", "tool_calls"},
             {"message",
              {{"role", "assistant"},
               {"content", thoughts},
               {"tool_calls",
                {{{"id", call_id},
                  {"type", "function"},
                  {"function", {{"name", name}, {"arguments", arguments.dump()}}}}}}}}}}},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}}}};
}

int ToolResults(const nlohmann::json& request) {
  int results = 0;
  if (!request.contains("messages") || !request["messages"].is_array()) return 0;
  for (const nlohmann::json& message : request["messages"])
    results += message.value("role", "") == "tool";
  return results;
}

void ScriptedModelServer::PushToolCall(const std::string& name, const nlohmann::json& arguments,
                                       const std::string& thoughts, int prompt_tokens,
                                       int completion_tokens) {
  std::string id;
  {
    std::lock_guard lock(mu_);
    id = "call_" + std::to_string(++calls_);
  }
  Push(
      {200,
       ToolCallCompletion(id, name, arguments, thoughts, prompt_tokens, completion_tokens).dump()});
}

void ScriptedModelServer::PushText(const std::string& text) {
  nlohmann::json body = {{"model", "scripted-model"},
                         {"choices",
                          {{{"index", 0},
                            {"finish_reason", "stop"},
                            {"message", {{"role", "assistant"}, {"content", text}}}}}},
                         {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}}}};
  Push({200, body.dump()});
}

std::vector<float> ScriptedModelServer::EmbeddingOf(const std::string& text) {
  float first = text.empty() ? 0.0f : static_cast<float>(static_cast<unsigned char>(text[0]));
  return {static_cast<float>(text.size()), first, 1.0f};
}

std::vector<nlohmann::json> ScriptedModelServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

}  // namespace tandem::testing
