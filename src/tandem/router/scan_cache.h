// ScanCache: the findings of texts the scanner has already read. An agent resends its whole
// history with every call, so without it each step rescans everything sent before and routing
// time grows with the task's length. Entries are found by the text's hash, which the caller
// computes once per call (the payload fingerprint reuses it), and then compared byte for byte:
// a crafted input can never be mistaken for a clean text by sharing its hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tandem/router/detectors.h"

namespace tandem::router {

// A text to scan, with its hash (HashText) and the part its findings get.
struct ScanText {
  std::string_view text;
  uint64_t hash = 0;
  uint32_t part = 0;
};

// XXH3 of `text`: the hash ScanText carries.
uint64_t HashText(std::string_view text);

// Thread-safe.
class ScanCache {
 public:
  // Holds texts up to `max_bytes` in total; when full it starts again empty (a task's history is
  // re-learnt in one call).
  explicit ScanCache(size_t max_bytes = size_t{16} << 20) : max_bytes_(max_bytes) {}

  // Appends the findings of each text, in order, to `out` with its part set, as
  // scanner.ScanInto would. A wrong hash can only make a text miss: entries are compared byte
  // for byte.
  void ScanInto(const Scanner& scanner, std::span<const ScanText> texts, std::vector<Finding>& out);

 private:
  // Lookups take the hash a ScanText carries; stored keys are hashed the same way.
  struct Hash {
    using is_transparent = void;
    size_t operator()(const std::string& text) const { return HashText(text); }
    size_t operator()(const ScanText& text) const { return text.hash; }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(const std::string& a, const std::string& b) const { return a == b; }
    bool operator()(const std::string& a, const ScanText& b) const { return a == b.text; }
    bool operator()(const ScanText& a, const std::string& b) const { return a.text == b; }
  };

  // Scans `text` with the lock released and records its findings. REQUIRES(mu_) via `lock`.
  void ScanAndStore(const Scanner& scanner, const ScanText& text, std::vector<Finding>& out,
                    std::unique_lock<std::mutex>& lock);

  const size_t max_bytes_;
  std::mutex mu_;
  size_t bytes_ = 0;  // GUARDED_BY(mu_)
  // Findings with part 0. GUARDED_BY(mu_)
  std::unordered_map<std::string, std::vector<Finding>, Hash, Equal> entries_;
};

}  // namespace tandem::router
