// ApprovalDesk without HTTP: answers reach the waiting thread, queued feedback answers the next
// call at once, cancellation, shutdown and the timeout leave the call unanswered, and the
// `[server] approval_timeout_s` key.
#include "tandem/server/approval_desk.h"

#include <gmock/gmock.h>

#include <future>
#include <thread>

#include "tandem/server/server.h"

namespace tandem::server {
namespace {

using ::testing::HasSubstr;

agent::ApprovalRequest Request(std::string task_id, int64_t step) {
  return {.task_id = std::move(task_id), .step_seq = step, .tool = "send_email"};
}

// Waits on `desk` on another thread once Pending shows the call.
std::future<agent::ApprovalDecision> WaitAsync(ApprovalDesk& desk,
                                               const agent::ApprovalRequest& request,
                                               const CancellationToken& cancel) {
  auto future = std::async(std::launch::async,
                           [&desk, request, &cancel] { return desk.Wait(request, cancel); });
  while (!desk.Pending(request.task_id))
    std::this_thread::yield();
  return future;
}

TEST(ApprovalDeskTest, AnswerReachesTheWaitingCallOnce) {
  ApprovalDesk desk({});
  CancellationToken cancel;
  auto decision = WaitAsync(desk, Request("t1", 3), cancel);
  EXPECT_EQ(desk.Pending("t1")->request.step_seq, 3);
  EXPECT_FALSE(desk.Pending("t2"));
  EXPECT_FALSE(desk.Answer("t2", {.kind = agent::ApprovalKind::kApprove}));
  Result<int64_t> step =
      desk.Answer("t1", {.kind = agent::ApprovalKind::kApproveNext, .count = 2, .by = "alice"});
  ASSERT_TRUE(step);
  EXPECT_EQ(*step, 3);
  EXPECT_FALSE(desk.Answer("t1", {.kind = agent::ApprovalKind::kRefuse})) << "answered already";
  agent::ApprovalDecision got = decision.get();
  EXPECT_EQ(got.kind, agent::ApprovalKind::kApproveNext);
  EXPECT_EQ(got.count, 2);
  EXPECT_EQ(got.by, "alice");
  EXPECT_FALSE(desk.Pending("t1"));
}

TEST(ApprovalDeskTest, QueuedFeedbackAnswersTheNextCallWithoutWaiting) {
  ApprovalDesk desk({});
  CancellationToken cancel;
  EXPECT_FALSE(desk.AnswerOrQueue(
      "t1", {.kind = agent::ApprovalKind::kFeedback, .feedback = "use the wiki"}));
  agent::ApprovalDecision got = desk.Wait(Request("t1", 1), cancel);
  EXPECT_EQ(got.kind, agent::ApprovalKind::kFeedback);
  EXPECT_EQ(got.feedback, "use the wiki");

  desk.AnswerOrQueue("t1", {.kind = agent::ApprovalKind::kFeedback, .feedback = "dropped"});
  desk.Forget("t1");
  auto waiting = WaitAsync(desk, Request("t1", 2), cancel);
  EXPECT_EQ(desk.AnswerOrQueue("t1", {.kind = agent::ApprovalKind::kFeedback, .feedback = "now"}),
            2);
  EXPECT_EQ(waiting.get().feedback, "now");
}

TEST(ApprovalDeskTest, CancellationShutdownAndTimeoutLeaveTheCallUnanswered) {
  ApprovalDesk desk({});
  CancellationToken cancel;
  auto cancelled = WaitAsync(desk, Request("t1", 1), cancel);
  cancel.Cancel();
  desk.Wake();
  agent::ApprovalDecision got = cancelled.get();
  EXPECT_EQ(got.kind, agent::ApprovalKind::kRefuse);
  EXPECT_TRUE(got.stop_run);
  EXPECT_THAT(got.note, HasSubstr("cancelled"));

  CancellationToken other;
  auto stopping = WaitAsync(desk, Request("t2", 1), other);
  desk.Shutdown();
  got = stopping.get();
  EXPECT_TRUE(got.stop_run);
  EXPECT_THAT(got.note, HasSubstr("stopping"));
  EXPECT_TRUE(desk.Wait(Request("t3", 1), other).stop_run) << "no waiting after shutdown";

  ApprovalDesk quick({.timeout = std::chrono::milliseconds(1)});
  got = quick.Wait(Request("t4", 1), other);
  EXPECT_TRUE(got.stop_run);
  EXPECT_THAT(got.note, HasSubstr("no answer within"));
}

Result<ServerOptions> OptionsFrom(const std::string& toml) {
  ConfigLoadOptions load;
  load.environment = std::map<std::string, std::string>{{"TANDEM_HOME", "/tmp/unused"}};
  auto config = ParseConfig(toml, "tandem.toml", load);
  if (!config) return std::unexpected(config.error());
  return ReadServerOptions(*config);
}

TEST(ApprovalDeskTest, TimeoutComesFromTheServerSection) {
  auto defaults = OptionsFrom("");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->approval_timeout_s, 3600);
  auto set = OptionsFrom("[server]\napproval_timeout_s = 120\n");
  ASSERT_TRUE(set) << set.error().message();
  EXPECT_EQ(set->approval_timeout_s, 120);
  for (const char* bad : {"0", "-5", "\"1h\"", "99999999999"}) {
    auto rejected = OptionsFrom(std::string("[server]\napproval_timeout_s = ") + bad + "\n");
    ASSERT_FALSE(rejected) << bad;
    EXPECT_THAT(rejected.error().message(), HasSubstr("approval_timeout_s")) << bad;
  }
}

}  // namespace
}  // namespace tandem::server
