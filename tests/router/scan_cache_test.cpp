// The scan cache gives exactly what a fresh scan gives, for each part, and stays bounded.
#include "tandem/router/scan_cache.h"

#include <gtest/gtest.h>

namespace tandem::router {
namespace {

// Long enough to be cached.
std::string Padded(std::string text) {
  while (text.size() < 300)
    text += " and some ordinary words";
  return text;
}

std::vector<Finding> Fresh(const Scanner& scanner, std::string_view text, uint32_t part) {
  std::vector<Finding> out;
  scanner.ScanInto(text, part, out);
  return out;
}

TEST(ScanCacheTest, CachedFindingsEqualAFreshScanWithTheirPart) {
  Result<Scanner> scanner = Scanner::Create({});
  ASSERT_TRUE(scanner);
  ScanCache cache;
  std::string text = Padded("write to alice@example.com about card 4111 1111 1111 1111");
  for (uint32_t part : {0u, 3u, 7u}) {  // The first call scans, the others hit.
    std::vector<Finding> out;
    cache.ScanInto(*scanner, text, part, out);
    EXPECT_EQ(out, Fresh(*scanner, text, part));
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.front().part, part);
  }
}

TEST(ScanCacheTest, TextsDifferingInOneByteAreScannedSeparately) {
  Result<Scanner> scanner = Scanner::Create({});
  ASSERT_TRUE(scanner);
  ScanCache cache;
  std::string clean = Padded("reach me at alice_example.com");
  std::string sensitive = clean;
  sensitive[sensitive.find('_')] = '@';
  std::vector<Finding> first, second;
  cache.ScanInto(*scanner, clean, 0, first);
  cache.ScanInto(*scanner, sensitive, 0, second);
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(second, Fresh(*scanner, sensitive, 0));
  EXPECT_FALSE(second.empty());
}

TEST(ScanCacheTest, AppendsToExistingFindingsAndSurvivesBeingFull) {
  Result<Scanner> scanner = Scanner::Create({});
  ASSERT_TRUE(scanner);
  ScanCache cache(/*max_bytes=*/1000);  // Holds about three texts: clears and starts again.
  std::vector<Finding> out;
  for (int i = 0; i < 20; ++i) {
    std::string text = Padded("mail bob" + std::to_string(i) + "@example.org");
    size_t before = out.size();
    cache.ScanInto(*scanner, text, static_cast<uint32_t>(i), out);
    std::vector<Finding> expected = Fresh(*scanner, text, static_cast<uint32_t>(i));
    ASSERT_EQ(out.size() - before, expected.size());
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), out.begin() + before));
  }
}

}  // namespace
}  // namespace tandem::router
