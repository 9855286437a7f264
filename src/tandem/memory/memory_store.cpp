#include "tandem/memory/memory_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <queue>
#include <set>
#include <thread>
#include <unordered_set>

#include "tandem/core/log.h"
#include "tandem/core/sqlite.h"
#include "tandem/memory/hybrid_query.h"
#include "tandem/memory/record_vectors.h"
#include "tandem/memory/row_codec.h"

namespace tandem::memory {
namespace {

using nlohmann::json;
using sqlite::Statement;

constexpr std::string_view kDatabaseFile = "memory.db";
constexpr std::string_view kSchemaVersion = "1";

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta_info(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  distance TEXT NOT NULL,
  hnsw_m INTEGER NOT NULL,
  ef_construction INTEGER NOT NULL,
  ef_search INTEGER NOT NULL,
  embedding_model TEXT NOT NULL DEFAULT '',
  dimension INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS records(
  pk INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  document TEXT NOT NULL,
  metadata TEXT NOT NULL,
  embedding BLOB,
  UNIQUE(collection_id, id));
CREATE TABLE IF NOT EXISTS record_meta(
  record INTEGER NOT NULL REFERENCES records(pk) ON DELETE CASCADE,
  key TEXT NOT NULL,
  type INTEGER NOT NULL,
  str_value TEXT,
  num_value REAL);
CREATE INDEX IF NOT EXISTS record_meta_str ON record_meta(key, type, str_value, record);
CREATE INDEX IF NOT EXISTS record_meta_num ON record_meta(key, type, num_value, record);
CREATE INDEX IF NOT EXISTS record_meta_record ON record_meta(record);
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(
  document, content='records', content_rowid='pk', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS records_fts_insert AFTER INSERT ON records BEGIN
  INSERT INTO records_fts(rowid, document) VALUES (new.pk, new.document);
END;
CREATE TRIGGER IF NOT EXISTS records_fts_delete AFTER DELETE ON records BEGIN
  INSERT INTO records_fts(records_fts, rowid, document) VALUES ('delete', old.pk, old.document);
END;
)sql";

// BEGIN ... COMMIT for a consistent snapshot across several reads (readers may run beside a
// writer in another process). The statements are the store's cached ones: preparing them on
// every query cost more than the reads they bracket.
class ReadSnapshot {
 public:
  ReadSnapshot(Result<Statement> begin, Result<Statement> commit) {
    if (begin && commit && begin->Run()) commit_ = std::move(*commit);
  }
  ~ReadSnapshot() {
    if (commit_) (void)commit_->Run();
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  std::optional<Statement> commit_;  // Set once BEGIN has run.
};

Result<SqlFilter> SelectionClause(int64_t collection_id, const std::vector<std::string>& ids,
                                  const json& where, const json& where_document) {
  return CompileSelection(SqlDialect::kSqlite, collection_id, ids, where, where_document);
}

Status InsertMetadata(sqlite3* db, int64_t pk, const json& metadata) {
  if (!metadata.is_object()) return {};
  auto insert = Statement::Prepare(
      db, "INSERT INTO record_meta(record, key, type, str_value, num_value) VALUES (?,?,?,?,?)");
  if (!insert) return std::unexpected(insert.error());
  for (const auto& [key, value] : metadata.items()) {
    insert->Bind(1, pk).Bind(2, key);
    if (value.is_string()) {
      insert->Bind(3, int64_t{kMetaString}).Bind(4, value.get<std::string>()).BindNull(5);
    } else if (value.is_boolean()) {
      insert->Bind(3, int64_t{kMetaBool}).BindNull(4).Bind(5, value.get<bool>() ? 1.0 : 0.0);
    } else {
      insert->Bind(3, int64_t{kMetaNumber}).BindNull(4).Bind(5, value.get<double>());
    }
    if (Status run = insert->Run(); !run) return run;
  }
  return {};
}

}  // namespace

std::string_view DistanceName(Distance distance) {
  switch (distance) {
    case Distance::kL2:
      return "l2";
    case Distance::kCosine:
      return "cosine";
    case Distance::kInnerProduct:
      return "ip";
  }
  return "cosine";
}

std::optional<Distance> ParseDistance(std::string_view name) {
  if (name == "l2") return Distance::kL2;
  if (name == "cosine") return Distance::kCosine;
  if (name == "ip") return Distance::kInnerProduct;
  return std::nullopt;
}

Result<std::unique_ptr<MemoryStore>> MemoryStore::Open(const std::filesystem::path& directory,
                                                       const StoreOptions& options,
                                                       std::unique_ptr<llm::Embedder> embedder) {
  auto store = MemoryStoreImpl::Open(directory, options, std::move(embedder));
  if (!store) return std::unexpected(store.error());
  return std::unique_ptr<MemoryStore>(std::move(*store));
}

MemoryStoreImpl::MemoryStoreImpl(std::filesystem::path directory, const StoreOptions& options,
                                 std::unique_ptr<llm::Embedder> embedder, sqlite3* db,
                                 std::optional<WriteLock> lock)
    : directory_(std::move(directory)),
      options_(options),
      embedder_(std::move(embedder)),
      db_(db),
      statements_(std::make_unique<sqlite::StatementCache>(db)),
      lock_(std::move(lock)) {}

Result<std::unique_ptr<MemoryStoreImpl>> MemoryStoreImpl::Open(
    const std::filesystem::path& directory, const StoreOptions& options,
    std::unique_ptr<llm::Embedder> embedder) {
  std::filesystem::path db_path = directory / kDatabaseFile;
  std::error_code ec;
  std::optional<WriteLock> lock;
  if (options.read_only) {
    if (!std::filesystem::exists(db_path, ec)) {
      return MakeError(ErrorCode::kNotFound, "no memory store at {}", directory.string());
    }
  } else {
    std::filesystem::create_directories(directory, ec);
    if (ec) {
      return MakeError(ErrorCode::kUnavailable, "creating {}: {}", directory.string(),
                       ec.message());
    }
    auto acquired = WriteLock::Acquire(directory / "LOCK");
    if (!acquired) return std::unexpected(acquired.error());
    lock.emplace(std::move(*acquired));
  }
  auto db = sqlite::Open(db_path, {.read_only = options.read_only});
  if (!db) return std::unexpected(std::move(db.error()).WithContext("opening memory"));
  std::unique_ptr<MemoryStoreImpl> store(
      new MemoryStoreImpl(directory, options, std::move(embedder), *db, std::move(lock)));
  // Vectors make rows large; mapping the file spares a copy per page read on the query path.
  if (Status s = sqlite::Exec(*db, "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -32768");
      !s) {
    return std::unexpected(s.error());
  }
  if (!options.durable_commits) {
    if (Status s = sqlite::Exec(*db, "PRAGMA synchronous = NORMAL"); !s)
      return std::unexpected(s.error());
  }
  if (!options.read_only) {
    // secure_delete zeroes freed content; journal_size_limit keeps the WAL from staying large.
    std::string setup = fmt::format(
        "PRAGMA secure_delete = ON; PRAGMA journal_size_limit = 4194304; {} "
        "INSERT OR IGNORE INTO meta_info(key, value) VALUES ('schema', '{}');",
        kSchema, kSchemaVersion);
    if (Status s = sqlite::Exec(*db, setup); !s) {
      return std::unexpected(std::move(s.error()).WithContext("creating the memory schema"));
    }
    // Leftovers of an index save cut short.
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
      if (entry.path().extension() == ".tmp") std::filesystem::remove(entry.path(), ec);
    }
  }
  auto schema = Statement::Prepare(*db, "SELECT value FROM meta_info WHERE key = 'schema'");
  if (!schema) {
    return MakeError(ErrorCode::kDataLoss, "{} is not a memory database: {}", db_path.string(),
                     schema.error().message());
  }
  auto row = schema->Step();
  if (!row || !*row || schema->Text(0) != kSchemaVersion) {
    return MakeError(ErrorCode::kFailedPrecondition, "{} has an unsupported schema",
                     db_path.string());
  }
  return store;
}

MemoryStoreImpl::~MemoryStoreImpl() {
  statements_.reset();  // Finalized before the connection closes.
  if (lock_) {
    if (Status flushed = FlushLocked(); !flushed) {
      spdlog::warn("memory: saving indexes on close failed: {}", flushed.error().message());
    }
  }
  indexes_.clear();
  sqlite::Close(db_);
}

std::filesystem::path MemoryStoreImpl::IndexPath(int64_t collection_id) const {
  return directory_ / fmt::format("collection-{}.hnsw", collection_id);
}

Status MemoryStoreImpl::CheckWritable() const {
  if (!lock_) {
    return MakeError(ErrorCode::kFailedPrecondition, "memory at {} is open read-only",
                     directory_.string());
  }
  return {};
}

Result<std::optional<CollectionRow>> MemoryStoreImpl::FindCollection(const std::string& name) {
  Result<Statement> select = statements_->Prepare(
      "SELECT id, name, distance, hnsw_m, ef_construction, ef_search, embedding_model, dimension, "
      "version FROM collections WHERE name = ?");
  if (!select) return std::unexpected(select.error());
  select->Bind(1, name);
  auto row = select->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<CollectionRow>();
  CollectionRow out;
  out.id = select->Int(0);
  out.name = select->Text(1);
  std::optional<Distance> distance = ParseDistance(select->Text(2));
  if (!distance) {
    return MakeError(ErrorCode::kDataLoss, "collection '{}' has unknown distance '{}'", name,
                     select->Text(2));
  }
  out.options = {.distance = *distance,
                 .hnsw_m = static_cast<int>(select->Int(3)),
                 .ef_construction = static_cast<int>(select->Int(4)),
                 .ef_search = static_cast<int>(select->Int(5))};
  out.model = select->Text(6);
  out.dimension = static_cast<int>(select->Int(7));
  out.version = select->Int(8);
  if (Status valid = CheckStoredCollection(out); !valid) return std::unexpected(valid.error());
  return std::optional<CollectionRow>(std::move(out));
}

Result<CollectionRow> MemoryStoreImpl::RequireCollection(const std::string& name) {
  auto row = FindCollection(name);
  if (!row) return std::unexpected(row.error());
  if (!*row) return MakeError(ErrorCode::kNotFound, "no collection named '{}'", name);
  return std::move(**row);
}

Result<CollectionInfo> MemoryStoreImpl::Describe(const CollectionRow& row) {
  auto count = Statement::Prepare(
      db_, "SELECT count(*), count(embedding) FROM records WHERE collection_id = ?");
  if (!count) return std::unexpected(count.error());
  count->Bind(1, row.id);
  if (auto step = count->Step(); !step) return std::unexpected(step.error());
  return CollectionInfo{.id = row.id,
                        .name = row.name,
                        .options = row.options,
                        .embedding_model = row.model,
                        .dimension = row.dimension,
                        .count = count->Int(0),
                        .vector_count = count->Int(1)};
}

Result<CollectionRow> MemoryStoreImpl::InsertCollection(const std::string& name,
                                                        const CollectionOptions& options) {
  if (Status valid = ValidateNewCollection(name, options); !valid) {
    return std::unexpected(valid.error());
  }
  auto insert = Statement::Prepare(
      db_,
      "INSERT INTO collections(name, distance, hnsw_m, ef_construction, ef_search) "
      "VALUES (?,?,?,?,?)");
  if (!insert) return std::unexpected(insert.error());
  insert->Bind(1, name)
      .Bind(2, DistanceName(options.distance))
      .Bind(3, int64_t{options.hnsw_m})
      .Bind(4, int64_t{options.ef_construction})
      .Bind(5, int64_t{options.ef_search});
  if (Status run = insert->Run(); !run) {
    if (run.error().code() == ErrorCode::kAlreadyExists) {
      return MakeError(ErrorCode::kAlreadyExists, "a collection named '{}' exists", name);
    }
    return std::unexpected(run.error());
  }
  return RequireCollection(name);
}

Result<CollectionInfo> MemoryStoreImpl::CreateCollection(const std::string& name,
                                                         const CollectionOptions& options) {
  std::lock_guard lock(mu_);
  if (Status writable = CheckWritable(); !writable) return std::unexpected(writable.error());
  auto row = InsertCollection(name, options);
  if (!row) return std::unexpected(row.error());
  return Describe(*row);
}

Result<CollectionInfo> MemoryStoreImpl::GetOrCreateCollection(const std::string& name,
                                                              const CollectionOptions& options) {
  std::lock_guard lock(mu_);
  auto found = FindCollection(name);
  if (!found) return std::unexpected(found.error());
  if (*found) {
    if ((*found)->options.distance != options.distance) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "collection '{}' uses distance {}, not {}; the distance is fixed when a "
                       "collection is created",
                       name, DistanceName((*found)->options.distance),
                       DistanceName(options.distance));
    }
    return Describe(**found);
  }
  if (Status writable = CheckWritable(); !writable) return std::unexpected(writable.error());
  auto row = InsertCollection(name, options);
  if (!row) return std::unexpected(row.error());
  return Describe(*row);
}

Result<CollectionInfo> MemoryStoreImpl::GetCollection(const std::string& name) {
  std::lock_guard lock(mu_);
  auto row = RequireCollection(name);
  if (!row) return std::unexpected(row.error());
  return Describe(*row);
}

Result<std::vector<CollectionInfo>> MemoryStoreImpl::ListCollections() {
  std::lock_guard lock(mu_);
  return ListCollectionsLocked();
}

Result<std::vector<CollectionInfo>> MemoryStoreImpl::ListCollectionsLocked() {
  ReadSnapshot snapshot(statements_->Prepare("BEGIN"), statements_->Prepare("COMMIT"));
  auto names = Statement::Prepare(db_, "SELECT name FROM collections ORDER BY name");
  if (!names) return std::unexpected(names.error());
  std::vector<std::string> all;
  while (true) {
    auto row = names->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    all.push_back(names->Text(0));
  }
  std::vector<CollectionInfo> out;
  for (const std::string& name : all) {
    auto row = RequireCollection(name);
    if (!row) return std::unexpected(row.error());
    auto info = Describe(*row);
    if (!info) return std::unexpected(info.error());
    out.push_back(std::move(*info));
  }
  return out;
}

Status MemoryStoreImpl::DeleteCollection(const std::string& name) {
  std::lock_guard lock(mu_);
  if (Status writable = CheckWritable(); !writable) return writable;
  auto row = RequireCollection(name);
  if (!row) return std::unexpected(row.error());
  auto tx = sqlite::Transaction::Begin(db_);
  if (!tx) return std::unexpected(tx.error());
  auto remove = Statement::Prepare(db_, "DELETE FROM collections WHERE id = ?");
  if (!remove) return std::unexpected(remove.error());
  remove->Bind(1, row->id);
  if (Status run = remove->Run(); !run) return run;
  if (Status commit = tx->Commit(); !commit) return commit;
  indexes_.erase(row->id);
  std::error_code ec;
  std::filesystem::remove(IndexPath(row->id), ec);
  std::filesystem::remove(IndexPath(row->id).string() + ".meta", ec);
  return {};
}

Status MemoryStoreImpl::Add(const std::string& collection, const std::vector<Record>& records) {
  std::lock_guard lock(mu_);
  return Write(collection, records, /*upsert=*/false);
}

Status MemoryStoreImpl::Upsert(const std::string& collection, const std::vector<Record>& records) {
  std::lock_guard lock(mu_);
  return Write(collection, records, /*upsert=*/true);
}

Status MemoryStoreImpl::Write(const std::string& collection, const std::vector<Record>& records,
                              bool upsert) {
  if (Status writable = CheckWritable(); !writable) return writable;
  if (Status valid = ValidateRecords(records); !valid) return valid;
  auto row = RequireCollection(collection);
  if (!row) return std::unexpected(row.error());
  if (records.empty()) return {};
  std::string model;
  int dimension = 0;
  auto vectors = RecordVectors(embedder_.get(), *row, records, model, dimension);
  if (!vectors) return std::unexpected(vectors.error());
  if (row->dimension > 0) {
    // Load (or rebuild) before changing, so the index can follow the change incrementally.
    if (auto index = EnsureIndex(*row); !index) return std::unexpected(index.error());
  }
  auto tx = sqlite::Transaction::Begin(db_);
  if (!tx) return std::unexpected(tx.error());
  auto find = Statement::Prepare(
      db_, "SELECT pk, embedding IS NOT NULL FROM records WHERE collection_id = ? AND id = ?");
  auto remove = Statement::Prepare(db_, "DELETE FROM records WHERE pk = ?");
  auto insert = Statement::Prepare(
      db_,
      "INSERT INTO records(collection_id, id, document, metadata, embedding) VALUES (?,?,?,?,?)");
  if (!find || !remove || !insert) {
    return std::unexpected(!find ? find.error() : !remove ? remove.error() : insert.error());
  }
  std::vector<int64_t> removed;
  std::vector<AddedVector> added;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& record = records[i];
    find->Bind(1, row->id).Bind(2, record.id);
    auto existing = find->Step();
    if (!existing) return std::unexpected(existing.error());
    if (*existing) {
      int64_t old_pk = find->Int(0);
      bool had_vector = find->Int(1) != 0;
      find->Reset();
      if (!upsert) {
        return MakeError(ErrorCode::kAlreadyExists, "id '{}' already exists in collection '{}'",
                         record.id, collection);
      }
      remove->Bind(1, old_pk);
      if (Status run = remove->Run(); !run) return run;
      if (had_vector) removed.push_back(old_pk);
    } else {
      find->Reset();
    }
    std::string metadata = record.metadata.is_object() ? record.metadata.dump() : "{}";
    insert->Bind(1, row->id).Bind(2, record.id).Bind(3, record.document).Bind(4, metadata);
    std::string blob;
    if ((*vectors)[i].empty()) {
      insert->BindNull(5);
    } else {
      blob = VectorBlob((*vectors)[i]);
      insert->BindBlob(5, blob.data(), blob.size());
    }
    if (Status run = insert->Run(); !run) return run;
    int64_t pk = sqlite3_last_insert_rowid(db_);
    if (Status meta = InsertMetadata(db_, pk, record.metadata); !meta) return meta;
    if (!(*vectors)[i].empty()) {
      added.push_back({.pk = pk, .id = record.id, .vector = std::move((*vectors)[i])});
    }
  }
  auto bump = Statement::Prepare(
      db_,
      "UPDATE collections SET version = version + 1, embedding_model = ?, dimension = ? "
      "WHERE id = ?");
  if (!bump) return std::unexpected(bump.error());
  bump->Bind(1, model).Bind(2, int64_t{dimension}).Bind(3, row->id);
  if (Status run = bump->Run(); !run) return run;
  if (Status commit = tx->Commit(); !commit) return commit;
  ApplyToIndex(*row, row->version + 1, dimension, removed, added);
  if (!removed.empty()) {
    deletes_since_optimize_ += static_cast<int64_t>(removed.size());
    return MaybeOptimizeFullText();
  }
  return {};
}

Result<std::vector<Hit>> MemoryStoreImpl::Get(const std::string& collection,
                                              const GetRequest& request) {
  std::lock_guard lock(mu_);
  ReadSnapshot snapshot(statements_->Prepare("BEGIN"), statements_->Prepare("COMMIT"));
  auto row = RequireCollection(collection);
  if (!row) return std::unexpected(row.error());
  auto clause = SelectionClause(row->id, request.selection.ids, request.selection.where,
                                request.selection.where_document);
  if (!clause) return std::unexpected(clause.error());
  auto select = Statement::Prepare(
      db_, fmt::format("SELECT r.pk FROM records r WHERE {} ORDER BY r.pk LIMIT ? OFFSET ?",
                       clause->clause));
  if (!select) return std::unexpected(select.error());
  BindParams(*select, 1, clause->params);
  int next = static_cast<int>(clause->params.size()) + 1;
  select->Bind(next, request.limit == 0 ? int64_t{-1} : static_cast<int64_t>(request.limit));
  select->Bind(next + 1, static_cast<int64_t>(request.offset));
  std::vector<int64_t> pks;
  while (true) {
    auto step = select->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    pks.push_back(select->Int(0));
  }
  return LoadHits(pks, request.include);
}

Result<int64_t> MemoryStoreImpl::Delete(const std::string& collection, const Selection& selection) {
  std::lock_guard lock(mu_);
  if (Status writable = CheckWritable(); !writable) return std::unexpected(writable.error());
  if (selection.ids.empty() && selection.where.is_null() && selection.where_document.is_null()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "delete needs ids or a filter (delete the collection to remove everything)");
  }
  auto row = RequireCollection(collection);
  if (!row) return std::unexpected(row.error());
  auto clause = SelectionClause(row->id, selection.ids, selection.where, selection.where_document);
  if (!clause) return std::unexpected(clause.error());
  if (row->dimension > 0) {
    if (auto index = EnsureIndex(*row); !index) return std::unexpected(index.error());
  }
  auto tx = sqlite::Transaction::Begin(db_);
  if (!tx) return std::unexpected(tx.error());
  auto select = Statement::Prepare(
      db_,
      fmt::format("SELECT r.pk, r.embedding IS NOT NULL FROM records r WHERE {}", clause->clause));
  if (!select) return std::unexpected(select.error());
  BindParams(*select, 1, clause->params);
  std::vector<int64_t> pks;
  std::vector<int64_t> removed;
  while (true) {
    auto step = select->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    pks.push_back(select->Int(0));
    if (select->Int(1) != 0) removed.push_back(select->Int(0));
  }
  if (pks.empty()) return int64_t{0};
  auto remove = Statement::Prepare(db_, "DELETE FROM records WHERE pk = ?");
  if (!remove) return std::unexpected(remove.error());
  for (int64_t pk : pks) {
    remove->Bind(1, pk);
    if (Status run = remove->Run(); !run) return std::unexpected(run.error());
  }
  auto bump = Statement::Prepare(db_, "UPDATE collections SET version = version + 1 WHERE id = ?");
  if (!bump) return std::unexpected(bump.error());
  bump->Bind(1, row->id);
  if (Status run = bump->Run(); !run) return std::unexpected(run.error());
  if (Status commit = tx->Commit(); !commit) return std::unexpected(commit.error());
  ApplyToIndex(*row, row->version + 1, row->dimension, removed, {});
  deletes_since_optimize_ += static_cast<int64_t>(pks.size());
  if (Status optimized = MaybeOptimizeFullText(); !optimized) {
    return std::unexpected(optimized.error());
  }
  return static_cast<int64_t>(pks.size());
}

Status MemoryStoreImpl::MaybeOptimizeFullText() {
  // FTS5 keeps a deleted document's terms (and delete markers) in its segments until they are
  // merged; a full merge once deletes outnumber the live records bounds the index's size.
  auto count = Statement::Prepare(db_, "SELECT count(*) FROM records");
  if (!count) return std::unexpected(count.error());
  if (auto step = count->Step(); !step) return std::unexpected(step.error());
  if (deletes_since_optimize_ < std::max<int64_t>(1000, count->Int(0))) return {};
  deletes_since_optimize_ = 0;
  return sqlite::Exec(db_, "INSERT INTO records_fts(records_fts) VALUES ('optimize')");
}

Result<std::vector<Hit>> MemoryStoreImpl::LoadHits(std::span<const int64_t> pks,
                                                   const Include& include) {
  std::vector<Hit> hits;
  for (int64_t pk : pks) {
    auto hit = LoadHit(pk, include);
    if (!hit) return std::unexpected(hit.error());
    hits.push_back(std::move(*hit));
  }
  return hits;
}

Result<Hit> MemoryStoreImpl::LoadHit(int64_t pk, const Include& include) {
  // Only the columns asked for: stepping a statement reads every column it selects, and a
  // vector (or a long document) lives in overflow pages that a bare id lookup never touches.
  std::string sql = "SELECT id";
  int document = 0, metadata = 0, embedding = 0, next = 1;
  if (include.documents) {
    sql += ", document";
    document = next++;
  }
  if (include.metadatas) {
    sql += ", metadata";
    metadata = next++;
  }
  if (include.embeddings) {
    sql += ", embedding";
    embedding = next++;
  }
  sql += " FROM records WHERE pk = ?";
  Result<Statement> select = statements_->Prepare(sql);
  if (!select) return std::unexpected(select.error());
  select->Bind(1, pk);
  auto step = select->Step();
  if (!step) return std::unexpected(step.error());
  if (!*step) return MakeError(ErrorCode::kInternal, "record {} vanished", pk);
  Hit hit;
  hit.id = select->Text(0);
  if (include.documents) hit.document = select->Text(document);
  if (include.metadatas) {
    hit.metadata = json::parse(select->Text(metadata), nullptr, false);
    if (hit.metadata.is_discarded()) {
      return MakeError(ErrorCode::kDataLoss, "record '{}' has unreadable metadata", hit.id);
    }
  }
  if (include.embeddings && !select->IsNull(embedding)) {
    std::string blob = select->Blob(embedding);
    hit.embedding.resize(blob.size() / sizeof(float));
    std::memcpy(hit.embedding.data(), blob.data(), hit.embedding.size() * sizeof(float));
  }
  return hit;
}

Result<QueryResult> MemoryStoreImpl::Query(const std::string& collection,
                                           const QueryRequest& request) {
  std::lock_guard lock(mu_);
  if (request.text.empty() && request.vector.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "a query needs text or a vector");
  }
  ReadSnapshot snapshot(statements_->Prepare("BEGIN"), statements_->Prepare("COMMIT"));
  auto row = RequireCollection(collection);
  if (!row) return std::unexpected(row.error());
  auto filter = SelectionClause(row->id, {}, request.where, request.where_document);
  if (!filter) return std::unexpected(filter.error());
  if (request.n_results == 0) return QueryResult();
  auto plan = PlanQuery(embedder_.get(), *row, request, options_.fusion_candidates);
  if (!plan) return std::unexpected(plan.error());
  // Ids come from the loaded index's map when it is current; SQLite answers the rest (full-text
  // hits without a vector, exact-search hits when no index is loaded, and any other column).
  return RunHybridQuery(
      *plan, request,
      {.search_vectors =
           [&] { return VectorSearch(*row, plan->vector, plan->k, *filter, plan->filtered); },
       .search_text = [&] { return FullTextSearch(*row, request.text, plan->k, *filter); },
       .load = [&](std::span<const int64_t> keys,
                   const Include& include) { return LoadHits(keys, include); },
       .known_ids = CurrentIds(indexes_, *row)});
}

Status MemoryStoreImpl::SaveIndex(int64_t collection_id, CachedIndex& loaded) {
  if (Status saved = loaded.index->Save(IndexPath(collection_id), loaded.version); !saved) {
    return saved;
  }
  loaded.saved_version = loaded.version;
  return {};
}

Status MemoryStoreImpl::Flush() {
  std::lock_guard lock(mu_);
  return FlushLocked();
}

Status MemoryStoreImpl::FlushLocked() {
  if (!lock_) return {};
  for (auto& [id, loaded] : indexes_) {
    if (loaded.saved_version == loaded.version) continue;
    if (Status saved = SaveIndex(id, loaded); !saved) return saved;
  }
  return {};
}

Status MemoryStoreImpl::Compact() {
  std::lock_guard lock(mu_);
  if (Status writable = CheckWritable(); !writable) return writable;
  auto names = Statement::Prepare(db_, "SELECT name FROM collections");
  if (!names) return std::unexpected(names.error());
  std::vector<std::string> all;
  while (true) {
    auto step = names->Step();
    if (!step) return std::unexpected(step.error());
    if (!*step) break;
    all.push_back(names->Text(0));
  }
  std::set<std::filesystem::path> keep;
  for (const std::string& name : all) {
    auto row = RequireCollection(name);
    if (!row) return std::unexpected(row.error());
    if (row->dimension == 0) continue;
    auto built = BuildIndex(*row);
    if (!built) return std::unexpected(built.error());
    CachedIndex& loaded = indexes_[row->id] = std::move(*built);
    if (Status saved = SaveIndex(row->id, loaded); !saved) return saved;
    keep.insert(IndexPath(row->id));
    keep.insert(IndexPath(row->id).string() + ".meta");
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
    std::string file = entry.path().filename().string();
    if (file.starts_with("collection-") && keep.count(entry.path()) == 0) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
  deletes_since_optimize_ = 0;
  return sqlite::Exec(db_,
                      "INSERT INTO records_fts(records_fts) VALUES ('optimize');"
                      "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);");
}

Result<StoreStats> MemoryStoreImpl::Stats() {
  std::lock_guard lock(mu_);
  StoreStats stats;
  stats.location = directory_.string();
  stats.has_embedder = embedder_ != nullptr;
  if (embedder_) stats.embedder_model = embedder_->model_name();
  auto collections = ListCollectionsLocked();
  if (!collections) return std::unexpected(collections.error());
  stats.collections = std::move(*collections);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
    if (entry.is_regular_file(ec)) stats.disk_bytes += entry.file_size(ec);
  }
  stats.index_rebuilds = index_rebuilds_;
  for (const auto& [id, loaded] : indexes_)
    stats.index_tombstones += static_cast<int64_t>(loaded.index->deleted());
  return stats;
}

}  // namespace tandem::memory
