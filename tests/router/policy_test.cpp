#include "tandem/router/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tandem/router/glob.h"

namespace tandem::router {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kProviders[] = R"(
[[providers]]
name = "edge"
base_url = "http://127.0.0.1:8080/v1"
model = "qwen2.5-7b-instruct"
zone = "local"

[[providers]]
name = "edge-big"
base_url = "http://127.0.0.1:8081/v1"
model = "qwen2.5-72b-instruct"
zone = "local"

[[providers]]
name = "cloud"
base_url = "https://api.openai.com/v1"
model = "gpt-4o-mini"
zone = "cloud"

[[providers]]
name = "cloud-big"
base_url = "https://api.openai.com/v1"
model = "gpt-4o"
zone = "cloud"
)";

class PolicyTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Policy>> Make(const std::string& routing) {
    ConfigLoadOptions options;
    options.environment = std::map<std::string, std::string>{};
    Result<Config> config = ParseConfig(std::string(kProviders) + routing, "tandem.toml", options);
    if (!config) return std::unexpected(config.error());
    return Policy::Create(*config);
  }
  std::unique_ptr<Policy> MakeOk(const std::string& routing) {
    Result<std::unique_ptr<Policy>> policy = Make(routing);
    EXPECT_TRUE(policy) << policy.error().message();
    return policy ? std::move(*policy) : nullptr;
  }
  static llm::ChatRequest Ask(std::string text) {
    llm::ChatRequest request;
    request.messages = {llm::Message::System("You are helpful."),
                        llm::Message::User(std::move(text))};
    return request;
  }
};

TEST_F(PolicyTest, SensitiveTextGoesLocalOrdinaryTextFollowsGeneric) {
  auto policy = MakeOk("[routing]\ngeneric = \"cloud\"\nkeywords = [\"机密\"]\n");
  Decision ordinary = policy->Decide({}, Ask("Summarise the history of the printing press."));
  EXPECT_EQ(ordinary.route(), Route::kCloud);
  EXPECT_EQ(ordinary.provider(), "cloud");
  EXPECT_FALSE(ordinary.sensitive());
  EXPECT_THAT(ordinary.candidates(), ElementsAre("cloud", "cloud-big", "edge", "edge-big"));

  Decision email = policy->Decide({}, Ask("Write to jane.doe@example.com about it"));
  EXPECT_EQ(email.route(), Route::kLocal);
  EXPECT_EQ(email.provider(), "edge");
  EXPECT_THAT(email.candidates(), ElementsAre("edge", "edge-big"));
  ASSERT_EQ(email.findings().size(), 1u);
  EXPECT_EQ(email.findings()[0], (Finding{EntityType::kEmail, 9, 29, 1}));
  EXPECT_THAT(email.reason(), HasSubstr("email"));

  Decision keyword = policy->Decide({}, Ask("这是机密文件"));
  EXPECT_EQ(keyword.route(), Route::kLocal);
}

TEST_F(PolicyTest, DefaultGenericIsLocal) {
  auto policy = MakeOk("");
  EXPECT_EQ(policy->Decide({}, Ask("hello")).route(), Route::kLocal);
}

TEST_F(PolicyTest, TaintKeepsEveryLaterCallLocal) {
  auto policy = MakeOk("[routing]\ngeneric = \"cloud\"\nsensitive_tools = [\"sql\"]\n");
  TaintState taint;
  CallContext context{.task_id = "t1", .taint = &taint};
  EXPECT_EQ(policy->Decide(context, Ask("plan the report")).route(), Route::kCloud);

  EXPECT_FALSE(policy->ObserveToolOutput(taint, "fs_read", "12 files listed"));
  EXPECT_TRUE(policy->ObserveToolOutput(taint, "web_fetch", "contact: +44 20 7946 0958"));
  Decision later = policy->Decide(context, Ask("now write the summary"));
  EXPECT_EQ(later.route(), Route::kLocal);
  EXPECT_THAT(later.rules(), Contains("taint"));
  ASSERT_EQ(taint.marks().size(), 1u);
  EXPECT_EQ(taint.marks()[0].source, TaintSource::kToolObservation);
  EXPECT_THAT(taint.marks()[0].reasons, ElementsAre("phone"));
}

TEST_F(PolicyTest, TaintSourcesGoalFileToolAndMemory) {
  auto policy = MakeOk(
      "[routing]\ngeneric = \"cloud\"\nconfidential_paths = [\"contracts/**\"]\n"
      "sensitive_tools = [\"sql\"]\n");
  TaintState taint;
  EXPECT_FALSE(policy->ObserveGoal(taint, "Summarise the CSV files"));
  EXPECT_FALSE(policy->ObserveFileRead(taint, "notes/todo.txt", "buy milk"));
  EXPECT_FALSE(taint.tainted());
  EXPECT_TRUE(policy->ObserveFileRead(taint, "/ws/t1/contracts/acme.txt", "plain words"));
  EXPECT_TRUE(policy->ObserveToolOutput(taint, "sql", "3 rows"));
  EXPECT_TRUE(policy->ObserveMemoryRecall(taint, "Bob's SSN is 123-45-6789"));
  EXPECT_TRUE(policy->ObserveGoal(taint, "Email alice@example.org the numbers"));
  ASSERT_EQ(taint.marks().size(), 4u);
  EXPECT_THAT(taint.marks()[0].reasons, ElementsAre("confidential_path"));
  EXPECT_EQ(taint.marks()[0].origin, "/ws/t1/contracts/acme.txt");
  EXPECT_THAT(taint.marks()[1].reasons, ElementsAre("sensitive_tool"));
  EXPECT_EQ(taint.marks()[2].source, TaintSource::kMemoryRecall);
  EXPECT_THAT(taint.marks()[2].reasons, ElementsAre("us_ssn"));
  EXPECT_THAT(taint.Describe(), HasSubstr("file_read /ws/t1/contracts/acme.txt"));
  EXPECT_THAT(taint.Describe(), Not(HasSubstr("123-45-6789")));
}

TEST_F(PolicyTest, ChildTasksInheritTaint) {
  auto policy = MakeOk("[routing]\ngeneric = \"cloud\"\n");
  TaintState parent;
  ASSERT_TRUE(policy->ObserveGoal(parent, "card 4111 1111 1111 1111"));
  TaintState child = TaintState::InheritFrom(parent);
  ASSERT_TRUE(child.tainted());
  EXPECT_EQ(child.marks()[0].source, TaintSource::kParentTask);
  EXPECT_EQ(child.marks()[0].origin, "goal");
  CallContext context{.taint = &child};
  EXPECT_EQ(policy->Decide(context, Ask("harmless sub-question")).route(), Route::kLocal);
  TaintState grandchild = TaintState::InheritFrom(child);
  EXPECT_EQ(grandchild.marks(), child.marks());
}

TEST_F(PolicyTest, ConfidentialPathsSensitiveToolsAndLabels) {
  auto policy = MakeOk(
      "[routing]\ngeneric = \"cloud\"\nconfidential_paths = [\"finance/**\"]\n"
      "sensitive_labels = [\"hr\"]\nsensitive_tools = [\"email\"]\n");
  EXPECT_EQ(policy->Decide({.paths = {"finance/q3/forecast.xlsx"}}, Ask("numbers")).route(),
            Route::kLocal);
  EXPECT_EQ(policy->Decide({.paths = {"docs/readme.md"}}, Ask("numbers")).route(), Route::kCloud);
  EXPECT_EQ(policy->Decide({.labels = {"hr"}}, Ask("x")).route(), Route::kLocal);
  Decision tool = policy->Decide({.tools = {"email"}}, Ask("x"));
  EXPECT_EQ(tool.route(), Route::kLocal);
  EXPECT_THAT(tool.rules(), Contains("sensitive_tool:email"));
}

TEST_F(PolicyTest, RulesRestrictAndTheStrictestWins) {
  auto policy = MakeOk(R"(
[routing]
generic = "local"

[[routing.rules]]
name = "research goes to the cloud"
label = "research"
route = "cloud"
provider = "cloud-big"

[[routing.rules]]
name = "no secrets anywhere"
detector = "private_key"
route = "deny"

[[routing.rules]]
name = "payroll stays home"
label = "payroll"
route = "local"
provider = "edge-big"
)");
  Decision research = policy->Decide({.labels = {"research"}}, Ask("compare databases"));
  EXPECT_EQ(research.route(), Route::kCloud);
  EXPECT_EQ(research.provider(), "cloud-big");
  EXPECT_THAT(research.rules(), ElementsAre("research goes to the cloud"));

  Decision both = policy->Decide({.labels = {"research", "payroll"}}, Ask("compare"));
  EXPECT_EQ(both.route(), Route::kLocal);
  EXPECT_EQ(both.provider(), "edge-big");

  Decision sensitive_research = policy->Decide({.labels = {"research"}}, Ask("call 415-555-2671"));
  EXPECT_EQ(sensitive_research.route(), Route::kLocal);
  EXPECT_THAT(sensitive_research.reason(), HasSubstr("never uses"));

  Decision denied =
      policy->Decide({}, Ask("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"));
  EXPECT_TRUE(denied.refused());
  EXPECT_TRUE(denied.provider().empty());
  EXPECT_THAT(denied.reason(), HasSubstr("no secrets anywhere"));
}

TEST_F(PolicyTest, EscalationPicksStrongModelsWithReasons) {
  auto policy = MakeOk(R"(
[routing]
generic = "local"
[routing.escalation]
strong = ["edge-big", "cloud-big"]
max_small_prompt_tokens = 100
max_small_tools = 1
failures_to_escalate = 2
labels = ["hard"]
)");
  EXPECT_EQ(policy->Decide({}, Ask("short")).provider(), "edge");
  Decision big = policy->Decide({}, Ask(std::string(1000, 'a')));
  EXPECT_TRUE(big.strong());
  EXPECT_EQ(big.provider(), "edge-big");
  EXPECT_THAT(big.escalation_reasons()[0], HasSubstr("max_small_prompt_tokens 100"));
  EXPECT_EQ(policy->Decide({.previous_failures = 2}, Ask("x")).provider(), "edge-big");
  EXPECT_EQ(policy->Decide({.previous_failures = 1}, Ask("x")).provider(), "edge");
  EXPECT_EQ(policy->Decide({.escalate = true}, Ask("x")).provider(), "edge-big");
  EXPECT_EQ(policy->Decide({.labels = {"hard"}}, Ask("x")).provider(), "edge-big");
  llm::ChatRequest tools = Ask("x");
  tools.tools.resize(2);
  tools.tools[0].name = "a";
  tools.tools[1].name = "b";
  EXPECT_EQ(policy->Decide({}, tools).provider(), "edge-big");
}

TEST_F(PolicyTest, CheapestPrefersFreeLocalThenCheapCloud) {
  auto policy = MakeOk("[routing]\ngeneric = \"cheapest\"\n");
  Decision d = policy->Decide({}, Ask("hello"));
  EXPECT_EQ(d.route(), Route::kLocal);
  EXPECT_THAT(d.candidates(), ElementsAre("edge", "edge-big", "cloud", "cloud-big"));
}

TEST_F(PolicyTest, MaskableEntitiesMayLeaveMasked) {
  auto policy = MakeOk("[routing]\ngeneric = \"cloud\"\nmask = [\"email\", \"phone\"]\n");
  Decision masked = policy->Decide({}, Ask("mail bob@example.com or +1 415 555 2671"));
  EXPECT_EQ(masked.route(), Route::kCloud);
  EXPECT_TRUE(masked.masked());
  EXPECT_FALSE(masked.sensitive());
  Decision card = policy->Decide({}, Ask("mail bob@example.com card 4111 1111 1111 1111"));
  EXPECT_EQ(card.route(), Route::kLocal);
  EXPECT_FALSE(card.masked());
}

TEST_F(PolicyTest, SensitiveWithoutLocalProviderIsRefused) {
  ConfigLoadOptions options;
  options.environment = std::map<std::string, std::string>{};
  Result<Config> config = ParseConfig(R"(
[routing]
generic = "cloud"
[[providers]]
name = "cloud"
base_url = "https://api.example.com/v1"
zone = "cloud"
)",
                                      "tandem.toml", options);
  ASSERT_TRUE(config);
  auto policy = Policy::Create(*config);
  ASSERT_TRUE(policy);
  Decision d = (*policy)->Decide({}, Ask("ssn 123-45-6789"));
  EXPECT_TRUE(d.refused());
  EXPECT_THAT(d.reason(), HasSubstr("no local provider"));
  EXPECT_EQ((*policy)->Decide({}, Ask("hello")).route(), Route::kCloud);
}

TEST_F(PolicyTest, FindingsCoverToolCallArguments) {
  auto policy = MakeOk("[routing]\ngeneric = \"cloud\"\n");
  llm::ChatRequest request = Ask("ok");
  llm::Message call{llm::Role::kAssistant, "", {{"c1", "send", R"({"to":"x@example.com"})"}}, ""};
  request.messages.push_back(call);
  Decision d = policy->Decide({}, request);
  EXPECT_EQ(d.route(), Route::kLocal);
  ASSERT_EQ(d.findings().size(), 1u);
  EXPECT_EQ(d.findings()[0].part, 3u);
}

// The scan cache never lets a resent history hide an edit: a message changed in place is
// scanned again.
TEST_F(PolicyTest, AHistoryMessageChangedInPlaceIsRescanned) {
  auto policy = MakeOk("[routing]\ngeneric = \"cloud\"\n");
  llm::ChatRequest request =
      Ask("Please summarise the notes from the meeting with the team at alice_example.com");
  ASSERT_EQ(policy->Decide({}, request).route(), Route::kCloud);
  std::string& history = request.messages[1].content;
  history[history.find('_')] = '@';
  request.messages.push_back(llm::Message::User("and continue"));
  Decision d = policy->Decide({}, request);
  EXPECT_EQ(d.route(), Route::kLocal);
  ASSERT_EQ(d.findings().size(), 1u);
  EXPECT_EQ(d.findings()[0].part, 1u);
}

TEST_F(PolicyTest, ProfilesChangeGenericRoutingButNeverLetSensitiveDataOut) {
  auto policy = MakeOk(R"(
[routing]
generic = "local"
[routing.escalation]
strong = ["edge-big", "cloud-big"]
[[routing.profiles]]
name = "open"
description = "Cloud for generic work"
generic = "cloud"
[[routing.profiles]]
name = "private"
zones = ["local"]
[[routing.profiles]]
name = "strongest"
generic = "cloud"
tier = "strong"
[[routing.profiles]]
name = "cheap"
generic = "cheapest"
provider = "cloud"
[[routing.profiles]]
name = "cloud-only"
zones = ["cloud"]
generic = "cloud"
)");
  EXPECT_EQ(policy->Decide({}, Ask("hello")).route(), Route::kLocal);
  Decision open = policy->Decide({.profile = "open"}, Ask("hello"));
  EXPECT_EQ(open.provider(), "cloud");
  EXPECT_THAT(open.rules(), Contains("profile:open"));
  EXPECT_EQ(policy->Decide({.profile = "open"}, Ask("ssn 123-45-6789")).route(), Route::kLocal);
  EXPECT_THAT(policy->Decide({.profile = "private"}, Ask("hello")).candidates(),
              ElementsAre("edge", "edge-big"));
  Decision strong = policy->Decide({.profile = "strongest"}, Ask("hello"));
  EXPECT_EQ(strong.provider(), "cloud-big");
  EXPECT_TRUE(strong.strong());
  EXPECT_THAT(strong.escalation_reasons(), Contains(HasSubstr("profile 'strongest'")));
  EXPECT_EQ(policy->Decide({.profile = "cheap"}, Ask("hello")).provider(), "cloud");
  // A profile limited to the cloud cannot take sensitive text: refused, not widened.
  Decision refused = policy->Decide({.profile = "cloud-only"}, Ask("ssn 123-45-6789"));
  EXPECT_TRUE(refused.refused());
  EXPECT_THAT(refused.reason(), HasSubstr("profile 'cloud-only' allows none of the zones"));
  EXPECT_TRUE(policy->Decide({.profile = "nope"}, Ask("hello")).refused());
  EXPECT_TRUE(policy->KnowsProfile("open"));
  EXPECT_TRUE(policy->KnowsProfile("auto"));
  EXPECT_FALSE(policy->KnowsProfile("nope"));
}

TEST_F(PolicyTest, NamingAProviderOrModelPinsIt) {
  auto policy = MakeOk("[routing]\ngeneric = \"cloud\"\n");
  EXPECT_THAT(policy->Decide({.profile = "gpt-4o"}, Ask("hello")).candidates(),
              ElementsAre("cloud-big"));
  EXPECT_THAT(policy->Decide({.profile = "edge"}, Ask("hello")).candidates(), ElementsAre("edge"));
  EXPECT_EQ(policy->Decide({.profile = "edge"}, Ask("ssn 123-45-6789")).provider(), "edge");
  Decision refused = policy->Decide({.profile = "gpt-4o"}, Ask("ssn 123-45-6789"));
  EXPECT_TRUE(refused.refused());
  EXPECT_THAT(refused.reason(), HasSubstr("the requested model 'gpt-4o' (provider 'cloud-big', "
                                          "cloud zone) is not allowed"));
  EXPECT_THAT(refused.reason(), Not(HasSubstr("123-45-6789")));
}

TEST_F(PolicyTest, ConfigErrorsNameFileLineAndKey) {
  struct Case {
    std::string routing;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"[routing]\ngeneric = \"moon\"\n", "tandem.toml:26: key 'routing.generic'"},
      {"[routing]\ngenric = \"cloud\"\n", "unknown key 'routing.genric'"},
      {"[routing]\nkeywords = [\"\"]\n", "tandem.toml:26: key 'routing.keywords': a keyword"},
      {"[routing]\npatterns = [\"([a\"]\n", "key 'routing.patterns'"},
      {"[routing]\nmask = [\"emali\"]\n", "unknown detector 'emali'"},
      {"[routing]\n[[routing.rules]]\nlabel = \"x\"\nroute = \"up\"\n",
       "tandem.toml:28: key 'routing.rules[0].route': unknown route 'up'"},
      {"[routing]\n[[routing.rules]]\nroute = \"local\"\n", "needs at least one of"},
      {"[routing]\n[[routing.rules]]\nlabel = \"x\"\nroute = \"local\"\nprovider = \"nope\"\n",
       "no provider named 'nope'"},
      {"[routing.escalation]\nstrong = [\"ghost\"]\n", "key 'routing.escalation.strong'"},
      {"[routing.health]\nfailure_threshold = 0\n", "must be at least 1"},
      {"[routing]\nconfidential_paths = \"contracts/**\"\n", "expected an array of strings"},
      {"[[routing.profiles]]\ndescription = \"x\"\n", "key 'routing.profiles[0].name'"},
      {"[[routing.profiles]]\nname = \"auto\"\n", "reserved"},
      {"[[routing.profiles]]\nname = \"edge\"\n", "already a provider's name"},
      {"[[routing.profiles]]\nname = \"p\"\nzones = [\"moon\"]\n", "unknown zone 'moon'"},
      {"[[routing.profiles]]\nname = \"p\"\ntier = \"huge\"\n", "routing.profiles[0].tier"},
      {"[[routing.profiles]]\nname = \"p\"\nprovider = \"ghost\"\n", "no provider named"},
      {"[[routing.profiles]]\nname = \"p\"\n[[routing.profiles]]\nname = \"p\"\n",
       "a profile named 'p' already exists"},
      {"[[routing.profiles]]\nname = \"p\"\nzone = [\"local\"]\n", "unknown key"},
  };
  for (const Case& c : cases) {
    Result<std::unique_ptr<Policy>> policy = Make(c.routing);
    ASSERT_FALSE(policy) << c.routing;
    EXPECT_THAT(policy.error().message(), HasSubstr(c.expected)) << c.routing;
  }
}

// The fingerprint binds a routing decision to its payload: any change of text, order or of where
// one field ends and the next begins gives another one.
TEST(PayloadFingerprintTest, ChangesWithTextOrderAndFieldBoundaries) {
  auto request = [](std::vector<llm::Message> messages) {
    return llm::ChatRequest{.messages = std::move(messages)};
  };
  llm::Message ab{llm::Role::kUser, "ab", {}, ""};
  llm::Message c{llm::Role::kUser, "c", {}, ""};
  llm::Message a{llm::Role::kUser, "a", {}, ""};
  llm::Message bc{llm::Role::kUser, "bc", {}, ""};
  uint64_t base = PayloadFingerprint(request({ab, c}));
  EXPECT_EQ(base, PayloadFingerprint(request({ab, c})));
  EXPECT_NE(base, PayloadFingerprint(request({a, bc})));
  EXPECT_NE(base, PayloadFingerprint(request({c, ab})));
  EXPECT_NE(base, PayloadFingerprint(request({ab})));
  llm::Message assistant = ab;
  assistant.role = llm::Role::kAssistant;
  EXPECT_NE(base, PayloadFingerprint(request({assistant, c})));
  llm::Message with_call = ab;
  with_call.tool_calls = {{"id", "note", "{}"}};
  EXPECT_NE(base, PayloadFingerprint(request({with_call, c})));
}

TEST(GlobTest, SegmentsAndDoubleStars) {
  EXPECT_TRUE(GlobMatch("contracts/**", "contracts/2024/acme.pdf"));
  EXPECT_TRUE(GlobMatch("contracts/**", "/srv/ws/contracts/a.txt"));
  EXPECT_TRUE(GlobMatch("contracts/**", "./contracts/a.txt"));
  EXPECT_FALSE(GlobMatch("contracts/**", "contractsX/a.txt"));
  EXPECT_TRUE(GlobMatch("*.key", "deploy/server.key"));
  EXPECT_FALSE(GlobMatch("/etc/*.key", "/etc/ssl/server.key"));
  EXPECT_TRUE(GlobMatch("/etc/**/*.key", "/etc/ssl/server.key"));
  EXPECT_TRUE(GlobMatch("/etc/**/*.key", "/etc/server.key"));
  EXPECT_TRUE(GlobMatch("finance/q?/*", "finance/q3/plan.xlsx"));
  EXPECT_FALSE(GlobMatch("finance/*", "finance/q3/plan.xlsx"));
  EXPECT_FALSE(GlobMatch("", "anything"));
  EXPECT_TRUE(GlobMatch("合同/**", "docs/合同/2024.docx"));
}

}  // namespace
}  // namespace tandem::router

namespace tandem::router {
namespace {

TEST(TaintJsonTest, RoundTripsMarks) {
  TaintState taint;
  taint.Add({TaintSource::kFileRead, "contracts/a.txt", {"confidential_path", "email"}});
  taint.Add({TaintSource::kMemoryRecall, "", {"phone"}});
  Result<TaintState> back = TaintState::FromJson(taint.ToJson());
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->marks(), taint.marks());
  Result<TaintState> empty = TaintState::FromJson("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->tainted());
}

TEST(TaintJsonTest, MalformedStoredTaintIsDataLossNotACrash) {
  for (const char* bad :
       {"{", "{}", "[1]", R"([{"origin":"x"}])", R"([{"source":"moon"}])",
        R"([{"source":"goal","origin":7}])", R"([{"source":"goal","reasons":"email"}])",
        R"([{"source":"goal","reasons":[1]}])"}) {
    Result<TaintState> taint = TaintState::FromJson(bad);
    ASSERT_FALSE(taint) << bad;
    EXPECT_EQ(taint.error().code(), ErrorCode::kDataLoss) << bad;
  }
}

}  // namespace
}  // namespace tandem::router
