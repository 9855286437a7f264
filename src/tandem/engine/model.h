// Model: the weights and hyperparameters of a llama-family transformer read from a GGUF file
// (architectures llama, qwen2 and phi3), plus its vocabulary, and the forward pass over them.
//
//   Result<std::unique_ptr<Model>> model = Model::Load("tiny.gguf");
//   Context context(**model, {.n_ctx = 512});
//   Result<std::span<const float>> logits = context.Eval(tokens);
//
// Weights stay in the memory-mapped file, except Q4_0 and Q8_0 matrices, which Load copies once
// into the interleaved layout the fastest kernels read (see WeightMatrix) and whose mapped pages it
// then releases, so resident memory stays about the size of the weights. A Model is immutable after
// Load and may be shared by several Contexts on different threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/gguf_reader.h"
#include "tandem/engine/kernels.h"
#include "tandem/engine/kv_cache.h"
#include "tandem/engine/vocab.h"

namespace tandem::engine {

enum class RopeType {
  kNormal,  // rotate adjacent pairs (x[2i], x[2i+1]) — llama
  kNeox,    // rotate halves (x[i], x[i + n_rot/2]) — qwen2, phi3
};

struct ModelParams {
  std::string architecture;
  int n_vocab = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  int n_ff = 0;
  int n_ctx_train = 0;
  int n_rot = 0;  // dimensions of each head that RoPE rotates
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / linear scaling factor
  RopeType rope_type = RopeType::kNormal;
  float rms_norm_eps = 1e-5f;
  bool tied_embeddings = false;
};

// The tensors of one transformer block. Biases and fused matrices are present only for the
// architectures that have them.
struct LayerWeights {
  std::vector<float> attn_norm;
  std::vector<float> ffn_norm;
  WeightMatrix wq, wk, wv, wqkv;  // wqkv: phi3's fused projection
  std::vector<float> bq, bk, bv;  // qwen2
  WeightMatrix wo;
  WeightMatrix w_gate, w_up, w_gate_up;  // w_gate_up: phi3's fused gate and up
  WeightMatrix w_down;
};

class Model {
 public:
  // Maps `path`, validates every tensor the architecture needs (presence, type, shape) and loads
  // the vocabulary. kInvalidArgument names the offending key or tensor.
  [[nodiscard]] static Result<std::unique_ptr<Model>> Load(const std::filesystem::path& path);
  // Same, from an already opened file (the Model takes ownership).
  [[nodiscard]] static Result<std::unique_ptr<Model>> FromGguf(std::unique_ptr<GgufReader> gguf);

  const ModelParams& params() const { return params_; }
  const Vocab& vocab() const { return *vocab_; }
  const GgufReader& gguf() const { return *gguf_; }
  // Bytes of weights read to evaluate one token (all matrices once, one embedding row).
  uint64_t BytesPerToken() const;
  // Weight elements of the matrices BytesPerToken counts, i.e. a token's multiply-adds in matrix
  // products (attention's own products are not included): the layers', and the output
  // matrix's, which a prompt applies to its last token only.
  struct MatrixElements {
    uint64_t layers = 0;
    uint64_t output = 0;
  };
  MatrixElements ElementsPerToken() const;

  const WeightMatrix& token_embd() const { return token_embd_; }
  const WeightMatrix& output() const { return output_; }
  const std::vector<float>& output_norm() const { return output_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }

 private:
  Model() = default;
  Status LoadParams();
  Status LoadTensors();
  void InterleaveWeights();
  // Sum of `measure` over every layer's matrices.
  uint64_t SumOverLayerMatrices(uint64_t (*measure)(const WeightMatrix&)) const;

  std::unique_ptr<GgufReader> gguf_;
  std::unique_ptr<Vocab> vocab_;
  ModelParams params_;
  WeightMatrix token_embd_;
  WeightMatrix output_;
  std::vector<float> output_norm_;
  std::vector<LayerWeights> layers_;
  std::unique_ptr<uint8_t[]> interleaved_;  // the interleaved Q4_0 and Q8_0 matrices
};

}  // namespace tandem::engine
