#include "tandem/tools/web_search.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tandem/tools/basic_tool.h"
#include "tandem/tools/http_get.h"
#include "tandem/tools/text_util.h"

namespace tandem::tools {
namespace {

using nlohmann::json;

// Snippets often carry <strong> and entities; keep plain text.
std::string StripTags(std::string_view text) {
  std::string out;
  bool in_tag = false;
  for (char c : text) {
    if (c == '<') in_tag = true;
    if (!in_tag) out += c == '\n' ? ' ' : c;
    if (c == '>') in_tag = false;
  }
  for (auto [entity, plain] :
       {std::pair{"&amp;", "&"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}}) {
    for (size_t at; (at = out.find(entity)) != std::string::npos;) {
      out.replace(at, std::string_view(entity).size(), plain);
    }
  }
  return ToValidUtf8(out);
}

std::string Field(const json& item, const std::string& name) {
  auto it = item.find(name);
  return it != item.end() && it->is_string() ? StripTags(it->get<std::string>()) : std::string();
}

class WebSearchTool : public BasicTool {
 public:
  WebSearchTool(SearchToolOptions options, Secrets secrets)
      : BasicTool(
            "web_search",
            "Search the web. Returns a numbered list of results with title, URL and "
            "snippet; use web_fetch to read a result.",
            ObjectSchema({{"query", {{"type", "string"}, {"minLength", 1}, {"maxLength", 500}}},
                          {"max_results", {{"type", "integer"}, {"minimum", 1}, {"maximum", 50}}}},
                         {"query"}),
            EffectClass::kRead),
        options_(std::move(options)),
        secrets_(std::move(secrets)) {}

  Result<ToolResult> Invoke(const json& args, ToolContext& context) const override {
    if (options_.providers.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "no search provider is configured: add [[tools.search.providers]] with "
                       "kind = \"searxng\", \"brave\" or \"generic\"");
    }
    std::string query = args["query"].get<std::string>();
    int max_results = std::min(args.value("max_results", options_.max_results), 50);
    std::vector<std::string> failures;
    for (const SearchProviderOptions& provider : options_.providers) {
      if (context.Cancelled()) return MakeError(ErrorCode::kCancelled, "search cancelled");
      Result<std::vector<SearchHit>> hits = Query(provider, query, max_results, context);
      if (!hits) {
        failures.push_back(fmt::format("{}: {}", provider.kind, hits.error().message()));
        continue;
      }
      return Format(*hits, provider.kind);
    }
    return MakeError(ErrorCode::kUnavailable, "every search provider failed: {}",
                     fmt::join(failures, "; "));
  }

 private:
  Result<std::vector<SearchHit>> Query(const SearchProviderOptions& provider,
                                       const std::string& query, int max_results,
                                       const ToolContext& context) const {
    HttpGetRequest request;
    request.timeout_s = std::min(options_.timeout_s, context.limits.timeout_s);
    request.max_bytes = 4 << 20;
    request.cancel = context.cancel;
    request.headers = {"Accept: application/json"};
    std::string encoded = UrlEncode(query);
    if (provider.kind == "searxng") {
      std::string base = provider.url;
      while (base.ends_with('/'))
        base.pop_back();
      if (!base.ends_with("/search")) base += "/search";
      request.url = fmt::format("{}?q={}&format=json", base, encoded);
    } else if (provider.kind == "brave") {
      request.url = fmt::format("{}?q={}&count={}", provider.url, encoded, max_results);
    } else {
      request.url = provider.url;
      for (size_t at; (at = request.url.find("{query}")) != std::string::npos;) {
        request.url.replace(at, 7, encoded);
      }
    }
    if (!provider.key_env.empty()) {
      std::optional<std::string> key = secrets_.Get(provider.key_env);
      if (!key || key->empty()) {
        return MakeError(ErrorCode::kUnauthenticated, "API key variable {} is not set",
                         provider.key_env);
      }
      request.headers.push_back(fmt::format("{}: {}", provider.key_header, *key));
    }
    Result<HttpGetResponse> response = HttpGet(request);
    if (!response) return std::unexpected(response.error());
    if (response->status == 429) return MakeError(ErrorCode::kRateLimited, "HTTP 429");
    if (response->status != 200) {
      return MakeError(ErrorCode::kUnavailable, "HTTP {}", response->status);
    }
    if (response->truncated) return MakeError(ErrorCode::kUnavailable, "response too large");
    json body = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return MakeError(ErrorCode::kUnavailable, "response is not JSON");
    return Extract(provider, body, max_results);
  }

  static Result<std::vector<SearchHit>> Extract(const SearchProviderOptions& provider,
                                                const json& body, int max_results) {
    std::string pointer = provider.kind == "searxng" ? "/results"
                          : provider.kind == "brave" ? "/web/results"
                                                     : provider.results_pointer;
    std::string title = "title", url = "url";
    std::string snippet = provider.kind == "searxng" ? "content"
                          : provider.kind == "brave" ? "description"
                                                     : provider.snippet_field;
    if (provider.kind == "generic") {
      title = provider.title_field;
      url = provider.url_field;
    }
    json::json_pointer path;
    try {
      path = json::json_pointer(pointer);
    } catch (const json::exception&) {
      return MakeError(ErrorCode::kInvalidArgument, "invalid results pointer '{}'", pointer);
    }
    std::vector<SearchHit> hits;
    if (!body.contains(path)) return hits;  // No results key: an empty answer.
    const json& results = body.at(path);
    if (!results.is_array()) {
      return MakeError(ErrorCode::kUnavailable, "'{}' in the response is not an array", pointer);
    }
    for (const json& item : results) {
      if (static_cast<int>(hits.size()) >= max_results) break;
      if (!item.is_object()) continue;
      SearchHit hit{Field(item, title), Field(item, url), Field(item, snippet)};
      if (hit.url.starts_with("http://") || hit.url.starts_with("https://")) {
        hits.push_back(std::move(hit));
      }
    }
    return hits;
  }

  static ToolResult Format(const std::vector<SearchHit>& hits, const std::string& provider) {
    ToolResult result;
    result.data = json::array();
    for (size_t i = 0; i < hits.size(); ++i) {
      result.output += fmt::format("{}. {}\n   {}\n", i + 1, hits[i].title, hits[i].url);
      if (!hits[i].snippet.empty()) result.output += fmt::format("   {}\n", hits[i].snippet);
      result.data.push_back(
          {{"title", hits[i].title}, {"url", hits[i].url}, {"snippet", hits[i].snippet}});
    }
    if (hits.empty()) result.output = "no results\n";
    result.output += fmt::format("[via {}]\n", provider);
    return result;
  }

  SearchToolOptions options_;
  Secrets secrets_;
};

}  // namespace

std::unique_ptr<Tool> MakeWebSearchTool(const SearchToolOptions& options, const Secrets& secrets) {
  return std::make_unique<WebSearchTool>(options, secrets);
}

}  // namespace tandem::tools
