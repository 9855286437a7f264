// The typed taxonomy of provider failures. Each kind maps to a core ErrorCode (what the caller
// does next) and is carried in Error::reason() so routers and agents can react to the kind
// (e.g. summarise history on context_length, fail over on overloaded).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tandem/core/error.h"

namespace tandem::llm {

enum class ProviderErrorKind {
  kAuthentication,   // Key missing, wrong or without access (401/403).
  kRateLimit,        // Too many requests now (429): wait and retry.
  kQuota,            // Credit or quota exhausted: retrying will not help.
  kOverloaded,       // The provider is overloaded (503/529): retry later.
  kContextLength,    // The prompt does not fit the model's context.
  kBadRequest,       // The request is invalid for this provider.
  kContentFilter,    // The provider refused the content.
  kServer,           // Other 5xx.
  kTimeout,          // A connect, first-byte, idle or total timeout elapsed.
  kNetwork,          // Connection refused, reset, DNS failure.
  kCancelled,        // The caller cancelled.
  kInvalidResponse,  // The answer could not be parsed (bad JSON, bad SSE, invalid UTF-8).
};

// "authentication", "rate_limit", "quota", ...
std::string_view ProviderErrorKindName(ProviderErrorKind kind);
// The kind recorded in an Error made by MakeProviderError, if any.
std::optional<ProviderErrorKind> ProviderErrorKindOf(const Error& error);
// Whether retrying the same request later may succeed.
bool IsRetryable(ProviderErrorKind kind);

Error MakeProviderError(ProviderErrorKind kind, std::string message);

// Classifies an HTTP error response from its status and body (OpenAI-style error object with
// `type`/`code`, or plain text).
ProviderErrorKind ClassifyHttpError(long status, std::string_view body);

}  // namespace tandem::llm
