#include "tandem/tools/html_text.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "tandem/tools/text_util.h"

namespace tandem::tools {

std::string ResolveUrl(std::string_view base, std::string_view reference) {
  CURLU* url = curl_url();
  if (!url) return {};
  std::string result;
  std::string base_copy(base);
  std::string reference_copy(reference);
  if (curl_url_set(url, CURLUPART_URL, base_copy.c_str(), 0) == CURLUE_OK &&
      curl_url_set(url, CURLUPART_URL, reference_copy.c_str(), 0) == CURLUE_OK) {
    char* out = nullptr;
    if (curl_url_get(url, CURLUPART_URL, &out, 0) == CURLUE_OK) {
      result = out;
      curl_free(out);
    }
  }
  curl_url_cleanup(url);
  return result;
}

namespace {

bool IsSkipped(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_SELECT:
      return true;
    default:
      return false;
  }
}

bool IsBoilerplate(GumboTag tag) {
  return tag == GUMBO_TAG_NAV || tag == GUMBO_TAG_FOOTER || tag == GUMBO_TAG_ASIDE ||
         tag == GUMBO_TAG_HEADER || tag == GUMBO_TAG_FORM;
}

bool IsBlock(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_TR:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_ASIDE:
      return true;
    default:
      return false;
  }
}

int HeadingLevel(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

class Renderer {
 public:
  Renderer(std::string_view base_url, size_t max_links, bool skip_boilerplate)
      : base_url_(base_url), max_links_(max_links), skip_boilerplate_(skip_boilerplate) {}

  void Render(const GumboNode* node, int depth = 0) {
    if (depth > 200) return;  // Pathologically deep documents: stop, do not overflow.
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA ||
        node->type == GUMBO_NODE_WHITESPACE) {
      AppendText(node->v.text.text);
      return;
    }
    if (node->type != GUMBO_NODE_ELEMENT) return;
    GumboTag tag = node->v.element.tag;
    if (IsSkipped(tag) || (skip_boilerplate_ && IsBoilerplate(tag))) return;
    int level = HeadingLevel(tag);
    if (tag == GUMBO_TAG_BR) {
      Newline(1);
      return;
    }
    if (level > 0) {
      Newline(2);
      out_ += std::string(static_cast<size_t>(level), '#') + " ";
    } else if (tag == GUMBO_TAG_LI) {
      Newline(1);
      out_ += "- ";
    } else if (tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) {
      if (!out_.empty() && out_.back() != '\n') out_ += " | ";
    } else if (IsBlock(tag)) {
      Newline(tag == GUMBO_TAG_P ? 2 : 1);
    }
    if (tag == GUMBO_TAG_IMG) {
      const GumboAttribute* alt = gumbo_get_attribute(&node->v.element.attributes, "alt");
      if (alt && alt->value[0] != '\0') AppendText(fmt::format("[image: {}]", alt->value));
      return;
    }
    if (tag == GUMBO_TAG_PRE) ++pre_depth_;
    const GumboVector& children = node->v.element.children;
    for (unsigned i = 0; i < children.length; ++i) {
      Render(static_cast<const GumboNode*>(children.data[i]), depth + 1);
    }
    if (tag == GUMBO_TAG_PRE) --pre_depth_;
    if (tag == GUMBO_TAG_A) AppendLinkMarker(node);
    if (level > 0 || IsBlock(tag)) Newline(level > 0 || tag == GUMBO_TAG_P ? 2 : 1);
  }

  std::string TakeText() {
    // Trim trailing spaces per line and collapse runs of blank lines.
    std::string clean;
    size_t newlines = 2;
    for (char c : out_) {
      if (c == '\n') {
        while (!clean.empty() && clean.back() == ' ')
          clean.pop_back();
        if (++newlines > 2) continue;
      } else {
        if (c == ' ' && newlines > 0) continue;  // No leading spaces on a line.
        newlines = 0;
      }
      clean += c;
    }
    while (!clean.empty() && (clean.back() == '\n' || clean.back() == ' '))
      clean.pop_back();
    return clean;
  }
  std::vector<std::string> TakeLinks() { return std::move(links_); }

 private:
  void Newline(int count) {
    if (out_.empty()) return;
    int have = 0;
    for (size_t i = out_.size(); i > 0 && out_[i - 1] == '\n' && have < count; --i)
      ++have;
    for (; have < count; ++have)
      out_ += '\n';
  }

  void AppendText(std::string_view text) {
    if (pre_depth_ > 0) {
      out_.append(text);
      return;
    }
    for (char c : text) {
      bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f';
      if (space) {
        if (!out_.empty() && out_.back() != ' ' && out_.back() != '\n') out_ += ' ';
      } else {
        out_ += c;
      }
    }
  }

  void AppendLinkMarker(const GumboNode* node) {
    const GumboAttribute* href = gumbo_get_attribute(&node->v.element.attributes, "href");
    if (!href) return;
    std::string url = ToValidUtf8(ResolveUrl(base_url_, href->value));
    if (!(url.starts_with("http://") || url.starts_with("https://"))) return;
    auto [it, inserted] = numbers_.try_emplace(url, links_.size() + 1);
    if (inserted) {
      if (links_.size() >= max_links_) {
        numbers_.erase(it);
        return;
      }
      links_.push_back(url);
    }
    out_ += fmt::format(" [{}]", it->second);
  }

  std::string_view base_url_;
  size_t max_links_;
  bool skip_boilerplate_;
  std::string out_;
  int pre_depth_ = 0;
  std::vector<std::string> links_;
  std::map<std::string, size_t> numbers_;
};

const GumboNode* FindFirst(const GumboNode* node, GumboTag tag, int depth = 0) {
  if (node->type != GUMBO_NODE_ELEMENT || depth > 200) return nullptr;
  if (node->v.element.tag == tag) return node;
  const GumboVector& children = node->v.element.children;
  for (unsigned i = 0; i < children.length; ++i) {
    if (const GumboNode* found =
            FindFirst(static_cast<const GumboNode*>(children.data[i]), tag, depth + 1)) {
      return found;
    }
  }
  return nullptr;
}

std::string NodeText(const GumboNode* node) {
  std::string text;
  if (!node) return text;
  const GumboVector& children = node->v.element.children;
  for (unsigned i = 0; i < children.length; ++i) {
    const auto* child = static_cast<const GumboNode*>(children.data[i]);
    if (child->type == GUMBO_NODE_TEXT) text += child->v.text.text;
  }
  return text;
}

bool IsVoidElement(std::string_view name) {
  for (std::string_view v : {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                             "meta", "source", "track", "wbr", "param", "keygen"}) {
    if (name == v) return true;
  }
  return false;
}

// An upper estimate of how deeply the document nests (open tags not yet closed). The HTML
// tree builder is quadratic on pathological nesting (hundreds of thousands of unclosed tags
// take minutes), so such input is not given to the parser at all.
size_t EstimateNesting(std::string_view html) {
  size_t depth = 0;
  size_t deepest = 0;
  for (size_t i = 0; i + 1 < html.size(); ++i) {
    if (html[i] != '<') continue;
    bool closing = html[i + 1] == '/';
    size_t start = i + (closing ? 2 : 1);
    size_t end = start;
    while (end < html.size() && std::isalnum(static_cast<unsigned char>(html[end])))
      ++end;
    if (end == start) continue;
    std::string name(html.substr(start, end - start));
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Void elements never nest; these close implicitly when a sibling starts.
    if (IsVoidElement(name) || name == "p" || name == "li" || name == "td" || name == "th" ||
        name == "tr" || name == "dt" || name == "dd" || name == "option") {
      continue;
    }
    size_t close = html.find('>', end);
    bool self_closing = close != std::string_view::npos && close > 0 && html[close - 1] == '/';
    if (closing) {
      depth = depth > 0 ? depth - 1 : 0;
    } else if (!self_closing) {
      deepest = std::max(deepest, ++depth);
    }
  }
  return deepest;
}

// Fallback for documents too deep to parse: drop tags, keep text.
std::string StripAllTags(std::string_view html) {
  std::string out;
  bool in_tag = false;
  for (char c : html) {
    if (c == '<') {
      in_tag = true;
    } else if (c == '>') {
      in_tag = false;
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (!in_tag) {
      bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
      if (!space || (!out.empty() && out.back() != ' ')) out += space ? ' ' : c;
    }
  }
  return out;
}

constexpr size_t kMaxParsedNesting = 2000;

}  // namespace

HtmlText HtmlToText(std::string_view html, std::string_view base_url, size_t max_links) {
  if (EstimateNesting(html) > kMaxParsedNesting) {
    HtmlText flat;
    flat.text = "[page nests too deeply to parse; tags removed]\n" + StripAllTags(html);
    return flat;
  }
  GumboOutput* output = gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size());
  HtmlText result;
  const GumboNode* root = output->root;
  std::string title = NodeText(FindFirst(root, GUMBO_TAG_TITLE));
  // Collapse whitespace in the title.
  std::string clean_title;
  for (char c : title) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space) {
      if (!clean_title.empty() && clean_title.back() != ' ') clean_title += ' ';
    } else {
      clean_title += c;
    }
  }
  while (!clean_title.empty() && clean_title.back() == ' ')
    clean_title.pop_back();
  result.title = clean_title;

  const GumboNode* main = FindFirst(root, GUMBO_TAG_MAIN);
  if (!main) main = FindFirst(root, GUMBO_TAG_ARTICLE);
  const GumboNode* body = FindFirst(root, GUMBO_TAG_BODY);
  Renderer renderer(base_url, max_links, /*skip_boilerplate=*/main == nullptr);
  renderer.Render(main ? main : (body ? body : root));
  result.text = renderer.TakeText();
  result.links = renderer.TakeLinks();
  gumbo_destroy_output(&kGumboDefaultOptions, output);
  return result;
}

}  // namespace tandem::tools
