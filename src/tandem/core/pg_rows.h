// Reading PostgreSQL result rows into records, for the PostgreSQL stores (tasks in store,
// records in memory).
#pragma once

#include <vector>

#include "tandem/core/pg_connection.h"

namespace tandem::pg {

// Runs `rows` (already executed) through `read(rows, i)` for each row.
template <typename T, typename Read>
Result<std::vector<T>> Collect(Result<Rows> rows, Read read) {
  if (!rows) return std::unexpected(rows.error());
  std::vector<T> out;
  out.reserve(static_cast<size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i)
    out.push_back(read(*rows, i));
  return out;
}

// The id an INSERT ... RETURNING id gave back.
inline Result<int64_t> ReturnedId(Result<Rows> rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->size() != 1) return MakeError(ErrorCode::kInternal, "INSERT returned no id");
  return rows->Int(0, 0);
}

// Success or the error of a statement whose rows do not matter.
inline Status Done(const Result<Rows>& rows) {
  if (!rows) return std::unexpected(rows.error());
  return {};
}

}  // namespace tandem::pg
