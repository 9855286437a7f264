#include "tandem/router/scan_cache.h"

// Inlined: every resent text is hashed once per call, and the library's exported function
// costs a call and its generic dispatch each time.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tandem::router {
namespace {

// Below this, scanning costs about as much as looking up (a tool call's arguments are often
// only a few dozen bytes, and running every detector over them still costs more).
constexpr size_t kMinCachedBytes = 16;

void AppendWithPart(const std::vector<Finding>& findings, uint32_t part,
                    std::vector<Finding>& out) {
  for (Finding f : findings) {
    f.part = part;
    out.push_back(f);
  }
}

}  // namespace

uint64_t HashText(std::string_view text) {
  return XXH3_64bits(text.data(), text.size());
}

void ScanCache::ScanInto(const Scanner& scanner, std::span<const ScanText> texts,
                         std::vector<Finding>& out) {
  // One lock for the whole request: in a resent history nearly every text is found.
  std::unique_lock lock(mu_);
  for (const ScanText& text : texts) {
    if (text.text.size() < kMinCachedBytes) {
      scanner.ScanInto(text.text, text.part, out);  // Short: quicker than a lookup.
    } else if (text.text.size() > max_bytes_) {
      lock.unlock();
      scanner.ScanInto(text.text, text.part, out);
      lock.lock();
    } else if (auto it = entries_.find(text); it != entries_.end()) {
      AppendWithPart(it->second, text.part, out);
    } else {
      ScanAndStore(scanner, text, out, lock);
    }
  }
}

void ScanCache::ScanAndStore(const Scanner& scanner, const ScanText& text,
                             std::vector<Finding>& out, std::unique_lock<std::mutex>& lock) {
  lock.unlock();  // Other calls may look up while this text is scanned.
  std::vector<Finding> found;
  scanner.ScanInto(text.text, 0, found);
  AppendWithPart(found, text.part, out);
  lock.lock();
  if (bytes_ + text.text.size() > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
  }
  if (entries_.emplace(std::string(text.text), std::move(found)).second) {
    bytes_ += text.text.size();
  }
}

}  // namespace tandem::router
