// Crash safety, index damage, real deletes and bounded disk use, on real files and processes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
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

TEST_F(DurabilityTest, DiskStaysBoundedOverAddDeleteCycles) {
  // 20,000 add/delete cycles (not 100,000, to keep the suite fast) over a constant live set of
  // 200 records, 50 cycles per transaction; commits are not fsynced (durable_commits = false),
  // which changes nothing about sizes.
  StoreOptions options;
  options.durable_commits = false;
  auto store = OpenStore(options);
  ASSERT_TRUE(store->CreateCollection("c", {}));
  constexpr int kLive = 200, kCycles = 20'000, kBatch = 50;
  std::vector<Record> batch;
  for (int i = 0; i < kLive; ++i)
    batch.push_back({.id = std::to_string(i), .document = fmt::format("live record {} text", i)});
  ASSERT_TRUE(store->Add("c", batch));
  uint64_t size_at_quarter = 0;
  for (int start = kLive; start < kLive + kCycles; start += kBatch) {
    batch.clear();
    std::vector<std::string> old_ids;
    for (int i = start; i < start + kBatch; ++i) {
      batch.push_back({.id = std::to_string(i), .document = fmt::format("record {} text", i)});
      old_ids.push_back(std::to_string(i - kLive));
    }
    ASSERT_TRUE(store->Add("c", batch));
    auto deleted = store->Delete("c", {.ids = old_ids});
    ASSERT_TRUE(deleted);
    ASSERT_EQ(*deleted, kBatch);
    if (start - kLive == kCycles / 4) {
      ASSERT_TRUE(store->Flush());
      size_at_quarter = store->Stats()->disk_bytes;
    }
  }
  ASSERT_TRUE(store->Flush());
  auto stats = store->Stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->collections[0].count, kLive);
  // Growth from a quarter of the way to the end is bounded (the same live data both times).
  EXPECT_LT(stats->disk_bytes, size_at_quarter * 2)
      << size_at_quarter << " -> " << stats->disk_bytes;
  EXPECT_LT(stats->disk_bytes, 8u << 20);
  EXPECT_LE(stats->index_tombstones, kLive);
}

}  // namespace
}  // namespace tandem::memory
