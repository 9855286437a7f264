// Authentication and authorisation over real HTTP: tokens, sessions, CSRF, roles, lockout,
// request limits, health and metrics.
#include <gmock/gmock.h>

#include "server_fixture.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class AuthApiTest : public ServerTest {};

std::string SessionCookie(const HttpResult& login) {
  for (const auto& [name, value] : login.headers) {
    if (name == "Set-Cookie") return value.substr(0, value.find(';'));
  }
  return "";
}

TEST_F(AuthApiTest, HealthIsPublicAndEverythingElseNeedsAToken) {
  EXPECT_EQ(Get("/healthz", "").status, 200);
  EXPECT_EQ(Get("/readyz", "").status, 200);
  for (const char* path : {"/api/tasks", "/metrics", "/api/me", "/api/tasks/x/events"}) {
    HttpResult anonymous = Get(path, "");
    EXPECT_EQ(anonymous.status, 401) << path;
    EXPECT_EQ(anonymous.Json()["error"]["code"], "unauthenticated") << path;
  }
  EXPECT_EQ(Post("/api/tasks", "", {{"goal", "x"}}).status, 401);
}

TEST_F(AuthApiTest, UnknownOrMalformedTokensAreRejected) {
  EXPECT_EQ(Get("/api/me", "tdm_" + std::string(64, '0')).status, 401);
  EXPECT_EQ(Get("/api/me", "not a token at all").status, 401);
  EXPECT_EQ(Get("/api/me", "", {{"Authorization", "Basic cm9vdDpwdw=="}}).status, 401);
  HttpResult me = Get("/api/me", alice_);
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.Json()["user"], "alice");
  EXPECT_EQ(me.Json()["role"], "member");
}

TEST_F(AuthApiTest, ViewersCannotStartCancelOrResume) {
  HttpResult start = Post("/api/tasks", victor_, {{"goal", "Write a report"}});
  EXPECT_EQ(start.status, 403);
  EXPECT_EQ(start.Json()["error"]["code"], "permission_denied");
  std::string id = StartTask(alice_, "Write a report", /*shared=*/true);
  ASSERT_FALSE(id.empty());
  WaitForEnd(alice_, id);
  EXPECT_EQ(Post("/api/tasks/" + id + "/cancel", victor_, json::object()).status, 403);
  EXPECT_EQ(Post("/api/tasks/" + id + "/resume", victor_, json::object()).status, 403);
  EXPECT_EQ(Get("/api/tasks/" + id, victor_).status, 200) << "viewers still see shared tasks";
}

TEST_F(AuthApiTest, SessionCookieIsHttpOnlyStrictAndNeedsCsrfToChangeState) {
  HttpResult login =
      Post("/api/login", "", {{"user", "alice"}, {"password", "correct horse battery"}});
  ASSERT_EQ(login.status, 200) << login.body;
  std::string set_cookie;
  for (const auto& [name, value] : login.headers) {
    if (name == "Set-Cookie") set_cookie = value;
  }
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
  std::string cookie = SessionCookie(login);
  std::string csrf = login.Json()["csrf_token"];
  ASSERT_FALSE(csrf.empty());

  EXPECT_EQ(Get("/api/me", "", {{"Cookie", cookie}}).status, 200);
  HttpResult no_csrf = Post("/api/tasks", "", {{"goal", "Write"}}, {{"Cookie", cookie}});
  EXPECT_EQ(no_csrf.status, 403);
  EXPECT_EQ(no_csrf.Json()["error"]["code"], "csrf");
  HttpResult wrong_csrf =
      Post("/api/tasks", "", {{"goal", "Write"}}, {{"Cookie", cookie}, {"X-CSRF-Token", "tdm_x"}});
  EXPECT_EQ(wrong_csrf.status, 403);
  HttpResult with_csrf =
      Post("/api/tasks", "", {{"goal", "Write"}}, {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  EXPECT_EQ(with_csrf.status, 201) << with_csrf.body;
  WaitForEnd(alice_, with_csrf.Json()["id"]);

  // After sign-out the cookie is worthless.
  EXPECT_EQ(
      Post("/api/logout", "", json::object(), {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}).status,
      200);
  EXPECT_EQ(Get("/api/me", "", {{"Cookie", cookie}}).status, 401);
}

TEST_F(AuthApiTest, WrongPasswordAndUnknownUserGetTheSameAnswerAndRepeatedFailuresLockOut) {
  HttpResult unknown = Post("/api/login", "", {{"user", "mallory"}, {"password", "guess1234"}});
  HttpResult wrong = Post("/api/login", "", {{"user", "bob"}, {"password", "guess1234"}});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.body, wrong.body);
  EXPECT_EQ(Post("/api/login", "", {{"user", "bob"}, {"password", "guess5678"}}).status, 401);
  EXPECT_EQ(Post("/api/login", "", {{"user", "bob"}, {"password", "guess9012"}}).status, 401);
  // Third failure reached max_failed_logins: even the right password is refused for now.
  HttpResult locked =
      Post("/api/login", "", {{"user", "bob"}, {"password", "correct horse battery"}});
  EXPECT_EQ(locked.status, 429);
  // Other users are unaffected.
  EXPECT_EQ(
      Post("/api/login", "", {{"user", "alice"}, {"password", "correct horse battery"}}).status,
      200);
  EXPECT_EQ(Post("/api/login", "", {{"user", "alice"}}).status, 400);
  EXPECT_EQ(Post("/api/login", "", json::array()).status, 400);
}

TEST_F(AuthApiTest, OversizedBodiesAndBadInputGetClearErrors) {
  std::string big(options_.max_body_bytes + 1, 'a');
  httplib::Client client("127.0.0.1", server_->port());
  auto result =
      client.Post("/api/tasks", {{"Authorization", "Bearer " + alice_}}, big, "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 413);
  EXPECT_EQ(Post("/api/tasks", alice_, {{"goal", 5}}).status, 400);
  EXPECT_EQ(Post("/api/tasks", alice_, {{"goal", "x"}, {"workspace", "../etc"}}).status, 400);
  EXPECT_EQ(Post("/api/tasks", alice_, {{"goal", "x"}, {"budget", {{"usd", -1}}}}).status, 400);
  EXPECT_EQ(Post("/api/tasks", alice_, {{"goal", "x"}, {"budget", {{"yen", 1}}}}).status, 400);
  EXPECT_EQ(Get("/api/nothing-here", alice_).status, 404);
}

TEST_F(AuthApiTest, MetricsReportTasksModelCallsRoutingAndLatency) {
  std::string id = StartTask(alice_, "Write a report");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
  HttpResult metrics = Get("/metrics", victor_);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("tandem_tasks{status=\"succeeded\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("tandem_steps{status=\"done\"} 2\n"));
  EXPECT_THAT(metrics.body, HasSubstr("tandem_server_tasks_running 0\n"));
  EXPECT_THAT(metrics.body, HasSubstr("tandem_logins_total{result=\"failed\"} 0\n"));
  EXPECT_THAT(
      metrics.body,
      HasSubstr("tandem_model_calls_total{zone=\"cloud\",provider=\"cloud\",outcome=\"ok\"} 2\n"));
  EXPECT_THAT(metrics.body, HasSubstr("tandem_model_cost_usd_total{zone=\"cloud\""));
  EXPECT_THAT(metrics.body, HasSubstr("tandem_route_decisions_total{route=\"cloud\""));
  EXPECT_THAT(metrics.body, HasSubstr("tandem_http_request_duration_seconds_bucket{route=\"/api/"
                                      "tasks\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(
      metrics.body,
      HasSubstr(
          "tandem_http_requests_total{method=\"POST\",route=\"/api/tasks\",status=\"201\"} 1\n"));
}

}  // namespace
}  // namespace tandem::server
