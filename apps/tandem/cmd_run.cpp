// `tandem run GOAL` and `tandem resume ID`: the agent in the terminal.
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "tandem/agent/agent.h"
#include "tandem/core/cancellation.h"
#include "tandem/core/id.h"
#include "tandem/router/gateway.h"
#include "tandem/tools/file_tools.h"

namespace tandem::cli {
namespace {

struct RunFlags {
  std::string goal;
  std::string task_id;
  std::string workspace;
  int max_steps = 0;  // 0: from configuration.
};

// Prints each event as a line a person can follow.
class TerminalEvents final : public agent::EventSink {
 public:
  void OnEvent(const store::EventRecord& event) override {
    nlohmann::json payload = nlohmann::json::parse(event.payload, nullptr, false);
    if (payload.is_discarded()) return;
    if (event.type == "action_proposed") {
      std::string thoughts = payload.value("thoughts", "");
      if (!thoughts.empty()) fmt::print("  thinking: {}\n", thoughts);
      fmt::print("  step {}: {} {}\n", payload.value("step", 0), payload.value("tool", ""),
                 payload["arguments"].dump());
    } else if (event.type == "step_done") {
      std::string result = payload.value("result", "");
      if (result.size() > 200) result = result.substr(0, 200) + "...";
      fmt::print("    -> {}{}\n", payload.value("is_error", false) ? "error: " : "", result);
    } else if (event.type == "invalid_answer") {
      fmt::print("  model answer rejected: {}\n", payload.value("problem", ""));
    } else if (event.type == "approval_refused") {
      fmt::print("  refused {}: needs approval and stdin is not a terminal\n",
                 payload.value("tool", ""));
    }
    std::fflush(stdout);
  }
};

// Everything a run needs, opened from the configuration. Declaration order is destruction
// order in reverse: the gateway and access objects go before the store they write to.
struct Runtime {
  Config config;
  std::unique_ptr<store::TaskStore> store;
  llm::PriceCatalog prices;
  std::unique_ptr<agent::StoreAuditSink> audit;
  std::unique_ptr<router::Gateway> gateway;
  std::unique_ptr<agent::ModelAccess> models;
  tools::Registry registry;
};

// Configuration problems (no model, missing key, bad catalog or routing) exit with code 3.
Error AsConfigError(const Error& error) {
  return Error(ErrorCode::kFailedPrecondition, error.message());
}

Result<std::unique_ptr<Runtime>> OpenRuntime(Config config) {
  auto runtime = std::make_unique<Runtime>();
  runtime->config = std::move(config);
  if (runtime->config.providers.empty()) {
    return std::unexpected(Error(ErrorCode::kFailedPrecondition,
                                 "no model is configured: add a [[providers]] entry to "
                                 "tandem.toml (see docs/config.md), e.g. an OpenAI-compatible "
                                 "endpoint"));
  }
  // Checked before anything touches the network or the store.
  for (const ProviderConfig& provider : runtime->config.providers) {
    if (Status key = CheckProviderKeys(runtime->config, provider); !key) {
      return std::unexpected(AsConfigError(key.error()));
    }
  }
  Result<llm::PriceCatalog> prices = llm::PriceCatalog::Load(runtime->config);
  if (!prices) return std::unexpected(AsConfigError(prices.error()));
  runtime->prices = std::move(*prices);
  auto store = store::TaskStore::Open(runtime->config.home / "tandem.db");
  if (!store) return std::unexpected(store.error());
  runtime->store = std::move(*store);
  runtime->audit = std::make_unique<agent::StoreAuditSink>(runtime->store.get());
  auto gateway = router::Gateway::Create(runtime->config, {.audit = runtime->audit.get()});
  if (!gateway) return std::unexpected(AsConfigError(gateway.error()));
  runtime->gateway = std::move(*gateway);
  runtime->models = std::make_unique<agent::GatewayModelAccess>(
      runtime->gateway.get(), &runtime->config, &runtime->prices, runtime->store.get(),
      &SystemClock());
  if (Status registered = tools::RegisterFileTools(runtime->registry); !registered) {
    return std::unexpected(registered.error());
  }
  return runtime;
}

int ExitCodeForOutcome(const agent::TaskOutcome& outcome) {
  if (outcome.status == store::TaskStatus::kSucceeded) return kExitOk;
  return outcome.refused_by_policy ? kExitRefused : kExitTaskFailed;
}

void PrintOutcome(const agent::TaskOutcome& outcome) {
  fmt::print("task {} {} after {} step(s): {}\n", outcome.task_id,
             store::TaskStatusName(outcome.status), outcome.steps, outcome.stop_reason);
}

// Runs the loop with Ctrl-C/SIGTERM routed to a cancellation token.
int Drive(Runtime& runtime, const std::string& task_id, const agent::RunOptions& options) {
  CancellationToken cancel;
  SignalCancellation signals(cancel);
  TerminalEvents events;
  agent::Controller controller({.store = runtime.store.get(),
                                .models = runtime.models.get(),
                                .tools = &runtime.registry,
                                .events = &events,
                                .policy = &runtime.gateway->policy(),
                                .cancel = &cancel});
  Result<agent::TaskOutcome> outcome = controller.Run(task_id, options);
  if (!outcome) return ReportError(outcome.error(), ExitCodeFor(outcome.error()));
  PrintOutcome(*outcome);
  return ExitCodeForOutcome(*outcome);
}

agent::RunOptions OptionsFrom(const Config& config, const RunFlags& flags) {
  return {.max_steps = flags.max_steps > 0 ? flags.max_steps : config.agent.max_steps,
          .interactive = isatty(STDIN_FILENO) != 0};
}

void RunCommand(CommandState& state, const RunFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  agent::RunOptions options = OptionsFrom(*config, flags);
  Result<std::unique_ptr<Runtime>> runtime = OpenRuntime(std::move(*config));
  if (!runtime) {
    state.exit_code = ReportError(runtime.error(), ExitCodeFor(runtime.error()));
    return;
  }
  agent::Controller creator({.store = (*runtime)->store.get(),
                             .models = (*runtime)->models.get(),
                             .tools = &(*runtime)->registry,
                             .policy = &(*runtime)->gateway->policy()});
  std::string task_id = NewId();
  std::filesystem::path workspace = flags.workspace.empty()
                                        ? (*runtime)->config.home / "workspaces" / task_id
                                        : std::filesystem::path(flags.workspace);
  Result<store::TaskRecord> task = creator.Create(flags.goal, workspace, options, task_id);
  if (!task) {
    state.exit_code = ReportError(task.error(), ExitCodeFor(task.error()));
    return;
  }
  fmt::print("task {} started in {}\n", task->id, task->workspace);
  std::fflush(stdout);
  state.exit_code = Drive(**runtime, task->id, options);
}

void ResumeCommand(CommandState& state, const RunFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  agent::RunOptions options = OptionsFrom(*config, flags);
  Result<std::unique_ptr<Runtime>> runtime = OpenRuntime(std::move(*config));
  if (!runtime) {
    state.exit_code = ReportError(runtime.error(), ExitCodeFor(runtime.error()));
    return;
  }
  fmt::print("resuming task {}\n", flags.task_id);
  std::fflush(stdout);
  state.exit_code = Drive(**runtime, flags.task_id, options);
}

}  // namespace

void AddRunCommands(CLI::App& app, CommandState& state) {
  // Shared with the callbacks, which run after this function returns.
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run an agent towards GOAL");
  run->add_option("goal", flags->goal, "What the agent should achieve")->required();
  run->add_option("--workspace", flags->workspace,
                  "Directory the agent may read and write (default: a new one under TANDEM_HOME)");
  run->add_option("--max-steps", flags->max_steps, "Stop after this many steps")
      ->check(CLI::Range(1, 100000));
  run->callback([&state, flags] { RunCommand(state, *flags); });

  CLI::App* resume = app.add_subcommand("resume", "Continue a stopped or interrupted task");
  resume->add_option("task-id", flags->task_id, "The task to continue")->required();
  resume->add_option("--max-steps", flags->max_steps, "New total step limit")
      ->check(CLI::Range(1, 100000));
  resume->callback([&state, flags] { ResumeCommand(state, *flags); });
}

}  // namespace tandem::cli
