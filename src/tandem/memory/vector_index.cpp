#include "tandem/memory/vector_index.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <hnswlib/hnswlib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace tandem::memory {
namespace {

constexpr int kFormatVersion = 1;

Result<std::string> ReadWhole(int fd, const std::filesystem::path& path) {
  std::string data;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kUnavailable, "reading {}: {}", path.string(), strerror(errno));
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

Status WriteFileDurably(const std::filesystem::path& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable, "creating {}: {}", path.string(), strerror(errno));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      ::close(fd);
      return MakeError(ErrorCode::kUnavailable, "writing {}: {}", path.string(), strerror(saved));
    }
    done += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return MakeError(ErrorCode::kUnavailable, "syncing {}", path.string());
  return {};
}

Status SyncFile(const std::filesystem::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, "opening {}", path.string());
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return MakeError(ErrorCode::kUnavailable, "syncing {}", path.string());
  return {};
}

std::filesystem::path MetaPath(const std::filesystem::path& path) {
  return std::filesystem::path(path.string() + ".meta");
}

}  // namespace

uint64_t Checksum(std::string_view data) {
  // Four independent multiply-xor lanes over 64-bit words (each step is a bijection of the word,
  // so one flipped bit always changes its lane), then a final mix with the length.
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t lanes[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9e3779b97f4a7c15ULL,
                       0xc2b2ae3d27d4eb4fULL};
  size_t words = data.size() / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t word;
    std::memcpy(&word, data.data() + i * 8, 8);
    uint64_t& lane = lanes[i & 3];
    lane = (lane ^ word) * kPrime;
  }
  uint64_t hash = data.size();
  for (size_t i = words * 8; i < data.size(); ++i) {
    hash = (hash ^ static_cast<unsigned char>(data[i])) * kPrime;
  }
  for (uint64_t lane : lanes) {
    hash = (hash ^ lane) * kPrime;
    hash ^= hash >> 29;
  }
  return hash;
}

VectorSpace::VectorSpace(Distance distance, int dimension)
    : distance_(distance), dimension_(dimension) {
  size_t dim = static_cast<size_t>(dimension);
  if (distance == Distance::kL2) {
    space_ = std::make_unique<hnswlib::L2Space>(dim);
  } else {
    space_ = std::make_unique<hnswlib::InnerProductSpace>(dim);
  }
}

VectorSpace::~VectorSpace() = default;

float VectorSpace::Compare(const float* a, const float* b) const {
  return space_->get_dist_func()(a, b, space_->get_dist_func_param());
}

void VectorSpace::Prepare(std::vector<float>& vector) const {
  if (distance_ != Distance::kCosine) return;
  double norm = 0;
  for (float x : vector)
    norm += static_cast<double>(x) * x;
  if (norm <= 0) return;
  float scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : vector)
    x *= scale;
}

VectorIndex::VectorIndex(const IndexParams& params)
    : params_(params), space_(std::make_unique<VectorSpace>(params.distance, params.dimension)) {}

VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::Create(const IndexParams& params,
                                                         size_t capacity) {
  std::unique_ptr<VectorIndex> index(new VectorIndex(params));
  try {
    index->hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        index->space_->space(), std::max<size_t>(capacity, 16), static_cast<size_t>(params.m),
        static_cast<size_t>(params.ef_construction));
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, "creating an HNSW index: {}", e.what());
  }
  return index;
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::Load(const std::filesystem::path& path,
                                                       const IndexParams& params, int64_t version) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) || !std::filesystem::exists(MetaPath(path), ec)) {
    return MakeError(ErrorCode::kNotFound, "{}: no index file", path.string());
  }
  std::ifstream meta_in(MetaPath(path), std::ios::binary);
  std::stringstream meta_text;
  meta_text << meta_in.rdbuf();
  nlohmann::json meta = nlohmann::json::parse(meta_text.str(), nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) {
    return MakeError(ErrorCode::kDataLoss, "{}: unreadable index description", path.string());
  }
  try {
    if (meta.at("format").get<int>() != kFormatVersion ||
        meta.at("distance").get<std::string>() != DistanceName(params.distance) ||
        meta.at("dimension").get<int>() != params.dimension ||
        meta.at("m").get<int>() != params.m ||
        meta.at("ef_construction").get<int>() != params.ef_construction) {
      return MakeError(ErrorCode::kFailedPrecondition, "{}: built with other parameters",
                       path.string());
    }
    if (meta.at("version").get<int64_t>() != version) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "{}: stale (reflects version {}, the database is at {})", path.string(),
                       meta.at("version").get<int64_t>(), version);
    }
  } catch (const nlohmann::json::exception& e) {
    return MakeError(ErrorCode::kDataLoss, "{}: bad index description: {}", path.string(),
                     e.what());
  }
  // Verify and load the same bytes: hnswlib reopens the verified file through /proc/self/fd,
  // so a writer replacing the file in between cannot slip in an unverified one.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kNotFound, "{}: cannot open", path.string());
  Result<std::string> data = ReadWhole(fd, path);
  auto close_fd = [fd] { ::close(fd); };
  if (!data) {
    close_fd();
    return std::unexpected(data.error());
  }
  std::string expected_sum = meta.value("checksum", "");
  uint64_t expected_size = meta.value("size", uint64_t{0});
  if (data->size() != expected_size || fmt::format("{:016x}", Checksum(*data)) != expected_sum) {
    close_fd();
    return MakeError(ErrorCode::kDataLoss, "{}: checksum or size mismatch (corrupt index)",
                     path.string());
  }
  data->clear();
  data->shrink_to_fit();
  std::unique_ptr<VectorIndex> index(new VectorIndex(params));
  try {
    index->hnsw_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        index->space_->space(), fmt::format("/proc/self/fd/{}", fd));
  } catch (const std::exception& e) {
    close_fd();
    return MakeError(ErrorCode::kDataLoss, "{}: {}", path.string(), e.what());
  }
  close_fd();
  if (index->hnsw_->data_size_ != static_cast<size_t>(params.dimension) * sizeof(float)) {
    return MakeError(ErrorCode::kDataLoss, "{}: vector size does not match", path.string());
  }
  // hnswlib 0.6.2's loading constructor leaves num_deleted_ uninitialised before adding the
  // marked entries to it, so it is counted again here (tombstone thresholds and the search's
  // deleted-entry path depend on it).
  hnswlib::HierarchicalNSW<float>& hnsw = *index->hnsw_;
  hnsw.num_deleted_ = 0;
  for (size_t i = 0; i < hnsw.cur_element_count; ++i) {
    if (hnsw.isMarkedDeleted(static_cast<hnswlib::tableint>(i))) ++hnsw.num_deleted_;
  }
  return index;
}

Status VectorIndex::Save(const std::filesystem::path& path, int64_t version) const {
  std::filesystem::path tmp = path.string() + ".tmp";
  std::filesystem::path meta_tmp = MetaPath(path).string() + ".tmp";
  try {
    hnsw_->saveIndex(tmp.string());
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kUnavailable, "saving {}: {}", path.string(), e.what());
  }
  int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, "saving {}", path.string());
  Result<std::string> data = ReadWhole(fd, tmp);
  ::close(fd);
  if (!data) return std::unexpected(data.error());
  if (Status synced = SyncFile(tmp, O_RDONLY); !synced) return synced;
  nlohmann::json meta = {{"format", kFormatVersion},
                         {"version", version},
                         {"distance", DistanceName(params_.distance)},
                         {"dimension", params_.dimension},
                         {"m", params_.m},
                         {"ef_construction", params_.ef_construction},
                         {"elements", elements()},
                         {"deleted", deleted()},
                         {"size", data->size()},
                         {"checksum", fmt::format("{:016x}", Checksum(*data))}};
  if (Status written = WriteFileDurably(meta_tmp, meta.dump()); !written) return written;
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (!ec) std::filesystem::rename(meta_tmp, MetaPath(path), ec);
  if (ec) return MakeError(ErrorCode::kUnavailable, "saving {}: {}", path.string(), ec.message());
  return SyncFile(path.parent_path(), O_RDONLY | O_DIRECTORY);
}

Status VectorIndex::AddBatch(const std::vector<int64_t>& labels,
                             const std::vector<const float*>& vectors, int threads) {
  try {
    size_t needed = hnsw_->cur_element_count + labels.size();
    if (needed > hnsw_->max_elements_) {
      hnsw_->resizeIndex(std::max(needed, hnsw_->max_elements_ * 2));
    }
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::string failure;
    std::mutex failure_mu;
    auto worker = [&] {
      for (size_t i = next++; i < labels.size() && !failed; i = next++) {
        try {
          hnsw_->addPoint(vectors[i], static_cast<hnswlib::labeltype>(labels[i]));
        } catch (const std::exception& e) {
          std::lock_guard lock(failure_mu);
          failure = e.what();
          failed = true;
        }
      }
    };
    int n_threads = labels.size() < 256 ? 1 : std::max(1, threads);
    std::vector<std::thread> pool;
    for (int t = 1; t < n_threads; ++t)
      pool.emplace_back(worker);
    worker();
    for (std::thread& thread : pool)
      thread.join();
    if (failed) return MakeError(ErrorCode::kInternal, "adding to the HNSW index: {}", failure);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInternal, "growing the HNSW index: {}", e.what());
  }
  return {};
}

void VectorIndex::Remove(int64_t label) {
  auto found = hnsw_->label_lookup_.find(static_cast<hnswlib::labeltype>(label));
  if (found == hnsw_->label_lookup_.end() || hnsw_->isMarkedDeleted(found->second)) return;
  hnsw_->markDelete(static_cast<hnswlib::labeltype>(label));
}

std::vector<std::pair<float, int64_t>> VectorIndex::Search(const float* query, size_t k,
                                                           size_t ef) const {
  std::vector<std::pair<float, int64_t>> out;
  if (k == 0 || hnsw_->cur_element_count == 0) return out;
  hnsw_->setEf(std::max(ef, k));
  auto queue = hnsw_->searchKnn(query, k);
  out.resize(queue.size());
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = {queue.top().first, static_cast<int64_t>(queue.top().second)};
    queue.pop();
  }
  return out;
}

size_t VectorIndex::elements() const {
  return hnsw_->cur_element_count;
}

size_t VectorIndex::deleted() const {
  return hnsw_->num_deleted_;
}

}  // namespace tandem::memory
