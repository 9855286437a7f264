#include "tandem/tools/text_util.h"

#include <fmt/format.h>

namespace tandem::tools {

size_t Utf8SequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t length = 0;
  uint32_t code = 0;
  if ((c & 0xE0) == 0xC0) {
    length = 2;
    code = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    length = 3;
    code = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    length = 4;
    code = c & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

std::string ToValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string EscapeName(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t length = Utf8SequenceLength(text, i);
    auto c = static_cast<unsigned char>(text[i]);
    if (length == 0 || c < 0x20 || c == 0x7F || c == '\\') {
      out += c == '\\' ? std::string("\\\\") : fmt::format("\\x{:02x}", c);
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

namespace {

// Moves `cut` back to the start of a UTF-8 sequence (at most 3 bytes).
size_t BackToBoundary(std::string_view text, size_t cut) {
  for (int k = 0; k < 3 && cut > 0 && cut < text.size() &&
                  (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80;
       ++k) {
    --cut;
  }
  return cut;
}

}  // namespace

std::string CapText(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t head = BackToBoundary(text, max_bytes / 2);
  size_t tail_start = BackToBoundary(text, text.size() - (max_bytes - max_bytes / 2));
  if (tail_start < head) tail_start = head;
  return fmt::format("{}\n[... {} bytes omitted ...]\n{}", text.substr(0, head), tail_start - head,
                     text.substr(tail_start));
}

HeadTailBuffer::HeadTailBuffer(size_t max_bytes)
    : head_cap_(max_bytes / 2), tail_cap_(max_bytes - max_bytes / 2) {}

void HeadTailBuffer::Append(std::string_view data) {
  total_ += data.size();
  size_t to_head = std::min(data.size(), head_cap_ - head_.size());
  head_.append(data.substr(0, to_head));
  data.remove_prefix(to_head);
  if (tail_cap_ == 0) return;
  if (data.size() >= tail_cap_) {
    tail_.assign(data.substr(data.size() - tail_cap_));
    tail_start_ = 0;
    return;
  }
  for (char c : data) {
    if (tail_.size() < tail_cap_) {
      tail_.push_back(c);
    } else {
      tail_[tail_start_] = c;
      tail_start_ = (tail_start_ + 1) % tail_cap_;
    }
  }
}

std::string HeadTailBuffer::Text() const {
  std::string tail = tail_.substr(tail_start_) + tail_.substr(0, tail_start_);
  if (!truncated()) return head_ + tail;
  // A character split by the cut shows as U+FFFD rather than as broken UTF-8.
  return fmt::format("{}\n[... {} bytes omitted ...]\n{}", ToValidUtf8(head_),
                     total_ - head_.size() - tail.size(), ToValidUtf8(tail));
}

}  // namespace tandem::tools
