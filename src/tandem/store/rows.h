// Reading result rows into records, shared by the store's source files (internal).
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "tandem/core/sqlite.h"

namespace tandem::store::internal {

// Runs `prepared` (already bound), collecting each row with `read`.
template <typename T, typename Read>
Result<std::vector<T>> Collect(Result<sqlite::Statement> prepared, Read read) {
  if (!prepared) return std::unexpected(prepared.error());
  std::vector<T> rows;
  while (true) {
    Result<bool> row = prepared->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    rows.push_back(read(*prepared));
  }
  return rows;
}

// The first of `rows`, if any.
template <typename T>
Result<std::optional<T>> First(Result<std::vector<T>> rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

}  // namespace tandem::store::internal
