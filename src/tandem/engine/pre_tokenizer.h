// Pre-tokenizers of byte-level BPE vocabularies: split text into the words that BPE merges never
// cross, the way each model family's tokenizer was trained (GPT-2, Llama 3, Qwen2, StarCoder,
// Falcon, DeepSeek Coder).
//
//   std::vector<std::string_view> words = PreTokenize(PreTokenizerKind::kGpt2, "Hello world");
//   // {"Hello", " world"}
//
// Hand-written scanners that reproduce the families' split expressions (no std::regex, which has
// no Unicode classes). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace tandem::engine {

enum class PreTokenizerKind {
  kDefault,        // BPE with no named pre-tokenizer: punctuation runs, GPT-2 words, digit groups
  kGpt2,           // gpt-2, mpt, olmo, jais
  kLlama3,         // llama-bpe, llama3, falcon3: letters, 1-3 digit groups, case-free contractions
  kQwen2,          // as Llama 3 with single digits
  kStarcoder,      // starcoder, refact, smollm, command-r: single digits then GPT-2 words
  kFalcon,         // punctuation runs, GPT-2 words, digit triples
  kDeepseekCoder,  // line breaks, letters, punctuation, CJK runs, single digits
};

// The kind for a `tokenizer.ggml.pre` value; nullopt if unknown. An absent or "default" value
// gives kDefault.
std::optional<PreTokenizerKind> PreTokenizerFromName(std::string_view name);

// Splits `text` into consecutive pieces that together are exactly `text` (views into it).
std::vector<std::string_view> PreTokenize(PreTokenizerKind kind, std::string_view text);

}  // namespace tandem::engine
