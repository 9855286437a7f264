// web_fetch: GET an http(s) URL and return readable text. Refuses loopback, private,
// link-local, CGNAT, metadata and similar addresses after DNS resolution, pins the checked
// address for the connection, checks the connected address again, and repeats all of it for
// every redirect hop. Hosts in [tools] allow_hosts skip the address refusal.
#pragma once

#include "tandem/tools/tools.h"
#include "tandem/tools/tools_config.h"

namespace tandem::tools {

std::unique_ptr<Tool> MakeWebFetchTool(const FetchOptions& options);

// Converts `body` in `charset` (from Content-Type or a <meta> tag; empty: sniff, default
// UTF-8 then windows-1252) to valid UTF-8.
std::string DecodeCharset(std::string_view body, std::string charset, bool is_html);

}  // namespace tandem::tools
