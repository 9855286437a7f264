// Tool calls for endpoints without native tool calling (capability `tools = false`). The
// request's tools are described in a system message, earlier calls and results are rewritten as
// plain turns, and the answer is asked for as one JSON object,
//   {"thoughts": "...", "tool": "NAME", "arguments": {...}},
// constrained by a schema with one branch per tool where the endpoint takes `response_format:
// json_schema` (json_object otherwise). RecoverToolCall turns that answer back into a tool call;
// an answer that is not one stays text, and the caller's repair loop says what was wrong.
#pragma once

#include <vector>

#include "tandem/llm/types.h"

namespace tandem::llm {

// The request rewritten for an endpoint without tools; unchanged when it offers none.
ChatRequest EmulateTools(ChatRequest request, bool json_schema);

// If `response`'s text is the JSON object EmulateTools asked for, naming one of `tools`, moves
// it into a tool call (the thoughts stay as text). The call's id is derived from `call_index`
// (the position of the answer in the conversation), so it is stable across retries.
void RecoverToolCall(ChatResponse& response, const std::vector<ToolSpec>& tools, size_t call_index);

}  // namespace tandem::llm
