// Configured detectors: sensitive keywords (case-insensitive across Latin, Greek and Cyrillic,
// exact for other scripts) and regular expressions. Internal to the Scanner.
#pragma once

#include <array>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/core/error.h"
#include "tandem/router/scan_internal.h"

namespace tandem::router::internal {

// Simple case folding of one code point (upper to lower for Latin-1, Latin Extended-A pairs,
// Greek and Cyrillic); other code points are returned unchanged.
char32_t FoldCase(char32_t cp);

// Immutable after Create; thread-safe.
class KeywordMatcher {
 public:
  // Fails on an empty keyword or one that is not valid UTF-8.
  static Result<KeywordMatcher> Create(const std::vector<std::string>& keywords);
  void Find(std::string_view text, Emitter& emit) const;
  bool empty() const { return keywords_.empty(); }

 private:
  // Case-folded code points of each keyword.
  std::vector<std::u32string> keywords_;
  // For each lead byte, the keywords whose first character can start with it.
  std::array<std::vector<uint16_t>, 256> by_first_byte_;
  // Bit (b0 << 8 | b1) is set when some keyword can start with bytes b0 b1: a cheap filter
  // that rejects almost every position before any decoding.
  std::vector<uint64_t> first_pairs_ = std::vector<uint64_t>(65536 / 64, 0);
  void AddPair(unsigned char b0, unsigned char b1) {
    size_t bit = (size_t{b0} << 8) | b1;
    first_pairs_[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  void MatchAt(std::string_view text, size_t i, Emitter& emit) const;
  bool HasPair(unsigned char b0, unsigned char b1) const {
    size_t bit = (size_t{b0} << 8) | b1;
    return (first_pairs_[bit / 64] >> (bit % 64)) & 1;
  }
};

// Immutable after Create; thread-safe (std::regex matching is const).
class PatternMatcher {
 public:
  // Fails naming the first pattern std::regex rejects.
  static Result<PatternMatcher> Create(const std::vector<std::string>& patterns);
  void Find(std::string_view text, Emitter& emit) const;

 private:
  // shared_ptr: std::regex is not nothrow-movable in every library; the matcher is moved into
  // the Scanner once and never shared between threads for writing.
  std::vector<std::shared_ptr<const std::regex>> regexes_;
};

}  // namespace tandem::router::internal
