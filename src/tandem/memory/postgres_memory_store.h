// PostgresMemoryStore: MemoryStore on a PostgreSQL database that many processes, on many
// machines, read and write at once. PostgreSQL holds everything durable (collections, records
// with their metadata, vectors and a full-text vector of each document, a change log); each
// process keeps its own HNSW index per collection in memory and brings it up to the collection's
// committed version, from the change log or by a rebuild, before it answers a query.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "tandem/memory/collection_row.h"
#include "tandem/memory/filter.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/vector_search.h"

namespace tandem::pg {
class Connection;
}

namespace tandem::memory {

// Thread-safe: calls are serialised by mu_ (one connection). No lock between processes: writers
// of one collection serialise on its row (SELECT ... FOR UPDATE), so versions commit in order.
class PostgresMemoryStore final : public MemoryStore {
 public:
  // Connects to `url` and, unless read-only, applies pending memory migrations (recorded in
  // memory_schema_migrations, serialised across processes by an advisory lock). Errors:
  // kInvalidArgument for a malformed URL, kUnavailable when the server cannot be reached,
  // kNotFound for a read-only open of a database without memory tables, kFailedPrecondition for
  // a memory schema newer (or, read-only, older) than this build's. Messages name the URL without
  // its password.
  static Result<std::unique_ptr<PostgresMemoryStore>> Open(std::string_view url,
                                                           const StoreOptions& options,
                                                           std::unique_ptr<llm::Embedder> embedder);
  // The memory schema version this build writes.
  static int SchemaVersion();
  ~PostgresMemoryStore() override;

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
  // Nothing to write: indexes live in memory only.
  Status Flush() override;
  // Rebuilds this process's indexes, empties the change log (other processes then rebuild theirs
  // on their next query) and vacuums the memory tables.
  Status Compact() override;
  Result<StoreStats> Stats() override;

 private:
  PostgresMemoryStore(std::unique_ptr<pg::Connection> connection, const StoreOptions& options,
                      std::unique_ptr<llm::Embedder> embedder);
  Status Migrate();
  Status CheckSchema();
  Status CheckWritable() const;

  Result<std::optional<CollectionRow>> FindCollection(const std::string& name, bool for_update);
  Result<CollectionRow> RequireCollection(const std::string& name, bool for_update = false);
  Result<CollectionInfo> Describe(const CollectionRow& row);
  Status Write(const std::string& collection, const std::vector<Record>& records, bool upsert);
  // Inserts one record (and its metadata) and returns its key.
  Result<int64_t> InsertRecord(int64_t collection_id, const Record& record,
                               const std::vector<float>& vector);
  // Logs the change and bumps the collection to `version`, inside the writing transaction.
  Status CommitChange(const CollectionRow& locked, const std::vector<int64_t>& removed,
                      const std::vector<int64_t>& added, const std::string& model, int dimension);

  // The collection's index at row.version (read in the caller's snapshot): refreshed from the
  // change log, or rebuilt. Null when the collection holds no vectors.
  Result<VectorIndex*> EnsureIndex(const CollectionRow& row);
  // Applies the logged changes after cached.version; false when the log no longer reaches back.
  Result<bool> Refresh(const CollectionRow& row, CachedIndex& cached);
  Result<CachedIndex> BuildIndex(const CollectionRow& row);
  void ForgetDeletedCollections();

  Result<std::vector<Candidate>> VectorSearch(const CollectionRow& row,
                                              const std::vector<float>& query, size_t k,
                                              const SqlFilter& filter, bool filtered);
  Result<std::vector<Candidate>> ExactSearch(const CollectionRow& row,
                                             const std::vector<float>& query, size_t k,
                                             const SqlFilter& filter);
  Result<std::vector<std::pair<int64_t, double>>> FullTextSearch(const std::string& text, size_t k,
                                                                 const SqlFilter& filter);
  // Hits of `pks`, in that order.
  Result<std::vector<Hit>> LoadHits(std::span<const int64_t> pks, const Include& include);

  mutable std::mutex mu_;
  const StoreOptions options_;
  std::unique_ptr<llm::Embedder> embedder_;
  std::unique_ptr<pg::Connection> db_;      // GUARDED_BY(mu_)
  std::map<int64_t, CachedIndex> indexes_;  // GUARDED_BY(mu_), by collection id.
  int64_t index_rebuilds_ = 0;              // GUARDED_BY(mu_)
};

}  // namespace tandem::memory
