#include "tandem/memory/vector_search.h"

#include <algorithm>
#include <thread>

namespace tandem::memory {

Result<CachedIndex> BuildCachedIndex(const CollectionRow& row, VectorRows rows) {
  size_t n = rows.labels.size();
  auto index = VectorIndex::Create(IndexParamsOf(row), n + n / 4 + 16);
  if (!index) return std::unexpected(index.error());
  size_t dim = static_cast<size_t>(row.dimension);
  if (rows.data.size() != n * dim) {
    return MakeError(ErrorCode::kInternal, "{} floats read for {} vectors of dimension {}",
                     rows.data.size(), n, dim);
  }
  CachedIndex cached{.version = row.version};
  cached.ids.reserve(n);
  std::vector<const float*> pointers(n);
  std::vector<float> prepared;
  for (size_t i = 0; i < n; ++i) {
    auto begin = rows.data.begin() + static_cast<std::ptrdiff_t>(i * dim);
    if (row.options.distance == Distance::kCosine) {
      prepared.assign(begin, begin + static_cast<std::ptrdiff_t>(dim));
      (*index)->space().Prepare(prepared);
      std::copy(prepared.begin(), prepared.end(), begin);
    }
    pointers[i] = rows.data.data() + i * dim;
    cached.ids.emplace(rows.labels[i], std::move(rows.ids[i]));
  }
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (Status added = (*index)->AddBatch(rows.labels, pointers, threads); !added) {
    return std::unexpected(added.error());
  }
  cached.index = std::move(*index);
  return cached;
}

const std::unordered_map<int64_t, std::string>* CurrentIds(
    const std::map<int64_t, CachedIndex>& indexes, const CollectionRow& row) {
  auto found = indexes.find(row.id);
  return found != indexes.end() && found->second.version == row.version ? &found->second.ids
                                                                        : nullptr;
}

Status ApplyIndexChanges(CachedIndex& cached, const std::vector<int64_t>& removed,
                         const std::vector<AddedVector>& added) {
  for (int64_t label : removed) {
    cached.index->Remove(label);
    cached.ids.erase(label);
  }
  std::vector<int64_t> labels;
  std::vector<std::vector<float>> prepared;
  for (const AddedVector& vector : added) {
    labels.push_back(vector.pk);
    prepared.push_back(vector.vector);
    cached.index->space().Prepare(prepared.back());
  }
  std::vector<const float*> pointers;
  for (const std::vector<float>& vector : prepared)
    pointers.push_back(vector.data());
  if (Status status = cached.index->AddBatch(labels, pointers); !status) return status;
  for (const AddedVector& vector : added)
    cached.ids.insert_or_assign(vector.pk, vector.id);
  return {};
}

bool TooManyTombstones(const VectorIndex& index, double tombstone_fraction, size_t tombstone_min) {
  size_t deleted = index.deleted();
  return deleted >= tombstone_min &&
         static_cast<double>(deleted) > tombstone_fraction * static_cast<double>(index.elements());
}

std::optional<std::vector<Candidate>> SearchIndex(const VectorIndex& index,
                                                  const std::vector<float>& query, size_t k,
                                                  size_t ef,
                                                  const std::unordered_set<int64_t>* matches) {
  size_t live = index.elements() - index.deleted();
  size_t wanted = matches != nullptr ? std::min(k, matches->size()) : std::min(k, live);
  // Over-fetch in proportion to how selective the filter is, growing until enough results pass;
  // past half the index an exact scan of the matches is cheaper and always complete.
  size_t fetch = matches != nullptr ? k * live / std::max<size_t>(matches->size(), 1) * 2 + k : k;
  while (true) {
    fetch = std::min(fetch, live);
    std::vector<Candidate> out;
    for (const auto& [distance, label] : index.Search(query.data(), fetch, ef)) {
      if (matches != nullptr && matches->count(label) == 0) continue;
      out.push_back({.pk = label, .distance = distance});
      if (out.size() == k) break;
    }
    if (out.size() >= wanted) return out;
    if (fetch >= live || fetch * 4 > live / 2) return std::nullopt;
    fetch *= 4;
  }
}

Result<std::vector<Candidate>> SearchVectors(const CollectionRow& row,
                                             const std::vector<float>& query, size_t k,
                                             bool filtered, size_t exact_search_max,
                                             const VectorSearchBackend& backend) {
  std::unordered_set<int64_t> matches;
  if (filtered) {
    auto found = backend.filter_matches();
    if (!found) return std::unexpected(found.error());
    matches = std::move(*found);
    if (matches.empty()) return std::vector<Candidate>();
    if (matches.size() <= std::max(exact_search_max, k)) return backend.exact();
  }
  auto index = backend.index();
  if (!index) return std::unexpected(index.error());
  if (*index == nullptr) return std::vector<Candidate>();
  auto found = SearchIndex(**index, query, k, static_cast<size_t>(row.options.ef_search),
                           filtered ? &matches : nullptr);
  if (found) return std::move(*found);
  return backend.exact();
}

void NearestK::Offer(Candidate candidate) {
  if (best_.size() < k_) {
    best_.push(candidate);
  } else if (k_ > 0 && Worse()(candidate, best_.top())) {
    best_.pop();
    best_.push(candidate);
  }
}

std::vector<Candidate> NearestK::Take() {
  std::vector<Candidate> out(best_.size());
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = best_.top();
    best_.pop();
  }
  return out;
}

}  // namespace tandem::memory
