// A small blocking HTTP client on libcurl, used to talk to model endpoints.
#pragma once

#include <chrono>
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
  size_t max_response_bytes = 64 << 20;  // Larger bodies fail with kInvalidArgument.
  const CancellationToken* cancel = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;
};

// Performs one request. Transport failures map to kUnavailable (connect, reset),
// kDeadlineExceeded (timeouts) and kCancelled; an HTTP error status is a successful response.
// Thread-safe: each call uses its own curl handle.
Result<HttpResponse> PerformHttp(const HttpRequest& request);

}  // namespace tandem::llm
