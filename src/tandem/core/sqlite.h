// Thin RAII helpers over the SQLite C API, shared by the modules that keep SQLite files
// (store, memory). Errors carry SQLite's message and the statement's purpose.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "tandem/core/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tandem::sqlite {

struct OpenOptions {
  bool read_only = false;
  int busy_timeout_ms = 5000;  // How long a writer waits for another writer's lock.
};

// Opens `path` in WAL mode with foreign keys on and synchronous=NORMAL (each commit survives a
// process crash; see sqlite.cpp).
// The returned handle is owned by the caller (close with Close()).
Result<sqlite3*> Open(const std::filesystem::path& path, const OpenOptions& options = {});
void Close(sqlite3* db);

// Runs SQL without results (may hold several statements).
Status Exec(sqlite3* db, std::string_view sql);

// An error of kind `code` with the connection's last message.
Error LastError(sqlite3* db, std::string_view what);

// A prepared statement. Bind indexes are 1-based. Not thread-safe (like its connection).
class Statement {
 public:
  static Result<Statement> Prepare(sqlite3* db, std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& BindBlob(int index, const void* data, size_t size);
  Statement& BindNull(int index);
  Statement& Bind(int index, std::optional<double> value);

  // Advances: true when a row is available, false when done.
  Result<bool> Step();
  // Runs to completion, for statements without rows.
  Status Run();
  void Reset();

  std::string Text(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;
  bool IsNull(int column) const;
  std::string Blob(int column) const;

 private:
  friend class StatementCache;
  // `in_use` set: the statement is borrowed from a cache, which owns it; destruction resets it
  // and clears the flag instead of finalizing.
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use = nullptr)
      : db_(db), stmt_(stmt), in_use_(in_use) {}
  void Release();
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  bool* in_use_ = nullptr;
};

// Statements prepared once per connection and reused: preparing costs more than running most
// of the short statements a store runs on every step. Not thread-safe (like its connection).
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  // Finalizes every statement: destroy before closing the connection.
  ~StatementCache();

  // A reset statement for `sql`, lent until the returned Statement is destroyed. If the cached
  // one is still lent (a nested use), a fresh statement is prepared instead.
  Result<Statement> Prepare(std::string_view sql);

 private:
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  sqlite3* db_;
  std::map<std::string, Entry, std::less<>> entries_;  // Nodes are stable: Statements point in.
};

// BEGIN IMMEDIATE ... COMMIT; rolls back in the destructor unless committed.
class Transaction {
 public:
  static Result<Transaction> Begin(sqlite3* db);
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace tandem::sqlite
