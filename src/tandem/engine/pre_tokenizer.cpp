#include "tandem/engine/pre_tokenizer.h"

#include <string>
#include <utility>

#include "tandem/engine/unicode.h"

namespace tandem::engine {
namespace {

// A piece of the text as a half-open range of character indices.
using Chunks = std::vector<std::pair<size_t, size_t>>;

// Character classes as the split expressions see them. `valid` is false outside the chunk being
// scanned, which makes every class test fail there.
struct Flags {
  bool valid = false;
  bool whitespace = false;
  UnicodeCategory category = UnicodeCategory::kUndefined;
  bool letter() const { return valid && category == UnicodeCategory::kLetter; }
  bool number() const { return valid && category == UnicodeCategory::kNumber; }
  bool punctuation() const { return valid && category == UnicodeCategory::kPunctuation; }
};

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text), chars_(DecodeUtf8(text)) {
    flags_.reserve(chars_.size());
    for (const DecodedChar& c : chars_) {
      flags_.push_back({true, IsWhitespace(c.cp), GetCategory(c.cp)});
    }
  }

  size_t size() const { return chars_.size(); }
  uint32_t Cp(size_t i, size_t end) const { return i < end ? chars_[i].cp : 0xFFFFFFFF; }
  Flags At(size_t i, size_t end) const { return i < end ? flags_[i] : Flags{}; }

  std::vector<std::string_view> ToViews(const Chunks& chunks) const {
    std::vector<std::string_view> out;
    for (auto [b, e] : chunks) {
      if (b >= e) continue;
      size_t from = chars_[b].offset;
      size_t to = chars_[e - 1].offset + chars_[e - 1].length;
      out.push_back(text_.substr(from, to - from));
    }
    return out;
  }

 private:
  std::string_view text_;
  std::vector<DecodedChar> chars_;
  std::vector<Flags> flags_;
};

// Applies `match` (which, given a start position inside a chunk, returns the end of the match
// found at the leftmost position >= start, with its begin) to every chunk; matches and the gaps
// between them become separate pieces, as a regex split that keeps everything does.
template <typename Match>
Chunks SplitByMatches(const Chunks& chunks, Match match) {
  Chunks out;
  for (auto [begin, end] : chunks) {
    size_t pos = begin;
    while (pos < end) {
      std::pair<size_t, size_t> m =
          match(pos, end);  // {match_begin, match_end}; begin == end: none
      if (m.first >= m.second) break;
      if (m.first > pos) out.emplace_back(pos, m.first);
      out.emplace_back(m.first, m.second);
      pos = m.second;
    }
    if (pos < end) out.emplace_back(pos, end);
  }
  return out;
}

// [class]+
template <typename Pred>
Chunks SplitRuns(const Scanner& s, const Chunks& chunks, Pred pred) {
  return SplitByMatches(chunks, [&](size_t pos, size_t end) -> std::pair<size_t, size_t> {
    while (pos < end && !pred(s.Cp(pos, end), s.At(pos, end)))
      ++pos;
    size_t b = pos;
    while (pos < end && pred(s.Cp(pos, end), s.At(pos, end)))
      ++pos;
    return {b, pos};
  });
}

// [class] (each matching character alone)
template <typename Pred>
Chunks SplitEach(const Scanner& s, const Chunks& chunks, Pred pred) {
  return SplitByMatches(chunks, [&](size_t pos, size_t end) -> std::pair<size_t, size_t> {
    while (pos < end && !pred(s.Cp(pos, end), s.At(pos, end)))
      ++pos;
    return {pos, pos < end ? pos + 1 : pos};
  });
}

// \s?[class]+
template <typename Pred>
Chunks SplitSpacePrefixedRuns(const Scanner& s, const Chunks& chunks, Pred pred) {
  return SplitByMatches(chunks, [&](size_t pos, size_t end) -> std::pair<size_t, size_t> {
    for (; pos < end; ++pos) {
      size_t b = pos;
      size_t run = pos;
      if (s.At(pos, end).whitespace && pred(s.Cp(pos + 1, end), s.At(pos + 1, end))) {
        run = pos + 1;
      } else if (!pred(s.Cp(pos, end), s.At(pos, end))) {
        continue;
      }
      while (run < end && pred(s.Cp(run, end), s.At(run, end)))
        ++run;
      return {b, run};
    }
    return {end, end};
  });
}

// [0-9][0-9][0-9]
Chunks SplitDigitTriples(const Scanner& s, const Chunks& chunks) {
  auto digit = [&](size_t i, size_t end) {
    uint32_t cp = s.Cp(i, end);
    return cp >= '0' && cp <= '9';
  };
  return SplitByMatches(chunks, [&](size_t pos, size_t end) -> std::pair<size_t, size_t> {
    for (; pos + 3 <= end; ++pos) {
      if (digit(pos, end) && digit(pos + 1, end) && digit(pos + 2, end)) return {pos, pos + 3};
    }
    return {end, end};
  });
}

// Emits pieces [prev, end) as a scanner advances through one chunk.
class PieceSink {
 public:
  PieceSink(Chunks& out, size_t begin) : out_(out), prev_(begin) {}
  size_t Add(size_t end) {
    size_t len = end - prev_;
    if (len > 0) out_.emplace_back(prev_, end);
    prev_ = end;
    return len;
  }

 private:
  Chunks& out_;
  size_t prev_;
};

bool IsContractionTail(uint32_t a, uint32_t b, bool fold_case) {
  if (fold_case) {
    if (a < 0x80) a = static_cast<uint32_t>(std::tolower(static_cast<int>(a)));
    if (b < 0x80) b = static_cast<uint32_t>(std::tolower(static_cast<int>(b)));
  }
  return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l');
}

bool IsContractionLetter(uint32_t a, bool fold_case) {
  if (fold_case && a < 0x80) a = static_cast<uint32_t>(std::tolower(static_cast<int>(a)));
  return a == 's' || a == 't' || a == 'm' || a == 'd';
}

// 's|'t|'re|'ve|'m|'ll|'d at pos: where the contraction ends, or pos when none starts there.
size_t ContractionEnd(const Scanner& s, size_t pos, size_t end, bool fold_case) {
  if (s.Cp(pos, end) != '\'' || pos + 1 >= end) return pos;
  if (IsContractionLetter(s.Cp(pos + 1, end), fold_case)) return pos + 2;
  if (pos + 2 < end && IsContractionTail(s.Cp(pos + 1, end), s.Cp(pos + 2, end), fold_case)) {
    return pos + 3;
  }
  return pos;
}

// \s+(?!\S)|\s+ at pos: where the piece ends (a run before a word leaves its last space to
// prefix the word), or pos when no whitespace starts there.
size_t WhitespaceEnd(const Scanner& s, size_t pos, size_t end) {
  size_t n = 0;
  while (s.At(pos + n, end).whitespace)
    ++n;
  return n > 1 && pos + n < end ? pos + n - 1 : pos + n;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
Chunks SplitGpt2(const Scanner& s, const Chunks& chunks) {
  Chunks out;
  for (auto [begin, end] : chunks) {
    PieceSink sink(out, begin);
    for (size_t pos = begin; pos < end;) {
      uint32_t cp = s.Cp(pos, end);
      Flags flags = s.At(pos, end);
      if (size_t contraction = ContractionEnd(s, pos, end, false); contraction > pos) {
        pos += sink.Add(contraction);
        continue;
      }
      Flags f2 = cp == ' ' ? s.At(pos + 1, end) : flags;
      if (f2.letter() || f2.number()) {
        bool letters = f2.letter();
        pos += cp == ' ' ? 1 : 0;
        while (letters ? s.At(pos, end).letter() : s.At(pos, end).number())
          ++pos;
        sink.Add(pos);
        continue;
      }
      auto other = [](const Flags& f) {
        return f.valid && !f.whitespace && !f.letter() && !f.number();
      };
      if (other(f2)) {
        pos += cp == ' ' ? 1 : 0;
        while (other(s.At(pos, end)))
          ++pos;
        sink.Add(pos);
        continue;
      }
      if (size_t whitespace = WhitespaceEnd(s, pos, end); whitespace > pos) {
        pos = whitespace;
        sink.Add(pos);
        continue;
      }
      sink.Add(++pos);
    }
  }
  return out;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max}| ?[^\s\p{L}\p{N}]+[\r\n]*|
// \s*[\r\n]+|\s+(?!\S)|\s+
Chunks SplitLlama3(const Scanner& s, const Chunks& chunks, size_t max_digits) {
  Chunks out;
  for (auto [begin, end] : chunks) {
    PieceSink sink(out, begin);
    for (size_t pos = begin; pos < end;) {
      uint32_t cp = s.Cp(pos, end);
      Flags flags = s.At(pos, end);
      if (size_t contraction = ContractionEnd(s, pos, end, true); contraction > pos) {
        pos += sink.Add(contraction);
        continue;
      }
      if (!(cp == '\r' || cp == '\n' || flags.number())) {
        if (flags.letter() || s.At(pos + 1, end).letter()) {
          ++pos;
          while (s.At(pos, end).letter())
            ++pos;
          sink.Add(pos);
          continue;
        }
      }
      if (flags.number()) {
        size_t start = pos;
        while (s.At(pos, end).number()) {
          if (++pos - start >= max_digits) {
            sink.Add(pos);
            start = pos;
          }
        }
        sink.Add(pos);
        continue;
      }
      auto other = [](const Flags& f) {
        return f.valid && !f.whitespace && !f.letter() && !f.number();
      };
      Flags f2 = cp == ' ' ? s.At(pos + 1, end) : flags;
      if (other(f2)) {
        pos += cp == ' ' ? 1 : 0;
        while (other(s.At(pos, end)))
          ++pos;
        while (s.Cp(pos, end) == '\r' || s.Cp(pos, end) == '\n')
          ++pos;
        sink.Add(pos);
        continue;
      }
      // \s*[\r\n]+ comes first: a whitespace run ends after its last line break.
      size_t last_line_break_end = 0;
      for (size_t i = pos; s.At(i, end).whitespace; ++i) {
        if (s.Cp(i, end) == '\r' || s.Cp(i, end) == '\n') last_line_break_end = i + 1;
      }
      if (last_line_break_end > 0) {
        pos = last_line_break_end;
        sink.Add(pos);
        continue;
      }
      if (size_t whitespace = WhitespaceEnd(s, pos, end); whitespace > pos) {
        pos = whitespace;
        sink.Add(pos);
        continue;
      }
      sink.Add(++pos);
    }
  }
  return out;
}

bool IsAsciiIn(uint32_t cp, std::string_view set) {
  return cp < 0x80 && set.find(static_cast<char>(cp)) != std::string_view::npos;
}

}  // namespace

std::optional<PreTokenizerKind> PreTokenizerFromName(std::string_view name) {
  if (name.empty() || name == "default") return PreTokenizerKind::kDefault;
  for (std::string_view n : {"gpt-2", "mpt", "olmo", "jais"}) {
    if (name == n) return PreTokenizerKind::kGpt2;
  }
  for (std::string_view n : {"llama3", "llama-v3", "llama-bpe", "falcon3"}) {
    if (name == n) return PreTokenizerKind::kLlama3;
  }
  for (std::string_view n : {"qwen2", "deepseek-r1-qwen"}) {
    if (name == n) return PreTokenizerKind::kQwen2;
  }
  for (std::string_view n : {"starcoder", "refact", "command-r", "smollm", "codeshell"}) {
    if (name == n) return PreTokenizerKind::kStarcoder;
  }
  if (name == "falcon") return PreTokenizerKind::kFalcon;
  if (name == "deepseek-coder") return PreTokenizerKind::kDeepseekCoder;
  return std::nullopt;
}

std::vector<std::string_view> PreTokenize(PreTokenizerKind kind, std::string_view text) {
  Scanner s(text);
  Chunks chunks;
  if (s.size() > 0) chunks.emplace_back(0, s.size());
  auto number = [](uint32_t, const Flags& f) { return f.number(); };
  auto letter = [](uint32_t, const Flags& f) { return f.letter(); };
  auto punctuation = [](uint32_t, const Flags& f) { return f.punctuation(); };
  switch (kind) {
    case PreTokenizerKind::kGpt2:
      chunks = SplitGpt2(s, chunks);
      break;
    case PreTokenizerKind::kLlama3:
      chunks = SplitLlama3(s, chunks, 3);
      break;
    case PreTokenizerKind::kQwen2:
      chunks = SplitLlama3(s, chunks, 1);
      break;
    case PreTokenizerKind::kStarcoder:
      chunks = SplitEach(s, chunks, number);
      chunks = SplitGpt2(s, chunks);
      break;
    case PreTokenizerKind::kFalcon:
      chunks = SplitRuns(s, chunks, [](uint32_t cp, const Flags& f) {
        return f.punctuation() || IsAsciiIn(cp, "$+<=>^~|`");
      });
      chunks = SplitGpt2(s, chunks);
      chunks = SplitDigitTriples(s, chunks);
      break;
    case PreTokenizerKind::kDefault:
      chunks = SplitRuns(s, chunks, [](uint32_t cp, const Flags& f) {
        return f.punctuation() || IsAsciiIn(cp, "$+<=>^~|");
      });
      chunks = SplitGpt2(s, chunks);
      chunks = SplitRuns(s, chunks, number);
      chunks = SplitDigitTriples(s, chunks);
      break;
    case PreTokenizerKind::kDeepseekCoder:
      chunks =
          SplitEach(s, chunks, [](uint32_t cp, const Flags&) { return cp == '\r' || cp == '\n'; });
      chunks = SplitSpacePrefixedRuns(s, chunks, letter);
      chunks = SplitSpacePrefixedRuns(s, chunks, punctuation);
      chunks = SplitRuns(s, chunks, [](uint32_t cp, const Flags&) {
        return (cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x0800 && cp <= 0x4E00) ||
               (cp >= 0xAC00 && cp <= 0xD7FF);
      });
      chunks = SplitEach(s, chunks, number);
      break;
  }
  return s.ToViews(chunks);
}

}  // namespace tandem::engine
