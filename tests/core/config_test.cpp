#include "tandem/core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "tandem/core/config_reader.h"

namespace tandem {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  ConfigLoadOptions Options(std::map<std::string, std::string> env = {}) {
    ConfigLoadOptions options;
    options.working_dir = dir_.path();
    env.emplace("HOME", dir_.path().string());
    options.environment = std::move(env);
    return options;
  }
  Result<Config> Parse(const std::string& text, std::map<std::string, std::string> env = {}) {
    return ParseConfig(text, "tandem.toml", Options(std::move(env)));
  }
  testing::TempDir dir_;
};

constexpr char kTwoProviders[] = R"(
[agent]
max_steps = 12

[[providers]]
name = "local"
kind = "openai"
base_url = "http://127.0.0.1:8080/v1"
model = "qwen2.5-7b-instruct"
zone = "local"

[[providers]]
name = "cloud"
base_url = "https://api.openai.com/v1"
model = "gpt-4o-mini"
zone = "cloud"
api_key_env = "OPENAI_API_KEY"
)";

TEST_F(ConfigTest, DefaultsApplyWithNoFile) {
  Result<Config> config = LoadConfig(Options());
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_TRUE(config->source.empty());
  EXPECT_TRUE(config->providers.empty());
  EXPECT_EQ(config->agent.max_steps, 30);
  EXPECT_EQ(config->home, dir_.path() / ".local/share/tandem");
}

TEST_F(ConfigTest, ParsesProvidersWithTheirZones) {
  Result<Config> config = Parse(kTwoProviders);
  ASSERT_TRUE(config) << config.error().message();
  ASSERT_EQ(config->providers.size(), 2u);
  EXPECT_EQ(config->providers[0].zone, Zone::kLocal);
  EXPECT_EQ(config->providers[1].zone, Zone::kCloud);
  EXPECT_EQ(config->providers[1].api_key_env, "OPENAI_API_KEY");
  EXPECT_EQ(config->agent.max_steps, 12);
}

TEST_F(ConfigTest, WrongTypeNamesFileLineAndKey) {
  Result<Config> config = Parse("[agent]\nmax_steps = \"ten\"\n");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(config.error().message(), HasSubstr("tandem.toml:2"));
  EXPECT_THAT(config.error().message(), HasSubstr("agent.max_steps"));
  EXPECT_THAT(config.error().message(), HasSubstr("expected an integer, found string"));
}

TEST_F(ConfigTest, UnknownZoneNamesLineAndKey) {
  Result<Config> config =
      Parse("[[providers]]\nname = \"x\"\nbase_url = \"http://h/v1\"\nzone = \"moon\"\n");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message(), HasSubstr("tandem.toml:4"));
  EXPECT_THAT(config.error().message(), HasSubstr("providers[0].zone"));
  EXPECT_THAT(config.error().message(), HasSubstr("unknown zone 'moon'"));
}

TEST_F(ConfigTest, UnknownKeyIsRejectedWithValidChoices) {
  Result<Config> config = Parse("[agent]\nmax_stesp = 3\n");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message(), HasSubstr("unknown key 'agent.max_stesp'"));
  EXPECT_THAT(config.error().message(), HasSubstr("max_steps"));
}

TEST_F(ConfigTest, SyntaxErrorNamesLineAndColumn) {
  Result<Config> config = Parse("[agent\nmax_steps = 3\n");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message(), HasSubstr("tandem.toml:1:"));
}

TEST_F(ConfigTest, DuplicateProviderNamesAreRejected) {
  Result<Config> config = Parse(
      "[[providers]]\nname = \"a\"\nbase_url = \"http://h/v1\"\n"
      "[[providers]]\nname = \"a\"\nbase_url = \"http://h/v1\"\n");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message(), HasSubstr("duplicate provider name 'a'"));
}

TEST_F(ConfigTest, BadBaseUrlAndMissingFieldsAreRejected) {
  EXPECT_FALSE(Parse("[[providers]]\nname = \"a\"\nbase_url = \"ftp://h\"\n"));
  EXPECT_FALSE(Parse("[[providers]]\nbase_url = \"http://h/v1\"\n"));
  EXPECT_FALSE(Parse("[[providers]]\nname = \"a\"\n"));
  EXPECT_FALSE(Parse("[[providers]]\nname = \"e\"\nkind = \"engine\"\n"));
  EXPECT_FALSE(
      Parse("[[providers]]\nname = \"a\"\nbase_url = \"http://h\"\nmax_concurrency = 0\n"));
  EXPECT_FALSE(Parse("providers = 3\n"));
  EXPECT_FALSE(Parse("[log]\nlevel = \"loud\"\n"));
}

TEST_F(ConfigTest, EnvironmentOverridesKeepTypesAndAreNamedInErrors) {
  Result<Config> config = Parse(kTwoProviders, {{"TANDEM_AGENT__MAX_STEPS", "7"},
                                                {"TANDEM_LOG_LEVEL", "debug"},
                                                {"TANDEM_HOME", "/srv/tandem"}});
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->agent.max_steps, 7);
  EXPECT_EQ(config->log.level, "debug");
  EXPECT_EQ(config->home, "/srv/tandem");

  Result<Config> bad = Parse(kTwoProviders, {{"TANDEM_AGENT__MAX_STEPS", "many"}});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("environment variable TANDEM_AGENT__MAX_STEPS"));
}

TEST_F(ConfigTest, SearchOrderPrefersExplicitThenEnvThenWorkingDir) {
  dir_.Write("tandem.toml", "[agent]\nmax_steps = 1\n");
  std::filesystem::path other = dir_.Write("other.toml", "[agent]\nmax_steps = 2\n");
  std::filesystem::path explicit_file = dir_.Write("explicit.toml", "[agent]\nmax_steps = 3\n");

  EXPECT_EQ(LoadConfig(Options())->agent.max_steps, 1);
  EXPECT_EQ(LoadConfig(Options({{"TANDEM_CONFIG", other.string()}}))->agent.max_steps, 2);
  ConfigLoadOptions options = Options({{"TANDEM_CONFIG", other.string()}});
  options.explicit_path = explicit_file;
  EXPECT_EQ(LoadConfig(options)->agent.max_steps, 3);
}

TEST_F(ConfigTest, XdgConfigHomeIsTheLastPlaceSearched) {
  dir_.Write("xdg/tandem/tandem.toml", "[agent]\nmax_steps = 9\n");
  Result<Config> config =
      LoadConfig(Options({{"XDG_CONFIG_HOME", (dir_.path() / "xdg").string()}}));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->agent.max_steps, 9);
}

TEST_F(ConfigTest, MissingExplicitFileIsAnError) {
  ConfigLoadOptions options = Options();
  options.explicit_path = dir_.path() / "absent.toml";
  Result<Config> config = LoadConfig(options);
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message(), HasSubstr("absent.toml"));
}

TEST_F(ConfigTest, MissingApiKeyIsReportedByName) {
  Result<Config> config = Parse(kTwoProviders);
  ASSERT_TRUE(config);
  Status status = CheckProviderKeys(*config, config->providers[1]);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message(), HasSubstr("OPENAI_API_KEY"));
  EXPECT_TRUE(CheckProviderKeys(*config, config->providers[0]));
}

TEST_F(ConfigTest, ApiKeyFromDotEnvIsFoundAndNeverPrinted) {
  dir_.Write(".env", "# secrets\nexport OPENAI_API_KEY=\"sk-test-1234567890\"\n");
  Result<Config> config = Parse(kTwoProviders);
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_TRUE(CheckProviderKeys(*config, config->providers[1]));
  std::string described = DescribeConfig(*config);
  EXPECT_THAT(described, Not(HasSubstr("sk-test-1234567890")));
  EXPECT_THAT(described, HasSubstr("(set, redacted)"));
}

TEST_F(ConfigTest, EnvironmentWinsOverDotEnv) {
  dir_.Write(".env", "OPENAI_API_KEY=from-file-000000\n");
  Result<Config> config = Parse(kTwoProviders, {{"OPENAI_API_KEY", "from-env-000000"}});
  ASSERT_TRUE(config);
  EXPECT_EQ(config->secrets.Get("OPENAI_API_KEY"), "from-env-000000");
}

TEST_F(ConfigTest, MalformedDotEnvNamesTheLine) {
  dir_.Write(".env", "GOOD=1\nthis line is wrong\n");
  Result<Config> config = Parse("");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message(), HasSubstr(".env:2"));
}

TEST(DotEnvTest, ParsesQuotesEscapesAndComments) {
  auto parsed = ParseDotEnv(
      "A=plain # comment\nB='single # kept'\nC=\"line\\nbreak\"\n  export D = spaced \n", ".env");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->at("A"), "plain");
  EXPECT_EQ(parsed->at("B"), "single # kept");
  EXPECT_EQ(parsed->at("C"), "line\nbreak");
  EXPECT_EQ(parsed->at("D"), "spaced");
  EXPECT_FALSE(ParseDotEnv("X=\"open\n", ".env"));
  EXPECT_FALSE(ParseDotEnv("1X=a\n", ".env"));
}

TEST(SecretsTest, RedactsSecretValuesOnly) {
  Secrets secrets({{"OPENAI_API_KEY", "sk-abcdefghij"}, {"PATH", "/usr/local/bin"}});
  EXPECT_EQ(secrets.Redact("key sk-abcdefghij in /usr/local/bin"),
            "key [redacted] in /usr/local/bin");
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(ConfigEnvironmentTest, UnrelatedTandemVariablesAreIgnored) {
  ConfigLoadOptions options;
  options.environment =
      std::map<std::string, std::string>{{"TANDEM_TEST_KEY", "x"}, {"TANDEM_BINARY", "/bin/true"}};
  Result<Config> config = ParseConfig("", "tandem.toml", options);
  ASSERT_TRUE(config) << config.error().message();
}

}  // namespace
}  // namespace tandem
