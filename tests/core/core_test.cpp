#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"
#include "tandem/core/id.h"

namespace tandem {
namespace {

TEST(ErrorTest, ContextIsPrependedOutermostFirst) {
  Error error = Error(ErrorCode::kInvalidArgument, "token 41 has an invalid type")
                    .WithContext("loading vocab")
                    .WithContext("opening model");
  EXPECT_EQ(error.message(), "opening model: loading vocab: token 41 has an invalid type");
  EXPECT_EQ(error.ToString(), "invalid_argument: " + error.message());
}

TEST(ErrorTest, WithContextLeavesSuccessUntouched) {
  Result<int> ok = 3;
  EXPECT_EQ(*WithContext(std::move(ok), "ctx"), 3);
  Result<int> failed = MakeError(ErrorCode::kNotFound, "no {}", "thing");
  Result<int> wrapped = WithContext(std::move(failed), "ctx");
  EXPECT_EQ(wrapped.error().message(), "ctx: no thing");
  EXPECT_EQ(wrapped.error().code(), ErrorCode::kNotFound);
}

TEST(IdTest, IdsSortByCreationTimeAndAreUnique) {
  auto t0 = std::chrono::system_clock::now();
  std::set<std::string> ids;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewId(t0 + std::chrono::milliseconds(i));
    EXPECT_TRUE(LooksLikeId(id)) << id;
    EXPECT_LT(previous, id);
    previous = id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_FALSE(LooksLikeId("not-an-id"));
  EXPECT_FALSE(LooksLikeId("0000000000000000000000000U"));  // U is not in the alphabet
}

TEST(CancellationTest, SigtermCancelsTheTokenAndHandlersAreRestored) {
  CancellationToken token;
  {
    SignalCancellation guard(token);
    EXPECT_FALSE(token.IsCancelled());
    raise(SIGTERM);
    EXPECT_TRUE(token.IsCancelled());
    EXPECT_EQ(SignalCancellation::ReceivedSignal(), SIGTERM);
  }
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(IdTest, IdsMadeInTheSameMillisecondStillIncrease) {
  auto now = std::chrono::system_clock::now();
  std::string previous = NewId(now);
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewId(now);
    EXPECT_LT(previous, id);
    previous = id;
  }
  EXPECT_LT(previous, NewId(now - std::chrono::seconds(5)));  // Clock stepped back.
}

}  // namespace
}  // namespace tandem
