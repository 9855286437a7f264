// Generate: the token loop shared by `tandem model run`, EngineChatModel and `tandem model
// serve` — prompt tokens into a Context, Sampler picks, until a limit, an end token, a stop
// string or cancellation.
//
//   Context context(model, {.n_ctx = 2048});
//   Sampler sampler({.temperature = 0});
//   Result<Generation> g = Generate(context, sampler, prompt,
//                                   {.max_tokens = 64, .stop = {"\n\n"},
//                                    .on_text = [](std::string_view s) { fmt::print("{}", s); }});
//
// Streaming: `on_text` receives only complete UTF-8, and never any part of a stop string: text
// that could still become a stop string is held back until it cannot. Not thread-safe (it drives
// one Context and one Sampler).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"
#include "tandem/engine/context.h"
#include "tandem/engine/sampler.h"
#include "tandem/engine/token_constraint.h"
#include "tandem/engine/vocab.h"

namespace tandem::engine {

struct GenerateOptions {
  int max_tokens = 256;                           // generated tokens at most (<= 0: none)
  std::vector<std::string> stop;                  // the text ends before the first of these
  std::vector<TokenId> end_tokens;                // end generation besides the vocabulary's EOS/EOT
  bool ignore_eos = false;                        // keep going through EOS/EOT (and end_tokens)
  bool render_special = false;                    // control tokens appear in the text as their text
  const CancellationToken* cancel = nullptr;      // checked before every token
  std::function<void(std::string_view)> on_text;  // streamed text pieces (complete UTF-8)
  // Every generated token must satisfy this constraint (when `constraint_trigger` is empty), or
  // every token after the text first ends with `constraint_trigger` (optionally followed by
  // white space) until the constraint is complete; then generation continues freely. Not owned.
  TokenConstraint* constraint = nullptr;
  std::string constraint_trigger;
};

struct Generation {
  std::vector<TokenId> tokens;  // generated ids (an end token is not included)
  std::string text;             // their text, cut before a stop string
  // "length", "eos" (an end token), "stop" (a stop string, or the constraint completed the
  // whole answer), "context" (the window is full).
  std::string stop_reason;
  double prompt_seconds = 0;
  double generation_seconds = 0;
  double first_token_seconds = 0;  // from the start until the first generated token
};

// Evaluates `prompt` (at the context's current position) and generates. Errors: kCancelled,
// kInvalidArgument (empty prompt, token out of range), kFailedPrecondition (the prompt does not
// fit the context), kInternal (the constraint allows no token).
[[nodiscard]] Result<Generation> Generate(Context& context, Sampler& sampler,
                                          std::span<const TokenId> prompt,
                                          const GenerateOptions& options);

// How many bytes at the end of `text` are an incomplete UTF-8 sequence (0-3).
size_t IncompleteUtf8Tail(std::string_view text);

}  // namespace tandem::engine
