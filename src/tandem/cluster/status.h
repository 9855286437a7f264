// What `tandem cluster status` shows: the workers, their zones and leases, and the queue by
// placement with its oldest waiting task.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/store/task_store.h"

namespace tandem::cluster {

// A worker whose heartbeat is older than this is shown as lost (twice the default lease).
inline constexpr int64_t kLostAfterMs = 30'000;

struct WorkerStatus {
  store::WorkerRecord worker;
  std::string state;  // "running", "lost" (no heartbeat for kLostAfterMs) or "stopped".
  std::vector<std::string> leased_tasks;
};

struct QueueStatus {
  int64_t waiting_local_only = 0;   // Waiting for a local worker.
  int64_t waiting_anywhere = 0;     // Waiting for any worker.
  int64_t running = 0;              // Under a live lease.
  int64_t expired = 0;              // Lease expired: the next claim takes it over.
  std::string oldest_waiting_task;  // Empty when nothing waits.
  int64_t oldest_waiting_ms = 0;    // How long it has waited.
};

struct ClusterStatus {
  std::vector<WorkerStatus> workers;
  QueueStatus queue;
};

Result<ClusterStatus> ReadClusterStatus(store::WorkQueueStore& store, int64_t now_ms);
nlohmann::ordered_json ClusterStatusToJson(const ClusterStatus& status);

}  // namespace tandem::cluster
