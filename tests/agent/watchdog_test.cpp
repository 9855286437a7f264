#include "tandem/agent/watchdog.h"

#include <gtest/gtest.h>

#include "tandem/agent/budget.h"

namespace tandem::agent {
namespace {

TEST(WatchdogTest, ThirdIdenticalProposalIsALoopAndRecoveriesAreBounded) {
  Watchdog watchdog({.repeat_limit = 3, .max_recoveries = 2});
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(watchdog.CheckProposal("ls ."), WatchdogVerdict::kProceed);
    watchdog.RecordResult("ls .", false);
  }
  EXPECT_EQ(watchdog.CheckProposal("ls ."), WatchdogVerdict::kReplan);
  EXPECT_NE(watchdog.reason().find("3 times"), std::string::npos);
  EXPECT_EQ(watchdog.CheckProposal("ls ."), WatchdogVerdict::kReplan);
  EXPECT_EQ(watchdog.CheckProposal("ls ."), WatchdogVerdict::kStop);
}

TEST(WatchdogTest, DifferentActionsProceed) {
  Watchdog watchdog;
  for (std::string action : {"a", "b", "c", "a", "c", "b"}) {
    ASSERT_EQ(watchdog.CheckProposal(action), WatchdogVerdict::kProceed) << action;
    watchdog.RecordResult(action, false);
  }
}

TEST(WatchdogTest, AlternatingPairIsACycle) {
  Watchdog watchdog;
  for (std::string action : {"a", "b", "a"}) {
    ASSERT_EQ(watchdog.CheckProposal(action), WatchdogVerdict::kProceed);
    watchdog.RecordResult(action, false);
  }
  EXPECT_EQ(watchdog.CheckProposal("b"), WatchdogVerdict::kReplan);
  EXPECT_NE(watchdog.reason().find("A-B-A-B"), std::string::npos);
}

TEST(WatchdogTest, StreakOfFailuresIsNoProgress) {
  Watchdog watchdog({.failure_limit = 3});
  EXPECT_EQ(watchdog.RecordResult("a", true), WatchdogVerdict::kProceed);
  EXPECT_EQ(watchdog.RecordResult("b", true), WatchdogVerdict::kProceed);
  EXPECT_EQ(watchdog.RecordResult("c", true), WatchdogVerdict::kReplan);
  EXPECT_EQ(watchdog.RecordResult("d", false), WatchdogVerdict::kProceed);
}

TEST(BudgetTest, ExhaustedAndWarningLimits) {
  Budget budget{.usd = 1.0, .tokens = 1000};
  Spend spend{.usd = 0.85, .tokens = 100};
  EXPECT_FALSE(ExhaustedLimit(budget, spend));
  EXPECT_EQ(LimitsAbove(budget, spend, 0.8), std::vector<std::string>{"usd"});
  spend.tokens = 1000;
  EXPECT_EQ(ExhaustedLimit(budget, spend), "1000 of 1000 tokens");
  EXPECT_FALSE(ExhaustedLimit(Budget{}, spend));
  Budget round_trip = BudgetFromJson(BudgetToJson(budget));
  EXPECT_EQ(round_trip.usd, 1.0);
  EXPECT_EQ(round_trip.tokens, 1000);
  EXPECT_FALSE(round_trip.seconds);
}

}  // namespace
}  // namespace tandem::agent
