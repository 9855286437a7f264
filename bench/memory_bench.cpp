// Memory benchmark: MemoryStore (SQLite + HNSW) against raw hnswlib with the same parameters in
// the same run, on synthetic clustered vectors. Reports recall@10 against exact search, queries
// per second, filtered-query latency, build and reopen times.
//
//   bench_memory [N=100000] [DIM=384] [QUERIES=500]
#include <fmt/format.h>
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>

#include "tandem/memory/memory.h"

namespace {

using Clock = std::chrono::steady_clock;
using tandem::memory::Distance;
using tandem::memory::MemoryStore;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Data {
  int dim = 0;
  std::vector<std::vector<float>> points;
  std::vector<std::vector<float>> queries;
};

// Gaussian clusters around random centres, as embeddings of topical texts tend to be.
Data MakeData(size_t n, int dim, size_t n_queries) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  const size_t n_clusters = 100;
  std::vector<std::vector<float>> centres(n_clusters, std::vector<float>(static_cast<size_t>(dim)));
  for (auto& centre : centres) {
    for (float& x : centre)
      x = normal(rng);
  }
  std::uniform_int_distribution<size_t> pick(0, n_clusters - 1);
  auto sample = [&] {
    std::vector<float> v = centres[pick(rng)];
    for (float& x : v)
      x += 0.5f * normal(rng);
    return v;
  };
  Data data{.dim = dim};
  for (size_t i = 0; i < n; ++i)
    data.points.push_back(sample());
  for (size_t i = 0; i < n_queries; ++i)
    data.queries.push_back(sample());
  return data;
}

float L2(const std::vector<float>& a, const std::vector<float>& b) {
  float sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

// Exact top-k labels of each query among points accepted by `keep`.
template <typename Keep>
std::vector<std::vector<size_t>> Exact(const Data& data, size_t k, Keep keep) {
  std::vector<std::vector<size_t>> out;
  for (const auto& query : data.queries) {
    std::vector<std::pair<float, size_t>> all;
    for (size_t i = 0; i < data.points.size(); ++i) {
      if (keep(i)) all.emplace_back(L2(query, data.points[i]), i);
    }
    size_t top = std::min(k, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top), all.end());
    std::vector<size_t> labels;
    for (size_t i = 0; i < top; ++i)
      labels.push_back(all[i].second);
    out.push_back(std::move(labels));
  }
  return out;
}

double Recall(const std::vector<std::vector<size_t>>& found,
              const std::vector<std::vector<size_t>>& truth) {
  size_t hit = 0, total = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    std::set<size_t> expected(truth[q].begin(), truth[q].end());
    for (size_t label : found[q])
      hit += expected.count(label);
    total += truth[q].size();
  }
  return total == 0 ? 1.0 : static_cast<double>(hit) / static_cast<double>(total);
}

constexpr int kM = 16, kEfConstruction = 100, kEfSearch = 64;
constexpr size_t kK = 10;

struct StoreRun {
  double build_s = 0, qps = 0, recall = 0;
  std::vector<std::pair<std::string, double>> filtered;  // name -> mean ms
  std::vector<std::pair<std::string, double>> filtered_recall;
  double reopen_s = 0, rebuild_s = 0;
};

int Fail(const tandem::Error& error) {
  fmt::print(stderr, "error: {}\n", error.message());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  int dim = argc > 2 ? std::atoi(argv[2]) : 384;
  size_t n_queries = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 500;
  fmt::print(
      "memory benchmark: {} vectors, {} dims, {} queries, M={} ef_construction={} "
      "ef_search={} k={}, single-threaded\n",
      n, dim, n_queries, kM, kEfConstruction, kEfSearch, kK);
  Data data = MakeData(n, dim, n_queries);
  auto start = Clock::now();
  auto truth = Exact(data, kK, [](size_t) { return true; });
  fmt::print("exact search (ground truth): {:.1f} ms/query\n",
             Seconds(start) * 1000 / static_cast<double>(n_queries));

  // Raw hnswlib.
  hnswlib::L2Space space(static_cast<size_t>(dim));
  start = Clock::now();
  hnswlib::HierarchicalNSW<float> raw(&space, n, kM, kEfConstruction);
  for (size_t i = 0; i < n; ++i)
    raw.addPoint(data.points[i].data(), i);
  double raw_build = Seconds(start);
  raw.setEf(kEfSearch);
  std::vector<std::vector<size_t>> raw_found;
  start = Clock::now();
  for (const auto& query : data.queries) {
    auto queue = raw.searchKnn(query.data(), kK);
    std::vector<size_t> labels;
    while (!queue.empty()) {
      labels.push_back(queue.top().second);
      queue.pop();
    }
    raw_found.push_back(std::move(labels));
  }
  double raw_qps = static_cast<double>(n_queries) / Seconds(start);
  double raw_recall = Recall(raw_found, truth);

  // MemoryStore: SQLite rows + HNSW, with metadata for filters.
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("tandem-bench-{}", getpid());
  std::filesystem::remove_all(dir);
  StoreRun run;
  {
    tandem::memory::StoreOptions options;
    options.durable_commits = false;
    auto store = MemoryStore::Open(dir, options, nullptr);
    if (!store) return Fail(store.error());
    auto created = (*store)->CreateCollection("bench", {.distance = Distance::kL2,
                                                        .hnsw_m = kM,
                                                        .ef_construction = kEfConstruction,
                                                        .ef_search = kEfSearch});
    if (!created) return Fail(created.error());
    start = Clock::now();
    for (size_t first = 0; first < n; first += 1000) {
      std::vector<tandem::memory::Record> batch;
      for (size_t i = first; i < std::min(n, first + 1000); ++i) {
        batch.push_back({.id = std::to_string(i),
                         .metadata = {{"p1", i % 100 == 0}, {"p10", i % 10 == 0}},
                         .embedding = data.points[i]});
      }
      if (auto added = (*store)->Add("bench", batch); !added) return Fail(added.error());
    }
    run.build_s = Seconds(start);
    tandem::memory::Include none{.documents = false, .metadatas = false};
    auto query_all = [&](const nlohmann::json& where, std::vector<std::vector<size_t>>& found) {
      found.clear();
      auto begin = Clock::now();
      for (const auto& query : data.queries) {
        auto result = (*store)->Query(
            "bench", {.vector = query, .n_results = kK, .where = where, .include = none});
        std::vector<size_t> labels;
        if (result) {
          for (const auto& hit : result->hits)
            labels.push_back(std::stoul(hit.id));
        }
        found.push_back(std::move(labels));
      }
      return Seconds(begin);
    };
    std::vector<std::vector<size_t>> found;
    query_all(nullptr, found);  // Warm caches, as for raw hnswlib's first pass below.
    double seconds = query_all(nullptr, found);
    run.qps = static_cast<double>(n_queries) / seconds;
    run.recall = Recall(found, truth);
    for (auto [name, modulo] : {std::pair{"p10", size_t{10}}, std::pair{"p1", size_t{100}}}) {
      double s = query_all({{name, true}}, found);
      auto filtered_truth = Exact(data, kK, [modulo](size_t i) { return i % modulo == 0; });
      std::string label = fmt::format("{}% of records match", 100 / modulo);
      run.filtered.emplace_back(label, s * 1000 / static_cast<double>(n_queries));
      run.filtered_recall.emplace_back(label, Recall(found, filtered_truth));
    }
  }
  {
    start = Clock::now();
    auto store = MemoryStore::Open(dir, {.read_only = true}, nullptr);
    if (!store) return Fail(store.error());
    auto result = (*store)->Query("bench", {.vector = data.queries[0], .n_results = kK});
    if (!result) return Fail(result.error());
    run.reopen_s = Seconds(start);
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".hnsw") std::filesystem::remove(entry.path());
  }
  {
    start = Clock::now();
    auto store = MemoryStore::Open(dir, {.read_only = true}, nullptr);
    if (!store) return Fail(store.error());
    auto result = (*store)->Query("bench", {.vector = data.queries[0], .n_results = kK});
    if (!result) return Fail(result.error());
    run.rebuild_s = Seconds(start);
  }
  std::filesystem::remove_all(dir);

  // A second raw pass, so both sides are measured warm.
  start = Clock::now();
  for (const auto& query : data.queries)
    (void)raw.searchKnn(query.data(), kK);
  raw_qps = std::max(raw_qps, static_cast<double>(n_queries) / Seconds(start));

  fmt::print("\n| measure | raw hnswlib | MemoryStore |\n|---|---|---|\n");
  fmt::print("| recall@10 (vs exact) | {:.4f} | {:.4f} |\n", raw_recall, run.recall);
  fmt::print("| queries/s (k=10, unfiltered) | {:.0f} | {:.0f} ({:.2f}x) |\n", raw_qps, run.qps,
             run.qps / raw_qps);
  fmt::print("| build time | {:.1f} s (index only) | {:.1f} s (SQLite rows + FTS + index) |\n",
             raw_build, run.build_s);
  for (size_t i = 0; i < run.filtered.size(); ++i) {
    fmt::print("| filtered query, {} | - | {:.2f} ms/query, recall@10 {:.4f} |\n",
               run.filtered[i].first, run.filtered[i].second, run.filtered_recall[i].second);
  }
  fmt::print("| open + first query, saved index | - | {:.2f} s |\n", run.reopen_s);
  fmt::print("| open + first query, index rebuilt (4 threads max) | - | {:.2f} s |\n",
             run.rebuild_s);
  return 0;
}
