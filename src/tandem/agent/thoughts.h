// Structured thoughts: the four labelled parts the system prompt asks the model to write before
// each tool call (observations, reasoning, plan, self-criticism).
//
// They travel as the assistant message's text, not as a tool argument: the text is free to
// stream to the terminal as it is generated, every tool's arguments stay exactly its JSON
// Schema (no extra field for validation to special-case), and a model that writes no thoughts
// or only prose still gets its action run. The raw text is what is persisted and replayed to the
// model; the parts are parsed from it for people and programs.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tandem::agent {

struct Thoughts {
  std::string observations;  // What the last result showed.
  std::string reasoning;     // Why the next action follows.
  std::string plan;          // The next few steps.
  std::string criticism;     // What may be wrong with the plan.
  bool empty() const {
    return observations.empty() && reasoning.empty() && plan.empty() && criticism.empty();
  }
};

// The system prompt's instructions for writing thoughts, in the form ParseThoughts reads.
std::string_view ThoughtsInstructions();

// Reads lines starting with "Observations:", "Reasoning:", "Plan:" and "Criticism:" (or
// "Self-criticism:"; any case, optional markdown bullets or bold), each part running until the
// next label. Text before the first label is ignored; a missing part stays empty. Never fails.
Thoughts ParseThoughts(std::string_view text);

// {"observations", "reasoning", "plan", "criticism"}; null when no part was found.
nlohmann::json ThoughtsToJson(const Thoughts& thoughts);

}  // namespace tandem::agent
