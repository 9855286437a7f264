#include "tandem/agent/thoughts.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace tandem::agent {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Drops the decorations models put around a label: "- ", "* ", "**", "#".
std::string_view StripDecoration(std::string_view line) {
  line = Trim(line);
  while (!line.empty() && (line.front() == '-' || line.front() == '*' || line.front() == '#')) {
    line.remove_prefix(1);
  }
  return Trim(line);
}

// The part a line opens and the text after its label, or nullptr when it opens none.
std::string* MatchLabel(std::string_view line, Thoughts& thoughts, std::string_view& rest) {
  const std::array<std::pair<std::string_view, std::string*>, 6> labels = {{
      {"observations", &thoughts.observations},
      {"observation", &thoughts.observations},
      {"reasoning", &thoughts.reasoning},
      {"plan", &thoughts.plan},
      {"self-criticism", &thoughts.criticism},
      {"criticism", &thoughts.criticism},
  }};
  std::string_view stripped = StripDecoration(line);
  std::string lower = Lower(stripped.substr(0, 20));
  for (const auto& [label, part] : labels) {
    if (!lower.starts_with(label)) continue;
    std::string_view after = stripped.substr(label.size());
    while (!after.empty() && after.front() == '*')
      after.remove_prefix(1);
    if (after.empty() || after.front() != ':') continue;
    after.remove_prefix(1);
    while (!after.empty() && after.front() == '*')
      after.remove_prefix(1);
    rest = Trim(after);
    return part;
  }
  return nullptr;
}

}  // namespace

std::string_view ThoughtsInstructions() {
  return "Before each tool call, write your thoughts as four short labelled lines:\n"
         "Observations: what the last result showed.\n"
         "Reasoning: why the next action follows.\n"
         "Plan: the next few steps.\n"
         "Criticism: what may be wrong with this plan.\n"
         "Then call exactly one tool.";
}

Thoughts ParseThoughts(std::string_view text) {
  Thoughts thoughts;
  std::string* current = nullptr;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    std::string_view rest;
    if (std::string* part = MatchLabel(line, thoughts, rest)) {
      current = part;
      if (!current->empty() && !rest.empty()) *current += '\n';
      *current += rest;
    } else if (current != nullptr && !Trim(line).empty()) {
      if (!current->empty()) *current += '\n';
      *current += Trim(line);
    }
  }
  return thoughts;
}

nlohmann::json ThoughtsToJson(const Thoughts& thoughts) {
  if (thoughts.empty()) return nullptr;
  return {{"observations", thoughts.observations},
          {"reasoning", thoughts.reasoning},
          {"plan", thoughts.plan},
          {"criticism", thoughts.criticism}};
}

}  // namespace tandem::agent
