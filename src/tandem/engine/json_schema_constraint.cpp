#include "tandem/engine/json_schema_constraint.h"

#include <limits>

namespace tandem::engine {

Result<std::unique_ptr<JsonSchemaConstraint>> JsonSchemaConstraint::Create(
    const nlohmann::json& schema, std::shared_ptr<const TokenTrie> trie,
    const JsonGrammarOptions& options) {
  if (trie == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "JSON Schema constraint needs a token trie");
  }
  Result<std::unique_ptr<JsonGrammar>> grammar = JsonGrammar::Compile(schema, options);
  if (!grammar) return std::unexpected(std::move(grammar).error());
  return std::unique_ptr<JsonSchemaConstraint>(
      new JsonSchemaConstraint(std::move(*grammar), std::move(trie)));
}

JsonSchemaConstraint::JsonSchemaConstraint(std::unique_ptr<JsonGrammar> grammar,
                                           std::shared_ptr<const TokenTrie> trie)
    : grammar_(std::move(grammar)), trie_(std::move(trie)), matcher_(*grammar_) {}

bool JsonSchemaConstraint::Allows(TokenId token) const {
  if (trie_->IsEndOfGeneration(token)) return matcher_.IsComplete();
  std::string_view bytes = trie_->Bytes(token);
  return !bytes.empty() && matcher_.CanFeed(bytes);
}

void JsonSchemaConstraint::Accept(TokenId token) {
  if (trie_->IsEndOfGeneration(token)) return;
  std::string_view bytes = trie_->Bytes(token);
  if (!bytes.empty() && matcher_.Feed(bytes)) text_.append(bytes);
}

bool JsonSchemaConstraint::IsComplete() const {
  return matcher_.IsComplete();
}

// walk_states_[depth] is the state after the bytes leading to `node`. A byte the top frame takes
// in place is applied to that same state and undone after the subtree (no copy); anything else
// advances into walk_states_[depth + 1].
void JsonSchemaConstraint::Walk(const TokenTrie::Node& node, size_t depth) const {
  JsonState& state = walk_states_[depth];
  for (const TokenTrie::Node& child : trie_->Children(node)) {
    JsonFrame saved;
    JsonGrammar::InPlace in_place = grammar_->TryAdvanceInPlace(state, child.byte, saved);
    if (in_place == JsonGrammar::InPlace::kRejected) continue;
    if (in_place == JsonGrammar::InPlace::kApplied) {
      for (TokenId id : trie_->Tokens(child))
        allowed_[static_cast<size_t>(id)] = 1;
      if (child.n_children > 0) Walk(child, depth);
      state.stacks[0].back() = saved;
      continue;
    }
    JsonState& next = walk_states_[depth + 1];
    grammar_->Advance(state, child.byte, next);
    if (next.stacks.empty()) continue;
    for (TokenId id : trie_->Tokens(child))
      allowed_[static_cast<size_t>(id)] = 1;
    if (child.n_children > 0) Walk(child, depth + 1);
  }
}

void JsonSchemaConstraint::MaskLogits(std::span<float> logits) const {
  allowed_.assign(static_cast<size_t>(trie_->n_tokens()), 0);
  walk_states_.resize(trie_->max_depth() + 2);
  walk_states_[0] = matcher_.state();
  Walk(trie_->root(), 0);
  bool complete = matcher_.IsComplete();
  for (TokenId id : trie_->end_of_generation())
    allowed_[static_cast<size_t>(id)] = complete ? 1 : 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (i >= allowed_.size() || allowed_[i] == 0) {
      logits[i] = -std::numeric_limits<float>::infinity();
    }
  }
}

}  // namespace tandem::engine
