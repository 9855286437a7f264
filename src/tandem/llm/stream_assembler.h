// Rebuilds a complete ChatResponse from the chunks of a streamed chat completion: text deltas,
// tool calls split across many deltas (matched by index and by id, since some servers reuse
// index 0 for parallel calls), the finish reason and a usage-only final chunk.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/llm/types.h"

namespace tandem::llm {

// Not thread-safe.
class StreamAssembler {
 public:
  // Adds one chunk (the JSON of an SSE `data:` line other than "[DONE]"). Returns the text
  // delta it carried (possibly empty). Fails with kInvalidArgument for malformed chunks or an
  // error object sent mid-stream.
  Result<std::string> Add(std::string_view chunk_json);

  // The assembled answer. Usage is as reported, or absent (caller estimates) when
  // `usage_reported()` is false. Fails if a tool call never received a name.
  Result<ChatResponse> Finish() const;

  bool usage_reported() const { return usage_.has_value(); }
  size_t chunks() const { return chunks_; }

 private:
  struct PartialCall {
    int64_t index = 0;
    std::string id;
    std::string name;
    std::string arguments;
  };
  Status AddToolCallDelta(const nlohmann::json& delta);

  std::string content_;
  std::vector<PartialCall> calls_;
  std::string finish_reason_;
  std::string model_;
  std::optional<Usage> usage_;
  size_t chunks_ = 0;
};

}  // namespace tandem::llm
