// The WorkQueueStore of both backends, on a real SQLite file and a real PostgreSQL: claims by
// zone and age, leases that expire and are taken over, renewals that report lost tasks,
// handovers, cancellation, concurrent claims from many connections, and wake-ups.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "store_backend.h"
#include "tandem/core/id.h"

namespace tandem::store {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

constexpr int64_t kLease = 10'000;

class WorkQueueStoreTest : public StoreBackendTest {
 protected:
  // A task row (the queue refers to it) submitted at `now_ms`.
  std::string Submit(int64_t now_ms, Placement placement = Placement::kAnywhere) {
    TaskRecord task{.id = NewId(), .goal = "goal", .created_at_ms = 1, .updated_at_ms = 1};
    EXPECT_TRUE(store_->CreateTask(task));
    Status submitted = queue().SubmitTask(task.id, placement, now_ms);
    EXPECT_TRUE(submitted) << submitted.error().message();
    return task.id;
  }
  std::optional<QueuedTask> Claim(std::string worker, WorkerZone zone, int64_t now_ms) {
    auto claimed = queue().ClaimTask(
        {.worker = std::move(worker), .zone = zone, .now_ms = now_ms, .lease_ms = kLease});
    EXPECT_TRUE(claimed) << claimed.error().message();
    return claimed ? *claimed : std::nullopt;
  }
  WorkQueueStore& queue() { return *store_; }
};

TEST_P(WorkQueueStoreTest, ClaimsTheOldestWaitingTaskOnceWithALease) {
  std::string older = Submit(100);
  std::string newer = Submit(200);
  std::optional<QueuedTask> first = Claim("w1", WorkerZone::kLocal, 1000);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->task_id, older);
  EXPECT_EQ(first->lease_owner, "w1");
  EXPECT_EQ(first->lease_expires_ms, 1000 + kLease);
  EXPECT_EQ(first->claims, 1);
  std::optional<QueuedTask> second = Claim("w2", WorkerZone::kLocal, 1000);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->task_id, newer);
  EXPECT_FALSE(Claim("w3", WorkerZone::kLocal, 1000));
}

TEST_P(WorkQueueStoreTest, CloudWorkersNeverClaimLocalOnlyTasks) {
  std::string sensitive = Submit(100, Placement::kLocalOnly);
  EXPECT_FALSE(Claim("cloud", WorkerZone::kCloud, 1000));
  std::string generic = Submit(200);
  std::optional<QueuedTask> cloud = Claim("cloud", WorkerZone::kCloud, 1000);
  ASSERT_TRUE(cloud);
  EXPECT_EQ(cloud->task_id, generic);
  std::optional<QueuedTask> local = Claim("local", WorkerZone::kLocal, 1000);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->task_id, sensitive);
  EXPECT_EQ(local->placement, Placement::kLocalOnly);
}

TEST_P(WorkQueueStoreTest, AnExpiredLeaseIsTakenOverAndItsOldHolderLearnsItLostTheTask) {
  std::string id = Submit(100);
  ASSERT_TRUE(Claim("dead", WorkerZone::kLocal, 1000));
  EXPECT_FALSE(Claim("other", WorkerZone::kLocal, 1000 + kLease - 1));  // Still leased.
  std::optional<QueuedTask> taken = Claim("other", WorkerZone::kLocal, 1000 + kLease + 1);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->task_id, id);
  EXPECT_EQ(taken->claims, 2);
  auto held = queue().RenewLeases("dead", 1000 + kLease + 2, kLease);
  ASSERT_TRUE(held) << held.error().message();
  EXPECT_THAT(*held, IsEmpty());
}

TEST_P(WorkQueueStoreTest, RenewalExtendsEveryLeaseOfTheWorkerAndRecordsItsHeartbeat) {
  ASSERT_TRUE(queue().SaveWorker({.name = "w1",
                                  .zone = WorkerZone::kCloud,
                                  .capacity = 2,
                                  .host = "node-a",
                                  .pid = 42,
                                  .started_at_ms = 5,
                                  .heartbeat_ms = 5}));
  std::string a = Submit(100);
  std::string b = Submit(200);
  ASSERT_TRUE(Claim("w1", WorkerZone::kCloud, 1000));
  ASSERT_TRUE(Claim("w1", WorkerZone::kCloud, 1000));
  auto held = queue().RenewLeases("w1", 5000, kLease);
  ASSERT_TRUE(held) << held.error().message();
  ASSERT_EQ(held->size(), 2u);
  for (const QueuedTask& entry : *held)
    EXPECT_EQ(entry.lease_expires_ms, 5000 + kLease);
  // Not claimable at the old expiry any more.
  EXPECT_FALSE(Claim("w2", WorkerZone::kLocal, 1000 + kLease + 1));
  auto workers = queue().ListWorkers();
  ASSERT_TRUE(workers);
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ(workers->front().heartbeat_ms, 5000);
  EXPECT_EQ(workers->front().zone, WorkerZone::kCloud);
  EXPECT_EQ(workers->front().capacity, 2);
  EXPECT_EQ(workers->front().host, "node-a");
  EXPECT_EQ(workers->front().pid, 42);
}

TEST_P(WorkQueueStoreTest, AHandoverLeavesTheTaskWaitingForALocalWorker) {
  std::string id = Submit(100);
  ASSERT_TRUE(Claim("cloud", WorkerZone::kCloud, 1000));
  // Someone else's release changes nothing.
  ASSERT_TRUE(queue().ReleaseTask(id, "intruder", Placement::kAnywhere));
  EXPECT_EQ((*queue().GetQueuedTask(id))->lease_owner, "cloud");
  ASSERT_TRUE(queue().ReleaseTask(id, "cloud", Placement::kLocalOnly));
  std::optional<QueuedTask> waiting = *queue().GetQueuedTask(id);
  ASSERT_TRUE(waiting);
  EXPECT_EQ(waiting->lease_owner, "");
  EXPECT_EQ(waiting->placement, Placement::kLocalOnly);
  EXPECT_FALSE(Claim("cloud", WorkerZone::kCloud, 1001));
  std::optional<QueuedTask> local = Claim("local", WorkerZone::kLocal, 1001);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->task_id, id);
}

TEST_P(WorkQueueStoreTest, CompletionRemovesTheTaskOnlyForItsHolder) {
  std::string id = Submit(100);
  ASSERT_TRUE(Claim("w1", WorkerZone::kLocal, 1000));
  ASSERT_TRUE(queue().CompleteTask(id, "w2"));
  EXPECT_TRUE(*queue().GetQueuedTask(id));
  ASSERT_TRUE(queue().CompleteTask(id, "w1"));
  EXPECT_FALSE(*queue().GetQueuedTask(id));
  EXPECT_THAT(*queue().ListQueue(), IsEmpty());
}

TEST_P(WorkQueueStoreTest, CancellingRemovesAWaitingTaskAndFlagsAHeldOne) {
  std::string waiting = Submit(100);
  std::string held = Submit(200);
  ASSERT_TRUE(Claim("w1", WorkerZone::kLocal, 1000));  // Takes `waiting`, the older.
  auto first = queue().CancelQueuedTask(held, 1000);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(*first);  // It was still waiting: gone.
  EXPECT_FALSE(*queue().GetQueuedTask(held));
  auto second = queue().CancelQueuedTask(waiting, 1000);
  ASSERT_TRUE(second);
  EXPECT_FALSE(*second);  // Its worker stops it.
  auto renewed = queue().RenewLeases("w1", 1001, kLease);
  ASSERT_TRUE(renewed);
  EXPECT_THAT(*renewed, ElementsAre(Field(&QueuedTask::cancel_requested, true)));
  auto missing = queue().CancelQueuedTask("no-such-task", 1000);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_P(WorkQueueStoreTest, ResubmittingATaskALiveWorkerHoldsIsRefused) {
  std::string id = Submit(100);
  ASSERT_TRUE(Claim("w1", WorkerZone::kLocal, 1000));
  Status refused = queue().SubmitTask(id, Placement::kAnywhere, 2000);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ((*queue().GetQueuedTask(id))->lease_owner, "w1");
  // Once the lease expired, resubmitting queues it afresh.
  ASSERT_TRUE(queue().SubmitTask(id, Placement::kLocalOnly, 1000 + kLease + 1));
  std::optional<QueuedTask> entry = *queue().GetQueuedTask(id);
  EXPECT_EQ(entry->lease_owner, "");
  EXPECT_EQ(entry->placement, Placement::kLocalOnly);
  EXPECT_FALSE(entry->cancel_requested);
}

TEST_P(WorkQueueStoreTest, ConcurrentClaimsFromManyConnectionsTakeEachTaskOnce) {
  constexpr int kTasks = 120;
  constexpr int kWorkers = 6;
  for (int i = 0; i < kTasks; ++i)
    Submit(i);
  std::mutex mu;
  std::map<std::string, int> claimed;  // task id -> times claimed
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      auto store = Open();
      ASSERT_TRUE(store) << store.error().message();
      while (true) {
        auto entry = (*store)->ClaimTask({.worker = "w" + std::to_string(w),
                                          .zone = WorkerZone::kLocal,
                                          .now_ms = 1000,
                                          .lease_ms = kLease});
        ASSERT_TRUE(entry) << entry.error().message();
        if (!*entry) return;
        std::lock_guard lock(mu);
        ++claimed[(*entry)->task_id];
      }
    });
  }
  for (std::thread& worker : workers)
    worker.join();
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kTasks));
  for (const auto& [id, times] : claimed)
    EXPECT_EQ(times, 1) << id;
}

TEST_P(WorkQueueStoreTest, SubmissionsWakeAListeningWorker) {
  auto signal = queue().ListenForWork();
  ASSERT_TRUE(signal) << signal.error().message();
  auto idle = (*signal)->Wait(std::chrono::milliseconds(50));
  ASSERT_TRUE(idle) << idle.error().message();
  EXPECT_FALSE(*idle);
  auto other = Open();  // Another process's connection submits.
  ASSERT_TRUE(other);
  TaskRecord task{.id = NewId(), .goal = "goal", .created_at_ms = 1, .updated_at_ms = 1};
  ASSERT_TRUE((*other)->CreateTask(task));
  ASSERT_TRUE((*other)->SubmitTask(task.id, Placement::kAnywhere, 100));
  auto woken = (*signal)->Wait(std::chrono::seconds(10));
  ASSERT_TRUE(woken) << woken.error().message();
  // PostgreSQL notifies; SQLite has no notifications and its workers poll.
  EXPECT_EQ(*woken, GetParam() == Backend::kPostgres);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, WorkQueueStoreTest, ::testing::Values(Backend::kSqlite));
INSTANTIATE_TEST_SUITE_P(Postgres, WorkQueueStoreTest, ::testing::Values(Backend::kPostgres));

}  // namespace
}  // namespace tandem::store
