#include "tandem/tools/web_fetch.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iconv.h>

#include <algorithm>
#include <cerrno>

#include "tandem/tools/basic_tool.h"
#include "tandem/tools/html_text.h"
#include "tandem/tools/http_get.h"
#include "tandem/tools/net_guard.h"
#include "tandem/tools/text_util.h"

namespace tandem::tools {
namespace {

using nlohmann::json;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

struct Target {
  std::string host;  // Lower case, no brackets.
  int port = 0;
  std::string resolve_entry;  // For CURLOPT_RESOLVE; empty for numeric hosts.
  bool allowlisted = false;
};

Result<std::string> UrlPart(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  CURLUcode rc = curl_url_get(url, part, &value, flags);
  if (rc != CURLUE_OK) return MakeError(ErrorCode::kInvalidArgument, "{}", curl_url_strerror(rc));
  std::string out = value;
  curl_free(value);
  return out;
}

// Parses and vets one hop's URL: scheme, host, resolution, address policy.
Result<Target> CheckUrl(const std::string& text, const FetchOptions& options) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), curl_url_cleanup);
  if (CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK) {
    return MakeError(ErrorCode::kInvalidArgument, "argument 'url': not a valid URL ({})",
                     curl_url_strerror(rc));
  }
  Result<std::string> scheme = UrlPart(url.get(), CURLUPART_SCHEME);
  if (!scheme || (*scheme != "http" && *scheme != "https")) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "argument 'url': only http and https URLs can be fetched, not '{}'",
                     scheme ? *scheme : text);
  }
  Result<std::string> host = UrlPart(url.get(), CURLUPART_HOST);
  Result<std::string> port = UrlPart(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!host || !port || host->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "argument 'url': no host in '{}'", text);
  }
  Target target;
  target.host = Lower(*host);
  if (target.host.starts_with('[')) target.host = target.host.substr(1, target.host.size() - 2);
  if (size_t zone = target.host.find('%'); zone != std::string::npos) {
    target.host.resize(zone);  // IPv6 zone ids only make sense for link-local: refused below.
  }
  target.port = std::stoi(*port);
  target.allowlisted = HostAllowed(target.host, options.allow_hosts);
  Result<ResolvedHost> resolved = ResolveHost(target.host, target.port);
  if (!resolved) return std::unexpected(resolved.error());
  if (!target.allowlisted) {
    for (const sockaddr_storage& address : resolved->addresses) {
      const auto* sa = reinterpret_cast<const sockaddr*>(&address);
      if (auto reason = ForbiddenAddressReason(sa)) {
        return MakeError(ErrorCode::kPermissionDenied,
                         "refusing to fetch {}: host '{}' resolves to {}, a {} address (add the "
                         "host to [tools] allow_hosts to permit it)",
                         text, target.host, AddressToString(sa), *reason);
      }
    }
  }
  if (!ParseNumericAddress(target.host)) {
    const auto* first = reinterpret_cast<const sockaddr*>(&resolved->addresses.front());
    std::string address = AddressToString(first);
    if (first->sa_family == AF_INET6) address = "[" + address + "]";
    target.resolve_entry = fmt::format("{}:{}:{}", target.host, target.port, address);
  }
  return target;
}

std::string ContentTypeParam(const std::string& content_type, std::string_view name) {
  std::string lower = Lower(content_type);
  size_t at = lower.find(std::string(name) + "=");
  if (at == std::string::npos) return {};
  std::string value = lower.substr(at + name.size() + 1);
  value = value.substr(0, value.find(';'));
  value.erase(std::remove(value.begin(), value.end(), '"'), value.end());
  value.erase(std::remove(value.begin(), value.end(), ' '), value.end());
  return value;
}

std::string SniffMetaCharset(std::string_view body) {
  std::string head = Lower(std::string(body.substr(0, 2048)));
  size_t at = head.find("charset=");
  if (at == std::string::npos || head.find("<meta") == std::string::npos) return {};
  at += 8;
  while (at < head.size() && (head[at] == '"' || head[at] == '\''))
    ++at;
  size_t end = at;
  while (end < head.size() && (std::isalnum(static_cast<unsigned char>(head[end])) ||
                               head[end] == '-' || head[end] == '_')) {
    ++end;
  }
  return head.substr(at, end - at);
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

enum class BodyKind { kHtml, kText, kBinary };

BodyKind KindOf(const std::string& content_type, std::string_view body) {
  std::string type = Lower(content_type.substr(0, content_type.find(';')));
  type.erase(std::remove(type.begin(), type.end(), ' '), type.end());
  if (type == "text/html" || type == "application/xhtml+xml") return BodyKind::kHtml;
  if (type.starts_with("text/") || type == "application/json" || type == "application/xml" ||
      type.ends_with("+json") || type.ends_with("+xml") || type == "application/javascript") {
    return BodyKind::kText;
  }
  if (type.empty()) {  // No type given: sniff.
    std::string head = Lower(std::string(body.substr(0, 512)));
    if (head.find("<html") != std::string::npos ||
        head.find("<!doctype html") != std::string::npos) {
      return BodyKind::kHtml;
    }
    if (body.find('\0') == std::string_view::npos) return BodyKind::kText;
  }
  return BodyKind::kBinary;
}

class WebFetchTool : public BasicTool {
 public:
  explicit WebFetchTool(FetchOptions options)
      : BasicTool(
            "web_fetch",
            "Fetch a web page (http or https) and return its readable text with a "
            "numbered list of its links. Private and local network addresses are refused.",
            ObjectSchema({{"url", {{"type", "string"}, {"minLength", 1}, {"maxLength", 8192}}}},
                         {"url"}),
            EffectClass::kRead),
        options_(std::move(options)) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    std::string url = args["url"].get<std::string>();
    std::vector<std::string> chain;
    for (int hop = 0;; ++hop) {
      Result<Target> target = CheckUrl(url, options_);
      if (!target) {
        return std::unexpected(
            hop == 0 ? target.error()
                     : std::move(target.error()).WithContext(fmt::format("redirect {}", hop)));
      }
      HttpGetRequest request;
      request.url = url;
      if (!target->resolve_entry.empty()) request.resolve = {target->resolve_entry};
      bool allowlisted = target->allowlisted;
      // Checked again at connect time: this is the address the socket really goes to.
      request.check_connect = [allowlisted](const sockaddr* address) {
        return allowlisted ? std::nullopt : ForbiddenAddressReason(address);
      };
      request.max_bytes = options_.max_bytes;
      request.timeout_s = std::min(options_.timeout_s, context.limits.timeout_s);
      request.connect_timeout_s = options_.connect_timeout_s;
      request.low_speed_bytes = options_.low_speed_bytes;
      request.low_speed_s = options_.low_speed_s;
      request.user_agent = options_.user_agent;
      request.cancel = context.cancel;
      request.headers = {"Accept: text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"};
      Result<HttpGetResponse> response = HttpGet(request);
      if (!response) return std::unexpected(std::move(response.error()).WithContext(url));
      bool redirect =
          response->status >= 300 && response->status < 400 && !response->redirect_url.empty();
      if (!redirect) return Render(url, chain, *response, context);
      if (hop >= options_.max_redirects) {
        return MakeError(ErrorCode::kInvalidArgument, "stopped after {} redirects (at {})",
                         options_.max_redirects, url);
      }
      chain.push_back(url);
      url = response->redirect_url;
    }
  }

 private:
  static Result<ToolResult> Render(const std::string& url, const std::vector<std::string>& chain,
                                   const HttpGetResponse& response, const ToolContext& context) {
    ToolResult result;
    result.is_error = response.status >= 400;
    std::string header = fmt::format(
        "URL: {}\nStatus: {}{}\n", url, response.status,
        response.content_type.empty() ? "" : fmt::format(" ({})", response.content_type));
    if (!chain.empty()) header += fmt::format("Redirected from: {}\n", fmt::join(chain, " -> "));
    std::string footer;
    if (response.truncated) {
      footer = fmt::format("\n[body cut off after {} bytes: size limit]", response.body.size());
    }
    BodyKind kind = KindOf(response.content_type, response.body);
    std::string charset = ContentTypeParam(response.content_type, "charset");
    result.data = {{"url", url},
                   {"status", response.status},
                   {"content_type", response.content_type},
                   {"truncated", response.truncated}};
    if (kind == BodyKind::kBinary) {
      result.is_error = true;
      result.output = header + fmt::format("\n[{} bytes of {} not shown: not text]\n",
                                           response.body.size(), response.content_type);
      return result;
    }
    std::string body = DecodeCharset(response.body, charset, kind == BodyKind::kHtml);
    std::string text;
    if (kind == BodyKind::kHtml) {
      HtmlText page = HtmlToText(body, url);
      if (!page.title.empty()) header += fmt::format("Title: {}\n", page.title);
      text = page.text;
      if (!page.links.empty()) {
        std::string links = "\n\nLinks:\n";
        for (size_t i = 0; i < page.links.size(); ++i) {
          links += fmt::format("[{}] {}\n", i + 1, page.links[i]);
        }
        footer = links + footer;
      }
      result.data["links"] = page.links;
      result.data["title"] = page.title;
    } else {
      text = body;
    }
    // The page text is capped first so the header and the link list always survive.
    size_t budget = static_cast<size_t>(context.limits.max_output_bytes);
    size_t fixed = header.size() + std::min(footer.size(), budget / 4) + 2;
    text = CapText(text, budget > fixed + 256 ? budget - fixed : 256);
    result.output = CapText(header + "\n" + text + footer, budget);
    return result;
  }

  FetchOptions options_;
};

}  // namespace

std::string DecodeCharset(std::string_view body, std::string charset, bool is_html) {
  if (charset.empty() && is_html) charset = SniffMetaCharset(body);
  charset = Lower(charset);
  if (charset.empty()) charset = IsValidUtf8(body) ? "utf-8" : "windows-1252";
  if (charset == "utf-8" || charset == "utf8" || charset == "us-ascii" || charset == "ascii") {
    return ToValidUtf8(body);
  }
  iconv_t converter = iconv_open("UTF-8", charset.c_str());
  if (converter == reinterpret_cast<iconv_t>(-1)) return ToValidUtf8(body);  // Unknown charset.
  std::string out;
  std::string input(body);
  char* in = input.data();
  size_t in_left = input.size();
  char buffer[8192];
  while (in_left > 0) {
    char* out_ptr = buffer;
    size_t out_left = sizeof(buffer);
    size_t rc = iconv(converter, &in, &in_left, &out_ptr, &out_left);
    out.append(buffer, static_cast<size_t>(out_ptr - buffer));
    if (rc == static_cast<size_t>(-1)) {
      if (errno == E2BIG) continue;
      out += "\xEF\xBF\xBD";  // Invalid or truncated sequence: skip one byte.
      ++in;
      --in_left;
    }
  }
  iconv_close(converter);
  return ToValidUtf8(out);
}

std::unique_ptr<Tool> MakeWebFetchTool(const FetchOptions& options) {
  return std::make_unique<WebFetchTool>(options);
}

}  // namespace tandem::tools
