#include "tandem/memory/collection_row.h"

namespace tandem::memory {

Status ValidateNewCollection(const std::string& name, const CollectionOptions& options) {
  if (name.empty() || name.size() > 200) {
    return MakeError(ErrorCode::kInvalidArgument, "a collection name must have 1 to 200 bytes");
  }
  if (options.hnsw_m < 2 || options.hnsw_m > 512 || options.ef_construction < 1 ||
      options.ef_search < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "collection '{}': hnsw_m must be 2..512 and ef values at least 1", name);
  }
  return {};
}

Status CheckStoredCollection(const CollectionRow& row) {
  if (row.dimension < 0 || row.dimension > 65536 || row.options.hnsw_m < 2 ||
      row.options.hnsw_m > 512 || row.options.ef_construction < 1 || row.options.ef_search < 1) {
    return MakeError(ErrorCode::kDataLoss, "collection '{}' has invalid parameters", row.name);
  }
  return {};
}

IndexParams IndexParamsOf(const CollectionRow& row) {
  return {.distance = row.options.distance,
          .dimension = row.dimension,
          .m = row.options.hnsw_m,
          .ef_construction = row.options.ef_construction};
}

}  // namespace tandem::memory
