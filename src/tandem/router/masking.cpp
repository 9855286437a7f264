#include "tandem/router/masking.h"

#include <fmt/format.h>

#include <algorithm>

namespace tandem::router {

std::string Masker::Placeholder(EntityType type, std::string_view value) {
  if (auto it = placeholders_.find(value); it != placeholders_.end()) return it->second;
  std::string name(EntityTypeName(type));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
  std::string placeholder = fmt::format("<{}_{}>", name, ++counters_[type]);
  placeholders_.emplace(std::string(value), placeholder);
  values_.emplace(placeholder, std::string(value));
  return placeholder;
}

std::string Masker::MaskText(std::string_view text, std::vector<Finding> spans) {
  std::sort(spans.begin(), spans.end(),
            [](const Finding& a, const Finding& b) { return a.start < b.start; });
  std::string out;
  size_t copied = 0;
  for (size_t i = 0; i < spans.size();) {
    Finding merged = spans[i++];
    while (i < spans.size() && spans[i].start < merged.end) {
      merged.end = std::max(merged.end, spans[i++].end);
    }
    merged.end = std::min(merged.end, text.size());
    if (merged.start < copied || merged.start >= merged.end) continue;
    out.append(text.substr(copied, merged.start - copied));
    out += Placeholder(merged.type, text.substr(merged.start, merged.end - merged.start));
    copied = merged.end;
  }
  out.append(text.substr(std::min(copied, text.size())));
  return out;
}

llm::ChatRequest Masker::Mask(const llm::ChatRequest& request,
                              const std::vector<Finding>& findings) {
  llm::ChatRequest masked = request;
  auto spans_of = [&](uint32_t part) {
    std::vector<Finding> spans;
    for (const Finding& f : findings) {
      if (f.part == part) spans.push_back(f);
    }
    return spans;
  };
  auto part = static_cast<uint32_t>(masked.messages.size());
  for (size_t i = 0; i < masked.messages.size(); ++i) {
    std::vector<Finding> spans = spans_of(static_cast<uint32_t>(i));
    if (!spans.empty()) masked.messages[i].content = MaskText(request.messages[i].content, spans);
  }
  for (llm::Message& m : masked.messages) {
    for (llm::ToolCall& call : m.tool_calls) {
      std::vector<Finding> spans = spans_of(part++);
      if (!spans.empty()) call.arguments = MaskText(call.arguments, spans);
    }
  }
  return masked;
}

std::string Masker::Restore(std::string_view text) const {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('<', i);
    if (open == std::string_view::npos) break;
    // Placeholders are short: look for the closing '>' nearby only, keeping this linear.
    size_t close = text.substr(open, 48).find('>');
    auto it = close == std::string_view::npos ? values_.end()
                                              : values_.find(text.substr(open, close + 1));
    if (close != std::string_view::npos) close += open;
    if (it == values_.end()) {
      out.append(text.substr(i, open + 1 - i));
      i = open + 1;
      continue;
    }
    out.append(text.substr(i, open - i));
    out += it->second;
    i = close + 1;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

void Masker::Restore(llm::Message& message) const {
  message.content = Restore(message.content);
  for (llm::ToolCall& call : message.tool_calls)
    call.arguments = Restore(call.arguments);
}

}  // namespace tandem::router
