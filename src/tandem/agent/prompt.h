// Builds the conversation sent to the model at each step from the task and its saved steps.
#pragma once

#include <vector>

#include "tandem/llm/types.h"
#include "tandem/store/records.h"
#include "tandem/tools/tools.h"

namespace tandem::agent {

// Tool specifications offered to the model: every registered tool plus `finish`.
std::vector<llm::ToolSpec> ToolSpecs(const tools::Registry& tools);

// What the loop adds to the conversation besides the task and its steps.
struct PromptExtras {
  std::string summary;                // Condensed steps 1..summary_through_seq; empty: none.
  int64_t summary_through_seq = 0;    // Steps up to this one are sent only as the summary.
  std::vector<std::string> recalled;  // Memories from earlier work, most relevant first.
};

// System prompt, goal, then each step as an assistant tool call and its tool result; `note`
// (if not empty) is appended as a user message telling the model what was wrong last time.
// The same as PromptHead, AppendStepMessages for each step and AppendPromptTail.
std::vector<llm::Message> BuildMessages(const store::TaskRecord& task,
                                        const std::vector<store::StepRecord>& steps,
                                        const std::vector<llm::ToolSpec>& tools,
                                        const std::string& note, const PromptExtras& extras = {});

// The system prompt, the goal and the summary of condensed steps (if any).
std::vector<llm::Message> PromptHead(const store::TaskRecord& task,
                                     const std::vector<llm::ToolSpec>& tools,
                                     const PromptExtras& extras);

// A done step not condensed into the summary, as an assistant tool call and its tool result;
// nothing for other steps. Returns whether it appended.
bool AppendStepMessages(const store::StepRecord& step, const PromptExtras& extras,
                        std::vector<llm::Message>& messages);

// What follows the steps: the recalled memories, then `note`; returns how many messages.
size_t AppendPromptTail(const std::vector<std::string>& recalled, const std::string& note,
                        std::vector<llm::Message>& messages);

// The tool call id a step answers (the model's, or a stable one derived from the step).
std::string CallIdOf(const store::StepRecord& step);

}  // namespace tandem::agent
