// ChatTemplate: turns a conversation (llm::Message, llm::ToolSpec) into the prompt text a chat
// model was trained on, and recognises tool calls in what the model answers.
//
//   ChatTemplate tmpl = ChatTemplate::FromGguf(model.gguf());   // or ::ForFamily(kChatMl)
//   RenderedPrompt prompt = tmpl.Render(messages, tools, {.add_generation_prompt = true});
//   std::vector<TokenId> ids = TokenizePrompt(model.vocab(), prompt);
//
// Families are recognised from `tokenizer.chat_template` by the markers they use, never by exact
// string equality: ChatML (Qwen, Hermes, SmolLM), Llama 3 (3.0 and 3.1 with its date header),
// Llama 2 (`<<SYS>>`), Mistral (`[INST]`, with or without spaces, `[AVAILABLE_TOOLS]`), Phi-3.
// Anything else gets a generic "Role: text" layout and a logged warning.
//
// Untrusted text (message contents, tool results, tool schemas) is kept apart from the template's
// own markers: only the markers are tokenized with special-token parsing, so a tool output that
// contains "<|im_end|>" cannot close a turn.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/gguf_reader.h"
#include "tandem/engine/vocab.h"
#include "tandem/llm/types.h"

namespace tandem::engine {

enum class ChatFamily { kChatMl, kLlama3, kLlama2, kMistral, kPhi3, kGeneric };
std::string_view ChatFamilyName(ChatFamily family);

// Recognises a template's family; kGeneric when no known markers are present.
ChatFamily DetectChatFamily(std::string_view jinja_template);

// One piece of rendered prompt. `special` pieces are the template's own markers and are tokenized
// with special-token parsing; the others never are.
struct PromptPiece {
  std::string text;
  bool special = false;
};

struct RenderedPrompt {
  std::vector<PromptPiece> pieces;
  std::string Text() const;  // all pieces concatenated (tests, logs)
};

struct RenderOptions {
  bool add_generation_prompt = true;  // end with the opening of an assistant turn
};

// Where a tool call sits in the model's answer: `prefix` + JSON object + `suffix`, the object
// holding the tool's name under "name" and its arguments under `arguments_key`.
struct ToolCallSyntax {
  std::string prefix;  // e.g. "<tool_call>\n"; empty: the answer is the bare object
  std::string suffix;  // e.g. "\n</tool_call>"
  std::string arguments_key = "arguments";
  bool list = false;  // Mistral: "[TOOL_CALLS][{...}, {...}]"
};

// A tool call found in generated text.
struct ParsedToolCalls {
  std::string content;  // text outside the calls (trimmed)
  std::vector<llm::ToolCall> calls;
};

class ChatTemplate {
 public:
  // The family of the file's `tokenizer.chat_template` (kGeneric with a warning when it is
  // absent or unknown). BOS/EOS texts come from the vocabulary when given.
  static ChatTemplate FromGguf(const GgufReader& gguf, const Vocab* vocab = nullptr);
  static ChatTemplate FromTemplateText(std::string_view jinja_template, std::string bos = "",
                                       std::string eos = "");
  static ChatTemplate ForFamily(ChatFamily family, std::string bos = "", std::string eos = "");

  // Fails with kInvalidArgument when a message cannot be expressed (a tool result with no
  // earlier call is fine; an unknown role cannot happen with llm types).
  RenderedPrompt Render(std::span<const llm::Message> messages,
                        std::span<const llm::ToolSpec> tools,
                        const RenderOptions& options = {}) const;

  ChatFamily family() const { return family_; }
  const ToolCallSyntax& tool_call_syntax() const { return tool_syntax_; }
  // Texts that end an assistant turn besides the vocabulary's EOS/EOT tokens (token texts such
  // as "<|im_end|>" and, for the generic layout, the next turn's header).
  const std::vector<std::string>& stop_strings() const { return stop_strings_; }

  // Splits generated text into plain content and tool calls written in this family's syntax.
  // Calls whose JSON does not parse are left in the content.
  ParsedToolCalls ParseToolCalls(std::string_view text) const;

 private:
  ChatTemplate() = default;
  void RenderChatMl(std::span<const llm::Message> messages, std::span<const llm::ToolSpec> tools,
                    const RenderOptions& options, RenderedPrompt& out) const;
  void RenderLlama3(std::span<const llm::Message> messages, std::span<const llm::ToolSpec> tools,
                    const RenderOptions& options, RenderedPrompt& out) const;
  void RenderLlama2(std::span<const llm::Message> messages, std::span<const llm::ToolSpec> tools,
                    const RenderOptions& options, RenderedPrompt& out) const;
  void RenderMistral(std::span<const llm::Message> messages, std::span<const llm::ToolSpec> tools,
                     const RenderOptions& options, RenderedPrompt& out) const;
  void RenderPhi3(std::span<const llm::Message> messages, std::span<const llm::ToolSpec> tools,
                  const RenderOptions& options, RenderedPrompt& out) const;
  void RenderGeneric(std::span<const llm::Message> messages, std::span<const llm::ToolSpec> tools,
                     const RenderOptions& options, RenderedPrompt& out) const;

  ChatFamily family_ = ChatFamily::kGeneric;
  std::string bos_, eos_;
  // Variants inside a family.
  std::string default_system_;        // ChatML (Qwen): used when the conversation has none
  bool tool_results_as_user_ = true;  // ChatML: Qwen wraps tool results in a user turn
  bool llama31_header_ = false;       // Llama 3.1: "Cutting Knowledge Date" system header
  bool inst_spaces_ = false;          // Mistral v0.1: "[INST] text [/INST]"
  ToolCallSyntax tool_syntax_;
  std::vector<std::string> stop_strings_;
};

// Tokenizes a rendered prompt: special pieces with special-token parsing, the rest without;
// BOS first when the vocabulary adds one and the template did not already write it.
std::vector<TokenId> TokenizePrompt(const Vocab& vocab, const RenderedPrompt& prompt);

// JSON text as Python's json.dumps writes it (", " and ": " separators, or `indent` spaces),
// which is what the templates' `tojson` produces. Key order is the json value's.
std::string PythonJson(const nlohmann::ordered_json& value, int indent = -1);

// The JSON Schema of one tool call in `syntax`'s object form, one anyOf branch per tool:
// {"name": {"const": N}, <arguments_key>: <tool parameters>}.
nlohmann::json ToolCallSchema(std::span<const llm::ToolSpec> tools, const ToolCallSyntax& syntax);

}  // namespace tandem::engine
