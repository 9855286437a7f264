// Ranking pieces of a hybrid query: reciprocal rank fusion, turning fused keys into hits, and the
// full-text queries (FTS5 and PostgreSQL) built from text.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/vector_search.h"

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

// Loads the hits of keys, in their order (with the columns a request includes).
using HitLoader = std::function<Result<std::vector<Hit>>(std::span<const int64_t> keys)>;

// The ranked lists of one hybrid query with each candidate's score: what FuseReciprocalRank
// fuses and FusedHits reports.
struct QueryRankings {
  std::vector<std::vector<int64_t>> lists;
  std::map<int64_t, float> distances;     // Vector candidates.
  std::map<int64_t, double> text_scores;  // Full-text candidates (BM25, or ts_rank).

  // Each adds one list, best first.
  void AddVectorCandidates(const std::vector<Candidate>& found);
  void AddTextCandidates(const std::vector<std::pair<int64_t, double>>& found);
};

// The first `n` fused items as hits, scored, with the distance and bm25 of the rankings that
// ranked them.
Result<std::vector<Hit>> FusedHits(const std::vector<FusedItem>& fused, size_t n,
                                   const std::map<int64_t, float>& distances,
                                   const std::map<int64_t, double>& bm25, const HitLoader& load);

// The words of `text` a full-text query looks for, each once, in order: runs of ASCII letters and
// digits or of non-ASCII bytes (UTF-8), close to what both backends' tokenizers index.
std::vector<std::string> FullTextWords(std::string_view text);

// An FTS5 MATCH expression that finds documents containing any word of `text` (each word quoted,
// so no FTS5 syntax in user text is interpreted). Empty when `text` has no words.
std::string FullTextQuery(std::string_view text);

// The same for PostgreSQL's to_tsquery: each word a quoted lexeme, joined by `|`.
std::string TsQueryText(std::string_view text);

}  // namespace tandem::memory
