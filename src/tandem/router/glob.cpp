#include "tandem/router/glob.h"

#include <vector>

namespace tandem::router {
namespace {

// Whole-string match by dynamic programming over (pattern position, path position): linear in
// their product, so patterns with many stars cannot blow up.
bool MatchWhole(std::string_view pattern, std::string_view path) {
  const size_t n = path.size();
  // row[j]: pattern prefix consumed so far matches path[0, j).
  std::vector<char> row(n + 1, 0), next(n + 1, 0);
  row[0] = 1;
  for (size_t p = 0; p < pattern.size();) {
    std::fill(next.begin(), next.end(), 0);
    char c = pattern[p];
    if (c == '*' && p + 1 < pattern.size() && pattern[p + 1] == '*') {
      // "**" matches any run; "**/" also matches nothing (so "a/**/b" matches "a/b").
      bool slash = p + 2 < pattern.size() && pattern[p + 2] == '/';
      bool reach = false;
      for (size_t j = 0; j <= n; ++j) {
        reach = reach || row[j];
        next[j] = reach;
      }
      if (slash) {
        // Consume "**/" as: any run ending in '/', or nothing.
        std::vector<char> after(n + 1, 0);
        for (size_t j = 0; j <= n; ++j) {
          if (row[j]) after[j] = 1;
          if (j > 0 && next[j - 1] && path[j - 1] == '/') after[j] = 1;
        }
        next.swap(after);
        p += 3;
      } else {
        p += 2;
      }
    } else if (c == '*') {
      bool reach = false;
      for (size_t j = 0; j <= n; ++j) {
        if (row[j]) reach = true;
        next[j] = reach;
        if (j < n && path[j] == '/') reach = false;
      }
      p += 1;
    } else {
      for (size_t j = 0; j < n; ++j) {
        if (row[j] && (c == '?' ? path[j] != '/' : path[j] == c)) next[j + 1] = 1;
      }
      p += 1;
    }
    row.swap(next);
  }
  return row[n] != 0;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view path) {
  if (pattern.empty()) return false;
  while (path.starts_with("./"))
    path.remove_prefix(2);
  if (MatchWhole(pattern, path)) return true;
  if (pattern.front() == '/') return false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '/' && MatchWhole(pattern, path.substr(i + 1))) return true;
  }
  return false;
}

}  // namespace tandem::router
