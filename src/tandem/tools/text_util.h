// Text helpers shared by the tools: making bytes safe to hand to a model, and capping output.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tandem::tools {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if the byte there does not start
// one (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view text, size_t i);

// `text` with each byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string ToValidUtf8(std::string_view text);

// `text` with each invalid byte written as "\xNN" and control characters below 0x20 as "\xNN",
// so a file name can be shown and told apart from others.
std::string EscapeName(std::string_view text);

// `text` if it fits in `max_bytes`; otherwise its head and tail (about half each, cut on UTF-8
// boundaries) around a line "[... N bytes omitted ...]".
std::string CapText(std::string_view text, size_t max_bytes);

// Collects a stream of bytes keeping at most `max_bytes`: the first half and the last half.
// Not thread-safe.
class HeadTailBuffer {
 public:
  explicit HeadTailBuffer(size_t max_bytes);
  void Append(std::string_view data);
  size_t total_bytes() const { return total_; }
  bool truncated() const { return total_ > head_.size() + tail_.size(); }
  // The kept text with an omission marker if bytes were dropped.
  std::string Text() const;

 private:
  size_t head_cap_;
  size_t tail_cap_;
  std::string head_;
  std::string tail_;  // Ring buffer once full; tail_start_ is its oldest byte.
  size_t tail_start_ = 0;
  size_t total_ = 0;
};

}  // namespace tandem::tools
