// Time-sortable identifiers: 26 characters of Crockford base32 (48-bit milliseconds + 80 random
// bits, the ULID layout), so ids sort by creation time as plain strings.
#pragma once

#include <chrono>
#include <string>

namespace tandem {

// A new id for the given time. Thread-safe.
std::string NewId(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// True when `text` has the shape of an id made by NewId.
bool LooksLikeId(std::string_view text);

}  // namespace tandem
