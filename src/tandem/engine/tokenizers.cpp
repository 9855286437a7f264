#include "tandem/engine/tokenizers.h"

#include <map>
#include <queue>
#include <string>

#include "tandem/engine/unicode.h"

namespace tandem::engine::internal {
namespace {

// One piece of the text in a doubly linked list; a merged-away symbol has n == 0.
struct Symbol {
  int prev = -1;
  int next = -1;
  const char* text = nullptr;
  size_t n = 0;
};

std::vector<Symbol> SplitChars(std::string_view text) {
  std::vector<Symbol> symbols;
  size_t offset = 0;
  int index = 0;
  while (offset < text.size()) {
    Symbol sym;
    sym.text = text.data() + offset;
    sym.n = std::min(Utf8SequenceLength(static_cast<uint8_t>(text[offset])), text.size() - offset);
    offset += sym.n;
    sym.prev = index - 1;
    sym.next = offset == text.size() ? -1 : index + 1;
    ++index;
    symbols.push_back(sym);
  }
  return symbols;
}

void MergeInto(std::vector<Symbol>& symbols, int left_index) {
  Symbol& left = symbols[static_cast<size_t>(left_index)];
  Symbol& right = symbols[static_cast<size_t>(left.next)];
  left.n += right.n;
  right.n = 0;
  left.next = right.next;
  if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = left_index;
}

void PushByteFallback(const Vocab& vocab, std::string_view bytes, std::vector<TokenId>& out) {
  for (char c : bytes) {
    std::optional<TokenId> id = vocab.ByteToken(static_cast<uint8_t>(c));
    if (id) {
      out.push_back(*id);
    } else if (vocab.unk()) {
      out.push_back(*vocab.unk());
    }
  }
}

// SentencePiece merge state for one fragment.
class SpmSession {
 public:
  SpmSession(const Vocab& vocab, std::string_view text)
      : vocab_(vocab), symbols_(SplitChars(text)) {}

  void Run(std::vector<TokenId>& out) {
    if (symbols_.empty()) return;
    for (size_t i = 1; i < symbols_.size(); ++i) {
      TryAddBigram(static_cast<int>(i - 1), static_cast<int>(i));
    }
    while (!queue_.empty()) {
      Bigram bigram = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[static_cast<size_t>(bigram.left)];
      Symbol& right = symbols_[static_cast<size_t>(bigram.right)];
      // Skip pairs whose symbols were merged since the pair was queued.
      if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;
      MergeInto(symbols_, bigram.left);
      TryAddBigram(left.prev, bigram.left);
      TryAddBigram(bigram.left, left.next);
    }
    for (int i = 0; i != -1; i = symbols_[static_cast<size_t>(i)].next) {
      Resegment(symbols_[static_cast<size_t>(i)], out);
    }
  }

 private:
  struct Bigram {
    int left;
    int right;
    float score;
    size_t size;
  };
  // Highest score first; on equal scores the leftmost pair.
  struct Lower {
    bool operator()(const Bigram& a, const Bigram& b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };

  void TryAddBigram(int left, int right) {
    if (left == -1 || right == -1) return;
    const Symbol& l = symbols_[static_cast<size_t>(left)];
    const Symbol& r = symbols_[static_cast<size_t>(right)];
    std::string text(l.text, l.n + r.n);
    std::optional<TokenId> id = vocab_.Find(text);
    if (!id) return;
    queue_.push({left, right, vocab_.Score(*id), text.size()});
    rev_merge_[text] = {left, right};
  }

  // Emits a final symbol as its token or, when it has none, as the pieces it was merged from.
  void Resegment(const Symbol& symbol, std::vector<TokenId>& out) {
    std::string text(symbol.text, symbol.n);
    if (std::optional<TokenId> id = vocab_.Find(text)) {
      out.push_back(*id);
      return;
    }
    auto it = rev_merge_.find(text);
    if (it == rev_merge_.end()) {
      PushByteFallback(vocab_, text, out);
      return;
    }
    Resegment(symbols_[static_cast<size_t>(it->second.first)], out);
    Resegment(symbols_[static_cast<size_t>(it->second.second)], out);
  }

  const Vocab& vocab_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, Lower> queue_;
  std::map<std::string, std::pair<int, int>> rev_merge_;
};

}  // namespace

void TokenizeSpm(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) {
  SpmSession(vocab, text).Run(out);
}

void TokenizeBpeWord(const Vocab& vocab, std::string_view word, std::vector<TokenId>& out) {
  std::vector<Symbol> symbols = SplitChars(word);
  struct Bigram {
    int left;
    int right;
    int32_t rank;
    std::string text;
  };
  // Lowest rank first; on equal ranks the leftmost pair.
  auto higher = [](const Bigram& a, const Bigram& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(higher)> queue(higher);
  auto add_bigram = [&](int left, int right) {
    if (left == -1 || right == -1) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(right)];
    std::string_view lt(l.text, l.n);
    std::string_view rt(r.text, r.n);
    std::optional<int32_t> rank = vocab.MergeRank(lt, rt);
    if (!rank) return;
    queue.push({left, right, *rank, std::string(lt) + std::string(rt)});
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    add_bigram(static_cast<int>(i - 1), static_cast<int>(i));
  }
  while (!queue.empty()) {
    Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(bigram.left)];
    Symbol& right = symbols[static_cast<size_t>(bigram.right)];
    if (left.n == 0 || right.n == 0) continue;
    // Outdated: one side changed since the pair was queued.
    if (left.n + right.n != bigram.text.size() ||
        std::string_view(left.text, left.n + right.n) != bigram.text || left.next != bigram.right) {
      continue;
    }
    MergeInto(symbols, bigram.left);
    add_bigram(left.prev, bigram.left);
    add_bigram(bigram.left, left.next);
  }
  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[static_cast<size_t>(i)].next) {
    const Symbol& sym = symbols[static_cast<size_t>(i)];
    std::string_view text(sym.text, sym.n);
    if (std::optional<TokenId> id = vocab.Find(text)) {
      out.push_back(*id);
      continue;
    }
    // Each mapped character stands for one byte; emit their single-byte tokens.
    for (const DecodedChar& c : DecodeUtf8(text)) {
      if (std::optional<TokenId> id = vocab.Find(text.substr(c.offset, c.length))) {
        out.push_back(*id);
      } else if (vocab.unk()) {
        out.push_back(*vocab.unk());
      }
    }
  }
}

}  // namespace tandem::engine::internal
