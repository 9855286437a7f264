#include "tandem/tools/sql_query.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>

#include "tandem/tools/basic_tool.h"
#include "tandem/tools/text_util.h"

namespace tandem::tools {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxCellBytes = 200;

struct Watch {
  Clock::time_point deadline;
  const CancellationToken* cancel = nullptr;
  bool timed_out = false;
};

int OnProgress(void* user) {
  auto* watch = static_cast<Watch*>(user);
  if (watch->cancel && watch->cancel->IsCancelled()) return 1;
  if (Clock::now() > watch->deadline) {
    watch->timed_out = true;
    return 1;
  }
  return 0;
}

int Authorize(void*, int action, const char*, const char*, const char*, const char*) {
  return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
}

std::string Cell(sqlite3_stmt* statement, int column) {
  switch (sqlite3_column_type(statement, column)) {
    case SQLITE_NULL:
      return "NULL";
    case SQLITE_BLOB:
      return fmt::format("<blob {} bytes>", sqlite3_column_bytes(statement, column));
    default: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
      std::string value(text ? text : "",
                        static_cast<size_t>(sqlite3_column_bytes(statement, column)));
      for (char& c : value) {
        if (c == '\n' || c == '\r' || c == '|') c = ' ';
      }
      if (value.size() > kMaxCellBytes) value = value.substr(0, kMaxCellBytes) + "...";
      return ToValidUtf8(value);
    }
  }
}

bool OnlyWhitespaceOrSemicolons(const char* tail) {
  for (; tail && *tail; ++tail) {
    if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';') return false;
  }
  return true;
}

class SqlQueryTool : public BasicTool {
 public:
  explicit SqlQueryTool(SqlToolOptions options)
      : BasicTool("sql_query",
                  "Run one SQL statement on a configured SQLite database and return the rows as "
                  "a table. Databases are read-only unless configured writable.",
                  MakeSchema(options), StrongestEffect(options)),
        options_(std::move(options)) {}

  EffectClass EffectOf(const json& args) const override {
    const SqlDatabase* database = Find(args.value("database", std::string()));
    return database && database->writable ? EffectClass::kExternal : EffectClass::kRead;
  }

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    std::string name = args["database"].get<std::string>();
    const SqlDatabase* database = Find(name);
    if (!database) {
      std::string known;
      for (const SqlDatabase& d : options_.databases)
        known += known.empty() ? d.name : ", " + d.name;
      return MakeError(ErrorCode::kNotFound,
                       "argument 'database': no database '{}' (configured: {})", name,
                       known.empty() ? "none; add [tools.sql.databases]" : known);
    }
    sqlite3* raw = nullptr;
    int flags =
        (database->writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(database->path.c_str(), &raw, flags, nullptr);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
    if (rc != SQLITE_OK) {
      return MakeError(ErrorCode::kUnavailable, "opening database '{}': {}", name,
                       raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    }
    if (!database->writable)
      sqlite3_exec(db.get(), "PRAGMA query_only = 1", nullptr, nullptr, nullptr);
    sqlite3_set_authorizer(db.get(), Authorize, nullptr);
    Watch watch;
    watch.deadline =
        Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(
                           std::min(options_.timeout_s, context.limits.timeout_s) * 1000));
    watch.cancel = context.cancel;
    sqlite3_progress_handler(db.get(), 1000, OnProgress, &watch);

    const std::string& sql = args["sql"].get_ref<const std::string&>();
    sqlite3_stmt* raw_statement = nullptr;
    const char* tail = nullptr;
    rc = sqlite3_prepare_v2(db.get(), sql.c_str(), static_cast<int>(sql.size()), &raw_statement,
                            &tail);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> statement(raw_statement,
                                                                         sqlite3_finalize);
    if (rc != SQLITE_OK) {
      return MakeError(ErrorCode::kInvalidArgument, "argument 'sql': {}", sqlite3_errmsg(db.get()));
    }
    if (!statement) return MakeError(ErrorCode::kInvalidArgument, "argument 'sql': no statement");
    if (!OnlyWhitespaceOrSemicolons(tail)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "argument 'sql': one statement per call (found more after the first)");
    }
    int64_t max_rows =
        std::min<int64_t>(args.value("max_rows", options_.max_rows), options_.max_rows);
    return Collect(db.get(), statement.get(), max_rows, watch, context);
  }

 private:
  static json MakeSchema(const SqlToolOptions& options) {
    json database = {{"type", "string"}, {"description", "Name of a configured database"}};
    if (!options.databases.empty()) {
      database["enum"] = json::array();
      for (const SqlDatabase& d : options.databases)
        database["enum"].push_back(d.name);
    }
    return ObjectSchema({{"database", database},
                         {"sql", {{"type", "string"}, {"minLength", 1}, {"maxLength", 100000}}},
                         {"max_rows", {{"type", "integer"}, {"minimum", 1}}}},
                        {"database", "sql"});
  }
  static EffectClass StrongestEffect(const SqlToolOptions& options) {
    for (const SqlDatabase& d : options.databases) {
      if (d.writable) return EffectClass::kExternal;
    }
    return EffectClass::kRead;
  }
  const SqlDatabase* Find(const std::string& name) const {
    for (const SqlDatabase& d : options_.databases) {
      if (d.name == name) return &d;
    }
    return nullptr;
  }

  static Result<ToolResult> Collect(sqlite3* db, sqlite3_stmt* statement, int64_t max_rows,
                                    const Watch& watch, const ToolContext& context) {
    int columns = sqlite3_column_count(statement);
    std::string table;
    for (int c = 0; c < columns; ++c) {
      table += (c ? " | " : "") + ToValidUtf8(sqlite3_column_name(statement, c));
    }
    if (columns > 0) {
      table += "\n";
      for (int c = 0; c < columns; ++c)
        table += c ? " | ---" : "---";
      table += "\n";
    }
    int64_t rows = 0;
    bool more = false;
    int rc;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
      if (rows >= max_rows) {
        more = true;
        break;
      }
      for (int c = 0; c < columns; ++c)
        table += (c ? " | " : "") + Cell(statement, c);
      table += "\n";
      ++rows;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      if (watch.timed_out)
        return MakeError(ErrorCode::kDeadlineExceeded, "query exceeded its time limit");
      if (rc == SQLITE_INTERRUPT) return MakeError(ErrorCode::kCancelled, "query cancelled");
      return MakeError(ErrorCode::kInvalidArgument, "argument 'sql': {}", sqlite3_errmsg(db));
    }
    ToolResult result;
    if (columns == 0) {
      result.output = fmt::format("OK, {} rows changed\n", sqlite3_changes(db));
    } else {
      result.output = table + (more ? fmt::format("(first {} rows shown; more exist)\n", rows)
                                    : fmt::format("({} rows)\n", rows));
    }
    result.output = CapText(result.output, static_cast<size_t>(context.limits.max_output_bytes));
    result.data = {{"rows", rows}, {"truncated", more}};
    return result;
  }

  SqlToolOptions options_;
};

}  // namespace

std::unique_ptr<Tool> MakeSqlQueryTool(const SqlToolOptions& options) {
  return std::make_unique<SqlQueryTool>(options);
}

}  // namespace tandem::tools
