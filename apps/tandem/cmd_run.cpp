// `tandem run GOAL` and `tandem resume ID`: the agent in the terminal.
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "tandem/agent/agent.h"
#include "tandem/agent/delegate.h"
#include "tandem/agent/terminal_approver.h"
#include "tandem/agent/terminal_view.h"
#include "tandem/cluster/submission.h"
#include "tandem/core/cancellation.h"
#include "tandem/core/id.h"
#include "tandem/engine/engine_chat_model.h"
#include "tandem/memory/openai_embedder.h"
#include "tandem/router/gateway.h"
#include "tandem/tools/tools_config.h"

namespace tandem::cli {
namespace {

struct RunFlags {
  std::string goal;
  std::string task_id;
  std::string workspace;
  int max_steps = 0;  // 0: from configuration.
  std::optional<double> budget_usd;
  std::optional<int64_t> budget_tokens;
  std::optional<double> budget_seconds;
  std::optional<int64_t> budget_tool_calls;
  double add_budget_usd = 0;    // resume: raises the USD budget by this much.
  std::string events = "text";  // "text" for people, "jsonl" for programs.
  bool interactive = false;     // Ask on stdin even when it is not a terminal (scripts, tests).
  bool continuous = false;      // Approve every call without asking.
  bool submit = false;          // run: queue the task for workers instead of running it here.
};

// Prints each event as one JSON object per line on stdout, for programs.
class JsonlEvents final : public agent::EventSink {
 public:
  void OnEvent(const store::EventRecord& event) override {
    nlohmann::json payload = nlohmann::json::parse(event.payload, nullptr, false);
    nlohmann::ordered_json line = {
        {"id", event.id},
        {"task_id", event.task_id},
        {"type", event.type},
        {"time_ms", event.created_at_ms},
        {"payload", payload.is_discarded() ? nlohmann::json() : payload}};
    fmt::print("{}\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::fflush(stdout);
    task_id_ = event.task_id;
  }
  // The model's text as it streams. Not persisted (the whole answer is, in the step), so these
  // lines carry no event id.
  bool WantsModelText() const override { return true; }
  void OnModelText(int64_t step_seq, std::string_view text) override {
    nlohmann::ordered_json line = {
        {"task_id", task_id_}, {"type", "model_delta"}, {"step", step_seq}, {"text", text}};
    fmt::print("{}\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::fflush(stdout);
  }

 private:
  std::string task_id_;  // From the first event (task_started).
};

// Configuration problems (no model, missing key, bad catalog or routing) exit with code 3.
Error AsConfigError(const Error& error) {
  return Error(ErrorCode::kFailedPrecondition, error.message());
}

// Opens the memory store when the agent is to use it. A store another process holds for
// writing is reported and the run goes on without memory; a bad [memory] section is an error.
Status OpenAgentMemory(Runtime& runtime) {
  Result<agent::AgentMemoryOptions> options = agent::ReadAgentMemoryOptions(runtime.config);
  if (!options) return std::unexpected(AsConfigError(options.error()));
  runtime.memory_options = *options;
  if (!options->enabled) return {};
  auto embedder = memory::MakeConfiguredEmbedder(runtime.config);
  if (!embedder) return std::unexpected(embedder.error());
  auto store = memory::OpenMemoryStore(runtime.config, {}, std::move(*embedder));
  if (!store) {
    fmt::print(stderr, "memory unavailable, running without it: {}\n", store.error().message());
    return {};
  }
  runtime.memory = std::move(*store);
  runtime.agent_memory = std::make_unique<agent::AgentMemory>(runtime.memory.get(), *options,
                                                              &runtime.gateway->policy());
  return {};
}

}  // namespace

Result<std::unique_ptr<Runtime>> OpenRuntime(Config config, RuntimeOptions options) {
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
  auto store = store::OpenTaskStore(runtime->config);
  if (!store) return std::unexpected(store.error());
  runtime->store = std::move(*store);
  runtime->audit = std::make_unique<agent::StoreAuditSink>(runtime->store.get(), options.worker);
  // Kind "engine" providers run in-process through the embedded engine; the rest go through
  // the router's default (OpenAI-compatible) factory.
  router::ModelFactory factory = [](const Config& cfg, const ProviderConfig& provider) {
    return provider.kind == "engine" ? engine::MakeEngineChatModel(cfg, provider)
                                     : router::DefaultModelFactory(cfg, provider);
  };
  auto gateway = router::Gateway::Create(
      runtime->config, {.audit = runtime->audit.get(),
                        .model_factory = std::move(factory),
                        .embedder_factory = [](const Config& cfg, const ProviderConfig& provider,
                                               const std::string& model) {
                          return memory::MakeProviderEmbedder(cfg, provider, model);
                        }});
  if (!gateway) return std::unexpected(AsConfigError(gateway.error()));
  runtime->gateway = std::move(*gateway);
  runtime->models = std::make_unique<agent::GatewayModelAccess>(
      runtime->gateway.get(), &runtime->config, &runtime->prices, runtime->store.get(),
      &SystemClock());
  Result<tools::ToolsConfig> tools_config = tools::ParseToolsConfig(runtime->config);
  if (!tools_config) return std::unexpected(AsConfigError(tools_config.error()));
  runtime->tools_config = std::move(*tools_config);
  if (Status registered = tools::RegisterBuiltinTools(runtime->registry, runtime->tools_config);
      !registered) {
    return std::unexpected(AsConfigError(registered.error()));
  }
  if (options.delegate) {
    auto delegate = std::make_unique<agent::DelegateTool>();
    runtime->delegate = delegate.get();
    if (Status registered = runtime->registry.Register(std::move(delegate)); !registered) {
      return std::unexpected(registered.error());
    }
  }
  if (Status memory = OpenAgentMemory(*runtime); !memory) return std::unexpected(memory.error());
  return runtime;
}

namespace {

int ExitCodeForOutcome(const agent::TaskOutcome& outcome) {
  if (outcome.status == store::TaskStatus::kSucceeded) return kExitOk;
  return outcome.refused_by_policy ? kExitRefused : kExitTaskFailed;
}

void PrintOutcome(const agent::TaskOutcome& outcome) {
  fmt::print("task {} {} after {} step(s): {}\n", outcome.task_id,
             store::TaskStatusName(outcome.status), outcome.steps, outcome.stop_reason);
}

// Runs the loop with Ctrl-C/SIGTERM routed to a cancellation token.
int Drive(Runtime& runtime, const std::string& task_id, const agent::RunOptions& options,
          const RunFlags& flags) {
  CancellationToken cancel;
  SignalCancellation signals(cancel);
  agent::TerminalView terminal(stdout, {.live = isatty(STDOUT_FILENO) != 0});
  JsonlEvents jsonl;
  agent::EventSink* events =
      flags.events == "jsonl" ? static_cast<agent::EventSink*>(&jsonl) : &terminal;
  // Prompts go to stderr so that stdout stays parseable with --events jsonl.
  agent::TerminalApprover asker(stdin, stderr);
  agent::ContinuousApprover continuous;
  agent::Approver* approver = nullptr;  // Nobody: external calls are refused.
  if (flags.continuous) {
    approver = &continuous;
  } else if (flags.interactive || isatty(STDIN_FILENO) != 0) {
    approver = &asker;
  }
  agent::ControllerDeps deps{.store = runtime.store.get(),
                             .models = runtime.models.get(),
                             .tools = &runtime.registry,
                             .events = events,
                             .policy = &runtime.gateway->policy(),
                             .cancel = &cancel,
                             .approver = approver,
                             .tools_config = &runtime.tools_config,
                             .memory = runtime.agent_memory.get()};
  agent::RunOptions run_options = options;
  run_options.context_tokens = agent::ContextWindowFor(runtime.config, &runtime.prices);
  // Children run with the same deps as this task.
  if (runtime.delegate != nullptr) runtime.delegate->Bind(deps, run_options.context_tokens);
  agent::Controller controller(deps);
  Result<agent::TaskOutcome> outcome = controller.Run(task_id, run_options);
  if (!outcome) return ReportError(outcome.error(), ExitCodeFor(outcome.error()));
  if (flags.events != "jsonl") PrintOutcome(*outcome);
  return ExitCodeForOutcome(*outcome);
}

// Flags win over `base` (the configuration for `run`, the task's saved options for `resume`).
agent::RunOptions ApplyFlags(agent::RunOptions base, const RunFlags& flags) {
  if (flags.max_steps > 0) base.max_steps = flags.max_steps;
  if (flags.budget_usd) base.budget.usd = flags.budget_usd;
  if (flags.budget_tokens) base.budget.tokens = flags.budget_tokens;
  if (flags.budget_seconds) base.budget.seconds = flags.budget_seconds;
  if (flags.budget_tool_calls) base.budget.tool_calls = flags.budget_tool_calls;
  if (flags.add_budget_usd > 0)
    base.budget.usd = base.budget.usd.value_or(0) + flags.add_budget_usd;
  return base;
}

void RunCommand(CommandState& state, const RunFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  agent::RunOptions options = ApplyFlags({.max_steps = config->agent.max_steps}, flags);
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
  if (flags.submit) {
    if (Status queued = cluster::SubmitToCluster(*(*runtime)->store, *task, SystemClock());
        !queued) {
      state.exit_code = ReportError(queued.error(), ExitCodeFor(queued.error()));
      return;
    }
    bool local_only = cluster::PlacementOf(*task) == store::Placement::kLocalOnly;
    fmt::print("task {} queued for {} worker\n", task->id, local_only ? "a local" : "any");
    return;
  }
  if (flags.events != "jsonl") fmt::print("task {} started in {}\n", task->id, task->workspace);
  std::fflush(stdout);
  state.exit_code = Drive(**runtime, task->id, options, flags);
}

void ResumeCommand(CommandState& state, const RunFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  Result<std::unique_ptr<Runtime>> runtime = OpenRuntime(std::move(*config));
  if (!runtime) {
    state.exit_code = ReportError(runtime.error(), ExitCodeFor(runtime.error()));
    return;
  }
  std::optional<store::TaskRecord> task =
      FindTaskOrReport(*(*runtime)->store, flags.task_id, state);
  if (!task) return;
  if (task->status == store::TaskStatus::kSucceeded) {
    fmt::print("task {} already finished: {}\n", flags.task_id, task->stop_reason);
    return;
  }
  agent::RunOptions options = ApplyFlags(agent::StoredRunOptions(*task), flags);
  if (flags.events != "jsonl") fmt::print("resuming task {}\n", flags.task_id);
  std::fflush(stdout);
  state.exit_code = Drive(**runtime, flags.task_id, options, flags);
}

void AddBudgetOptions(CLI::App& command, RunFlags& flags) {
  command.add_option("--budget-usd", flags.budget_usd, "Stop when model calls cost this much")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--budget-tokens", flags.budget_tokens, "Stop after this many tokens")
      ->check(CLI::PositiveNumber);
  command.add_option("--budget-seconds", flags.budget_seconds, "Stop after this much wall time")
      ->check(CLI::PositiveNumber);
  command
      .add_option("--budget-tool-calls", flags.budget_tool_calls, "Stop after this many tool calls")
      ->check(CLI::PositiveNumber);
  command.add_option("--events", flags.events, "text (default) or jsonl: one JSON event per line")
      ->check(CLI::IsMember({"text", "jsonl"}));
  CLI::Option* interactive = command.add_flag(
      "--interactive", flags.interactive,
      "Ask for approvals on stdin even when it is not a terminal (answers one per line)");
  command
      .add_flag("--continuous", flags.continuous,
                "Approve every tool call without asking (still bounded by --max-steps and "
                "budgets)")
      ->excludes(interactive);
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
  AddBudgetOptions(*run, *flags);
  run->add_flag("--submit", flags->submit,
                "Queue the task for `tandem worker` processes instead of running it here "
                "(prints its id)");
  run->callback([&state, flags] { RunCommand(state, *flags); });

  CLI::App* resume = app.add_subcommand("resume", "Continue a stopped or interrupted task");
  resume->add_option("task-id", flags->task_id, "The task to continue")->required();
  resume->add_option("--max-steps", flags->max_steps, "New total step limit")
      ->check(CLI::Range(1, 100000));
  AddBudgetOptions(*resume, *flags);
  resume->add_option("--add-budget", flags->add_budget_usd, "Raise the USD budget by this much")
      ->check(CLI::PositiveNumber);
  resume->callback([&state, flags] { ResumeCommand(state, *flags); });
}

}  // namespace tandem::cli
