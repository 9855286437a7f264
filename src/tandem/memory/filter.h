// Metadata and document filters (ChromaDB syntax) compiled to SQL over the records table
// (aliased `r`) and its metadata side table, for SQLite or PostgreSQL: both backends share one
// compiler, so filters mean the same on either.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "tandem/core/error.h"

namespace tandem::memory {

// A value bound to a `?` of SqlFilter::clause.
using SqlParam = std::variant<std::string, double, int64_t>;

struct SqlFilter {
  std::string clause = "1=1";  // A boolean SQL expression; "1=1" when there is no filter.
  std::vector<SqlParam> params;
};

// SQLite: tables `records`/`record_meta`, `?` placeholders. PostgreSQL: tables
// `memory_records`/`memory_record_meta`, numbered placeholders ($1, $2, ...).
enum class SqlDialect { kSqlite, kPostgres };

// Type tags stored in record_meta.type.
inline constexpr int kMetaString = 0;
inline constexpr int kMetaNumber = 1;
inline constexpr int kMetaBool = 2;

// Compiles `where` (null: no filter) with `?` placeholders. Errors name the path and the operator.
Result<SqlFilter> CompileWhere(const nlohmann::json& where,
                               SqlDialect dialect = SqlDialect::kSqlite);
// Compiles `where_document` (null: no filter) with `?` placeholders.
Result<SqlFilter> CompileWhereDocument(const nlohmann::json& where_document,
                                       SqlDialect dialect = SqlDialect::kSqlite);

// The records of one collection that a selection picks: `ids` (empty: any) and both filters. For
// kPostgres the placeholders are numbered from $1, so callers number further parameters from
// params.size() + 1.
Result<SqlFilter> CompileSelection(SqlDialect dialect, int64_t collection_id,
                                   const std::vector<std::string>& ids, const nlohmann::json& where,
                                   const nlohmann::json& where_document);

// Checks that `metadata` is null or a flat object of strings, numbers and booleans whose keys are
// non-empty and do not start with '$'.
Status ValidateMetadata(const nlohmann::json& metadata);

}  // namespace tandem::memory
