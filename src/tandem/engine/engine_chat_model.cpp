#include "tandem/engine/engine_chat_model.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <map>

#include "tandem/core/config_reader.h"
#include "tandem/engine/generator.h"
#include "tandem/engine/json_schema_constraint.h"
#include "tandem/engine/sampler.h"
#include "tandem/engine/token_trie.h"

namespace tandem::engine {
namespace {

std::string DefaultName(const Model& model, const std::string& configured) {
  if (!configured.empty()) return configured;
  std::optional<std::string_view> name = model.gguf().GetString("general.name");
  return name && !name->empty() ? std::string(*name) : "engine";
}

int ResolveContext(const Model& model, int n_ctx) {
  if (n_ctx > 0) return n_ctx;
  int train = model.params().n_ctx_train;
  return train > 0 ? std::min(train, 4096) : 4096;
}

// Forwards streamed text until a tool call's marker appears; the call itself is not streamed.
class ToolCallStreamFilter {
 public:
  ToolCallStreamFilter(std::function<void(std::string_view)> sink, std::string marker)
      : sink_(std::move(sink)), marker_(std::move(marker)) {}
  void operator()(std::string_view piece) {
    if (stopped_) return;
    buffer_ += piece;
    size_t hit = marker_.empty() ? std::string::npos : buffer_.find(marker_);
    if (hit != std::string::npos) {
      Forward(hit);
      stopped_ = true;
      return;
    }
    // Hold back a possible start of the marker (and an incomplete UTF-8 tail).
    size_t hold = 0;
    for (size_t n = std::min(buffer_.size(), marker_.size()); n > 0; --n) {
      if (std::string_view(buffer_).substr(buffer_.size() - n) ==
          std::string_view(marker_).substr(0, n)) {
        hold = n;
        break;
      }
    }
    hold = std::max(hold, IncompleteUtf8Tail(buffer_));
    Forward(buffer_.size() - hold);
  }
  void Finish() {
    if (!stopped_) Forward(buffer_.size());
  }

 private:
  void Forward(size_t end) {
    if (end > sent_) sink_(std::string_view(buffer_).substr(sent_, end - sent_));
    sent_ = std::max(sent_, end);
  }
  std::function<void(std::string_view)> sink_;
  std::string marker_;
  std::string buffer_;
  size_t sent_ = 0;
  bool stopped_ = false;
};

}  // namespace

ConstraintFactory JsonSchemaConstraintFactory() {
  struct Shared {
    std::mutex mutex;
    const Vocab* vocab = nullptr;
    std::shared_ptr<const TokenTrie> trie;
  };
  auto shared = std::make_shared<Shared>();
  return [shared](const nlohmann::json& schema,
                  const Vocab& vocab) -> std::unique_ptr<TokenConstraint> {
    std::shared_ptr<const TokenTrie> trie;
    {
      std::lock_guard lock(shared->mutex);
      if (!shared->trie || shared->vocab != &vocab) {
        shared->trie = std::make_shared<const TokenTrie>(vocab);
        shared->vocab = &vocab;
      }
      trie = shared->trie;
    }
    Result<std::unique_ptr<JsonSchemaConstraint>> constraint =
        JsonSchemaConstraint::Create(schema, std::move(trie));
    if (!constraint) {
      spdlog::warn("generating without a constraint: {}", constraint.error().message());
      return nullptr;
    }
    return std::move(*constraint);
  };
}

Result<std::shared_ptr<const Model>> LoadSharedModel(const std::filesystem::path& path) {
  Result<std::unique_ptr<Model>> model = Model::Load(path);
  if (!model) return std::unexpected(std::move(model.error()));
  return std::shared_ptr<const Model>(std::move(*model));
}

EngineChatModel::EngineChatModel(std::shared_ptr<const Model> model, EngineModelOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      name_(DefaultName(*model_, options_.model_name)),
      template_(ChatTemplate::FromGguf(model_->gguf(), &model_->vocab())) {
  if (!options_.constraint_factory) options_.constraint_factory = JsonSchemaConstraintFactory();
  const Vocab& vocab = model_->vocab();
  for (const std::string& stop : template_.stop_strings()) {
    std::optional<TokenId> id = vocab.Find(stop);
    if (id && vocab.GetTokenType(*id) == TokenType::kControl) {
      end_tokens_.push_back(*id);
    } else {
      stop_strings_.push_back(stop);
    }
  }
}

Result<llm::ChatResponse> EngineChatModel::Chat(const llm::ChatRequest& request,
                                                const llm::CallOptions& call) {
  if (request.messages.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the conversation has no messages");
  }
  // tool_choice: "none" hides the tools, a tool's name offers that tool alone.
  const std::string& choice = request.tool_choice;
  std::vector<llm::ToolSpec> named;
  std::span<const llm::ToolSpec> tools;
  if (choice.empty() || choice == "auto" || choice == "required") {
    tools = request.tools;
  } else if (choice != "none") {
    for (const llm::ToolSpec& tool : request.tools)
      if (tool.name == choice) named.push_back(tool);
    if (named.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "tool_choice names an unknown tool '{}'",
                       choice);
    }
    tools = named;
  }
  RenderedPrompt rendered = template_.Render(request.messages, tools, {});
  std::vector<TokenId> prompt = TokenizePrompt(model_->vocab(), rendered);

  std::lock_guard lock(mutex_);
  if (!context_) {
    context_ = std::make_unique<Context>(
        *model_, ContextOptions{.n_ctx = ResolveContext(*model_, options_.n_ctx),
                                .n_threads = options_.n_threads});
  }
  context_->Reset();
  if (prompt.empty() || static_cast<int>(prompt.size()) >= context_->n_ctx()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the prompt has {} tokens; the context window holds {}", prompt.size(),
                     context_->n_ctx());
  }
  int room = context_->n_ctx() - static_cast<int>(prompt.size());
  int max_tokens = request.max_tokens
                       ? static_cast<int>(std::min<int64_t>(*request.max_tokens, room))
                       : std::min(options_.max_tokens, room);

  SamplerOptions sampling;
  sampling.temperature = static_cast<float>(request.temperature.value_or(options_.temperature));
  if (request.top_p) sampling.top_p = static_cast<float>(*request.top_p);
  sampling.seed =
      request.seed ? static_cast<uint64_t>(*request.seed) : 0x5EED0000ULL + calls_.fetch_add(1);
  Sampler sampler(sampling);

  GenerateOptions generate{.max_tokens = max_tokens,
                           .stop = stop_strings_,
                           .end_tokens = end_tokens_,
                           .render_special = true,
                           .cancel = call.cancel};
  for (const std::string& s : request.stop)
    if (!s.empty()) generate.stop.push_back(s);

  // Constrained output: a json_schema response format constrains the whole answer; tools
  // constrain the JSON after the family's tool-call marker (or the whole answer when a tool
  // call is required and the family writes bare calls).
  std::unique_ptr<TokenConstraint> constraint;
  std::string prefill;  // text that opens the answer inside the prompt (a required tool call)
  const ToolCallSyntax& syntax = template_.tool_call_syntax();
  if (options_.constraint_factory) {
    if (request.response_format.kind == llm::ResponseFormat::Kind::kJsonSchema && tools.empty()) {
      constraint = options_.constraint_factory(request.response_format.schema, model_->vocab());
    } else if (request.response_format.kind == llm::ResponseFormat::Kind::kJsonObject &&
               tools.empty()) {
      constraint = options_.constraint_factory({{"type", "object"}}, model_->vocab());
    } else if (!tools.empty()) {
      nlohmann::json schema = ToolCallSchema(tools, syntax);
      if (syntax.list) schema = {{"type", "array"}, {"items", schema}, {"minItems", 1}};
      bool required = request.tool_choice == "required" ||
                      (!request.tool_choice.empty() && request.tool_choice != "auto");
      constraint = options_.constraint_factory(schema, model_->vocab());
      if (required) {
        // The answer is a call: the prompt already opens it and the whole output is its JSON.
        prefill = syntax.prefix;
      } else if (!syntax.prefix.empty()) {
        generate.constraint_trigger =
            std::string(syntax.prefix.substr(0, syntax.prefix.find_last_not_of(" \n") + 1));
      }
    }
    generate.constraint = constraint.get();
  }
  if (!prefill.empty()) {
    rendered.pieces.push_back({prefill, true});
    prompt = TokenizePrompt(model_->vocab(), rendered);
    if (static_cast<int>(prompt.size()) >= context_->n_ctx()) {
      return MakeError(ErrorCode::kInvalidArgument, "the prompt does not fit the context window");
    }
    generate.max_tokens =
        std::min(generate.max_tokens, context_->n_ctx() - static_cast<int>(prompt.size()));
  }

  std::optional<ToolCallStreamFilter> filter;
  if (call.stream && call.on_text) {
    std::string marker = tools.empty() ? "" : template_.tool_call_syntax().prefix;
    if (!tools.empty() && marker.empty()) marker = "{\"name\"";
    while (!marker.empty() && (marker.back() == '\n' || marker.back() == ' '))
      marker.pop_back();
    filter.emplace(call.on_text, marker);
    generate.on_text = [&filter](std::string_view piece) { (*filter)(piece); };
  }

  Result<Generation> g = Generate(*context_, sampler, prompt, generate);
  if (!g) return std::unexpected(std::move(g.error()).WithContext("engine model " + name_));
  if (filter) filter->Finish();

  llm::ChatResponse response;
  response.model = name_;
  response.message.role = llm::Role::kAssistant;
  if (!tools.empty()) {
    ParsedToolCalls parsed =
        template_.ParseToolCalls(prefill.empty() ? g->text : prefill + g->text + syntax.suffix);
    response.message.content = std::move(parsed.content);
    uint64_t serial = calls_.fetch_add(1);
    for (size_t i = 0; i < parsed.calls.size(); ++i) {
      llm::ToolCall& c = parsed.calls[i];
      if (c.id.starts_with("call_") || c.id.empty()) c.id = fmt::format("call_{}_{}", serial, i);
      response.message.tool_calls.push_back(std::move(c));
    }
  } else {
    response.message.content = g->text;
  }
  response.usage = {.prompt_tokens = static_cast<int64_t>(prompt.size()),
                    .completion_tokens = static_cast<int64_t>(g->tokens.size()),
                    .estimated = false};
  if (!response.message.tool_calls.empty()) {
    response.finish_reason = "tool_calls";
  } else if (g->stop_reason == "length" || g->stop_reason == "context") {
    response.finish_reason = "length";
  } else {
    response.finish_reason = "stop";
  }
  response.time_to_first_token_ms = static_cast<int64_t>(g->first_token_seconds * 1000.0);
  return response;
}

EngineEmbedder::EngineEmbedder(std::shared_ptr<const Model> model, EngineModelOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      name_(DefaultName(*model_, options_.model_name)) {}

Result<std::vector<std::vector<float>>> EngineEmbedder::Embed(
    const std::vector<std::string>& texts) {
  const Vocab& vocab = model_->vocab();
  std::lock_guard lock(mutex_);
  if (!context_) {
    context_ = std::make_unique<Context>(
        *model_, ContextOptions{.n_ctx = ResolveContext(*model_, options_.n_ctx),
                                .n_threads = options_.n_threads});
  }
  std::vector<std::vector<float>> out;
  out.reserve(texts.size());
  for (const std::string& text : texts) {
    std::vector<TokenId> ids = vocab.Tokenize(text, {.add_special = true});
    if (ids.empty() && vocab.bos()) ids.push_back(*vocab.bos());
    if (ids.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "an empty text has no tokens to embed");
    }
    if (static_cast<int>(ids.size()) > context_->n_ctx()) ids.resize(context_->n_ctx());
    context_->Reset();
    Result<std::vector<float>> mean = context_->EvalMeanHidden(ids);
    if (!mean) return std::unexpected(std::move(mean.error()).WithContext("embedding"));
    double norm = 0;
    for (float v : *mean)
      norm += static_cast<double>(v) * v;
    norm = std::sqrt(norm);
    if (norm > 0) {
      for (float& v : *mean)
        v = static_cast<float>(v / norm);
    }
    out.push_back(std::move(*mean));
  }
  return out;
}

Result<EngineModelOptions> EngineOptionsFromConfig(const Config& config) {
  EngineModelOptions options;
  if (!config.document) return options;
  const toml::table* section = ConfigReader(*config.document, "").Table("engine");
  if (section == nullptr) return options;
  ConfigReader reader(*section, "engine");
  if (Status known = reader.CheckKnownKeys({"threads", "context", "max_tokens", "temperature"});
      !known) {
    return std::unexpected(known.error());
  }
  auto read_int = [&](std::string_view key, int& into, int64_t min) -> Status {
    Result<std::optional<int64_t>> v = reader.Integer(key);
    if (!v) return std::unexpected(v.error());
    if (!*v) return {};
    if (**v < min || **v > 1'000'000) {
      return std::unexpected(
          reader.ErrorAt(key, fmt::format("must be between {} and 1000000", min)));
    }
    into = static_cast<int>(**v);
    return {};
  };
  if (Status s = read_int("threads", options.n_threads, 0); !s) return std::unexpected(s.error());
  if (Status s = read_int("context", options.n_ctx, 0); !s) return std::unexpected(s.error());
  if (Status s = read_int("max_tokens", options.max_tokens, 1); !s) {
    return std::unexpected(s.error());
  }
  Result<std::optional<double>> temperature = reader.Number("temperature");
  if (!temperature) return std::unexpected(temperature.error());
  if (*temperature) {
    if (**temperature < 0 || **temperature > 2) {
      return std::unexpected(reader.ErrorAt("temperature", "must be between 0 and 2"));
    }
    options.temperature = **temperature;
  }
  return options;
}

Result<std::unique_ptr<llm::ChatModel>> MakeEngineChatModel(const Config& config,
                                                            const ProviderConfig& provider) {
  // Models are shared by path within the process (several providers, the embedder).
  static std::mutex cache_mutex;
  static std::map<std::string, std::weak_ptr<const Model>> cache;
  Result<EngineModelOptions> options = EngineOptionsFromConfig(config);
  if (!options) return std::unexpected(options.error());
  options->model_name = provider.model;
  std::filesystem::path path = provider.model_path;
  if (path.is_relative() && !config.home.empty() && !std::filesystem::exists(path)) {
    path = config.home / path;
  }
  std::shared_ptr<const Model> model;
  {
    std::lock_guard lock(cache_mutex);
    std::string key = std::filesystem::absolute(path).lexically_normal().string();
    model = cache[key].lock();
    if (!model) {
      Result<std::shared_ptr<const Model>> loaded = LoadSharedModel(path);
      if (!loaded) {
        return std::unexpected(std::move(loaded.error())
                                   .WithContext(fmt::format("provider '{}': loading {}",
                                                            provider.name, path.string())));
      }
      model = *loaded;
      cache[key] = model;
    }
  }
  return std::unique_ptr<llm::ChatModel>(
      std::make_unique<EngineChatModel>(std::move(model), std::move(*options)));
}

}  // namespace tandem::engine
