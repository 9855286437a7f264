// Filter syntax errors, and filter semantics checked against real stores of both backends.
#include "tandem/memory/filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/postgres_server.h"
#include "support/temp_dir.h"
#include "tandem/memory/memory.h"
#include "tandem/memory/postgres_memory_store.h"

namespace tandem::memory {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::string ErrorOf(const json& where) {
  Status status = ValidateWhere(where);
  return status ? "" : status.error().message();
}

TEST(FilterErrorTest, UnknownOperatorIsNamedWithItsPath) {
  EXPECT_THAT(ErrorOf({{"year", {{"$gtx", 3}}}}),
              HasSubstr("where.year.$gtx: unknown operator '$gtx'"));
  EXPECT_THAT(ErrorOf({{"$and", {{{"a", 1}}, {{"b", {{"$regex", "x"}}}}}}}),
              HasSubstr("where.$and[1].b.$regex: unknown operator '$regex'"));
  EXPECT_THAT(ErrorOf({{"$not", {{"a", 1}}}}), HasSubstr("where.$not: unknown operator '$not'"));
}

TEST(FilterErrorTest, BadOperandsAreRejected) {
  EXPECT_THAT(ErrorOf({{"year", {{"$gt", "2020"}}}}),
              HasSubstr("where.year.$gt: $gt takes a number"));
  EXPECT_THAT(ErrorOf({{"tag", {{"$in", json::array()}}}}), HasSubstr("non-empty array"));
  EXPECT_THAT(ErrorOf({{"tag", {{"$in", {1, json::object()}}}}}), HasSubstr("where.tag.$in[1]"));
  EXPECT_THAT(ErrorOf({{"$or", json::array()}}), HasSubstr("where.$or"));
  EXPECT_THAT(ErrorOf({{"a", {{"$eq", 1}, {"$ne", 2}}}}), HasSubstr("where.a"));
  EXPECT_THAT(ErrorOf(json::array()), HasSubstr("expected a non-empty object"));
  EXPECT_THAT(ErrorOf({{"a", nullptr}}), HasSubstr("where.a"));
  EXPECT_TRUE(ValidateWhere(nullptr).has_value());
}

TEST(FilterErrorTest, DocumentFilterErrors) {
  EXPECT_THAT(ValidateWhereDocument({{"$like", "x"}}).error().message(),
              HasSubstr("where_document.$like: unknown operator '$like'"));
  EXPECT_THAT(ValidateWhereDocument({{"$contains", ""}}).error().message(),
              HasSubstr("non-empty string"));
  EXPECT_THAT(
      ValidateWhereDocument({{"$and", {{{"$contains", "a"}}, {{"$foo", "b"}}}}}).error().message(),
      HasSubstr("where_document.$and[1].$foo"));
}

TEST(FilterErrorTest, MetadataMustBeFlatScalars) {
  EXPECT_FALSE(ValidateMetadata({{"a", {{"b", 1}}}}).has_value());
  EXPECT_FALSE(ValidateMetadata({{"$a", 1}}).has_value());
  EXPECT_FALSE(ValidateMetadata(json::array()).has_value());
  EXPECT_FALSE(ValidateMetadata({{"a", nullptr}}).has_value());
  EXPECT_TRUE(ValidateMetadata({{"a", 1}, {"b", "x"}, {"c", true}, {"d", 2.5}}).has_value());
}

TEST(FilterSqlTest, PostgresSelectionNumbersItsPlaceholdersAndNamesItsTables) {
  auto compiled = CompileSelection(SqlDialect::kPostgres, 7, {"a"}, {{"k", {{"$in", {1, "x"}}}}},
                                   {{"$contains", "?"}});
  ASSERT_TRUE(compiled) << compiled.error().message();
  EXPECT_THAT(compiled->clause, HasSubstr("r.collection_id = $1"));
  EXPECT_THAT(compiled->clause, HasSubstr("memory_record_meta m WHERE m.key = $3"));
  EXPECT_THAT(compiled->clause, HasSubstr("strpos(r.document, $6)"));
  EXPECT_EQ(compiled->clause.find('?'), std::string::npos) << compiled->clause;
  EXPECT_EQ(compiled->params.size(), 6u);
}

enum class Backend { kSqlite, kPostgres };

// The same records and filters on each backend (Sqlite/... and Postgres/...): filters compile to
// each one's SQL from one compiler and must select the same records.
class FilterSemanticsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<MemoryStore>> store = std::unique_ptr<MemoryStore>();
    if (GetParam() == Backend::kSqlite) {
      store = MemoryStore::Open(dir_.path(), {}, nullptr);
    } else {
      auto url = ::tandem::testing::CreateTestDatabase();
      if (!url && url.error().code() == ErrorCode::kNotFound) GTEST_SKIP() << url.error().message();
      ASSERT_TRUE(url) << url.error().message();
      auto opened = PostgresMemoryStore::Open(*url, {}, nullptr);
      ASSERT_TRUE(opened) << opened.error().message();
      store = std::unique_ptr<MemoryStore>(std::move(*opened));
    }
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->CreateCollection("c", {}));
    std::vector<Record> records = {
        {.id = "a",
         .document = "red apple pie",
         .metadata = {{"year", 2020}, {"tag", "fruit"}, {"ok", true}}},
        {.id = "b", .document = "green apple", .metadata = {{"year", 2021.5}, {"tag", "fruit"}}},
        {.id = "c",
         .document = "red car",
         .metadata = {{"year", 2022}, {"tag", "car"}, {"ok", false}}},
        {.id = "d", .document = "blue sky", .metadata = {{"tag", "sky"}, {"year", "2020"}}},
        {.id = "e", .document = "Red Sun"},
    };
    ASSERT_TRUE(store_->Add("c", records));
  }

  std::vector<std::string> Ids(const json& where, const json& where_document = nullptr) {
    auto hits = store_->Get("c", {.selection = {.where = where, .where_document = where_document}});
    EXPECT_TRUE(hits) << hits.error().message();
    std::vector<std::string> ids;
    if (hits) {
      for (const Hit& hit : *hits)
        ids.push_back(hit.id);
    }
    return ids;
  }

  testing::TempDir dir_;
  std::unique_ptr<MemoryStore> store_;
};

TEST_P(FilterSemanticsTest, EqualityIsTypedAndImplicit) {
  EXPECT_THAT(Ids({{"year", 2020}}), ElementsAre("a"));  // Not the string "2020".
  EXPECT_THAT(Ids({{"year", "2020"}}), ElementsAre("d"));
  EXPECT_THAT(Ids({{"year", {{"$eq", 2021.5}}}}), ElementsAre("b"));
  EXPECT_THAT(Ids({{"ok", true}}), ElementsAre("a"));
  EXPECT_THAT(Ids({{"ok", 1}}), ElementsAre());  // A boolean is not the number 1.
}

TEST_P(FilterSemanticsTest, NotEqualAndNotInIncludeRecordsWithoutTheKey) {
  EXPECT_THAT(Ids({{"tag", {{"$ne", "fruit"}}}}), ElementsAre("c", "d", "e"));
  EXPECT_THAT(Ids({{"tag", {{"$nin", {"fruit", "car"}}}}}), ElementsAre("d", "e"));
}

TEST_P(FilterSemanticsTest, ComparisonsApplyToNumbersOnly) {
  EXPECT_THAT(Ids({{"year", {{"$gt", 2020}}}}), ElementsAre("b", "c"));
  EXPECT_THAT(Ids({{"year", {{"$gte", 2020}}}}), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Ids({{"year", {{"$lt", 2021.5}}}}), ElementsAre("a"));
  EXPECT_THAT(Ids({{"year", {{"$lte", 2021.5}}}}), ElementsAre("a", "b"));
}

TEST_P(FilterSemanticsTest, InMatchesAnyListedValueOfMatchingType) {
  EXPECT_THAT(Ids({{"tag", {{"$in", {"car", "sky"}}}}}), ElementsAre("c", "d"));
  EXPECT_THAT(Ids({{"year", {{"$in", {2022, "2020"}}}}}), ElementsAre("c", "d"));
}

TEST_P(FilterSemanticsTest, AndOrCombine) {
  EXPECT_THAT(Ids({{"$and", {{{"tag", "fruit"}}, {{"year", {{"$gt", 2020}}}}}}}), ElementsAre("b"));
  EXPECT_THAT(Ids({{"$or", {{{"tag", "sky"}}, {{"ok", false}}}}}), ElementsAre("c", "d"));
  EXPECT_THAT(Ids({{"tag", "fruit"}, {"ok", true}}), ElementsAre("a"));  // Keys AND together.
  EXPECT_THAT(
      Ids({{"$or", {{{"$and", {{{"tag", "fruit"}}, {{"year", 2020}}}}}, {{"tag", "car"}}}}}),
      ElementsAre("a", "c"));
}

TEST_P(FilterSemanticsTest, DocumentContainsIsCaseSensitive) {
  EXPECT_THAT(Ids(nullptr, {{"$contains", "red"}}), ElementsAre("a", "c"));
  EXPECT_THAT(Ids(nullptr, {{"$not_contains", "red"}}), ElementsAre("b", "d", "e"));
  EXPECT_THAT(Ids(nullptr, {{"$or", {{{"$contains", "sky"}}, {{"$contains", "Sun"}}}}}),
              ElementsAre("d", "e"));
  EXPECT_THAT(Ids({{"tag", "fruit"}}, {{"$contains", "pie"}}), ElementsAre("a"));
}

TEST_P(FilterSemanticsTest, BadFilterFailsTheCallWithTheError) {
  auto hits = store_->Get("c", {.selection = {.where = {{"year", {{"$between", 1}}}}}});
  ASSERT_FALSE(hits);
  EXPECT_EQ(hits.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(hits.error().message(), HasSubstr("$between"));
}

TEST_P(FilterSemanticsTest, UserTextCannotInjectSql) {
  EXPECT_THAT(Ids({{"tag", "x') OR 1=1 --"}}), ElementsAre());
  EXPECT_THAT(Ids({{"x') OR 1=1 --", "y"}}), ElementsAre());
}

TEST_P(FilterSemanticsTest, FiltersApplyToQueriesToo) {
  auto found = store_->Query("c", {.text = "red apple",
                                   .n_results = 10,
                                   .where = {{"tag", "fruit"}},
                                   .where_document = {{"$not_contains", "pie"}}});
  ASSERT_TRUE(found) << found.error().message();
  ASSERT_EQ(found->hits.size(), 1u);
  EXPECT_EQ(found->hits[0].id, "b");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, FilterSemanticsTest, ::testing::Values(Backend::kSqlite));
INSTANTIATE_TEST_SUITE_P(Postgres, FilterSemanticsTest, ::testing::Values(Backend::kPostgres));

}  // namespace
}  // namespace tandem::memory
