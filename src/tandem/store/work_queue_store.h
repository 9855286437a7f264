// WorkQueueStore: the queue that `tandem worker` processes take tasks from. A submitted task
// waits in the queue until a worker whose zone its placement allows claims it; the claim is a
// lease the worker renews by heartbeat. A worker that dies stops renewing, its lease expires and
// another allowed worker claims the task, which resumes from its last committed step.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::store {

// Where a queued task may run. Local workers may run every task; cloud workers only tasks
// whose placement is kAnywhere (nothing sensitive entered them).
enum class Placement { kAnywhere, kLocalOnly };
std::string_view PlacementName(Placement placement);  // "anywhere", "local"
std::optional<Placement> ParsePlacement(std::string_view name);

// A worker's zone: the machine's side of the privacy boundary.
enum class WorkerZone { kLocal, kCloud };
std::string_view WorkerZoneName(WorkerZone zone);  // "local", "cloud"
std::optional<WorkerZone> ParseWorkerZone(std::string_view name);
// Whether a worker in `zone` may run a task placed `placement`.
bool MayRun(WorkerZone zone, Placement placement);

struct QueuedTask {
  std::string task_id;
  Placement placement = Placement::kAnywhere;
  std::string lease_owner;        // Name of the worker holding it; empty while it waits.
  int64_t lease_expires_ms = 0;   // Unix ms; a lease past it may be claimed again.
  int64_t enqueued_at_ms = 0;     // Oldest first.
  int64_t claims = 0;             // Times a worker has claimed it.
  bool cancel_requested = false;  // Its worker stops it at the next safe point.
};

struct WorkerRecord {
  std::string name;  // Unique in the cluster.
  WorkerZone zone = WorkerZone::kLocal;
  int capacity = 1;  // Tasks it runs at once.
  std::string host;
  int64_t pid = 0;
  int64_t started_at_ms = 0;
  int64_t heartbeat_ms = 0;  // Last lease renewal.
  bool stopped = false;      // Left cleanly (its tasks released).
};

struct ClaimRequest {
  std::string worker;
  WorkerZone zone = WorkerZone::kLocal;
  int64_t now_ms = 0;
  int64_t lease_ms = 0;  // The lease runs until now_ms + lease_ms.
};

// Blocks a worker until work may be there. PostgreSQL wakes it with LISTEN/NOTIFY; backends
// without notifications return after the timeout (the worker then polls).
class WorkSignal {
 public:
  virtual ~WorkSignal() = default;
  // True when notified, false when `timeout` passed. Errors when the notification connection
  // is lost (the caller opens a new one).
  virtual Result<bool> Wait(std::chrono::milliseconds timeout) = 0;
};

// Thread-safety is the implementation's to state (TaskStore is thread-safe).
class WorkQueueStore {
 public:
  virtual ~WorkQueueStore() = default;

  // Queues the task (again) with `placement`: a waiting entry, no lease, no cancel request.
  // Wakes waiting workers.
  virtual Status SubmitTask(std::string_view task_id, Placement placement, int64_t now_ms) = 0;
  // Leases the oldest task that waits or whose lease expired and that `request.zone` may run;
  // nullopt when there is none. Concurrent claims never return the same task.
  virtual Result<std::optional<QueuedTask>> ClaimTask(const ClaimRequest& request) = 0;
  // Extends every lease `worker` holds to now_ms + lease_ms and records its heartbeat. Returns
  // the entries it still holds (a task missing from them was lost: another worker took it after
  // the lease expired, or it was dequeued).
  virtual Result<std::vector<QueuedTask>> RenewLeases(std::string_view worker, int64_t now_ms,
                                                      int64_t lease_ms) = 0;
  // Ends `worker`'s lease and leaves the task waiting with `placement` (a handover or a clean
  // stop), waking waiting workers. Does nothing when the worker no longer holds it.
  virtual Status ReleaseTask(std::string_view task_id, std::string_view worker,
                             Placement placement) = 0;
  // Removes the task from the queue once its run ended, if `worker` still holds it.
  virtual Status CompleteTask(std::string_view task_id, std::string_view worker) = 0;
  // Cancels a queued task: one that waits (or whose lease expired) leaves the queue and the
  // result is true; one a worker holds gets a cancel request and the result is false. kNotFound
  // when it is not queued.
  virtual Result<bool> CancelQueuedTask(std::string_view task_id, int64_t now_ms) = 0;
  virtual Result<std::optional<QueuedTask>> GetQueuedTask(std::string_view task_id) = 0;
  // Oldest first.
  virtual Result<std::vector<QueuedTask>> ListQueue() = 0;

  // Inserts or replaces the worker's row.
  virtual Status SaveWorker(const WorkerRecord& worker) = 0;
  // By name.
  virtual Result<std::vector<WorkerRecord>> ListWorkers() = 0;

  // A signal that wakes when tasks are submitted or released.
  virtual Result<std::unique_ptr<WorkSignal>> ListenForWork() = 0;
};

}  // namespace tandem::store
