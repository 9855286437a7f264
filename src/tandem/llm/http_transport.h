// A small blocking HTTP client on libcurl, used to talk to model endpoints.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"

namespace tandem::llm {

struct HttpRequest {
  std::string method = "POST";  // "GET" or "POST".
  std::string url;
  std::vector<std::string> headers;  // "Name: value".
  std::string body;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{600'000};
  // Limits on the wait for the first response byte and on any gap between bytes; 0: none.
  std::chrono::milliseconds first_byte_timeout{0};
  std::chrono::milliseconds idle_timeout{0};
  size_t max_response_bytes = 64 << 20;  // Larger bodies fail with kInvalidArgument.
  const CancellationToken* cancel = nullptr;
  // When set, the body of a 2xx response is handed over as it arrives instead of being kept in
  // HttpResponse::body; returning false aborts the transfer (reported as kCancelled).
  std::function<bool(std::string_view)> on_body;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;
};

// Performs one request. Transport failures map to kUnavailable (connect, reset),
// kDeadlineExceeded (timeouts; reason "connect", "first_byte", "idle" or "total") and
// kCancelled; an HTTP error status is a successful response (its body is kept).
// Thread-safe: each call uses its own curl handle.
Result<HttpResponse> PerformHttp(const HttpRequest& request);

}  // namespace tandem::llm
