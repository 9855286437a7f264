#include "tandem/memory/postgres_memory_store.h"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <unordered_set>

#include "tandem/core/clock.h"
#include "tandem/core/pg_connection.h"
#include "tandem/core/pg_rows.h"
#include "tandem/memory/hybrid_query.h"
#include "tandem/memory/ranking.h"
#include "tandem/memory/record_vectors.h"

namespace tandem::memory {
namespace {

using nlohmann::json;
using pg::Done;
using pg::Params;
using pg::Rows;

// Migration i takes the memory schema from version i to i + 1. Never edit a released entry:
// append. The tables share the database with the task store, hence the memory_ prefix; ids and
// names use the "C" collation so that ordering matches SQLite's byte order.
constexpr std::array<std::string_view, 1> kMigrations = {R"sql(
CREATE TABLE memory_collections (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL UNIQUE,
  distance TEXT NOT NULL,
  hnsw_m INTEGER NOT NULL,
  ef_construction INTEGER NOT NULL,
  ef_search INTEGER NOT NULL,
  embedding_model TEXT NOT NULL DEFAULT '',
  dimension INTEGER NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 0,
  changes_since BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE memory_records (
  pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  collection_id BIGINT NOT NULL REFERENCES memory_collections(id) ON DELETE CASCADE,
  id TEXT COLLATE "C" NOT NULL,
  document TEXT NOT NULL,
  metadata TEXT NOT NULL,
  embedding BYTEA,
  document_tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', document)) STORED,
  UNIQUE (collection_id, id)
);
CREATE INDEX memory_records_tsv ON memory_records USING GIN (document_tsv);
CREATE TABLE memory_record_meta (
  record BIGINT NOT NULL REFERENCES memory_records(pk) ON DELETE CASCADE,
  key TEXT COLLATE "C" NOT NULL,
  type INTEGER NOT NULL,
  str_value TEXT COLLATE "C",
  num_value DOUBLE PRECISION
);
CREATE INDEX memory_record_meta_str ON memory_record_meta(key, type, str_value, record);
CREATE INDEX memory_record_meta_num ON memory_record_meta(key, type, num_value, record);
CREATE INDEX memory_record_meta_record ON memory_record_meta(record);
CREATE TABLE memory_changes (
  collection_id BIGINT NOT NULL REFERENCES memory_collections(id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  pk BIGINT NOT NULL,
  added BOOLEAN NOT NULL
);
CREATE INDEX memory_changes_by_version ON memory_changes(collection_id, version);
)sql"};

constexpr int64_t kMigrationLock = 0x6d656d6f7279;  // "memory"; the task store uses "tandem".
// The change log keeps the last kChangeLogVersions versions of each collection, pruned every
// kPruneEvery versions; a process whose index is older rebuilds it.
constexpr int64_t kChangeLogVersions = 1000;
constexpr int64_t kPruneEvery = 100;

constexpr std::string_view kCollectionColumns =
    "id, name, distance, hnsw_m, ef_construction, ef_search, embedding_model, dimension, version";

// A REPEATABLE READ snapshot, so a query's version, change log and records agree.
constexpr std::string_view kBeginSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

Result<CollectionRow> ReadCollection(const Rows& rows, int i) {
  CollectionRow row;
  row.id = rows.Int(i, 0);
  row.name = rows.Text(i, 1);
  std::optional<Distance> distance = ParseDistance(rows.Text(i, 2));
  if (!distance) {
    return MakeError(ErrorCode::kDataLoss, "collection '{}' has unknown distance '{}'", row.name,
                     rows.Text(i, 2));
  }
  row.options = {.distance = *distance,
                 .hnsw_m = static_cast<int>(rows.Int(i, 3)),
                 .ef_construction = static_cast<int>(rows.Int(i, 4)),
                 .ef_search = static_cast<int>(rows.Int(i, 5))};
  row.model = rows.Text(i, 6);
  row.dimension = static_cast<int>(rows.Int(i, 7));
  row.version = rows.Int(i, 8);
  if (Status valid = CheckStoredCollection(row); !valid) return std::unexpected(valid.error());
  return row;
}

// bytea in PostgreSQL's hex text form ("\x0a1b..."), for a text-format parameter.
std::string VectorHex(const std::vector<float>& vector) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + vector.size() * sizeof(float) * 2);
  const auto* bytes = reinterpret_cast<const unsigned char*>(vector.data());
  for (size_t i = 0; i < vector.size() * sizeof(float); ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads a vector of `dimension` floats (0: any) from bytea's hex text form.
Result<std::vector<float>> HexVector(std::string_view text, int dimension) {
  if (!text.starts_with("\\x") || text.size() % 2 != 0) {
    return MakeError(ErrorCode::kDataLoss, "a stored vector is not in bytea hex form");
  }
  size_t bytes = (text.size() - 2) / 2;
  if (bytes % sizeof(float) != 0 ||
      (dimension > 0 && bytes != static_cast<size_t>(dimension) * sizeof(float))) {
    return MakeError(ErrorCode::kDataLoss, "a stored vector has {} bytes, expected {}", bytes,
                     static_cast<size_t>(dimension) * sizeof(float));
  }
  std::vector<float> vector(bytes / sizeof(float));
  auto* out = reinterpret_cast<unsigned char*>(vector.data());
  for (size_t i = 0; i < bytes; ++i) {
    int high = HexDigit(text[2 + 2 * i]);
    int low = HexDigit(text[3 + 2 * i]);
    if (high < 0 || low < 0) {
      return MakeError(ErrorCode::kDataLoss, "a stored vector holds a non-hex digit");
    }
    out[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return vector;
}

// A bigint[] literal; integers need no quoting.
std::string KeyArray(std::span<const int64_t> keys) {
  return fmt::format("{{{}}}", fmt::join(keys, ","));
}

void AddParams(Params& params, const std::vector<SqlParam>& values) {
  for (const SqlParam& value : values) {
    std::visit([&](const auto& v) { params.Add(v); }, value);
  }
}

Result<SqlFilter> SelectionFilter(int64_t collection_id, const std::vector<std::string>& ids,
                                  const json& where, const json& where_document) {
  return CompileSelection(SqlDialect::kPostgres, collection_id, ids, where, where_document);
}

}  // namespace

int PostgresMemoryStore::SchemaVersion() {
  return static_cast<int>(kMigrations.size());
}

PostgresMemoryStore::PostgresMemoryStore(std::unique_ptr<pg::Connection> connection,
                                         const StoreOptions& options,
                                         std::unique_ptr<llm::Embedder> embedder)
    : options_(options), embedder_(std::move(embedder)), db_(std::move(connection)) {}

PostgresMemoryStore::~PostgresMemoryStore() = default;

Result<std::unique_ptr<PostgresMemoryStore>> PostgresMemoryStore::Open(
    std::string_view url, const StoreOptions& options, std::unique_ptr<llm::Embedder> embedder) {
  auto connection = pg::Connection::Open(url);
  if (!connection) {
    return std::unexpected(std::move(connection.error()).WithContext("opening memory"));
  }
  std::string redacted = (*connection)->redacted_url();
  std::unique_ptr<PostgresMemoryStore> store(
      new PostgresMemoryStore(std::move(*connection), options, std::move(embedder)));
  Status ready = options.read_only ? store->CheckSchema() : store->Migrate();
  if (!ready) {
    return std::unexpected(
        std::move(ready.error()).WithContext(fmt::format("memory {}", redacted)));
  }
  return store;
}

Status PostgresMemoryStore::Migrate() {
  std::lock_guard lock(mu_);
  auto tx = pg::Transaction::Begin(*db_);
  if (!tx) return std::unexpected(tx.error());
  // Processes opening a fresh database at once: the others wait, then see the first's tables.
  if (Status locked =
          Done(db_->Run("SELECT pg_advisory_xact_lock($1)", Params().Add(kMigrationLock)));
      !locked) {
    return locked;
  }
  if (Status created = db_->Exec(
          "CREATE TABLE IF NOT EXISTS memory_schema_migrations (version INTEGER PRIMARY KEY, "
          "applied_at_ms BIGINT NOT NULL)");
      !created) {
    return created;
  }
  auto version = db_->Run("SELECT coalesce(max(version), 0) FROM memory_schema_migrations");
  if (!version) return std::unexpected(version.error());
  int64_t current = version->Int(0, 0);
  if (current > SchemaVersion()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "memory schema version {} is newer than this Tandem supports ({}); upgrade "
                     "Tandem or use another database",
                     current, SchemaVersion());
  }
  int64_t now = ToUnixMillis(std::chrono::system_clock::now());
  for (int64_t v = current; v < SchemaVersion(); ++v) {
    Status applied = db_->Exec(kMigrations[static_cast<size_t>(v)]);
    if (applied) {
      applied = Done(
          db_->Run("INSERT INTO memory_schema_migrations (version, applied_at_ms) VALUES ($1, $2)",
                   Params().Add(v + 1).Add(now)));
    }
    if (!applied) {
      return std::unexpected(
          std::move(applied.error())
              .WithContext(fmt::format("memory migration to version {}", v + 1)));
    }
  }
  return tx->Commit();
}

Status PostgresMemoryStore::CheckSchema() {
  std::lock_guard lock(mu_);
  auto exists = db_->Run("SELECT to_regclass('memory_schema_migrations') IS NOT NULL");
  if (!exists) return std::unexpected(exists.error());
  if (!exists->Bool(0, 0)) {
    return MakeError(ErrorCode::kNotFound, "the database holds no memory yet");
  }
  auto version = db_->Run("SELECT coalesce(max(version), 0) FROM memory_schema_migrations");
  if (!version) return std::unexpected(version.error());
  if (version->Int(0, 0) != SchemaVersion()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "memory schema version {} differs from this Tandem's ({}); open it for "
                     "writing with a matching Tandem first",
                     version->Int(0, 0), SchemaVersion());
  }
  return {};
}

Status PostgresMemoryStore::CheckWritable() const {
  if (options_.read_only) {
    return MakeError(ErrorCode::kFailedPrecondition, "memory at {} is open read-only",
                     db_->redacted_url());
  }
  return {};
}

Result<std::optional<CollectionRow>> PostgresMemoryStore::FindCollection(const std::string& name,
                                                                         bool for_update) {
  auto rows = db_->Run(fmt::format("SELECT {} FROM memory_collections WHERE name = $1{}",
                                   kCollectionColumns, for_update ? " FOR UPDATE" : ""),
                       Params().Add(name));
  if (!rows) return std::unexpected(rows.error());
  if (rows->size() == 0) return std::optional<CollectionRow>();
  auto row = ReadCollection(*rows, 0);
  if (!row) return std::unexpected(row.error());
  return std::optional<CollectionRow>(std::move(*row));
}

Result<CollectionRow> PostgresMemoryStore::RequireCollection(const std::string& name,
                                                             bool for_update) {
  auto row = FindCollection(name, for_update);
  if (!row) return std::unexpected(row.error());
  if (!*row) return MakeError(ErrorCode::kNotFound, "no collection named '{}'", name);
  return std::move(**row);
}

Result<CollectionInfo> PostgresMemoryStore::Describe(const CollectionRow& row) {
  auto counts =
      db_->Run("SELECT count(*), count(embedding) FROM memory_records WHERE collection_id = $1",
               Params().Add(row.id));
  if (!counts) return std::unexpected(counts.error());
  return CollectionInfo{.id = row.id,
                        .name = row.name,
                        .options = row.options,
                        .embedding_model = row.model,
                        .dimension = row.dimension,
                        .count = counts->Int(0, 0),
                        .vector_count = counts->Int(0, 1)};
}

Result<CollectionInfo> PostgresMemoryStore::CreateCollection(const std::string& name,
                                                             const CollectionOptions& options) {
  std::lock_guard lock(mu_);
  if (Status writable = CheckWritable(); !writable) return std::unexpected(writable.error());
  if (Status valid = ValidateNewCollection(name, options); !valid) {
    return std::unexpected(valid.error());
  }
  auto inserted = db_->Run(
      fmt::format("INSERT INTO memory_collections (name, distance, hnsw_m, ef_construction, "
                  "ef_search) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING "
                  "RETURNING {}",
                  kCollectionColumns),
      Params()
          .Add(name)
          .Add(DistanceName(options.distance))
          .Add(int64_t{options.hnsw_m})
          .Add(int64_t{options.ef_construction})
          .Add(int64_t{options.ef_search}));
  if (!inserted) return std::unexpected(inserted.error());
  if (inserted->size() == 0) {
    return MakeError(ErrorCode::kAlreadyExists, "a collection named '{}' exists", name);
  }
  auto row = ReadCollection(*inserted, 0);
  if (!row) return std::unexpected(row.error());
  return Describe(*row);
}

Result<CollectionInfo> PostgresMemoryStore::GetOrCreateCollection(
    const std::string& name, const CollectionOptions& options) {
  // Another process may create it between our look and our insert: then look again.
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(mu_);
      auto found = FindCollection(name, /*for_update=*/false);
      if (!found) return std::unexpected(found.error());
      if (*found) {
        if ((*found)->options.distance != options.distance) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "collection '{}' uses distance {}, not {}; the distance is fixed when "
                           "a collection is created",
                           name, DistanceName((*found)->options.distance),
                           DistanceName(options.distance));
        }
        return Describe(**found);
      }
    }
    auto created = CreateCollection(name, options);
    if (created || created.error().code() != ErrorCode::kAlreadyExists) return created;
  }
  return MakeError(ErrorCode::kUnavailable,
                   "collection '{}' was created and deleted by another process meanwhile", name);
}

Result<CollectionInfo> PostgresMemoryStore::GetCollection(const std::string& name) {
  std::lock_guard lock(mu_);
  auto row = RequireCollection(name);
  if (!row) return std::unexpected(row.error());
  return Describe(*row);
}

Result<std::vector<CollectionInfo>> PostgresMemoryStore::ListCollections() {
  std::lock_guard lock(mu_);
  auto rows = db_->Run(fmt::format(
      "SELECT {}, (SELECT count(*) FROM memory_records r WHERE r.collection_id = c.id), "
      "(SELECT count(embedding) FROM memory_records r WHERE r.collection_id = c.id) "
      "FROM memory_collections c ORDER BY name",
      kCollectionColumns));
  if (!rows) return std::unexpected(rows.error());
  std::vector<CollectionInfo> out;
  for (int i = 0; i < rows->size(); ++i) {
    auto row = ReadCollection(*rows, i);
    if (!row) return std::unexpected(row.error());
    out.push_back({.id = row->id,
                   .name = row->name,
                   .options = row->options,
                   .embedding_model = row->model,
                   .dimension = row->dimension,
                   .count = rows->Int(i, 9),
                   .vector_count = rows->Int(i, 10)});
  }
  return out;
}

Status PostgresMemoryStore::DeleteCollection(const std::string& name) {
  std::lock_guard lock(mu_);
  if (Status writable = CheckWritable(); !writable) return writable;
  auto deleted =
      db_->Run("DELETE FROM memory_collections WHERE name = $1 RETURNING id", Params().Add(name));
  if (!deleted) return std::unexpected(deleted.error());
  if (deleted->size() == 0)
    return MakeError(ErrorCode::kNotFound, "no collection named '{}'", name);
  indexes_.erase(deleted->Int(0, 0));
  return {};
}

Status PostgresMemoryStore::Add(const std::string& collection, const std::vector<Record>& records) {
  std::lock_guard lock(mu_);
  return Write(collection, records, /*upsert=*/false);
}

Status PostgresMemoryStore::Upsert(const std::string& collection,
                                   const std::vector<Record>& records) {
  std::lock_guard lock(mu_);
  return Write(collection, records, /*upsert=*/true);
}

Status PostgresMemoryStore::Write(const std::string& collection, const std::vector<Record>& records,
                                  bool upsert) {
  if (Status writable = CheckWritable(); !writable) return writable;
  if (Status valid = ValidateRecords(records); !valid) return valid;
  auto row = RequireCollection(collection);
  if (!row) return std::unexpected(row.error());
  if (records.empty()) return {};
  // Embedding happens before the transaction, so a slow embedder holds no lock.
  std::string model;
  int dimension = 0;
  auto vectors = RecordVectors(embedder_.get(), *row, records, model, dimension);
  if (!vectors) return std::unexpected(vectors.error());
  auto tx = pg::Transaction::Begin(*db_);
  if (!tx) return std::unexpected(tx.error());
  // The row lock serialises this collection's writers across processes.
  auto locked = RequireCollection(collection, /*for_update=*/true);
  if (!locked) return std::unexpected(locked.error());
  if (locked->id != row->id || locked->model != row->model || locked->dimension != row->dimension) {
    // Another process recreated the collection or stored its first vectors meanwhile: check
    // (and embed) against what it holds now.
    vectors = RecordVectors(embedder_.get(), *locked, records, model, dimension);
    if (!vectors) return std::unexpected(vectors.error());
  }
  std::vector<int64_t> removed;
  std::vector<int64_t> added;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& record = records[i];
    if (upsert) {
      auto old = db_->Run(
          "DELETE FROM memory_records WHERE collection_id = $1 AND id = $2 "
          "RETURNING pk, embedding IS NOT NULL",
          Params().Add(locked->id).Add(record.id));
      if (!old) return std::unexpected(old.error());
      if (old->size() > 0 && old->Bool(0, 1)) removed.push_back(old->Int(0, 0));
    } else {
      auto existing = db_->Run("SELECT 1 FROM memory_records WHERE collection_id = $1 AND id = $2",
                               Params().Add(locked->id).Add(record.id));
      if (!existing) return std::unexpected(existing.error());
      if (existing->size() > 0) {
        return MakeError(ErrorCode::kAlreadyExists, "id '{}' already exists in collection '{}'",
                         record.id, collection);
      }
    }
    auto pk = InsertRecord(locked->id, record, (*vectors)[i]);
    if (!pk)
      return std::unexpected(
          std::move(pk.error()).WithContext(fmt::format("record '{}'", record.id)));
    if (!(*vectors)[i].empty()) added.push_back(*pk);
  }
  if (Status logged = CommitChange(*locked, removed, added, model, dimension); !logged) {
    return logged;
  }
  return tx->Commit();
}

Result<int64_t> PostgresMemoryStore::InsertRecord(int64_t collection_id, const Record& record,
                                                  const std::vector<float>& vector) {
  // One round trip per record: the record, and its metadata rows typed as filter.h expects.
  static const std::string kInsert = fmt::format(
      "WITH r AS (INSERT INTO memory_records (collection_id, id, document, metadata, embedding) "
      "VALUES ($1, $2, $3, $4, $5::bytea) RETURNING pk), "
      "m AS (INSERT INTO memory_record_meta (record, key, type, str_value, num_value) "
      "SELECT r.pk, e.key, "
      "CASE jsonb_typeof(e.value) WHEN 'string' THEN {0} WHEN 'number' THEN {1} ELSE {2} END, "
      "CASE jsonb_typeof(e.value) WHEN 'string' THEN e.value #>> '{{}}' END, "
      "CASE jsonb_typeof(e.value) WHEN 'number' THEN (e.value #>> '{{}}')::double precision "
      "WHEN 'boolean' THEN CASE WHEN e.value = 'true'::jsonb THEN 1.0 ELSE 0.0 END END "
      "FROM r, jsonb_each($4::jsonb) e) "
      "SELECT pk FROM r",
      kMetaString, kMetaNumber, kMetaBool);
  Params params;
  params.Add(collection_id)
      .Add(record.id)
      .Add(record.document)
      .Add(record.metadata.is_object() ? record.metadata.dump() : "{}");
  if (vector.empty()) {
    params.AddNull();
  } else {
    params.Add(VectorHex(vector));
  }
  auto rows = db_->Run(kInsert, params);
  if (!rows) return std::unexpected(rows.error());
  return rows->Int(0, 0);
}

Status PostgresMemoryStore::CommitChange(const CollectionRow& locked,
                                         const std::vector<int64_t>& removed,
                                         const std::vector<int64_t>& added,
                                         const std::string& model, int dimension) {
  int64_t version = locked.version + 1;
  constexpr std::string_view kLog =
      "INSERT INTO memory_changes (collection_id, version, pk, added) "
      "SELECT $1, $2, unnest($3::bigint[]), $4";
  if (!removed.empty()) {
    if (Status logged = Done(
            db_->Run(kLog, Params().Add(locked.id).Add(version).Add(KeyArray(removed)).Add(false)));
        !logged) {
      return logged;
    }
  }
  if (!added.empty()) {
    if (Status logged = Done(
            db_->Run(kLog, Params().Add(locked.id).Add(version).Add(KeyArray(added)).Add(true)));
        !logged) {
      return logged;
    }
  }
  if (Status bumped = Done(db_->Run(
          "UPDATE memory_collections SET version = $2, embedding_model = $3, dimension = $4 "
          "WHERE id = $1",
          Params().Add(locked.id).Add(version).Add(model).Add(int64_t{dimension})));
      !bumped) {
    return bumped;
  }
  if (version % kPruneEvery != 0 || version <= kChangeLogVersions) return {};
  int64_t since = version - kChangeLogVersions;
  if (Status pruned =
          Done(db_->Run("DELETE FROM memory_changes WHERE collection_id = $1 AND version <= $2",
                        Params().Add(locked.id).Add(since)));
      !pruned) {
    return pruned;
  }
  return Done(db_->Run("UPDATE memory_collections SET changes_since = $2 WHERE id = $1",
                       Params().Add(locked.id).Add(since)));
}

Result<std::vector<Hit>> PostgresMemoryStore::Get(const std::string& collection,
                                                  const GetRequest& request) {
  std::lock_guard lock(mu_);
  auto tx = pg::Transaction::Begin(*db_, kBeginSnapshot);
  if (!tx) return std::unexpected(tx.error());
  auto row = RequireCollection(collection);
  if (!row) return std::unexpected(row.error());
  auto clause = SelectionFilter(row->id, request.selection.ids, request.selection.where,
                                request.selection.where_document);
  if (!clause) return std::unexpected(clause.error());
  size_t next = clause->params.size() + 1;
  Params params;
  AddParams(params, clause->params);
  if (request.limit == 0) {
    params.AddNull();  // LIMIT NULL: no limit.
  } else {
    params.Add(static_cast<int64_t>(request.limit));
  }
  params.Add(static_cast<int64_t>(request.offset));
  auto rows = db_->RunOnce(fmt::format("SELECT r.pk FROM memory_records r WHERE {} "
                                       "ORDER BY r.pk LIMIT ${} OFFSET ${}",
                                       clause->clause, next, next + 1),
                           params);
  if (!rows) return std::unexpected(rows.error());
  std::vector<int64_t> pks;
  for (int i = 0; i < rows->size(); ++i)
    pks.push_back(rows->Int(i, 0));
  auto hits = LoadHits(pks, request.include);
  if (!hits) return hits;
  if (Status committed = tx->Commit(); !committed) return std::unexpected(committed.error());
  return hits;
}

Result<std::vector<Hit>> PostgresMemoryStore::LoadHits(std::span<const int64_t> pks,
                                                       const Include& include) {
  std::vector<Hit> out;
  if (pks.empty()) return out;
  // Only the columns asked for: vectors and long documents are the bulk of the bytes.
  auto rows = db_->Run(
      fmt::format("SELECT pk, id, {}, {}, {} FROM memory_records "
                  "WHERE pk = ANY($1::bigint[])",
                  include.documents ? "document" : "''", include.metadatas ? "metadata" : "''",
                  include.embeddings ? "embedding" : "NULL::bytea"),
      Params().Add(KeyArray(pks)));
  if (!rows) return std::unexpected(rows.error());
  std::unordered_map<int64_t, Hit> by_pk;
  for (int i = 0; i < rows->size(); ++i) {
    Hit hit;
    hit.id = rows->Text(i, 1);
    if (include.documents) hit.document = rows->Text(i, 2);
    if (include.metadatas) {
      hit.metadata = json::parse(rows->Text(i, 3), nullptr, false);
      if (hit.metadata.is_discarded()) {
        return MakeError(ErrorCode::kDataLoss, "record '{}' has unreadable metadata", hit.id);
      }
    }
    if (include.embeddings && !rows->IsNull(i, 4)) {
      auto vector = HexVector(rows->Text(i, 4), 0);
      if (!vector) return std::unexpected(vector.error());
      hit.embedding = std::move(*vector);
    }
    by_pk.emplace(rows->Int(i, 0), std::move(hit));
  }
  for (int64_t pk : pks) {
    auto found = by_pk.find(pk);
    if (found == by_pk.end()) return MakeError(ErrorCode::kInternal, "record {} vanished", pk);
    out.push_back(std::move(found->second));
  }
  return out;
}

Result<int64_t> PostgresMemoryStore::Delete(const std::string& collection,
                                            const Selection& selection) {
  std::lock_guard lock(mu_);
  if (Status writable = CheckWritable(); !writable) return std::unexpected(writable.error());
  if (selection.ids.empty() && selection.where.is_null() && selection.where_document.is_null()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "delete needs ids or a filter (delete the collection to remove everything)");
  }
  auto tx = pg::Transaction::Begin(*db_);
  if (!tx) return std::unexpected(tx.error());
  auto locked = RequireCollection(collection, /*for_update=*/true);
  if (!locked) return std::unexpected(locked.error());
  auto clause =
      SelectionFilter(locked->id, selection.ids, selection.where, selection.where_document);
  if (!clause) return std::unexpected(clause.error());
  Params params;
  AddParams(params, clause->params);
  auto rows = db_->RunOnce(
      fmt::format("DELETE FROM memory_records r WHERE {} RETURNING r.pk, r.embedding IS NOT NULL",
                  clause->clause),
      params);
  if (!rows) return std::unexpected(rows.error());
  if (rows->size() == 0) return int64_t{0};
  std::vector<int64_t> removed;
  for (int i = 0; i < rows->size(); ++i) {
    if (rows->Bool(i, 1)) removed.push_back(rows->Int(i, 0));
  }
  if (Status logged = CommitChange(*locked, removed, {}, locked->model, locked->dimension);
      !logged) {
    return std::unexpected(logged.error());
  }
  if (Status committed = tx->Commit(); !committed) return std::unexpected(committed.error());
  return static_cast<int64_t>(rows->size());
}

Result<QueryResult> PostgresMemoryStore::Query(const std::string& collection,
                                               const QueryRequest& request) {
  std::lock_guard lock(mu_);
  if (request.text.empty() && request.vector.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "a query needs text or a vector");
  }
  auto tx = pg::Transaction::Begin(*db_, kBeginSnapshot);
  if (!tx) return std::unexpected(tx.error());
  auto row = RequireCollection(collection);
  if (!row) return std::unexpected(row.error());
  auto filter = SelectionFilter(row->id, {}, request.where, request.where_document);
  if (!filter) return std::unexpected(filter.error());
  if (request.n_results == 0) return QueryResult();
  auto plan = PlanQuery(embedder_.get(), *row, request, options_.fusion_candidates);
  if (!plan) return std::unexpected(plan.error());
  // Ids come from the index's map when the record has a vector; PostgreSQL answers the rest.
  auto ranked = RunHybridQuery(
      *plan, request,
      {.search_vectors =
           [&] { return VectorSearch(*row, plan->vector, plan->k, *filter, plan->filtered); },
       .search_text = [&] { return FullTextSearch(request.text, plan->k, *filter); },
       .load = [&](std::span<const int64_t> keys,
                   const Include& include) { return LoadHits(keys, include); },
       .known_ids = CurrentIds(indexes_, *row)});
  if (!ranked) return ranked;
  if (Status committed = tx->Commit(); !committed) return std::unexpected(committed.error());
  return ranked;
}

Result<std::vector<Candidate>> PostgresMemoryStore::VectorSearch(const CollectionRow& row,
                                                                 const std::vector<float>& query,
                                                                 size_t k, const SqlFilter& filter,
                                                                 bool filtered) {
  auto filter_matches = [&]() -> Result<std::unordered_set<int64_t>> {
    Params params;
    AddParams(params, filter.params);
    auto rows = db_->RunOnce(
        fmt::format("SELECT r.pk FROM memory_records r WHERE r.embedding IS NOT NULL AND {}",
                    filter.clause),
        params);
    if (!rows) return std::unexpected(rows.error());
    std::unordered_set<int64_t> matches;
    for (int i = 0; i < rows->size(); ++i)
      matches.insert(rows->Int(i, 0));
    return matches;
  };
  return SearchVectors(row, query, k, filtered, options_.exact_search_max,
                       {.filter_matches = filter_matches,
                        .index = [&] { return EnsureIndex(row); },
                        .exact = [&] { return ExactSearch(row, query, k, filter); }});
}

Result<std::vector<Candidate>> PostgresMemoryStore::ExactSearch(const CollectionRow& row,
                                                                const std::vector<float>& query,
                                                                size_t k, const SqlFilter& filter) {
  VectorSpace space(row.options.distance, row.dimension);
  Params params;
  AddParams(params, filter.params);
  auto rows = db_->RunOnce(
      fmt::format(
          "SELECT r.pk, r.embedding FROM memory_records r WHERE r.embedding IS NOT NULL AND {}",
          filter.clause),
      params);
  if (!rows) return std::unexpected(rows.error());
  NearestK best(k);
  for (int i = 0; i < rows->size(); ++i) {
    auto vector = HexVector(rows->Text(i, 1), row.dimension);
    if (!vector) return std::unexpected(std::move(vector.error()).WithContext(row.name));
    space.Prepare(*vector);
    best.Offer({.pk = rows->Int(i, 0), .distance = space.Compare(query.data(), vector->data())});
  }
  return best.Take();
}

Result<std::vector<std::pair<int64_t, double>>> PostgresMemoryStore::FullTextSearch(
    const std::string& text, size_t k, const SqlFilter& filter) {
  std::vector<std::pair<int64_t, double>> out;
  std::string query = TsQueryText(text);
  if (query.empty()) return out;
  size_t next = filter.params.size() + 1;
  Params params;
  AddParams(params, filter.params);
  params.Add(query).Add(static_cast<int64_t>(k));
  // ts_rank counts how often and how close the words occur; unlike bm25 it does not weigh a
  // word by its rarity across the collection (docs/memory.md).
  auto rows = db_->RunOnce(
      fmt::format("SELECT r.pk, ts_rank(r.document_tsv, q) AS rank FROM memory_records r, "
                  "to_tsquery('simple', ${}) q WHERE r.document_tsv @@ q AND {} "
                  "ORDER BY rank DESC, r.pk LIMIT ${}",
                  next, filter.clause, next + 1),
      params);
  if (!rows) return std::unexpected(rows.error());
  for (int i = 0; i < rows->size(); ++i)
    out.emplace_back(rows->Int(i, 0), rows->Double(i, 1));
  return out;
}

Result<VectorIndex*> PostgresMemoryStore::EnsureIndex(const CollectionRow& row) {
  if (row.dimension == 0) return nullptr;
  auto found = indexes_.find(row.id);
  if (found != indexes_.end() && found->second.version == row.version) {
    return found->second.index.get();
  }
  if (found != indexes_.end() && found->second.version < row.version) {
    auto refreshed = Refresh(row, found->second);
    if (!refreshed) return std::unexpected(refreshed.error());
    if (*refreshed && !TooManyTombstones(*found->second.index, options_.tombstone_fraction,
                                         options_.tombstone_min)) {
      return found->second.index.get();
    }
  }
  ForgetDeletedCollections();
  auto built = BuildIndex(row);
  if (!built) return std::unexpected(std::move(built.error()).WithContext("building index"));
  CachedIndex& cached = indexes_[row.id] = std::move(*built);
  return cached.index.get();
}

Result<bool> PostgresMemoryStore::Refresh(const CollectionRow& row, CachedIndex& cached) {
  auto since =
      db_->Run("SELECT changes_since FROM memory_collections WHERE id = $1", Params().Add(row.id));
  if (!since) return std::unexpected(since.error());
  if (since->size() == 0 || cached.version < since->Int(0, 0)) return false;
  auto changes = db_->Run(
      "SELECT pk, added FROM memory_changes WHERE collection_id = $1 AND version > $2 AND "
      "version <= $3",
      Params().Add(row.id).Add(cached.version).Add(row.version));
  if (!changes) return std::unexpected(changes.error());
  // Keys are never reused, so order does not matter: a key both added and removed in the window
  // never reached this index.
  std::unordered_set<int64_t> added;
  std::vector<int64_t> removed;
  for (int i = 0; i < changes->size(); ++i) {
    if (changes->Bool(i, 1)) added.insert(changes->Int(i, 0));
  }
  for (int i = 0; i < changes->size(); ++i) {
    if (!changes->Bool(i, 1) && added.erase(changes->Int(i, 0)) == 0) {
      removed.push_back(changes->Int(i, 0));
    }
  }
  std::vector<AddedVector> vectors;
  if (!added.empty()) {
    std::vector<int64_t> keys(added.begin(), added.end());
    auto rows = db_->Run(
        "SELECT pk, id, embedding FROM memory_records WHERE pk = ANY($1::bigint[]) AND "
        "embedding IS NOT NULL ORDER BY pk",
        Params().Add(KeyArray(keys)));
    if (!rows) return std::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i) {
      auto vector = HexVector(rows->Text(i, 2), row.dimension);
      if (!vector) return std::unexpected(std::move(vector.error()).WithContext(row.name));
      vectors.push_back({.pk = rows->Int(i, 0), .id = rows->Text(i, 1), .vector = *vector});
    }
  }
  if (Status applied = ApplyIndexChanges(cached, removed, vectors); !applied) return false;
  cached.version = row.version;
  return true;
}

Result<CachedIndex> PostgresMemoryStore::BuildIndex(const CollectionRow& row) {
  auto rows = db_->Run(
      "SELECT pk, id, embedding FROM memory_records WHERE collection_id = $1 AND embedding IS "
      "NOT NULL ORDER BY pk",
      Params().Add(row.id));
  if (!rows) return std::unexpected(rows.error());
  VectorRows vectors;
  vectors.data.reserve(static_cast<size_t>(rows->size()) * static_cast<size_t>(row.dimension));
  for (int i = 0; i < rows->size(); ++i) {
    auto vector = HexVector(rows->Text(i, 2), row.dimension);
    if (!vector) return std::unexpected(std::move(vector.error()).WithContext(row.name));
    vectors.labels.push_back(rows->Int(i, 0));
    vectors.ids.push_back(rows->Text(i, 1));
    vectors.data.insert(vectors.data.end(), vector->begin(), vector->end());
  }
  auto built = BuildCachedIndex(row, std::move(vectors));
  if (built) ++index_rebuilds_;
  return built;
}

void PostgresMemoryStore::ForgetDeletedCollections() {
  // Another process may have deleted collections this one still holds indexes of.
  if (indexes_.empty()) return;
  std::vector<int64_t> ids;
  for (const auto& [id, cached] : indexes_)
    ids.push_back(id);
  auto live = db_->Run("SELECT id FROM memory_collections WHERE id = ANY($1::bigint[])",
                       Params().Add(KeyArray(ids)));
  if (!live) return;  // Only memory is at stake; the next build tries again.
  std::unordered_set<int64_t> kept;
  for (int i = 0; i < live->size(); ++i)
    kept.insert(live->Int(i, 0));
  std::erase_if(indexes_, [&](const auto& entry) { return kept.count(entry.first) == 0; });
}

Status PostgresMemoryStore::Flush() {
  return {};
}

Status PostgresMemoryStore::Compact() {
  std::lock_guard lock(mu_);
  if (Status writable = CheckWritable(); !writable) return writable;
  {
    auto tx = pg::Transaction::Begin(*db_);
    if (!tx) return std::unexpected(tx.error());
    // Locks every collection row, so no writer logs a change between the two statements.
    if (Status marked = db_->Exec("UPDATE memory_collections SET changes_since = version");
        !marked) {
      return marked;
    }
    if (Status emptied = db_->Exec("DELETE FROM memory_changes"); !emptied) return emptied;
    if (Status committed = tx->Commit(); !committed) return committed;
  }
  if (Status vacuumed =
          db_->Exec("VACUUM (ANALYZE) memory_records, memory_record_meta, memory_changes, "
                    "memory_collections");
      !vacuumed) {
    return vacuumed;
  }
  indexes_.clear();
  auto tx = pg::Transaction::Begin(*db_, kBeginSnapshot);
  if (!tx) return std::unexpected(tx.error());
  auto rows = db_->Run(fmt::format("SELECT {} FROM memory_collections", kCollectionColumns));
  if (!rows) return std::unexpected(rows.error());
  for (int i = 0; i < rows->size(); ++i) {
    auto row = ReadCollection(*rows, i);
    if (!row) return std::unexpected(row.error());
    if (auto index = EnsureIndex(*row); !index) return std::unexpected(index.error());
  }
  return tx->Commit();
}

Result<StoreStats> PostgresMemoryStore::Stats() {
  auto collections = ListCollections();
  if (!collections) return std::unexpected(collections.error());
  std::lock_guard lock(mu_);
  StoreStats stats;
  stats.location = db_->redacted_url();
  stats.has_embedder = embedder_ != nullptr;
  if (embedder_) stats.embedder_model = embedder_->model_name();
  stats.collections = std::move(*collections);
  auto size = db_->Run(
      "SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY['memory_collections', "
      "'memory_records', 'memory_record_meta', 'memory_changes']::regclass[]) t");
  if (!size) return std::unexpected(size.error());
  stats.disk_bytes = static_cast<uint64_t>(size->Int(0, 0));
  stats.index_rebuilds = index_rebuilds_;
  for (const auto& [id, cached] : indexes_)
    stats.index_tombstones += static_cast<int64_t>(cached.index->deleted());
  return stats;
}

}  // namespace tandem::memory
