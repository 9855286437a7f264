// One planned hybrid query, run the same way on every backend: the vector and full-text rankings,
// their fusion, and the hits of the best fused records.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/record_vectors.h"
#include "tandem/memory/vector_search.h"

namespace tandem::memory {

// What a backend brings to a query.
struct QueryBackend {
  // Run when the plan ranks by vector; then when the request has text.
  std::function<Result<std::vector<Candidate>>()> search_vectors;
  std::function<Result<std::vector<std::pair<int64_t, double>>>()> search_text;
  // Loads the hits of keys, in their order, with the columns `include` asks for.
  std::function<Result<std::vector<Hit>>(std::span<const int64_t> keys, const Include& include)>
      load;
  // Record ids by key from a current index (see CurrentIds), or null: a query that returns ids
  // only then loads nothing for the keys it knows.
  const std::unordered_map<int64_t, std::string>* known_ids = nullptr;
};

Result<QueryResult> RunHybridQuery(const QueryPlan& plan, const QueryRequest& request,
                                   const QueryBackend& backend);

}  // namespace tandem::memory
