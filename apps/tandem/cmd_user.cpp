// `tandem user add|list|token`: server accounts and API tokens.
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "tandem/server/auth.h"

namespace tandem::cli {
namespace {

struct UserFlags {
  std::string name;
  std::string role = "member";
  bool json = false;
};

// One line from stdin; on a terminal, prompts twice with echo off.
std::optional<std::string> ReadPassword() {
  bool tty = isatty(STDIN_FILENO) != 0;
  auto read_line = [tty](const char* prompt) -> std::optional<std::string> {
    termios saved{};
    if (tty) {
      fmt::print(stderr, "{}", prompt);
      tcgetattr(STDIN_FILENO, &saved);
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    bool ok = static_cast<bool>(std::getline(std::cin, line));
    if (tty) {
      tcsetattr(STDIN_FILENO, TCSANOW, &saved);
      fmt::print(stderr, "\n");
    }
    if (!ok) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  };
  std::optional<std::string> first = read_line("password: ");
  if (!first || !tty) return first;
  std::optional<std::string> again = read_line("again: ");
  if (!again || *again != *first) {
    fmt::print(stderr, "error: the passwords differ\n");
    return std::nullopt;
  }
  return first;
}

void AddCommand(CommandState& state, const UserFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  std::optional<std::string> password = ReadPassword();
  if (!password) {
    state.exit_code = ReportError(
        Error(ErrorCode::kInvalidArgument, "no password given (type it, or pipe it on stdin)"),
        kExitUsage);
    return;
  }
  Status added = server::AddUser(*store, flags.name, *server::ParseRole(flags.role), *password);
  if (!added) {
    state.exit_code = ReportError(added.error(), kExitTaskFailed);
    return;
  }
  fmt::print("user {} added ({})\n", flags.name, flags.role);
}

void ListCommand(CommandState& state, const UserFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  auto users = store->ListUsers();
  if (!users) {
    state.exit_code = ReportError(users.error(), kExitTaskFailed);
    return;
  }
  if (flags.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const store::UserRecord& user : *users) {
      out.push_back(
          {{"name", user.name}, {"role", user.role}, {"created_at_ms", user.created_at_ms}});
    }
    fmt::print("{}\n", out.dump(2));
    return;
  }
  if (users->empty()) fmt::print("no users yet\n");
  for (const store::UserRecord& user : *users)
    fmt::print("{}  {}\n", user.name, user.role);
}

void TokenCommand(CommandState& state, const UserFlags& flags) {
  std::optional<Config> config = LoadConfigOrReport(state);
  if (!config) return;
  std::unique_ptr<store::TaskStore> store = OpenStoreOrReport(*config, state);
  if (!store) return;
  Result<std::string> token = server::IssueApiToken(*store, flags.name);
  if (!token) {
    state.exit_code = ReportError(token.error(), kExitTaskFailed);
    return;
  }
  fmt::print("{}\n", *token);
  if (isatty(STDOUT_FILENO) != 0) {
    fmt::print(stderr,
               "shown once: only its hash is stored. Send it as "
               "`Authorization: Bearer <token>`.\n");
  }
}

}  // namespace

void AddUserCommands(CLI::App& app, CommandState& state) {
  // Shared with the callbacks, which run after this function returns.
  auto flags = std::make_shared<UserFlags>();
  CLI::App* user = app.add_subcommand("user", "Manage server users and API tokens");
  user->require_subcommand(1);
  CLI::App* add = user->add_subcommand("add", "Add a user (password from the terminal or stdin)");
  add->add_option("name", flags->name, "User name")->required();
  add->add_option("--role", flags->role, "admin, member (default) or viewer")
      ->check(CLI::IsMember({"admin", "member", "viewer"}));
  add->callback([&state, flags] { AddCommand(state, *flags); });
  CLI::App* list = user->add_subcommand("list", "List users");
  list->add_flag("--json", flags->json, "Print JSON");
  list->callback([&state, flags] { ListCommand(state, *flags); });
  CLI::App* token = user->add_subcommand("token", "Issue a new API token for a user (shown once)");
  token->add_option("name", flags->name, "User name")->required();
  token->callback([&state, flags] { TokenCommand(state, *flags); });
}

}  // namespace tandem::cli
