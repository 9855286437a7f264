// An incremental parser for Server-Sent Events (the WHATWG event-stream format): lines ended by
// LF, CRLF or CR, `:` comments, `field: value` with one optional leading space, multi-line
// `data`, and events dispatched at blank lines.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tandem::llm {

struct SseEvent {
  std::string event;  // The `event:` field; empty for the default "message".
  std::string data;   // The `data:` lines joined with "\n".
};

// Not thread-safe. Feed bytes as they arrive; events are delivered in order.
class SseParser {
 public:
  using Handler = std::function<void(const SseEvent&)>;

  void Feed(std::string_view bytes, const Handler& on_event);
  // Ends the stream. A final event without its blank line is incomplete and discarded.
  void Finish();

 private:
  void ProcessLine(std::string_view line, const Handler& on_event);
  void Dispatch(const Handler& on_event);

  std::string line_;          // Bytes of the current, unfinished line.
  bool last_was_cr_ = false;  // A CR ended the last line: a following LF belongs to it.
  std::string event_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace tandem::llm
