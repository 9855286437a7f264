// The embedded web UI over real HTTP: index.html for client routes, hashed assets with a long
// cache, the Content-Security-Policy on both, 404s that never fall back to the app, and the
// per-task routing decisions the UI shows.
#include <gmock/gmock.h>

#include <regex>

#include "server_fixture.h"
#include "tandem/server/web_assets.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class WebUiTest : public ServerTest {
 protected:
  static std::string Header(const HttpResult& r, const std::string& name) {
    auto it = r.headers.find(name);
    return it == r.headers.end() ? "" : it->second;
  }
  static std::string IndexHtml() {
    const WebAsset* index = FindWebAsset("/index.html");
    return index ? std::string(reinterpret_cast<const char*>(index->data), index->size) : "";
  }
};

TEST_F(WebUiTest, ClientRoutesAnswerWithTheIndexUncachedUnderAStrictPolicy) {
  for (const std::string path : {"/", "/login", "/tasks", "/tasks/01HX0ABC", "/new", "/schedules",
                                 "/cost", "/audit", "/providers"}) {
    HttpResult r = Get(path, "");
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_THAT(Header(r, "Content-Type"), StartsWith("text/html")) << path;
    EXPECT_EQ(Header(r, "Cache-Control"), "no-cache") << path;
    std::string csp = Header(r, "Content-Security-Policy");
    EXPECT_THAT(csp, HasSubstr("default-src 'none'")) << path;
    EXPECT_THAT(csp, HasSubstr("script-src 'self';")) << path;
    EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'")) << path;
    EXPECT_THAT(csp, ::testing::Not(HasSubstr("unsafe-inline"))) << path;
    EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff") << path;
    if (!WebAssets().empty()) {
      EXPECT_EQ(r.body, IndexHtml()) << path;
    } else {
      EXPECT_THAT(r.body, HasSubstr("built without the web UI")) << path;
    }
  }
}

TEST_F(WebUiTest, AssetsNamedByTheIndexAreServedWithALongCache) {
  if (WebAssets().empty()) GTEST_SKIP() << "this build has no web UI (npm missing at configure)";
  std::string index = IndexHtml();
  std::regex asset_ref("/assets/[A-Za-z0-9._-]+\\.(js|css|svg)");
  int seen = 0;
  for (auto it = std::sregex_iterator(index.begin(), index.end(), asset_ref);
       it != std::sregex_iterator(); ++it) {
    std::string path = it->str();
    HttpResult r = Get(path, "");
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(Header(r, "Cache-Control"), "public, max-age=31536000, immutable") << path;
    EXPECT_THAT(Header(r, "Content-Security-Policy"), HasSubstr("script-src 'self'"));
    const WebAsset* asset = FindWebAsset(path);
    ASSERT_NE(asset, nullptr);
    EXPECT_EQ(r.body.size(), asset->size);
    EXPECT_EQ(Header(r, "Content-Type"), WebContentType(path));
    ++seen;
  }
  EXPECT_EQ(seen, 3) << "index.html names a script, a stylesheet and an icon:\n" << index;
}

TEST_F(WebUiTest, UnknownPathsAre404AndNeverTheApp) {
  for (const std::string path : {"/assets/missing.js", "/assets/../index.html", "/tasks/a/b",
                                 "/api/nothing", "/index.html.bak", "/admin"}) {
    HttpResult r = Get(path, root_);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("<div id=\"app\">"))) << path;
  }
  HttpResult api = Get("/api/me", "");
  EXPECT_EQ(api.status, 401) << "API routes keep answering JSON";
  EXPECT_THAT(api.body, HasSubstr("unauthenticated"));
}

TEST(WebUiAssetsTest, ContentTypesFollowTheExtension) {
  EXPECT_EQ(WebContentType("/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(WebContentType("/assets/a-1.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(WebContentType("/assets/a-1.css"), "text/css; charset=utf-8");
  EXPECT_EQ(WebContentType("/assets/logo-2.svg"), "image/svg+xml");
  EXPECT_EQ(WebContentType("/assets/blob"), "application/octet-stream");
  EXPECT_EQ(FindWebAsset("/nope"), nullptr);
}

TEST_F(WebUiTest, RoutingListsEachModelCallsDecisionForThoseWhoSeeTheTask) {
  std::string id = StartTask(alice_, "Write a report");
  ASSERT_FALSE(id.empty());
  json detail = WaitForEnd(alice_, id);
  ASSERT_EQ(detail["status"], "succeeded");
  HttpResult r = Get("/api/tasks/" + id + "/routing", alice_);
  ASSERT_EQ(r.status, 200) << r.body;
  json routing = r.Json();
  ASSERT_TRUE(routing.is_array());
  ASSERT_EQ(routing.size(), detail["totals"]["model_calls"].get<size_t>());
  for (size_t i = 0; i < routing.size(); ++i) {
    const json& decision = routing[i];
    EXPECT_EQ(decision["step"], static_cast<int>(i) + 1) << "one call a step here";
    EXPECT_EQ(decision["route"], "cloud");
    EXPECT_EQ(decision["provider"], "cloud");
    EXPECT_EQ(decision["outcome"], "ok");
    EXPECT_FALSE(decision["reason"].get<std::string>().empty());
    EXPECT_TRUE(decision["rules"].is_array());
    EXPECT_GT(decision["time_ms"].get<int64_t>(), 0);
  }
  EXPECT_EQ(Get("/api/tasks/" + id + "/routing", bob_).status, 404) << "a private task";
  EXPECT_EQ(Get("/api/tasks/" + id + "/routing", root_).status, 200);
  EXPECT_EQ(Get("/api/tasks/" + id + "/routing", "").status, 401);
  EXPECT_EQ(Get("/api/tasks/nope/routing", alice_).status, 404);
}

}  // namespace
}  // namespace tandem::server
