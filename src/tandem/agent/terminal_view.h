// Renders a run for a person: one line per event, and on a terminal also the model's streamed
// text and a progress line (step n/max, elapsed time, cost so far, remaining budget) kept at the
// bottom.
//
//   TerminalView view(stdout, {.live = isatty(STDOUT_FILENO) != 0});
//   Controller controller({..., .events = &view});
#pragma once

#include <cstdio>
#include <string>

#include "tandem/agent/controller.h"

namespace tandem::agent {

struct TerminalViewOptions {
  // True on a terminal: stream model text and redraw a progress line in place (ANSI erase).
  // False (pipes, files): plain event lines only, nothing rewritten.
  bool live = false;
};

// The progress line: "step 3/30 | 12.4s | $0.0123 | left: $0.0377, 18 tool calls".
std::string FormatProgress(const Progress& progress);

// Writes to `out` (not owned; must outlive it). Not thread-safe: the controller calls it from
// its one thread.
class TerminalView final : public EventSink {
 public:
  TerminalView(std::FILE* out, TerminalViewOptions options) : out_(out), options_(options) {}

  void OnEvent(const store::EventRecord& event) override;
  bool WantsModelText() const override { return options_.live; }
  void OnModelText(int64_t step_seq, std::string_view text) override;
  void OnProgress(const Progress& progress) override;

 private:
  // Ends the in-place progress line or streamed text so the next output starts a fresh line.
  void EndLiveLine();
  void Line(const std::string& text);

  std::FILE* out_;
  TerminalViewOptions options_;
  bool progress_shown_ = false;  // The progress line is drawn and not yet erased.
  bool streaming_ = false;       // Streamed text is open on the current line.
  int64_t streamed_step_ = 0;    // The step whose thoughts were streamed (not printed again).
};

}  // namespace tandem::agent
