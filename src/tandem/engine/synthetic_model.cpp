#include "tandem/engine/synthetic_model.h"

#include <fmt/format.h>

#include <cstring>

#include "tandem/engine/gguf_writer.h"
#include "tandem/engine/kernels.h"

namespace tandem::engine {
namespace {

constexpr SyntheticShape kShapes[] = {
    {"tiny", 256, 2, 4, 2, 512, 1024, 256},
    {"tinyllama-1.1b", 2048, 22, 32, 4, 5632, 32000, 2048},
    {"llama-7b", 4096, 32, 32, 32, 11008, 32000, 4096},
    {"mistral-7b", 4096, 32, 32, 8, 14336, 32000, 4096},
    {"llama-3-8b", 4096, 32, 32, 8, 14336, 128256, 4096},
};

// xorshift64*: fast deterministic bytes.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ULL + 1) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  float Uniform(float a) {  // in [-a, a)
    return (static_cast<float>(Next() >> 40) / 16777216.0f * 2.0f - 1.0f) * a;
  }

 private:
  uint64_t state_;
};

void FillRandomBytes(char* dst, size_t n, Random& rng) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng.Next();
    std::memcpy(dst + i, &v, 8);
  }
  for (; i < n; ++i)
    dst[i] = static_cast<char>(rng.Next());
}

// Overwrites the scale fields of every block with small finite values.
void FillBlocks(TensorType type, char* dst, size_t n, uint64_t seed) {
  Random rng(seed);
  using namespace kernels_internal;
  if (type == TensorType::kF32) {
    for (size_t i = 0; i + 4 <= n; i += 4) {
      float v = rng.Uniform(0.03f);
      std::memcpy(dst + i, &v, 4);
    }
    return;
  }
  if (type == TensorType::kF16 || type == TensorType::kBF16) {
    for (size_t i = 0; i + 2 <= n; i += 2) {
      float v = rng.Uniform(0.03f);
      uint16_t h = F32ToF16(v);
      if (type == TensorType::kBF16) {
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        h = static_cast<uint16_t>(bits >> 16);
      }
      std::memcpy(dst + i, &h, 2);
    }
    return;
  }
  FillRandomBytes(dst, n, rng);
  const uint16_t small = F32ToF16(0.0004f);
  const uint16_t tiny = F32ToF16(0.00005f);
  auto blocks = [&](size_t block_bytes, auto fix) {
    for (size_t off = 0; off + block_bytes <= n; off += block_bytes)
      fix(dst + off);
  };
  switch (type) {
    case TensorType::kQ8_0:
      blocks(sizeof(BlockQ8_0), [&](char* b) { std::memcpy(b, &small, 2); });
      break;
    case TensorType::kQ4_0: {
      const uint16_t d = F32ToF16(0.006f);
      blocks(sizeof(BlockQ4_0), [&](char* b) { std::memcpy(b, &d, 2); });
      break;
    }
    case TensorType::kQ4_K: {
      const uint16_t d = F32ToF16(0.0002f);
      blocks(sizeof(BlockQ4K), [&](char* b) {
        std::memcpy(b, &d, 2);
        std::memcpy(b + 2, &tiny, 2);
      });
      break;
    }
    case TensorType::kQ6_K: {
      blocks(sizeof(BlockQ6K), [&](char* b) {
        for (int i = 0; i < 16; ++i)
          b[192 + i] = static_cast<char>((b[192 + i] & 0x1F) - 16);
        std::memcpy(b + 208, &small, 2);
      });
      break;
    }
    default:
      break;
  }
}

size_t TensorBytes(TensorType type, uint64_t elements) {
  std::optional<TensorTypeTraits> traits = GetTensorTypeTraits(static_cast<uint32_t>(type));
  return static_cast<size_t>(elements / traits->block_size) * traits->type_size;
}

}  // namespace

std::optional<SyntheticShape> FindSyntheticShape(std::string_view name) {
  for (const SyntheticShape& s : kShapes) {
    if (s.name == name) return s;
  }
  return std::nullopt;
}

std::vector<std::string_view> SyntheticShapeNames() {
  std::vector<std::string_view> names;
  for (const SyntheticShape& s : kShapes)
    names.push_back(s.name);
  return names;
}

std::optional<TensorType> ParseWeightType(std::string_view name) {
  for (TensorType t : {TensorType::kQ4_0, TensorType::kQ8_0, TensorType::kQ4_K, TensorType::kQ6_K,
                       TensorType::kF16, TensorType::kBF16, TensorType::kF32}) {
    if (TensorTypeName(t) == name) return t;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Model>> MakeSyntheticModel(const SyntheticShape& shape, TensorType type,
                                                  uint64_t seed) {
  if (!IsSupportedWeightType(type)) {
    return MakeError(ErrorCode::kInvalidArgument, "weight type {} is not supported",
                     TensorTypeName(type));
  }
  std::optional<TensorTypeTraits> traits = GetTensorTypeTraits(static_cast<uint32_t>(type));
  const int head_dim = shape.n_embd / shape.n_head;
  if (shape.n_embd % static_cast<int>(traits->block_size) != 0 ||
      shape.n_ff % static_cast<int>(traits->block_size) != 0 ||
      (shape.n_head * head_dim) % static_cast<int>(traits->block_size) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "shape {} does not fit {} blocks of {}",
                     shape.name, traits->name, traits->block_size);
  }
  GgufWriter writer;
  writer.AddString("general.architecture", "llama");
  writer.AddString("general.name", fmt::format("synthetic {} {}", shape.name, traits->name));
  writer.AddUint32("llama.context_length", static_cast<uint32_t>(shape.n_ctx));
  writer.AddUint32("llama.embedding_length", static_cast<uint32_t>(shape.n_embd));
  writer.AddUint32("llama.block_count", static_cast<uint32_t>(shape.n_layer));
  writer.AddUint32("llama.feed_forward_length", static_cast<uint32_t>(shape.n_ff));
  writer.AddUint32("llama.attention.head_count", static_cast<uint32_t>(shape.n_head));
  writer.AddUint32("llama.attention.head_count_kv", static_cast<uint32_t>(shape.n_head_kv));
  writer.AddUint32("llama.rope.dimension_count", static_cast<uint32_t>(head_dim));
  writer.AddFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  writer.AddFloat32("llama.rope.freq_base", 10000.0f);

  // A SentencePiece vocabulary: specials, the 256 byte tokens, then filler pieces.
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    types.push_back(6);
  }
  while (static_cast<int>(tokens.size()) < shape.n_vocab) {
    tokens.push_back(fmt::format("\xE2\x96\x81t{}", tokens.size()));
    types.push_back(1);
  }
  tokens.resize(static_cast<size_t>(shape.n_vocab));
  types.resize(tokens.size());
  std::vector<float> scores(tokens.size());
  for (size_t i = 0; i < scores.size(); ++i)
    scores[i] = -static_cast<float>(i);
  writer.AddString("tokenizer.ggml.model", "llama");
  writer.AddStringArray("tokenizer.ggml.tokens", tokens);
  writer.AddFloat32Array("tokenizer.ggml.scores", scores);
  writer.AddInt32Array("tokenizer.ggml.token_type", types);
  writer.AddUint32("tokenizer.ggml.bos_token_id", 1);
  writer.AddUint32("tokenizer.ggml.eos_token_id", 2);

  uint64_t tensor_seed = seed;
  auto add = [&](const std::string& name, TensorType t, uint64_t cols, uint64_t rows) {
    GgufWriter::TensorSpec spec;
    spec.name = name;
    spec.type = static_cast<uint32_t>(t);
    spec.dims = rows == 0 ? std::vector<uint64_t>{cols} : std::vector<uint64_t>{cols, rows};
    spec.fill_bytes = TensorBytes(t, cols * std::max<uint64_t>(rows, 1));
    const uint64_t s = ++tensor_seed;
    if (rows == 0) {
      spec.fill = [](char* dst, size_t n) {
        const float one = 1.0f;
        for (size_t i = 0; i + 4 <= n; i += 4)
          std::memcpy(dst + i, &one, 4);
      };
    } else {
      spec.fill = [t, s](char* dst, size_t n) { FillBlocks(t, dst, n, s); };
    }
    writer.AddTensor(std::move(spec));
  };
  const uint64_t d = static_cast<uint64_t>(shape.n_embd);
  const uint64_t q_dim = static_cast<uint64_t>(shape.n_head) * static_cast<uint64_t>(head_dim);
  const uint64_t kv_dim = static_cast<uint64_t>(shape.n_head_kv) * static_cast<uint64_t>(head_dim);
  const uint64_t ff = static_cast<uint64_t>(shape.n_ff);
  const bool four_bit = type == TensorType::kQ4_0 || type == TensorType::kQ4_K;
  const TensorType output_type = four_bit && d % 256 == 0 ? TensorType::kQ6_K : type;
  add("token_embd.weight", type, d, static_cast<uint64_t>(shape.n_vocab));
  add("output_norm.weight", TensorType::kF32, d, 0);
  add("output.weight", output_type, d, static_cast<uint64_t>(shape.n_vocab));
  for (int l = 0; l < shape.n_layer; ++l) {
    std::string b = fmt::format("blk.{}.", l);
    add(b + "attn_norm.weight", TensorType::kF32, d, 0);
    add(b + "ffn_norm.weight", TensorType::kF32, d, 0);
    add(b + "attn_q.weight", type, d, q_dim);
    add(b + "attn_k.weight", type, d, kv_dim);
    add(b + "attn_v.weight", type, d, kv_dim);
    add(b + "attn_output.weight", type, q_dim, d);
    add(b + "ffn_gate.weight", type, d, ff);
    add(b + "ffn_up.weight", type, d, ff);
    add(b + "ffn_down.weight", type, ff, d);
  }
  Result<std::unique_ptr<GgufReader>> gguf = GgufReader::FromOwnedBytes(writer.Build());
  if (!gguf) return std::unexpected(std::move(gguf.error()).WithContext("synthetic model"));
  return Model::FromGguf(std::move(*gguf));
}

}  // namespace tandem::engine
