// The backend-independent half of vector search: a collection's in-memory HNSW index with the
// record id of each label, keeping it in step with changes, searching it under a filter, and
// exact search over the matches when the index cannot deliver enough.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/memory/collection_row.h"
#include "tandem/memory/vector_index.h"

namespace tandem::memory {

// A collection's index as loaded in one process. Labels are record keys (pk), which never change
// or get reused, so an index can follow inserts and deletes label by label.
struct CachedIndex {
  int64_t version = 0;         // The collection version it reflects.
  int64_t saved_version = -1;  // The version its file holds; -1: never saved (or no file).
  std::unique_ptr<VectorIndex> index;
  // The record id of each label, so queries that return ids only need no lookup per hit.
  std::unordered_map<int64_t, std::string> ids;
};

// The stored vectors of a collection, as read for a build: unprepared, `dimension` floats each.
struct VectorRows {
  std::vector<int64_t> labels;
  std::vector<std::string> ids;
  std::vector<float> data;
};

struct AddedVector {
  int64_t pk = 0;
  std::string id;
  std::vector<float> vector;  // Unprepared.
};

struct Candidate {
  int64_t pk = 0;
  float distance = 0;
};

// Builds the index of `row` (at row.version) from all its vectors, on all cores.
Result<CachedIndex> BuildCachedIndex(const CollectionRow& row, VectorRows rows);

// The record ids of the cached index of `row` when it reflects the row's version, else null.
const std::unordered_map<int64_t, std::string>* CurrentIds(
    const std::map<int64_t, CachedIndex>& indexes, const CollectionRow& row);

// Removes `removed` labels and adds `added` vectors; on error the index may be part-updated and
// must be rebuilt. Does not change `cached.version`.
Status ApplyIndexChanges(CachedIndex& cached, const std::vector<int64_t>& removed,
                         const std::vector<AddedVector>& added);

// True when deleted entries exceed the fraction (and minimum) the options allow.
bool TooManyTombstones(const VectorIndex& index, double tombstone_fraction, size_t tombstone_min);

// The k nearest live labels of `index` that are in `matches` (null: any), nearest first,
// over-fetching in proportion to how selective the filter is. nullopt when the index cannot
// deliver enough matches cheaply: the caller then runs an exact search of the matches.
std::optional<std::vector<Candidate>> SearchIndex(const VectorIndex& index,
                                                  const std::vector<float>& query, size_t k,
                                                  size_t ef,
                                                  const std::unordered_set<int64_t>* matches);

// What a backend brings to a vector search.
struct VectorSearchBackend {
  // The keys of the records with a vector that pass the query's filter.
  std::function<Result<std::unordered_set<int64_t>>()> filter_matches;
  // The collection's current index; null when it has no vectors yet.
  std::function<Result<VectorIndex*>()> index;
  // Exact search over the records the filter passes.
  std::function<Result<std::vector<Candidate>>()> exact;
};

// The k nearest records: exact search when a filter leaves at most max(exact_search_max, k)
// matches, else the index (searched within the matches), and exact search again when the index
// cannot deliver enough.
Result<std::vector<Candidate>> SearchVectors(const CollectionRow& row,
                                             const std::vector<float>& query, size_t k,
                                             bool filtered, size_t exact_search_max,
                                             const VectorSearchBackend& backend);

// Keeps the k nearest candidates offered (ties: lower pk first), for exact search.
class NearestK {
 public:
  explicit NearestK(size_t k) : k_(k) {}
  void Offer(Candidate candidate);
  // The candidates kept, nearest first.
  std::vector<Candidate> Take();

 private:
  struct Worse {
    bool operator()(const Candidate& a, const Candidate& b) const {
      return a.distance != b.distance ? a.distance < b.distance : a.pk < b.pk;
    }
  };
  size_t k_;
  std::priority_queue<Candidate, std::vector<Candidate>, Worse> best_;
};

}  // namespace tandem::memory
