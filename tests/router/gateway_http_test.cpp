// The gateway against real OpenAI-compatible HTTP servers on loopback: a local provider and a
// cloud provider, each a cpp-httplib server that counts and records the requests it receives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "tandem/router/gateway.h"

namespace tandem::router {
namespace {

using ::testing::HasSubstr;

// An OpenAI-compatible chat endpoint answering "answer from NAME".
class FakeProvider {
 public:
  explicit FakeProvider(std::string name) : name_(std::move(name)) {
    server_.Post(
        "/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
          ++requests_;
          {
            std::lock_guard lock(mu_);
            last_body_ = req.body;
          }
          nlohmann::json answer = {
              {"model", name_},
              {"choices",
               {{{"index", 0},
                 {"finish_reason", "stop"},
                 {"message", {{"role", "assistant"}, {"content", "answer from " + name_}}}}}},
              {"usage", {{"prompt_tokens", 5}, {"completion_tokens", 3}}}};
          res.set_content(answer.dump(), "application/json");
        });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeProvider() { Stop(); }
  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string base_url() const { return fmt::format("http://127.0.0.1:{}/v1", port_); }
  int requests() const { return requests_.load(); }
  std::string last_body() const {
    std::lock_guard lock(mu_);
    return last_body_;
  }

 private:
  std::string name_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::string last_body_;
};

TEST(GatewayHttpTest, LocalDownFailsClosedWithoutTouchingTheCloud) {
  FakeProvider local("local-model");
  FakeProvider cloud("cloud-model");
  std::string toml = fmt::format(R"(
[routing]
generic = "cloud"
keywords = ["合同"]
[routing.health]
failure_threshold = 1
cooldown_s = 60

[[providers]]
name = "edge"
base_url = "{}"
model = "local-model"
zone = "local"
timeout_connect_s = 2
timeout_total_s = 5

[[providers]]
name = "cloud"
base_url = "{}"
model = "cloud-model"
zone = "cloud"
)",
                                 local.base_url(), cloud.base_url());
  ConfigLoadOptions options;
  options.environment = std::map<std::string, std::string>{};
  Result<Config> config = ParseConfig(toml, "tandem.toml", options);
  ASSERT_TRUE(config) << config.error().message();
  MemoryAuditSink audit;
  Result<std::unique_ptr<Gateway>> gateway = Gateway::Create(*config, {.audit = &audit});
  ASSERT_TRUE(gateway) << gateway.error().message();
  auto ask = [](std::string text) {
    llm::ChatRequest request;
    request.messages = {llm::Message::User(std::move(text))};
    return request;
  };

  Result<GatewayResponse> ordinary = (*gateway)->Chat({}, ask("What is a B-tree?"));
  ASSERT_TRUE(ordinary) << ordinary.error().message();
  EXPECT_EQ(ordinary->response.message.content, "answer from cloud-model");
  EXPECT_EQ(cloud.requests(), 1);

  Result<GatewayResponse> contract = (*gateway)->Chat({}, ask("请审阅这份合同的付款条款"));
  ASSERT_TRUE(contract) << contract.error().message();
  EXPECT_EQ(contract->response.message.content, "answer from local-model");
  EXPECT_EQ(local.requests(), 1);
  EXPECT_THAT(local.last_body(), HasSubstr("local-model"));

  local.Stop();
  Result<GatewayResponse> down = (*gateway)->Chat({}, ask("合同编号 HT-2024-001"));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(down.error().message(), HasSubstr("local zone"));
  EXPECT_EQ(cloud.requests(), 1);  // No cross-zone fallback.

  // The breaker is open now: the next sensitive call fails closed without a connection attempt.
  Result<GatewayResponse> again = (*gateway)->Chat({}, ask("合同 again"));
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message(), HasSubstr("open (retry in"));
  EXPECT_EQ(cloud.requests(), 1);
  EXPECT_EQ(audit.records().back().outcome, "unavailable");
}

}  // namespace
}  // namespace tandem::router
