// TokenConstraint: a rule on which tokens may come next while generating, for example "the output
// is JSON valid against this schema". The generator checks the sampled token first and filters
// the whole vocabulary only when the constraint refuses it, so the common case costs one check.
//
//   while (!constraint.IsComplete()) {
//     TokenId token = sampler.Sample(logits, history, &constraint);  // always allowed
//     constraint.Accept(token);
//   }
#pragma once

#include <limits>
#include <span>

#include "tandem/engine/vocab.h"

namespace tandem::engine {

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;

  // True when appending `token` keeps the output a prefix of some accepted text. A token that
  // ends in the middle of a UTF-8 sequence is allowed when some continuation completes it.
  virtual bool Allows(TokenId token) const = 0;

  // Commits `token`, which Allows() accepted.
  virtual void Accept(TokenId token) = 0;

  // True when the output so far is a complete accepted text; generation should end here (the
  // end-of-generation token is allowed exactly when this is true).
  virtual bool IsComplete() const = 0;

  // Sets the logit of every token Allows() refuses to -infinity (ids past the vocabulary too).
  // Implementations override this with something faster than one Allows() per token.
  virtual void MaskLogits(std::span<float> logits) const {
    for (size_t i = 0; i < logits.size(); ++i) {
      if (!Allows(static_cast<TokenId>(i))) logits[i] = -std::numeric_limits<float>::infinity();
    }
  }
};

}  // namespace tandem::engine
