// The backend-independent half of writing and querying: checking records, computing their
// vectors with the embedder, and the query vector a query ranks by.
#pragma once

#include <string>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/llm/chat_model.h"
#include "tandem/memory/collection_row.h"
#include "tandem/memory/memory.h"

namespace tandem::memory {

// kInvalidArgument naming the first bad record (empty or repeated id, nothing to store, bad
// metadata, NaN in a vector).
Status ValidateRecords(const std::vector<Record>& records);

// The vectors the records of one write will have: given ones, or computed by `embedder` (may be
// null) from their documents; an empty vector for a record that gets none. Sets `model` and
// `dimension` to what the collection records after the write. kFailedPrecondition when the
// embedder's model or dimension differs from the collection's, kInvalidArgument for a given
// vector of the wrong dimension.
Result<std::vector<std::vector<float>>> RecordVectors(llm::Embedder* embedder,
                                                      const CollectionRow& row,
                                                      const std::vector<Record>& records,
                                                      std::string& model, int& dimension);

// How a query is ranked.
struct QueryPlan {
  size_t k = 0;               // Candidates each ranking contributes.
  std::vector<float> vector;  // Prepared for the collection's space; empty: no vector ranking.
  bool filtered = false;      // A where or where_document filter applies.
  std::string note;           // Why there is no vector ranking, when there is none.
};

// Checks the request and embeds its text when it brings no vector (errors as Query's).
Result<QueryPlan> PlanQuery(llm::Embedder* embedder, const CollectionRow& row,
                            const QueryRequest& request, size_t fusion_candidates);

}  // namespace tandem::memory
