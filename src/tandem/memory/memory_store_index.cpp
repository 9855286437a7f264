// MemoryStoreImpl's vector side: building, loading and updating HNSW indexes, and vector and
// full-text candidate searches.
#include <fmt/format.h>

#include <algorithm>
#include <queue>
#include <thread>
#include <unordered_set>

#include "tandem/core/log.h"
#include "tandem/memory/memory_store.h"
#include "tandem/memory/ranking.h"
#include "tandem/memory/row_codec.h"

namespace tandem::memory {

using sqlite::Statement;

namespace {

// Rows carry their vectors, so scanning a collection reads most of the file. A unary '+' keeps
// SQLite from driving the scan by the collection index, so a metadata filter's key set (from the
// record_meta index) drives it instead and only matching rows are read.
std::string DriveByFilter(const std::string& clause) {
  constexpr std::string_view kPrefix = "r.collection_id = ?";
  if (!clause.starts_with(kPrefix)) return clause;
  return "+" + clause;
}

}  // namespace

Result<CachedIndex> MemoryStoreImpl::BuildIndex(const CollectionRow& row) {
  auto select = Statement::Prepare(
      db_,
      "SELECT pk, id, embedding FROM records WHERE collection_id = ? AND embedding IS NOT NULL "
      "ORDER BY pk");
  if (!select) return std::unexpected(select.error());
  select->Bind(1, row.id);
  VectorRows rows;
  while (true) {
    auto step = select->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    auto vector = BlobVector(select->Blob(2), row.dimension);
    if (!vector) return std::unexpected(std::move(vector.error()).WithContext(row.name));
    rows.labels.push_back(select->Int(0));
    rows.ids.push_back(select->Text(1));
    rows.data.insert(rows.data.end(), vector->begin(), vector->end());
  }
  auto built = BuildCachedIndex(row, std::move(rows));
  if (built) ++index_rebuilds_;
  return built;
}

Status MemoryStoreImpl::LoadIds(const CollectionRow& row, CachedIndex& loaded) {
  // Answered from the (collection_id, id) index alone: the rows, which carry the vectors, are
  // not read. Records without a vector come along; they are simply never looked up.
  auto select = Statement::Prepare(db_, "SELECT pk, id FROM records WHERE collection_id = ?");
  if (!select) return std::unexpected(select.error());
  select->Bind(1, row.id);
  loaded.ids.clear();
  loaded.ids.reserve(loaded.index->elements() - loaded.index->deleted());
  while (true) {
    auto step = select->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    loaded.ids.emplace(select->Int(0), select->Text(1));
  }
  return {};
}

Result<VectorIndex*> MemoryStoreImpl::EnsureIndex(const CollectionRow& row) {
  if (row.dimension == 0) return nullptr;
  auto found = indexes_.find(row.id);
  if (found != indexes_.end() && found->second.version == row.version) {
    return found->second.index.get();
  }
  CachedIndex loaded{.version = row.version};
  auto from_file = VectorIndex::Load(IndexPath(row.id), IndexParamsOf(row), row.version);
  if (from_file) {
    loaded.index = std::move(*from_file);
    loaded.saved_version = row.version;
    if (Status ids = LoadIds(row, loaded); !ids) {
      return std::unexpected(std::move(ids.error()).WithContext("loading record ids"));
    }
  } else {
    if (from_file.error().code() != ErrorCode::kNotFound) {
      spdlog::info("memory: rebuilding the index of '{}': {}", row.name,
                   from_file.error().message());
    }
    auto built = BuildIndex(row);
    if (!built) return std::unexpected(std::move(built.error()).WithContext("rebuilding index"));
    loaded = std::move(*built);
  }
  VectorIndex* index = loaded.index.get();
  indexes_[row.id] = std::move(loaded);
  return index;
}

void MemoryStoreImpl::ApplyToIndex(const CollectionRow& before, int64_t version, int dimension,
                                   const std::vector<int64_t>& removed,
                                   const std::vector<AddedVector>& added) {
  auto found = indexes_.find(before.id);
  if (dimension == 0) return;  // Full text only so far: no index to keep.
  if (found == indexes_.end() || found->second.version != before.version) {
    if (before.dimension != 0) {
      indexes_.erase(before.id);  // Rebuilt on next use.
      return;
    }
    // The collection's first vectors: start an empty index.
    CollectionRow first = before;
    first.dimension = dimension;
    auto created =
        VectorIndex::Create(IndexParamsOf(first), std::max<size_t>(added.size() * 2, 64));
    if (!created) return;
    found = indexes_.insert_or_assign(before.id, CachedIndex{.index = std::move(*created)}).first;
  }
  CachedIndex& loaded = found->second;
  if (Status status = ApplyIndexChanges(loaded, removed, added); !status) {
    indexes_.erase(found);  // Rebuilt from SQLite on next use.
    return;
  }
  loaded.version = version;
  if (TooManyTombstones(*loaded.index, options_.tombstone_fraction, options_.tombstone_min)) {
    CollectionRow now = before;
    now.version = version;
    now.dimension = dimension;
    auto rebuilt = BuildIndex(now);
    if (rebuilt) {
      loaded = std::move(*rebuilt);
    } else {
      indexes_.erase(found);
    }
  }
}

Result<std::vector<Candidate>> MemoryStoreImpl::ExactSearch(const CollectionRow& row,
                                                            const std::vector<float>& query,
                                                            size_t k, const SqlFilter& filter) {
  VectorSpace space(row.options.distance, row.dimension);
  auto select = Statement::Prepare(
      db_, fmt::format("SELECT r.pk, r.embedding FROM records r WHERE r.embedding IS NOT NULL "
                       "AND {}",
                       DriveByFilter(filter.clause)));
  if (!select) return std::unexpected(select.error());
  BindParams(*select, 1, filter.params);
  NearestK best(k);
  while (true) {
    auto step = select->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    auto vector = BlobVector(select->Blob(1), row.dimension);
    if (!vector) return std::unexpected(vector.error());
    space.Prepare(*vector);
    best.Offer({.pk = select->Int(0), .distance = space.Compare(query.data(), vector->data())});
  }
  return best.Take();
}

Result<std::vector<Candidate>> MemoryStoreImpl::VectorSearch(const CollectionRow& row,
                                                             const std::vector<float>& query,
                                                             size_t k, const SqlFilter& filter,
                                                             bool filtered) {
  auto filter_matches = [&]() -> Result<std::unordered_set<int64_t>> {
    auto select = Statement::Prepare(
        db_, fmt::format("SELECT r.pk FROM records r WHERE r.embedding IS NOT NULL AND {}",
                         DriveByFilter(filter.clause)));
    if (!select) return std::unexpected(select.error());
    BindParams(*select, 1, filter.params);
    std::unordered_set<int64_t> matches;
    while (true) {
      auto step = select->Step();
      if (!step) return std::unexpected(step.error());
      if (!*step) return matches;
      matches.insert(select->Int(0));
    }
  };
  return SearchVectors(row, query, k, filtered, options_.exact_search_max,
                       {.filter_matches = filter_matches,
                        .index = [&] { return EnsureIndex(row); },
                        .exact = [&] { return ExactSearch(row, query, k, filter); }});
}

Result<std::vector<std::pair<int64_t, double>>> MemoryStoreImpl::FullTextSearch(
    const CollectionRow& row, const std::string& text, size_t k, const SqlFilter& filter) {
  (void)row;
  std::string match = FullTextQuery(text);
  std::vector<std::pair<int64_t, double>> out;
  if (match.empty()) return out;
  auto select = Statement::Prepare(
      db_, fmt::format("SELECT r.pk, bm25(records_fts) FROM records_fts JOIN records r ON r.pk = "
                       "records_fts.rowid WHERE records_fts MATCH ? AND {} ORDER BY "
                       "bm25(records_fts), r.pk LIMIT ?",
                       filter.clause));
  if (!select) return std::unexpected(select.error());
  select->Bind(1, match);
  BindParams(*select, 2, filter.params);
  select->Bind(static_cast<int>(filter.params.size()) + 2, static_cast<int64_t>(k));
  while (true) {
    auto step = select->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    out.emplace_back(select->Int(0), -select->Double(1));
  }
  return out;
}

}  // namespace tandem::memory
