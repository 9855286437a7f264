// The OpenAI-compatible gateway over loopback: a real server, a real store, a local and a cloud
// scripted model endpoint, and the router in between.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sodium.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "gateway_config.h"
#include "support/scripted_model_server.h"
#include "support/temp_dir.h"
#include "tandem/agent/model_access.h"
#include "tandem/llm/price_catalog.h"
#include "tandem/memory/openai_embedder.h"
#include "tandem/router/gateway.h"
#include "tandem/server/server.h"
#include "tandem/store/task_store.h"
#include "tandem/tools/file_tools.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using testing::ScriptedModelServer;

struct Reply {
  int status = 0;
  std::string body;
  httplib::Headers headers;
  json Json() const { return json::parse(body, nullptr, false); }
};

class OpenAiGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::TaskStore::Open(dir_.path() / "home" / "tandem.db");
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    ConfigLoadOptions load;
    load.environment =
        std::map<std::string, std::string>{{"TANDEM_HOME", (dir_.path() / "home").string()}};
    load.working_dir = dir_.path();
    std::string toml = GatewayTestConfig(local_.base_url(), cloud_.base_url(), R"(
[[routing.profiles]]
name = "cheap"
description = "Cheapest model first"
generic = "cheapest"
)");
    auto config = ParseConfig(toml, "tandem.toml", load);
    ASSERT_TRUE(config) << config.error().message();
    config_ = std::move(*config);
    auto prices = llm::PriceCatalog::Load(config_);
    ASSERT_TRUE(prices) << prices.error().message();
    prices_ = std::move(*prices);
    audit_ = std::make_unique<agent::StoreAuditSink>(store_.get());
    auto gateway = router::Gateway::Create(
        config_, {.audit = audit_.get(),
                  .embedder_factory = [](const Config& cfg, const ProviderConfig& provider,
                                         const std::string& model) {
                    return memory::MakeProviderEmbedder(cfg, provider, model);
                  }});
    ASSERT_TRUE(gateway) << gateway.error().message();
    gateway_ = std::move(*gateway);
    models_ = std::make_unique<agent::GatewayModelAccess>(gateway_.get(), &config_, &prices_,
                                                          store_.get(), &SystemClock());
    ASSERT_TRUE(tools::RegisterFileTools(registry_));
    ServerOptions options;
    options.port = 0;
    options.max_body_bytes = 64 * 1024;
    options.auth.pwhash_opslimit = 1;
    options.auth.pwhash_memlimit = 8192;
    options.auth.failed_login_delay_ms = 0;
    for (auto [name, role, token] : {std::tuple{"alice", Role::kMember, &alice_},
                                     std::tuple{"victor", Role::kViewer, &victor_}}) {
      ASSERT_TRUE(AddUser(*store_, name, role, "correct horse battery", options.auth));
      auto issued = IssueApiToken(*store_, name);
      ASSERT_TRUE(issued);
      *token = *issued;
    }
    auto server = Server::Create({.store = store_.get(),
                                  .models = models_.get(),
                                  .tools = &registry_,
                                  .policy = &gateway_->policy(),
                                  .home = dir_.path() / "home"},
                                 options);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Start());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  Reply Send(const std::string& method, const std::string& path, const std::string& token,
             const std::string& body = "") {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(30, 0);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result result = method == "GET" ? client.Get(path, headers)
                                             : client.Post(path, headers, body, "application/json");
    if (!result) return {};
    return {result->status, result->body, result->headers};
  }
  Reply Post(const std::string& path, const json& body, const std::string& token = "") {
    return Send("POST", path, token.empty() ? alice_ : token, body.dump());
  }
  Reply Chat(const std::string& model, const std::string& text, json extra = json::object()) {
    json body = {{"model", model}, {"messages", {{{"role", "user"}, {"content", text}}}}};
    body.update(extra);
    return Post("/v1/chat/completions", body);
  }

  std::vector<store::LedgerRow> Ledger() {
    auto rows = store_->ListLedger({.task_id = "gateway:alice"});
    EXPECT_TRUE(rows);
    return rows ? *rows : std::vector<store::LedgerRow>{};
  }
  std::vector<json> Audit() {
    auto rows = store_->ListAudit("gateway:alice");
    EXPECT_TRUE(rows);
    std::vector<json> out;
    if (rows) {
      for (const store::AuditRecord& r : *rows)
        out.push_back(json::parse(r.payload, nullptr, false));
    }
    return out;
  }

  // Expects an OpenAI-shaped error with `status`, naming `param` when given.
  static void ExpectOpenAiError(const Reply& reply, int status, const std::string& param = "") {
    EXPECT_EQ(reply.status, status) << reply.body;
    json body = reply.Json();
    ASSERT_TRUE(body.is_object() && body.contains("error")) << reply.body;
    EXPECT_TRUE(body["error"]["message"].is_string()) << reply.body;
    EXPECT_TRUE(body["error"]["type"].is_string()) << reply.body;
    EXPECT_TRUE(body["error"].contains("code")) << reply.body;
    if (!param.empty()) {
      const json& named = body["error"]["param"];
      EXPECT_EQ(named.is_string() ? named.get<std::string>() : "(none)", param) << reply.body;
    }
  }

  testing::TempDir dir_;
  ScriptedModelServer local_;
  ScriptedModelServer cloud_;
  std::unique_ptr<store::TaskStore> store_;
  Config config_;
  llm::PriceCatalog prices_;
  std::unique_ptr<agent::StoreAuditSink> audit_;
  std::unique_ptr<router::Gateway> gateway_;
  std::unique_ptr<agent::ModelAccess> models_;
  tools::Registry registry_;
  std::unique_ptr<Server> server_;
  std::string alice_, victor_;
};

// The data lines of an SSE body, without "data: ".
std::vector<std::string> DataLines(const std::string& body) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(at, end - at);
    if (line.starts_with("data: ")) out.push_back(line.substr(6));
    at = end + 1;
  }
  return out;
}

TEST_F(OpenAiGatewayTest, NonStreamedCompletionIsRoutedAndRecorded) {
  cloud_.PushText("Hello from the cloud");
  Reply reply = Chat("auto", "Say hello");
  ASSERT_EQ(reply.status, 200) << reply.body;
  json body = reply.Json();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "auto");
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hello from the cloud");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["total_tokens"], 15);
  EXPECT_EQ(body["tandem"]["zone"], "cloud");
  EXPECT_EQ(body["tandem"]["provider"], "cloud");
  EXPECT_TRUE(body["tandem"]["cost_usd"].is_number());  // gpt-4o-mini has a catalog price.
  EXPECT_TRUE(local_.requests().empty());

  std::vector<store::LedgerRow> ledger = Ledger();
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger[0].provider, "cloud");
  EXPECT_EQ(ledger[0].outcome, "ok");
  EXPECT_EQ(ledger[0].prompt_tokens, 10);
  EXPECT_GT(ledger[0].cost_usd.value_or(0), 0);
  std::vector<json> audit = Audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["outcome"], "ok");
  EXPECT_EQ(audit[0]["route"], "cloud");
}

TEST_F(OpenAiGatewayTest, ProfileAndProviderModelSelectTheRoute) {
  local_.PushText("kept at home");
  Reply reply = Chat("private", "Say hello");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["tandem"]["zone"], "local");
  EXPECT_EQ(reply.Json()["model"], "private");
  ASSERT_EQ(local_.requests().size(), 1u);
  EXPECT_EQ(local_.requests()[0]["model"], "local-model");

  local_.PushText("named directly");
  reply = Chat("local-model", "Say hello");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["tandem"]["provider"], "local");

  // "cheap": local models count as free, so the local one comes first.
  local_.PushText("cheapest");
  reply = Chat("cheap", "Say hello");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["tandem"]["provider"], "local");
  EXPECT_TRUE(cloud_.requests().empty());
  std::vector<json> audit = Audit();
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_NE(audit[0]["rules"].dump().find("profile:private"), std::string::npos) << audit[0];
}

TEST_F(OpenAiGatewayTest, SensitiveContentStaysLocalOrIsRefused) {
  local_.PushText("noted locally");
  Reply reply = Chat("auto", "My SSN is 123-45-6789, file my taxes");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["tandem"]["zone"], "local");
  EXPECT_TRUE(cloud_.requests().empty());

  // Asking for the cloud model by name with sensitive content: refused, never sent.
  reply = Chat("gpt-4o-mini", "My SSN is 123-45-6789, file my taxes");
  ExpectOpenAiError(reply, 403);
  json error = reply.Json()["error"];
  EXPECT_EQ(error["type"], "permission_error");
  EXPECT_EQ(error["code"], "refused_by_policy");
  std::string message = error["message"];
  EXPECT_NE(message.find("refused by routing policy"), std::string::npos) << message;
  EXPECT_NE(message.find("not allowed for this call"), std::string::npos) << message;
  EXPECT_EQ(message.find("123-45-6789"), std::string::npos) << message;

  // The same when streaming: the refusal is a JSON error, not a stream.
  reply = Chat("gpt-4o-mini", "My SSN is 123-45-6789", {{"stream", true}});
  ExpectOpenAiError(reply, 403);
  EXPECT_TRUE(cloud_.requests().empty());

  std::vector<store::LedgerRow> ledger = Ledger();
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[0].zone, "local");
  EXPECT_EQ(ledger[1].outcome, "permission_denied");
  std::vector<json> audit = Audit();
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[1]["outcome"], "refused");
  EXPECT_EQ(audit[2]["outcome"], "refused");
}

TEST_F(OpenAiGatewayTest, StreamedCompletionUsesOpenAiChunks) {
  cloud_.PushText("one two three");
  Reply reply =
      Chat("auto", "Count", {{"stream", true}, {"stream_options", {{"include_usage", true}}}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.headers.find("Content-Type")->second.find("text/event-stream"),
            std::string::npos);
  std::vector<std::string> lines = DataLines(reply.body);
  ASSERT_GE(lines.size(), 4u) << reply.body;
  EXPECT_EQ(lines.back(), "[DONE]");
  std::string text;
  std::string finish;
  json usage;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    json chunk = json::parse(lines[i], nullptr, false);
    ASSERT_TRUE(chunk.is_object()) << lines[i];
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (chunk.contains("usage")) usage = chunk["usage"];
    if (chunk["choices"].empty()) continue;
    const json& choice = chunk["choices"][0];
    text += choice["delta"].value("content", "");
    if (choice["finish_reason"].is_string()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(text, "one two three");
  EXPECT_EQ(finish, "stop");
  EXPECT_EQ(usage["total_tokens"], 15);
  ASSERT_EQ(cloud_.requests().size(), 1u);
  EXPECT_EQ(cloud_.requests()[0]["stream"], true);  // Streamed from the provider, too.
  ASSERT_EQ(Ledger().size(), 1u);
  EXPECT_EQ(Ledger()[0].outcome, "ok");
}

TEST_F(OpenAiGatewayTest, ToolsPassThrough) {
  local_.PushToolCall("get_weather", {{"city", "Paris"}});
  json tools = {
      {{"type", "function"},
       {"function",
        {{"name", "get_weather"},
         {"description", "Weather of a city"},
         {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}};
  Reply reply = Chat("private", "Weather in Paris?", {{"tools", tools}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  json message = reply.Json()["choices"][0]["message"];
  ASSERT_EQ(message["tool_calls"].size(), 1u) << reply.body;
  EXPECT_EQ(message["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(message["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            json({{"city", "Paris"}}));
  EXPECT_EQ(reply.Json()["choices"][0]["finish_reason"], "tool_calls");
  ASSERT_EQ(local_.requests().size(), 1u);
  EXPECT_EQ(local_.requests()[0]["tools"][0]["function"]["name"], "get_weather");

  local_.PushToolCall("get_weather", {{"city", "Oslo"}});
  reply = Chat("private", "Weather in Oslo?", {{"tools", tools}, {"stream", true}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("\"tool_calls\""), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find("Oslo"), std::string::npos) << reply.body;
}

TEST_F(OpenAiGatewayTest, EmbeddingsAreRoutedLocalFirstForSensitiveText) {
  Reply reply = Post("/v1/embeddings", {{"model", "auto"}, {"input", {"hello", "world!"}}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  json body = reply.Json();
  EXPECT_EQ(body["object"], "list");
  ASSERT_EQ(body["data"].size(), 2u);
  EXPECT_EQ(body["data"][1]["index"], 1);
  EXPECT_EQ(body["data"][1]["embedding"], json(ScriptedModelServer::EmbeddingOf("world!")));
  EXPECT_EQ(body["model"], "text-embedding-3-small");
  EXPECT_EQ(body["tandem"]["zone"], "cloud");  // Generic work goes to the cloud first.

  reply = Post("/v1/embeddings", {{"model", "auto"}, {"input", "mail me at bob@example.com"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["tandem"]["zone"], "local");
  EXPECT_EQ(reply.Json()["model"], "local-embed");
  ASSERT_EQ(local_.requests().size(), 1u);
  EXPECT_EQ(cloud_.requests().size(), 1u);  // Only the first, non-sensitive call.

  // base64: little-endian float32, as the official clients ask for by default.
  reply = Post("/v1/embeddings",
               {{"model", "private"}, {"input", "abc"}, {"encoding_format", "base64"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  std::string encoded = reply.Json()["data"][0]["embedding"];
  std::vector<float> decoded(3);
  size_t size = 0;
  ASSERT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()),
                              decoded.size() * sizeof(float), encoded.data(), encoded.size(),
                              nullptr, &size, nullptr, sodium_base64_VARIANT_ORIGINAL),
            0);
  EXPECT_EQ(size, 3 * sizeof(float));
  EXPECT_EQ(decoded, ScriptedModelServer::EmbeddingOf("abc"));

  std::vector<store::LedgerRow> ledger = Ledger();
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[1].model, "local-embed");
  EXPECT_EQ(ledger[1].zone, "local");
  EXPECT_GT(ledger[1].prompt_tokens, 0);
  EXPECT_NE(Audit()[0]["rules"].dump().find("embeddings"), std::string::npos);
}

TEST_F(OpenAiGatewayTest, ModelsListProfilesAndProviders) {
  Reply reply = Send("GET", "/v1/models", victor_);  // Viewers may list.
  ASSERT_EQ(reply.status, 200) << reply.body;
  std::vector<std::string> ids;
  json models = reply.Json();
  for (const json& m : models["data"]) {
    EXPECT_EQ(m["object"], "model");
    ids.push_back(m["id"]);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"auto", "private", "cheap", "local", "local-model",
                                           "cloud", "gpt-4o-mini"}));
  reply = Send("GET", "/v1/models/private", alice_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.Json()["tandem"]["description"], "Local models only, whatever the content");
  ExpectOpenAiError(Send("GET", "/v1/models/nope", alice_), 404, "model");
}

TEST_F(OpenAiGatewayTest, BadInputsAreOpenAiErrorsNamingTheField) {
  ExpectOpenAiError(Send("POST", "/v1/chat/completions", alice_, "{not json"), 400);
  ExpectOpenAiError(Post("/v1/chat/completions", {{"messages", json::array()}}), 400, "model");
  ExpectOpenAiError(Post("/v1/chat/completions", {{"model", 7}}), 400, "model");
  ExpectOpenAiError(Chat("no-such-model", "hi"), 404, "model");
  ExpectOpenAiError(Post("/v1/chat/completions", {{"model", "auto"}, {"messages", "hi"}}), 400,
                    "messages");
  ExpectOpenAiError(
      Post("/v1/chat/completions", {{"model", "auto"}, {"messages", {{{"content", "x"}}}}}), 400,
      "messages[0].role");
  ExpectOpenAiError(Chat("auto", "hi", {{"n", 3}}), 400, "n");
  ExpectOpenAiError(Chat("auto", "hi", {{"stream", "yes"}}), 400, "stream");
  ExpectOpenAiError(Post("/v1/embeddings", {{"model", "auto"}, {"input", {1, 2}}}), 400, "input");
  ExpectOpenAiError(Post("/v1/embeddings", {{"model", "auto"}}), 400, "input");
  ExpectOpenAiError(Post("/v1/embeddings", {{"model", "auto"}, {"input", {"a", ""}}}), 400,
                    "input[1]");
  ExpectOpenAiError(
      Post("/v1/embeddings", {{"model", "auto"}, {"input", "a"}, {"encoding_format", "hex"}}), 400,
      "encoding_format");
  Reply big = Chat("auto", std::string(100 * 1024, 'x'));
  ExpectOpenAiError(big, 413);
  EXPECT_TRUE(local_.requests().empty());
  EXPECT_TRUE(cloud_.requests().empty());
  EXPECT_TRUE(Ledger().empty());
}

TEST_F(OpenAiGatewayTest, AuthFailuresAreOpenAiErrors) {
  json body = {{"model", "auto"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  Reply reply = Send("POST", "/v1/chat/completions", "", body.dump());
  ExpectOpenAiError(reply, 401);
  EXPECT_EQ(reply.Json()["error"]["type"], "authentication_error");
  ExpectOpenAiError(Send("POST", "/v1/chat/completions", "tdm_not_a_token", body.dump()), 401);
  ExpectOpenAiError(Send("GET", "/v1/models", ""), 401);
  reply = Send("POST", "/v1/chat/completions", victor_, body.dump());
  ExpectOpenAiError(reply, 403);
  EXPECT_NE(reply.Json()["error"]["message"].get<std::string>().find("viewer"), std::string::npos);
  ExpectOpenAiError(Send("POST", "/v1/embeddings", victor_, R"({"model":"auto","input":"x"})"),
                    403);
  EXPECT_TRUE(cloud_.requests().empty());
}

TEST_F(OpenAiGatewayTest, TasksTakeARouteProfile) {
  Reply policy = Send("GET", "/api/config/policy", victor_);
  ASSERT_EQ(policy.status, 200) << policy.body;
  json body = policy.Json();
  ASSERT_EQ(body["profiles"].size(), 2u);
  EXPECT_EQ(body["profiles"][0]["name"], "private");
  EXPECT_EQ(body["profiles"][1]["description"], "Cheapest model first");
  EXPECT_TRUE(body["default_budget"].contains("usd"));
  EXPECT_GT(body["max_steps"].get<int>(), 0);

  Reply bad = Post("/api/tasks", {{"goal", "x"}, {"policy", "nope"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("policy"), std::string::npos);

  local_.PushToolCall("finish", {{"summary", "done at home"}});
  Reply created = Post("/api/tasks", {{"goal", "Say hello"}, {"policy", "private"}});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = created.Json()["id"];
  std::string status;
  for (int i = 0; i < 1500 && (status.empty() || status == "pending" || status == "running"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    status = Send("GET", "/api/tasks/" + id, alice_).Json().value("status", "");
  }
  EXPECT_EQ(status, "succeeded");
  EXPECT_EQ(local_.requests().size(), 1u);
  EXPECT_TRUE(cloud_.requests().empty());  // generic = "cloud", but the profile keeps it local.
  auto task = store_->GetTask(id);
  ASSERT_TRUE(task && *task);
  EXPECT_NE((*task)->settings.find("\"policy\":\"private\""), std::string::npos)
      << (*task)->settings;
}

}  // namespace
}  // namespace tandem::server
