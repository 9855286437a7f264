// Ranking pieces of a hybrid query: reciprocal rank fusion and the FTS5 query built from text.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::memory {

inline constexpr double kRrfK = 60;  // The constant of reciprocal rank fusion.

struct FusedItem {
  int64_t key = 0;
  double score = 0;      // Sum over rankings of 1 / (k + rank), rank 1-based.
  size_t best_rank = 0;  // Best 1-based rank in any ranking.
};

// Fuses rankings (each best first, keys unique within a ranking). The result is ordered by score
// (higher first), then best rank, then `tie_key` of the key (lower first), so it is deterministic.
std::vector<FusedItem> FuseReciprocalRank(const std::vector<std::vector<int64_t>>& rankings,
                                          const std::function<std::string(int64_t)>& tie_key,
                                          double k = kRrfK);

// An FTS5 MATCH expression that finds documents containing any word of `text` (each word quoted,
// so no FTS5 syntax in user text is interpreted). Empty when `text` has no words.
std::string FullTextQuery(std::string_view text);

}  // namespace tandem::memory
