#include "tandem/core/id.h"

#include <array>
#include <mutex>
#include <random>

namespace tandem {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kIdLength = 26;

}  // namespace

std::string NewId(std::chrono::system_clock::time_point now) {
  // Ids made in the same millisecond (or with a clock that stepped back) increment the random
  // part of the previous one, so ids from one process are strictly increasing.
  static std::mutex mu;
  static uint64_t last_millis = 0;                     // GUARDED_BY(mu)
  static uint64_t last_high = 0, last_low = 0;         // GUARDED_BY(mu)
  static std::mt19937_64 rng{std::random_device{}()};  // GUARDED_BY(mu)
  uint64_t millis = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  uint64_t high, low;
  {
    std::lock_guard lock(mu);
    if (millis <= last_millis) {
      millis = last_millis;
      high = last_high;
      low = last_low + 1;
      if (low >> 40 != 0) {  // 40 bits per half: carry into the high half.
        low = 0;
        ++high;
      }
    } else {
      high = rng() & ((uint64_t{1} << 39) - 1);  // Leave headroom for increments.
      low = rng() & ((uint64_t{1} << 40) - 1);
    }
    last_millis = millis;
    last_high = high;
    last_low = low;
  }
  std::string id(kIdLength, '0');
  // 10 characters of time (50 bits, top 2 always zero for 48-bit time).
  for (int i = 9; i >= 0; --i) {
    id[static_cast<size_t>(i)] = kAlphabet[millis & 31];
    millis >>= 5;
  }
  // 16 characters of randomness (2 x 40 bits), most significant first.
  for (int i = 7; i >= 0; --i) {
    id[static_cast<size_t>(10 + i)] = kAlphabet[high & 31];
    id[static_cast<size_t>(18 + i)] = kAlphabet[low & 31];
    high >>= 5;
    low >>= 5;
  }
  return id;
}

bool LooksLikeId(std::string_view text) {
  if (text.size() != kIdLength) return false;
  for (char c : text) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace tandem
