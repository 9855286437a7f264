#include "tandem/cluster/status.h"

#include <map>

namespace tandem::cluster {

Result<ClusterStatus> ReadClusterStatus(store::WorkQueueStore& store, int64_t now_ms) {
  Result<std::vector<store::WorkerRecord>> workers = store.ListWorkers();
  if (!workers) return std::unexpected(workers.error());
  Result<std::vector<store::QueuedTask>> queue = store.ListQueue();
  if (!queue) return std::unexpected(queue.error());
  ClusterStatus status;
  std::map<std::string, std::vector<std::string>> leases;
  for (const store::QueuedTask& entry : *queue) {  // Oldest first.
    bool leased = !entry.lease_owner.empty();
    if (leased && entry.lease_expires_ms >= now_ms) {
      ++status.queue.running;
      leases[entry.lease_owner].push_back(entry.task_id);
      continue;
    }
    if (leased) {
      ++status.queue.expired;
    } else if (entry.placement == store::Placement::kLocalOnly) {
      ++status.queue.waiting_local_only;
    } else {
      ++status.queue.waiting_anywhere;
    }
    if (status.queue.oldest_waiting_task.empty()) {
      status.queue.oldest_waiting_task = entry.task_id;
      status.queue.oldest_waiting_ms = now_ms - entry.enqueued_at_ms;
    }
  }
  for (store::WorkerRecord& worker : *workers) {
    std::string state = worker.stopped                                ? "stopped"
                        : now_ms - worker.heartbeat_ms > kLostAfterMs ? "lost"
                                                                      : "running";
    std::vector<std::string> held = std::move(leases[worker.name]);
    status.workers.push_back({std::move(worker), std::move(state), std::move(held)});
  }
  return status;
}

nlohmann::ordered_json ClusterStatusToJson(const ClusterStatus& status) {
  nlohmann::ordered_json workers = nlohmann::ordered_json::array();
  for (const WorkerStatus& w : status.workers) {
    workers.push_back({{"name", w.worker.name},
                       {"zone", store::WorkerZoneName(w.worker.zone)},
                       {"state", w.state},
                       {"capacity", w.worker.capacity},
                       {"leases", w.leased_tasks},
                       {"host", w.worker.host},
                       {"pid", w.worker.pid},
                       {"started_at_ms", w.worker.started_at_ms},
                       {"heartbeat_ms", w.worker.heartbeat_ms}});
  }
  const QueueStatus& q = status.queue;
  return {{"workers", workers},
          {"queue",
           {{"waiting_local_only", q.waiting_local_only},
            {"waiting_anywhere", q.waiting_anywhere},
            {"running", q.running},
            {"expired_leases", q.expired},
            {"oldest_waiting_task", q.oldest_waiting_task},
            {"oldest_waiting_ms", q.oldest_waiting_ms}}}};
}

}  // namespace tandem::cluster
