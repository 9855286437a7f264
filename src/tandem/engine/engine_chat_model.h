// EngineChatModel and EngineEmbedder: the embedded engine behind the llm interfaces, so the
// agent, the router's local zone and `tandem model serve` use a GGUF file like any provider.
//
//   Result<std::shared_ptr<const Model>> model = LoadSharedModel("qwen2.5-0.5b.gguf");
//   EngineChatModel chat(*model, {.n_ctx = 4096});
//   Result<llm::ChatResponse> answer = chat.Chat(request, {});
//
// The chat template comes from the file (ChatTemplate). With tools, the template lists them and
// the answer's tool calls are parsed into llm::ToolCall; the JSON of a tool call (and a
// json_schema response format) is generated under its schema by JsonSchemaConstraint, so it is
// always valid. Usage counts real tokens.
//
// Thread safety: both classes are thread-safe; a mutex serialises calls, which share one
// Context (one KV cache) per object. Several objects may share one Model.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tandem/core/config.h"
#include "tandem/core/error.h"
#include "tandem/engine/chat_template.h"
#include "tandem/engine/context.h"
#include "tandem/engine/model.h"
#include "tandem/engine/token_constraint.h"
#include "tandem/llm/chat_model.h"

namespace tandem::engine {

// Builds a constraint that accepts JSON valid against `schema`; nullptr when it cannot.
using ConstraintFactory = std::function<std::unique_ptr<TokenConstraint>(
    const nlohmann::json& schema, const Vocab& vocab)>;

struct EngineModelOptions {
  std::string model_name;    // reported name; empty: the file's general.name, else "engine"
  int n_ctx = 0;             // KV cache positions; 0: the model's training context, at most 4096
  int n_threads = 0;         // 0: every hardware thread
  int max_tokens = 1024;     // answer length when the request sets none
  double temperature = 0.7;  // when the request sets none
  // Empty: JsonSchemaConstraintFactory(). Tests substitute their own.
  ConstraintFactory constraint_factory;
};

// A factory of JsonSchemaConstraint over `model`'s vocabulary (the token trie is built once, on
// first use, and shared). A schema the compiler refuses gives nullptr (unconstrained, logged).
ConstraintFactory JsonSchemaConstraintFactory();

// Model::Load, shared.
[[nodiscard]] Result<std::shared_ptr<const Model>> LoadSharedModel(
    const std::filesystem::path& path);

class EngineChatModel : public llm::ChatModel {
 public:
  EngineChatModel(std::shared_ptr<const Model> model, EngineModelOptions options);

  // Errors: kInvalidArgument (empty conversation, prompt longer than the context window),
  // kCancelled, kInternal.
  Result<llm::ChatResponse> Chat(const llm::ChatRequest& request,
                                 const llm::CallOptions& options) override;
  const std::string& model_name() const override { return name_; }

  const ChatTemplate& chat_template() const { return template_; }
  const Model& model() const { return *model_; }

 private:
  std::shared_ptr<const Model> model_;
  EngineModelOptions options_;
  std::string name_;
  ChatTemplate template_;
  std::vector<TokenId> end_tokens_;        // template stop texts that are single tokens
  std::vector<std::string> stop_strings_;  // the other stop texts
  std::mutex mutex_;
  std::unique_ptr<Context> context_;  // created on first use, guarded by mutex_
  std::atomic<uint64_t> calls_{0};
};

// Mean of the final normed hidden states over the text's tokens, L2-normalised. Texts longer
// than the context window are cut to fit.
class EngineEmbedder : public llm::Embedder {
 public:
  EngineEmbedder(std::shared_ptr<const Model> model, EngineModelOptions options);
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts) override;
  const std::string& model_name() const override { return name_; }
  int dimension() const { return model_->params().n_embd; }

 private:
  std::shared_ptr<const Model> model_;
  EngineModelOptions options_;
  std::string name_;
  std::mutex mutex_;
  std::unique_ptr<Context> context_;
};

// Reads the [engine] section (threads, context, max_tokens, temperature) into options.
[[nodiscard]] Result<EngineModelOptions> EngineOptionsFromConfig(const Config& config);

// The router's model factory for kind "engine": loads provider.model_path (models are shared by
// path within the process) and names the model provider.model or the file's name.
[[nodiscard]] Result<std::unique_ptr<llm::ChatModel>> MakeEngineChatModel(
    const Config& config, const ProviderConfig& provider);

}  // namespace tandem::engine
