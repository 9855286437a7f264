// JsonSchemaConstraint: a TokenConstraint under which a model can only write a JSON value valid
// against a JSON Schema (tool-call arguments from the local engine always parse and validate).
//
//   auto trie = std::make_shared<const TokenTrie>(vocab);          // once per model
//   Result<std::unique_ptr<JsonSchemaConstraint>> constraint =
//       JsonSchemaConstraint::Create(schema, trie);
//   TokenId next = sampler.Sample(logits, history, constraint->get());
//   (*constraint)->Accept(next);    // until IsComplete(); then the end token is allowed
//
// Tokens are checked byte by byte over their bytes (TokenTrie::Bytes), so a token may end inside
// a UTF-8 sequence or an escape when the text can still be completed. Not thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/engine/json_grammar.h"
#include "tandem/engine/token_constraint.h"
#include "tandem/engine/token_trie.h"

namespace tandem::engine {

class JsonSchemaConstraint final : public TokenConstraint {
 public:
  // Compiles `schema` (see JsonGrammar::Compile for the keywords). `trie` is shared: one per
  // model serves every request. kInvalidArgument naming the keyword and path for an unsupported
  // or unsatisfiable schema.
  [[nodiscard]] static Result<std::unique_ptr<JsonSchemaConstraint>> Create(
      const nlohmann::json& schema, std::shared_ptr<const TokenTrie> trie,
      const JsonGrammarOptions& options = {});

  bool Allows(TokenId token) const override;
  // Appends the token's bytes; an end-of-generation token changes nothing. A token Allows()
  // refuses leaves the state unchanged.
  void Accept(TokenId token) override;
  bool IsComplete() const override;
  // Walks the vocabulary trie from the current state: every branch whose prefix the grammar
  // refuses is cut with all the tokens below it.
  void MaskLogits(std::span<float> logits) const override;

  // The bytes accepted so far.
  const std::string& text() const { return text_; }

 private:
  JsonSchemaConstraint(std::unique_ptr<JsonGrammar> grammar, std::shared_ptr<const TokenTrie> trie);
  void Walk(const TokenTrie::Node& node, size_t depth) const;

  std::unique_ptr<JsonGrammar> grammar_;
  // Shared with every constraint made for the same model; immutable.
  std::shared_ptr<const TokenTrie> trie_;
  JsonMatcher matcher_;
  std::string text_;
  mutable std::vector<JsonState> walk_states_;  // one per trie depth, reused across calls
  mutable std::vector<uint8_t> allowed_;
};

}  // namespace tandem::engine
