#include "tandem/memory/ranking.h"

#include <gtest/gtest.h>

namespace tandem::memory {
namespace {

std::string Name(int64_t key) {
  return "id" + std::to_string(key);
}

TEST(RankFusionTest, ItemInBothRankingsBeatsItemsInOne) {
  auto fused = FuseReciprocalRank({{1, 2, 3}, {3, 4, 5}}, Name);
  ASSERT_EQ(fused.size(), 5u);
  EXPECT_EQ(fused[0].key, 3);  // 1/63 + 1/61 > 1/61.
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 63 + 1.0 / 61);
  EXPECT_EQ(fused[0].best_rank, 1u);
}

TEST(RankFusionTest, TiesBreakByBestRankThenTieKey) {
  // 1 and 4 both score 1/61; 2 and 5 both 1/62: equal scores and ranks, so the id decides.
  auto fused = FuseReciprocalRank({{4, 5}, {1, 2}}, Name);
  ASSERT_EQ(fused.size(), 4u);
  EXPECT_EQ(fused[0].key, 1);
  EXPECT_EQ(fused[1].key, 4);
  EXPECT_EQ(fused[2].key, 2);
  EXPECT_EQ(fused[3].key, 5);
  // Same input in another order gives the same output.
  auto again = FuseReciprocalRank({{1, 2}, {4, 5}}, Name);
  for (size_t i = 0; i < fused.size(); ++i)
    EXPECT_EQ(fused[i].key, again[i].key);
}

TEST(RankFusionTest, UsesTheGivenConstant) {
  auto fused = FuseReciprocalRank({{7}}, Name, 10);
  ASSERT_EQ(fused.size(), 1u);
  EXPECT_DOUBLE_EQ(fused[0].score, 1.0 / 11);
}

TEST(RankFusionTest, OneRankingKeepsItsOrderWithoutTieKeys) {
  int tie_keys = 0;
  auto fused = FuseReciprocalRank({{9, 3, 7}}, [&](int64_t key) {
    ++tie_keys;
    return Name(key);
  });
  ASSERT_EQ(fused.size(), 3u);
  EXPECT_EQ(fused[0].key, 9);
  EXPECT_EQ(fused[1].key, 3);
  EXPECT_EQ(fused[2].key, 7);
  EXPECT_DOUBLE_EQ(fused[2].score, 1.0 / 63);
  EXPECT_EQ(fused[2].best_rank, 3u);
  EXPECT_EQ(tie_keys, 0);
}

TEST(FullTextQueryTest, QuotesEachWordSoSyntaxIsNotInterpreted) {
  EXPECT_EQ(FullTextQuery("cats AND dogs"), "\"cats\" OR \"AND\" OR \"dogs\"");
  EXPECT_EQ(FullTextQuery("NEAR(a b) \"x\" -y *"), "\"NEAR\" OR \"a\" OR \"b\" OR \"x\" OR \"y\"");
  EXPECT_EQ(FullTextQuery("  ,,; "), "");
  EXPECT_EQ(FullTextQuery("caf\xc3\xa9 cafe cafe"), "\"caf\xc3\xa9\" OR \"cafe\"");
}

}  // namespace
}  // namespace tandem::memory
