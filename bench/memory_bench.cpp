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
#include <ctime>
#include <filesystem>
#include <queue>
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

// CPU time of the calling thread: the machine running this is shared, so query passes are
// compared by the CPU they used rather than by wall time.
double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Wall and CPU seconds of one pass.
struct Pass {
  double wall_s = 0;
  double cpu_s = 0;
};

template <typename Body>
Pass Measure(Body body) {
  auto wall = Clock::now();
  double cpu = ThreadCpuSeconds();
  body();
  return {.wall_s = Seconds(wall), .cpu_s = ThreadCpuSeconds() - cpu};
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

constexpr int kRounds = 5;  // Interleaved query passes per side; the fastest counts.

// The best (least CPU) of several passes, and the wall time of that pass.
struct Best {
  Pass pass{.wall_s = 1e300, .cpu_s = 1e300};
  void Add(const Pass& p) {
    if (p.cpu_s < pass.cpu_s) pass = p;
  }
};

struct Filtered {
  std::string label;
  Best best;
  double recall = 0;
};

int Fail(const tandem::Error& error) {
  fmt::print(stderr, "error: {}\n", error.message());
  return 1;
}

std::vector<size_t> Labels(std::priority_queue<std::pair<float, size_t>> queue) {
  std::vector<size_t> labels;
  while (!queue.empty()) {
    labels.push_back(queue.top().second);
    queue.pop();
  }
  return labels;
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100'000;
  int dim = argc > 2 ? std::atoi(argv[2]) : 384;
  size_t n_queries = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 500;
  fmt::print(
      "memory benchmark: {} vectors, {} dims, {} queries, M={} ef_construction={} "
      "ef_search={} k={}, single-threaded, {} interleaved passes per side\n",
      n, dim, n_queries, kM, kEfConstruction, kEfSearch, kK, kRounds);
  Data data = MakeData(n, dim, n_queries);
  auto start = Clock::now();
  auto truth = Exact(data, kK, [](size_t) { return true; });
  fmt::print("exact search (ground truth): {:.1f} ms/query\n",
             Seconds(start) * 1000 / static_cast<double>(n_queries));

  // Raw hnswlib.
  hnswlib::L2Space space(static_cast<size_t>(dim));
  hnswlib::HierarchicalNSW<float> raw(&space, n, kM, kEfConstruction);
  Pass raw_build = Measure([&] {
    for (size_t i = 0; i < n; ++i)
      raw.addPoint(data.points[i].data(), i);
  });
  raw.setEf(kEfSearch);
  std::vector<std::vector<size_t>> raw_found;
  auto raw_pass = [&] {
    raw_found.clear();
    for (const auto& query : data.queries)
      raw_found.push_back(Labels(raw.searchKnn(query.data(), kK)));
  };

  // MemoryStore: SQLite rows + HNSW, with metadata for filters.
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("tandem-bench-{}", getpid());
  std::filesystem::remove_all(dir);
  Pass store_build;
  Best raw_best, store_best;
  double store_recall = 0;
  std::vector<Filtered> filtered;
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
    tandem::Status added;
    store_build = Measure([&] {
      for (size_t first = 0; first < n && added; first += 1000) {
        std::vector<tandem::memory::Record> batch;
        for (size_t i = first; i < std::min(n, first + 1000); ++i) {
          batch.push_back({.id = std::to_string(i),
                           .metadata = {{"p1", i % 100 == 0}, {"p10", i % 10 == 0}},
                           .embedding = data.points[i]});
        }
        added = (*store)->Add("bench", batch);
      }
    });
    if (!added) return Fail(added.error());
    tandem::memory::Include none{.documents = false, .metadatas = false};
    std::vector<std::vector<size_t>> found;
    auto store_pass = [&](const nlohmann::json& where) {
      found.clear();
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
    };
    // Warm both sides, then alternate passes so that load from other processes falls on both.
    raw_pass();
    store_pass(nullptr);
    for (int round = 0; round < kRounds; ++round) {
      raw_best.Add(Measure(raw_pass));
      store_best.Add(Measure([&] { store_pass(nullptr); }));
    }
    store_recall = Recall(found, truth);
    for (auto [name, modulo] : {std::pair{"p10", size_t{10}}, std::pair{"p1", size_t{100}}}) {
      Filtered f{.label = fmt::format("{}% of records match", 100 / modulo)};
      for (int round = 0; round < 2; ++round)
        f.best.Add(Measure([&] { store_pass({{name, true}}); }));
      auto filtered_truth = Exact(data, kK, [modulo](size_t i) { return i % modulo == 0; });
      f.recall = Recall(found, filtered_truth);
      filtered.push_back(std::move(f));
    }
  }
  double raw_recall = Recall(raw_found, truth);
  double reopen_s = 0, rebuild_s = 0;
  {
    start = Clock::now();
    auto store = MemoryStore::Open(dir, {.read_only = true}, nullptr);
    if (!store) return Fail(store.error());
    auto result = (*store)->Query("bench", {.vector = data.queries[0], .n_results = kK});
    if (!result) return Fail(result.error());
    reopen_s = Seconds(start);
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
    rebuild_s = Seconds(start);
  }
  std::filesystem::remove_all(dir);

  auto per_s = [&](double seconds) { return static_cast<double>(n_queries) / seconds; };
  auto ms = [&](double seconds) { return seconds * 1000 / static_cast<double>(n_queries); };
  fmt::print("\n| measure | raw hnswlib | MemoryStore |\n|---|---|---|\n");
  fmt::print("| recall@10 (vs exact) | {:.4f} | {:.4f} |\n", raw_recall, store_recall);
  fmt::print("| queries/s by CPU time (k=10, unfiltered) | {:.0f} | {:.0f} ({:.2f}x) |\n",
             per_s(raw_best.pass.cpu_s), per_s(store_best.pass.cpu_s),
             raw_best.pass.cpu_s / store_best.pass.cpu_s);
  fmt::print("| queries/s by wall time (same passes) | {:.0f} | {:.0f} ({:.2f}x) |\n",
             per_s(raw_best.pass.wall_s), per_s(store_best.pass.wall_s),
             raw_best.pass.wall_s / store_best.pass.wall_s);
  fmt::print(
      "| build time, CPU (wall) | {:.1f} s ({:.1f} s), index only | {:.1f} s ({:.1f} s), SQLite "
      "rows + FTS + index |\n",
      raw_build.cpu_s, raw_build.wall_s, store_build.cpu_s, store_build.wall_s);
  for (const Filtered& f : filtered) {
    fmt::print("| filtered query, {} | - | {:.2f} ms/query CPU ({:.2f} wall), recall@10 {:.4f} |\n",
               f.label, ms(f.best.pass.cpu_s), ms(f.best.pass.wall_s), f.recall);
  }
  fmt::print("| open + first query, saved index | - | {:.2f} s |\n", reopen_s);
  fmt::print("| open + first query, index rebuilt from SQLite | - | {:.2f} s |\n", rebuild_s);
  return 0;
}
