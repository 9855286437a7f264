// The implementation of MemoryStore: SQLite (records, metadata, vectors, FTS5) as the source of
// truth and per-collection HNSW indexes as caches of it.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>

#include "tandem/core/sqlite.h"
#include "tandem/memory/collection_row.h"
#include "tandem/memory/filter.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/vector_search.h"
#include "tandem/memory/write_lock.h"

struct sqlite3;

namespace tandem::memory {

class MemoryStoreImpl final : public MemoryStore {
 public:
  static Result<std::unique_ptr<MemoryStoreImpl>> Open(const std::filesystem::path& directory,
                                                       const StoreOptions& options,
                                                       std::unique_ptr<llm::Embedder> embedder);
  ~MemoryStoreImpl() override;

  bool has_embedder() const override { return embedder_ != nullptr; }
  Result<CollectionInfo> CreateCollection(const std::string& name,
                                          const CollectionOptions& options) override;
  Result<CollectionInfo> GetOrCreateCollection(const std::string& name,
                                               const CollectionOptions& options) override;
  Result<CollectionInfo> GetCollection(const std::string& name) override;
  Result<std::vector<CollectionInfo>> ListCollections() override;
  Status DeleteCollection(const std::string& name) override;
  Status Add(const std::string& collection, const std::vector<Record>& records) override;
  Status Upsert(const std::string& collection, const std::vector<Record>& records) override;
  Result<std::vector<Hit>> Get(const std::string& collection, const GetRequest& request) override;
  Result<int64_t> Delete(const std::string& collection, const Selection& selection) override;
  Result<QueryResult> Query(const std::string& collection, const QueryRequest& request) override;
  Status Flush() override;
  Status Compact() override;
  Result<StoreStats> Stats() override;

  // The index file of a collection (for tests that damage it).
  std::filesystem::path IndexPath(int64_t collection_id) const;

 private:
  MemoryStoreImpl(std::filesystem::path directory, const StoreOptions& options,
                  std::unique_ptr<llm::Embedder> embedder, sqlite3* db,
                  std::optional<WriteLock> lock);

  Status CheckWritable() const;
  Result<std::vector<CollectionInfo>> ListCollectionsLocked();
  Result<std::optional<CollectionRow>> FindCollection(const std::string& name);
  Result<CollectionRow> RequireCollection(const std::string& name);
  Result<CollectionInfo> Describe(const CollectionRow& row);
  Result<CollectionRow> InsertCollection(const std::string& name, const CollectionOptions& options);
  Status Write(const std::string& collection, const std::vector<Record>& records, bool upsert);

  // The collection's index at its current version: loaded from its file, or rebuilt from SQLite.
  // Null when the collection holds no vectors.
  Result<VectorIndex*> EnsureIndex(const CollectionRow& row);
  Result<CachedIndex> BuildIndex(const CollectionRow& row);
  // Fills `loaded.ids` from SQLite (for an index loaded from its file).
  Status LoadIds(const CollectionRow& row, CachedIndex& loaded);
  void ApplyToIndex(const CollectionRow& before, int64_t version, int dimension,
                    const std::vector<int64_t>& removed, const std::vector<AddedVector>& added);

  Result<std::vector<Candidate>> VectorSearch(const CollectionRow& row,
                                              const std::vector<float>& query, size_t k,
                                              const SqlFilter& filter, bool filtered);
  Result<std::vector<Candidate>> ExactSearch(const CollectionRow& row,
                                             const std::vector<float>& query, size_t k,
                                             const SqlFilter& filter);
  Result<std::vector<std::pair<int64_t, double>>> FullTextSearch(const CollectionRow& row,
                                                                 const std::string& text, size_t k,
                                                                 const SqlFilter& filter);
  Result<Hit> LoadHit(int64_t pk, const Include& include);
  // The hits of pks, in their order.
  Result<std::vector<Hit>> LoadHits(std::span<const int64_t> pks, const Include& include);
  Status MaybeOptimizeFullText();
  Status SaveIndex(int64_t collection_id, CachedIndex& loaded);
  Status FlushLocked();

  mutable std::mutex mu_;
  const std::filesystem::path directory_;
  const StoreOptions options_;
  std::unique_ptr<llm::Embedder> embedder_;
  sqlite3* db_;                                         // GUARDED_BY(mu_)
  std::unique_ptr<sqlite::StatementCache> statements_;  // GUARDED_BY(mu_)
  std::optional<WriteLock> lock_;                       // Held for the store's life by a writer.
  std::map<int64_t, CachedIndex> indexes_;              // GUARDED_BY(mu_), by collection id.
  int64_t index_rebuilds_ = 0;                          // GUARDED_BY(mu_)
  int64_t deletes_since_optimize_ = 0;                  // GUARDED_BY(mu_)
};

}  // namespace tandem::memory
