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

// Scans one text, with its own hash, through `cache`, appending to `out`.
void ScanOne(ScanCache& cache, const Scanner& scanner, std::string_view text, uint32_t part,
             std::vector<Finding>& out) {
  ScanText one{text, HashText(text), part};
  cache.ScanInto(scanner, std::span(&one, 1), out);
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
    ScanOne(cache, *scanner, text, part, out);
    EXPECT_EQ(out, Fresh(*scanner, text, part));
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.front().part, part);
  }
}

// Scans a clean text, then the same text with one byte changed that makes it sensitive: with
// its own hash, or with the clean text's (`stale_hash`). Expects nothing from the first scan
// and exactly a fresh scan's findings from the second.
void ExpectTheChangedTextRescanned(bool stale_hash) {
  Result<Scanner> scanner = Scanner::Create({});
  ASSERT_TRUE(scanner);
  ScanCache cache;
  std::string clean = Padded("reach me at alice_example.com");
  std::string sensitive = clean;
  sensitive[sensitive.find('_')] = '@';
  std::vector<Finding> first, second;
  ScanOne(cache, *scanner, clean, 0, first);
  ScanText changed{sensitive, HashText(stale_hash ? clean : sensitive), 0};
  cache.ScanInto(*scanner, std::span(&changed, 1), second);
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(second, Fresh(*scanner, sensitive, 0));
  EXPECT_FALSE(second.empty());
}

TEST(ScanCacheTest, TextsDifferingInOneByteAreScannedSeparately) {
  ExpectTheChangedTextRescanned(/*stale_hash=*/false);
}

// A hash that names a cached clean text cannot pass off other bytes as that text.
TEST(ScanCacheTest, AChangedTextCarryingAStaleHashIsRescanned) {
  ExpectTheChangedTextRescanned(/*stale_hash=*/true);
}

TEST(ScanCacheTest, AppendsToExistingFindingsAndSurvivesBeingFull) {
  Result<Scanner> scanner = Scanner::Create({});
  ASSERT_TRUE(scanner);
  ScanCache cache(/*max_bytes=*/1000);  // Holds about three texts: clears and starts again.
  std::vector<Finding> out;
  for (int i = 0; i < 20; ++i) {
    std::string text = Padded("mail bob" + std::to_string(i) + "@example.org");
    size_t before = out.size();
    ScanOne(cache, *scanner, text, static_cast<uint32_t>(i), out);
    std::vector<Finding> expected = Fresh(*scanner, text, static_cast<uint32_t>(i));
    ASSERT_EQ(out.size() - before, expected.size());
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), out.begin() + before));
  }
}

// Several texts in one call: each gets its own part, in order, hit or miss, short or long.
TEST(ScanCacheTest, ManyTextsKeepTheirOrderAndParts) {
  Result<Scanner> scanner = Scanner::Create({});
  ASSERT_TRUE(scanner);
  ScanCache cache;
  std::string a = Padded("card 4111 1111 1111 1111");
  std::string b = "a@example.com";  // Too short to cache.
  std::string c = Padded("mail carol@example.net");
  std::vector<ScanText> texts = {{a, HashText(a), 0}, {b, HashText(b), 1}, {c, HashText(c), 2}};
  std::vector<Finding> expected = Fresh(*scanner, a, 0);
  for (const Finding& f : Fresh(*scanner, b, 1))
    expected.push_back(f);
  for (const Finding& f : Fresh(*scanner, c, 2))
    expected.push_back(f);
  for (int round = 0; round < 2; ++round) {  // Misses first, then hits.
    std::vector<Finding> out;
    cache.ScanInto(*scanner, texts, out);
    EXPECT_EQ(out, expected);
  }
}

}  // namespace
}  // namespace tandem::router
