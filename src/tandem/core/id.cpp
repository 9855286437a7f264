#include "tandem/core/id.h"

#include <array>
#include <random>

namespace tandem {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kIdLength = 26;

}  // namespace

std::string NewId(std::chrono::system_clock::time_point now) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t millis = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  std::string id(kIdLength, '0');
  // 10 characters of time (50 bits, top 2 always zero for 48-bit time).
  for (int i = 9; i >= 0; --i) {
    id[static_cast<size_t>(i)] = kAlphabet[millis & 31];
    millis >>= 5;
  }
  // 16 characters of randomness (80 bits).
  uint64_t high = rng();
  uint64_t low = rng();
  for (size_t i = 10; i < kIdLength; ++i) {
    uint64_t& source = i < 18 ? high : low;
    id[i] = kAlphabet[source & 31];
    source >>= 5;
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
