#include "tandem/core/sqlite.h"

#include <sqlite3.h>

namespace tandem::sqlite {

Error LastError(sqlite3* db, std::string_view what) {
  int code = sqlite3_errcode(db);
  ErrorCode kind = ErrorCode::kInternal;
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) kind = ErrorCode::kUnavailable;
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) kind = ErrorCode::kDataLoss;
  if (code == SQLITE_CONSTRAINT) kind = ErrorCode::kAlreadyExists;
  if (code == SQLITE_CANTOPEN || code == SQLITE_READONLY || code == SQLITE_FULL) {
    kind = ErrorCode::kUnavailable;
  }
  return Error(kind, fmt::format("{}: {}", what, sqlite3_errmsg(db)));
}

Result<sqlite3*> Open(const std::filesystem::path& path, const OpenOptions& options) {
  sqlite3* db = nullptr;
  int flags =
      options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Error error = LastError(db, fmt::format("opening {}", path.string()));
    sqlite3_close(db);
    return std::unexpected(Error(ErrorCode::kUnavailable, error.message()));
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  // NORMAL in WAL mode: every commit survives a crash or kill -9 of the process (DESIGN.md
  // section 4); only a power loss may drop the last commits. FULL would fsync every step.
  std::string pragmas = "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
  if (!options.read_only) pragmas = "PRAGMA journal_mode = WAL; " + pragmas;
  if (Status status = Exec(db, pragmas); !status) {
    sqlite3_close(db);
    return std::unexpected(std::move(status.error()).WithContext(path.string()));
  }
  return db;
}

void Close(sqlite3* db) {
  sqlite3_close(db);
}

Status Exec(sqlite3* db, std::string_view sql) {
  std::string text(sql);
  if (sqlite3_exec(db, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return std::unexpected(LastError(db, "executing SQL"));
  }
  return {};
}

Result<Statement> Statement::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return std::unexpected(LastError(db, fmt::format("preparing '{}'", sql.substr(0, 60))));
  }
  return Statement(db, stmt);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    Release();
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    in_use_ = std::exchange(other.in_use_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  Release();
}

void Statement::Release() {
  if (in_use_ == nullptr) {
    sqlite3_finalize(stmt_);
    return;
  }
  Reset();
  *in_use_ = false;
}

StatementCache::~StatementCache() {
  for (auto& [sql, entry] : entries_)
    sqlite3_finalize(entry.stmt);
}

Result<Statement> StatementCache::Prepare(std::string_view sql) {
  auto it = entries_.find(sql);
  if (it == entries_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &stmt, nullptr) != SQLITE_OK) {
      return std::unexpected(LastError(db_, fmt::format("preparing '{}'", sql.substr(0, 60))));
    }
    it = entries_.emplace(std::string(sql), Entry{.stmt = stmt}).first;
  }
  if (it->second.in_use) return Statement::Prepare(db_, sql);
  it->second.in_use = true;
  return Statement(db_, it->second.stmt, &it->second.in_use);
}

Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::BindBlob(int index, const void* data, size_t size) {
  sqlite3_bind_blob(stmt_, index, data, static_cast<int>(size), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
Statement& Statement::Bind(int index, std::optional<double> value) {
  return value ? Bind(index, *value) : BindNull(index);
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(LastError(db_, "running statement"));
}

Status Statement::Run() {
  Result<bool> row = Step();
  if (!row) return std::unexpected(row.error());
  Reset();
  return {};
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}
int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}
double Statement::Double(int column) const {
  return sqlite3_column_double(stmt_, column);
}
bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
std::string Statement::Blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  if (data == nullptr) return {};
  return std::string(static_cast<const char*>(data),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

Result<Transaction> Transaction::Begin(sqlite3* db) {
  if (Status status = Exec(db, "BEGIN IMMEDIATE"); !status) return std::unexpected(status.error());
  return Transaction(db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::Commit() {
  Status status = Exec(db_, "COMMIT");
  if (status) db_ = nullptr;
  return status;
}

}  // namespace tandem::sqlite
