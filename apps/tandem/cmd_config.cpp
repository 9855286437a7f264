// `tandem config check`: validate and print the effective configuration, secrets redacted.
#include <fmt/format.h>

#include "cli.h"

namespace tandem::cli {

void AddConfigCommands(CLI::App& app, CommandState& state) {
  CLI::App* config = app.add_subcommand("config", "Inspect the configuration");
  config->require_subcommand(1);
  CLI::App* check = config->add_subcommand(
      "check", "Validate the configuration and print the effective values (secrets redacted)");
  // Shared with the callback, which runs after this function returns.
  auto json = std::make_shared<bool>(false);
  check->add_flag("--json", *json, "Print JSON only");
  check->callback([&state, json] {
    std::optional<Config> loaded = LoadConfigOrReport(state);
    if (!loaded) return;
    if (*json) {
      fmt::print("{}\n", DescribeConfig(*loaded));
      return;
    }
    fmt::print("configuration OK ({})\n", loaded->source.empty()
                                              ? "no file found: built-in defaults"
                                              : loaded->source.string());
    fmt::print("{}\n", DescribeConfig(*loaded));
    for (const ProviderConfig& provider : loaded->providers) {
      if (Status key = CheckProviderKeys(*loaded, provider); !key) {
        fmt::print(stderr, "warning: {}\n", key.error().message());
      }
    }
  });
}

}  // namespace tandem::cli
