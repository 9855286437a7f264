#include "tandem/engine/model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

namespace tandem::engine {
namespace {

constexpr int64_t kMaxDimension = int64_t{1} << 20;

// Reads an integer hyperparameter; `fallback` nullopt makes it required.
Result<int> ReadInt(const GgufReader& gguf, const std::string& key, std::optional<int> fallback) {
  if (const GgufValue* value = gguf.Find(key);
      value != nullptr && value->type == GgufType::kArray) {
    return MakeError(ErrorCode::kInvalidArgument, "{}: per-layer values are not supported", key);
  }
  Result<std::optional<uint64_t>> v = gguf.GetUint(key);
  if (!v) return std::unexpected(std::move(v.error()));
  if (!v->has_value()) {
    if (!fallback) return MakeError(ErrorCode::kInvalidArgument, "{} is missing", key);
    return *fallback;
  }
  if (**v == 0 || static_cast<int64_t>(**v) > kMaxDimension) {
    return MakeError(ErrorCode::kInvalidArgument, "{} = {} is out of range", key, **v);
  }
  return static_cast<int>(**v);
}

Result<float> ReadFloat(const GgufReader& gguf, const std::string& key, float fallback) {
  Result<std::optional<double>> v = gguf.GetFloat(key);
  if (!v) return std::unexpected(std::move(v.error()));
  if (!v->has_value()) return fallback;
  if (!(**v > 0.0) || !std::isfinite(**v)) {
    return MakeError(ErrorCode::kInvalidArgument, "{} = {} must be positive", key, **v);
  }
  return static_cast<float>(**v);
}

}  // namespace

Result<std::unique_ptr<Model>> Model::Load(const std::filesystem::path& path) {
  Result<std::unique_ptr<GgufReader>> gguf = GgufReader::Open(path);
  if (!gguf) return std::unexpected(std::move(gguf.error()));
  Result<std::unique_ptr<Model>> model = FromGguf(std::move(*gguf));
  if (!model) return std::unexpected(std::move(model.error()).WithContext(path.string()));
  return model;
}

Result<std::unique_ptr<Model>> Model::FromGguf(std::unique_ptr<GgufReader> gguf) {
  std::unique_ptr<Model> model(new Model());
  model->gguf_ = std::move(gguf);
  Result<std::unique_ptr<Vocab>> vocab = Vocab::FromGguf(*model->gguf_);
  if (!vocab) return std::unexpected(std::move(vocab.error()));
  model->vocab_ = std::move(*vocab);
  if (Status s = model->LoadParams(); !s) {
    return std::unexpected(std::move(s.error()).WithContext("reading hyperparameters"));
  }
  if (Status s = model->LoadTensors(); !s) {
    return std::unexpected(std::move(s.error()).WithContext("loading tensors"));
  }
  model->InterleaveWeights();
  return model;
}

Status Model::LoadParams() {
  std::optional<std::string_view> arch = gguf_->GetString("general.architecture");
  if (!arch) return MakeError(ErrorCode::kInvalidArgument, "general.architecture is missing");
  ModelParams& p = params_;
  p.architecture = std::string(*arch);
  if (p.architecture != "llama" && p.architecture != "qwen2" && p.architecture != "phi3") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "architecture '{}' is not supported (llama, qwen2 and phi3 are)", *arch);
  }
  const std::string prefix = p.architecture + ".";
  auto int_key = [&](std::string_view key, std::optional<int> fallback, int& out) -> Status {
    Result<int> v = ReadInt(*gguf_, prefix + std::string(key), fallback);
    if (!v) return std::unexpected(std::move(v.error()));
    out = *v;
    return {};
  };
  if (Status s = int_key("embedding_length", std::nullopt, p.n_embd); !s) return s;
  if (Status s = int_key("block_count", std::nullopt, p.n_layer); !s) return s;
  if (Status s = int_key("attention.head_count", std::nullopt, p.n_head); !s) return s;
  if (Status s = int_key("attention.head_count_kv", p.n_head, p.n_head_kv); !s) return s;
  if (Status s = int_key("feed_forward_length", std::nullopt, p.n_ff); !s) return s;
  if (Status s = int_key("context_length", 4096, p.n_ctx_train); !s) return s;
  if (p.n_embd % p.n_head != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "embedding length {} is not divisible by {} heads", p.n_embd, p.n_head);
  }
  if (Status s = int_key("attention.key_length", p.n_embd / p.n_head, p.head_dim); !s) return s;
  int value_length = 0;
  if (Status s = int_key("attention.value_length", p.head_dim, value_length); !s) return s;
  if (value_length != p.head_dim) {
    return MakeError(ErrorCode::kInvalidArgument, "key length {} differs from value length {}",
                     p.head_dim, value_length);
  }
  if (p.n_head % p.n_head_kv != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "{} heads cannot share {} key/value heads",
                     p.n_head, p.n_head_kv);
  }
  if (Status s = int_key("rope.dimension_count", p.head_dim, p.n_rot); !s) return s;
  if (p.n_rot > p.head_dim || p.n_rot % 2 != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "rope.dimension_count {} does not fit head size {}", p.n_rot, p.head_dim);
  }
  Result<float> base = ReadFloat(*gguf_, prefix + "rope.freq_base", 10000.0f);
  if (!base) return std::unexpected(std::move(base.error()));
  p.rope_freq_base = *base;
  Result<float> eps = ReadFloat(*gguf_, prefix + "attention.layer_norm_rms_epsilon", 1e-5f);
  if (!eps) return std::unexpected(std::move(eps.error()));
  p.rms_norm_eps = *eps;
  std::string_view scaling = gguf_->GetString(prefix + "rope.scaling.type").value_or("none");
  Result<float> factor = ReadFloat(*gguf_, prefix + "rope.scaling.factor", 1.0f);
  if (!factor) return std::unexpected(std::move(factor.error()));
  if (scaling == "linear") {
    p.rope_freq_scale = 1.0f / *factor;
  } else if (scaling != "none") {
    return MakeError(ErrorCode::kInvalidArgument, "rope scaling '{}' is not supported", scaling);
  }
  if (Result<float> legacy = ReadFloat(*gguf_, prefix + "rope.scale_linear", 0.0f); !legacy) {
    return std::unexpected(std::move(legacy.error()));
  } else if (*legacy > 0.0f) {
    p.rope_freq_scale = 1.0f / *legacy;
  }
  p.rope_type = p.architecture == "llama" ? RopeType::kNormal : RopeType::kNeox;
  return {};
}

Status Model::LoadTensors() {
  ModelParams& p = params_;
  auto matrix = [&](const std::string& name, int64_t cols, int64_t rows,
                    WeightMatrix& out) -> Status {
    const GgufTensor* t = gguf_->FindTensor(name);
    if (t == nullptr) return MakeError(ErrorCode::kInvalidArgument, "tensor '{}' is missing", name);
    bool shape_ok = t->dims.size() >= 2 && t->dims[0] == cols && t->dims[1] == rows;
    for (size_t d = 2; d < t->dims.size(); ++d)
      shape_ok = shape_ok && t->dims[d] == 1;
    if (!shape_ok) {
      return MakeError(ErrorCode::kInvalidArgument, "tensor '{}' has shape [{}], expected [{}, {}]",
                       name, fmt::join(t->dims, ", "), cols, rows);
    }
    if (!IsSupportedWeightType(t->type)) {
      return MakeError(ErrorCode::kInvalidArgument, "tensor '{}' has unsupported type {}", name,
                       TensorTypeName(t->type));
    }
    out = WeightMatrix{t->type, t->data, rows, cols};
    return {};
  };
  auto vector = [&](const std::string& name, int64_t n, std::vector<float>& out) -> Status {
    const GgufTensor* t = gguf_->FindTensor(name);
    if (t == nullptr) return MakeError(ErrorCode::kInvalidArgument, "tensor '{}' is missing", name);
    if (t->n_elements != n) {
      return MakeError(ErrorCode::kInvalidArgument, "tensor '{}' has {} elements, expected {}",
                       name, t->n_elements, n);
    }
    if (t->type != TensorType::kF32 && t->type != TensorType::kF16 &&
        t->type != TensorType::kBF16) {
      return MakeError(ErrorCode::kInvalidArgument, "tensor '{}' has unsupported type {}", name,
                       TensorTypeName(t->type));
    }
    out.resize(static_cast<size_t>(n));
    DequantizeRow(t->type, t->data, out.data(), n);
    return {};
  };

  const GgufTensor* embd = gguf_->FindTensor("token_embd.weight");
  if (embd == nullptr || embd->dims.size() < 2) {
    return MakeError(ErrorCode::kInvalidArgument, "tensor 'token_embd.weight' is missing");
  }
  p.n_vocab = vocab_->n_tokens();
  if (Status s = matrix("token_embd.weight", p.n_embd, p.n_vocab, token_embd_); !s) return s;
  if (Status s = vector("output_norm.weight", p.n_embd, output_norm_); !s) return s;
  if (gguf_->FindTensor("output.weight") != nullptr) {
    if (Status s = matrix("output.weight", p.n_embd, p.n_vocab, output_); !s) return s;
    p.tied_embeddings = false;
  } else {
    output_ = token_embd_;
    p.tied_embeddings = true;
  }
  const int64_t q_dim = static_cast<int64_t>(p.n_head) * p.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(p.n_head_kv) * p.head_dim;
  layers_.resize(static_cast<size_t>(p.n_layer));
  for (int l = 0; l < p.n_layer; ++l) {
    LayerWeights& w = layers_[static_cast<size_t>(l)];
    std::string b = fmt::format("blk.{}.", l);
    if (Status s = vector(b + "attn_norm.weight", p.n_embd, w.attn_norm); !s) return s;
    if (Status s = vector(b + "ffn_norm.weight", p.n_embd, w.ffn_norm); !s) return s;
    if (gguf_->FindTensor(b + "attn_qkv.weight") != nullptr) {
      if (Status s = matrix(b + "attn_qkv.weight", p.n_embd, q_dim + 2 * kv_dim, w.wqkv); !s) {
        return s;
      }
    } else {
      if (Status s = matrix(b + "attn_q.weight", p.n_embd, q_dim, w.wq); !s) return s;
      if (Status s = matrix(b + "attn_k.weight", p.n_embd, kv_dim, w.wk); !s) return s;
      if (Status s = matrix(b + "attn_v.weight", p.n_embd, kv_dim, w.wv); !s) return s;
    }
    if (p.architecture == "qwen2") {
      if (Status s = vector(b + "attn_q.bias", q_dim, w.bq); !s) return s;
      if (Status s = vector(b + "attn_k.bias", kv_dim, w.bk); !s) return s;
      if (Status s = vector(b + "attn_v.bias", kv_dim, w.bv); !s) return s;
    }
    if (Status s = matrix(b + "attn_output.weight", q_dim, p.n_embd, w.wo); !s) return s;
    if (gguf_->FindTensor(b + "ffn_gate.weight") == nullptr && p.architecture == "phi3") {
      if (Status s = matrix(b + "ffn_up.weight", p.n_embd, 2 * int64_t{p.n_ff}, w.w_gate_up); !s) {
        return s;
      }
    } else {
      if (Status s = matrix(b + "ffn_gate.weight", p.n_embd, p.n_ff, w.w_gate); !s) return s;
      if (Status s = matrix(b + "ffn_up.weight", p.n_embd, p.n_ff, w.w_up); !s) return s;
    }
    if (Status s = matrix(b + "ffn_down.weight", p.n_ff, p.n_embd, w.w_down); !s) return s;
  }
  return {};
}

void Model::InterleaveWeights() {
  std::vector<WeightMatrix*> matrices;
  auto consider = [&](WeightMatrix& w) {
    if (w.data != nullptr && IsInterleavable(w.type) && w.rows >= 8) matrices.push_back(&w);
  };
  for (LayerWeights& w : layers_) {
    for (WeightMatrix* m :
         {&w.wq, &w.wk, &w.wv, &w.wqkv, &w.wo, &w.w_gate, &w.w_up, &w.w_gate_up, &w.w_down}) {
      consider(*m);
    }
  }
  // A tied output matrix is also the embedding table, whose rows are read one by one.
  if (!params_.tied_embeddings) consider(output_);
  size_t total = 0;
  for (const WeightMatrix* m : matrices)
    total += m->RowBytes() * static_cast<size_t>(m->rows);
  if (total == 0) return;
  interleaved_ = std::make_unique_for_overwrite<uint8_t[]>(total);
  size_t offset = 0;
  for (WeightMatrix* m : matrices) {
    const size_t bytes = m->RowBytes() * static_cast<size_t>(m->rows);
    Interleave(*m, interleaved_.get() + offset);
    gguf_->ReleasePages(m->data, bytes);
    m->data = interleaved_.get() + offset;
    m->interleaved = true;
    offset += bytes;
  }
}

uint64_t Model::SumOverLayerMatrices(uint64_t (*measure)(const WeightMatrix&)) const {
  uint64_t total = 0;
  for (const LayerWeights& w : layers_) {
    for (const WeightMatrix* m :
         {&w.wq, &w.wk, &w.wv, &w.wqkv, &w.wo, &w.w_gate, &w.w_up, &w.w_gate_up, &w.w_down}) {
      total += measure(*m);
    }
  }
  return total;
}

uint64_t Model::BytesPerToken() const {
  auto bytes = [](const WeightMatrix& w) -> uint64_t {
    return w.data == nullptr ? 0 : w.RowBytes() * static_cast<uint64_t>(w.rows);
  };
  return token_embd_.RowBytes() + bytes(output_) + SumOverLayerMatrices(bytes);
}

Model::MatrixElements Model::ElementsPerToken() const {
  auto elements = [](const WeightMatrix& w) -> uint64_t {
    return w.data == nullptr ? 0 : static_cast<uint64_t>(w.rows) * static_cast<uint64_t>(w.cols);
  };
  return {.layers = SumOverLayerMatrices(elements), .output = elements(output_)};
}

}  // namespace tandem::engine
