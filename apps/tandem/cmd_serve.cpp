// `tandem serve [--listen ADDR:PORT]`: the HTTP API until SIGINT/SIGTERM.
#include <fmt/format.h>

#include <thread>

#include "cli.h"
#include "tandem/core/cancellation.h"
#include "tandem/server/server.h"

namespace tandem::cli {
namespace {

struct ServeFlags {
  std::string listen;  // Empty: [server] listen, else 127.0.0.1:8080.
};

void ServeCommand(CommandState& state, const ServeFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  Result<server::ServerOptions> options = server::ReadServerOptions(*config);
  if (!options) {
    state.exit_code = ReportError(options.error(), kExitConfig);
    return;
  }
  if (!flags.listen.empty()) {
    if (Status parsed = server::ParseListen(flags.listen, *options); !parsed) {
      state.exit_code = ReportError(parsed.error(), kExitUsage);
      return;
    }
  }
  Result<std::unique_ptr<Runtime>> runtime = OpenRuntime(std::move(*config), {.delegate = false});
  if (!runtime) {
    state.exit_code = ReportError(runtime.error(), ExitCodeFor(runtime.error()));
    return;
  }
  Runtime& rt = **runtime;
  auto server =
      server::Server::Create({.store = rt.store.get(),
                              .models = rt.models.get(),
                              .tools = &rt.registry,
                              .policy = &rt.gateway->policy(),
                              .home = rt.config.home,
                              .tools_config = &rt.tools_config,
                              .memory = rt.memory.get(),
                              .memory_options = rt.memory_options,
                              .context_tokens = agent::ContextWindowFor(rt.config, &rt.prices)},
                             *options);
  if (!server) {
    state.exit_code = ReportError(server.error(), kExitTaskFailed);
    return;
  }
  CancellationToken stop;
  SignalCancellation signals(stop);
  if (Status started = (*server)->Start(); !started) {
    state.exit_code = ReportError(started.error(), kExitTaskFailed);
    return;
  }
  fmt::print("listening on http://{}:{}\n", options->host, (*server)->port());
  auto users = rt.store->ListUsers();
  if (users && users->empty()) {
    fmt::print("no users yet: create one with `tandem user add NAME --role admin`\n");
  }
  std::fflush(stdout);
  while (!stop.IsCancelled())
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  fmt::print("stopping: running tasks stop at a safe point and stay resumable\n");
  std::fflush(stdout);
  (*server)->Stop();
}

}  // namespace

void AddServeCommands(CLI::App& app, CommandState& state) {
  // Shared with the callback, which runs after this function returns.
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve", "Serve the HTTP API (see docs/server.md)");
  serve->add_option("--listen", flags->listen, "ADDR:PORT (default 127.0.0.1:8080)");
  serve->callback([&state, flags] { ServeCommand(state, *flags); });
}

}  // namespace tandem::cli
