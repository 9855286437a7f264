// web_search against loopback fixtures speaking the SearXNG, Brave and generic JSON formats.
#include "tandem/tools/web_search.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

namespace tandem::tools {
namespace {

using nlohmann::json;

class WebSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/searxng/search", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_param_value("format") != "json") {
        res.status = 403;
        return;
      }
      json body = {{"results",
                    {{{"title", "Result for " + req.get_param_value("q")},
                      {"url", "https://example.org/a"},
                      {"content", "first <strong>snippet</strong> &amp; more"}},
                     {{"title", "Bad"}, {"url", "javascript:alert(1)"}, {"content", "x"}},
                     {{"title", "Second"}, {"url", "https://example.org/b"}}}}};
      res.set_content(body.dump(), "application/json");
    });
    server_.Get("/brave", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("X-Subscription-Token") != "brave-test-key") {
        res.status = 401;
        return;
      }
      json body = {{"web",
                    {{"results",
                      {{{"title", "Brave hit"},
                        {"url", "https://brave.example/x"},
                        {"description", "from brave"}}}}}}};
      res.set_content(body.dump(), "application/json");
    });
    server_.Get("/generic", [](const httplib::Request& req, httplib::Response& res) {
      json body = {{"data",
                    {{"items",
                      {{{"name", "Generic " + req.get_param_value("term")},
                        {"link", "https://generic.example/1"},
                        {"summary", "g"}}}}}}};
      res.set_content(body.dump(), "application/json");
    });
    server_.Get("/broken",
                [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
    server_.Get("/notjson", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html>oops</html>", "text/html");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  SearchProviderOptions Provider(const std::string& kind, const std::string& path) {
    SearchProviderOptions provider;
    provider.kind = kind;
    provider.url = Url(path);
    return provider;
  }
  Result<ToolResult> Search(const std::string& query) {
    auto tool = MakeWebSearchTool(
        options_,
        Secrets(std::map<std::string, std::string>{{"BRAVE_TEST_KEY", "brave-test-key"}}));
    return tool->Invoke({{"query", query}}, context_);
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  SearchToolOptions options_;
  ToolContext context_;
};

TEST_F(WebSearchTest, SearxngResultsAreNormalised) {
  options_.providers = {Provider("searxng", "/searxng")};
  auto result = Search("tandem agents");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->output,
            "1. Result for tandem agents\n   https://example.org/a\n   first snippet & more\n"
            "2. Second\n   https://example.org/b\n[via searxng]\n");
  EXPECT_EQ(result->data.size(), 2u);
}

TEST_F(WebSearchTest, BraveSendsTheKeyFromTheEnvironment) {
  SearchProviderOptions brave = Provider("brave", "/brave");
  brave.key_env = "BRAVE_TEST_KEY";
  options_.providers = {brave};
  auto result = Search("q");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_NE(result->output.find("Brave hit"), std::string::npos);
  brave.key_env = "MISSING_KEY";
  options_.providers = {brave};
  auto missing = Search("q");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("MISSING_KEY"), std::string::npos);
}

TEST_F(WebSearchTest, GenericEndpointUsesConfiguredFields) {
  SearchProviderOptions generic = Provider("generic", "/generic?term={query}");
  generic.results_pointer = "/data/items";
  generic.title_field = "name";
  generic.url_field = "link";
  generic.snippet_field = "summary";
  options_.providers = {generic};
  auto result = Search("a b&c");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_NE(result->output.find("Generic a b&c"), std::string::npos) << result->output;
}

TEST_F(WebSearchTest, FallsBackToTheNextProvider) {
  options_.providers = {Provider("generic", "/broken"), Provider("generic", "/notjson"),
                        Provider("searxng", "/searxng")};
  auto result = Search("x");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_NE(result->output.find("Result for x"), std::string::npos);
}

TEST_F(WebSearchTest, AllProvidersFailingIsOneClearError) {
  options_.providers = {Provider("generic", "/broken"), Provider("generic", "/notjson")};
  auto result = Search("x");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message().find("HTTP 500"), std::string::npos);
  EXPECT_NE(result.error().message().find("not JSON"), std::string::npos);
  options_.providers.clear();
  EXPECT_EQ(Search("x").error().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tandem::tools
