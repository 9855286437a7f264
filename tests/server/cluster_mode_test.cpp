// `[server] run_tasks = "workers"`: the server queues tasks in the store and a worker (here a
// cluster::Worker on threads of the test, against the same SQLite file through its own store)
// runs them; the API shows them, streams their events, cancels and resumes them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "server_fixture.h"
#include "tandem/cluster/worker.h"

namespace tandem::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ClusterModeTest : public ServerTest {
 protected:
  void SetUp() override {
    options_.run_on_workers = true;
    ServerTest::SetUp();
  }
  void TearDown() override {
    StopWorker();
    ServerTest::TearDown();
  }

  void StartWorker() {
    auto store = store::OpenTaskStore((dir_.path() / "home/tandem.db").string(), dir_.path());
    ASSERT_TRUE(store) << store.error().message();
    worker_store_ = std::move(*store);
    worker_ = std::make_unique<cluster::Worker>(
        cluster::WorkerDeps{.agent = {.store = worker_store_.get(),
                                      .models = models_.get(),
                                      .tools = &registry_,
                                      .policy = &gateway_->policy(),
                                      .tools_config = &tools_config_}},
        cluster::WorkerOptions{.name = "w1",
                               .zone = store::WorkerZone::kLocal,
                               .idle_check = std::chrono::milliseconds(100)});
    thread_ = std::thread([this] { ASSERT_TRUE(worker_->Run(stop_)); });
  }
  void StopWorker() {
    stop_.Cancel();
    if (thread_.joinable()) thread_.join();
  }

  std::unique_ptr<store::TaskStore> worker_store_;
  std::unique_ptr<cluster::Worker> worker_;
  CancellationToken stop_;
  std::thread thread_;
};

TEST_F(ClusterModeTest, AQueuedTaskWaitsForAWorkerAndFinishesOnIt) {
  std::string id = StartTask(alice_, "Write a report");
  ASSERT_FALSE(id.empty());
  json queued = Get("/api/tasks/" + id, alice_).Json();
  EXPECT_EQ(queued["status"], "pending");
  EXPECT_THAT(queued["stop_reason"].get<std::string>(), HasSubstr("queued for a worker"));
  EXPECT_EQ(model_.calls(), 0);  // Nothing runs in the server.
  StartWorker();
  json done = WaitForEnd(alice_, id);
  EXPECT_EQ(done["status"], "succeeded") << done.dump();
  // The event stream of a finished worker-run task replays and ends.
  HttpResult events = Get("/api/tasks/" + id + "/events", alice_);
  EXPECT_EQ(events.status, 200);
  EXPECT_THAT(events.body, HasSubstr("event: task_finished"));
  // Nothing left in the queue.
  auto queue = store_->ListQueue();
  ASSERT_TRUE(queue);
  EXPECT_TRUE(queue->empty());
}

TEST_F(ClusterModeTest, CancellingAWaitingTaskStopsItAndResumeQueuesItAgain) {
  std::string id = StartTask(alice_, "Write a report");
  ASSERT_FALSE(id.empty());
  HttpResult cancel = Post("/api/tasks/" + id + "/cancel", alice_, json::object());
  EXPECT_EQ(cancel.status, 202) << cancel.body;
  json stopped = Get("/api/tasks/" + id, alice_).Json();
  EXPECT_EQ(stopped["status"], "stopped");
  EXPECT_EQ(Post("/api/tasks/" + id + "/cancel", alice_, json::object()).status, 409);
  ASSERT_EQ(Post("/api/tasks/" + id + "/resume", alice_, {{"add_budget_usd", 1.0}}).status, 202);
  // The added budget travels in the task's settings to the worker.
  auto task = store_->GetTask(id);
  ASSERT_TRUE(task && *task);
  EXPECT_EQ(agent::StoredRunOptions(**task).budget.usd, 1.0);
  StartWorker();
  EXPECT_EQ(WaitForEnd(alice_, id)["status"], "succeeded");
}

}  // namespace
}  // namespace tandem::server
