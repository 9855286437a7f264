#include "tandem/agent/terminal_approver.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tandem::agent {
namespace {

constexpr size_t kMaxShownValue = 400;  // Longer argument values are cut in the prompt.

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

// Whether `pointer` is `top` ("/to") or lies beneath it ("/to/0").
bool Beneath(std::string_view pointer, std::string_view top) {
  return pointer.starts_with(top) && (pointer.size() == top.size() || pointer[top.size()] == '/');
}

std::string EscapeKey(std::string_view key) {
  std::string out;
  for (char c : key)
    out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// Reads one line without its newline; nullopt at end of input with nothing read.
std::optional<std::string> ReadLine(std::FILE* in) {
  std::string line;
  int c = 0;
  while ((c = std::fgetc(in)) != EOF && c != '\n')
    line += static_cast<char>(c);
  if (c == EOF && line.empty()) return std::nullopt;
  return line;
}

}  // namespace

std::optional<ApprovalDecision> ParseApprovalAnswer(std::string_view line) {
  line = Trim(line);
  if (line.empty()) return std::nullopt;
  std::string lower(line);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "y" || lower == "yes") return ApprovalDecision{.kind = ApprovalKind::kApprove};
  if (lower == "n" || lower == "no") return ApprovalDecision{.kind = ApprovalKind::kRefuse};
  if (lower == "a" || lower.starts_with("a ")) {
    std::string_view count = Trim(line.substr(1));
    int n = 0;
    auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), n);
    if (error != std::errc() || end != count.data() + count.size() || n <= 0) return std::nullopt;
    return ApprovalDecision{.kind = ApprovalKind::kApproveNext, .count = n};
  }
  if (lower == "f") return std::nullopt;
  if (lower.starts_with("f ")) {
    return ApprovalDecision{.kind = ApprovalKind::kFeedback,
                            .feedback = std::string(Trim(line.substr(2)))};
  }
  return ApprovalDecision{.kind = ApprovalKind::kFeedback, .feedback = std::string(line)};
}

std::string FormatApprovalPrompt(const ApprovalRequest& request) {
  std::string text =
      fmt::format("\napproval needed: step {} calls {} ({})\n  {}\n", request.step_seq,
                  request.tool, tools::EffectClassName(request.effect), request.reason);
  if (request.arguments.is_object()) {
    for (const auto& [key, value] : request.arguments.items()) {
      std::string shown =
          value.is_string() ? value.get<std::string>()
                            : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (shown.size() > kMaxShownValue) {
        shown = fmt::format("{}... ({} bytes)", shown.substr(0, kMaxShownValue), shown.size());
      }
      std::string top = "/" + EscapeKey(key);
      bool untrusted = std::any_of(request.untrusted_paths.begin(), request.untrusted_paths.end(),
                                   [&](const std::string& p) { return Beneath(p, top); });
      text += fmt::format("  {} {}: {}\n", untrusted ? "!" : " ", key, shown);
    }
  }
  if (!request.untrusted_paths.empty()) {
    std::string paths;
    for (const std::string& p : request.untrusted_paths)
      paths += (paths.empty() ? "" : ", ") + p;
    text += fmt::format(
        "  ! UNTRUSTED: {} copied from earlier tool output (the model may have been steered by "
        "what it read)\n",
        paths);
  }
  text += "  [y] approve  [a N] approve this and the next N  [n] refuse  [f TEXT] feedback > ";
  return text;
}

ApprovalDecision TerminalApprover::Decide(const ApprovalRequest& request) {
  fmt::print(out_, "{}", FormatApprovalPrompt(request));
  std::fflush(out_);
  while (true) {
    std::optional<std::string> line = ReadLine(in_);
    if (!line) {
      // A read error here is usually Ctrl-C (no SA_RESTART): the person wants out, not a retry.
      std::string note = std::ferror(in_) ? "input interrupted" : "stdin closed";
      std::clearerr(in_);
      fmt::print(out_, "\n({}: refusing and stopping; the task can be resumed)\n", note);
      std::fflush(out_);
      return {.kind = ApprovalKind::kRefuse, .note = std::move(note), .stop_run = true};
    }
    if (std::optional<ApprovalDecision> decision = ParseApprovalAnswer(*line)) return *decision;
    fmt::print(out_, "  answer y, a N (N >= 1), n, or f TEXT > ");
    std::fflush(out_);
  }
}

}  // namespace tandem::agent
