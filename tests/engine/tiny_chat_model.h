// A tiny llama model with random weights and a SentencePiece vocabulary that has ChatML control
// tokens and byte fallback, for chat, generation and serving tests (no downloaded weights).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/engine/gguf_writer.h"

namespace tandem::engine::testing {

inline constexpr std::string_view kChatMlTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Token ids of the vocabulary below.
inline constexpr int kUnk = 0, kBos = 1, kEos = 2, kImStart = 3, kImEnd = 4, kFirstByte = 5;

inline std::string RandomFloats(size_t n, uint64_t& state, float scale) {
  std::vector<float> values(n);
  for (float& v : values) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    v = (static_cast<float>((state >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f) * 2.0f * scale;
  }
  return std::string(reinterpret_cast<const char*>(values.data()), n * sizeof(float));
}

inline GgufWriter TinyChatModel(std::string_view chat_template, uint64_t seed = 7,
                                std::string_view name = "tiny-chat") {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"};
  std::vector<int32_t> types = {2, 3, 3, 3, 3};
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">");
    types.push_back(6);
  }
  for (std::string_view word :
       {"\xE2\x96\x81", "\xE2\x96\x81the",
        "\xE2\x96\x81"
        "a",
        "he", "lo", "\xE2\x96\x81hello", "\xE2\x96\x81world", "{\"", "\":", "}"}) {
    tokens.emplace_back(word);
    types.push_back(1);
  }
  for (char c = 'a'; c <= 'z'; ++c) {
    tokens.emplace_back(1, c);
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size(), 0.0f);
  for (size_t i = 0; i < tokens.size(); ++i)
    scores[i] = -static_cast<float>(i) * 0.01f;
  const auto n_vocab = static_cast<uint64_t>(tokens.size());
  constexpr uint64_t d = 32, ff = 64;
  GgufWriter w;
  w.AddString("general.architecture", "llama");
  w.AddString("general.name", name);
  w.AddUint32("llama.embedding_length", d);
  w.AddUint32("llama.block_count", 1);
  w.AddUint32("llama.feed_forward_length", ff);
  w.AddUint32("llama.attention.head_count", 4);
  w.AddUint32("llama.attention.head_count_kv", 2);
  w.AddUint32("llama.context_length", 2048);
  w.AddString("tokenizer.ggml.model", "llama");
  w.AddStringArray("tokenizer.ggml.tokens", tokens);
  w.AddFloat32Array("tokenizer.ggml.scores", scores);
  w.AddInt32Array("tokenizer.ggml.token_type", types);
  w.AddUint32("tokenizer.ggml.bos_token_id", kBos);
  w.AddUint32("tokenizer.ggml.eos_token_id", kEos);
  w.AddUint32("tokenizer.ggml.eot_token_id", kImEnd);
  w.AddBool("tokenizer.ggml.add_bos_token", false);
  w.AddBool("tokenizer.ggml.add_space_prefix", false);
  if (!chat_template.empty()) w.AddString("tokenizer.chat_template", chat_template);
  uint64_t state = seed;
  w.AddTensor("token_embd.weight", TensorType::kF32, {d, n_vocab},
              RandomFloats(d * n_vocab, state, 1.0f));
  w.AddTensor("output_norm.weight", TensorType::kF32, {d}, RandomFloats(d, state, 1.0f));
  w.AddTensor("output.weight", TensorType::kF32, {d, n_vocab},
              RandomFloats(d * n_vocab, state, 0.5f));
  w.AddTensor("blk.0.attn_norm.weight", TensorType::kF32, {d}, RandomFloats(d, state, 1.0f));
  w.AddTensor("blk.0.ffn_norm.weight", TensorType::kF32, {d}, RandomFloats(d, state, 1.0f));
  w.AddTensor("blk.0.attn_q.weight", TensorType::kF32, {d, d}, RandomFloats(d * d, state, 0.2f));
  w.AddTensor("blk.0.attn_k.weight", TensorType::kF32, {d, d / 2},
              RandomFloats(d * d / 2, state, 0.2f));
  w.AddTensor("blk.0.attn_v.weight", TensorType::kF32, {d, d / 2},
              RandomFloats(d * d / 2, state, 0.2f));
  w.AddTensor("blk.0.attn_output.weight", TensorType::kF32, {d, d},
              RandomFloats(d * d, state, 0.2f));
  w.AddTensor("blk.0.ffn_gate.weight", TensorType::kF32, {d, ff},
              RandomFloats(d * ff, state, 0.2f));
  w.AddTensor("blk.0.ffn_up.weight", TensorType::kF32, {d, ff}, RandomFloats(d * ff, state, 0.2f));
  w.AddTensor("blk.0.ffn_down.weight", TensorType::kF32, {ff, d},
              RandomFloats(ff * d, state, 0.2f));
  return w;
}

}  // namespace tandem::engine::testing
