#include "tandem/tools/html_text.h"

#include <gtest/gtest.h>

namespace tandem::tools {
namespace {

TEST(HtmlTextTest, FallsBackToBodyWithoutNavigation) {
  HtmlText page = HtmlToText(
      "<title>T</title><header>Site</header><nav>Menu</nav><p>Body &amp; text</p>"
      "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
      "<pre>  keep   spaces</pre><footer>Foot</footer>",
      "https://example.com/dir/page.html");
  EXPECT_EQ(page.title, "T");
  // Inner whitespace of <pre> is kept; leading spaces of every line are trimmed.
  EXPECT_EQ(page.text, "Body & text\n\na | b\n1 | 2\nkeep   spaces");
}

TEST(HtmlTextTest, LinksAreResolvedNumberedAndFiltered) {
  HtmlText page = HtmlToText(
      "<main><a href='../up'>up</a> <a href='javascript:alert(1)'>js</a> "
      "<a href='mailto:a@b.c'>mail</a> <a href='//cdn.example/x'>cdn</a></main>",
      "https://example.com/dir/page.html");
  ASSERT_EQ(page.links.size(), 2u);
  EXPECT_EQ(page.links[0], "https://example.com/up");
  EXPECT_EQ(page.links[1], "https://cdn.example/x");
  EXPECT_EQ(page.text, "up [1] js mail cdn [2]");
}

TEST(HtmlTextTest, MalformedHtmlDoesNotFail) {
  HtmlText page = HtmlToText("<p>unclosed <b>bold <i>both</p> after</b> <<>>", "http://x/");
  EXPECT_NE(page.text.find("unclosed bold both"), std::string::npos) << page.text;
}

TEST(HtmlTextTest, PathologicalNestingIsNotParsed) {
  std::string html = "<body>";
  for (int i = 0; i < 100000; ++i)
    html += "<div>";
  html += "deep text";
  HtmlText page = HtmlToText(html, "http://x/");
  EXPECT_NE(page.text.find("nests too deeply"), std::string::npos);
  EXPECT_NE(page.text.find("deep text"), std::string::npos);
}

TEST(HtmlTextTest, ManyUnclosedParagraphsStillParse) {
  std::string html = "<body>";
  for (int i = 0; i < 5000; ++i)
    html += "<p>para";
  HtmlText page = HtmlToText(html, "http://x/");
  EXPECT_EQ(page.text.find("nests too deeply"), std::string::npos);
  EXPECT_TRUE(page.text.starts_with("para\n\npara"));
}

}  // namespace
}  // namespace tandem::tools
