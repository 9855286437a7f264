#include "tandem/engine/chat_template.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

namespace tandem::engine {
namespace {

using llm::Message;
using llm::Role;
using llm::ToolSpec;

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

// Appends template markup (special) or conversation text (plain) to a prompt.
class Writer {
 public:
  explicit Writer(RenderedPrompt& out) : out_(out) {}
  Writer& M(std::string_view text) { return Add(text, true); }
  Writer& T(std::string_view text) { return Add(text, false); }

 private:
  Writer& Add(std::string_view text, bool special) {
    if (text.empty()) return *this;
    if (!out_.pieces.empty() && out_.pieces.back().special == special) {
      out_.pieces.back().text.append(text);
    } else {
      out_.pieces.push_back({std::string(text), special});
    }
    return *this;
  }
  RenderedPrompt& out_;
};

// The tool as the templates receive it: {"type": "function", "function": {...}}.
nlohmann::ordered_json ToolObject(const ToolSpec& tool) {
  nlohmann::ordered_json function;
  function["name"] = tool.name;
  function["description"] = tool.description;
  function["parameters"] = nlohmann::ordered_json::parse(tool.parameters.dump());
  nlohmann::ordered_json object;
  object["type"] = "function";
  object["function"] = std::move(function);
  return object;
}

// A call's arguments as JSON (the model's raw text when it does not parse).
std::string ArgumentsJson(const llm::ToolCall& call) {
  nlohmann::ordered_json parsed =
      nlohmann::ordered_json::parse(call.arguments, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return call.arguments.empty() ? "{}" : call.arguments;
  return PythonJson(parsed);
}

// The generic tool instructions (Qwen's wording), used by families without their own.
void WriteToolInstructions(Writer& w, std::span<const ToolSpec> tools) {
  w.T("# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are "
      "provided with function signatures within <tools></tools> XML tags:\n<tools>");
  for (const ToolSpec& tool : tools) {
    w.T("\n");
    w.T(PythonJson(ToolObject(tool)));
  }
  w.T("\n</tools>\n\nFor each function call, return a json object with function name and "
      "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
      "<function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
}

// The system text, then the generic tool instructions when there are tools.
void WriteSystemAndTools(Writer& w, std::string_view system, std::span<const ToolSpec> tools) {
  w.T(system);
  if (tools.empty()) return;
  if (!system.empty()) w.T("\n\n");
  WriteToolInstructions(w, tools);
}

// A leading system message's text (nullopt when there is none), and where the other messages
// start.
struct LeadingSystem {
  std::optional<std::string_view> text;
  size_t rest = 0;
};
LeadingSystem SplitLeadingSystem(std::span<const Message> messages) {
  if (messages.empty() || messages[0].role != Role::kSystem) return {};
  return {messages[0].content, 1};
}

// "<tool_call>\n{...}\n</tool_call>" blocks, one per call, each preceded by a newline when
// `leading_newline`.
void WriteTaggedCalls(Writer& w, const Message& m, bool leading_newline) {
  for (size_t i = 0; i < m.tool_calls.size(); ++i) {
    const llm::ToolCall& call = m.tool_calls[i];
    if (leading_newline || i > 0) w.T("\n");
    w.T("<tool_call>\n{\"name\": \"");
    w.T(call.name);
    w.T("\", \"arguments\": ");
    w.T(ArgumentsJson(call));
    w.T("}\n</tool_call>");
  }
}

// Mistral wants tool call ids of exactly nine letters and digits; other ids are mapped to one
// deterministically so a call and its result still match.
std::string MistralCallId(std::string_view id) {
  bool ok = id.size() == 9 && std::all_of(id.begin(), id.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            });
  if (ok) return std::string(id);
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : id) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out;
  for (int i = 0; i < 9; ++i) {
    out += kAlphabet[h % 62];
    h /= 62;
    if (h == 0) h = 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(i);
  }
  return out;
}

void AppendPythonJson(const nlohmann::ordered_json& v, int indent, int depth, std::string& out) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  if (v.is_object() && !v.empty()) {
    out += '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) out += indent >= 0 ? "," : ", ";
      first = false;
      if (indent >= 0) newline(depth + 1);
      out += nlohmann::ordered_json(it.key()).dump();
      out += ": ";
      AppendPythonJson(it.value(), indent, depth + 1, out);
    }
    if (indent >= 0) newline(depth);
    out += '}';
  } else if (v.is_array() && !v.empty()) {
    out += '[';
    bool first = true;
    for (const auto& element : v) {
      if (!first) out += indent >= 0 ? "," : ", ";
      first = false;
      if (indent >= 0) newline(depth + 1);
      AppendPythonJson(element, indent, depth + 1, out);
    }
    if (indent >= 0) newline(depth);
    out += ']';
  } else {
    out += v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
}

// Reads one JSON value at the start of `text`; returns it and how many bytes it used.
std::optional<std::pair<nlohmann::json, size_t>> ParseJsonPrefix(std::string_view text) {
  // Find the end of the first balanced {...} or [...] outside strings.
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return std::nullopt;
  char open = text[start];
  if (open != '{' && open != '[') return std::nullopt;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) {
        nlohmann::json parsed = nlohmann::json::parse(text.substr(start, i + 1 - start), nullptr,
                                                      /*allow_exceptions=*/false);
        if (parsed.is_discarded()) return std::nullopt;
        return std::make_pair(std::move(parsed), i + 1);
      }
    }
  }
  return std::nullopt;
}

// A call object {"name": ..., key: {...}} as an llm::ToolCall.
std::optional<llm::ToolCall> CallFromJson(const nlohmann::json& j, const std::string& key,
                                          size_t index) {
  if (!j.is_object()) return std::nullopt;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string()) return std::nullopt;
  auto args = j.find(key);
  if (args == j.end() && key != "arguments") args = j.find("arguments");
  if (args == j.end()) args = j.find("parameters");
  llm::ToolCall call;
  call.name = name->get<std::string>();
  if (args == j.end()) {
    call.arguments = "{}";
  } else if (args->is_string()) {
    call.arguments = args->get<std::string>();
  } else {
    call.arguments = args->dump();
  }
  auto id = j.find("id");
  call.id =
      id != j.end() && id->is_string() ? id->get<std::string>() : fmt::format("call_{}", index);
  return call;
}

}  // namespace

std::string_view ChatFamilyName(ChatFamily family) {
  switch (family) {
    case ChatFamily::kChatMl:
      return "chatml";
    case ChatFamily::kLlama3:
      return "llama3";
    case ChatFamily::kLlama2:
      return "llama2";
    case ChatFamily::kMistral:
      return "mistral";
    case ChatFamily::kPhi3:
      return "phi3";
    case ChatFamily::kGeneric:
      return "generic";
  }
  return "generic";
}

ChatFamily DetectChatFamily(std::string_view t) {
  if (Contains(t, "<|im_start|>")) return ChatFamily::kChatMl;
  if (Contains(t, "<|start_header_id|>") && Contains(t, "<|end_header_id|>")) {
    return ChatFamily::kLlama3;
  }
  if (Contains(t, "<|user|>") && Contains(t, "<|end|>")) return ChatFamily::kPhi3;
  if (Contains(t, "[INST]")) {
    return Contains(t, "<<SYS>>") ? ChatFamily::kLlama2 : ChatFamily::kMistral;
  }
  return ChatFamily::kGeneric;
}

std::string RenderedPrompt::Text() const {
  std::string text;
  for (const PromptPiece& piece : pieces)
    text += piece.text;
  return text;
}

std::string PythonJson(const nlohmann::ordered_json& value, int indent) {
  std::string out;
  AppendPythonJson(value, indent, 0, out);
  return out;
}

nlohmann::json ToolCallSchema(std::span<const ToolSpec> tools, const ToolCallSyntax& syntax) {
  nlohmann::json any_of = nlohmann::json::array();
  for (const ToolSpec& tool : tools) {
    nlohmann::json parameters = tool.parameters.is_object() && !tool.parameters.empty()
                                    ? tool.parameters
                                    : nlohmann::json{{"type", "object"}};
    any_of.push_back(
        {{"type", "object"},
         {"properties", {{"name", {{"const", tool.name}}}, {syntax.arguments_key, parameters}}},
         {"required", {"name", syntax.arguments_key}},
         {"additionalProperties", false}});
  }
  if (any_of.size() == 1) return any_of[0];
  return {{"anyOf", any_of}};
}

ChatTemplate ChatTemplate::ForFamily(ChatFamily family, std::string bos, std::string eos) {
  ChatTemplate t;
  t.family_ = family;
  t.bos_ = std::move(bos);
  t.eos_ = std::move(eos);
  t.tool_syntax_ = {.prefix = "<tool_call>\n", .suffix = "\n</tool_call>"};
  switch (family) {
    case ChatFamily::kChatMl:
      t.stop_strings_ = {"<|im_end|>", "<|endoftext|>"};
      break;
    case ChatFamily::kLlama3:
      t.llama31_header_ = true;
      t.tool_syntax_ = {.prefix = "", .suffix = "", .arguments_key = "parameters"};
      t.stop_strings_ = {"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"};
      break;
    case ChatFamily::kMistral:
      t.tool_syntax_ = {.prefix = "[TOOL_CALLS]", .suffix = "", .list = true};
      t.stop_strings_ = {"</s>"};
      break;
    case ChatFamily::kLlama2:
      t.stop_strings_ = {"</s>"};
      break;
    case ChatFamily::kPhi3:
      t.stop_strings_ = {"<|end|>", "<|endoftext|>"};
      break;
    case ChatFamily::kGeneric:
      t.stop_strings_ = {"\nUser:", "\nSystem:"};
      break;
  }
  if (!t.eos_.empty() &&
      std::find(t.stop_strings_.begin(), t.stop_strings_.end(), t.eos_) == t.stop_strings_.end()) {
    t.stop_strings_.push_back(t.eos_);
  }
  return t;
}

ChatTemplate ChatTemplate::FromTemplateText(std::string_view jinja, std::string bos,
                                            std::string eos) {
  ChatFamily family = DetectChatFamily(jinja);
  if (family == ChatFamily::kGeneric) {
    spdlog::warn("chat template not recognised; using a generic \"Role: text\" layout");
  }
  ChatTemplate t = ForFamily(family, std::move(bos), std::move(eos));
  switch (family) {
    case ChatFamily::kChatMl: {
      constexpr std::string_view kQwenSystem =
          "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
      if (Contains(jinja, kQwenSystem)) t.default_system_ = std::string(kQwenSystem);
      // Hermes-style templates answer tools in a "tool" turn; Qwen's in a "user" turn.
      t.tool_results_as_user_ = !Contains(jinja, "<|im_start|>tool");
      break;
    }
    case ChatFamily::kLlama3:
      t.llama31_header_ = Contains(jinja, "Cutting Knowledge Date");
      break;
    case ChatFamily::kMistral:
      t.inst_spaces_ = Contains(jinja, "[INST] ") || Contains(jinja, " [/INST]");
      break;
    default:
      break;
  }
  return t;
}

ChatTemplate ChatTemplate::FromGguf(const GgufReader& gguf, const Vocab* vocab) {
  std::string bos, eos;
  if (vocab != nullptr) {
    if (vocab->bos()) bos = vocab->TokenText(*vocab->bos());
    if (vocab->eos()) eos = vocab->TokenText(*vocab->eos());
  }
  std::optional<std::string_view> jinja = gguf.GetString("tokenizer.chat_template");
  if (!jinja) {
    spdlog::warn("the model has no tokenizer.chat_template; using a generic \"Role: text\" layout");
    return ForFamily(ChatFamily::kGeneric, std::move(bos), std::move(eos));
  }
  return FromTemplateText(*jinja, std::move(bos), std::move(eos));
}

RenderedPrompt ChatTemplate::Render(std::span<const Message> messages,
                                    std::span<const ToolSpec> tools,
                                    const RenderOptions& options) const {
  RenderedPrompt out;
  switch (family_) {
    case ChatFamily::kChatMl:
      RenderChatMl(messages, tools, options, out);
      break;
    case ChatFamily::kLlama3:
      RenderLlama3(messages, tools, options, out);
      break;
    case ChatFamily::kLlama2:
      RenderLlama2(messages, tools, options, out);
      break;
    case ChatFamily::kMistral:
      RenderMistral(messages, tools, options, out);
      break;
    case ChatFamily::kPhi3:
      RenderPhi3(messages, tools, options, out);
      break;
    case ChatFamily::kGeneric:
      RenderGeneric(messages, tools, options, out);
      break;
  }
  return out;
}

// Qwen 2.5's template (ChatML with tools in the system turn, <tool_call> blocks, tool results in
// <tool_response> blocks grouped into one turn).
void ChatTemplate::RenderChatMl(std::span<const Message> messages, std::span<const ToolSpec> tools,
                                const RenderOptions& options, RenderedPrompt& out) const {
  Writer w(out);
  bool has_system = !messages.empty() && messages[0].role == Role::kSystem;
  std::string_view system = has_system ? std::string_view(messages[0].content) : default_system_;
  if (!tools.empty()) {
    w.M("<|im_start|>system\n");
    WriteSystemAndTools(w, system, tools);
    w.M("<|im_end|>\n");
  } else if (has_system || !system.empty()) {
    w.M("<|im_start|>system\n").T(system).M("<|im_end|>\n");
  }
  std::string_view tool_role = tool_results_as_user_ ? "user" : "tool";
  for (size_t i = has_system ? 1 : 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.role == Role::kTool) {
      if (i == 0 || messages[i - 1].role != Role::kTool) {
        w.M(fmt::format("<|im_start|>{}", tool_role));
      }
      w.T("\n<tool_response>\n").T(m.content).T("\n</tool_response>");
      if (i + 1 == messages.size() || messages[i + 1].role != Role::kTool) w.M("<|im_end|>\n");
    } else if (m.role == Role::kAssistant && !m.tool_calls.empty()) {
      w.M("<|im_start|>assistant");
      if (!m.content.empty()) w.T("\n").T(m.content);
      WriteTaggedCalls(w, m, true);
      w.M("<|im_end|>\n");
    } else {
      w.M(fmt::format("<|im_start|>{}\n", llm::RoleName(m.role))).T(m.content).M("<|im_end|>\n");
    }
  }
  if (options.add_generation_prompt) w.M("<|im_start|>assistant\n");
}

// Llama 3.1's template: date header, tools in the first user turn, calls as bare
// {"name", "parameters"} objects, results in "ipython" turns. Contents are trimmed.
void ChatTemplate::RenderLlama3(std::span<const Message> messages, std::span<const ToolSpec> tools,
                                const RenderOptions& options, RenderedPrompt& out) const {
  Writer w(out);
  w.M(bos_);
  auto [leading, first] = SplitLeadingSystem(messages);
  std::string_view system = Trim(leading.value_or(""));
  if (llama31_header_ || !tools.empty() || leading) {
    w.M("<|start_header_id|>system<|end_header_id|>\n\n");
    if (!tools.empty()) w.T("Environment: ipython\n");
    if (llama31_header_) w.T("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
    w.T(system).M("<|eot_id|>");
  }
  if (!tools.empty() && first < messages.size() && messages[first].role == Role::kUser) {
    w.M("<|start_header_id|>user<|end_header_id|>\n\n");
    w.T("Given the following functions, please respond with a JSON for a function call with its "
        "proper arguments that best answers the given prompt.\n\nRespond in the format "
        "{\"name\": function name, \"parameters\": dictionary of argument name and its value}."
        "Do not use variables.\n\n");
    for (const ToolSpec& tool : tools) {
      w.T(PythonJson(ToolObject(tool), 4)).T("\n\n");
    }
    w.T(Trim(messages[first].content)).M("<|eot_id|>");
    ++first;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.role == Role::kTool) {
      // The template applies `tojson` to the result (a string is iterable in Jinja).
      w.M("<|start_header_id|>ipython<|end_header_id|>\n\n")
          .T(PythonJson(m.content))
          .M("<|eot_id|>");
    } else if (m.role == Role::kAssistant && !m.tool_calls.empty()) {
      // The template accepts one call per turn; several are written one object per line.
      w.M("<|start_header_id|>assistant<|end_header_id|>\n\n");
      for (size_t c = 0; c < m.tool_calls.size(); ++c) {
        if (c > 0) w.T("\n");
        w.T("{\"name\": \"").T(m.tool_calls[c].name).T("\", \"parameters\": ");
        w.T(ArgumentsJson(m.tool_calls[c])).T("}");
      }
      w.M("<|eot_id|>");
    } else {
      w.M(fmt::format("<|start_header_id|>{}<|end_header_id|>\n\n", llm::RoleName(m.role)))
          .T(Trim(m.content))
          .M("<|eot_id|>");
    }
  }
  if (options.add_generation_prompt) w.M("<|start_header_id|>assistant<|end_header_id|>\n\n");
}

// Llama 2's template: <<SYS>> block inside the first [INST], BOS before every user turn, EOS
// after every answer. Tools use the generic <tool_call> convention inside the system block.
void ChatTemplate::RenderLlama2(std::span<const Message> messages, std::span<const ToolSpec> tools,
                                const RenderOptions& options, RenderedPrompt& out) const {
  Writer w(out);
  auto [leading, first] = SplitLeadingSystem(messages);
  std::string_view system = leading.value_or("");
  bool system_pending = !system.empty() || !tools.empty();
  for (size_t i = first; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.role == Role::kAssistant) {
      w.T(" ");
      std::string content(Trim(m.content));
      w.T(content);
      if (!m.tool_calls.empty()) WriteTaggedCalls(w, m, !content.empty());
      w.T(" ").M(eos_);
      continue;
    }
    w.M(bos_).M("[INST] ");
    if (system_pending) {
      w.M("<<SYS>>\n");
      WriteSystemAndTools(w, system, tools);
      w.M("\n<</SYS>>\n\n");
      system_pending = false;
    }
    if (m.role == Role::kTool) {
      w.T("<tool_response>\n").T(m.content).T("\n</tool_response>");
    } else {
      w.T(Trim(m.content));
    }
    w.M(" [/INST]");
  }
  (void)options;  // the model's answer follows [/INST] directly
}

// Mistral's templates: [AVAILABLE_TOOLS] before the last user turn, the system prompt joined to
// the last user turn, [TOOL_CALLS] lists and [TOOL_RESULTS] objects with nine-character ids.
void ChatTemplate::RenderMistral(std::span<const Message> messages, std::span<const ToolSpec> tools,
                                 const RenderOptions& options, RenderedPrompt& out) const {
  Writer w(out);
  auto [system, first] = SplitLeadingSystem(messages);
  size_t last_user = messages.size();
  for (size_t i = first; i < messages.size(); ++i) {
    if (messages[i].role == Role::kUser) last_user = i;
  }
  std::string_view open = inst_spaces_ ? "[INST] " : "[INST]";
  std::string_view close = inst_spaces_ ? " [/INST]" : "[/INST]";
  w.M(bos_);
  for (size_t i = first; i < messages.size(); ++i) {
    const Message& m = messages[i];
    if (m.role == Role::kUser) {
      if (!tools.empty() && i == last_user) {
        w.M("[AVAILABLE_TOOLS]").T("[");
        for (size_t t = 0; t < tools.size(); ++t) {
          if (t > 0) w.T(", ");
          nlohmann::ordered_json object = ToolObject(tools[t]);
          const nlohmann::ordered_json& function = object["function"];
          w.T("{\"type\": \"function\", \"function\": {\"name\": ")
              .T(PythonJson(function["name"]))
              .T(", \"description\": ")
              .T(PythonJson(function["description"]))
              .T(", \"parameters\": ")
              .T(PythonJson(function["parameters"]))
              .T("}}");
        }
        w.T("]").M("[/AVAILABLE_TOOLS]");
      }
      w.M(open);
      if (i == last_user && system) w.T(*system).T("\n\n");
      w.T(m.content).M(close);
    } else if (m.role == Role::kAssistant && !m.tool_calls.empty()) {
      w.M("[TOOL_CALLS]").T("[");
      for (size_t c = 0; c < m.tool_calls.size(); ++c) {
        if (c > 0) w.T(", ");
        const llm::ToolCall& call = m.tool_calls[c];
        w.T("{\"name\": ").T(PythonJson(call.name)).T(", \"arguments\": ");
        w.T(ArgumentsJson(call)).T(", \"id\": \"").T(MistralCallId(call.id)).T("\"}");
      }
      w.T("]").M(eos_);
    } else if (m.role == Role::kAssistant) {
      w.T(m.content).M(eos_);
    } else if (m.role == Role::kTool) {
      w.M("[TOOL_RESULTS]").T("{\"content\": ").T(m.content).T(", \"call_id\": \"");
      w.T(MistralCallId(m.tool_call_id)).T("\"}").M("[/TOOL_RESULTS]");
    } else {  // a later system message: an instruction turn of its own
      w.M(open).T(m.content).M(close);
    }
  }
  (void)options;  // the answer follows [/INST] directly
}

// Phi-3's template: <|role|>\ntext<|end|>\n turns; no tool syntax of its own, so tools use the
// generic <tool_call> convention in the system turn and results come back as user turns.
void ChatTemplate::RenderPhi3(std::span<const Message> messages, std::span<const ToolSpec> tools,
                              const RenderOptions& options, RenderedPrompt& out) const {
  Writer w(out);
  auto [leading, first] = SplitLeadingSystem(messages);
  std::string_view system = leading.value_or("");
  if (!system.empty() || !tools.empty()) {
    w.M("<|system|>\n");
    WriteSystemAndTools(w, system, tools);
    w.M("<|end|>\n");
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const Message& m = messages[i];
    switch (m.role) {
      case Role::kSystem:
        if (!m.content.empty()) w.M("<|system|>\n").T(m.content).M("<|end|>\n");
        break;
      case Role::kUser:
        w.M("<|user|>\n").T(m.content).M("<|end|>\n");
        break;
      case Role::kTool:
        w.M("<|user|>\n").T("<tool_response>\n").T(m.content).T("\n</tool_response>");
        w.M("<|end|>\n");
        break;
      case Role::kAssistant:
        w.M("<|assistant|>\n").T(m.content);
        WriteTaggedCalls(w, m, !m.content.empty());
        w.M("<|end|>\n");
        break;
    }
  }
  if (options.add_generation_prompt) {
    w.M("<|assistant|>\n");
  } else {
    w.M(eos_);
  }
}

// No recognised template: "Role: text" paragraphs (nothing is parsed as a special token).
void ChatTemplate::RenderGeneric(std::span<const Message> messages, std::span<const ToolSpec> tools,
                                 const RenderOptions& options, RenderedPrompt& out) const {
  Writer w(out);
  w.M(bos_);
  auto [leading, first] = SplitLeadingSystem(messages);
  std::string_view system = leading.value_or("");
  if (!system.empty() || !tools.empty()) {
    w.T("System: ");
    WriteSystemAndTools(w, system, tools);
    w.T("\n\n");
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const Message& m = messages[i];
    switch (m.role) {
      case Role::kSystem:
        w.T("System: ").T(m.content).T("\n\n");
        break;
      case Role::kUser:
        w.T("User: ").T(m.content).T("\n\n");
        break;
      case Role::kTool:
        w.T("User: <tool_response>\n").T(m.content).T("\n</tool_response>\n\n");
        break;
      case Role::kAssistant:
        w.T("Assistant: ").T(m.content);
        WriteTaggedCalls(w, m, !m.content.empty());
        w.T("\n\n");
        break;
    }
  }
  if (options.add_generation_prompt) w.T("Assistant:");
}

ParsedToolCalls ChatTemplate::ParseToolCalls(std::string_view text) const {
  ParsedToolCalls result;
  std::string content;
  const ToolCallSyntax& s = tool_syntax_;
  size_t index = 0;
  if (s.prefix.empty()) {
    // Llama 3: the whole answer is one call object, or one per line (python_tag optional).
    std::string_view rest = Trim(text);
    if (rest.starts_with("<|python_tag|>")) rest = Trim(rest.substr(14));
    std::vector<llm::ToolCall> calls;
    while (!rest.empty()) {
      std::optional<std::pair<nlohmann::json, size_t>> parsed = ParseJsonPrefix(rest);
      if (!parsed) break;
      std::optional<llm::ToolCall> call = CallFromJson(parsed->first, s.arguments_key, index);
      if (!call) break;
      calls.push_back(std::move(*call));
      ++index;
      rest = Trim(rest.substr(parsed->second));
      if (rest.starts_with(";")) rest = Trim(rest.substr(1));
    }
    if (!calls.empty() && rest.empty()) {
      result.calls = std::move(calls);
    } else {
      result.content = std::string(Trim(text));
    }
    return result;
  }
  std::string_view marker = Trim(s.prefix);  // "<tool_call>" or "[TOOL_CALLS]"
  size_t pos = 0;
  while (pos < text.size()) {
    size_t hit = text.find(marker, pos);
    if (hit == std::string_view::npos) {
      content.append(text.substr(pos));
      break;
    }
    std::string_view after = text.substr(hit + marker.size());
    std::optional<std::pair<nlohmann::json, size_t>> parsed = ParseJsonPrefix(after);
    bool ok = false;
    if (parsed) {
      std::vector<llm::ToolCall> calls;
      const nlohmann::json& j = parsed->first;
      if (j.is_array()) {
        for (const nlohmann::json& element : j) {
          if (std::optional<llm::ToolCall> c = CallFromJson(element, s.arguments_key, index)) {
            calls.push_back(std::move(*c));
            ++index;
          }
        }
        ok = !calls.empty() && calls.size() == j.size();
      } else if (std::optional<llm::ToolCall> c = CallFromJson(j, s.arguments_key, index)) {
        calls.push_back(std::move(*c));
        ++index;
        ok = true;
      }
      if (ok) {
        content.append(text.substr(pos, hit - pos));
        for (llm::ToolCall& c : calls)
          result.calls.push_back(std::move(c));
        size_t end = hit + marker.size() + parsed->second;
        std::string_view suffix = Trim(s.suffix);
        std::string_view tail = text.substr(end);
        size_t skip = tail.find_first_not_of(" \t\r\n");
        if (!suffix.empty() && skip != std::string_view::npos &&
            tail.substr(skip).starts_with(suffix)) {
          end += skip + suffix.size();
        }
        pos = end;
      }
    }
    if (!ok) {
      content.append(text.substr(pos, hit + marker.size() - pos));
      pos = hit + marker.size();
    }
  }
  result.content = std::string(Trim(content));
  return result;
}

std::vector<TokenId> TokenizePrompt(const Vocab& vocab, const RenderedPrompt& prompt) {
  std::string text;
  TokenizeOptions options{.add_special = false, .parse_special = true};
  for (const PromptPiece& piece : prompt.pieces) {
    size_t begin = text.size();
    text += piece.text;
    if (!piece.special) options.literal_ranges.emplace_back(begin, text.size());
  }
  std::vector<TokenId> ids = vocab.Tokenize(text, options);
  if (vocab.add_bos() && vocab.bos() && (ids.empty() || ids.front() != *vocab.bos())) {
    ids.insert(ids.begin(), *vocab.bos());
  }
  return ids;
}

}  // namespace tandem::engine
