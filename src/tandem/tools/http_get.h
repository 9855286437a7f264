// One HTTP(S) GET through libcurl with size, time and speed caps, no redirects followed, no
// proxies from the environment, and an optional connect-time address check.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tandem/core/cancellation.h"
#include "tandem/core/error.h"

namespace tandem::tools {

struct HttpGetRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value".
  std::vector<std::string> resolve;  // CURLOPT_RESOLVE entries "host:port:address".
  // Called with the address about to be connected to; a returned reason refuses the connection.
  std::function<std::optional<std::string>(const sockaddr*)> check_connect;
  int64_t max_bytes = 2 << 20;
  double timeout_s = 20;
  double connect_timeout_s = 5;
  int64_t low_speed_bytes = 0;  // 0 disables the low-speed abort.
  int64_t low_speed_s = 0;
  std::string user_agent = "Tandem/0.1";
  const CancellationToken* cancel = nullptr;
};

struct HttpGetResponse {
  long status = 0;
  std::string content_type;
  std::string redirect_url;  // Absolute Location of a 3xx, if any.
  std::string body;
  bool truncated = false;    // max_bytes reached; the rest was not read.
  std::string connected_ip;  // The address actually used.
};

// Performs the request. kDeadlineExceeded on timeout or too slow a transfer, kPermissionDenied
// when check_connect refused, kCancelled when the token was set, kUnavailable for network
// failures (refused connection, DNS, TLS), kInvalidArgument for a malformed URL.
Result<HttpGetResponse> HttpGet(const HttpGetRequest& request);

// Percent-encodes `text` for a URL query component.
std::string UrlEncode(std::string_view text);

}  // namespace tandem::tools
