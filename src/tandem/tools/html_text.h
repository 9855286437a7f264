// HTML to readable text with a real parser (gumbo): the main content (<main> or <article> when
// present, else <body> without navigation), headings marked with '#', list items with '-', and
// each link numbered "[n]" with its absolute URL in a list.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::tools {

struct HtmlText {
  std::string title;
  std::string text;                // UTF-8.
  std::vector<std::string> links;  // links[n-1] is "[n]" in the text; absolute http(s) URLs.
};

// `html` must be UTF-8 (convert first); `base_url` resolves relative links. Never fails:
// malformed HTML is parsed the way browsers do.
HtmlText HtmlToText(std::string_view html, std::string_view base_url, size_t max_links = 100);

// Resolves `reference` against `base` (RFC 3986 via libcurl's URL parser); empty on failure.
std::string ResolveUrl(std::string_view base, std::string_view reference);

}  // namespace tandem::tools
