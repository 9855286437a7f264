// KvCache: the keys and values of every layer for the positions a context has evaluated, in f32.
//
//   KvCache cache(n_layer, n_ctx, n_kv_heads * head_dim);
//   float* k = cache.Key(layer, pos);  // n_kv_heads * head_dim floats
//
// Not thread-safe for writes; reads of distinct positions may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem::engine {

class KvCache {
 public:
  KvCache(int n_layer, int n_ctx, int row_size);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  int n_ctx() const { return n_ctx_; }
  int row_size() const { return row_size_; }
  float* Key(int layer, int pos) { return keys_.data() + Index(layer, pos); }
  float* Value(int layer, int pos) { return values_.data() + Index(layer, pos); }
  const float* Key(int layer, int pos) const { return keys_.data() + Index(layer, pos); }
  const float* Value(int layer, int pos) const { return values_.data() + Index(layer, pos); }
  // Bytes held by keys and values together.
  size_t bytes() const { return (keys_.size() + values_.size()) * sizeof(float); }

 private:
  size_t Index(int layer, int pos) const {
    return (static_cast<size_t>(layer) * static_cast<size_t>(n_ctx_) + static_cast<size_t>(pos)) *
           static_cast<size_t>(row_size_);
  }

  int n_ctx_;
  int row_size_;
  std::vector<float> keys_;
  std::vector<float> values_;
};

}  // namespace tandem::engine
