#include "tandem/router/scan_cache.h"

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

size_t ScanCache::Hash::operator()(std::string_view text) const {
  return XXH3_64bits(text.data(), text.size());
}

void ScanCache::ScanInto(const Scanner& scanner, std::string_view text, uint32_t part,
                         std::vector<Finding>& out) {
  if (text.size() < kMinCachedBytes || text.size() > max_bytes_) {
    scanner.ScanInto(text, part, out);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(text); it != entries_.end()) {
      AppendWithPart(it->second, part, out);
      return;
    }
  }
  std::vector<Finding> found;
  scanner.ScanInto(text, 0, found);
  AppendWithPart(found, part, out);
  std::lock_guard lock(mu_);
  if (bytes_ + text.size() > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
  }
  if (entries_.emplace(std::string(text), std::move(found)).second) bytes_ += text.size();
}

}  // namespace tandem::router
