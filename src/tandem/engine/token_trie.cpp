#include "tandem/engine/token_trie.h"

#include <algorithm>

namespace tandem::engine {

TokenTrie::TokenTrie(const Vocab& vocab) {
  bytes_.resize(static_cast<size_t>(vocab.n_tokens()));
  std::vector<TokenId> sorted;
  for (TokenId id = 0; id < vocab.n_tokens(); ++id) {
    if (vocab.IsEndOfGeneration(id)) end_of_generation_.push_back(id);
    TokenType type = vocab.GetTokenType(id);
    if (type == TokenType::kControl || type == TokenType::kUnknown || type == TokenType::kUnused ||
        type == TokenType::kUserDefined) {
      continue;
    }
    bytes_[static_cast<size_t>(id)] = vocab.TokenToPiece(id);
    if (bytes_[static_cast<size_t>(id)].empty()) continue;
    sorted.push_back(id);
    max_depth_ = std::max(max_depth_, bytes_[static_cast<size_t>(id)].size());
  }
  std::sort(sorted.begin(), sorted.end(), [&](TokenId a, TokenId b) {
    const std::string& x = bytes_[static_cast<size_t>(a)];
    const std::string& y = bytes_[static_cast<size_t>(b)];
    return x != y ? x < y : a < b;
  });
  nodes_.emplace_back();
  Build(0, sorted, 0);
}

// `sorted` holds the tokens below `node`, whose bytes share their first `depth` bytes, in byte
// order: those ending here come first, then one run per next byte.
void TokenTrie::Build(uint32_t node, std::span<const TokenId> sorted, size_t depth) {
  size_t i = 0;
  nodes_[node].first_token = static_cast<uint32_t>(token_ids_.size());
  while (i < sorted.size() && bytes_[static_cast<size_t>(sorted[i])].size() == depth)
    token_ids_.push_back(sorted[i++]);
  nodes_[node].n_tokens = static_cast<uint32_t>(token_ids_.size()) - nodes_[node].first_token;
  std::vector<std::pair<size_t, size_t>> runs;
  while (i < sorted.size()) {
    uint8_t byte = static_cast<uint8_t>(bytes_[static_cast<size_t>(sorted[i])][depth]);
    size_t end = i;
    while (end < sorted.size() &&
           static_cast<uint8_t>(bytes_[static_cast<size_t>(sorted[end])][depth]) == byte) {
      ++end;
    }
    runs.emplace_back(i, end);
    i = end;
  }
  uint32_t first_child = static_cast<uint32_t>(nodes_.size());
  nodes_[node].first_child = first_child;
  nodes_[node].n_children = static_cast<uint32_t>(runs.size());
  for (const auto& [begin, end] : runs) {
    Node child;
    child.byte = static_cast<uint8_t>(bytes_[static_cast<size_t>(sorted[begin])][depth]);
    nodes_.push_back(child);
  }
  for (size_t r = 0; r < runs.size(); ++r) {
    Build(first_child + static_cast<uint32_t>(r),
          sorted.subspan(runs[r].first, runs[r].second - runs[r].first), depth + 1);
  }
}

std::string_view TokenTrie::Bytes(TokenId id) const {
  if (id < 0 || id >= n_tokens()) return {};
  return bytes_[static_cast<size_t>(id)];
}

bool TokenTrie::IsEndOfGeneration(TokenId id) const {
  return std::find(end_of_generation_.begin(), end_of_generation_.end(), id) !=
         end_of_generation_.end();
}

}  // namespace tandem::engine
