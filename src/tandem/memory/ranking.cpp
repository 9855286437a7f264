#include "tandem/memory/ranking.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace tandem::memory {

std::vector<FusedItem> FuseReciprocalRank(const std::vector<std::vector<int64_t>>& rankings,
                                          const std::function<std::string(int64_t)>& tie_key,
                                          double k) {
  if (rankings.size() == 1) {
    // One ranking fuses to itself: ranks are distinct, so no ties and no tie keys to look up.
    std::vector<FusedItem> out;
    out.reserve(rankings[0].size());
    for (size_t i = 0; i < rankings[0].size(); ++i) {
      out.push_back({.key = rankings[0][i],
                     .score = 1.0 / (k + static_cast<double>(i + 1)),
                     .best_rank = i + 1});
    }
    return out;
  }
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
  std::vector<FusedItem> out;
  out.reserve(by_key.size());
  for (const auto& [key, item] : by_key)
    out.push_back(item);
  auto same_rank = [](const FusedItem& a, const FusedItem& b) {
    return a.score == b.score && a.best_rank == b.best_rank;
  };
  std::sort(out.begin(), out.end(), [](const FusedItem& a, const FusedItem& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.best_rank != b.best_rank) return a.best_rank < b.best_rank;
    return a.key < b.key;
  });
  // Only runs of equal score and rank need the (costlier) tie key.
  for (size_t start = 0; start < out.size();) {
    size_t end = start + 1;
    while (end < out.size() && same_rank(out[start], out[end]))
      ++end;
    if (end - start > 1) {
      std::vector<std::pair<std::string, FusedItem>> run;
      for (size_t i = start; i < end; ++i)
        run.emplace_back(tie_key(out[i].key), out[i]);
      std::sort(run.begin(), run.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second.key < b.second.key;
      });
      for (size_t i = start; i < end; ++i)
        out[i] = run[i - start].second;
    }
    start = end;
  }
  return out;
}

Result<std::vector<Hit>> FusedHits(const std::vector<FusedItem>& fused, size_t n,
                                   const std::map<int64_t, float>& distances,
                                   const std::map<int64_t, double>& bm25, const HitLoader& load) {
  std::vector<int64_t> keys;
  for (size_t i = 0; i < fused.size() && i < n; ++i)
    keys.push_back(fused[i].key);
  Result<std::vector<Hit>> hits = load(keys);
  if (!hits) return hits;
  if (hits->size() != keys.size()) {
    return MakeError(ErrorCode::kInternal, "{} of {} ranked records vanished",
                     keys.size() - hits->size(), keys.size());
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    Hit& hit = (*hits)[i];
    hit.score = fused[i].score;
    if (auto d = distances.find(keys[i]); d != distances.end()) hit.distance = d->second;
    if (auto b = bm25.find(keys[i]); b != bm25.end()) hit.bm25 = b->second;
  }
  return hits;
}

std::vector<std::string> FullTextWords(std::string_view text) {
  std::set<std::string> seen;
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && seen.insert(word).second) words.push_back(word);
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
  return words;
}

std::string FullTextQuery(std::string_view text) {
  // Each word quoted, so no FTS5 syntax in user text is interpreted (words hold no quotes).
  std::string query;
  for (const std::string& word : FullTextWords(text)) {
    if (!query.empty()) query += " OR ";
    query += "\"" + word + "\"";
  }
  return query;
}

std::string TsQueryText(std::string_view text) {
  // Quoted lexemes: words hold no quotes or backslashes, so none of tsquery's operators in user
  // text are interpreted.
  std::string query;
  for (const std::string& word : FullTextWords(text)) {
    if (!query.empty()) query += " | ";
    query += "'" + word + "'";
  }
  return query;
}

void QueryRankings::AddVectorCandidates(const std::vector<Candidate>& found) {
  lists.emplace_back();
  for (const Candidate& candidate : found) {
    lists.back().push_back(candidate.pk);
    distances[candidate.pk] = candidate.distance;
  }
}

void QueryRankings::AddTextCandidates(const std::vector<std::pair<int64_t, double>>& found) {
  lists.emplace_back();
  for (const auto& [pk, score] : found) {
    lists.back().push_back(pk);
    text_scores[pk] = score;
  }
}

}  // namespace tandem::memory
