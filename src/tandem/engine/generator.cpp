#include "tandem/engine/generator.h"

#include <algorithm>
#include <chrono>

namespace tandem::engine {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Length of the longest suffix of `text` that is a proper prefix of one of `stops`.
size_t PartialStopLength(std::string_view text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const std::string& stop : stops) {
    size_t max = std::min(text.size(), stop.size() - 1);
    for (size_t n = max; n > best; --n) {
      if (text.substr(text.size() - n) == std::string_view(stop).substr(0, n)) {
        best = n;
        break;
      }
    }
  }
  return best;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

}  // namespace

size_t IncompleteUtf8Tail(std::string_view text) {
  size_t n = text.size();
  for (size_t back = 1; back <= std::min<size_t>(n, 4); ++back) {
    auto c = static_cast<uint8_t>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = (c & 0x80) == 0      ? 1
                  : (c & 0xE0) == 0xC0 ? 2
                  : (c & 0xF0) == 0xE0 ? 3
                  : (c & 0xF8) == 0xF0 ? 4
                                       : 1;
    return need > back ? back : 0;
  }
  return 0;  // only continuation bytes: invalid, not incomplete
}

Result<Generation> Generate(Context& context, Sampler& sampler, std::span<const TokenId> prompt,
                            const GenerateOptions& options) {
  const Vocab& vocab = context.model().vocab();
  Generation g;
  if (prompt.empty()) return MakeError(ErrorCode::kInvalidArgument, "the prompt has no tokens");
  if (context.n_past() + static_cast<int>(prompt.size()) > context.n_ctx()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the prompt ({} tokens) does not fit the context window ({} tokens, {} used)",
                     prompt.size(), context.n_ctx(), context.n_past());
  }
  if (options.cancel != nullptr && options.cancel->IsCancelled()) {
    return MakeError(ErrorCode::kCancelled, "generation cancelled");
  }
  Clock::time_point start = Clock::now();
  Result<std::span<const float>> logits = context.Eval(prompt);
  if (!logits) return std::unexpected(std::move(logits.error()).WithContext("reading the prompt"));
  Clock::time_point prompt_done = Clock::now();
  g.prompt_seconds = Seconds(start, prompt_done);

  std::vector<TokenId> history(prompt.begin(), prompt.end());
  size_t emitted = 0;  // bytes of g.text already given to on_text
  auto emit_to = [&](size_t end) {
    if (end > emitted && options.on_text) {
      options.on_text(std::string_view(g.text).substr(emitted, end - emitted));
    }
    emitted = std::max(emitted, end);
  };
  auto is_end = [&](TokenId id) {
    return vocab.IsEndOfGeneration(id) ||
           std::find(options.end_tokens.begin(), options.end_tokens.end(), id) !=
               options.end_tokens.end();
  };
  size_t max_stop = 0;
  for (const std::string& s : options.stop)
    max_stop = std::max(max_stop, s.size());

  TokenConstraint* constraint = options.constraint;
  bool constrained = constraint != nullptr && options.constraint_trigger.empty();
  bool constraint_done = false;
  g.stop_reason = "length";
  for (int i = 0; i < options.max_tokens; ++i) {
    if (options.cancel != nullptr && options.cancel->IsCancelled()) {
      return MakeError(ErrorCode::kCancelled, "generation cancelled");
    }
    if (constrained && constraint->IsComplete()) {
      constrained = false;
      constraint_done = true;
      if (options.constraint_trigger.empty()) {
        g.stop_reason = "stop";
        break;
      }
    }
    // Constrained: the sampled token is checked first; the vocabulary is filtered only when
    // the constraint refuses it (Sampler::Sample with a constraint).
    TokenId next = sampler.Sample(*logits, history, constrained ? constraint : nullptr);
    if (next == Sampler::kNoToken || (constrained && is_end(next))) {
      return MakeError(ErrorCode::kInternal, "the output constraint allows no token");
    }
    if (!constrained && !options.ignore_eos && is_end(next)) {
      g.stop_reason = "eos";
      break;
    }
    if (g.tokens.empty()) g.first_token_seconds = Seconds(start, Clock::now());
    if (constrained) constraint->Accept(next);
    g.tokens.push_back(next);
    history.push_back(next);
    size_t before = g.text.size();
    g.text += vocab.TokenToPiece(next, options.render_special);

    // A stop string ends the text where it starts; nothing of it is ever emitted.
    bool stopped = false;
    if (!options.stop.empty()) {
      size_t from = before >= max_stop ? before - max_stop + 1 : 0;
      size_t cut = std::string::npos;
      for (const std::string& s : options.stop) {
        if (s.empty()) continue;
        size_t hit = g.text.find(s, from);
        if (hit != std::string::npos) cut = std::min(cut, hit);
      }
      if (cut != std::string::npos) {
        g.text.resize(cut);
        stopped = true;
      }
    }
    if (stopped) {
      g.stop_reason = "stop";
      break;
    }
    // Arm a triggered constraint once the text ends with its trigger (and white space).
    if (constraint != nullptr && !constrained && !constraint_done &&
        !options.constraint_trigger.empty()) {
      std::string_view text = g.text;
      while (!text.empty() && IsSpace(text.back()))
        text.remove_suffix(1);
      if (text.ends_with(options.constraint_trigger)) constrained = true;
    }
    size_t hold = std::max(PartialStopLength(g.text, options.stop), IncompleteUtf8Tail(g.text));
    emit_to(g.text.size() - hold);

    if (i + 1 == options.max_tokens) break;
    if (context.n_past() >= context.n_ctx()) {
      g.stop_reason = "context";
      break;
    }
    logits = context.Eval(std::span(&next, 1));
    if (!logits) return std::unexpected(logits.error());
  }
  // Flush what was held back; an incomplete UTF-8 tail is streamed as U+FFFD.
  size_t tail = IncompleteUtf8Tail(g.text);
  emit_to(g.text.size() - tail);
  if (tail > 0 && options.on_text) options.on_text("\xEF\xBF\xBD");
  g.generation_seconds = Seconds(prompt_done, Clock::now());
  return g;
}

}  // namespace tandem::engine
