#include "tandem/llm/http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

namespace tandem::llm {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

enum class Abort { kNone, kTooLarge, kFirstByte, kIdle, kCancelled, kByHandler };

struct Transfer {
  const HttpRequest* request;
  CURL* curl;
  HttpResponse response;
  Abort abort = Abort::kNone;
  SteadyTime started = std::chrono::steady_clock::now();
  SteadyTime last_byte{};
  bool any_byte = false;
  size_t body_bytes = 0;

  void SawBytes() {
    any_byte = true;
    last_byte = std::chrono::steady_clock::now();
  }
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  transfer->SawBytes();
  transfer->body_bytes += bytes;
  if (transfer->body_bytes > transfer->request->max_response_bytes) {
    transfer->abort = Abort::kTooLarge;
    return 0;  // Aborts the transfer.
  }
  long status = 0;
  curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &status);
  if (transfer->request->on_body && status >= 200 && status < 300) {
    if (!transfer->request->on_body(std::string_view(data, bytes))) {
      transfer->abort = Abort::kByHandler;
      return 0;
    }
    return bytes;
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->SawBytes();
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
      value.remove_suffix(1);
    transfer->response.headers[name] = std::string(value);
  }
  return size * count;
}

// libcurl calls this often during a transfer (at least once a second while idle), which is
// where cancellation and the first-byte and idle limits are enforced.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  const HttpRequest& request = *transfer->request;
  if (request.cancel != nullptr && request.cancel->IsCancelled()) {
    transfer->abort = Abort::kCancelled;
    return 1;
  }
  auto now = std::chrono::steady_clock::now();
  if (!transfer->any_byte && request.first_byte_timeout.count() > 0 &&
      now - transfer->started > request.first_byte_timeout) {
    transfer->abort = Abort::kFirstByte;
    return 1;
  }
  if (transfer->any_byte && request.idle_timeout.count() > 0 &&
      now - transfer->last_byte > request.idle_timeout) {
    transfer->abort = Abort::kIdle;
    return 1;
  }
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

Result<HttpResponse> Failure(const Transfer& transfer, CURLcode code) {
  const std::string& url = transfer.request->url;
  switch (transfer.abort) {
    case Abort::kTooLarge:
      return MakeError(ErrorCode::kInvalidArgument, "response from {} exceeds {} bytes", url,
                       transfer.request->max_response_bytes);
    case Abort::kFirstByte:
      return std::unexpected(Error(ErrorCode::kDeadlineExceeded, "first_byte",
                                   fmt::format("no response from {} within {} ms", url,
                                               transfer.request->first_byte_timeout.count())));
    case Abort::kIdle:
      return std::unexpected(Error(ErrorCode::kDeadlineExceeded, "idle",
                                   fmt::format("response from {} stalled for more than {} ms", url,
                                               transfer.request->idle_timeout.count())));
    case Abort::kCancelled:
    case Abort::kByHandler:
      return MakeError(ErrorCode::kCancelled, "request to {} cancelled", url);
    case Abort::kNone:
      break;
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    bool connected = transfer.any_byte;
    return std::unexpected(
        Error(ErrorCode::kDeadlineExceeded, connected ? "total" : "connect",
              fmt::format("request to {} timed out: {}", url, curl_easy_strerror(code))));
  }
  return MakeError(ErrorCode::kUnavailable, "request to {} failed: {}", url,
                   curl_easy_strerror(code));
}

}  // namespace

Result<HttpResponse> PerformHttp(const HttpRequest& request) {
  static const CURLcode kGlobalInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kGlobalInit != CURLE_OK) return MakeError(ErrorCode::kInternal, "libcurl failed to start");
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return MakeError(ErrorCode::kInternal, "libcurl could not create a handle");
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& header : request.headers) {
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  }
  CURL* h = curl.get();
  Transfer transfer{&request, h, {}};
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // Any encoding libcurl can decode.
  if (request.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK || transfer.abort != Abort::kNone) return Failure(transfer, code);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  return std::move(transfer.response);
}

}  // namespace tandem::llm
