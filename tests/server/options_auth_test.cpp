// Unit checks of the server's pieces without HTTP: [server] options, listen addresses,
// password hashing, secrets and metric label escaping.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tandem/server/metrics.h"
#include "tandem/server/server.h"

namespace tandem::server {
namespace {

using ::testing::HasSubstr;

Result<ServerOptions> OptionsFrom(const std::string& toml) {
  ConfigLoadOptions load;
  load.environment = std::map<std::string, std::string>{{"TANDEM_HOME", "/tmp/unused"}};
  auto config = ParseConfig(toml, "tandem.toml", load);
  if (!config) return std::unexpected(config.error());
  return ReadServerOptions(*config);
}

TEST(ServerOptionsTest, TasksRunHereUnlessSentToWorkers) {
  auto here = OptionsFrom("");
  ASSERT_TRUE(here) << here.error().message();
  EXPECT_FALSE(here->run_on_workers);
  auto workers = OptionsFrom("[server]\nrun_tasks = \"workers\"\n");
  ASSERT_TRUE(workers) << workers.error().message();
  EXPECT_TRUE(workers->run_on_workers);
  auto wrong = OptionsFrom("[server]\nrun_tasks = \"elsewhere\"\n");
  ASSERT_FALSE(wrong);
  EXPECT_THAT(wrong.error().message(), HasSubstr("run_tasks"));
  EXPECT_THAT(wrong.error().message(), HasSubstr("elsewhere"));
}

TEST(ServerOptionsTest, DefaultsListenOnLoopback) {
  auto options = OptionsFrom("");
  ASSERT_TRUE(options) << options.error().message();
  EXPECT_EQ(options->host, "127.0.0.1");
  EXPECT_EQ(options->port, 8080);
}

TEST(ServerOptionsTest, ReadsTheServerSection) {
  auto options = OptionsFrom(
      "[server]\nlisten = \"0.0.0.0:9000\"\nworkers = 4\nmax_body_bytes = 4096\n"
      "session_hours = 2\ncookie_secure = true\nfailed_login_delay_ms = 0\n");
  ASSERT_TRUE(options) << options.error().message();
  EXPECT_EQ(options->host, "0.0.0.0");
  EXPECT_EQ(options->port, 9000);
  EXPECT_EQ(options->workers, 4);
  EXPECT_EQ(options->max_body_bytes, 4096u);
  EXPECT_EQ(options->auth.session_ttl_ms, 2 * 3600 * 1000);
  EXPECT_TRUE(options->cookie_secure);
  EXPECT_EQ(options->auth.failed_login_delay_ms, 0);
}

TEST(ServerOptionsTest, BadValuesNameTheKey) {
  auto unknown = OptionsFrom("[server]\nlisten_on = \"x\"\n");
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message(), HasSubstr("listen_on"));
  auto range = OptionsFrom("[server]\nworkers = 0\n");
  ASSERT_FALSE(range);
  EXPECT_THAT(range.error().message(), HasSubstr("server.workers"));
  auto type = OptionsFrom("[server]\nlisten = 8080\n");
  ASSERT_FALSE(type);
  auto listen = OptionsFrom("[server]\nlisten = \"nowhere\"\n");
  ASSERT_FALSE(listen);
  EXPECT_THAT(listen.error().message(), HasSubstr("server.listen"));
}

TEST(ParseListenTest, AcceptsHostPortAndBracketedIpv6) {
  ServerOptions options;
  ASSERT_TRUE(ParseListen("10.0.0.1:1", options));
  EXPECT_EQ(options.host, "10.0.0.1");
  EXPECT_EQ(options.port, 1);
  ASSERT_TRUE(ParseListen("[::1]:8443", options));
  EXPECT_EQ(options.host, "::1");
  EXPECT_EQ(options.port, 8443);
  for (const char* bad : {"", "8080", ":8080", "host:", "host:80a", "host:65536", "host:123456"}) {
    EXPECT_FALSE(ParseListen(bad, options)) << bad;
  }
}

TEST(PasswordTest, HashesWithArgon2idAndVerifiesOnlyTheRightPassword) {
  AuthOptions cheap{.pwhash_opslimit = 1, .pwhash_memlimit = 8192};
  auto hash = HashPassword("correct horse", cheap);
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword("correct horse", *hash));
  EXPECT_FALSE(VerifyPassword("correct horsf", *hash));
  EXPECT_FALSE(VerifyPassword("correct horse", "not a hash"));
  auto again = HashPassword("correct horse", cheap);
  ASSERT_TRUE(again);
  EXPECT_NE(*hash, *again) << "salted";
}

TEST(SecretTest, SecretsAreRandomAndStoredAsFixedSizeHashes) {
  std::string a = NewSecret(), b = NewSecret();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 4u + 64u);
  EXPECT_EQ(HashSecret(a), HashSecret(a));
  EXPECT_NE(HashSecret(a), HashSecret(b));
  EXPECT_EQ(HashSecret(a).size(), 64u);
  EXPECT_EQ(HashSecret(a).find(a.substr(4, 16)), std::string::npos);
}

TEST(MetricsTest, RendersLabelsEscapedAndHistogramCumulative) {
  Metrics metrics;
  metrics.ObserveRequest("GET", "/x", 200, 0.003);
  metrics.ObserveRequest("GET", "/x", 200, 0.3);
  store::StoreTotals totals;
  totals.route_decisions.push_back({.labels = {"local", "sensitive \"email\"\n"}, .count = 2});
  std::string text = metrics.Render(totals);
  EXPECT_THAT(text, HasSubstr("tandem_route_decisions_total{route=\"local\",reason=\"sensitive "
                              "\\\"email\\\"\\n\"} 2\n"));
  EXPECT_THAT(
      text,
      HasSubstr("tandem_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.005\"} 1\n"));
  EXPECT_THAT(
      text, HasSubstr("tandem_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.5\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("tandem_http_request_duration_seconds_count{route=\"/x\"} 2\n"));
}

}  // namespace
}  // namespace tandem::server
