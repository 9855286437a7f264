#include "tandem/core/secrets.h"

#include <fstream>
#include <sstream>

extern char** environ;  // NOLINT: POSIX global.

namespace tandem {
namespace {

constexpr size_t kMinRedactedLength = 8;

bool IsValidKey(std::string_view key) {
  if (key.empty() || std::isdigit(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// Unquotes a .env value: "double" (with \n, \", \\ escapes), 'single' (literal), or bare
// (a trailing " # comment" removed).
Result<std::string> ParseValue(std::string_view raw) {
  raw = Trim(raw);
  if (raw.empty()) return std::string();
  char quote = raw.front();
  if (quote == '"' || quote == '\'') {
    size_t close = raw.find(quote, 1);
    if (quote == '"') {
      std::string out;
      for (size_t i = 1; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '"') {
          if (!Trim(raw.substr(i + 1)).empty() && Trim(raw.substr(i + 1)).front() != '#') {
            return MakeError(ErrorCode::kInvalidArgument, "text after closing quote");
          }
          return out;
        }
        if (c == '\\' && i + 1 < raw.size()) {
          char next = raw[++i];
          out += next == 'n' ? '\n' : next == 't' ? '\t' : next;
        } else {
          out += c;
        }
      }
      return MakeError(ErrorCode::kInvalidArgument, "unterminated double quote");
    }
    if (close == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "unterminated single quote");
    }
    return std::string(raw.substr(1, close - 1));
  }
  size_t comment = raw.find(" #");
  return std::string(Trim(raw.substr(0, comment)));
}

}  // namespace

std::optional<std::string> Secrets::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

bool IsSecretName(std::string_view name) {
  for (std::string_view marker : {"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"}) {
    if (name.find(marker) != std::string_view::npos) return true;
  }
  return false;
}

std::string Secrets::Redact(std::string text) const {
  for (const auto& [name, value] : values_) {
    if (value.size() < kMinRedactedLength || !IsSecretName(name)) continue;
    for (size_t pos = text.find(value); pos != std::string::npos; pos = text.find(value, pos + 1)) {
      text.replace(pos, value.size(), "[redacted]");
    }
  }
  return text;
}

Result<std::map<std::string, std::string>> ParseDotEnv(std::string_view text,
                                                       std::string_view source_name) {
  std::map<std::string, std::string> values;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    std::string_view view = Trim(line);
    if (view.empty() || view.front() == '#') continue;
    if (view.starts_with("export ")) view = Trim(view.substr(7));
    size_t eq = view.find('=');
    if (eq == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "{}:{}: expected KEY=VALUE", source_name,
                       line_no);
    }
    std::string key(Trim(view.substr(0, eq)));
    if (!IsValidKey(key)) {
      return MakeError(ErrorCode::kInvalidArgument, "{}:{}: invalid variable name '{}'",
                       source_name, line_no, key);
    }
    Result<std::string> value = ParseValue(view.substr(eq + 1));
    if (!value) {
      return MakeError(ErrorCode::kInvalidArgument, "{}:{}: variable {}: {}", source_name, line_no,
                       key, value.error().message());
    }
    values[key] = std::move(*value);
  }
  return values;
}

Result<Secrets> LoadSecrets(const std::map<std::string, std::string>& environment,
                            const std::filesystem::path& working_dir) {
  std::map<std::string, std::string> values;
  std::filesystem::path dotenv = working_dir / ".env";
  std::ifstream file(dotenv);
  if (file) {
    std::stringstream buffer;
    buffer << file.rdbuf();
    Result<std::map<std::string, std::string>> parsed = ParseDotEnv(buffer.str(), dotenv.string());
    if (!parsed) return std::unexpected(parsed.error());
    values = std::move(*parsed);
  }
  for (const auto& [key, value] : environment)
    values[key] = value;
  return Secrets(std::move(values));
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

}  // namespace tandem
