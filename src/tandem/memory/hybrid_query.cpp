#include "tandem/memory/hybrid_query.h"

#include "tandem/memory/ranking.h"

namespace tandem::memory {

Result<QueryResult> RunHybridQuery(const QueryPlan& plan, const QueryRequest& request,
                                   const QueryBackend& backend) {
  QueryResult result;
  result.note = plan.note;
  QueryRankings rankings;
  if (!plan.vector.empty()) {
    auto found = backend.search_vectors();
    if (!found) return std::unexpected(found.error());
    rankings.AddVectorCandidates(*found);
    result.used_vectors = true;
  }
  if (!request.text.empty()) {
    auto found = backend.search_text();
    if (!found) return std::unexpected(found.error());
    rankings.AddTextCandidates(*found);
    result.used_full_text = true;
  }
  auto known_id = [&](int64_t pk) -> const std::string* {
    if (backend.known_ids == nullptr) return nullptr;
    auto found = backend.known_ids->find(pk);
    return found == backend.known_ids->end() ? nullptr : &found->second;
  };
  auto tie_key = [&](int64_t pk) {
    if (const std::string* id = known_id(pk)) return *id;
    auto hit = backend.load({&pk, 1}, {.documents = false, .metadatas = false});
    return hit && !hit->empty() ? std::move(hit->front().id) : std::string();
  };
  const Include& include = request.include;
  bool ids_only = !include.documents && !include.metadatas && !include.embeddings;
  auto load = [&](std::span<const int64_t> keys) -> Result<std::vector<Hit>> {
    if (ids_only) {
      std::vector<Hit> hits;
      for (int64_t pk : keys) {
        const std::string* id = known_id(pk);
        if (id == nullptr) return backend.load(keys, include);
        hits.push_back({.id = *id});
      }
      return hits;
    }
    return backend.load(keys, include);
  };
  auto hits = FusedHits(FuseReciprocalRank(rankings.lists, tie_key), request.n_results,
                        rankings.distances, rankings.text_scores, load);
  if (!hits) return std::unexpected(hits.error());
  result.hits = std::move(*hits);
  return result;
}

}  // namespace tandem::memory
