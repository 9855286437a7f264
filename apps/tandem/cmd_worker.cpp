// `tandem worker --zone local|cloud`: runs queued tasks from the shared store until SIGTERM;
// `tandem cluster status`: the workers and the queue.
#include <fmt/format.h>
#include <unistd.h>

#include "cli.h"
#include "tandem/cluster/status.h"
#include "tandem/cluster/worker.h"
#include "tandem/core/cancellation.h"

namespace tandem::cli {
namespace {

struct WorkerFlags {
  std::string zone;
  std::string name;  // Empty: HOST-PID.
  int capacity = 1;
  double lease_s = 15;
};

struct ClusterFlags {
  bool json = false;
};

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "unknown";
  return host;
}

void WorkerCommand(CommandState& state, const WorkerFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  store::WorkerZone zone = *store::ParseWorkerZone(flags.zone);  // Checked by CLI11.
  std::string name = flags.name.empty() ? fmt::format("{}-{}", HostName(), getpid()) : flags.name;
  Result<std::unique_ptr<Runtime>> runtime = OpenRuntime(
      std::move(*config),
      {.delegate = false,
       .worker = agent::StoreAuditSink::Worker{name, std::string(store::WorkerZoneName(zone))}});
  if (!runtime) {
    state.exit_code = ReportError(runtime.error(), ExitCodeFor(runtime.error()));
    return;
  }
  Runtime& rt = **runtime;
  auto lease = std::chrono::milliseconds(static_cast<int64_t>(flags.lease_s * 1000));
  cluster::Worker worker({.agent = {.store = rt.store.get(),
                                    .models = rt.models.get(),
                                    .tools = &rt.registry,
                                    .policy = &rt.gateway->policy(),
                                    .tools_config = &rt.tools_config,
                                    .memory = rt.agent_memory.get()}},
                         {.name = name,
                          .zone = zone,
                          .capacity = flags.capacity,
                          .host = HostName(),
                          .lease = lease,
                          .heartbeat = lease / 3,
                          .context_tokens = agent::ContextWindowFor(rt.config, &rt.prices)});
  CancellationToken stop;
  SignalCancellation signals(stop);
  fmt::print("worker {} ({} zone, capacity {}) started\n", name, flags.zone, flags.capacity);
  std::fflush(stdout);
  if (Status ran = worker.Run(stop); !ran) {
    state.exit_code = ReportError(ran.error(), ExitCodeFor(ran.error()));
    return;
  }
  fmt::print("worker {} stopped; its running tasks went back to the queue\n", name);
}

std::string Age(int64_t ms) {
  if (ms < 60'000) return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000);
  if (ms < 3'600'000) return fmt::format("{} min", ms / 60'000);
  return fmt::format("{:.1f} h", static_cast<double>(ms) / 3'600'000);
}

void ClusterStatusCommand(CommandState& state, const ClusterFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  int64_t now_ms = ToUnixMillis(SystemClock().Now());
  Result<cluster::ClusterStatus> status = cluster::ReadClusterStatus(*store, now_ms);
  if (!status) {
    state.exit_code = ReportError(status.error(), kExitTaskFailed);
    return;
  }
  if (flags.json) {
    fmt::print("{}\n", cluster::ClusterStatusToJson(*status).dump(2));
    return;
  }
  fmt::print("{:<24} {:<6} {:<8} {:>8} {:>6}  {}\n", "WORKER", "ZONE", "STATE", "CAPACITY",
             "LEASES", "LAST HEARTBEAT");
  for (const cluster::WorkerStatus& w : status->workers) {
    fmt::print("{:<24} {:<6} {:<8} {:>8} {:>6}  {} ago\n", w.worker.name,
               store::WorkerZoneName(w.worker.zone), w.state, w.worker.capacity,
               w.leased_tasks.size(), Age(now_ms - w.worker.heartbeat_ms));
  }
  if (status->workers.empty()) fmt::print("(no workers have registered)\n");
  const cluster::QueueStatus& q = status->queue;
  fmt::print(
      "\nqueue: {} running, {} waiting for a local worker, {} waiting for any worker, "
      "{} with an expired lease\n",
      q.running, q.waiting_local_only, q.waiting_anywhere, q.expired);
  if (!q.oldest_waiting_task.empty()) {
    fmt::print("oldest waiting: task {} for {}\n", q.oldest_waiting_task, Age(q.oldest_waiting_ms));
  }
}

}  // namespace

void AddWorkerCommands(CLI::App& app, CommandState& state) {
  // Shared with the callbacks, which run after this function returns.
  auto worker_flags = std::make_shared<WorkerFlags>();
  CLI::App* worker =
      app.add_subcommand("worker", "Run queued tasks from the shared store (see docs/SCALING.md)");
  worker
      ->add_option("--zone", worker_flags->zone,
                   "local: may run sensitive tasks; cloud: never sees sensitive data")
      ->required()
      ->check(CLI::IsMember({"local", "cloud"}));
  worker->add_option("--name", worker_flags->name,
                     "Name in the cluster, unique (default: HOST-PID)");
  worker->add_option("--capacity", worker_flags->capacity, "Tasks to run at once (default 1)")
      ->check(CLI::Range(1, 256));
  worker
      ->add_option("--lease-s", worker_flags->lease_s,
                   "Seconds without a heartbeat before another worker takes a task over "
                   "(default 15)")
      ->check(CLI::Range(1.0, 3600.0));
  worker->callback([&state, worker_flags] { WorkerCommand(state, *worker_flags); });

  auto cluster_flags = std::make_shared<ClusterFlags>();
  CLI::App* cluster = app.add_subcommand("cluster", "Workers and the shared queue");
  cluster->require_subcommand(1);
  CLI::App* status = cluster->add_subcommand("status", "Workers, zones, leases and queue depth");
  status->add_flag("--json", cluster_flags->json, "Print JSON");
  status->callback([&state, cluster_flags] { ClusterStatusCommand(state, *cluster_flags); });
}

}  // namespace tandem::cli
