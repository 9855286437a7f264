// server: `tandem serve` — the HTTP API over the agent: health, Prometheus metrics, sign-in,
// API tokens, tasks (create, list, show, cancel, resume, live events over SSE, artifacts),
// schedules (recurring goals started by the scheduler thread).
//
//   Result<ServerOptions> options = ReadServerOptions(config);
//   auto server = Server::Create({.store = store, .models = models, .tools = &registry,
//                                 .home = config.home}, *options);
//   (*server)->Start();  ...  (*server)->Stop();
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "tandem/core/clock.h"
#include "tandem/core/config.h"
#include "tandem/cost/usage_summary.h"
#include "tandem/router/health.h"
#include "tandem/schedule/scheduler.h"
#include "tandem/server/auth.h"
#include "tandem/server/task_runner.h"

namespace tandem::server {

struct ServerOptions {
  std::string host = "127.0.0.1";   // Loopback by default: exposing it is a deliberate choice.
  int port = 8080;                  // 0: any free port (tests).
  size_t max_body_bytes = 1 << 20;  // Larger request bodies get 413.
  int read_timeout_s = 30;          // A client that sends nothing this long is dropped.
  int write_timeout_s = 30;         // A client that reads nothing this long is dropped.
  int http_threads = 32;            // Concurrent connections served (SSE watchers hold one).
  int workers = 2;                  // Tasks run at once; more wait in a queue.
  int max_steps = 30;               // Default step limit of a task.
  bool cookie_secure = false;       // Adds `Secure` to the session cookie (set behind HTTPS).
  // A task waiting this long for a person to approve a call stops (resumable). Long values keep
  // a worker busy with a waiting task; short ones stop tasks nobody has looked at yet.
  int approval_timeout_s = 3600;
  // [server] run_tasks = "workers": tasks go to the store's queue for `tandem worker` processes
  // (docs/SCALING.md) instead of this process's `workers` threads; "here" (the default) runs them
  // in-process.
  bool run_on_workers = false;
  AuthOptions auth;
  schedule::SchedulerOptions scheduler;  // Missed-run grace, reload interval (docs/server.md).
};

// Reads [server] (listen, max_body_bytes, read_timeout_s, write_timeout_s, http_threads,
// workers, cookie_secure, session_hours, max_failed_logins, failed_login_delay_ms,
// approval_timeout_s).
// Fails with kInvalidArgument naming the file, line and key.
Result<ServerOptions> ReadServerOptions(const Config& config);
// Parses "ADDR:PORT" into options.host and options.port.
Status ParseListen(std::string_view listen, ServerOptions& options);

struct ServerDeps {
  store::TaskStore* store = nullptr;                 // Required.
  agent::ModelAccess* models = nullptr;              // Required.
  const tools::Registry* tools = nullptr;            // Required.
  const router::Policy* policy = nullptr;            // Optional: taint tracking.
  std::filesystem::path home;                        // TANDEM_HOME: workspaces live under it.
  const tools::ToolsConfig* tools_config = nullptr;  // Optional: [tools] grants (auto_approve).
  // Optional (`[memory] agent = true`): each task run stores and recalls through it.
  memory::MemoryStore* memory = nullptr;
  agent::AgentMemoryOptions memory_options;
  int64_t context_tokens = 0;  // Context window of every run (ContextWindowFor); 0: unlimited.
  // Read views (views_api.cpp); each optional.
  const Config* config = nullptr;                       // Providers listed by /api/providers.
  const router::ProviderHealth* health = nullptr;       // Circuit states; nullptr: all healthy.
  std::optional<cost::CloudReference> cloud_reference;  // Prices /api/cost's all-cloud figure.
  Clock* clock = nullptr;  // Optional: the scheduler's clock (default: the system's).
};

// Thread-safe. Start() serves on background threads until Stop().
class Server {
 public:
  static Result<std::unique_ptr<Server>> Create(ServerDeps deps, ServerOptions options);
  ~Server();  // Calls Stop().
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving. Fails with kUnavailable when the address cannot be bound.
  Status Start();
  // The bound port (after Start).
  int port() const;
  // Graceful stop: refuses new work, stops running tasks at a safe point (they stay resumable),
  // ends event streams, finishes requests in flight, and closes the listener.
  void Stop();

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::server
