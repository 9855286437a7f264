// Metadata and document filters (ChromaDB syntax) compiled to SQL over the `records` table
// (aliased `r`) and its `record_meta` side table.
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
  std::string clause = "1";  // A boolean SQL expression; "1" when there is no filter.
  std::vector<SqlParam> params;
};

// Type tags stored in record_meta.type.
inline constexpr int kMetaString = 0;
inline constexpr int kMetaNumber = 1;
inline constexpr int kMetaBool = 2;

// Compiles `where` (null: no filter). Errors name the path and the operator.
Result<SqlFilter> CompileWhere(const nlohmann::json& where);
// Compiles `where_document` (null: no filter).
Result<SqlFilter> CompileWhereDocument(const nlohmann::json& where_document);

// Checks that `metadata` is null or a flat object of strings, numbers and booleans whose keys are
// non-empty and do not start with '$'.
Status ValidateMetadata(const nlohmann::json& metadata);

}  // namespace tandem::memory
