// A worker process's engine: claims queued tasks its zone may run, runs each with the agent loop
// under a lease it renews by heartbeat, and hands a task that turns sensitive on a cloud worker
// back to the queue for a local one. Every claim and handover is audited.
//
//   cluster::Worker worker(deps, {.name = "gpu-box", .zone = store::WorkerZone::kLocal});
//   Status ended = worker.Run(stop);  // Until `stop` is cancelled (SIGTERM).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "tandem/agent/controller.h"
#include "tandem/core/cancellation.h"
#include "tandem/core/clock.h"
#include "tandem/store/task_store.h"

namespace tandem::cluster {

struct WorkerOptions {
  std::string name;  // Unique in the cluster.
  store::WorkerZone zone = store::WorkerZone::kLocal;
  int capacity = 1;  // Tasks run at once.
  std::string host;  // For `cluster status`.
  // A lease not renewed for this long lets another worker take the task over.
  std::chrono::milliseconds lease{15'000};
  // Renewal period; a third of the lease leaves two chances before it expires.
  std::chrono::milliseconds heartbeat{5'000};
  // Longest wait for a notification before looking at the queue anyway (notifications are not
  // kept while no worker listens, and SQLite has none).
  std::chrono::milliseconds idle_check{2'000};
  // A task claimed this many times without ending (it crashed its workers) is failed.
  int max_claims = 5;
  int64_t context_tokens = 0;  // Context window of every run (agent::ContextWindowFor).
};

// What the worker runs tasks with: the agent's dependencies, without the per-run ones (events,
// cancellation and placement are the worker's). `deps.approver` null: external calls that the
// configuration does not grant are refused (nobody watches a worker to approve them).
struct WorkerDeps {
  agent::ControllerDeps agent;
  Clock* clock = &SystemClock();
};

class Worker {
 public:
  Worker(WorkerDeps deps, WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Registers the worker, then claims and runs tasks until `stop` is cancelled. On stop, running
  // tasks end at their next safe point and go back to the queue for another worker. Fails only
  // when the store cannot be used at all (registration).
  Status Run(const CancellationToken& stop);

 private:
  // One claimed task being run on its own thread.
  struct Slot {
    CancellationToken cancel;
    std::thread thread;
    uint64_t claim_seq = 0;          // Order of claims, to tell renewals that predate it.
    bool done = false;               // GUARDED_BY(mu_)
    bool lost = false;               // GUARDED_BY(mu_): another worker took the lease over.
    bool cancelled_by_user = false;  // GUARDED_BY(mu_): cancelled through the queue.
  };

  // Claims and starts tasks while there is room; false when there was nothing to claim.
  bool ClaimOne(const CancellationToken& stop);
  void WaitForWork(store::WorkSignal* signal, const CancellationToken& stop);
  void RunClaimed(store::QueuedTask entry, Slot& slot);
  void Drive(const store::TaskRecord& task, Slot& slot);
  // Ends the task's run here without ending the task: audited, back in the queue, local only.
  void HandOver(const std::string& task_id, const std::string& reason);
  // Puts the task back in the queue as it stands (this worker is stopping or failed to run it).
  void Release(const std::string& task_id, const std::string& why);
  void Complete(const std::string& task_id);
  // Saves the task's status and reason as they are now in the store; the saved record, or nullopt
  // when it could not be read or saved (logged).
  std::optional<store::TaskRecord> SetStatus(const std::string& task_id, store::TaskStatus status,
                                             const std::string& reason);
  void Audit(const std::string& task_id, std::string kind, nlohmann::json payload);
  void Heartbeat();
  void RenewLeases();
  void JoinFinished();
  int64_t NowMs() const;

  WorkerDeps deps_;
  const WorkerOptions options_;
  std::mutex mu_;
  std::condition_variable changed_;  // A slot finished, or the worker is winding down.
  std::map<std::string, std::unique_ptr<Slot>> slots_;  // GUARDED_BY(mu_), by task id.
  uint64_t claims_ = 0;                                 // GUARDED_BY(mu_)
  bool stopping_ = false;                               // GUARDED_BY(mu_)
  bool finished_ = false;        // GUARDED_BY(mu_): every slot joined; the heartbeat ends.
  int64_t last_renewal_ms_ = 0;  // Heartbeat thread only.
};

}  // namespace tandem::cluster
