// `tandem tool list` and `tandem tool call`: try any tool directly, under the same argument
// validation, sandbox and approval policy the agent uses.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli.h"
#include "tandem/core/cancellation.h"
#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::cli {
namespace {

struct ToolFlags {
  bool json = false;
  std::string name;
  std::string args = "{}";
  std::string workspace;
};

// Loads configuration and the registry; nullopt (with state.exit_code set) on failure.
std::optional<tools::ToolsConfig> LoadTools(CommandState& state, tools::Registry& registry) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return std::nullopt;
  Result<tools::ToolsConfig> tools_config = tools::ParseToolsConfig(*config);
  if (!tools_config) {
    state.exit_code = ReportError(tools_config.error(), kExitConfig);
    return std::nullopt;
  }
  if (Status ok = tools::RegisterBuiltinTools(registry, *tools_config); !ok) {
    state.exit_code = ReportError(ok.error(), kExitConfig);
    return std::nullopt;
  }
  return std::move(*tools_config);
}

void ListTools(CommandState& state, const ToolFlags& flags) {
  tools::Registry registry;
  if (!LoadTools(state, registry)) return;
  if (flags.json) {
    fmt::print("{}\n", registry.Describe().dump(2));
    return;
  }
  for (const tools::Tool* tool : registry.List()) {
    fmt::print("{:<16} {:<16} {}\n", tool->name(), tools::EffectClassName(tool->effect()),
               tool->description());
  }
}

// Asks on the terminal; anything but y/yes refuses.
bool AskApproval(const tools::Tool& tool, const nlohmann::json& args) {
  fmt::print(stderr, "Tool '{}' has an external effect. Arguments:\n{}\nAllow? [y/N] ", tool.name(),
             args.dump(2));
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

int PrintOutcome(const Result<tools::ToolResult>& result, bool json) {
  if (!result) {
    int code = result.error().code() == ErrorCode::kPermissionDenied ||
                       result.error().code() == ErrorCode::kFailedPrecondition
                   ? kExitRefused
                   : ExitCodeFor(result.error());
    if (json) {
      fmt::print("{}\n", nlohmann::json{{"ok", false},
                                        {"error",
                                         {{"code", ErrorCodeName(result.error().code())},
                                          {"message", result.error().message()}}}}
                             .dump(2));
      return code;
    }
    return ReportError(result.error(), code);
  }
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"ok", !result->is_error},
                                      {"output", result->output},
                                      {"is_error", result->is_error},
                                      {"paths_written", result->paths_written},
                                      {"data", result->data}}
                           .dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}{}", result->output, result->output.ends_with('\n') ? "" : "\n");
  }
  return result->is_error ? kExitTaskFailed : kExitOk;
}

void CallTool(CommandState& state, const ToolFlags& flags) {
  nlohmann::json args = nlohmann::json::parse(flags.args, nullptr, /*allow_exceptions=*/false);
  if (args.is_discarded()) {
    state.exit_code =
        ReportError(Error(ErrorCode::kInvalidArgument, "--args is not valid JSON"), kExitUsage);
    return;
  }
  tools::Registry registry;
  std::optional<tools::ToolsConfig> config = LoadTools(state, registry);
  if (!config) return;
  const tools::Tool* tool = registry.Find(flags.name);
  if (!tool) {
    tools::ToolContext unused;
    Result<tools::ToolResult> missing = registry.Invoke(flags.name, args, unused);
    state.exit_code = ReportError(missing.error(), kExitUsage);
    return;
  }
  if (Status valid = tools::ValidateArguments(tool->schema(), args); !valid) {
    state.exit_code = ReportError(
        std::move(valid.error()).WithContext(fmt::format("tool {}", flags.name)), kExitUsage);
    return;
  }
  if (tools::NeedsApproval(*tool, args, *config)) {
    bool interactive = isatty(STDIN_FILENO) == 1;
    if (!interactive || !AskApproval(*tool, args)) {
      state.exit_code = ReportError(
          Error(ErrorCode::kPermissionDenied,
                fmt::format("tool {} has an external effect and needs approval: {} (grant it "
                            "with [tools] auto_approve = [\"{}\"])",
                            flags.name,
                            interactive ? "refused at the prompt" : "stdin is not a terminal",
                            flags.name)),
          kExitRefused);
      return;
    }
  }
  tools::ToolContext context;
  std::error_code error;
  context.workspace_root = flags.workspace.empty() ? std::filesystem::current_path(error)
                                                   : std::filesystem::path(flags.workspace);
  context.limits = config->limits;
  CancellationToken token;
  SignalCancellation signals(token);
  context.cancel = &token;
  state.exit_code = PrintOutcome(registry.Invoke(flags.name, args, context), flags.json);
}

}  // namespace

void AddToolCommands(CLI::App& app, CommandState& state) {
  CLI::App* tool = app.add_subcommand("tool", "List and call the agent's tools directly");
  tool->require_subcommand(1);
  // Shared with the callbacks, which run after this function returns.
  auto flags = std::make_shared<ToolFlags>();
  CLI::App* list = tool->add_subcommand("list", "List the tools with their effect class");
  list->add_flag("--json", flags->json, "Print names, descriptions and JSON Schemas as JSON");
  list->callback([&state, flags] { ListTools(state, *flags); });
  CLI::App* call = tool->add_subcommand(
      "call", "Call one tool with JSON arguments (external effects need approval)");
  call->add_option("name", flags->name, "Tool name (see `tandem tool list`)")->required();
  call->add_option("--args", flags->args, "Arguments as a JSON object (default {})");
  call->add_option("--workspace", flags->workspace,
                   "Directory the tool may read and change (default: the current directory)");
  call->add_flag("--json", flags->json, "Print the result as JSON");
  call->callback([&state, flags] { CallTool(state, *flags); });
}

}  // namespace tandem::cli
