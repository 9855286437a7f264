#include "tandem/router/gateway.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>

#include "tandem/router/masking.h"

namespace tandem::router {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A clock the test moves by hand.
class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point{} +
           (mono_ - std::chrono::steady_clock::time_point{});
  }
  std::chrono::steady_clock::time_point Monotonic() const override { return mono_; }
  void SleepFor(std::chrono::milliseconds d) override { mono_ += d; }
  void Advance(std::chrono::seconds d) { mono_ += d; }

 private:
  std::chrono::steady_clock::time_point mono_{std::chrono::hours(1000)};
};

// What a scripted provider saw and will answer.
struct Script {
  std::vector<llm::ChatRequest> seen;
  std::deque<Result<llm::ChatResponse>> answers;  // Empty: answer "ok from <name>".
  std::optional<ErrorCode> always_fail;
};

class ScriptedModel final : public llm::ChatModel {
 public:
  ScriptedModel(std::string name, Script& script) : name_(std::move(name)), script_(script) {}
  Result<llm::ChatResponse> Chat(const llm::ChatRequest& request,
                                 const llm::CallOptions&) override {
    script_.seen.push_back(request);
    if (script_.always_fail) return MakeError(*script_.always_fail, "{} is down", name_);
    if (!script_.answers.empty()) {
      Result<llm::ChatResponse> answer = std::move(script_.answers.front());
      script_.answers.pop_front();
      return answer;
    }
    llm::ChatResponse response;
    response.message = {llm::Role::kAssistant, "ok from " + name_, {}, {}};
    response.model = name_;
    return response;
  }
  const std::string& model_name() const override { return name_; }

 private:
  std::string name_;
  Script& script_;
};

constexpr char kConfig[] = R"(
[routing]
generic = "cloud"
keywords = ["confidential"]
mask = ["email"]
[routing.health]
failure_threshold = 2
cooldown_s = 30

[[providers]]
name = "edge"
base_url = "http://127.0.0.1:9/v1"
zone = "local"

[[providers]]
name = "cloud"
base_url = "https://api.example.com/v1"
zone = "cloud"
)";

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConfigLoadOptions options;
    options.environment = std::map<std::string, std::string>{};
    Result<Config> config = ParseConfig(kConfig, "tandem.toml", options);
    ASSERT_TRUE(config) << config.error().message();
    GatewayOptions gateway_options;
    gateway_options.clock = &clock_;
    gateway_options.audit = &audit_;
    gateway_options.model_factory =
        [this](const Config&, const ProviderConfig& p) -> Result<std::unique_ptr<llm::ChatModel>> {
      return std::make_unique<ScriptedModel>(p.name, scripts_[p.name]);
    };
    Result<std::unique_ptr<Gateway>> gateway = Gateway::Create(*config, gateway_options);
    ASSERT_TRUE(gateway) << gateway.error().message();
    gateway_ = std::move(*gateway);
  }
  static llm::ChatRequest Ask(std::string text) {
    llm::ChatRequest request;
    request.messages = {llm::Message::User(std::move(text))};
    return request;
  }

  FakeClock clock_;
  MemoryAuditSink audit_;
  std::map<std::string, Script> scripts_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayTest, OrdinaryTextGoesToCloudSensitiveTextStaysLocal) {
  Result<GatewayResponse> ordinary = gateway_->Chat({}, Ask("Explain TCP slow start"));
  ASSERT_TRUE(ordinary) << ordinary.error().message();
  EXPECT_EQ(ordinary->decision.provider(), "cloud");
  EXPECT_EQ(ordinary->response.message.content, "ok from cloud");

  Result<GatewayResponse> secret = gateway_->Chat({}, Ask("Confidential: Q3 numbers"));
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->decision.route(), Route::kLocal);
  EXPECT_EQ(scripts_["cloud"].seen.size(), 1u);
  EXPECT_EQ(scripts_["edge"].seen.size(), 1u);
  EXPECT_EQ(scripts_["edge"].seen[0].messages[0].content, "Confidential: Q3 numbers");
}

TEST_F(GatewayTest, FailsClosedWhenTheLocalProviderIsDown) {
  scripts_["edge"].always_fail = ErrorCode::kUnavailable;
  Result<GatewayResponse> answer = gateway_->Chat({.task_id = "t9"}, Ask("SSN 123-45-6789"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(answer.error().message(), HasSubstr("no healthy provider in the local zone"));
  EXPECT_THAT(answer.error().message(), HasSubstr("edge"));
  EXPECT_THAT(scripts_["cloud"].seen, IsEmpty());
  std::vector<AuditRecord> records = audit_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].outcome, "unavailable");
  EXPECT_EQ(records[0].task_id, "t9");
  EXPECT_THAT(records[0].attempted, ElementsAre("edge"));
}

TEST_F(GatewayTest, TaintedTaskNeverFallsBackToCloud) {
  TaintState taint;
  ASSERT_TRUE(gateway_->policy().ObserveToolOutput(taint, "web_fetch", "mail a@example.org"));
  scripts_["edge"].always_fail = ErrorCode::kDeadlineExceeded;
  for (int i = 0; i < 4; ++i) {
    Result<GatewayResponse> answer = gateway_->Chat({.taint = &taint}, Ask("harmless"));
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().code(), ErrorCode::kUnavailable);
  }
  EXPECT_THAT(scripts_["cloud"].seen, IsEmpty());
  // The breaker opened after two failures: later calls were not even attempted.
  EXPECT_EQ(scripts_["edge"].seen.size(), 2u);
}

TEST_F(GatewayTest, OrdinaryWorkMayFallBackFromCloudToLocal) {
  scripts_["cloud"].always_fail = ErrorCode::kUnavailable;
  Result<GatewayResponse> answer = gateway_->Chat({}, Ask("Explain TCP slow start"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->decision.provider(), "edge");
  EXPECT_EQ(answer->decision.route(), Route::kLocal);
  EXPECT_THAT(audit_.records()[0].attempted, ElementsAre("cloud", "edge"));
}

TEST_F(GatewayTest, CircuitOpensThenAdmitsATrialAfterCooldown) {
  scripts_["cloud"].always_fail = ErrorCode::kUnavailable;
  ASSERT_TRUE(gateway_->Chat({}, Ask("one")));
  ASSERT_TRUE(gateway_->Chat({}, Ask("two")));
  EXPECT_EQ(scripts_["cloud"].seen.size(), 2u);
  EXPECT_THAT(gateway_->health().Describe("cloud"), HasSubstr("open (retry in 30s)"));
  EXPECT_EQ(gateway_->Decide({}, Ask("three")).provider(), "edge");
  ASSERT_TRUE(gateway_->Chat({}, Ask("three")));
  EXPECT_EQ(scripts_["cloud"].seen.size(), 2u);  // Skipped while open.

  clock_.Advance(std::chrono::seconds(31));
  scripts_["cloud"].always_fail.reset();
  Result<GatewayResponse> trial = gateway_->Chat({}, Ask("four"));
  ASSERT_TRUE(trial);
  EXPECT_EQ(trial->decision.provider(), "cloud");
  EXPECT_EQ(gateway_->health().Describe("cloud"), "closed");
}

TEST_F(GatewayTest, FailedTrialReopensTheCircuit) {
  scripts_["cloud"].always_fail = ErrorCode::kUnavailable;
  ASSERT_TRUE(gateway_->Chat({}, Ask("one")));
  ASSERT_TRUE(gateway_->Chat({}, Ask("two")));
  clock_.Advance(std::chrono::seconds(31));
  ASSERT_TRUE(gateway_->Chat({}, Ask("three")));  // Trial fails, edge answers.
  EXPECT_EQ(scripts_["cloud"].seen.size(), 3u);
  EXPECT_THAT(gateway_->health().Describe("cloud"), HasSubstr("open"));
}

TEST_F(GatewayTest, MaskedCallRoundTripsPlaceholders) {
  llm::ChatResponse reply;
  reply.message = {llm::Role::kAssistant, "Sent to <EMAIL_1>; cc <EMAIL_2>.", {}, {}};
  scripts_["cloud"].answers.push_back(reply);
  Result<GatewayResponse> answer =
      gateway_->Chat({}, Ask("Write to bob@example.com and amy@example.org, then bob@example.com"));
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_TRUE(answer->decision.masked());
  ASSERT_EQ(scripts_["cloud"].seen.size(), 1u);
  EXPECT_EQ(scripts_["cloud"].seen[0].messages[0].content,
            "Write to <EMAIL_1> and <EMAIL_2>, then <EMAIL_1>");
  EXPECT_EQ(answer->response.message.content, "Sent to bob@example.com; cc amy@example.org.");
}

TEST_F(GatewayTest, MaskerMergesOverlapsAndLeavesUnknownPlaceholders) {
  Masker masker;
  llm::ChatRequest request = Ask("abc 0123456789 xyz");
  llm::ChatRequest masked =
      masker.Mask(request, {{EntityType::kPhone, 4, 10, 0}, {EntityType::kSecret, 8, 14, 0}});
  EXPECT_EQ(masked.messages[0].content, "abc <PHONE_1> xyz");
  EXPECT_EQ(masker.Restore("<PHONE_1> <PHONE_2> <x"), "0123456789 <PHONE_2> <x");
}

TEST_F(GatewayTest, RefusalCallsNoModel) {
  ConfigLoadOptions options;
  options.environment = std::map<std::string, std::string>{};
  Result<Config> config = ParseConfig(
      "[routing]\ngeneric = \"cloud\"\n[[providers]]\nname = \"cloud\"\n"
      "base_url = \"https://api.example.com/v1\"\nzone = \"cloud\"\n",
      "tandem.toml", options);
  ASSERT_TRUE(config);
  Script script;
  GatewayOptions gateway_options;
  gateway_options.audit = &audit_;
  gateway_options.model_factory =
      [&](const Config&, const ProviderConfig& p) -> Result<std::unique_ptr<llm::ChatModel>> {
    return std::make_unique<ScriptedModel>(p.name, script);
  };
  auto gateway = Gateway::Create(*config, gateway_options);
  ASSERT_TRUE(gateway);
  Result<GatewayResponse> answer = (*gateway)->Chat({}, Ask("card 4111 1111 1111 1111"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_THAT(answer.error().message(), HasSubstr("no local provider"));
  EXPECT_THAT(script.seen, IsEmpty());
  EXPECT_EQ(audit_.records().at(0).outcome, "refused");
  EXPECT_EQ(audit_.records().at(0).route, "deny");
}

TEST_F(GatewayTest, AuditRecordsOffsetsButNeverValues) {
  ASSERT_TRUE(gateway_->Chat({.task_id = "t1"}, Ask("Confidential: call 415-555-2671")));
  std::vector<AuditRecord> records = audit_.records();
  ASSERT_EQ(records.size(), 1u);
  std::string json = AuditRecordToJson(records[0]).dump();
  EXPECT_THAT(json, Not(HasSubstr("415-555-2671")));
  EXPECT_THAT(json, Not(HasSubstr("Confidential")));
  EXPECT_THAT(json, HasSubstr(R"({"end":31,"part":0,"start":19,"type":"phone"})"));
  EXPECT_EQ(records[0].route, "local");
  EXPECT_EQ(records[0].outcome, "ok");
}

TEST_F(GatewayTest, DecisionIsBoundToItsPayloadAndTaint) {
  Decision decision = gateway_->Decide({}, Ask("Explain TCP slow start"));
  Result<GatewayResponse> other = gateway_->Send(decision, {}, Ask("Confidential plan"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kFailedPrecondition);

  TaintState taint;
  ASSERT_TRUE(gateway_->policy().ObserveGoal(taint, "for 13812345678"));
  Result<GatewayResponse> stale =
      gateway_->Send(decision, {.taint = &taint}, Ask("Explain TCP slow start"));
  ASSERT_FALSE(stale);
  EXPECT_THAT(stale.error().message(), HasSubstr("tainted after"));
  EXPECT_THAT(scripts_["cloud"].seen, IsEmpty());
}

TEST_F(GatewayTest, NonRetryableErrorsAreReturnedWithoutFallback) {
  scripts_["cloud"].answers.push_back(MakeError(ErrorCode::kInvalidArgument, "bad request"));
  Result<GatewayResponse> answer = gateway_->Chat({}, Ask("Explain TCP slow start"));
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(answer.error().message(), HasSubstr("provider 'cloud'"));
  EXPECT_THAT(scripts_["edge"].seen, IsEmpty());
}

TEST(GatewayCreateTest, EngineProvidersNeedAFactory) {
  ConfigLoadOptions options;
  options.environment = std::map<std::string, std::string>{};
  Result<Config> config =
      ParseConfig("[[providers]]\nname = \"tiny\"\nkind = \"engine\"\nmodel_path = \"tiny.gguf\"\n",
                  "tandem.toml", options);
  ASSERT_TRUE(config) << config.error().message();
  Result<std::unique_ptr<Gateway>> gateway = Gateway::Create(*config);
  ASSERT_FALSE(gateway);
  EXPECT_THAT(gateway.error().message(), HasSubstr("provider 'tiny'"));
  EXPECT_THAT(gateway.error().message(), HasSubstr("embedded engine"));
  GatewayOptions explain_only;
  explain_only.connect = false;
  Result<std::unique_ptr<Gateway>> explain = Gateway::Create(*config, explain_only);
  ASSERT_TRUE(explain);
  EXPECT_EQ((*explain)->Decide({}, {}).provider(), "tiny");
}

}  // namespace
}  // namespace tandem::router
