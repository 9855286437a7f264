#include "support/scripted_model_server.h"

#include <stdexcept>

namespace tandem::testing {

ScriptedModelServer::ScriptedModelServer() {
  server_.Post("/v1/chat/completions",
               [this](const httplib::Request& request, httplib::Response& response) {
                 ScriptedReply reply{500, R"({"error":{"message":"no scripted reply left"}})"};
                 {
                   std::lock_guard lock(mu_);
                   requests_.push_back(nlohmann::json::parse(request.body, nullptr, false));
                   if (!replies_.empty()) {
                     reply = std::move(replies_.front());
                     replies_.pop_front();
                   }
                 }
                 response.status = reply.status;
                 response.set_content(reply.body, "application/json");
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

void ScriptedModelServer::PushToolCall(const std::string& name, const nlohmann::json& arguments,
                                       const std::string& thoughts, int prompt_tokens,
                                       int completion_tokens) {
  std::string id;
  {
    std::lock_guard lock(mu_);
    id = "call_" + std::to_string(++calls_);
  }
  nlohmann::json body = {
      {"id", "chatcmpl-test"},
      {"object", "chat.completion"},
      {"model", "scripted-model"},
      {"choices",
       {{{"index", 0},
         {"finish_reason", "tool_calls"},
         {"message",
          {{"role", "assistant"},
           {"content", thoughts},
           {"tool_calls",
            {{{"id", id},
              {"type", "function"},
              {"function", {{"name", name}, {"arguments", arguments.dump()}}}}}}}}}}},
      {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}}}};
  Push({200, body.dump()});
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

std::vector<nlohmann::json> ScriptedModelServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

}  // namespace tandem::testing
