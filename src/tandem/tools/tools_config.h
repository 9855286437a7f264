// The [tools] configuration section: sandbox mode and limits, web allowlist and caps, search
// providers, SQLite databases, SMTP, and which external tools run without approval.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/tools/sandbox.h"
#include "tandem/tools/tools.h"

namespace tandem::tools {

struct FetchOptions {
  std::vector<std::string> allow_hosts;  // Hosts exempt from the private-address refusal.
  int64_t max_bytes = 2 << 20;           // Body bytes read; the rest is cut off and reported.
  double timeout_s = 20;                 // Whole request, per hop.
  double connect_timeout_s = 5;
  int64_t low_speed_bytes = 256;  // Abort when slower than this many bytes/s ...
  int64_t low_speed_s = 10;       // ... for this many seconds (slow-drip servers).
  int max_redirects = 5;          // Each hop is checked again.
  std::string user_agent = "Tandem/0.1 (+https://example.invalid/tandem)";
};

struct SearchProviderOptions {
  std::string kind;     // "searxng", "brave" or "generic".
  std::string url;      // Endpoint; for "generic" "{query}" is replaced by the encoded query.
  std::string key_env;  // Environment variable holding the API key (brave, generic).
  std::string key_header = "X-Subscription-Token";  // Header the key is sent in.
  std::string results_pointer = "/results";         // generic: JSON pointer to the array.
  std::string title_field = "title";
  std::string url_field = "url";
  std::string snippet_field = "snippet";
};

struct SearchToolOptions {
  std::vector<SearchProviderOptions> providers;  // Tried in order until one answers.
  int max_results = 8;
  double timeout_s = 15;
};

struct SqlDatabase {
  std::string name;            // What the model passes as `database`.
  std::filesystem::path path;  // SQLite file; must exist.
  bool writable = false;       // Writes make a call `external`.
};

struct SqlToolOptions {
  std::vector<SqlDatabase> databases;
  int64_t max_rows = 200;
  double timeout_s = 10;
};

struct EmailToolOptions {
  std::string smtp_url;      // "smtp://host:587" or "smtps://host:465"; empty disables.
  std::string from;          // Envelope and header sender.
  std::string username_env;  // Variables holding the SMTP credentials (optional).
  std::string password_env;
  std::string tls = "required";  // "required" (STARTTLS or smtps), "try", "none" (loopback).
  std::vector<std::string> allow_domains;  // Recipient domains allowed; empty: any.
  double timeout_s = 30;
};

struct ToolsConfig {
  SandboxOptions sandbox;
  ToolLimits limits;  // Defaults for each call's ToolContext.
  FetchOptions fetch;
  SearchToolOptions search;
  SqlToolOptions sql;
  EmailToolOptions email;
  std::vector<std::string> auto_approve;  // External tools that run without asking.
  std::vector<std::string> disabled;      // Tools not registered at all.
  Secrets secrets;                        // For API keys and SMTP credentials.
};

// Reads the [tools] table of `config` (defaults when absent). Fails with kInvalidArgument naming
// file, line and key of the first bad value.
Result<ToolsConfig> ParseToolsConfig(const Config& config);

// Whether a call needs a person's approval: its effect is external and the tool is not in
// auto_approve.
bool NeedsApproval(const Tool& tool, const nlohmann::json& args, const ToolsConfig& config);

// Registers every built-in tool not disabled in `config`.
Status RegisterBuiltinTools(Registry& registry, const ToolsConfig& config);

}  // namespace tandem::tools
