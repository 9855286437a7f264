// Crash safety, index damage, real deletes and bounded disk use, on real files and processes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "memory/fake_embedder.h"
#include "support/temp_dir.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/memory_store.h"

namespace tandem::memory {
namespace {

using ::testing::HasSubstr;

class DurabilityTest : public ::testing::Test {
 protected:
  std::unique_ptr<MemoryStore> OpenStore(StoreOptions options = {}) {
    auto store = MemoryStore::Open(dir_.path(), options, std::make_unique<testing::FakeEmbedder>());
    EXPECT_TRUE(store) << store.error().message();
    return store ? std::move(*store) : nullptr;
  }

  // Fills collection "c" with `n` documents and closes the store (saving its index).
  void Fill(int n) {
    auto store = OpenStore();
    ASSERT_TRUE(store->CreateCollection("c", {}));
    std::vector<Record> records;
    for (int i = 0; i < n; ++i) {
      records.push_back(
          {.id = "doc" + std::to_string(i),
           .document = "memory number " + std::to_string(i) + " word" + std::to_string(i % 7)});
    }
    ASSERT_TRUE(store->Add("c", records));
  }

  std::filesystem::path IndexFile() {
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      if (entry.path().extension() == ".hnsw") return entry.path();
    }
    return {};
  }

  // Opens the store, checks a vector query works and returns the rebuild count.
  int64_t QueryAndCountRebuilds() {
    auto store = OpenStore();
    auto result = store->Query("c", {.text = "memory number 5 word5", .n_results = 3});
    EXPECT_TRUE(result) << result.error().message();
    if (result) {
      EXPECT_TRUE(result->used_vectors);
      EXPECT_EQ(result->hits.size(), 3u);
      if (!result->hits.empty()) {
        EXPECT_EQ(result->hits[0].id, "doc5");
      }
    }
    return store->Stats()->index_rebuilds;
  }

  // Every regular file's bytes in the store's directory, concatenated.
  std::string AllBytes() {
    std::string bytes;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
      if (entry.is_regular_file()) bytes += ::tandem::testing::ReadFile(entry.path());
    }
    return bytes;
  }

  ::tandem::testing::TempDir dir_;
};

TEST_F(DurabilityTest, SavedIndexIsReusedWithoutRebuild) {
  Fill(200);
  ASSERT_FALSE(IndexFile().empty());
  EXPECT_EQ(QueryAndCountRebuilds(), 0);
}

TEST_F(DurabilityTest, MissingIndexIsRebuilt) {
  Fill(200);
  std::filesystem::remove(IndexFile());
  EXPECT_EQ(QueryAndCountRebuilds(), 1);
  EXPECT_EQ(QueryAndCountRebuilds(), 0);  // The rebuilt index was saved on close.
}

TEST_F(DurabilityTest, TruncatedIndexIsRebuilt) {
  Fill(200);
  std::filesystem::path file = IndexFile();
  for (uintmax_t size : {std::filesystem::file_size(file) / 2, uintmax_t{10}, uintmax_t{0}}) {
    std::filesystem::resize_file(file, size);
    EXPECT_EQ(QueryAndCountRebuilds(), 1) << "size " << size;
  }
}

TEST_F(DurabilityTest, BitFlippedIndexIsRebuilt) {
  Fill(200);
  std::filesystem::path file = IndexFile();
  std::mt19937 rng(5);
  for (int trial = 0; trial < 5; ++trial) {
    std::string bytes = ::tandem::testing::ReadFile(file);
    ASSERT_FALSE(bytes.empty());
    size_t offset = std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
    bytes[offset] = static_cast<char>(bytes[offset] ^ (1 << (trial % 8)));
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    EXPECT_EQ(QueryAndCountRebuilds(), 1) << "flipped byte " << offset;
  }
  // A damaged description is caught too.
  std::ofstream(file.string() + ".meta", std::ios::trunc) << "{not json";
  EXPECT_EQ(QueryAndCountRebuilds(), 1);
}

TEST_F(DurabilityTest, StaleIndexIsRebuilt) {
  Fill(200);
  std::filesystem::path file = IndexFile();
  std::string old_index = ::tandem::testing::ReadFile(file);
  std::string old_meta = ::tandem::testing::ReadFile(file.string() + ".meta");
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->Delete("c", {.ids = {"doc5"}}));
  }
  // Put back the index of before the delete: it names an older version.
  std::ofstream(file, std::ios::binary | std::ios::trunc) << old_index;
  std::ofstream(file.string() + ".meta", std::ios::binary | std::ios::trunc) << old_meta;
  auto store = OpenStore();
  auto result = store->Query("c", {.text = "memory number 5 word5", .n_results = 3});
  ASSERT_TRUE(result);
  for (const Hit& hit : result->hits)
    EXPECT_NE(hit.id, "doc5");
  EXPECT_EQ(store->Stats()->index_rebuilds, 1);
}

TEST_F(DurabilityTest, SecondWriterProcessGetsAClearError) {
  { auto store = OpenStore(); }
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = MemoryStore::Open(dir_.path(), {}, nullptr);
    char byte = store ? 'y' : 'n';
    (void)!write(ready[1], &byte, 1);
    pause();
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  auto second = MemoryStore::Open(dir_.path(), {}, nullptr);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(second.error().message(), HasSubstr(fmt::format("pid {}", child)));
  auto reader = MemoryStore::Open(dir_.path(), {.read_only = true}, nullptr);
  EXPECT_TRUE(reader) << "readers run beside the writer";
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
  auto after = MemoryStore::Open(dir_.path(), {}, nullptr);
  EXPECT_TRUE(after) << "the lock dies with its holder";
}

TEST_F(DurabilityTest, SigkillDuringWritesKeepsTheCommittedPrefix) {
  { ASSERT_TRUE(OpenStore()->CreateCollection("c", {})); }
  for (int round = 0; round < 3; ++round) {
    int acks[2];
    ASSERT_EQ(pipe(acks), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto store = MemoryStore::Open(dir_.path(), {}, std::make_unique<testing::FakeEmbedder>());
      if (!store) _exit(2);
      for (int i = 0;; ++i) {
        std::string id = fmt::format("r{}-{:06}", round, i);
        if (!(*store)->Add("c", {{.id = id, .document = "written before the crash " + id}})) {
          _exit(3);
        }
        if (i % 5 == 4 && !(*store)->Flush()) _exit(4);  // Crash during index saves too.
        (void)!write(acks[1], &i, sizeof i);
      }
    }
    close(acks[1]);
    int acked = -1, value = 0;
    while (acked < 20 + 15 * round && read(acks[0], &value, sizeof value) == sizeof value)
      acked = value;
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(acks[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child failed with " << WEXITSTATUS(status);

    auto store = OpenStore();
    auto all = store->Get(
        "c", {.selection = {.where_document = {{"$contains", fmt::format("r{}-", round)}}}});
    ASSERT_TRUE(all) << all.error().message();
    // Everything acknowledged is there, and what is there is a prefix (no gaps).
    ASSERT_GE(static_cast<int>(all->size()), acked + 1);
    for (size_t i = 0; i < all->size(); ++i)
      EXPECT_EQ((*all)[i].id, fmt::format("r{}-{:06}", round, i));
    auto result =
        store->Query("c", {.text = fmt::format("crash r{}-{:06}", round, acked), .n_results = 5});
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_TRUE(result->used_vectors);
    EXPECT_EQ(result->hits.size(), 5u);
  }
}

TEST_F(DurabilityTest, CompactionLeavesNoTraceOfDeletedText) {
  const std::string secret = "zanzibarquokka";
  const std::string secret_meta = "platypusledger";
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->CreateCollection("c", {}));
    std::vector<Record> records;
    for (int i = 0; i < 300; ++i) {
      records.push_back({.id = "keep" + std::to_string(i),
                         .document = "ordinary text number " + std::to_string(i)});
    }
    records.push_back({.id = "gone",
                       .document = "the code is " + secret + " do not keep",
                       .metadata = {{"label", secret_meta}}});
    ASSERT_TRUE(store->Add("c", records));
    ASSERT_TRUE(store->Flush());
    EXPECT_NE(AllBytes().find(secret), std::string::npos) << "the test must see the text first";
    auto deleted = store->Delete("c", {.ids = {"gone"}});
    ASSERT_TRUE(deleted);
    ASSERT_EQ(*deleted, 1);
    ASSERT_TRUE(store->Compact()) << "compact";
    std::string bytes = AllBytes();
    EXPECT_EQ(bytes.find(secret), std::string::npos);
    EXPECT_EQ(bytes.find(secret_meta), std::string::npos);
    auto result = store->Query("c", {.text = "ordinary number 7", .n_results = 1});
    ASSERT_TRUE(result);
    EXPECT_EQ(result->hits.size(), 1u);
  }
  std::string bytes = AllBytes();
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_EQ(bytes.find(secret_meta), std::string::npos);
}

// The process's resident memory in bytes, after handing freed heap back to the kernel (glibc
// keeps freed blocks otherwise, which would hide nothing but blur the measure).
uint64_t ResidentBytes() {
  malloc_trim(0);
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// The release build runs the full 100,000 cycles; unoptimised or AddressSanitizer builds (several
// times slower) run a tenth of them, which exercises the same compactions and rebuilds.
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr int kCycleScale = 10;
#else
constexpr int kCycleScale = 1;
#endif
// AddressSanitizer holds freed blocks in a quarantine (up to 256 MB) and never hands them back,
// so resident memory grows with the allocations made, not with what is live; there its leak
// checker watches memory instead.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCheckResidentMemory = false;
#else
constexpr bool kCheckResidentMemory = true;
#endif

TEST_F(DurabilityTest, DiskAndMemoryStayBoundedOver100000AddDeleteCycles) {
  // A constant live set of 1,000 records; each call adds the next 100 records and deletes the
  // 100 oldest (one add and one delete per cycle). Sizes are measured after a compaction at a
  // tenth of the way (the reference) and at the end, and the directory's size between.
  // Commits are not fsynced (durable_commits = false) and the graph is small (M = 8,
  // ef_construction = 20): neither changes what is stored or kept, only the time taken.
  StoreOptions options;
  options.durable_commits = false;
  auto store = OpenStore(options);
  ASSERT_TRUE(store->CreateCollection("c", {.hnsw_m = 8, .ef_construction = 20}));
  constexpr int kLive = 1000, kBatch = 100, kCycles = 100'000 / kCycleScale;
  auto document = [](int i) {
    return fmt::format("record {} says word{} and word{}", i, i % 97, i % 13);
  };
  std::vector<Record> batch;
  for (int i = 0; i < kLive; ++i)
    batch.push_back({.id = std::to_string(i), .document = document(i), .metadata = {{"n", i}}});
  ASSERT_TRUE(store->Add("c", batch));
  uint64_t disk_reference = 0, rss_reference = 0, disk_peak = 0;
  for (int done = 0; done < kCycles; done += kBatch) {
    batch.clear();
    std::vector<std::string> old_ids;
    for (int i = kLive + done; i < kLive + done + kBatch; ++i) {
      batch.push_back({.id = std::to_string(i), .document = document(i), .metadata = {{"n", i}}});
      old_ids.push_back(std::to_string(i - kLive));
    }
    ASSERT_TRUE(store->Add("c", batch));
    auto deleted = store->Delete("c", {.ids = old_ids});
    ASSERT_TRUE(deleted) << deleted.error().message();
    ASSERT_EQ(*deleted, kBatch);
    if ((done + kBatch) % (kCycles / 20) != 0) continue;
    ASSERT_TRUE(store->Flush());
    disk_peak = std::max(disk_peak, store->Stats()->disk_bytes);
    if (done + kBatch == kCycles / 10) {
      ASSERT_TRUE(store->Compact());
      disk_reference = store->Stats()->disk_bytes;
      rss_reference = ResidentBytes();
    }
  }
  ASSERT_TRUE(store->Compact());
  auto stats = store->Stats();
  ASSERT_TRUE(stats);
  uint64_t rss_end = ResidentBytes();
  ASSERT_EQ(stats->collections.size(), 1u);
  EXPECT_EQ(stats->collections[0].count, kLive);
  EXPECT_EQ(stats->index_tombstones, 0);
  RecordProperty("disk_reference", std::to_string(disk_reference));
  RecordProperty("disk_end", std::to_string(stats->disk_bytes));
  RecordProperty("disk_peak", std::to_string(disk_peak));
  RecordProperty("rss_reference", std::to_string(rss_reference));
  RecordProperty("rss_end", std::to_string(rss_end));
  // After compaction the files hold the same live data as at the reference: nearly the same size.
  EXPECT_LE(stats->disk_bytes, disk_reference + disk_reference / 10)
      << disk_reference << " -> " << stats->disk_bytes;
  // Between compactions the tombstone rebuilds, full-text merges and the WAL limit bound growth.
  EXPECT_LE(disk_peak, 3 * disk_reference + (4u << 20)) << "peak " << disk_peak;
  // Memory: the index, its id map and SQLite's cache follow the live set, not the history.
  if (kCheckResidentMemory) {
    EXPECT_LE(rss_end, rss_reference + (4u << 20)) << rss_reference << " -> " << rss_end;
  }
  // The store still answers by meaning and by words.
  auto result = store->Query("c", {.text = document(kLive + kCycles - 1), .n_results = 3});
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_FALSE(result->hits.empty());
  EXPECT_EQ(result->hits[0].id, std::to_string(kLive + kCycles - 1));
}

}  // namespace
}  // namespace tandem::memory
