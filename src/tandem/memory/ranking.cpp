#include "tandem/memory/ranking.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace tandem::memory {

std::vector<FusedItem> FuseReciprocalRank(const std::vector<std::vector<int64_t>>& rankings,
                                          const std::function<std::string(int64_t)>& tie_key,
                                          double k) {
  std::map<int64_t, FusedItem> by_key;
  for (const std::vector<int64_t>& ranking : rankings) {
    for (size_t i = 0; i < ranking.size(); ++i) {
      FusedItem& item = by_key[ranking[i]];
      size_t rank = i + 1;
      item.key = ranking[i];
      item.score += 1.0 / (k + static_cast<double>(rank));
      item.best_rank = item.best_rank == 0 ? rank : std::min(item.best_rank, rank);
    }
  }
  struct Keyed {
    FusedItem item;
    std::string tie;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(by_key.size());
  for (const auto& [key, item] : by_key)
    keyed.push_back({item, tie_key(key)});
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.item.score != b.item.score) return a.item.score > b.item.score;
    if (a.item.best_rank != b.item.best_rank) return a.item.best_rank < b.item.best_rank;
    if (a.tie != b.tie) return a.tie < b.tie;
    return a.item.key < b.item.key;
  });
  std::vector<FusedItem> out;
  out.reserve(keyed.size());
  for (const Keyed& entry : keyed)
    out.push_back(entry.item);
  return out;
}

std::string FullTextQuery(std::string_view text) {
  // Words are runs of ASCII letters and digits or of non-ASCII bytes (UTF-8), matching what the
  // unicode61 tokenizer indexes closely enough for quoting; duplicates are dropped.
  std::set<std::string> seen;
  std::string query;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && seen.insert(word).second) {
      if (!query.empty()) query += " OR ";
      query += "\"" + word + "\"";
    }
    word.clear();
  };
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || byte >= 0x80) {
      word.push_back(c);
    } else {
      flush();
    }
  }
  flush();
  return query;
}

}  // namespace tandem::memory
