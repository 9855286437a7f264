// The two merge algorithms behind Vocab::Tokenize (implementation detail of the engine).
#pragma once

#include <string_view>
#include <vector>

#include "tandem/engine/vocab.h"

namespace tandem::engine::internal {

// SentencePiece-style: repeatedly merges the adjacent pair whose concatenation is the
// highest-scoring token; pieces left without a token fall back to <0xNN> byte tokens.
// `text` already has spaces replaced by U+2581.
void TokenizeSpm(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out);

// Byte-level BPE on one pre-tokenized word given in mapped-byte characters: repeatedly merges the
// adjacent pair with the lowest merge rank; unknown results fall back to single-byte tokens.
void TokenizeBpeWord(const Vocab& vocab, std::string_view word, std::vector<TokenId>& out);

}  // namespace tandem::engine::internal
