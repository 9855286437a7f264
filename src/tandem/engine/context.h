// Context: one conversation's state over a Model — its KV cache, position, scratch buffers and
// worker threads — and the forward pass that advances it.
//
//   Context context(model, {.n_ctx = 512, .n_threads = 2});
//   Result<std::span<const float>> logits = context.Eval(prompt_tokens);  // last position
//   TokenId next = Sampler({.temperature = 0}).Sample(*logits, {});
//
// Not thread-safe: one thread drives a Context. Several Contexts may share one Model.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/kernels.h"
#include "tandem/engine/kv_cache.h"
#include "tandem/engine/model.h"
#include "tandem/engine/thread_pool.h"

namespace tandem::engine {

struct ContextOptions {
  // Positions the KV cache holds; 0 takes the model's training context, capped at 4096. Memory is
  // 2 * n_layer * n_ctx * n_head_kv * head_dim * 4 bytes.
  int n_ctx = 0;
  // Threads for the kernels including the caller; 0 uses every hardware thread.
  int n_threads = 0;
  // Tokens evaluated per forward pass while reading a prompt; larger batches reuse each weight
  // row for more tokens but need more scratch memory.
  int n_batch = 256;
  // Native: 8-bit activations and integer dot products with quantized weights (fast). Float:
  // weights decoded to f32 (slow; a reference for tests).
  ComputeMode mode = ComputeMode::kNative;
};

class Context {
 public:
  Context(const Model& model, const ContextOptions& options);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Evaluates `tokens` at the next positions and returns the logits of the last one (valid until
  // the next call). Fails with kInvalidArgument for an out-of-range token id or an empty batch,
  // and kFailedPrecondition when the context window is full.
  [[nodiscard]] Result<std::span<const float>> Eval(std::span<const TokenId> tokens);

  // Evaluates `tokens` like Eval and returns the mean over them of the final hidden state after
  // the output norm (n_embd floats): the input of mean-pooled embeddings. Same errors as Eval.
  [[nodiscard]] Result<std::vector<float>> EvalMeanHidden(std::span<const TokenId> tokens);

  const Model& model() const { return model_; }
  // Forgets every evaluated position.
  void Reset() { n_past_ = 0; }
  int n_past() const { return n_past_; }
  int n_ctx() const { return cache_.n_ctx(); }
  int n_threads() const { return pool_.n_threads(); }
  size_t kv_cache_bytes() const { return cache_.bytes(); }

 private:
  void Forward(std::span<const TokenId> tokens, bool want_logits);
  void Attention(int layer, int n_tokens);
  void Rope(float* x, int n_tokens, int n_heads) const;

  const Model& model_;
  ContextOptions options_;
  KvCache cache_;
  ThreadPool pool_;
  int n_past_ = 0;
  // Scratch, sized for one batch.
  std::vector<float> x_, xn_, q_, k_, v_, qkv_, attn_, tmp_, gate_, up_, gate_up_, logits_;
  std::vector<uint8_t> quantized_;
};

}  // namespace tandem::engine
