#include "tandem/agent/terminal_view.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace tandem::agent {
namespace {

constexpr size_t kMaxResultShown = 200;
constexpr std::string_view kEraseLine = "\r\033[K";

std::string Seconds(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  return fmt::format("{}m{:02}s", static_cast<int64_t>(s) / 60, static_cast<int64_t>(s) % 60);
}

}  // namespace

std::string FormatProgress(const Progress& progress) {
  std::string line =
      fmt::format("step {}/{} | {} | ${:.4f} | {} tokens", progress.step, progress.max_steps,
                  Seconds(progress.spent.seconds), progress.spent.usd, progress.spent.tokens);
  const Budget& budget = progress.budget;
  std::string left;
  auto add = [&left](const std::string& part) { left += (left.empty() ? "" : ", ") + part; };
  if (budget.usd) add(fmt::format("${:.4f}", std::max(0.0, *budget.usd - progress.spent.usd)));
  if (budget.tokens) {
    add(fmt::format("{} tokens", std::max<int64_t>(0, *budget.tokens - progress.spent.tokens)));
  }
  if (budget.seconds) add(Seconds(std::max(0.0, *budget.seconds - progress.spent.seconds)));
  if (budget.tool_calls) {
    add(fmt::format("{} tool calls",
                    std::max<int64_t>(0, *budget.tool_calls - progress.spent.tool_calls)));
  }
  if (!left.empty()) line += " | left: " + left;
  return line;
}

void TerminalView::EndLiveLine() {
  if (progress_shown_) {
    fmt::print(out_, "{}", kEraseLine);
    progress_shown_ = false;
  }
  if (streaming_) {
    fmt::print(out_, "\n");
    streaming_ = false;
  }
}

void TerminalView::Line(const std::string& text) {
  EndLiveLine();
  fmt::print(out_, "{}\n", text);
}

void TerminalView::OnModelText(int64_t step_seq, std::string_view text) {
  if (!options_.live || text.empty()) return;
  if (progress_shown_) {
    fmt::print(out_, "{}", kEraseLine);
    progress_shown_ = false;
  }
  if (!streaming_) fmt::print(out_, "  thinking: ");
  streaming_ = true;
  streamed_step_ = step_seq;
  fmt::print(out_, "{}", text);
  std::fflush(out_);
}

void TerminalView::OnProgress(const Progress& progress) {
  if (!options_.live) return;
  EndLiveLine();
  fmt::print(out_, "{}[{}]", kEraseLine, FormatProgress(progress));
  progress_shown_ = true;
  std::fflush(out_);
}

void TerminalView::OnEvent(const store::EventRecord& event) {
  nlohmann::json payload = nlohmann::json::parse(event.payload, nullptr, false);
  if (payload.is_discarded()) return;
  const std::string& type = event.type;
  if (type == "action_proposed") {
    std::string thoughts = payload.value("thoughts", "");
    int64_t step = payload.value("step", int64_t{0});
    if (!thoughts.empty() && !(options_.live && streamed_step_ == step)) {
      Line(fmt::format("  thinking: {}", thoughts));
    }
    Line(fmt::format(
        "  step {}: {} {}", step, payload.value("tool", ""),
        payload["arguments"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  } else if (type == "step_done") {
    std::string result = payload.value("result", "");
    if (result.size() > kMaxResultShown) result = result.substr(0, kMaxResultShown) + "...";
    while (!result.empty() && (result.back() == '\n' || result.back() == ' '))
      result.pop_back();
    Line(fmt::format("    -> {}{}", payload.value("is_error", false) ? "error: " : "", result));
  } else if (type == "invalid_answer") {
    Line(fmt::format("  model answer rejected: {}", payload.value("problem", "")));
  } else if (type == "watchdog") {
    Line(fmt::format("  watchdog: {} ({})", payload.value("reason", ""),
                     payload.value("verdict", "")));
  } else if (type == "budget_warning") {
    Line(fmt::format("  budget: over 80% of the {} limit", payload.value("limit", "")));
  } else if (type == "taint_raised") {
    Line(fmt::format("  sensitive data entered the task ({}): model calls stay local from now on",
                     payload.value("taint", "")));
  } else if (type == "approval_required") {
    EndLiveLine();  // The approver's prompt follows.
  } else if (type == "approval_granted") {
    std::string by = payload.value("note", "");
    if (by.empty()) by = payload.value("by", "");
    Line(fmt::format("  approved {} ({})", payload.value("tool", ""),
                     by == "approved_ahead"
                         ? fmt::format("approved ahead, {} left", payload.value("remaining", 0))
                         : by));
  } else if (type == "approval_refused") {
    std::string by = payload.value("by", "");
    Line(by == "nobody" ? fmt::format("  refused {}: needs approval and no one can approve "
                                      "(stdin is not a terminal; use --interactive or "
                                      "--continuous)",
                                      payload.value("tool", ""))
                        : fmt::format("  refused {}{}", payload.value("tool", ""),
                                      payload.value("stop", false) ? " (stopping)" : ""));
  } else if (type == "feedback") {
    Line(fmt::format("  feedback for the model: {}", payload.value("text", "")));
  } else if (type == "task_finished" && progress_shown_) {
    fmt::print(out_, "\n");  // The last progress line stays as the run's summary.
    progress_shown_ = false;
  }
  std::fflush(out_);
}

}  // namespace tandem::agent
