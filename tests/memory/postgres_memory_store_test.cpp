// Memory in PostgreSQL shared by several stores (separate connections and index caches, as
// separate worker processes have), the factory that selects it, and its bad input.
#include "tandem/memory/postgres_memory_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "memory/fake_embedder.h"
#include "support/free_port.h"
#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "tandem/core/config.h"
#include "tandem/core/pg_connection.h"
#include "tandem/memory/memory.h"

namespace tandem::memory {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

class PostgresMemoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = ::tandem::testing::CreateTestDatabase();
    if (!url && url.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << url.error().message();
    ASSERT_TRUE(url) << url.error().message();
    url_ = *url;
  }

  // A store with its own connection and its own index cache, like another worker process.
  std::unique_ptr<PostgresMemoryStore> OpenStore(StoreOptions options = {}) {
    auto store =
        PostgresMemoryStore::Open(url_, options, std::make_unique<testing::FakeEmbedder>());
    EXPECT_TRUE(store) << store.error().message();
    return store ? std::move(*store) : nullptr;
  }

  static std::vector<std::string> Ids(const Result<QueryResult>& result) {
    std::vector<std::string> ids;
    EXPECT_TRUE(result) << result.error().message();
    if (!result) return ids;
    for (const Hit& hit : result->hits)
      ids.push_back(hit.id);
    return ids;
  }

  // Ids of the hits the full-text ranking found (hybrid queries also rank every vector).
  static std::vector<std::string> WordMatches(const Result<QueryResult>& result) {
    std::vector<std::string> ids;
    EXPECT_TRUE(result) << result.error().message();
    if (!result) return ids;
    for (const Hit& hit : result->hits) {
      if (hit.bm25) ids.push_back(hit.id);
    }
    return ids;
  }

  static std::vector<std::string> Ids(const Result<std::vector<Hit>>& hits) {
    std::vector<std::string> ids;
    EXPECT_TRUE(hits) << hits.error().message();
    if (!hits) return ids;
    for (const Hit& hit : *hits)
      ids.push_back(hit.id);
    return ids;
  }

  std::string url_;
  ::tandem::testing::TempDir dir_;
};

TEST_F(PostgresMemoryStoreTest, TwoStoresOnOneDatabaseSeeEachOthersWrites) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a->CreateCollection("notes", {}));
  ASSERT_TRUE(a->Add("notes", {{.id = "cmake",
                                .document = "the build uses cmake and ninja",
                                .metadata = {{"topic", "build"}}},
                               {.id = "garden",
                                .document = "tomatoes need sun and water",
                                .metadata = {{"topic", "garden"}}}}));
  // B's first query builds its index from the database.
  EXPECT_THAT(Ids(b->Query("notes", {.text = "cmake build", .n_results = 1})),
              ElementsAre("cmake"));
  auto vector_only =
      b->Query("notes", {.vector = testing::FakeEmbedder().Vector("tomatoes sun"), .n_results = 1});
  EXPECT_THAT(Ids(vector_only), ElementsAre("garden"));
  EXPECT_EQ(b->Stats()->index_rebuilds, 1);

  // B writes; A, whose cache is older, sees it at once, by vector and by words.
  ASSERT_TRUE(b->Add("notes", {{.id = "tests",
                                .document = "ctest runs the googletest binaries",
                                .metadata = {{"topic", "build"}}}}));
  EXPECT_THAT(Ids(a->Query("notes", {.vector = testing::FakeEmbedder().Vector("googletest"),
                                     .n_results = 1})),
              ElementsAre("tests"));
  EXPECT_THAT(WordMatches(a->Query("notes", {.text = "googletest", .n_results = 3})),
              ElementsAre("tests"));
  EXPECT_THAT(Ids(a->Get("notes", {.selection = {.where = {{"topic", "build"}}}})),
              ElementsAre("cmake", "tests"));

  // A deletes and upserts; B follows incrementally, without another rebuild.
  ASSERT_TRUE(a->Delete("notes", {.ids = {"cmake"}}));
  ASSERT_TRUE(a->Upsert("notes", {{.id = "garden",
                                   .document = "peppers need warmth",
                                   .metadata = {{"topic", "garden"}, {"year", 2026}}}}));
  auto after = b->Query("notes", {.text = "cmake build tomatoes peppers", .n_results = 10});
  EXPECT_THAT(Ids(after), UnorderedElementsAre("garden", "tests"));
  for (const Hit& hit : after->hits) {
    if (hit.id == "garden") {
      EXPECT_EQ(hit.document, "peppers need warmth");
    }
  }
  EXPECT_THAT(Ids(b->Query("notes", {.vector = testing::FakeEmbedder().Vector("peppers warmth"),
                                     .n_results = 3,
                                     .where = {{"year", {{"$gte", 2026}}}}})),
              ElementsAre("garden"));
  EXPECT_THAT(WordMatches(b->Query("notes", {.text = "tomatoes", .n_results = 3})), ElementsAre());
  auto stats = b->Stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->index_rebuilds, 1) << "B refreshed from the change log";
  EXPECT_EQ(stats->index_tombstones, 2) << "the deleted and the replaced vector";
  ASSERT_EQ(stats->collections.size(), 1u);
  EXPECT_EQ(stats->collections[0].count, 2);

  // A collection deleted by one store is gone for the other.
  ASSERT_TRUE(a->DeleteCollection("notes"));
  EXPECT_EQ(b->Query("notes", {.text = "peppers"}).error().code(), ErrorCode::kNotFound);
}

TEST_F(PostgresMemoryStoreTest, WritersWithTheirOwnConnectionsLoseNothing) {
  constexpr int kWriters = 4;
  constexpr int kRecordsEach = 30;
  auto reader = OpenStore();
  ASSERT_TRUE(reader->CreateCollection("c", {}));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto store = OpenStore();
      if (!store) {
        ++failures;
        return;
      }
      for (int i = 0; i < kRecordsEach; ++i) {
        std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
        if (!store->Add("c",
                        {{.id = id, .document = "note " + id + " writer" + std::to_string(w)}}))
          ++failures;
      }
    });
  }
  // Queries alongside the writers always succeed on a consistent snapshot.
  for (int i = 0; i < 10; ++i) {
    auto found = reader->Query("c", {.text = "note", .n_results = 5});
    EXPECT_TRUE(found) << found.error().message();
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(failures, 0);
  auto all = reader->Get("c", {});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), static_cast<size_t>(kWriters * kRecordsEach));
  auto nearest = reader->Query("c", {.vector = testing::FakeEmbedder().Vector("note writer2"),
                                     .n_results = static_cast<size_t>(kWriters * kRecordsEach),
                                     .include = {.documents = false, .metadatas = false}});
  ASSERT_TRUE(nearest);
  EXPECT_EQ(nearest->hits.size(), static_cast<size_t>(kWriters * kRecordsEach))
      << "the index holds every writer's vectors";
}

TEST_F(PostgresMemoryStoreTest, CompactMakesOtherStoresRebuildAndStayCorrect) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a->CreateCollection("c", {}));
  ASSERT_TRUE(a->Add("c", {{.id = "x", .document = "alpha beta"}}));
  ASSERT_TRUE(b->Query("c", {.text = "alpha"}));
  ASSERT_TRUE(a->Add("c", {{.id = "y", .document = "gamma delta"}}));
  ASSERT_TRUE(a->Compact());  // Empties the change log B would refresh from.
  EXPECT_THAT(
      Ids(b->Query("c", {.vector = testing::FakeEmbedder().Vector("gamma delta"), .n_results = 1})),
      ElementsAre("y"));
  EXPECT_EQ(b->Stats()->index_rebuilds, 2);
  auto admin = pg::Connection::Open(url_);
  ASSERT_TRUE(admin);
  auto changes = (*admin)->Run("SELECT count(*) FROM memory_changes");
  ASSERT_TRUE(changes);
  EXPECT_EQ(changes->Int(0, 0), 0);
}

TEST_F(PostgresMemoryStoreTest, TheChangeLogStaysBoundedAndLaggardsRebuild) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a->CreateCollection("c", {.distance = Distance::kL2}));
  ASSERT_TRUE(a->Add("c", {{.id = "fixed", .embedding = {0, 0}}}));
  ASSERT_TRUE(b->Query("c", {.vector = {0, 0}}));
  // Each upsert is one version that logs a removed and an added key.
  for (int i = 1; i <= 1200; ++i) {
    ASSERT_TRUE(a->Upsert("c", {{.id = "moving", .embedding = {static_cast<float>(i), 0}}}));
  }
  auto admin = pg::Connection::Open(url_);
  ASSERT_TRUE(admin);
  auto log = (*admin)->Run("SELECT count(*), min(version) FROM memory_changes");
  ASSERT_TRUE(log);
  EXPECT_LE(log->Int(0, 0), 2 * 1100) << "pruned to the last 1,000 versions (every 100)";
  EXPECT_GT(log->Int(0, 1), 1);
  // B's index is older than the log reaches: it rebuilds, and sees the last upsert only.
  auto found = b->Query("c", {.vector = {1200, 0}, .n_results = 5});
  EXPECT_THAT(Ids(found), ElementsAre("moving", "fixed"));
  EXPECT_EQ(found->hits[0].distance, 0.0f);
  EXPECT_EQ(b->Stats()->index_rebuilds, 2);
}

TEST_F(PostgresMemoryStoreTest, ConcurrentOpensOfAFreshDatabaseMigrateOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (PostgresMemoryStore::Open(url_, {}, nullptr)) ++opened;
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(opened, 4);
  auto admin = pg::Connection::Open(url_);
  ASSERT_TRUE(admin);
  auto versions = (*admin)->Run("SELECT version FROM memory_schema_migrations");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1);
  EXPECT_EQ(versions->Int(0, 0), PostgresMemoryStore::SchemaVersion());
  auto task_table = (*admin)->Run("SELECT to_regclass('schema_migrations') IS NULL");
  ASSERT_TRUE(task_table);
  EXPECT_TRUE(task_table->Bool(0, 0)) << "memory keeps its own version table";
}

TEST_F(PostgresMemoryStoreTest, ANewerMemorySchemaIsRefused) {
  ASSERT_TRUE(OpenStore());
  auto admin = pg::Connection::Open(url_);
  ASSERT_TRUE(admin);
  ASSERT_TRUE((*admin)->Exec(
      "INSERT INTO memory_schema_migrations (version, applied_at_ms) VALUES (99, 0)"));
  for (bool read_only : {false, true}) {
    auto store = PostgresMemoryStore::Open(url_, {.read_only = read_only}, nullptr);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_THAT(store.error().message(), HasSubstr("99"));
    EXPECT_THAT(store.error().message(), HasSubstr(url_));
  }
}

TEST_F(PostgresMemoryStoreTest, BadUrlsGetClearErrorsWithoutThePassword) {
  auto malformed = PostgresMemoryStore::Open(
      "postgres://tandem:hunter2@127.0.0.1/db?no_such_option=1", {}, nullptr);
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(malformed.error().message(), HasSubstr("opening memory"));
  EXPECT_THAT(malformed.error().message(), Not(HasSubstr("hunter2")));

  ::tandem::testing::RefusingLoopbackPort refusing;
  ASSERT_GT(refusing.port(), 0);
  auto refused = PostgresMemoryStore::Open(
      "postgresql://tandem:hunter2@127.0.0.1:" + std::to_string(refusing.port()) + "/db", {},
      nullptr);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(refused.error().message(), HasSubstr("postgresql://tandem@127.0.0.1:"));
  EXPECT_THAT(refused.error().message(), Not(HasSubstr("hunter2")));

  auto missing = PostgresMemoryStore::Open(
      (*::tandem::testing::SharedPostgresServer())->Url("no_such_database"), {}, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr("does not exist"));
}

TEST_F(PostgresMemoryStoreTest, TextPostgresCannotHoldIsRefusedNotTruncated) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateCollection("c", {}));
  for (std::string text : {std::string("before\0after", 12), std::string("bad \xff byte")}) {
    Status added = store->Add("c", {{.id = "x", .document = text}});
    ASSERT_FALSE(added);
    EXPECT_EQ(added.error().code(), ErrorCode::kInvalidArgument) << added.error().message();
  }
  auto all = store->Get("c", {});
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

// OpenMemoryStore follows the task store: PostgreSQL for a postgres:// `store`, else SQLite.
class PostgresOpenMemoryStoreTest : public PostgresMemoryStoreTest {
 protected:
  Result<Config> Parse(const std::string& text, std::map<std::string, std::string> env = {}) {
    env["TANDEM_HOME"] = (dir_.path() / "home").string();
    return ParseConfig(text, dir_.path() / "tandem.toml", {.environment = env});
  }
};

TEST_F(PostgresOpenMemoryStoreTest, PostgresFollowsTheTaskStoreUrl) {
  auto from_file = Parse("store = \"" + url_ + "\"\n");
  ASSERT_TRUE(from_file) << from_file.error().message();
  auto writer = OpenMemoryStore(*from_file, {}, nullptr);
  ASSERT_TRUE(writer) << writer.error().message();
  ASSERT_TRUE((*writer)->CreateCollection("c", {}));
  ASSERT_TRUE((*writer)->Add("c", {{.id = "a", .document = "shared"}}));
  EXPECT_EQ((*writer)->Stats()->location, url_);
  EXPECT_EQ(*MemoryLocation(*from_file), url_);

  auto from_env = Parse("", {{"TANDEM_STORE", url_}});
  ASSERT_TRUE(from_env);
  auto reader = OpenMemoryStore(*from_env, {.read_only = true}, nullptr);
  ASSERT_TRUE(reader) << reader.error().message();
  EXPECT_THAT(Ids((*reader)->Query("c", {.text = "shared"})), ElementsAre("a"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "home" / "memory"));
}

TEST_F(PostgresOpenMemoryStoreTest, OtherwiseTheSqliteDirectory) {
  auto config = Parse("store = \"tasks.db\"\n");
  ASSERT_TRUE(config);
  auto store = OpenMemoryStore(*config, {}, nullptr);
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_EQ((*store)->Stats()->location, (dir_.path() / "home" / "memory").string());
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "home" / "memory" / "memory.db"));
}

TEST_F(PostgresOpenMemoryStoreTest, AStoreThatIsNotAStringIsInvalidArgument) {
  auto config = Parse("store = 5\n");
  ASSERT_TRUE(config) << config.error().message();
  auto store = OpenMemoryStore(*config, {}, nullptr);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(store.error().message(), HasSubstr("store"));
}

}  // namespace
}  // namespace tandem::memory
