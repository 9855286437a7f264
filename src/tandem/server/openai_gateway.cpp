// The OpenAI-compatible gateway: /v1/chat/completions (JSON or SSE chunks), /v1/embeddings and
// /v1/models for any OpenAI client, over the same router, ledger and audit as the agent. Also
// GET /api/config/policy (route profiles for new tasks) and the "policy" field of new tasks.
#include <fmt/format.h>
#include <sodium.h>

#include <chrono>
#include <memory>

#include "tandem/engine/openai_server.h"
#include "tandem/router/routing_config.h"
#include "tandem/server/server_impl.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr size_t kMaxEmbeddingInputs = 2048;
constexpr size_t kMaxEmbeddingInputBytes = 256 * 1024;

// {"error": {"message", "type", "param", "code"}} as OpenAI's API answers errors.
void SendOpenAiError(httplib::Response& res, int status, std::string_view code,
                     std::string_view message, std::string_view param = "") {
  std::string_view type = status == 401   ? "authentication_error"
                          : status == 403 ? "permission_error"
                          : status == 429 ? "rate_limit_error"
                          : status >= 500 ? "server_error"
                                          : "invalid_request_error";
  ordered_json error = {{"message", message}, {"type", type}};
  error["param"] = param.empty() ? json() : json(param);
  error["code"] = code;
  SendJson(res, status, {{"error", error}});
}

// The HTTP status and code of an error from the router or a provider.
std::pair<int, std::string_view> StatusFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
      return {400, "invalid_request"};
    case ErrorCode::kPermissionDenied:
      return {403, "refused_by_policy"};
    case ErrorCode::kUnauthenticated:
      return {502, "provider_unauthenticated"};  // The provider rejected Tandem's key.
    case ErrorCode::kRateLimited:
      return {429, "rate_limited"};
    case ErrorCode::kUnavailable:
      return {503, "provider_unavailable"};
    case ErrorCode::kDeadlineExceeded:
      return {504, "provider_timeout"};
    case ErrorCode::kCancelled:
      return {499, "cancelled"};
    default:
      return {500, "internal_error"};
  }
}

void SendOpenAiError(httplib::Response& res, const Error& error) {
  auto [status, code] = StatusFor(error);
  SendOpenAiError(res, status, code, error.message());
}

json ErrorEvent(const Error& error) {
  auto [status, code] = StatusFor(error);
  return {{"error",
           {{"message", error.message()},
            {"type", status >= 500 ? "server_error" : "invalid_request_error"},
            {"param", nullptr},
            {"code", code}}}};
}

// The field an input error names: the leading "messages[0].role" of "messages[0].role is
// missing", or "" when the message does not start with one.
std::string ParamOf(std::string_view message) {
  size_t end = message.find_first_of(" :");
  if (end == std::string_view::npos || end == 0) return "";
  for (char c : message.substr(0, end)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '[' || c == ']';
    if (!ok) return "";
  }
  return std::string(message.substr(0, end));
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string CompletionId() {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof bytes);
  std::string id = "chatcmpl-";
  for (unsigned char b : bytes)
    id += fmt::format("{:02x}", b);
  return id;
}

// Ledger and audit rows of gateway calls carry this in place of a task id.
std::string GatewaySource(const Principal& who) {
  return "gateway:" + who.user;
}

// The route profile a requested model name selects ("auto": the default routing).
std::string ProfileOf(const std::string& model) {
  return model == "auto" ? std::string() : model;
}

json UsageJson(const llm::Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

// Where an answer ran, as an extension field next to OpenAI's own (clients ignore it).
json WhereJson(const agent::ModelAnswer& answer) {
  return {{"provider", answer.provider},
          {"zone", ZoneName(answer.zone)},
          {"cost_usd", answer.cost_usd ? json(*answer.cost_usd) : json()}};
}

std::string Base64Floats(const std::vector<float>& vector) {
  // OpenAI's base64 encoding: the little-endian float32 array (x86 and ARM are little-endian).
  const auto* bytes = reinterpret_cast<const unsigned char*>(vector.data());
  size_t size = vector.size() * sizeof(float);
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // The terminating NUL.
  return out;
}

// The JSON body and the requested model of a /v1 POST; nullopt once an OpenAI-shaped error has
// been sent for a body that is not an object or a model that is missing or unknown.
struct ModelRequest {
  json body;
  std::string model;
};

std::optional<ModelRequest> ReadModelRequest(const httplib::Request& req, httplib::Response& res,
                                             const router::Policy* policy) {
  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    SendOpenAiError(res, 400, "invalid_json", "the request body is not a JSON object");
    return std::nullopt;
  }
  if (!body.contains("model") || !body["model"].is_string() ||
      body["model"].get_ref<const std::string&>().empty()) {
    SendOpenAiError(res, 400, "invalid_request",
                    "model must be a non-empty string (GET /v1/models lists them)", "model");
    return std::nullopt;
  }
  std::string model = body["model"].get<std::string>();
  if (policy && !policy->KnowsProfile(model)) {
    SendOpenAiError(res, 404, "model_not_found",
                    fmt::format("The model '{}' does not exist: use a route profile, a provider "
                                "or its model, or 'auto' (GET /v1/models)",
                                model),
                    "model");
    return std::nullopt;
  }
  return ModelRequest{std::move(body), std::move(model)};
}

}  // namespace

void Server::Impl::OpenAiRoute(const std::string& method, const std::string& pattern, Access access,
                               Handler handler) {
  Route(method, pattern, pattern, Access::kPublic,
        [this, access, handler = std::move(handler)](const httplib::Request& req,
                                                     httplib::Response& res, const Principal&) {
          std::optional<Principal> who = Authenticate(req, res, access);
          if (!who) {
            // Authenticate answered in Tandem's shape; OpenAI clients expect theirs.
            json body = json::parse(res.body, nullptr, false);
            std::string message = body.is_object() && body.contains("error")
                                      ? body["error"].value("message", "")
                                      : "not allowed";
            std::string code =
                body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
            if (res.status == 403 && code == "permission_denied") {
              message += "; viewers may list models but not call them";
            }
            return SendOpenAiError(res, res.status, code, message);
          }
          handler(req, res, *who);
        });
}

void Server::Impl::AddOpenAiRoutes() {
  OpenAiRoute("POST", "/v1/chat/completions", Access::kMember,
              [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
                ChatCompletions(req, res, who);
              });
  OpenAiRoute("POST", "/v1/embeddings", Access::kMember,
              [this](const httplib::Request& req, httplib::Response& res, const Principal& who) {
                Embeddings(req, res, who);
              });
  OpenAiRoute("GET", "/v1/models", Access::kViewer,
              [this](const httplib::Request&, httplib::Response& res, const Principal&) {
                SendJson(res, 200, {{"object", "list"}, {"data", ModelList()}});
              });
  OpenAiRoute("GET", R"(/v1/models/([^/]+))", Access::kViewer,
              [this](const httplib::Request& req, httplib::Response& res, const Principal&) {
                for (const ordered_json& model : ModelList()) {
                  if (model["id"] == req.matches[1].str()) return SendJson(res, 200, model);
                }
                SendOpenAiError(res, 404, "model_not_found",
                                fmt::format("The model '{}' does not exist", req.matches[1].str()),
                                "model");
              });
  Route("GET", "/api/config/policy", "/api/config/policy", Access::kViewer,
        [this](const httplib::Request&, httplib::Response& res, const Principal&) {
          ordered_json profiles = ordered_json::array();
          if (deps_.policy) {
            for (const router::RouteProfile& p : deps_.policy->config().profiles) {
              profiles.push_back({{"name", p.name}, {"description", p.description}});
            }
          }
          // Tasks started over HTTP have no limits unless the request sets them.
          SendJson(res, 200,
                   {{"profiles", profiles},
                    {"default_budget",
                     {{"usd", nullptr},
                      {"tokens", nullptr},
                      {"seconds", nullptr},
                      {"tool_calls", nullptr}}},
                    {"max_steps", options_.max_steps}});
        });
}

ordered_json Server::Impl::ModelList() const {
  ordered_json data = ordered_json::array();
  auto add = [&data](const std::string& id, std::string_view kind, ordered_json extra) {
    for (const ordered_json& m : data) {
      if (m["id"] == id) return;
    }
    ordered_json model = {{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "tandem"}};
    model["tandem"] = std::move(extra);
    model["tandem"]["kind"] = kind;
    data.push_back(std::move(model));
  };
  add("auto", "profile", {{"description", "the default routing policy"}});
  if (!deps_.policy) return data;
  for (const router::RouteProfile& p : deps_.policy->config().profiles) {
    add(p.name, "profile", {{"description", p.description}});
  }
  for (const ProviderConfig& p : deps_.policy->providers()) {
    ordered_json extra = {{"provider", p.name}, {"zone", ZoneName(p.zone)}, {"model", p.model}};
    auto embedding = deps_.policy->config().embedding_models.find(p.name);
    if (embedding != deps_.policy->config().embedding_models.end()) {
      extra["embedding_model"] = embedding->second;
    }
    add(p.name, "provider", extra);
    if (!p.model.empty()) add(p.model, "provider_model", extra);
  }
  return data;
}

Status Server::Impl::ReadTaskPolicy(const json& body, agent::RunOptions& options) const {
  if (!body.contains("policy") || body["policy"].is_null()) return {};
  if (!body["policy"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument, "policy must be a route profile's name");
  }
  std::string name = body["policy"].get<std::string>();
  if (name.empty() || name == "auto") return {};
  if (!deps_.policy || !router::FindProfile(deps_.policy->config(), name)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "policy: no route profile named '{}' (GET /api/config/policy lists them)",
                     name);
  }
  options.route_profile = std::move(name);
  return {};
}

void Server::Impl::ChatCompletions(const httplib::Request& req, httplib::Response& res,
                                   const Principal& who) {
  std::optional<ModelRequest> request = ReadModelRequest(req, res, deps_.policy);
  if (!request) return;
  json& body = request->body;
  const std::string& model = request->model;
  if (body.contains("stream") && !body["stream"].is_boolean() && !body["stream"].is_null()) {
    return SendOpenAiError(res, 400, "invalid_request", "stream must be a boolean", "stream");
  }
  if (body.contains("n") && !(body["n"].is_null() || body["n"] == 1)) {
    return SendOpenAiError(res, 400, "invalid_request", "n: only one choice (n = 1) is supported",
                           "n");
  }
  if (body.contains("messages") && !body["messages"].is_array()) {
    return SendOpenAiError(res, 400, "invalid_request", "messages must be an array", "messages");
  }
  Result<engine::ParsedChatBody> parsed = engine::ParseChatCompletionBody(body);
  if (!parsed) {
    return SendOpenAiError(res, 400, "invalid_request", parsed.error().message(),
                           ParamOf(parsed.error().message()));
  }
  agent::CallContext context{.task_id = GatewaySource(who), .profile = ProfileOf(model)};
  bool refused = false;
  bool masked = false;
  if (deps_.policy) {
    // A refusal is answered as an error before any stream starts (the call below records it).
    router::Decision decision = deps_.policy->Decide(
        {.task_id = context.task_id, .profile = context.profile}, parsed->request);
    refused = decision.refused();
    masked = decision.masked();
  }
  if (!parsed->stream || refused) {
    Result<agent::ModelAnswer> answer = deps_.models->Call(parsed->request, context);
    if (!answer) return SendOpenAiError(res, answer.error());
    json out = engine::ChatCompletionJson(answer->response, CompletionId(), NowSeconds());
    out["model"] = model;
    out["tandem"] = WhereJson(*answer);
    res.set_header("X-Tandem-Provider", answer->provider);
    res.set_header("X-Tandem-Zone", std::string(ZoneName(answer->zone)));
    res.status = 200;
    res.set_content(out.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
    return;
  }
  struct StreamState {
    llm::ChatRequest request;
    agent::CallContext context;
    std::string model;
    bool include_usage = false;
    bool masked = false;  // Streamed pieces would show placeholders: send the restored answer.
    CancellationToken cancel;
  };
  auto state = std::make_shared<StreamState>();
  state->request = std::move(parsed->request);
  state->context = std::move(context);
  state->model = model;
  state->include_usage = parsed->include_usage;
  state->masked = masked;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [this, state](size_t, httplib::DataSink& sink) {
        const std::string id = CompletionId();
        const int64_t created = NowSeconds();
        auto send = [&](const json& data) {
          std::string line =
              "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
          if (!sink.write(line.data(), line.size())) state->cancel.Cancel();
        };
        auto chunk = [&](json delta, json finish) {
          send({{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", created},
                {"model", state->model},
                {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}}}});
        };
        chunk({{"role", "assistant"}, {"content", ""}}, nullptr);
        bool streamed = false;
        agent::CallContext call = state->context;
        call.cancel = &state->cancel;
        call.stream = !state->masked;
        if (call.stream) {
          call.on_text = [&](std::string_view piece) {
            streamed = true;
            chunk({{"content", piece}}, nullptr);
          };
        }
        Result<agent::ModelAnswer> answer = deps_.models->Call(state->request, call);
        if (!answer) {
          send(ErrorEvent(answer.error()));
        } else {
          const llm::Message& message = answer->response.message;
          if (!streamed && !message.content.empty()) chunk({{"content", message.content}}, nullptr);
          if (!message.tool_calls.empty()) {
            json calls = json::array();
            for (size_t i = 0; i < message.tool_calls.size(); ++i) {
              const llm::ToolCall& tool_call = message.tool_calls[i];
              calls.push_back(
                  {{"index", i},
                   {"id", tool_call.id},
                   {"type", "function"},
                   {"function", {{"name", tool_call.name}, {"arguments", tool_call.arguments}}}});
            }
            chunk({{"tool_calls", calls}}, nullptr);
          }
          json last = {{"id", id},
                       {"object", "chat.completion.chunk"},
                       {"created", created},
                       {"model", state->model},
                       {"choices",
                        {{{"index", 0},
                          {"delta", json::object()},
                          {"finish_reason", answer->response.finish_reason}}}},
                       {"tandem", WhereJson(*answer)}};
          send(last);
          if (state->include_usage) {
            send({{"id", id},
                  {"object", "chat.completion.chunk"},
                  {"created", created},
                  {"model", state->model},
                  {"choices", json::array()},
                  {"usage", UsageJson(answer->response.usage)}});
          }
        }
        static constexpr std::string_view kDone = "data: [DONE]\n\n";
        sink.write(kDone.data(), kDone.size());
        sink.done();
        return true;
      });
}

void Server::Impl::Embeddings(const httplib::Request& req, httplib::Response& res,
                              const Principal& who) {
  std::optional<ModelRequest> request = ReadModelRequest(req, res, deps_.policy);
  if (!request) return;
  json& body = request->body;
  const std::string& model = request->model;
  std::vector<std::string> texts;
  const json input = body.value("input", json());
  if (input.is_string()) {
    texts.push_back(input.get<std::string>());
  } else if (input.is_array() && !input.empty()) {
    for (const json& item : input) {
      if (!item.is_string()) {
        return SendOpenAiError(res, 400, "invalid_request",
                               "input must be a string or an array of strings (token arrays are "
                               "not supported)",
                               "input");
      }
      texts.push_back(item.get<std::string>());
    }
  } else {
    return SendOpenAiError(res, 400, "invalid_request",
                           "input must be a string or a non-empty array of strings", "input");
  }
  if (texts.size() > kMaxEmbeddingInputs) {
    return SendOpenAiError(res, 400, "invalid_request",
                           fmt::format("input has {} items; at most {} are allowed", texts.size(),
                                       kMaxEmbeddingInputs),
                           "input");
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].empty() || texts[i].size() > kMaxEmbeddingInputBytes) {
      return SendOpenAiError(res, 400, "invalid_request",
                             fmt::format("input[{}] must be a non-empty string of at most {} bytes",
                                         i, kMaxEmbeddingInputBytes),
                             fmt::format("input[{}]", i));
    }
  }
  std::string format = "float";
  if (body.contains("encoding_format") && !body["encoding_format"].is_null()) {
    format = body["encoding_format"].is_string() ? body["encoding_format"].get<std::string>() : "";
    if (format != "float" && format != "base64") {
      return SendOpenAiError(res, 400, "invalid_request",
                             "encoding_format must be \"float\" or \"base64\"", "encoding_format");
    }
  }
  Result<agent::EmbedAnswer> answer =
      deps_.models->Embed(texts, {.task_id = GatewaySource(who), .profile = ProfileOf(model)});
  if (!answer) return SendOpenAiError(res, answer.error());
  json data = json::array();
  for (size_t i = 0; i < answer->vectors.size(); ++i) {
    json embedding =
        format == "base64" ? json(Base64Floats(answer->vectors[i])) : json(answer->vectors[i]);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  res.set_header("X-Tandem-Provider", answer->provider);
  res.set_header("X-Tandem-Zone", std::string(ZoneName(answer->zone)));
  json out = {{"object", "list"},
              {"data", std::move(data)},
              {"model", answer->model},
              {"usage", {{"prompt_tokens", answer->tokens}, {"total_tokens", answer->tokens}}},
              {"tandem",
               {{"provider", answer->provider},
                {"zone", ZoneName(answer->zone)},
                {"cost_usd", answer->cost_usd ? json(*answer->cost_usd) : json()}}}};
  res.status = 200;
  res.set_content(out.dump(), "application/json");
}

}  // namespace tandem::server
