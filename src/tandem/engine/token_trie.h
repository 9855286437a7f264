// TokenTrie: the bytes every token of a vocabulary stands for, and a trie over them, built once
// per model so that a token constraint can check the whole vocabulary by walking shared
// prefixes once (a rejected prefix prunes every token below it).
//
//   auto trie = std::make_shared<const TokenTrie>(vocab);
//   std::string_view bytes = trie->Bytes(id);   // "▁the" comes out as " the", <0x0A> as "\n"
//
// Immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/engine/vocab.h"

namespace tandem::engine {

class TokenTrie {
 public:
  struct Node {
    uint32_t first_child = 0;  // children are contiguous in nodes()
    uint32_t n_children = 0;
    uint32_t first_token = 0;  // tokens whose bytes end here, contiguous in token_ids()
    uint32_t n_tokens = 0;
    uint8_t byte = 0;  // the byte leading from the parent to this node
  };

  // Takes each token's bytes from Vocab::TokenToPiece (SentencePiece '▁' as a space, byte
  // fallback <0xNN> as the byte). Control, unknown, unused and user-defined tokens get no bytes:
  // they never appear inside constrained text.
  explicit TokenTrie(const Vocab& vocab);

  int32_t n_tokens() const { return static_cast<int32_t>(bytes_.size()); }
  // The token's bytes; empty for tokens outside the trie and ids out of range.
  std::string_view Bytes(TokenId id) const;
  // True for the vocabulary's end-of-generation tokens (EOS, EOT).
  bool IsEndOfGeneration(TokenId id) const;
  std::span<const TokenId> end_of_generation() const { return end_of_generation_; }

  const Node& root() const { return nodes_[0]; }
  std::span<const Node> Children(const Node& node) const {
    return std::span<const Node>(nodes_).subspan(node.first_child, node.n_children);
  }
  std::span<const TokenId> Tokens(const Node& node) const {
    return std::span<const TokenId>(token_ids_).subspan(node.first_token, node.n_tokens);
  }
  size_t n_nodes() const { return nodes_.size(); }
  size_t max_depth() const { return max_depth_; }

 private:
  void Build(uint32_t node, std::span<const TokenId> sorted, size_t depth);

  std::vector<std::string> bytes_;
  std::vector<Node> nodes_;
  std::vector<TokenId> token_ids_;
  std::vector<TokenId> end_of_generation_;
  size_t max_depth_ = 0;
};

}  // namespace tandem::engine
