#include "tandem/tools/tools_config.h"

#include <gtest/gtest.h>

namespace tandem::tools {
namespace {

Result<ToolsConfig> Parse(const std::string& text) {
  ConfigLoadOptions options;
  options.environment = std::map<std::string, std::string>{};
  Result<Config> config = ParseConfig(text, "tandem.toml", options);
  if (!config) return std::unexpected(config.error());
  return ParseToolsConfig(*config);
}

TEST(ToolsConfigTest, DefaultsWithoutASection) {
  Result<ToolsConfig> config = Parse("");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->sandbox.mode, SandboxMode::kBubblewrap);
  EXPECT_TRUE(config->fetch.allow_hosts.empty());
  EXPECT_TRUE(config->auto_approve.empty());
}

TEST(ToolsConfigTest, ReadsEverySection) {
  Result<ToolsConfig> config = Parse(R"(
[tools]
sandbox = "none"
timeout_s = 5
memory_mb = 128
max_processes = 16
allow_hosts = ["Intranet.Example", "*.corp.example"]
fetch_max_kb = 100
max_redirects = 2
auto_approve = ["send_email"]
disabled = ["execute_python"]

[tools.search]
max_results = 3
[[tools.search.providers]]
kind = "searxng"
url = "http://127.0.0.1:8888"
[[tools.search.providers]]
kind = "brave"

[tools.sql.databases]
shop = "/data/shop.db"
crm = { path = "/data/crm.db", writable = true }

[tools.email]
smtp_url = "smtp://mail.example:587"
from = "agent@example.com"
)");
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->sandbox.mode, SandboxMode::kNone);
  EXPECT_EQ(config->sandbox.limits.timeout_s, 5);
  EXPECT_EQ(config->limits.timeout_s, 5);
  EXPECT_EQ(config->sandbox.limits.memory_bytes, 128LL << 20);
  EXPECT_EQ(config->sandbox.limits.max_processes, 16);
  EXPECT_EQ(config->fetch.allow_hosts[0], "intranet.example");
  EXPECT_EQ(config->fetch.max_bytes, 100 * 1024);
  EXPECT_EQ(config->fetch.max_redirects, 2);
  EXPECT_EQ(config->auto_approve, std::vector<std::string>{"send_email"});
  ASSERT_EQ(config->search.providers.size(), 2u);
  EXPECT_EQ(config->search.providers[1].key_env, "BRAVE_API_KEY");
  EXPECT_EQ(config->search.max_results, 3);
  ASSERT_EQ(config->sql.databases.size(), 2u);
  EXPECT_EQ(config->sql.databases[0].name, "crm");
  EXPECT_TRUE(config->sql.databases[0].writable);
  EXPECT_FALSE(config->sql.databases[1].writable);
  EXPECT_EQ(config->email.tls, "required");
}

TEST(ToolsConfigTest, BadValuesNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* expected;
  } cases[] = {
      {"[tools]\nsandbox = \"chroot\"\n", "tandem.toml:2: key 'tools.sandbox'"},
      {"[tools]\ntimeout_s = -1\n", "key 'tools.timeout_s': must be greater than 0"},
      {"[tools]\nallow_hosts = \"x\"\n", "key 'tools.allow_hosts'"},
      {"[tools]\nsandbx = \"none\"\n", "unknown key 'tools.sandbx'"},
      {"[tools]\nmax_redirects = 99\n", "key 'tools.max_redirects'"},
      {"[[tools.search.providers]]\nkind = \"bing\"\nurl = \"x\"\n",
       "key 'tools.search.providers[0].kind'"},
      {"[tools.sql.databases]\nshop = 3\n", "key 'tools.sql.databases.shop'"},
      {"[tools.email]\nsmtp_url = \"smtp://x\"\n", "key 'tools.email.from'"},
      {"[tools.email]\ntls = \"maybe\"\n", "key 'tools.email.tls'"},
  };
  for (const Case& c : cases) {
    Result<ToolsConfig> config = Parse(c.text);
    ASSERT_FALSE(config) << c.text;
    EXPECT_NE(config.error().message().find(c.expected), std::string::npos)
        << c.text << " -> " << config.error().message();
  }
}

TEST(ToolsConfigTest, BuiltinToolsRespectDisabled) {
  Result<ToolsConfig> config = Parse("[tools]\ndisabled = [\"execute_python\", \"send_email\"]\n");
  ASSERT_TRUE(config);
  Registry registry;
  ASSERT_TRUE(RegisterBuiltinTools(registry, *config));
  EXPECT_EQ(registry.Find("execute_python"), nullptr);
  EXPECT_EQ(registry.Find("send_email"), nullptr);
  for (const char* name :
       {"read_file", "write_file", "append_file", "list_files", "search_files", "delete_file",
        "execute_shell", "web_fetch", "web_search", "sql_query"}) {
    EXPECT_NE(registry.Find(name), nullptr) << name;
  }
}

}  // namespace
}  // namespace tandem::tools
