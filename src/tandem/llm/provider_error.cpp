#include "tandem/llm/provider_error.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <utility>

namespace tandem::llm {
namespace {

constexpr std::array<std::pair<ProviderErrorKind, std::string_view>, 12> kNames = {{
    {ProviderErrorKind::kAuthentication, "authentication"},
    {ProviderErrorKind::kRateLimit, "rate_limit"},
    {ProviderErrorKind::kQuota, "quota"},
    {ProviderErrorKind::kOverloaded, "overloaded"},
    {ProviderErrorKind::kContextLength, "context_length"},
    {ProviderErrorKind::kBadRequest, "bad_request"},
    {ProviderErrorKind::kContentFilter, "content_filter"},
    {ProviderErrorKind::kServer, "server"},
    {ProviderErrorKind::kTimeout, "timeout"},
    {ProviderErrorKind::kNetwork, "network"},
    {ProviderErrorKind::kCancelled, "cancelled"},
    {ProviderErrorKind::kInvalidResponse, "invalid_response"},
}};

ErrorCode CodeFor(ProviderErrorKind kind) {
  switch (kind) {
    case ProviderErrorKind::kAuthentication:
      return ErrorCode::kUnauthenticated;
    case ProviderErrorKind::kRateLimit:
      return ErrorCode::kRateLimited;
    case ProviderErrorKind::kQuota:
      return ErrorCode::kBudgetExhausted;
    case ProviderErrorKind::kOverloaded:
    case ProviderErrorKind::kServer:
    case ProviderErrorKind::kNetwork:
      return ErrorCode::kUnavailable;
    case ProviderErrorKind::kTimeout:
      return ErrorCode::kDeadlineExceeded;
    case ProviderErrorKind::kCancelled:
      return ErrorCode::kCancelled;
    case ProviderErrorKind::kContextLength:
    case ProviderErrorKind::kBadRequest:
    case ProviderErrorKind::kContentFilter:
    case ProviderErrorKind::kInvalidResponse:
      return ErrorCode::kInvalidArgument;
  }
  return ErrorCode::kInternal;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

std::string_view ProviderErrorKindName(ProviderErrorKind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "server";
}

std::optional<ProviderErrorKind> ProviderErrorKindOf(const Error& error) {
  for (const auto& [kind, name] : kNames) {
    if (name == error.reason()) return kind;
  }
  return std::nullopt;
}

bool IsRetryable(ProviderErrorKind kind) {
  switch (kind) {
    case ProviderErrorKind::kRateLimit:
    case ProviderErrorKind::kOverloaded:
    case ProviderErrorKind::kServer:
    case ProviderErrorKind::kTimeout:
    case ProviderErrorKind::kNetwork:
      return true;
    default:
      return false;
  }
}

Error MakeProviderError(ProviderErrorKind kind, std::string message) {
  return Error(CodeFor(kind), std::string(ProviderErrorKindName(kind)), std::move(message));
}

ProviderErrorKind ClassifyHttpError(long status, std::string_view body) {
  // The error object's type/code and message carry the precise cause on every major API.
  std::string detail = Lower(body);
  nlohmann::json root = nlohmann::json::parse(body, nullptr, false);
  if (!root.is_discarded() && root.is_object() && root.contains("error")) {
    detail = Lower(root["error"].dump());
  }
  if (Contains(detail, "insufficient_quota") || Contains(detail, "quota") ||
      Contains(detail, "billing") || Contains(detail, "credit")) {
    return ProviderErrorKind::kQuota;
  }
  if (Contains(detail, "context_length") || Contains(detail, "context length") ||
      Contains(detail, "maximum context") || Contains(detail, "too many tokens")) {
    return ProviderErrorKind::kContextLength;
  }
  if (Contains(detail, "content_filter") || Contains(detail, "content_policy") ||
      Contains(detail, "content management policy")) {
    return ProviderErrorKind::kContentFilter;
  }
  if (status == 401 || status == 403) return ProviderErrorKind::kAuthentication;
  if (status == 429) return ProviderErrorKind::kRateLimit;
  if (status == 503 || status == 529 || Contains(detail, "overloaded")) {
    return ProviderErrorKind::kOverloaded;
  }
  if (status == 408 || status == 504) return ProviderErrorKind::kTimeout;
  if (status >= 500) return ProviderErrorKind::kServer;
  return ProviderErrorKind::kBadRequest;
}

}  // namespace tandem::llm
