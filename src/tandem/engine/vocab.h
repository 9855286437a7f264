// Vocab: a model's tokenizer loaded from GGUF metadata — SentencePiece-style (`llama`) or
// byte-level BPE (`gpt2`) — with text to token ids and back.
//
//   Result<std::unique_ptr<Vocab>> vocab = Vocab::FromGguf(reader);
//   std::vector<TokenId> ids = (*vocab)->Tokenize("Hello", {.add_special = true});
//   std::string text = (*vocab)->Detokenize(ids);
//
// Special-token text ("<|im_start|>") is turned into its id only when `parse_special` is set, so
// text from untrusted sources can never smuggle control tokens in. Immutable after loading and
// thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/gguf_reader.h"
#include "tandem/engine/pre_tokenizer.h"

namespace tandem::engine {

using TokenId = int32_t;

enum class VocabType {
  kSpm,  // SentencePiece: scores, '▁' for spaces, <0xNN> byte fallback (tokenizer.ggml.model llama)
  kBpe,  // byte-level BPE with merges and a pre-tokenizer (tokenizer.ggml.model gpt2)
};

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct TokenizeOptions {
  bool add_special = true;     // Add BOS/EOS as the vocabulary's metadata asks.
  bool parse_special = false;  // Turn control-token text into control tokens (trusted text only).
  // With parse_special: byte ranges [first, second) of the text (untrusted parts of a rendered
  // prompt) where control-token text is never turned into control tokens.
  std::vector<std::pair<size_t, size_t>> literal_ranges;
};

class Vocab {
 public:
  // Reads tokenizer.ggml.* keys. Fails with kInvalidArgument naming the key when the tokenizer
  // model is unsupported, arrays disagree in length, ids are out of range or merges are malformed.
  [[nodiscard]] static Result<std::unique_ptr<Vocab>> FromGguf(const GgufReader& gguf);

  std::vector<TokenId> Tokenize(std::string_view text, const TokenizeOptions& options) const;
  // The bytes a token stands for; control tokens render as "" unless `render_special`.
  std::string TokenToPiece(TokenId id, bool render_special = false) const;
  // Concatenated pieces (special tokens not rendered).
  std::string Detokenize(std::span<const TokenId> ids) const;

  VocabType type() const { return type_; }
  std::string_view model_name() const { return model_name_; }
  std::string_view pre_name() const { return pre_name_; }
  int32_t n_tokens() const { return static_cast<int32_t>(tokens_.size()); }
  const std::string& TokenText(TokenId id) const { return tokens_[static_cast<size_t>(id)].text; }
  TokenType GetTokenType(TokenId id) const { return tokens_[static_cast<size_t>(id)].type; }
  std::optional<TokenId> Find(std::string_view text) const;
  std::optional<TokenId> bos() const { return bos_; }
  std::optional<TokenId> eos() const { return eos_; }
  bool add_bos() const { return add_bos_; }
  bool add_eos() const { return add_eos_; }
  // True for EOS, EOT and other end-of-generation tokens.
  bool IsEndOfGeneration(TokenId id) const;

  // Used by the tokenizer implementations.
  float Score(TokenId id) const { return tokens_[static_cast<size_t>(id)].score; }
  // Merge rank of the pair (left, right); nullopt when they never merge.
  std::optional<int32_t> MergeRank(std::string_view left, std::string_view right) const;
  // The token of one raw byte (byte fallback).
  std::optional<TokenId> ByteToken(uint8_t byte) const;
  std::optional<TokenId> unk() const { return unk_; }

 private:
  struct Token {
    std::string text;
    float score = 0.0f;
    TokenType type = TokenType::kNormal;
  };

  Vocab() = default;
  Status Load(const GgufReader& gguf);
  void TokenizeText(std::string_view text, bool after_special, std::vector<TokenId>& out) const;

  VocabType type_ = VocabType::kSpm;
  std::string model_name_;
  std::string pre_name_;
  PreTokenizerKind pre_ = PreTokenizerKind::kDefault;
  std::vector<Token> tokens_;
  std::unordered_map<std::string, TokenId> token_to_id_;
  std::unordered_map<std::string, int32_t> merge_ranks_;  // "left\0right" -> rank
  std::vector<TokenId> special_tokens_;                   // longest text first
  std::optional<TokenId> bos_, eos_, unk_, eot_;
  bool add_bos_ = false;
  bool add_eos_ = false;
  bool add_space_prefix_ = true;
  bool ignore_merges_ = false;
};

}  // namespace tandem::engine
