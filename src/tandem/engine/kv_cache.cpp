#include "tandem/engine/kv_cache.h"

namespace tandem::engine {

KvCache::KvCache(int n_layer, int n_ctx, int row_size)
    : n_ctx_(n_ctx),
      row_size_(row_size),
      keys_(static_cast<size_t>(n_layer) * static_cast<size_t>(n_ctx) *
            static_cast<size_t>(row_size)),
      values_(keys_.size()) {}

}  // namespace tandem::engine
