#include "tandem/tools/http_get.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <mutex>

#include "tandem/tools/net_guard.h"

namespace tandem::tools {
namespace {

struct Transfer {
  const HttpGetRequest* request = nullptr;
  HttpGetResponse* response = nullptr;
  bool over_limit = false;
  std::optional<std::string> refused;
};

size_t OnData(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string& body = transfer->response->body;
  size_t room = static_cast<size_t>(transfer->request->max_bytes) - body.size();
  if (bytes > room) {
    body.append(data, room);
    transfer->over_limit = true;
    return CURL_WRITEFUNC_ERROR;
  }
  body.append(data, bytes);
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  const CancellationToken* cancel = transfer->request->cancel;
  return cancel && cancel->IsCancelled() ? 1 : 0;
}

curl_socket_t OnOpenSocket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->request->check_connect) {
    if (auto reason = transfer->request->check_connect(&address->addr)) {
      transfer->refused =
          fmt::format("connection to {} refused: {}", AddressToString(&address->addr), *reason);
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Result<HttpGetResponse> HttpGet(const HttpGetRequest& request) {
  GlobalInit();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return MakeError(ErrorCode::kInternal, "curl_easy_init failed");
  HttpGetResponse response;
  Transfer transfer;
  transfer.request = &request;
  transfer.response = &response;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& header : request.headers) {
    headers.reset(curl_slist_append(headers.release(), header.c_str()));
  }
  std::unique_ptr<curl_slist, SlistDeleter> resolve;
  for (const std::string& entry : request.resolve) {
    resolve.reset(curl_slist_append(resolve.release(), entry.c_str()));
  }
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // Ignore *_proxy variables: we pin addresses.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // Decoded bytes still count to max_bytes.
  curl_easy_setopt(c, CURLOPT_USERAGENT, request.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_s * 1000));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout_s * 1000));
  if (request.low_speed_bytes > 0 && request.low_speed_s > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(request.low_speed_bytes));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.low_speed_s));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &transfer);
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());

  CURLcode code = curl_easy_perform(c);
  if (transfer.refused) return MakeError(ErrorCode::kPermissionDenied, "{}", *transfer.refused);
  if (code == CURLE_WRITE_ERROR && transfer.over_limit) {
    response.truncated = true;
  } else if (code == CURLE_ABORTED_BY_CALLBACK) {
    return MakeError(ErrorCode::kCancelled, "request cancelled");
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    return MakeError(ErrorCode::kDeadlineExceeded, "{} (limits: {} s total, at least {} bytes/s)",
                     curl_easy_strerror(code), request.timeout_s, request.low_speed_bytes);
  } else if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
    return MakeError(ErrorCode::kInvalidArgument, "{}", curl_easy_strerror(code));
  } else if (code != CURLE_OK) {
    return MakeError(ErrorCode::kUnavailable, "{}", curl_easy_strerror(code));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  char* text = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &text) == CURLE_OK && text) {
    response.content_type = text;
  }
  if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &text) == CURLE_OK && text) {
    response.redirect_url = text;
  }
  if (curl_easy_getinfo(c, CURLINFO_PRIMARY_IP, &text) == CURLE_OK && text) {
    response.connected_ip = text;
  }
  return response;
}

}  // namespace tandem::tools
