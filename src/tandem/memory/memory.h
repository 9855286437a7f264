// Tandem's memory: a store of texts, metadata and vectors (embedded SQLite, or PostgreSQL shared
// by many processes), searchable by words (full text) and by meaning (HNSW over embeddings),
// fused by reciprocal rank fusion.
//
//   auto store = memory::OpenMemoryStore(config, {}, std::move(embedder));
//   auto notes = (*store)->GetOrCreateCollection("notes", {.distance = Distance::kCosine});
//   (*store)->Add("notes", {{.id = "n1", .document = "The build uses CMake"}});
//   auto hits = (*store)->Query("notes", {.text = "which build system?", .n_results = 5});
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/llm/chat_model.h"

namespace tandem {
struct Config;
}

namespace tandem::memory {

// How vectors are compared; fixed when a collection is created. Reported distances follow
// hnswlib: kL2 is the squared Euclidean distance, kCosine is 1 - cos, kInnerProduct is 1 - a.b.
enum class Distance { kL2, kCosine, kInnerProduct };
std::string_view DistanceName(Distance distance);
std::optional<Distance> ParseDistance(std::string_view name);

struct CollectionOptions {
  Distance distance = Distance::kCosine;
  int hnsw_m = 16;            // Graph degree: higher raises recall and memory use.
  int ef_construction = 100;  // Build-time beam: higher raises recall and build time.
  int ef_search = 64;  // Query-time beam (at least n_results): higher raises recall, lowers QPS.
};

struct CollectionInfo {
  int64_t id = 0;
  std::string name;
  CollectionOptions options;
  std::string embedding_model;  // Empty until the first vector is stored.
  int dimension = 0;            // 0 until the first vector is stored.
  int64_t count = 0;            // Records.
  int64_t vector_count = 0;     // Records with a vector.
};

struct Record {
  std::string id;                // Unique within the collection; required.
  std::string document;          // The text; may be empty only when `embedding` is given.
  nlohmann::json metadata;       // null or an object of string, number or boolean values.
  std::vector<float> embedding;  // Empty: computed by the embedder when one is configured.
};

// What Get and Query return besides ids.
struct Include {
  bool documents = true;
  bool metadatas = true;
  bool embeddings = false;
};

// Selects records. Filters use ChromaDB's syntax (docs/memory.md): `where` on metadata with
// $eq $ne $gt $gte $lt $lte $in $nin $and $or; `where_document` with $contains $not_contains
// $and $or. Null means no filter.
struct Selection {
  std::vector<std::string> ids;  // Empty: any id.
  nlohmann::json where;
  nlohmann::json where_document;
};

struct GetRequest {
  Selection selection;
  size_t limit = 0;  // 0: no limit. Results come in insertion order.
  size_t offset = 0;
  Include include;
};

struct QueryRequest {
  std::string text;           // Full-text query, and the text to embed when `vector` is empty.
  std::vector<float> vector;  // Query vector; empty: embed `text` when an embedder exists.
  size_t n_results = 10;
  nlohmann::json where;
  nlohmann::json where_document;
  Include include;
};

struct Hit {
  std::string id;
  std::string document;
  nlohmann::json metadata;
  std::vector<float> embedding;
  std::optional<float> distance;  // Set when the record was ranked by vector search.
  std::optional<double> bm25;     // Set when ranked by full text (higher is better).
  double score = 0;               // Reciprocal rank fusion score (higher is better).
};

struct QueryResult {
  std::vector<Hit> hits;  // Best first; at most n_results; fewer only when fewer records match.
  bool used_vectors = false;
  bool used_full_text = false;
  std::string note;  // Why a ranking was not used, e.g. "no embedder configured: full text only".
};

struct StoreStats {
  std::string location;  // The directory, or the PostgreSQL URL without its password.
  bool has_embedder = false;
  std::string embedder_model;
  std::vector<CollectionInfo> collections;
  uint64_t disk_bytes = 0;     // All files of the directory, or the memory tables' size.
  int64_t index_rebuilds = 0;  // HNSW indexes rebuilt from the database since opening.
  int64_t index_tombstones = 0;
};

struct StoreOptions {
  bool read_only = false;  // Readers take no lock and never write; many may run at once.
  // SQLite only (PostgreSQL follows the server's synchronous_commit). true: every commit is
  // fsynced (synchronous=FULL). false: synchronous=NORMAL, still safe against a process crash,
  // but the last commits may be lost on power failure; for bulk loads.
  bool durable_commits = true;
  // Filtered vector queries whose filter matches at most this many records use exact search.
  size_t exact_search_max = 2048;
  // The HNSW index is rebuilt when deleted entries exceed this fraction of its elements.
  double tombstone_fraction = 0.2;
  size_t tombstone_min = 64;      // ... and at least this many.
  size_t fusion_candidates = 50;  // Candidates each ranking contributes to fusion (>= n_results).
};

// The store. In a directory (SQLite): one writer process at a time (an flock on `LOCK`), readers
// alongside. In PostgreSQL (OpenMemoryStore): any number of writers and readers, on any machine.
// Thread-safe: calls are serialised by an internal mutex.
class MemoryStore {
 public:
  virtual ~MemoryStore() = default;

  // Opens (creating when writable) the store in `directory`. `embedder` may be null: then
  // memory works on full text alone. Errors: kUnavailable when another process holds the write
  // lock (the message names its pid); kNotFound for a read-only open of a missing store;
  // kDataLoss for a corrupt database.
  static Result<std::unique_ptr<MemoryStore>> Open(const std::filesystem::path& directory,
                                                   const StoreOptions& options,
                                                   std::unique_ptr<llm::Embedder> embedder);

  virtual bool has_embedder() const = 0;

  // Creates a collection; kAlreadyExists when the name is taken.
  virtual Result<CollectionInfo> CreateCollection(const std::string& name,
                                                  const CollectionOptions& options) = 0;
  // Returns the collection, creating it with `options` when absent (options of an existing
  // collection are kept; a different distance is kInvalidArgument).
  virtual Result<CollectionInfo> GetOrCreateCollection(const std::string& name,
                                                       const CollectionOptions& options) = 0;
  // kNotFound when absent.
  virtual Result<CollectionInfo> GetCollection(const std::string& name) = 0;
  virtual Result<std::vector<CollectionInfo>> ListCollections() = 0;
  virtual Status DeleteCollection(const std::string& name) = 0;

  // Adds records atomically (all or none). kAlreadyExists names an id already present;
  // kInvalidArgument names a bad record; kFailedPrecondition when the embedder's model or the
  // vectors' dimension differs from the one recorded for the collection.
  virtual Status Add(const std::string& collection, const std::vector<Record>& records) = 0;
  // Like Add, replacing records whose id exists.
  virtual Status Upsert(const std::string& collection, const std::vector<Record>& records) = 0;
  // Records selected, in insertion order; an empty vector when none match.
  virtual Result<std::vector<Hit>> Get(const std::string& collection,
                                       const GetRequest& request) = 0;
  // Deletes the selected records and returns how many. An empty selection is kInvalidArgument
  // (use DeleteCollection to remove everything).
  virtual Result<int64_t> Delete(const std::string& collection, const Selection& selection) = 0;
  // Ranks records by text and/or vector; filters apply before ranking, so a filter that matches
  // m records returns min(n_results, m) hits (those with a vector or matching words).
  virtual Result<QueryResult> Query(const std::string& collection, const QueryRequest& request) = 0;

  // Writes the in-memory indexes to their cache files (also done when the store closes).
  virtual Status Flush() = 0;
  // Drops every trace of deleted records from the files: rebuilds indexes, merges the full-text
  // index, vacuums the database and truncates its log.
  virtual Status Compact() = 0;
  virtual Result<StoreStats> Stats() = 0;
};

// Opens the memory `config` selects, for every caller (CLI, agent runs, workers): PostgreSQL when
// the task store (`store` key or TANDEM_STORE) is a postgres:// URL, so that processes sharing
// tasks share memory too (docs/memory.md); else the SQLite store in MemoryDirectory(config).
// Errors as MemoryStore::Open or PostgresMemoryStore::Open; kInvalidArgument for a `store` that
// is not a string.
Result<std::unique_ptr<MemoryStore>> OpenMemoryStore(const Config& config,
                                                     const StoreOptions& options,
                                                     std::unique_ptr<llm::Embedder> embedder);

// Where OpenMemoryStore keeps memory: the PostgreSQL URL without its password, or the directory.
Result<std::string> MemoryLocation(const Config& config);

// Checks a `where` / `where_document` filter, returning kInvalidArgument naming the bad
// operator or path ("where.$and[1].year: unknown operator '$gtx'").
Status ValidateWhere(const nlohmann::json& where);
Status ValidateWhereDocument(const nlohmann::json& where_document);

}  // namespace tandem::memory
