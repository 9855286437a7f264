// cluster::Worker on threads of the test, against a real SQLite store shared through separate
// connections: runs to the end, placement and handovers (audited), a clean stop that requeues,
// the claim limit for tasks that crash their workers, and a lease taken over by another worker.
#include "tandem/cluster/worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "support/scripted_model_access.h"
#include "support/temp_dir.h"
#include "tandem/cluster/status.h"
#include "tandem/cluster/submission.h"
#include "tandem/core/config.h"
#include "tandem/router/policy.h"
#include "tandem/tools/file_tools.h"

namespace tandem::cluster {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using Action = Result<std::pair<std::string, json>>;

// Writes one file per step until step 3, then finishes.
Action ThreeSteps(const agent::CallContext& call) {
  if (call.step_seq < 3) {
    return std::pair<std::string, json>{
        "write_file", {{"path", fmt::format("part{}.txt", call.step_seq)}, {"content", "x"}}};
  }
  return std::pair<std::string, json>{"finish", {{"summary", "done"}}};
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore();
    ASSERT_TRUE(tools::RegisterFileTools(registry_));
    ConfigLoadOptions load;
    load.environment = std::map<std::string, std::string>{};
    auto config = ParseConfig("[routing]\ngeneric = \"cloud\"\n", "tandem.toml", load);
    ASSERT_TRUE(config) << config.error().message();
    auto policy = router::Policy::Create(*config);
    ASSERT_TRUE(policy) << policy.error().message();
    policy_ = std::move(*policy);
  }
  void TearDown() override {
    for (auto& running : running_) {
      running->stop.Cancel();
      running->thread.join();
    }
  }

  std::unique_ptr<store::TaskStore> OpenStore() {
    auto store = store::TaskStore::Open(dir_.path() / "tandem.db");
    EXPECT_TRUE(store) << store.error().message();
    return store ? std::move(*store) : nullptr;
  }

  // Creates a task for `goal` (tainted by the policy when it is sensitive) and queues it.
  std::string Submit(const std::string& goal) {
    agent::Controller creator(
        {.store = store_.get(), .models = nullptr, .tools = &registry_, .policy = policy_.get()});
    auto task = creator.Create(goal, dir_.path() / "ws" / std::to_string(++tasks_), {});
    EXPECT_TRUE(task) << task.error().message();
    EXPECT_TRUE(SubmitToCluster(*store_, *task, SystemClock()));
    return task->id;
  }

  struct Running {
    std::unique_ptr<store::TaskStore> store;
    std::unique_ptr<Worker> worker;
    CancellationToken stop;
    std::thread thread;
  };

  // Starts a worker on its own store connection.
  Running& Start(const std::string& name, store::WorkerZone zone, agent::ModelAccess& models,
                 WorkerOptions options = {}) {
    auto running = std::make_unique<Running>();
    running->store = OpenStore();
    options.name = name;
    options.zone = zone;
    options.idle_check = std::chrono::milliseconds(50);
    running->worker = std::make_unique<Worker>(WorkerDeps{.agent = {.store = running->store.get(),
                                                                    .models = &models,
                                                                    .tools = &registry_,
                                                                    .policy = policy_.get()}},
                                               options);
    Running& started = *running;
    started.thread = std::thread([&started] { EXPECT_TRUE(started.worker->Run(started.stop)); });
    running_.push_back(std::move(running));
    return started;
  }
  void Stop(Running& running) {
    running.stop.Cancel();
    running.thread.join();
    running_.erase(std::find_if(running_.begin(), running_.end(),
                                [&](const auto& r) { return r.get() == &running; }));
  }

  template <typename Predicate>
  bool WaitFor(Predicate done) {
    for (int i = 0; i < 1000 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  }
  store::TaskRecord Task(const std::string& id) { return **store_->GetTask(id); }
  std::vector<std::string> AuditKinds(const std::string& id) {
    std::vector<std::string> kinds;
    Result<std::vector<store::AuditRecord>> records = store_->ListAudit(id);
    EXPECT_TRUE(records);
    for (const store::AuditRecord& record : records.value_or(std::vector<store::AuditRecord>{}))
      kinds.push_back(record.kind);
    return kinds;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::TaskStore> store_;
  tools::Registry registry_;
  std::unique_ptr<router::Policy> policy_;
  std::vector<std::unique_ptr<Running>> running_;
  int tasks_ = 0;
};

TEST_F(WorkerTest, RunsQueuedTasksToTheEndAndTakesThemOffTheQueue) {
  testing::ScriptedModelAccess models(ThreeSteps);
  std::vector<std::string> ids = {Submit("Write parts"), Submit("Write parts"),
                                  Submit("Write parts")};
  Start("w1", store::WorkerZone::kLocal, models, {.capacity = 2});
  for (const std::string& id : ids) {
    ASSERT_TRUE(WaitFor([&] { return Task(id).status == store::TaskStatus::kSucceeded; }))
        << Task(id).stop_reason;
    EXPECT_THAT(AuditKinds(id), ::testing::Contains("worker_claim"));
  }
  EXPECT_TRUE(WaitFor([&] { return store_->ListQueue()->empty(); }));
  EXPECT_EQ(models.calls().size(), 9u);
  auto status = ReadClusterStatus(*store_, ToUnixMillis(SystemClock().Now()));
  ASSERT_TRUE(status);
  ASSERT_EQ(status->workers.size(), 1u);
  EXPECT_EQ(status->workers[0].state, "running");
  EXPECT_EQ(status->workers[0].worker.capacity, 2);
}

TEST_F(WorkerTest, SensitiveTasksArePlacedOnLocalWorkersOnly) {
  testing::ScriptedModelAccess models(ThreeSteps);
  std::string secret = Submit("Call +86 138 0013 8000 about the contract");
  EXPECT_EQ((*store_->GetQueuedTask(secret))->placement, store::Placement::kLocalOnly);
  Running& cloud = Start("cloud", store::WorkerZone::kCloud, models);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(models.calls().empty());
  EXPECT_EQ((*store_->GetQueuedTask(secret))->lease_owner, "");
  Stop(cloud);
  Start("local", store::WorkerZone::kLocal, models);
  ASSERT_TRUE(WaitFor([&] { return Task(secret).status == store::TaskStatus::kSucceeded; }));
  for (const auto& call : models.calls())
    EXPECT_TRUE(call.tainted);
}

TEST_F(WorkerTest, ACloudWorkerHandsOverATaintedTaskItClaimedWithoutRunningIt) {
  testing::ScriptedModelAccess models(ThreeSteps);
  std::string secret = Submit("Call +86 138 0013 8000 about the contract");
  // Queued for anywhere (as if the taint grew after it was queued): the claim check catches it.
  ASSERT_TRUE(store_->SubmitTask(secret, store::Placement::kAnywhere, 1));
  Start("cloud", store::WorkerZone::kCloud, models);
  ASSERT_TRUE(WaitFor([&] {
    auto entry = store_->GetQueuedTask(secret);
    return entry && *entry && (*entry)->placement == store::Placement::kLocalOnly &&
           (*entry)->lease_owner.empty();
  }));
  EXPECT_TRUE(models.calls().empty());
  EXPECT_THAT(AuditKinds(secret), ::testing::ElementsAre("worker_claim", "handover"));
  EXPECT_EQ(Task(secret).status, store::TaskStatus::kPending);
  EXPECT_THAT(Task(secret).stop_reason, HasSubstr("handed over to a local worker"));
}

TEST_F(WorkerTest, ATaskThatTurnsSensitiveOnACloudWorkerFinishesOnALocalOne) {
  std::filesystem::create_directories(dir_.path() / "ws/1");
  dir_.Write("ws/1/notes.txt", "Contact jane.doe@example.com about the offer.\n");
  testing::ScriptedModelAccess cloud_models([](const agent::CallContext&) -> Action {
    return std::pair<std::string, json>{"read_file", {{"path", "notes.txt"}}};
  });
  testing::ScriptedModelAccess local_models([](const agent::CallContext&) -> Action {
    return std::pair<std::string, json>{"finish", {{"summary", "summarised"}}};
  });
  std::string id = Submit("Summarise the notes");
  Running& cloud = Start("cloud", store::WorkerZone::kCloud, cloud_models);
  ASSERT_TRUE(WaitFor([&] {
    auto entry = store_->GetQueuedTask(id);
    return entry && *entry && (*entry)->placement == store::Placement::kLocalOnly;
  }));
  Stop(cloud);
  ASSERT_EQ(cloud_models.calls().size(), 1u);
  EXPECT_FALSE(cloud_models.calls()[0].tainted);
  Start("local", store::WorkerZone::kLocal, local_models);
  ASSERT_TRUE(WaitFor([&] { return Task(id).status == store::TaskStatus::kSucceeded; }));
  ASSERT_EQ(local_models.calls().size(), 1u);
  EXPECT_TRUE(local_models.calls()[0].tainted);
  EXPECT_THAT(AuditKinds(id), ::testing::ElementsAre("worker_claim", "handover", "worker_claim"));
  json handover = json::parse((*store_->ListAudit(id))[1].payload);
  EXPECT_EQ(handover["from_worker"], "cloud");
  EXPECT_EQ(handover["to_zone"], "local");
}

TEST_F(WorkerTest, AStoppingWorkerPutsItsRunningTaskBackInTheQueue) {
  std::atomic<bool> second_call{false};
  testing::ScriptedModelAccess models([&](const agent::CallContext& call) -> Action {
    if (call.step_seq == 2) {
      second_call = true;
      while (!call.cancel->IsCancelled())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return MakeError(ErrorCode::kCancelled, "cancelled");
    }
    return ThreeSteps(call);
  });
  std::string id = Submit("Write parts");
  Running& worker = Start("w1", store::WorkerZone::kLocal, models);
  ASSERT_TRUE(WaitFor([&] { return second_call.load(); }));
  Stop(worker);
  EXPECT_EQ(Task(id).status, store::TaskStatus::kPending);
  EXPECT_THAT(Task(id).stop_reason, HasSubstr("worker w1 stopped"));
  auto entry = store_->GetQueuedTask(id);
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->lease_owner, "");
  auto workers = store_->ListWorkers();
  ASSERT_TRUE(workers);
  EXPECT_TRUE(workers->front().stopped);
  // Another worker continues from the committed step 1.
  testing::ScriptedModelAccess next(ThreeSteps);
  Start("w2", store::WorkerZone::kLocal, next);
  ASSERT_TRUE(WaitFor([&] { return Task(id).status == store::TaskStatus::kSucceeded; }));
  EXPECT_EQ(next.calls().front().step_seq, 2);
}

TEST_F(WorkerTest, ATaskClaimedMoreOftenThanTheLimitIsFailed) {
  testing::ScriptedModelAccess models(ThreeSteps);
  std::string id = Submit("Write parts");
  // Five workers claimed it and died (leases of zero length expire at once).
  for (int64_t t = 1; t <= 5; ++t) {
    auto claimed = store_->ClaimTask(
        {.worker = "ghost", .zone = store::WorkerZone::kLocal, .now_ms = t, .lease_ms = 0});
    ASSERT_TRUE(claimed && *claimed);
  }
  Start("w1", store::WorkerZone::kLocal, models, {.max_claims = 5});
  ASSERT_TRUE(WaitFor([&] { return Task(id).status == store::TaskStatus::kFailed; }));
  EXPECT_THAT(Task(id).stop_reason, HasSubstr("given up after 5 claims"));
  EXPECT_TRUE(models.calls().empty());
  EXPECT_TRUE(WaitFor([&] { return store_->ListQueue()->empty(); }));
}

TEST_F(WorkerTest, AWorkerWhoseLeaseWasTakenOverStopsAndLeavesTheTaskToItsNewHolder) {
  std::atomic<bool> waiting{false};
  testing::ScriptedModelAccess models([&](const agent::CallContext& call) -> Action {
    waiting = true;
    while (!call.cancel->IsCancelled())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return MakeError(ErrorCode::kCancelled, "cancelled");
  });
  std::string id = Submit("Write parts");
  Start("w1", store::WorkerZone::kLocal, models, {.heartbeat = std::chrono::milliseconds(50)});
  ASSERT_TRUE(WaitFor([&] { return waiting.load(); }));
  // Another worker took the task over (as after a pause longer than the lease).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "tandem.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE task_queue SET lease_owner = 'thief'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  // The run stops; the entry stays the new holder's.
  ASSERT_TRUE(WaitFor([&] {
    auto status = ReadClusterStatus(*store_, ToUnixMillis(SystemClock().Now()));
    return status && status->workers.size() == 1 && status->workers[0].leased_tasks.empty() &&
           Task(id).status != store::TaskStatus::kRunning;
  }));
  auto entry = store_->GetQueuedTask(id);
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->lease_owner, "thief");
}

TEST(PlacementTest, OnlyAnUntaintedTaskMayRunAnywhere) {
  EXPECT_EQ(PlacementOf({.taint = ""}), store::Placement::kAnywhere);
  EXPECT_EQ(PlacementOf({.taint = "[]"}), store::Placement::kAnywhere);
  EXPECT_EQ(PlacementOf({.taint = R"([{"source":"goal","origin":"","reasons":["phone"]}])"}),
            store::Placement::kLocalOnly);
  EXPECT_EQ(PlacementOf({.taint = "not json"}), store::Placement::kLocalOnly);  // Fails closed.
}

}  // namespace
}  // namespace tandem::cluster
