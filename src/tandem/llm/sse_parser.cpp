#include "tandem/llm/sse_parser.h"

namespace tandem::llm {

void SseParser::Feed(std::string_view bytes, const Handler& on_event) {
  while (!bytes.empty()) {
    if (last_was_cr_ && bytes.front() == '\n') bytes.remove_prefix(1);  // The LF of a CRLF.
    last_was_cr_ = false;
    size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      line_.append(bytes);
      return;
    }
    last_was_cr_ = bytes[end] == '\r';
    if (line_.empty()) {
      ProcessLine(bytes.substr(0, end), on_event);  // The common case: no copy.
    } else {
      line_.append(bytes.substr(0, end));
      ProcessLine(line_, on_event);
      line_.clear();
    }
    bytes.remove_prefix(end + 1);
  }
}

void SseParser::Finish() {
  // As the event-stream format says, an event not ended by a blank line is incomplete (the
  // connection dropped mid-event) and is discarded.
  line_.clear();
  event_.clear();
  data_.clear();
  has_data_ = false;
}

void SseParser::ProcessLine(std::string_view line, const Handler& on_event) {
  if (line.empty()) {
    Dispatch(on_event);
    return;
  }
  if (line.front() == ':') return;  // Comment (keep-alive).
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_ = std::string(value);
  }
  // `id` and `retry` do not matter for one-shot completions; unknown fields are ignored.
}

void SseParser::Dispatch(const Handler& on_event) {
  if (has_data_) on_event(SseEvent{event_, data_});
  event_.clear();
  data_.clear();
  has_data_ = false;
}

}  // namespace tandem::llm
