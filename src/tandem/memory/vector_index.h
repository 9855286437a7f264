// An HNSW index (hnswlib) over one collection's vectors, used as a cache of SQLite: it is saved
// beside a checksummed description of the state it reflects and rebuilt when that does not match.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/memory/memory.h"

namespace hnswlib {
template <typename T>
class SpaceInterface;
template <typename T>
class HierarchicalNSW;
}  // namespace hnswlib

namespace tandem::memory {

// A distance function of one dimension, shared by HNSW and exact search so both report the same
// numbers. Cosine uses inner product over normalised vectors.
class VectorSpace {
 public:
  VectorSpace(Distance distance, int dimension);
  ~VectorSpace();
  VectorSpace(const VectorSpace&) = delete;
  VectorSpace& operator=(const VectorSpace&) = delete;

  float Compare(const float* a, const float* b) const;
  // Prepares a vector for this space (normalises it for cosine).
  void Prepare(std::vector<float>& vector) const;
  Distance distance() const { return distance_; }
  int dimension() const { return dimension_; }
  hnswlib::SpaceInterface<float>* space() const { return space_.get(); }

 private:
  Distance distance_;
  int dimension_;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
};

// The parameters an index file must match to be loaded.
struct IndexParams {
  Distance distance = Distance::kCosine;
  int dimension = 0;
  int m = 16;
  int ef_construction = 100;
};

// Not thread-safe except AddBatch, which parallelises internally.
class VectorIndex {
 public:
  static Result<std::unique_ptr<VectorIndex>> Create(const IndexParams& params, size_t capacity);
  // Loads `path` if its sidecar (`path`.meta) names `version` and `params` and the file's size
  // and checksum match. Errors: kNotFound (no file), kFailedPrecondition (stale or other
  // parameters), kDataLoss (corrupt). The caller rebuilds on any error.
  static Result<std::unique_ptr<VectorIndex>> Load(const std::filesystem::path& path,
                                                   const IndexParams& params, int64_t version);
  ~VectorIndex();

  // Writes the index atomically (temporary files, fsync, rename) with its sidecar.
  Status Save(const std::filesystem::path& path, int64_t version) const;

  // Adds prepared vectors (see VectorSpace::Prepare) under `labels`, growing as needed.
  Status AddBatch(const std::vector<int64_t>& labels, const std::vector<const float*>& vectors,
                  int threads = 1);
  // Marks a label deleted; unknown labels are ignored.
  void Remove(int64_t label);
  // Up to k nearest live labels with distances, nearest first.
  std::vector<std::pair<float, int64_t>> Search(const float* query, size_t k, size_t ef) const;

  size_t elements() const;  // Including deleted ones.
  size_t deleted() const;
  const VectorSpace& space() const { return *space_; }

 private:
  VectorIndex(const IndexParams& params);
  IndexParams params_;
  std::unique_ptr<VectorSpace> space_;  // Outlives hnsw_, which points into it.
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw_;
};

// A 64-bit checksum of `data` that changes with any single flipped bit.
uint64_t Checksum(std::string_view data);

}  // namespace tandem::memory
