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

Result<MemoryStoreImpl::LoadedIndex> MemoryStoreImpl::BuildIndex(const CollectionRow& row) {
  IndexParams params{.distance = row.options.distance,
                     .dimension = row.dimension,
                     .m = row.options.hnsw_m,
                     .ef_construction = row.options.ef_construction};
  auto select = Statement::Prepare(
      db_,
      "SELECT pk, id, embedding FROM records WHERE collection_id = ? AND embedding IS NOT NULL "
      "ORDER BY pk");
  if (!select) return std::unexpected(select.error());
  select->Bind(1, row.id);
  LoadedIndex loaded{.version = row.version};
  std::vector<int64_t> labels;
  std::vector<float> data;
  while (true) {
    auto step = select->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    auto vector = BlobVector(select->Blob(2), row.dimension);
    if (!vector) return std::unexpected(std::move(vector.error()).WithContext(row.name));
    labels.push_back(select->Int(0));
    loaded.ids.emplace(labels.back(), select->Text(1));
    data.insert(data.end(), vector->begin(), vector->end());
  }
  auto index = VectorIndex::Create(params, labels.size() + labels.size() / 4 + 16);
  if (!index) return std::unexpected(index.error());
  size_t dim = static_cast<size_t>(row.dimension);
  std::vector<const float*> pointers(labels.size());
  std::vector<float> prepared;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (row.options.distance == Distance::kCosine) {
      prepared.assign(data.begin() + static_cast<std::ptrdiff_t>(i * dim),
                      data.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
      (*index)->space().Prepare(prepared);
      std::copy(prepared.begin(), prepared.end(),
                data.begin() + static_cast<std::ptrdiff_t>(i * dim));
    }
    pointers[i] = data.data() + i * dim;
  }
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (Status added = (*index)->AddBatch(labels, pointers, threads); !added) {
    return std::unexpected(added.error());
  }
  ++index_rebuilds_;
  loaded.index = std::move(*index);
  return loaded;
}

Status MemoryStoreImpl::LoadIds(const CollectionRow& row, LoadedIndex& loaded) {
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
  IndexParams params{.distance = row.options.distance,
                     .dimension = row.dimension,
                     .m = row.options.hnsw_m,
                     .ef_construction = row.options.ef_construction};
  LoadedIndex loaded{.version = row.version};
  auto from_file = VectorIndex::Load(IndexPath(row.id), params, row.version);
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
    IndexParams params{.distance = before.options.distance,
                       .dimension = dimension,
                       .m = before.options.hnsw_m,
                       .ef_construction = before.options.ef_construction};
    auto created = VectorIndex::Create(params, std::max<size_t>(added.size() * 2, 64));
    if (!created) return;
    found = indexes_.insert_or_assign(before.id, LoadedIndex{.index = std::move(*created)}).first;
  }
  LoadedIndex& loaded = found->second;
  for (int64_t label : removed) {
    loaded.index->Remove(label);
    loaded.ids.erase(label);
  }
  std::vector<int64_t> labels;
  std::vector<std::vector<float>> prepared;
  for (const AddedVector& vector : added) {
    labels.push_back(vector.pk);
    prepared.push_back(vector.vector);
    loaded.index->space().Prepare(prepared.back());
  }
  std::vector<const float*> pointers;
  for (const std::vector<float>& vector : prepared)
    pointers.push_back(vector.data());
  if (Status status = loaded.index->AddBatch(labels, pointers); !status) {
    indexes_.erase(found);  // Rebuilt from SQLite on next use.
    return;
  }
  for (const AddedVector& vector : added)
    loaded.ids.insert_or_assign(vector.pk, vector.id);
  loaded.version = version;
  size_t deleted = loaded.index->deleted();
  if (deleted >= options_.tombstone_min &&
      static_cast<double>(deleted) >
          options_.tombstone_fraction * static_cast<double>(loaded.index->elements())) {
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

Result<std::vector<MemoryStoreImpl::Candidate>> MemoryStoreImpl::ExactSearch(
    const CollectionRow& row, const std::vector<float>& query, size_t k, const SqlFilter& filter) {
  VectorSpace space(row.options.distance, row.dimension);
  auto select = Statement::Prepare(
      db_, fmt::format("SELECT r.pk, r.embedding FROM records r WHERE r.embedding IS NOT NULL "
                       "AND {}",
                       DriveByFilter(filter.clause)));
  if (!select) return std::unexpected(select.error());
  BindParams(*select, 1, filter.params);
  auto worse = [](const Candidate& a, const Candidate& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.pk < b.pk;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse)> best(worse);
  while (true) {
    auto step = select->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    auto vector = BlobVector(select->Blob(1), row.dimension);
    if (!vector) return std::unexpected(vector.error());
    space.Prepare(*vector);
    Candidate candidate{.pk = select->Int(0),
                        .distance = space.Compare(query.data(), vector->data())};
    if (best.size() < k) {
      best.push(candidate);
    } else if (worse(candidate, best.top())) {
      best.pop();
      best.push(candidate);
    }
  }
  std::vector<Candidate> out(best.size());
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = best.top();
    best.pop();
  }
  return out;
}

Result<std::vector<MemoryStoreImpl::Candidate>> MemoryStoreImpl::VectorSearch(
    const CollectionRow& row, const std::vector<float>& query, size_t k, const SqlFilter& filter,
    bool filtered) {
  std::unordered_set<int64_t> matches;
  if (filtered) {
    auto count = Statement::Prepare(
        db_, fmt::format("SELECT r.pk FROM records r WHERE r.embedding IS NOT NULL AND {}",
                         DriveByFilter(filter.clause)));
    if (!count) return std::unexpected(count.error());
    BindParams(*count, 1, filter.params);
    while (true) {
      auto step = count->Step();
      if (!step) return std::unexpected(step.error());
      if (!*step) break;
      matches.insert(count->Int(0));
    }
    if (matches.empty()) return std::vector<Candidate>();
    if (matches.size() <= std::max(options_.exact_search_max, k)) {
      return ExactSearch(row, query, k, filter);
    }
  }
  auto index = EnsureIndex(row);
  if (!index) return std::unexpected(index.error());
  if (*index == nullptr) return std::vector<Candidate>();
  size_t live = (*index)->elements() - (*index)->deleted();
  size_t wanted = filtered ? std::min(k, matches.size()) : std::min(k, live);
  size_t ef = static_cast<size_t>(row.options.ef_search);
  // Over-fetch in proportion to how selective the filter is, growing until enough results pass;
  // past half the index an exact scan of the matches is cheaper and always complete.
  size_t fetch = filtered ? k * live / std::max<size_t>(matches.size(), 1) * 2 + k : k;
  while (true) {
    fetch = std::min(fetch, live);
    std::vector<Candidate> out;
    for (const auto& [distance, label] : (*index)->Search(query.data(), fetch, ef)) {
      if (filtered && matches.count(label) == 0) continue;
      out.push_back({.pk = label, .distance = distance});
      if (out.size() == k) break;
    }
    if (out.size() >= wanted) return out;
    if (fetch >= live || fetch * 4 > live / 2) break;
    fetch *= 4;
  }
  return ExactSearch(row, query, k, filter);
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
