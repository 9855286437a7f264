#include "tandem/tools/tools_config.h"

#include <toml++/toml.h>

#include <algorithm>

#include "tandem/core/config_reader.h"

namespace tandem::tools {
namespace {

// Reads an optional value into `out`; the helpers below keep ParseToolsConfig flat.
template <typename T, typename Getter>
Status Read(const ConfigReader& reader, std::string_view key, Getter getter, T& out) {
  auto value = (reader.*getter)(key);
  if (!value) return std::unexpected(value.error());
  if (*value) out = static_cast<T>(**value);
  return {};
}

Status ReadPositive(const ConfigReader& reader, std::string_view key, double scale, int64_t& out) {
  auto value = reader.Number(key);
  if (!value) return std::unexpected(value.error());
  if (!*value) return {};
  if (**value <= 0) return std::unexpected(reader.ErrorAt(key, "must be greater than 0"));
  out = static_cast<int64_t>(**value * scale);
  return {};
}

Status ReadSeconds(const ConfigReader& reader, std::string_view key, double& out) {
  auto value = reader.Number(key);
  if (!value) return std::unexpected(value.error());
  if (!*value) return {};
  if (**value <= 0) return std::unexpected(reader.ErrorAt(key, "must be greater than 0"));
  out = **value;
  return {};
}

Status ParseSandbox(const ConfigReader& reader, ToolsConfig& out) {
  std::string mode = "bwrap";
  if (Status s = Read(reader, "sandbox", &ConfigReader::String, mode); !s) return s;
  if (mode == "bwrap" || mode == "bubblewrap") {
    out.sandbox.mode = SandboxMode::kBubblewrap;
  } else if (mode == "none") {
    out.sandbox.mode = SandboxMode::kNone;
  } else {
    return std::unexpected(
        reader.ErrorAt("sandbox", "expected \"bwrap\" or \"none\" (no isolation)"));
  }
  SandboxLimits& limits = out.sandbox.limits;
  if (Status s = ReadSeconds(reader, "timeout_s", limits.timeout_s); !s) return s;
  out.limits.timeout_s = limits.timeout_s;
  constexpr double kMiB = 1 << 20;
  Status checks[] = {ReadPositive(reader, "cpu_s", 1, limits.cpu_s),
                     ReadPositive(reader, "memory_mb", kMiB, limits.memory_bytes),
                     ReadPositive(reader, "max_processes", 1, limits.max_processes),
                     ReadPositive(reader, "max_file_mb", kMiB, limits.max_file_bytes),
                     ReadPositive(reader, "max_open_files", 1, limits.max_open_files),
                     ReadPositive(reader, "tmp_mb", kMiB, limits.tmp_bytes),
                     ReadPositive(reader, "output_kb", 1024, out.limits.max_output_bytes),
                     ReadPositive(reader, "read_kb", 1024, out.limits.max_read_bytes),
                     ReadPositive(reader, "write_kb", 1024, out.limits.max_write_bytes)};
  for (Status& s : checks) {
    if (!s) return s;
  }
  limits.max_output_bytes = out.limits.max_output_bytes;
  auto bwrap = reader.String("bwrap_path");
  if (!bwrap) return std::unexpected(bwrap.error());
  if (*bwrap) out.sandbox.bwrap = **bwrap;
  return {};
}

Status ParseFetch(const ConfigReader& reader, ToolsConfig& out) {
  if (Status s = Read(reader, "allow_hosts", &ConfigReader::StringArray, out.fetch.allow_hosts);
      !s) {
    return s;
  }
  for (std::string& host : out.fetch.allow_hosts) {
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  if (Status s = ReadPositive(reader, "fetch_max_kb", 1024, out.fetch.max_bytes); !s) return s;
  if (Status s = ReadSeconds(reader, "fetch_timeout_s", out.fetch.timeout_s); !s) return s;
  int64_t redirects = out.fetch.max_redirects;
  if (Status s = Read(reader, "max_redirects", &ConfigReader::Integer, redirects); !s) return s;
  if (redirects < 0 || redirects > 20) {
    return std::unexpected(reader.ErrorAt("max_redirects", "must be between 0 and 20"));
  }
  out.fetch.max_redirects = static_cast<int>(redirects);
  return {};
}

Status ParseSearch(const toml::table& table, ToolsConfig& out) {
  ConfigReader reader(table, "tools.search");
  if (Status s = reader.CheckKnownKeys({"providers", "max_results", "timeout_s"}); !s) return s;
  int64_t max_results = out.search.max_results;
  if (Status s = Read(reader, "max_results", &ConfigReader::Integer, max_results); !s) return s;
  out.search.max_results = static_cast<int>(std::clamp<int64_t>(max_results, 1, 50));
  if (Status s = ReadSeconds(reader, "timeout_s", out.search.timeout_s); !s) return s;
  const toml::array* providers = table["providers"].as_array();
  if (table.contains("providers") && !providers) {
    return std::unexpected(reader.ErrorAt("providers", "expected an array of tables"));
  }
  for (size_t i = 0; providers && i < providers->size(); ++i) {
    const toml::table* entry = providers->get(i)->as_table();
    std::string prefix = fmt::format("tools.search.providers[{}]", i);
    if (!entry) return std::unexpected(reader.ErrorAt("providers", prefix + " is not a table"));
    ConfigReader item(*entry, prefix);
    if (Status s = item.CheckKnownKeys(
            {"kind", "url", "key_env", "key_header", "results", "title", "url_field", "snippet"});
        !s) {
      return s;
    }
    SearchProviderOptions provider;
    Status reads[] = {Read(item, "kind", &ConfigReader::String, provider.kind),
                      Read(item, "url", &ConfigReader::String, provider.url),
                      Read(item, "key_env", &ConfigReader::String, provider.key_env),
                      Read(item, "key_header", &ConfigReader::String, provider.key_header),
                      Read(item, "results", &ConfigReader::String, provider.results_pointer),
                      Read(item, "title", &ConfigReader::String, provider.title_field),
                      Read(item, "url_field", &ConfigReader::String, provider.url_field),
                      Read(item, "snippet", &ConfigReader::String, provider.snippet_field)};
    for (Status& s : reads) {
      if (!s) return s;
    }
    if (provider.kind != "searxng" && provider.kind != "brave" && provider.kind != "generic") {
      return std::unexpected(
          item.ErrorAt("kind", "expected \"searxng\", \"brave\" or \"generic\""));
    }
    if (provider.kind == "brave") {
      if (provider.url.empty()) provider.url = "https://api.search.brave.com/res/v1/web/search";
      if (provider.key_env.empty()) provider.key_env = "BRAVE_API_KEY";
    }
    if (provider.url.empty()) return std::unexpected(item.ErrorAt("url", "is required"));
    out.search.providers.push_back(std::move(provider));
  }
  return {};
}

Status ParseSql(const toml::table& table, ToolsConfig& out) {
  ConfigReader reader(table, "tools.sql");
  if (Status s = reader.CheckKnownKeys({"databases", "max_rows", "timeout_s"}); !s) return s;
  if (Status s = ReadPositive(reader, "max_rows", 1, out.sql.max_rows); !s) return s;
  if (Status s = ReadSeconds(reader, "timeout_s", out.sql.timeout_s); !s) return s;
  const toml::table* databases = reader.Table("databases");
  if (table.contains("databases") && !databases) {
    return std::unexpected(reader.ErrorAt("databases", "expected a table of name = path"));
  }
  for (const auto& [key, node] : databases ? *databases : toml::table{}) {
    SqlDatabase database;
    database.name = std::string(key.str());
    if (const auto* path = node.as_string()) {
      database.path = path->get();
    } else if (const toml::table* entry = node.as_table()) {
      ConfigReader item(*entry, fmt::format("tools.sql.databases.{}", database.name));
      if (Status s = item.CheckKnownKeys({"path", "writable"}); !s) return s;
      std::string file;
      if (Status s = Read(item, "path", &ConfigReader::String, file); !s) return s;
      if (file.empty()) return std::unexpected(item.ErrorAt("path", "is required"));
      database.path = file;
      if (Status s = Read(item, "writable", &ConfigReader::Boolean, database.writable); !s) {
        return s;
      }
    } else {
      ConfigReader databases_reader(*databases, "tools.sql.databases");
      return std::unexpected(databases_reader.ErrorAt(
          key.str(), "expected a path or a table {path = \"...\", writable = true}"));
    }
    out.sql.databases.push_back(std::move(database));
  }
  return {};
}

Status ParseEmail(const toml::table& table, ToolsConfig& out) {
  ConfigReader reader(table, "tools.email");
  if (Status s = reader.CheckKnownKeys({"smtp_url", "from", "username_env", "password_env", "tls",
                                        "allow_domains", "timeout_s"});
      !s) {
    return s;
  }
  EmailToolOptions& email = out.email;
  Status reads[] = {Read(reader, "smtp_url", &ConfigReader::String, email.smtp_url),
                    Read(reader, "from", &ConfigReader::String, email.from),
                    Read(reader, "username_env", &ConfigReader::String, email.username_env),
                    Read(reader, "password_env", &ConfigReader::String, email.password_env),
                    Read(reader, "tls", &ConfigReader::String, email.tls),
                    Read(reader, "allow_domains", &ConfigReader::StringArray, email.allow_domains),
                    ReadSeconds(reader, "timeout_s", email.timeout_s)};
  for (Status& s : reads) {
    if (!s) return s;
  }
  if (email.tls != "required" && email.tls != "try" && email.tls != "none") {
    return std::unexpected(reader.ErrorAt("tls", "expected \"required\", \"try\" or \"none\""));
  }
  if (!email.smtp_url.empty() && email.from.empty()) {
    return std::unexpected(reader.ErrorAt("from", "is required when smtp_url is set"));
  }
  return {};
}

}  // namespace

Result<ToolsConfig> ParseToolsConfig(const Config& config) {
  ToolsConfig out;
  out.secrets = config.secrets;
  if (!config.document) return out;
  const toml::table* table = (*config.document)["tools"].as_table();
  if (!table) {
    if (config.document->contains("tools")) {
      return MakeError(ErrorCode::kInvalidArgument, "key 'tools': expected a table");
    }
    return out;
  }
  ConfigReader reader(*table, "tools");
  if (Status s = reader.CheckKnownKeys(
          {"sandbox",       "bwrap_path",   "timeout_s",      "cpu_s",        "memory_mb",
           "max_processes", "max_file_mb",  "max_open_files", "tmp_mb",       "output_kb",
           "read_kb",       "write_kb",     "allow_hosts",    "fetch_max_kb", "fetch_timeout_s",
           "max_redirects", "auto_approve", "disabled",       "search",       "sql",
           "email"});
      !s) {
    return std::unexpected(s.error());
  }
  Status steps[] = {ParseSandbox(reader, out), ParseFetch(reader, out),
                    Read(reader, "auto_approve", &ConfigReader::StringArray, out.auto_approve),
                    Read(reader, "disabled", &ConfigReader::StringArray, out.disabled)};
  for (Status& s : steps) {
    if (!s) return std::unexpected(s.error());
  }
  const std::pair<const char*, Status (*)(const toml::table&, ToolsConfig&)> sections[] = {
      {"search", ParseSearch}, {"sql", ParseSql}, {"email", ParseEmail}};
  for (const auto& [name, parse] : sections) {
    if (!table->contains(name)) continue;
    const toml::table* section = reader.Table(name);
    if (!section) return std::unexpected(reader.ErrorAt(name, "expected a table"));
    if (Status s = parse(*section, out); !s) return std::unexpected(s.error());
  }
  return out;
}

bool NeedsApproval(const Tool& tool, const nlohmann::json& args, const ToolsConfig& config) {
  if (tool.EffectOf(args) != EffectClass::kExternal) return false;
  return std::find(config.auto_approve.begin(), config.auto_approve.end(), tool.name()) ==
         config.auto_approve.end();
}

}  // namespace tandem::tools
