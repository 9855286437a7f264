#include "server_fixture.h"

#include <thread>

namespace tandem::server {

using nlohmann::json;

ModelEndpoint::ModelEndpoint(Script script) : script_(std::move(script)) {
  server_.server().Post(
      "/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
        int call = 0;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return open_; });
          call = calls_++;
          requests_.push_back(json::parse(req.body, nullptr, false));
        }
        json body = script_ ? script_(call) : json();
        if (body.is_null()) {
          res.status = 500;
          res.set_content("{\"error\":{\"message\":\"script exhausted\"}}", "application/json");
          return;
        }
        res.set_content(body.dump(), "application/json");
      });
  server_.Start();
}

void ModelEndpoint::CloseGate() {
  std::lock_guard lock(mu_);
  open_ = false;
}

void ModelEndpoint::OpenGate() {
  {
    std::lock_guard lock(mu_);
    open_ = true;
  }
  cv_.notify_all();
}

int ModelEndpoint::calls() {
  std::lock_guard lock(mu_);
  return calls_;
}

std::vector<json> ModelEndpoint::requests() {
  std::lock_guard lock(mu_);
  return requests_;
}

json ModelEndpoint::ToolCall(const std::string& tool, const json& arguments) {
  static std::atomic<int> ids{0};
  return {{"id", "chatcmpl-test"},
          {"object", "chat.completion"},
          {"model", "gpt-4o-mini"},
          {"choices",
           {{{"index", 0},
             {"finish_reason", "tool_calls"},
             {"message",
              {{"role", "assistant"},
               {"content", ""},
               {"tool_calls",
                {{{"id", "call_" + std::to_string(++ids)},
                  {"type", "function"},
                  {"function", {{"name", tool}, {"arguments", arguments.dump()}}}}}}}}}}},
          {"usage", {{"prompt_tokens", 100}, {"completion_tokens", 20}}}};
}

ServerTest::ServerTest(ModelEndpoint::Script script)
    : model_(script ? std::move(script) : [](int call) -> json {
        // Default script: write a report, then finish.
        if (call % 2 == 0) {
          return ModelEndpoint::ToolCall("write_file",
                                         {{"path", "report.md"}, {"content", "# Report\n"}});
        }
        return ModelEndpoint::ToolCall("finish", {{"summary", "wrote report.md"}});
      }) {}

void ServerTest::SetUp() {
  auto store = store::TaskStore::Open(dir_.path() / "home" / "tandem.db");
  ASSERT_TRUE(store) << store.error().message();
  store_ = std::move(*store);
  ConfigLoadOptions load;
  load.environment =
      std::map<std::string, std::string>{{"TANDEM_HOME", (dir_.path() / "home").string()}};
  load.working_dir = dir_.path();
  auto config = ParseConfig(
      "[routing]\ngeneric = \"cloud\"\n[[providers]]\nname = \"cloud\"\n"
      "base_url = \"" +
          model_.base_url() + "\"\nmodel = \"gpt-4o-mini\"\nzone = \"cloud\"\n",
      "tandem.toml", load);
  ASSERT_TRUE(config) << config.error().message();
  config_ = std::move(*config);
  auto prices = llm::PriceCatalog::Load(config_);
  ASSERT_TRUE(prices) << prices.error().message();
  prices_ = std::move(*prices);
  auto reference = cost::LoadCloudReference(
      config_, [this](std::string_view model) -> std::optional<cost::TokenPrices> {
        std::optional<llm::ModelPrice> price = prices_.Find(model);
        if (!price) return std::nullopt;
        return cost::TokenPrices{price->input_cost_per_token, price->output_cost_per_token};
      });
  ASSERT_TRUE(reference) << reference.error().message();
  cloud_reference_ = *reference;
  audit_ = std::make_unique<agent::StoreAuditSink>(store_.get());
  auto gateway = router::Gateway::Create(config_, {.audit = audit_.get()});
  ASSERT_TRUE(gateway) << gateway.error().message();
  gateway_ = std::move(*gateway);
  models_ = std::make_unique<agent::GatewayModelAccess>(gateway_.get(), &config_, &prices_,
                                                        store_.get(), &SystemClock());
  ASSERT_TRUE(tools::RegisterFileTools(registry_));

  options_.port = 0;
  options_.auth.pwhash_opslimit = 1;     // crypto_pwhash_OPSLIMIT_MIN: keeps tests fast.
  options_.auth.pwhash_memlimit = 8192;  // crypto_pwhash_MEMLIMIT_MIN.
  options_.auth.failed_login_delay_ms = 0;
  options_.auth.max_failed_logins = 3;
  const std::pair<const char*, Role> users[] = {{"root", Role::kAdmin},
                                                {"alice", Role::kMember},
                                                {"bob", Role::kMember},
                                                {"victor", Role::kViewer}};
  std::string* tokens[] = {&root_, &alice_, &bob_, &victor_};
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        AddUser(*store_, users[i].first, users[i].second, "correct horse battery", options_.auth));
    auto token = IssueApiToken(*store_, users[i].first);
    ASSERT_TRUE(token);
    *tokens[i] = *token;
  }
  StartServer();
}

void ServerTest::TearDown() {
  model_.OpenGate();
  StopServer();
}

void ServerTest::StartServer() {
  auto server = Server::Create({.store = store_.get(),
                                .models = models_.get(),
                                .tools = &registry_,
                                .policy = &gateway_->policy(),
                                .home = dir_.path() / "home",
                                .tools_config = &tools_config_,
                                .memory = memory_.get(),
                                .memory_options = memory_options_,
                                .config = &config_,
                                .health = &gateway_->health(),
                                .cloud_reference = cloud_reference_,
                                .clock = clock_},
                               options_);
  ASSERT_TRUE(server) << server.error().message();
  server_ = std::move(*server);
  ASSERT_TRUE(server_->Start());
}

void ServerTest::StopServer() {
  if (server_) server_->Stop();
  server_.reset();
}

namespace {

HttpResult ToResult(const httplib::Result& result) {
  if (!result) return {};
  return {result->status, result->body, result->headers};
}

httplib::Headers WithToken(httplib::Headers headers, const std::string& token) {
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  return headers;
}

}  // namespace

HttpResult ServerTest::Get(const std::string& path, const std::string& token,
                           httplib::Headers headers) {
  httplib::Client client("127.0.0.1", server_->port());
  client.set_read_timeout(30, 0);
  return ToResult(client.Get(path, WithToken(std::move(headers), token)));
}

HttpResult ServerTest::Post(const std::string& path, const std::string& token, const json& body,
                            httplib::Headers headers) {
  httplib::Client client("127.0.0.1", server_->port());
  client.set_read_timeout(30, 0);
  return ToResult(
      client.Post(path, WithToken(std::move(headers), token), body.dump(), "application/json"));
}

std::string ServerTest::StartTask(const std::string& token, const std::string& goal, bool shared) {
  HttpResult created = Post("/api/tasks", token, {{"goal", goal}, {"shared", shared}});
  EXPECT_EQ(created.status, 201) << created.body;
  return created.Json().value("id", "");
}

json ServerTest::WaitForEnd(const std::string& token, const std::string& id) {
  // A deadline only guards against a hang; no assertion depends on how long this takes.
  for (int i = 0; i < 3000; ++i) {
    HttpResult shown = Get("/api/tasks/" + id, token);
    json detail = shown.Json();
    std::string status = detail.is_object() ? detail.value("status", "") : "";
    if (status != "pending" && status != "running") return detail;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "task " << id << " did not end";
  return json();
}

}  // namespace tandem::server
