// Thin RAII helpers over libpq, for the stores kept in PostgreSQL (tasks, memory). Statements are
// prepared once per connection and run with text-format parameters; errors carry the server's
// message, its SQLSTATE mapped to what the caller should do next, and the redacted URL.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::pg {

// True for a PostgreSQL connection URL ("postgres://..." or "postgresql://...").
bool IsPostgresUrl(std::string_view location);

// `url` without its password (user info or `password=` parameter), for messages and logs.
std::string RedactUrl(std::string_view url);

// Parameters of one statement in libpq's text format; nullopt is SQL NULL.
class Params {
 public:
  Params& Add(std::string_view text);
  Params& Add(int64_t value);
  Params& Add(double value);
  Params& Add(std::optional<double> value);
  Params& Add(bool value);
  Params& AddNull();
  // NULL for empty text (columns where '' means "none": parent ids, idempotency keys).
  Params& AddOrNull(std::string_view text);

  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// The rows of one statement. Text columns are copied out; numbers parsed from their text form
// (a malformed number reads as 0: the server, not the caller, produced it).
class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result, &PQclear) {}

  int size() const { return PQntuples(result_.get()); }
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t affected() const;
  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  double Double(int row, int column) const;
  bool Bool(int row, int column) const;
  bool IsNull(int row, int column) const;
  const PGresult* result() const { return result_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

// One connection. Not thread-safe (the store guards it with its mutex).
class Connection {
 public:
  // Connects to `url` ("postgres://user:password@host:port/db?param=value"). Fails with
  // kInvalidArgument for a malformed URL, kUnavailable when the server cannot be reached or
  // refuses the login; messages name the URL without its password.
  static Result<std::unique_ptr<Connection>> Open(std::string_view url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement, prepared on first use and reused after. SQLSTATE classes map to codes:
  // integrity constraint (23) kAlreadyExists, data exception (22) kInvalidArgument, connection
  // (08), resources (53), shutdown (57P), serialization and deadlock (40) kUnavailable.
  // A lost connection is re-established by the next call (the failed one is not retried: its
  // commit may have happened).
  Result<Rows> Run(std::string_view sql, const Params& params = {});
  // Like Run, without keeping a prepared statement: for SQL whose text varies from call to call
  // (compiled filters), which would otherwise pile up prepared statements on the connection.
  Result<Rows> RunOnce(std::string_view sql, const Params& params = {});
  // Runs SQL text without parameters (several statements allowed): DDL, BEGIN, COMMIT.
  Status Exec(std::string_view sql);
  // Exec that also returns the result (for its command tag).
  Result<Rows> ExecText(std::string_view sql);
  // Waits up to `timeout` for a NOTIFY on a channel this connection LISTENs to; true when one
  // or more arrived. Fails with kUnavailable when the connection is lost (LISTEN belongs to the
  // lost session: the caller opens a new connection).
  Result<bool> WaitForNotification(std::chrono::milliseconds timeout);

  const std::string& redacted_url() const { return redacted_url_; }

 private:
  Connection(PGconn* conn, std::string redacted_url, std::string password);
  Status EnsureConnected();
  Error ResultError(const PGresult* result, std::string_view what) const;
  Error ConnectionError(std::string_view what) const;
  Result<Rows> Finish(PGresult* result) const;

  PGconn* conn_;
  std::string redacted_url_;
  std::string password_;                                      // Scrubbed from messages.
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL -> statement name.
  int next_statement_ = 0;
};

// BEGIN ... COMMIT on a connection; rolls back in the destructor unless committed.
class Transaction {
 public:
  // `begin` may carry options, e.g. "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".
  static Result<Transaction> Begin(Connection& connection, std::string_view begin = "BEGIN");
  Transaction(Transaction&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;
};

}  // namespace tandem::pg
