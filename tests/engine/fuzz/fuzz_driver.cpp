// Runs the GGUF fuzz target without libFuzzer: small valid seed files (a model, a BPE
// vocabulary) and a fixed number of random mutations of them (bit flips, byte overwrites with
// boundary values, truncations, splices). Deterministic for a given --seed.
#include <fmt/format.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tandem/engine/gguf_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" size_t tandem_fuzz_reached[3];

namespace {

using tandem::engine::GgufWriter;
using tandem::engine::TensorType;

std::string Floats(size_t n, float v) {
  std::vector<float> values(n, v);
  return std::string(reinterpret_cast<const char*>(values.data()), n * sizeof(float));
}

std::vector<std::string> Seeds() {
  GgufWriter model;
  model.AddString("general.architecture", "llama");
  model.AddUint32("llama.embedding_length", 32);
  model.AddUint32("llama.block_count", 1);
  model.AddUint32("llama.feed_forward_length", 32);
  model.AddUint32("llama.attention.head_count", 2);
  model.AddString("tokenizer.ggml.model", "llama");
  model.AddStringArray("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81H", "e"});
  model.AddFloat32Array("tokenizer.ggml.scores", {0, 0, 0, -1, -2});
  model.AddInt32Array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1});
  model.AddTensor("token_embd.weight", TensorType::kF32, {32, 5}, Floats(160, 0.1f));
  model.AddTensor("output_norm.weight", TensorType::kF32, {32}, Floats(32, 1));
  for (const char* n : {"attn_norm", "ffn_norm"}) {
    model.AddTensor(fmt::format("blk.0.{}.weight", n), TensorType::kF32, {32}, Floats(32, 1));
  }
  for (const char* n :
       {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}) {
    model.AddTensor(fmt::format("blk.0.{}.weight", n), TensorType::kF32, {32, 32},
                    Floats(1024, 0.01f));
  }
  GgufWriter bpe;
  bpe.AddString("tokenizer.ggml.model", "gpt2");
  bpe.AddString("tokenizer.ggml.pre", "llama-bpe");
  bpe.AddStringArray("tokenizer.ggml.tokens", {"H", "e", "l", "o", "He", "ll", "Hell"});
  bpe.AddStringArray("tokenizer.ggml.merges", {"H e", "l l", "He ll"});
  bpe.AddInt32Array("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 1, 3});
  return {model.Build(), bpe.Build()};
}

std::string Mutate(std::string bytes, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !bytes.empty(); ++e) {
    size_t at = rng() % bytes.size();
    switch (rng() % 5) {
      case 0:
        bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8)));
        break;
      case 1: {
        static constexpr uint64_t kValues[] = {0,     1,          0x7F, 0xFF, 0xFFFFFFFF,
                                               ~0ULL, 1ULL << 63, 32,   4096};
        uint64_t v = kValues[rng() % std::size(kValues)];
        size_t n = std::min<size_t>(1u << (rng() % 4), bytes.size() - at);
        std::memcpy(bytes.data() + at, &v, n);
        break;
      }
      case 2:
        bytes.resize(at);
        break;
      case 3:
        bytes.insert(at, std::string(1 + rng() % 16, static_cast<char>(rng())));
        break;
      default:
        bytes.erase(at, 1 + rng() % 8);
        break;
    }
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 20000;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::atol(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  std::vector<std::string> seeds = Seeds();
  std::mt19937_64 rng(seed);
  for (const std::string& s : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  for (long i = 0; i < iterations; ++i) {
    std::string input = Mutate(seeds[static_cast<size_t>(i) % seeds.size()], rng);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  fmt::print("{} mutated inputs handled: {} parsed, {} with a vocabulary, {} models evaluated\n",
             iterations, tandem_fuzz_reached[0], tandem_fuzz_reached[1], tandem_fuzz_reached[2]);
  return 0;
}
