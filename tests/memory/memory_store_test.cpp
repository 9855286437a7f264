// MemoryStore behaviour on both backends (real SQLite files; a real PostgreSQL server) and real
// HNSW indexes, then what only the SQLite directory does (files, the write lock).
#include "tandem/memory/memory_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "memory/fake_embedder.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/postgres_memory_store.h"

namespace tandem::memory {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

enum class Backend { kSqlite, kPostgres };

// Each TEST_P runs once per backend (instantiated at the end as Sqlite/... and Postgres/...), on
// an empty store of its own: a new directory, or a new database on the binary's one server.
class MemoryStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      auto url = ::tandem::testing::CreateTestDatabase();
      if (!url && url.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << url.error().message();
      ASSERT_TRUE(url) << url.error().message();
      url_ = *url;
    }
  }

  // A store on this test's directory or database.
  Result<std::unique_ptr<MemoryStore>> Open(const StoreOptions& options,
                                            std::unique_ptr<llm::Embedder> embedder) {
    if (GetParam() == Backend::kSqlite)
      return MemoryStore::Open(dir_.path(), options, std::move(embedder));
    auto store = PostgresMemoryStore::Open(url_, options, std::move(embedder));
    if (!store) return std::unexpected(store.error());
    return std::unique_ptr<MemoryStore>(std::move(*store));
  }

  std::unique_ptr<MemoryStore> OpenStore(bool with_embedder = true, StoreOptions options = {}) {
    auto embedder = with_embedder ? std::make_unique<testing::FakeEmbedder>() : nullptr;
    auto store = Open(options, std::move(embedder));
    EXPECT_TRUE(store) << store.error().message();
    return store ? std::move(*store) : nullptr;
  }

  static std::vector<std::string> Ids(const QueryResult& result) {
    std::vector<std::string> ids;
    for (const Hit& hit : result.hits)
      ids.push_back(hit.id);
    return ids;
  }

  // Random unit-ish vectors of `dim` dimensions, seeded.
  static std::vector<float> RandomVector(std::mt19937& rng, int dim) {
    std::normal_distribution<float> normal;
    std::vector<float> vector(static_cast<size_t>(dim));
    for (float& x : vector)
      x = normal(rng);
    return vector;
  }

  ::tandem::testing::TempDir dir_;
  std::string url_;  // Postgres only.
};

TEST_P(MemoryStoreTest, AddGetUpsertDeleteRoundTrip) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("notes", {}));
  ASSERT_TRUE(store->Add("notes", {{.id = "1", .document = "first note", .metadata = {{"k", 1}}},
                                   {.id = "2", .document = "second note"}}));
  auto got = store->Get("notes", {.selection = {.ids = {"1"}}, .include = {.embeddings = true}});
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].document, "first note");
  EXPECT_EQ((*got)[0].metadata, json({{"k", 1}}));
  EXPECT_EQ((*got)[0].embedding.size(), 32u);

  auto duplicate = store->Add("notes", {{.id = "1", .document = "again"}});
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_THAT(duplicate.error().message(), HasSubstr("'1'"));

  ASSERT_TRUE(store->Upsert("notes", {{.id = "1", .document = "replaced"}}));
  got = store->Get("notes", {.selection = {.ids = {"1"}}});
  ASSERT_TRUE(got);
  EXPECT_EQ((*got)[0].document, "replaced");
  EXPECT_EQ((*got)[0].metadata, json::object());

  auto deleted = store->Delete("notes", {.ids = {"1", "missing"}});
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 1);
  got = store->Get("notes", {});
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, "2");
}

TEST_P(MemoryStoreTest, AddIsAllOrNothing) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("c", {}));
  ASSERT_TRUE(store->Add("c", {{.id = "x", .document = "x"}}));
  ASSERT_FALSE(store->Add("c", {{.id = "y", .document = "y"}, {.id = "x", .document = "dup"}}));
  auto all = store->Get("c", {});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_P(MemoryStoreTest, BadRecordsAreRejectedWithTheirId) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("c", {}));
  EXPECT_THAT(store->Add("c", {{.id = "", .document = "x"}}).error().message(),
              HasSubstr("empty id"));
  EXPECT_THAT(store->Add("c", {{.id = "a"}}).error().message(),
              HasSubstr("'a' has neither a document nor an embedding"));
  EXPECT_THAT(store->Add("c", {{.id = "b", .document = "x", .metadata = {{"n", {1, 2}}}}})
                  .error()
                  .message(),
              HasSubstr("record 'b'"));
  EXPECT_THAT(store->Add("c", {{.id = "d", .document = "x"}, {.id = "d", .document = "y"}})
                  .error()
                  .message(),
              HasSubstr("twice"));
  EXPECT_EQ(store->Add("nope", {{.id = "a", .document = "x"}}).error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(store->Delete("c", {}).error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(MemoryStoreTest, DistanceIsFixedPerCollection) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("c", {.distance = Distance::kL2}));
  auto again = store->GetOrCreateCollection("c", {.distance = Distance::kCosine});
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message(), HasSubstr("uses distance l2, not cosine"));
  EXPECT_EQ(store->CreateCollection("c", {}).error().code(), ErrorCode::kAlreadyExists);
  auto same = store->GetOrCreateCollection("c", {.distance = Distance::kL2});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->options.distance, Distance::kL2);
}

TEST_P(MemoryStoreTest, EmbeddingModelAndDimensionAreRecordedAndChecked) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store->CreateCollection("c", {}));
    ASSERT_TRUE(store->Add("c", {{.id = "a", .document = "alpha"}}));
    auto info = store->GetCollection("c");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->embedding_model, "fake-embed");
    EXPECT_EQ(info->dimension, 32);
    auto wrong_dim = store->Add("c", {{.id = "v", .embedding = std::vector<float>(8, 1.0f)}});
    ASSERT_FALSE(wrong_dim);
    EXPECT_THAT(wrong_dim.error().message(), HasSubstr("dimension 8"));
    auto wrong_query = store->Query("c", {.vector = std::vector<float>(5, 1.0f)});
    ASSERT_FALSE(wrong_query);
    EXPECT_THAT(wrong_query.error().message(), HasSubstr("dimension 5"));
  }
  auto other = Open({}, std::make_unique<testing::FakeEmbedder>("other-model", 32));
  ASSERT_TRUE(other);
  auto add = (*other)->Add("c", {{.id = "b", .document = "beta"}});
  ASSERT_FALSE(add);
  EXPECT_EQ(add.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(add.error().message(), HasSubstr("'fake-embed'"));
  EXPECT_THAT(add.error().message(), HasSubstr("'other-model'"));
  auto query = (*other)->Query("c", {.text = "alpha"});
  ASSERT_FALSE(query);
  EXPECT_EQ(query.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_P(MemoryStoreTest, WithoutEmbedderQueriesUseFullTextAndSaySo) {
  auto store = OpenStore(/*with_embedder=*/false);
  EXPECT_FALSE(store->has_embedder());
  ASSERT_TRUE(store->CreateCollection("c", {}));
  ASSERT_TRUE(store->Add("c", {{.id = "a", .document = "the quick brown fox"},
                               {.id = "b", .document = "a lazy dog sleeps"},
                               {.id = "c", .document = "quick quick quick fox fox"}}));
  auto result = store->Query("c", {.text = "quick fox", .n_results = 5});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_FALSE(result->used_vectors);
  EXPECT_TRUE(result->used_full_text);
  EXPECT_THAT(result->note, HasSubstr("no embedder configured"));
  EXPECT_THAT(Ids(*result), ElementsAre("c", "a"));
  ASSERT_TRUE(result->hits[0].bm25.has_value());
  EXPECT_FALSE(result->hits[0].distance.has_value());
  EXPECT_GT(*result->hits[0].bm25, *result->hits[1].bm25);
  ASSERT_TRUE(store->Flush());
  if (GetParam() == Backend::kSqlite) {
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
      EXPECT_NE(entry.path().extension(), ".hnsw") << "no vectors, so no index file";
  }
}

TEST_P(MemoryStoreTest, HybridQueryFusesBothRankingsDeterministically) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("c", {}));
  ASSERT_TRUE(store->Add("c", {{.id = "a", .document = "tandem runs agents locally"},
                               {.id = "b", .document = "the cloud costs money"},
                               {.id = "c", .document = "agents need memory"},
                               {.id = "d", .document = "unrelated gardening tips"}}));
  auto first = store->Query("c", {.text = "agents memory", .n_results = 3});
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(first->used_vectors);
  EXPECT_TRUE(first->used_full_text);
  ASSERT_EQ(first->hits.size(), 3u);
  EXPECT_EQ(first->hits[0].id, "c");  // First in both rankings.
  EXPECT_TRUE(first->hits[0].distance.has_value());
  EXPECT_TRUE(first->hits[0].bm25.has_value());
  EXPECT_DOUBLE_EQ(first->hits[0].score, 2.0 / 61);
  for (int i = 0; i < 3; ++i) {
    auto again = store->Query("c", {.text = "agents memory", .n_results = 3});
    ASSERT_TRUE(again);
    EXPECT_EQ(Ids(*again), Ids(*first));
  }
}

TEST_P(MemoryStoreTest, IncludeChoosesWhatIsReturned) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("c", {}));
  ASSERT_TRUE(store->Add("c", {{.id = "a", .document = "text", .metadata = {{"m", "v"}}}}));
  auto result = store->Query(
      "c",
      {.text = "text", .include = {.documents = false, .metadatas = false, .embeddings = true}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->hits.size(), 1u);
  EXPECT_EQ(result->hits[0].document, "");
  EXPECT_TRUE(result->hits[0].metadata.is_null());
  EXPECT_EQ(result->hits[0].embedding.size(), 32u);
}

TEST_P(MemoryStoreTest, IdsOnlyQueriesAgreeWithFullQueriesAfterUpsertsDeletesAndReopen) {
  // Ids-only queries take ids from the index's in-memory map; full ones read SQLite.
  std::mt19937 rng(7);
  std::vector<Record> records;
  for (int i = 0; i < 300; ++i)
    records.push_back({.id = "r" + std::to_string(i), .embedding = RandomVector(rng, 8)});
  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 20; ++i)
    queries.push_back(RandomVector(rng, 8));
  auto expect_agreement = [&](MemoryStore& store) {
    for (const auto& query : queries) {
      auto bare = store.Query(
          "c",
          {.vector = query, .n_results = 5, .include = {.documents = false, .metadatas = false}});
      auto full = store.Query("c", {.vector = query, .n_results = 5});
      ASSERT_TRUE(bare && full);
      EXPECT_EQ(Ids(*bare), Ids(*full));
      for (const std::string& id : Ids(*bare))
        EXPECT_NE(id, "r5") << "deleted record returned";
    }
  };
  {
    auto store = OpenStore(false);
    ASSERT_TRUE(store->CreateCollection("c", {.distance = Distance::kL2}));
    ASSERT_TRUE(store->Add("c", records));
    // Upserts give records new keys; the ids must follow them.
    std::vector<Record> moved;
    for (int i = 10; i < 60; ++i)
      moved.push_back({.id = "r" + std::to_string(i), .embedding = RandomVector(rng, 8)});
    ASSERT_TRUE(store->Upsert("c", moved));
    ASSERT_TRUE(store->Delete("c", {.ids = {"r5"}}));
    expect_agreement(*store);
  }
  auto reopened = OpenStore(false);  // SQLite: the index now comes from its file.
  expect_agreement(*reopened);
  EXPECT_EQ(reopened->Stats()->index_rebuilds, GetParam() == Backend::kSqlite ? 0 : 1);
}

TEST_P(MemoryStoreTest, VectorDistancesFollowTheCollectionMetric) {
  auto store = OpenStore(false);
  ASSERT_TRUE(store->CreateCollection("l2", {.distance = Distance::kL2}));
  ASSERT_TRUE(store->CreateCollection("cos", {.distance = Distance::kCosine}));
  ASSERT_TRUE(store->CreateCollection("ip", {.distance = Distance::kInnerProduct}));
  std::vector<Record> records = {{.id = "x", .embedding = {3, 0}},
                                 {.id = "y", .embedding = {0, 1}}};
  for (const char* name : {"l2", "cos", "ip"})
    ASSERT_TRUE(store->Add(name, records));
  auto l2 = store->Query("l2", {.vector = {1, 0}, .n_results = 2});
  ASSERT_TRUE(l2);
  EXPECT_THAT(Ids(*l2), ElementsAre("y", "x"));
  EXPECT_FLOAT_EQ(*l2->hits[0].distance, 2.0f);  // Squared L2.
  EXPECT_FLOAT_EQ(*l2->hits[1].distance, 4.0f);
  auto cos = store->Query("cos", {.vector = {2, 0}, .n_results = 2});
  ASSERT_TRUE(cos);
  EXPECT_NEAR(*cos->hits[0].distance, 0.0f, 1e-6);
  EXPECT_NEAR(*cos->hits[1].distance, 1.0f, 1e-6);
  auto ip = store->Query("ip", {.vector = {1, 0}, .n_results = 2});
  ASSERT_TRUE(ip);
  EXPECT_FLOAT_EQ(*ip->hits[0].distance, 1.0f - 3.0f);
}

TEST_P(MemoryStoreTest, SelectiveFiltersReturnMinOfNAndMatches) {
  StoreOptions options;
  options.exact_search_max = 4;  // Force the over-fetch path for larger match sets.
  auto store = OpenStore(false, options);
  ASSERT_TRUE(store->CreateCollection("c", {.distance = Distance::kL2}));
  std::mt19937 rng(7);
  std::vector<Record> records;
  for (int i = 0; i < 3000; ++i) {
    // "rare" on 1 in 300 records, "some" on 1 in 10.
    records.push_back({.id = "r" + std::to_string(i),
                       .metadata = {{"rare", i % 300 == 0}, {"some", i % 10 == 0}, {"i", i}},
                       .embedding = RandomVector(rng, 16)});
  }
  ASSERT_TRUE(store->Add("c", records));
  std::vector<float> query = RandomVector(rng, 16);
  struct Case {
    json where;
    size_t n;
    size_t expected;
  };
  for (const Case& test : {Case{{{"rare", true}}, 20, 10}, Case{{{"rare", true}}, 5, 5},
                           Case{{{"some", true}}, 50, 50}, Case{{{"i", {{"$lt", 3}}}}, 10, 3},
                           Case{{{"i", {{"$gte", 2990}}}}, 25, 10}, Case{{{"i", -1}}, 10, 0}}) {
    auto result = store->Query("c", {.vector = query, .n_results = test.n, .where = test.where});
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->hits.size(), test.expected) << test.where.dump();
    for (const Hit& hit : result->hits) {
      auto match = store->Get("c", {.selection = {.ids = {hit.id}, .where = test.where}});
      ASSERT_TRUE(match);
      EXPECT_EQ(match->size(), 1u) << hit.id << " does not match " << test.where.dump();
    }
    for (size_t i = 1; i < result->hits.size(); ++i)
      EXPECT_LE(*result->hits[i - 1].distance, *result->hits[i].distance);
  }
}

TEST_P(MemoryStoreTest, FilteredQueryMatchesExactSearchOnTheMatches) {
  auto store = OpenStore(false);
  ASSERT_TRUE(store->CreateCollection("c", {.distance = Distance::kL2}));
  std::mt19937 rng(11);
  std::vector<Record> records;
  for (int i = 0; i < 500; ++i) {
    records.push_back({.id = "r" + std::to_string(i),
                       .metadata = {{"group", i % 50}},
                       .embedding = RandomVector(rng, 8)});
  }
  ASSERT_TRUE(store->Add("c", records));
  std::vector<float> query = RandomVector(rng, 8);
  auto result = store->Query("c", {.vector = query, .n_results = 3, .where = {{"group", 7}}});
  ASSERT_TRUE(result);
  // Brute force over the 10 records of group 7.
  std::vector<std::pair<float, std::string>> expected;
  for (int i = 7; i < 500; i += 50) {
    float d = 0;
    for (size_t j = 0; j < 8; ++j) {
      float diff = records[static_cast<size_t>(i)].embedding[j] - query[j];
      d += diff * diff;
    }
    expected.emplace_back(d, records[static_cast<size_t>(i)].id);
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(result->hits.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(result->hits[i].id, expected[i].second);
    EXPECT_NEAR(*result->hits[i].distance, expected[i].first, 1e-4);
  }
}

TEST_P(MemoryStoreTest, ReadersSeeCommittedDataWhileTheWriterIsOpen) {
  auto writer = OpenStore(false);
  ASSERT_TRUE(writer->CreateCollection("c", {}));
  ASSERT_TRUE(writer->Add("c", {{.id = "a", .document = "shared words here"}}));
  auto reader = Open({.read_only = true}, nullptr);
  ASSERT_TRUE(reader) << reader.error().message();
  auto result = (*reader)->Query("c", {.text = "words"});
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_THAT(Ids(*result), ElementsAre("a"));
  auto add = (*reader)->Add("c", {{.id = "b", .document = "x"}});
  ASSERT_FALSE(add);
  EXPECT_THAT(add.error().message(), HasSubstr("read-only"));
  ASSERT_TRUE(writer->Add("c", {{.id = "b", .document = "more words"}}));
  result = (*reader)->Query("c", {.text = "words"});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->hits.size(), 2u);
}

TEST_P(MemoryStoreTest, ReadOnlyOpenOfMissingStoreIsNotFound) {
  // Nothing has been written to this test's directory or database yet.
  auto reader = Open({.read_only = true}, nullptr);
  ASSERT_FALSE(reader);
  EXPECT_EQ(reader.error().code(), ErrorCode::kNotFound);
}

// What only the SQLite directory does: index files, the one-writer lock.
class SqliteMemoryStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<MemoryStore> OpenStore(bool with_embedder = true) {
    auto embedder = with_embedder ? std::make_unique<testing::FakeEmbedder>() : nullptr;
    auto store = MemoryStore::Open(dir_.path(), {}, std::move(embedder));
    EXPECT_TRUE(store) << store.error().message();
    return store ? std::move(*store) : nullptr;
  }

  ::tandem::testing::TempDir dir_;
};

TEST_F(SqliteMemoryStoreTest, SecondWriterInTheSameProcessIsRefused) {
  auto writer = OpenStore(false);
  auto second = MemoryStore::Open(dir_.path(), {}, nullptr);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(second.error().message(), HasSubstr("open for writing by another process"));
}

TEST_P(MemoryStoreTest, TombstonesTriggerAnIndexRebuild) {
  StoreOptions options;
  options.tombstone_min = 10;
  auto store = OpenStore(false, options);
  ASSERT_TRUE(store->CreateCollection("c", {.distance = Distance::kL2}));
  std::mt19937 rng(3);
  std::vector<Record> records;
  for (int i = 0; i < 100; ++i)
    records.push_back({.id = std::to_string(i), .embedding = RandomVector(rng, 4)});
  ASSERT_TRUE(store->Add("c", records));
  int64_t rebuilds_before = store->Stats()->index_rebuilds;
  // A query brings the index up to date (PostgreSQL applies other writes only then).
  auto query = [&] { ASSERT_TRUE(store->Query("c", {.vector = records[99].embedding})); };
  query();
  for (int i = 0; i < 19; ++i)
    ASSERT_TRUE(store->Delete("c", {.ids = {std::to_string(i)}}));
  query();
  EXPECT_EQ(store->Stats()->index_tombstones, 19);
  for (int i = 19; i < 22; ++i)
    ASSERT_TRUE(store->Delete("c", {.ids = {std::to_string(i)}}));
  query();
  auto stats = store->Stats();
  EXPECT_GT(stats->index_rebuilds, rebuilds_before);
  EXPECT_LT(stats->index_tombstones, 19);
  auto result = store->Query("c", {.vector = records[50].embedding, .n_results = 1});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->hits[0].id, "50");
}

TEST_P(MemoryStoreTest, DeleteCollectionRemovesItsRecords) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("c", {}));
  ASSERT_TRUE(store->Add("c", {{.id = "a", .document = "text"}}));
  ASSERT_TRUE(store->Query("c", {.text = "text"}));
  ASSERT_TRUE(store->DeleteCollection("c"));
  EXPECT_EQ(store->GetCollection("c").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->DeleteCollection("c").error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store->CreateCollection("c", {}));
  auto all = store->Get("c", {});
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  auto found = store->Query("c", {.text = "text"});
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->hits.empty());
  auto listed = store->ListCollections();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].count, 0);
}

TEST_F(SqliteMemoryStoreTest, DeleteCollectionRemovesItsIndexFile) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("c", {}));
  ASSERT_TRUE(store->Add("c", {{.id = "a", .document = "text"}}));
  ASSERT_TRUE(store->Flush());
  auto info = store->GetCollection("c");
  auto* impl = dynamic_cast<MemoryStoreImpl*>(store.get());
  ASSERT_NE(impl, nullptr);
  EXPECT_TRUE(std::filesystem::exists(impl->IndexPath(info->id)));
  ASSERT_TRUE(store->DeleteCollection("c"));
  EXPECT_FALSE(std::filesystem::exists(impl->IndexPath(info->id)));
  EXPECT_EQ(store->GetCollection("c").error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store->CreateCollection("c", {}));
  auto all = store->Get("c", {});
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

INSTANTIATE_TEST_SUITE_P(Sqlite, MemoryStoreTest, ::testing::Values(Backend::kSqlite));
INSTANTIATE_TEST_SUITE_P(Postgres, MemoryStoreTest, ::testing::Values(Backend::kPostgres));

}  // namespace
}  // namespace tandem::memory
