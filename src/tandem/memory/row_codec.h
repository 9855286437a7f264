// Small helpers shared by the MemoryStore implementation files: binding compiled filter
// parameters and converting vectors to and from SQLite blobs.
#pragma once

#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "tandem/core/sqlite.h"
#include "tandem/memory/filter.h"

namespace tandem::memory {

inline void BindParams(sqlite::Statement& statement, int first,
                       const std::vector<SqlParam>& params) {
  int index = first;
  for (const SqlParam& param : params) {
    std::visit([&](const auto& value) { statement.Bind(index, value); }, param);
    ++index;
  }
}

inline std::string VectorBlob(const std::vector<float>& vector) {
  std::string blob(vector.size() * sizeof(float), '\0');
  std::memcpy(blob.data(), vector.data(), blob.size());
  return blob;
}

inline Result<std::vector<float>> BlobVector(const std::string& blob, int dimension) {
  if (blob.size() != static_cast<size_t>(dimension) * sizeof(float)) {
    return MakeError(ErrorCode::kDataLoss, "a stored vector has {} bytes, expected {}", blob.size(),
                     static_cast<size_t>(dimension) * sizeof(float));
  }
  std::vector<float> vector(static_cast<size_t>(dimension));
  std::memcpy(vector.data(), blob.data(), blob.size());
  return vector;
}

}  // namespace tandem::memory
