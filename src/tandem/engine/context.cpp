#include "tandem/engine/context.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace tandem::engine {
namespace {

int ResolveCtx(const Model& model, int requested) {
  if (requested > 0) return requested;
  return std::min(model.params().n_ctx_train, 4096);
}

int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

// y = x / sqrt(mean(x^2) + eps) * weight, summing squares in double as the reference does.
void RmsNorm(const float* x, const float* weight, float* y, int n, float eps) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i)
    sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int i = 0; i < n; ++i)
    y[i] = x[i] * scale * weight[i];
}

void AddBias(float* x, const std::vector<float>& bias, int n_tokens) {
  if (bias.empty()) return;
  const size_t n = bias.size();
  for (int t = 0; t < n_tokens; ++t) {
    for (size_t i = 0; i < n; ++i)
      x[static_cast<size_t>(t) * n + i] += bias[i];
  }
}

}  // namespace

Context::Context(const Model& model, const ContextOptions& options)
    : model_(model),
      options_(options),
      cache_(model.params().n_layer, ResolveCtx(model, options.n_ctx),
             model.params().n_head_kv * model.params().head_dim),
      pool_(ResolveThreads(options.n_threads)) {
  options_.n_batch = std::max(1, options_.n_batch);
}

Result<std::span<const float>> Context::Eval(std::span<const TokenId> tokens) {
  if (tokens.empty()) return MakeError(ErrorCode::kInvalidArgument, "no tokens to evaluate");
  const int n_vocab = model_.params().n_vocab;
  for (TokenId id : tokens) {
    if (id < 0 || id >= n_vocab) {
      return MakeError(ErrorCode::kInvalidArgument, "token id {} is outside the vocabulary of {}",
                       id, n_vocab);
    }
  }
  if (static_cast<int64_t>(n_past_) + static_cast<int64_t>(tokens.size()) > cache_.n_ctx()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "context window full: {} positions used, {} more requested, {} available",
                     n_past_, tokens.size(), cache_.n_ctx());
  }
  for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(options_.n_batch)) {
    size_t n = std::min(tokens.size() - start, static_cast<size_t>(options_.n_batch));
    Forward(tokens.subspan(start, n), start + n == tokens.size());
  }
  return std::span<const float>(logits_);
}

Result<std::vector<float>> Context::EvalMeanHidden(std::span<const TokenId> tokens) {
  if (tokens.empty()) return MakeError(ErrorCode::kInvalidArgument, "no tokens to evaluate");
  const ModelParams& p = model_.params();
  for (TokenId id : tokens) {
    if (id < 0 || id >= p.n_vocab) {
      return MakeError(ErrorCode::kInvalidArgument, "token id {} is outside the vocabulary of {}",
                       id, p.n_vocab);
    }
  }
  if (static_cast<int64_t>(n_past_) + static_cast<int64_t>(tokens.size()) > cache_.n_ctx()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "context window full: {} positions used, {} more requested, {} available",
                     n_past_, tokens.size(), cache_.n_ctx());
  }
  const auto d = static_cast<size_t>(p.n_embd);
  std::vector<double> sum(d, 0.0);
  std::vector<float> normed(d);
  for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(options_.n_batch)) {
    size_t n = std::min(tokens.size() - start, static_cast<size_t>(options_.n_batch));
    Forward(tokens.subspan(start, n), false);
    for (size_t t = 0; t < n; ++t) {
      RmsNorm(x_.data() + t * d, model_.output_norm().data(), normed.data(), p.n_embd,
              p.rms_norm_eps);
      for (size_t i = 0; i < d; ++i)
        sum[i] += normed[i];
    }
  }
  std::vector<float> mean(d);
  for (size_t i = 0; i < d; ++i)
    mean[i] = static_cast<float>(sum[i] / static_cast<double>(tokens.size()));
  return mean;
}

void Context::Rope(float* x, int n_tokens, int n_heads) const {
  const ModelParams& p = model_.params();
  const float theta_scale = std::pow(p.rope_freq_base, -2.0f / static_cast<float>(p.n_rot));
  const int half = p.n_rot / 2;
  for (int t = 0; t < n_tokens; ++t) {
    const float pos = static_cast<float>(n_past_ + t);
    float* row = x + static_cast<size_t>(t) * static_cast<size_t>(n_heads * p.head_dim);
    float theta = pos;
    for (int i = 0; i < half; ++i) {
      const float angle = theta * p.rope_freq_scale;
      const float c = std::cos(angle);
      const float s = std::sin(angle);
      for (int h = 0; h < n_heads; ++h) {
        float* head = row + h * p.head_dim;
        // Normal: adjacent pairs; NEOX: element i with element i + n_rot/2.
        const int a = p.rope_type == RopeType::kNormal ? 2 * i : i;
        const int b = p.rope_type == RopeType::kNormal ? 2 * i + 1 : i + half;
        const float x0 = head[a];
        const float x1 = head[b];
        head[a] = x0 * c - x1 * s;
        head[b] = x0 * s + x1 * c;
      }
      theta *= theta_scale;
    }
  }
}

void Context::Attention(int layer, int n_tokens) {
  const ModelParams& p = model_.params();
  const int group = p.n_head / p.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(p.head_dim));
  const int q_dim = p.n_head * p.head_dim;
  pool_.ParallelFor(static_cast<int64_t>(p.n_head) * n_tokens, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(n_past_ + n_tokens));
    for (int64_t job = begin; job < end; ++job) {
      const int t = static_cast<int>(job / p.n_head);
      const int h = static_cast<int>(job % p.n_head);
      const int kv_head = h / group;
      const int n_keys = n_past_ + t + 1;  // causal: this position and every earlier one
      const float* q = q_.data() + static_cast<size_t>(t) * q_dim + h * p.head_dim;
      float max_score = -INFINITY;
      for (int j = 0; j < n_keys; ++j) {
        const float* k = cache_.Key(layer, j) + kv_head * p.head_dim;
        scores[static_cast<size_t>(j)] = DotF32(q, k, p.head_dim) * scale;
        max_score = std::max(max_score, scores[static_cast<size_t>(j)]);
      }
      double sum = 0.0;
      for (int j = 0; j < n_keys; ++j) {
        float e = std::exp(scores[static_cast<size_t>(j)] - max_score);
        scores[static_cast<size_t>(j)] = e;
        sum += e;
      }
      const float inv = static_cast<float>(1.0 / sum);
      float* out = attn_.data() + static_cast<size_t>(t) * q_dim + h * p.head_dim;
      std::fill(out, out + p.head_dim, 0.0f);
      for (int j = 0; j < n_keys; ++j) {
        const float w = scores[static_cast<size_t>(j)] * inv;
        AddScaledF32(w, cache_.Value(layer, j) + kv_head * p.head_dim, out, p.head_dim);
      }
    }
  });
}

void Context::Forward(std::span<const TokenId> tokens, bool want_logits) {
  const ModelParams& p = model_.params();
  const int n = static_cast<int>(tokens.size());
  const size_t d = static_cast<size_t>(p.n_embd);
  const int q_dim = p.n_head * p.head_dim;
  const int kv_dim = p.n_head_kv * p.head_dim;
  const size_t nt = static_cast<size_t>(n);
  x_.resize(nt * d);
  xn_.resize(nt * d);
  q_.resize(nt * static_cast<size_t>(q_dim));
  k_.resize(nt * static_cast<size_t>(kv_dim));
  v_.resize(nt * static_cast<size_t>(kv_dim));
  attn_.resize(nt * static_cast<size_t>(q_dim));
  tmp_.resize(nt * d);
  gate_.resize(nt * static_cast<size_t>(p.n_ff));
  up_.resize(nt * static_cast<size_t>(p.n_ff));

  const WeightMatrix& embd = model_.token_embd();
  for (int t = 0; t < n; ++t) {
    DequantizeRow(embd.type, embd.Row(tokens[static_cast<size_t>(t)]), x_.data() + t * d, p.n_embd);
  }
  const ComputeMode mode = options_.mode;
  for (int l = 0; l < p.n_layer; ++l) {
    const LayerWeights& w = model_.layers()[static_cast<size_t>(l)];
    for (int t = 0; t < n; ++t) {
      RmsNorm(x_.data() + t * d, w.attn_norm.data(), xn_.data() + t * d, p.n_embd, p.rms_norm_eps);
    }
    if (w.wqkv.data != nullptr) {
      const size_t row = static_cast<size_t>(q_dim + 2 * kv_dim);
      qkv_.resize(nt * row);
      MatMul(w.wqkv, xn_.data(), n, qkv_.data(), pool_, mode, quantized_);
      for (size_t t = 0; t < nt; ++t) {
        const float* src = qkv_.data() + t * row;
        std::copy(src, src + q_dim, q_.data() + t * static_cast<size_t>(q_dim));
        std::copy(src + q_dim, src + q_dim + kv_dim, k_.data() + t * static_cast<size_t>(kv_dim));
        std::copy(src + q_dim + kv_dim, src + row, v_.data() + t * static_cast<size_t>(kv_dim));
      }
    } else {
      MatMul(w.wq, xn_.data(), n, q_.data(), pool_, mode, quantized_);
      MatMul(w.wk, xn_.data(), n, k_.data(), pool_, mode, quantized_);
      MatMul(w.wv, xn_.data(), n, v_.data(), pool_, mode, quantized_);
    }
    AddBias(q_.data(), w.bq, n);
    AddBias(k_.data(), w.bk, n);
    AddBias(v_.data(), w.bv, n);
    Rope(q_.data(), n, p.n_head);
    Rope(k_.data(), n, p.n_head_kv);
    for (int t = 0; t < n; ++t) {
      std::copy_n(k_.data() + static_cast<size_t>(t) * kv_dim, kv_dim, cache_.Key(l, n_past_ + t));
      std::copy_n(v_.data() + static_cast<size_t>(t) * kv_dim, kv_dim,
                  cache_.Value(l, n_past_ + t));
    }
    Attention(l, n);
    MatMul(w.wo, attn_.data(), n, tmp_.data(), pool_, mode, quantized_);
    for (size_t i = 0; i < nt * d; ++i)
      x_[i] += tmp_[i];

    for (int t = 0; t < n; ++t) {
      RmsNorm(x_.data() + t * d, w.ffn_norm.data(), xn_.data() + t * d, p.n_embd, p.rms_norm_eps);
    }
    const size_t ff = static_cast<size_t>(p.n_ff);
    if (w.w_gate_up.data != nullptr) {
      gate_up_.resize(nt * 2 * ff);
      MatMul(w.w_gate_up, xn_.data(), n, gate_up_.data(), pool_, mode, quantized_);
      for (size_t t = 0; t < nt; ++t) {
        std::copy_n(gate_up_.data() + t * 2 * ff, ff, gate_.data() + t * ff);
        std::copy_n(gate_up_.data() + t * 2 * ff + ff, ff, up_.data() + t * ff);
      }
    } else {
      MatMul(w.w_gate, xn_.data(), n, gate_.data(), pool_, mode, quantized_);
      MatMul(w.w_up, xn_.data(), n, up_.data(), pool_, mode, quantized_);
    }
    for (size_t i = 0; i < nt * ff; ++i) {
      const float g = gate_[i];
      gate_[i] = g / (1.0f + std::exp(-g)) * up_[i];
    }
    MatMul(w.w_down, gate_.data(), n, tmp_.data(), pool_, mode, quantized_);
    for (size_t i = 0; i < nt * d; ++i)
      x_[i] += tmp_[i];
  }
  n_past_ += n;
  if (!want_logits) return;
  const float* last = x_.data() + static_cast<size_t>(n - 1) * d;
  RmsNorm(last, model_.output_norm().data(), xn_.data(), p.n_embd, p.rms_norm_eps);
  logits_.resize(static_cast<size_t>(p.n_vocab));
  MatMul(model_.output(), xn_.data(), 1, logits_.data(), pool_, mode, quantized_);
}

}  // namespace tandem::engine
