// The `tandem` command line. Each subcommand is registered from its cmd_*.cpp file.
#include <CLI/CLI.hpp>

#include "cli.h"

int main(int argc, char** argv) {
  using namespace tandem::cli;
  CLI::App app{"Tandem: autonomous agents on local and cloud models, routed by privacy and cost",
               "tandem"};
  app.set_version_flag("--version", std::string("tandem ") + TANDEM_VERSION);
  app.require_subcommand(1);
  CommandState state;
  app.add_option("--config", state.global.config_path, "Configuration file (tandem.toml)");
  app.add_option("--log-level", state.global.log_level, "trace|debug|info|warn|error|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--log-format", state.global.log_format, "text|json")
      ->check(CLI::IsMember({"text", "json"}));

  AddConfigCommands(app, state);
  AddRunCommands(app, state);
  AddTasksCommands(app, state);
  AddPlanCommands(app, state);
  AddCostCommands(app, state);
  AddRouteCommands(app, state);
  AddToolCommands(app, state);
  AddModelCommands(app, state);
  AddMemoryCommands(app, state);
  AddServeCommands(app, state);
  AddUserCommands(app, state);
  AddScheduleCommands(app, state);
  AddWorkerCommands(app, state);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return state.exit_code;
}
