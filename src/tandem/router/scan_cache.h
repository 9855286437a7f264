// ScanCache: the findings of texts the scanner has already read. An agent resends its whole
// history with every call, so without it each step rescans everything sent before and routing
// time grows with the task's length. Entries are keyed by the whole text, compared byte for
// byte: a crafted input can never be mistaken for a clean text by sharing its hash.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tandem/router/detectors.h"

namespace tandem::router {

// Thread-safe.
class ScanCache {
 public:
  // Holds texts up to `max_bytes` in total; when full it starts again empty (a task's history is
  // re-learnt in one call).
  explicit ScanCache(size_t max_bytes = size_t{16} << 20) : max_bytes_(max_bytes) {}

  // Appends the findings of `text` to `out` with `part` set, as scanner.ScanInto would.
  void ScanInto(const Scanner& scanner, std::string_view text, uint32_t part,
                std::vector<Finding>& out);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const;  // XXH3: lookups hash every resent text.
  };

  const size_t max_bytes_;
  std::mutex mu_;
  size_t bytes_ = 0;  // GUARDED_BY(mu_)
  // Findings with part 0. GUARDED_BY(mu_)
  std::unordered_map<std::string, std::vector<Finding>, Hash, std::equal_to<>> entries_;
};

}  // namespace tandem::router
