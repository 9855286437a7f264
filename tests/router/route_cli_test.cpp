// End to end: the built `tandem route explain` on a temporary configuration with one local and
// one cloud provider and generic = "cloud".
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace tandem::router {
namespace {

using ::testing::HasSubstr;

struct CliRun {
  int exit_code = -1;
  std::string out;
};

// Runs the CLI with `args` (already shell-quoted) and captures stdout.
CliRun RunTandem(const std::string& args) {
  std::string command = std::string(TANDEM_BINARY) + " " + args + " 2>/dev/null";
  CliRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
    run.out.append(buffer, n);
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

class RouteCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.Write("tandem.toml", R"(
[routing]
generic = "cloud"
keywords = ["confidential", "机密"]
patterns = ["PRJ-[0-9]{4}"]
confidential_paths = ["contracts/**"]

[[providers]]
name = "edge"
base_url = "http://127.0.0.1:8080/v1"
zone = "local"

[[providers]]
name = "cloud"
base_url = "https://api.example.com/v1"
api_key_env = "TANDEM_TEST_UNSET_KEY"
zone = "cloud"
)");
  }
  // The JSON decision for `text`, passed through a file to keep any bytes intact.
  nlohmann::json Explain(const std::string& text) {
    std::filesystem::path input = dir_.Write("input.txt", text);
    CliRun run = RunTandem("--config '" + config_.string() + "' route explain --json --file '" +
                           input.string() + "'");
    EXPECT_EQ(run.exit_code, 0) << text;
    nlohmann::json parsed = nlohmann::json::parse(run.out, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << run.out;
    return parsed;
  }

  testing::TempDir dir_;
  std::filesystem::path config_;
};

TEST_F(RouteCliTest, EveryDetectedEntityOrKeywordRoutesLocal) {
  const std::vector<std::pair<std::string, std::string>> samples = {
      {"email", "Reply to li.wei@example.cn by Friday"},
      {"phone", "客户电话 13812345678"},
      {"phone", "Call +1 415 555 2671"},
      {"payment_card", "Card 4111 1111 1111 1111"},
      {"iban", "Pay DE89 3704 0044 0532 0130 00"},
      {"cn_resident_id", "身份证 11010519491231002X"},
      {"us_ssn", "SSN 123-45-6789"},
      {"ip_address", "server 10.20.30.40"},
      {"private_key", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----"},
      {"cloud_access_key", "key AKIAIOSFODNN7EXAMPLE"},
      {"bearer_token", "Authorization: Bearer 9f8e7d6c5b4a3f2e1d0c"},
      {"jwt",
       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0"},
      {"password", "mysql://root:Tr0ub4dor@10.0.0.5/db"},
      {"secret", "client_secret = \"Gx81mZpQ0vT7rWb3Lk9N\""},
      {"keyword", "This memo is CONFIDENTIAL"},
      {"keyword", "本项目属于机密"},
      {"pattern", "See PRJ-2024 for details"},
  };
  for (const auto& [type, text] : samples) {
    nlohmann::json decision = Explain(text);
    EXPECT_EQ(decision.value("zone", ""), "local") << text;
    EXPECT_EQ(decision.value("provider", ""), "edge") << text;
    bool found = false;
    for (const nlohmann::json& f : decision["findings"]) {
      found = found || f.value("type", "") == type;
      EXPECT_LT(f.value("start", 0), f.value("end", 0));
    }
    EXPECT_TRUE(found) << type << " not found in " << decision.dump();
    EXPECT_THAT(decision.value("reason", ""), HasSubstr(type));
  }
}

TEST_F(RouteCliTest, OrdinaryTextRoutesCloud) {
  for (const std::string& text :
       {std::string("Summarise the attached meeting notes in three bullet points."),
        std::string("请把这段话翻译成英文：今天天气很好。"),
        std::string("Release 2.14.0 fixes bug #4521 reported on 2024-03-05 at 10:30."),
        std::string(
            "Order 4111111111111112 shipped; request id 123e4567-e89b-12d3-a456-426614174000")}) {
    nlohmann::json decision = Explain(text);
    EXPECT_EQ(decision.value("zone", ""), "cloud") << text << decision.dump();
    EXPECT_EQ(decision.value("provider", ""), "cloud");
    EXPECT_TRUE(decision["findings"].empty());
    EXPECT_TRUE(decision.contains("rules"));
  }
}

TEST_F(RouteCliTest, ConfidentialPathRoutesLocalByLabel) {
  std::filesystem::path file = dir_.Write("contracts/acme.txt", "Standard terms apply.");
  CliRun run = RunTandem("--config '" + config_.string() + "' route explain --json --file '" +
                         file.string() + "'");
  ASSERT_EQ(run.exit_code, 0);
  nlohmann::json decision = nlohmann::json::parse(run.out);
  EXPECT_EQ(decision["zone"], "local");
  EXPECT_EQ(decision["rules"], nlohmann::json::array({"confidential_path"}));
}

TEST_F(RouteCliTest, TextModeUsageAndConfigErrors) {
  CliRun text = RunTandem("--config '" + config_.string() + "' route explain --text 'hello there'");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr("zone:     cloud"));
  EXPECT_EQ(RunTandem("--config '" + config_.string() + "' route explain").exit_code, 2);
  std::filesystem::path bad = dir_.Write("bad.toml", "[routing]\ngeneric = \"moon\"\n");
  EXPECT_EQ(RunTandem("--config '" + bad.string() + "' route explain --text x").exit_code, 3);
}

TEST_F(RouteCliTest, RefusalExitsWithPolicyCode) {
  std::filesystem::path cloud_only = dir_.Write("cloud.toml", R"(
[routing]
generic = "cloud"
[[providers]]
name = "cloud"
base_url = "https://api.example.com/v1"
zone = "cloud"
)");
  CliRun run = RunTandem("--config '" + cloud_only.string() +
                         "' route explain --json --text 'SSN 123-45-6789'");
  EXPECT_EQ(run.exit_code, 4);
  nlohmann::json decision = nlohmann::json::parse(run.out);
  EXPECT_EQ(decision["zone"], "deny");
  EXPECT_EQ(decision["provider"], "");
}

}  // namespace
}  // namespace tandem::router
