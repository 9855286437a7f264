#include "tandem/engine/openai_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

namespace tandem::engine {
namespace {

using json = nlohmann::json;

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void SendError(httplib::Response& res, int status, std::string_view message,
               std::string_view type = "invalid_request_error") {
  res.status = status;
  res.set_content(Dump({{"error", {{"message", message}, {"type", type}, {"code", nullptr}}}}),
                  "application/json");
}

int StatusFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kCancelled:
      return 499;
    default:
      return 500;
  }
}

// "content" as a string, or the text parts of an array of content parts.
Result<std::string> ContentText(const json& content, std::string_view where) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {
    std::string text;
    for (const json& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
          part["text"].is_string()) {
        text += part["text"].get<std::string>();
      } else {
        return MakeError(ErrorCode::kInvalidArgument, "{}: only text content parts are supported",
                         where);
      }
    }
    return text;
  }
  return MakeError(ErrorCode::kInvalidArgument, "{} must be a string or an array of parts", where);
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json ToolCallsJson(const std::vector<llm::ToolCall>& calls, bool with_index) {
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    json call = {{"id", calls[i].id},
                 {"type", "function"},
                 {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (with_index) call["index"] = i;
    out.push_back(std::move(call));
  }
  return out;
}

json UsageJson(const llm::Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

std::atomic<uint64_t> g_request_serial{0};

std::string NewId(std::string_view prefix) {
  return fmt::format("{}-{:x}{:04x}", prefix, NowSeconds(), g_request_serial.fetch_add(1) & 0xFFFF);
}

}  // namespace

Result<ParsedChatBody> ParseChatCompletionBody(const json& body) {
  if (!body.is_object()) return MakeError(ErrorCode::kInvalidArgument, "the body is not an object");
  ParsedChatBody out;
  llm::ChatRequest& r = out.request;
  auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array() || messages->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "messages must be a non-empty array");
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    std::string where = fmt::format("messages[{}]", i);
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return MakeError(ErrorCode::kInvalidArgument, "{}.role is missing", where);
    }
    std::string role = m["role"].get<std::string>();
    llm::Message message;
    if (role == "system" || role == "developer") {
      message.role = llm::Role::kSystem;
    } else if (role == "user") {
      message.role = llm::Role::kUser;
    } else if (role == "assistant") {
      message.role = llm::Role::kAssistant;
    } else if (role == "tool") {
      message.role = llm::Role::kTool;
    } else {
      return MakeError(ErrorCode::kInvalidArgument, "{}.role '{}' is not supported", where, role);
    }
    Result<std::string> content = ContentText(m.value("content", json()), where + ".content");
    if (!content) return std::unexpected(content.error());
    message.content = std::move(*content);
    if (message.role == llm::Role::kTool) {
      message.tool_call_id = m.value("tool_call_id", "");
    }
    if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
      for (const json& c : *calls) {
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) {
          return MakeError(ErrorCode::kInvalidArgument, "{}.tool_calls: function is missing",
                           where);
        }
        const json& f = c["function"];
        llm::ToolCall call;
        call.id = c.value("id", "");
        call.name = f.value("name", "");
        if (f.contains("arguments")) {
          call.arguments = f["arguments"].is_string() ? f["arguments"].get<std::string>()
                                                      : f["arguments"].dump();
        }
        message.tool_calls.push_back(std::move(call));
      }
    }
    r.messages.push_back(std::move(message));
  }
  if (auto tools = body.find("tools"); tools != body.end() && tools->is_array()) {
    for (const json& t : *tools) {
      const json& f = t.contains("function") ? t["function"] : t;
      if (!f.is_object() || !f.contains("name") || !f["name"].is_string()) {
        return MakeError(ErrorCode::kInvalidArgument, "tools: every tool needs function.name");
      }
      llm::ToolSpec spec;
      spec.name = f["name"].get<std::string>();
      spec.description = f.value("description", "");
      if (f.contains("parameters") && f["parameters"].is_object())
        spec.parameters = f["parameters"];
      r.tools.push_back(std::move(spec));
    }
  }
  if (auto choice = body.find("tool_choice"); choice != body.end()) {
    if (choice->is_string()) {
      r.tool_choice = choice->get<std::string>();
    } else if (choice->is_object() && choice->contains("function")) {
      r.tool_choice = (*choice)["function"].value("name", "");
    }
  }
  auto number = [&](const char* key) -> std::optional<double> {
    auto it = body.find(key);
    if (it == body.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  };
  auto integer = [&](const char* key) -> std::optional<int64_t> {
    auto it = body.find(key);
    if (it == body.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  r.temperature = number("temperature");
  r.top_p = number("top_p");
  r.seed = integer("seed");
  r.max_tokens = integer("max_completion_tokens");
  if (!r.max_tokens) r.max_tokens = integer("max_tokens");
  if (r.max_tokens && *r.max_tokens <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, "max_tokens must be positive");
  }
  if (auto stop = body.find("stop"); stop != body.end()) {
    if (stop->is_string()) {
      r.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const json& s : *stop)
        if (s.is_string()) r.stop.push_back(s.get<std::string>());
    }
  }
  if (auto format = body.find("response_format"); format != body.end() && format->is_object()) {
    std::string type = format->value("type", "text");
    if (type == "json_object") {
      r.response_format.kind = llm::ResponseFormat::Kind::kJsonObject;
    } else if (type == "json_schema" && format->contains("json_schema")) {
      r.response_format.kind = llm::ResponseFormat::Kind::kJsonSchema;
      const json& js = (*format)["json_schema"];
      r.response_format.name = js.value("name", "");
      if (js.contains("schema")) r.response_format.schema = js["schema"];
    }
  }
  out.stream = body.value("stream", false);
  if (auto options = body.find("stream_options"); options != body.end() && options->is_object()) {
    out.include_usage = options->value("include_usage", false);
  }
  return out;
}

json ChatCompletionJson(const llm::ChatResponse& response, const std::string& id, int64_t created) {
  json message = {{"role", "assistant"}, {"content", response.message.content}};
  if (!response.message.tool_calls.empty()) {
    message["tool_calls"] = ToolCallsJson(response.message.tool_calls, false);
    if (response.message.content.empty()) message["content"] = nullptr;
  }
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", response.model},
          {"choices",
           {{{"index", 0}, {"message", message}, {"finish_reason", response.finish_reason}}}},
          {"usage", UsageJson(response.usage)}};
}

EngineServer::EngineServer(std::shared_ptr<const Model> model, EngineModelOptions options)
    : chat_(model, options),
      embedder_(model, options),
      server_(std::make_unique<httplib::Server>()) {
  Routes();
}

EngineServer::~EngineServer() {
  Stop();
}

Result<int> EngineServer::Start(const std::string& host, int port) {
  int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return MakeError(ErrorCode::kUnavailable, "cannot listen on {}:{}", host, port);
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void EngineServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void EngineServer::Routes() {
  server_->Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    data.push_back(
        {{"id", chat_.model_name()}, {"object", "model"}, {"created", 0}, {"owned_by", "tandem"}});
    res.set_content(Dump({{"object", "list"}, {"data", data}}), "application/json");
  });

  server_->Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("input")) {
      SendError(res, 400, "the body must be a JSON object with \"input\"");
      return;
    }
    std::vector<std::string> texts;
    const json& input = body["input"];
    if (input.is_string()) {
      texts.push_back(input.get<std::string>());
    } else if (input.is_array() && !input.empty()) {
      for (const json& t : input) {
        if (!t.is_string()) {
          SendError(res, 400, "input must be a string or an array of strings");
          return;
        }
        texts.push_back(t.get<std::string>());
      }
    } else {
      SendError(res, 400, "input must be a string or an array of strings");
      return;
    }
    Result<std::vector<std::vector<float>>> vectors = embedder_.Embed(texts);
    if (!vectors) {
      SendError(res, StatusFor(vectors.error()), vectors.error().message());
      return;
    }
    json data = json::array();
    for (size_t i = 0; i < vectors->size(); ++i) {
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", (*vectors)[i]}});
    }
    int64_t tokens = 0;
    for (const std::string& t : texts)
      tokens +=
          static_cast<int64_t>(chat_.model().vocab().Tokenize(t, {.add_special = true}).size());
    res.set_content(Dump({{"object", "list"},
                          {"data", data},
                          {"model", embedder_.model_name()},
                          {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}}),
                    "application/json");
  });

  server_->Post("/v1/chat/completions", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      SendError(res, 400, "the body is not JSON");
      return;
    }
    Result<ParsedChatBody> parsed = ParseChatCompletionBody(body);
    if (!parsed) {
      SendError(res, 400, parsed.error().message());
      return;
    }
    std::string id = NewId("chatcmpl");
    int64_t created = NowSeconds();
    if (!parsed->stream) {
      Result<llm::ChatResponse> answer = chat_.Chat(parsed->request, {});
      if (!answer) {
        SendError(res, StatusFor(answer.error()), answer.error().message(), "server_error");
        return;
      }
      res.set_content(Dump(ChatCompletionJson(*answer, id, created)), "application/json");
      return;
    }
    // Server-sent events: the answer is generated inside the content provider, each piece
    // written as a chunk; a closed connection cancels the generation.
    auto state = std::make_shared<ParsedChatBody>(std::move(*parsed));
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, state, id, created](
                                                              size_t, httplib::DataSink& sink) {
      std::string model = chat_.model_name();
      auto chunk = [&](json delta, json finish) {
        json c = {{"id", id},
                  {"object", "chat.completion.chunk"},
                  {"created", created},
                  {"model", model},
                  {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}};
        std::string line = "data: " + Dump(c) + "\n\n";
        return sink.write(line.data(), line.size());
      };
      CancellationToken cancel;
      chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
      Result<llm::ChatResponse> answer =
          chat_.Chat(state->request,
                     {.cancel = &cancel, .stream = true, .on_text = [&](std::string_view piece) {
                        if (!chunk({{"content", piece}}, nullptr)) cancel.Cancel();
                      }});
      if (!answer) {
        std::string line =
            "data: " +
            Dump({{"error", {{"message", answer.error().message()}, {"type", "server_error"}}}}) +
            "\n\n";
        sink.write(line.data(), line.size());
      } else {
        if (!answer->message.tool_calls.empty()) {
          chunk({{"tool_calls", ToolCallsJson(answer->message.tool_calls, true)}}, nullptr);
        }
        chunk(json::object(), answer->finish_reason);
        if (state->include_usage) {
          json c = {{"id", id},
                    {"object", "chat.completion.chunk"},
                    {"created", created},
                    {"model", model},
                    {"choices", json::array()},
                    {"usage", UsageJson(answer->usage)}};
          std::string line = "data: " + Dump(c) + "\n\n";
          sink.write(line.data(), line.size());
        }
      }
      static constexpr std::string_view kDone = "data: [DONE]\n\n";
      sink.write(kDone.data(), kDone.size());
      sink.done();
      return true;
    });
  });
}

}  // namespace tandem::engine
