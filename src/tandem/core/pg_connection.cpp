#include "tandem/core/pg_connection.h"

#include <fmt/format.h>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace tandem::pg {
namespace {

// libpq's messages end in newlines and indent hints with tabs; one line reads better in errors.
std::string OneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::string Scrub(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

ErrorCode CodeForSqlState(std::string_view state) {
  if (state.starts_with("23")) return ErrorCode::kAlreadyExists;
  if (state.starts_with("22")) return ErrorCode::kInvalidArgument;
  if (state.starts_with("08") || state.starts_with("53") || state.starts_with("57P") ||
      state.starts_with("40")) {
    return ErrorCode::kUnavailable;
  }
  return ErrorCode::kInternal;
}

// The password libpq would use from `url`, or "" (also for a URL it cannot parse).
std::string PasswordOf(std::string_view url) {
  std::string text(url);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(text.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  std::string password;
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr) password = o->val;
  }
  PQconninfoFree(options);
  return password;
}

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

}  // namespace

bool IsPostgresUrl(std::string_view location) {
  return location.starts_with("postgres://") || location.starts_with("postgresql://");
}

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t authority = scheme + 3;
    size_t end = out.find_first_of("/?", authority);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end - 1);
    if (at != std::string::npos && at >= authority) {
      size_t colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    }
  }
  // password=... among the query parameters.
  for (size_t at = out.find("password="); at != std::string::npos;
       at = out.find("password=", at + 1)) {
    if (at > 0 && out[at - 1] != '?' && out[at - 1] != '&') continue;
    size_t value = at + 9;
    size_t end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

Params& Params::Add(std::string_view text) {
  values_.emplace_back(std::string(text));
  return *this;
}
Params& Params::Add(int64_t value) {
  values_.emplace_back(fmt::format("{}", value));
  return *this;
}
Params& Params::Add(double value) {
  values_.emplace_back(fmt::format("{}", value));  // Shortest text that reads back exactly.
  return *this;
}
Params& Params::Add(std::optional<double> value) {
  return value ? Add(*value) : AddNull();
}
Params& Params::Add(bool value) {
  values_.emplace_back(value ? "true" : "false");
  return *this;
}
Params& Params::AddNull() {
  values_.emplace_back(std::nullopt);
  return *this;
}
Params& Params::AddOrNull(std::string_view text) {
  return text.empty() ? AddNull() : Add(text);
}

int64_t Rows::affected() const {
  const char* text = PQcmdTuples(result_.get());
  int64_t n = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), n);
  return n;
}

std::string Rows::Text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t Rows::Int(int row, int column) const {
  const char* text = PQgetvalue(result_.get(), row, column);
  int64_t value = 0;
  std::from_chars(text, text + PQgetlength(result_.get(), row, column), value);
  return value;
}

double Rows::Double(int row, int column) const {
  const char* text = PQgetvalue(result_.get(), row, column);
  double value = 0;
  std::from_chars(text, text + PQgetlength(result_.get(), row, column), value);
  return value;
}

bool Rows::Bool(int row, int column) const {
  return PQgetlength(result_.get(), row, column) > 0 &&
         PQgetvalue(result_.get(), row, column)[0] == 't';
}

bool Rows::IsNull(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

Connection::Connection(PGconn* conn, std::string redacted_url, std::string password)
    : conn_(conn), redacted_url_(std::move(redacted_url)), password_(std::move(password)) {
  PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
}

Connection::~Connection() {
  PQfinish(conn_);
}

Result<std::unique_ptr<Connection>> Connection::Open(std::string_view url) {
  std::string redacted = RedactUrl(url);
  std::string password = PasswordOf(url);
  std::string text(url);
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(text.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string why = parse_error != nullptr ? OneLine(parse_error) : "out of memory";
    if (parse_error != nullptr) PQfreemem(parse_error);
    return MakeError(ErrorCode::kInvalidArgument, "bad PostgreSQL URL {}: {}", redacted,
                     Scrub(why, password));
  }
  PQconninfoFree(parsed);
  // Defaults first: the URL's own parameters, expanded from dbname, override them.
  const char* keywords[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                            nullptr};
  const char* values[] = {"10", "tandem", "UTF8", text.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return MakeError(ErrorCode::kUnavailable, "PostgreSQL {}: out of memory", redacted);
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = Scrub(OneLine(PQerrorMessage(conn)), password);
    PQfinish(conn);
    return MakeError(ErrorCode::kUnavailable, "cannot connect to PostgreSQL {}: {}", redacted, why);
  }
  return std::unique_ptr<Connection>(new Connection(conn, std::move(redacted), password));
}

Error Connection::ConnectionError(std::string_view what) const {
  return Error(ErrorCode::kUnavailable,
               fmt::format("PostgreSQL {}: {}: {}", redacted_url_, what,
                           Scrub(OneLine(PQerrorMessage(conn_)), password_)));
}

Error Connection::ResultError(const PGresult* result, std::string_view what) const {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr || PQstatus(conn_) == CONNECTION_BAD) return ConnectionError(what);
  std::string message = Scrub(OneLine(PQresultErrorMessage(result)), password_);
  return Error(CodeForSqlState(state), fmt::format("{} (SQLSTATE {})", message, state));
}

Status Connection::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return {};
  PQreset(conn_);
  prepared_.clear();  // Prepared statements belong to the lost session.
  if (PQstatus(conn_) != CONNECTION_OK) return std::unexpected(ConnectionError("reconnecting"));
  return {};
}

namespace {

// Text parameters travel as C strings: a NUL byte would silently cut the value short.
Result<std::vector<const char*>> ParamValues(const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.values().size());
  for (const std::optional<std::string>& value : params.values()) {
    if (value && value->find('\0') != std::string::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "parameter {} holds a NUL byte, which PostgreSQL text cannot store",
                       values.size() + 1);
    }
    values.push_back(value ? value->c_str() : nullptr);
  }
  return values;
}

}  // namespace

Result<Rows> Connection::Finish(PGresult* result) const {
  Rows rows(result);
  ExecStatusType status = PQresultStatus(rows.result());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(ResultError(rows.result(), "running a statement"));
  }
  return rows;
}

Result<Rows> Connection::Run(std::string_view sql, const Params& params) {
  if (Status connected = EnsureConnected(); !connected) {
    return std::unexpected(connected.error());
  }
  auto values = ParamValues(params);
  if (!values) return std::unexpected(values.error());
  auto found = prepared_.find(sql);
  if (found == prepared_.end()) {
    std::string name = fmt::format("tandem_{}", next_statement_++);
    std::string text(sql);
    Rows prepared(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
    if (PQresultStatus(prepared.result()) != PGRES_COMMAND_OK) {
      return std::unexpected(ResultError(prepared.result(), "preparing a statement"));
    }
    found = prepared_.emplace(std::move(text), std::move(name)).first;
  }
  return Finish(PQexecPrepared(conn_, found->second.c_str(), static_cast<int>(values->size()),
                               values->data(), nullptr, nullptr, 0));
}

Result<Rows> Connection::RunOnce(std::string_view sql, const Params& params) {
  if (Status connected = EnsureConnected(); !connected) {
    return std::unexpected(connected.error());
  }
  auto values = ParamValues(params);
  if (!values) return std::unexpected(values.error());
  std::string text(sql);
  return Finish(PQexecParams(conn_, text.c_str(), static_cast<int>(values->size()), nullptr,
                             values->data(), nullptr, nullptr, 0));
}

Result<Rows> Connection::ExecText(std::string_view sql) {
  if (Status connected = EnsureConnected(); !connected) {
    return std::unexpected(connected.error());
  }
  std::string text(sql);
  Rows rows(PQexec(conn_, text.c_str()));
  ExecStatusType status = PQresultStatus(rows.result());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(ResultError(rows.result(), "running SQL"));
  }
  return rows;
}

Status Connection::Exec(std::string_view sql) {
  Result<Rows> rows = ExecText(sql);
  if (!rows) return std::unexpected(rows.error());
  return {};
}

Result<Transaction> Transaction::Begin(Connection& connection, std::string_view begin) {
  if (Status begun = connection.Exec(begin); !begun) return std::unexpected(begun.error());
  return Transaction(&connection);
}

Transaction::~Transaction() {
  if (connection_ != nullptr) (void)connection_->Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Connection* connection = std::exchange(connection_, nullptr);
  Result<Rows> rows = connection->ExecText("COMMIT");
  if (!rows) return std::unexpected(rows.error());
  // COMMIT of a transaction that already failed answers "ROLLBACK", not an error.
  if (std::string_view(PQcmdStatus(const_cast<PGresult*>(rows->result()))) != "COMMIT") {
    return MakeError(ErrorCode::kUnavailable, "PostgreSQL {}: transaction rolled back",
                     connection->redacted_url());
  }
  return {};
}

Result<bool> Connection::WaitForNotification(std::chrono::milliseconds timeout) {
  auto drain = [this] {
    bool any = false;
    while (PGnotify* notification = PQnotifies(conn_)) {
      any = true;
      PQfreemem(notification);
    }
    return any;
  };
  if (drain()) return true;  // Arrived with an earlier result.
  pollfd socket{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
  if (socket.fd < 0) return std::unexpected(ConnectionError("waiting for notifications"));
  int ready = poll(&socket, 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) {
    return MakeError(ErrorCode::kUnavailable, "waiting for notifications: {}",
                     std::strerror(errno));
  }
  if (ready > 0 && (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK)) {
    return std::unexpected(ConnectionError("waiting for notifications"));
  }
  return drain();
}

}  // namespace tandem::pg
