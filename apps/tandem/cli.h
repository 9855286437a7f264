// Shared plumbing for the `tandem` subcommands: global options, exit codes, and the helpers every
// subcommand uses to load configuration and report errors. Subcommands live in cmd_*.cpp and
// stay thin: parsing and printing here, logic in src/tandem/<module>.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "tandem/agent/agent.h"
#include "tandem/agent/agent_memory.h"
#include "tandem/agent/delegate.h"
#include "tandem/core/config.h"
#include "tandem/core/error.h"
#include "tandem/cost/usage_summary.h"
#include "tandem/llm/price_catalog.h"
#include "tandem/memory/memory_store.h"
#include "tandem/router/gateway.h"
#include "tandem/store/task_store.h"
#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::cli {

// Process exit codes (documented in docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitTaskFailed = 1,  // The task or operation ran and failed.
  kExitUsage = 2,       // Bad command line.
  kExitConfig = 3,      // Bad or incomplete configuration.
  kExitRefused = 4,     // Refused by policy (privacy, approval, sandbox).
};

// Options shared by every subcommand, filled by CLI11 before a callback runs.
struct GlobalOptions {
  std::string config_path;  // --config
  std::string log_level;    // --log-level (overrides the configuration)
  std::string log_format;   // --log-format text|json
};

// What a subcommand callback reports back to main().
struct CommandState {
  GlobalOptions global;
  int exit_code = kExitOk;
};

// Loads the configuration honouring --config and initialises logging. On failure prints the
// error and sets state.exit_code to kExitConfig.
std::optional<Config> LoadConfigOrReport(CommandState& state);

// Opens the task store under config.home; on failure reports it and sets state.exit_code.
std::unique_ptr<store::TaskStore> OpenStoreOrReport(const Config& config, CommandState& state);

// The task with `id`; when it is absent or cannot be read, reports it and sets exit code 1.
std::optional<store::TaskRecord> FindTaskOrReport(store::TaskStore& store, const std::string& id,
                                                  CommandState& state);

// Prints "error: <message>" to stderr and returns `code` for the caller to store.
int ReportError(const Error& error, int code);

// The exit code that fits an error's kind (policy refusals 4, configuration 3, otherwise 1).
int ExitCodeFor(const Error& error);

// Everything a run needs, opened from the configuration. Declaration order is destruction
// order in reverse: the gateway and access objects go before the store they write to.
struct Runtime {
  Config config;
  std::unique_ptr<store::TaskStore> store;
  llm::PriceCatalog prices;
  std::unique_ptr<agent::StoreAuditSink> audit;
  std::unique_ptr<router::Gateway> gateway;
  std::unique_ptr<agent::ModelAccess> models;
  tools::ToolsConfig tools_config;
  tools::Registry registry;
  std::unique_ptr<memory::MemoryStore> memory;       // Null unless `[memory] agent = true`.
  std::unique_ptr<agent::AgentMemory> agent_memory;  // Uses `memory`.
  agent::AgentMemoryOptions memory_options;          // `[memory]`: what agent_memory uses.
  agent::DelegateTool* delegate = nullptr;           // Owned by `registry`; null if not offered.
};

struct RuntimeOptions {
  // Offer the `delegate` tool. `serve` leaves it out: one DelegateTool is bound to one run's
  // deps (cancellation, approver, memory), which concurrent server tasks cannot share.
  bool delegate = true;
  // The worker this process is (`tandem worker`), named in every routing audit record.
  std::optional<agent::StoreAuditSink::Worker> worker;
};

// Opens the store, gateway, model access and built-in tools from `config` (cmd_run.cpp); shared by
// `run`, `resume` and `serve`. Configuration problems come back as kFailedPrecondition.
Result<std::unique_ptr<Runtime>> OpenRuntime(Config config, RuntimeOptions options = {});

// Reads cost's reference cloud model from `config`, priced by llm's catalog (cmd_cost.cpp);
// `cost report` and `serve` share it.
Result<std::optional<cost::CloudReference>> LoadCloudReference(const Config& config,
                                                               const llm::PriceCatalog& prices);

// Each cmd_*.cpp registers its subcommand(s) on the root app.
void AddConfigCommands(CLI::App& app, CommandState& state);
void AddRunCommands(CLI::App& app, CommandState& state);
void AddTasksCommands(CLI::App& app, CommandState& state);
void AddPlanCommands(CLI::App& app, CommandState& state);
void AddCostCommands(CLI::App& app, CommandState& state);
void AddRouteCommands(CLI::App& app, CommandState& state);
void AddToolCommands(CLI::App& app, CommandState& state);
void AddModelCommands(CLI::App& app, CommandState& state);
void AddMemoryCommands(CLI::App& app, CommandState& state);
void AddServeCommands(CLI::App& app, CommandState& state);
void AddUserCommands(CLI::App& app, CommandState& state);
void AddScheduleCommands(CLI::App& app, CommandState& state);
void AddWorkerCommands(CLI::App& app, CommandState& state);

}  // namespace tandem::cli
