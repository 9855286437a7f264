#include "tandem/tools/text_util.h"

#include <gtest/gtest.h>

namespace tandem::tools {
namespace {

TEST(TextUtilTest, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(ToValidUtf8("a\xFF"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // Overlong '/'.
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // Surrogate.
  EXPECT_EQ(ToValidUtf8("\xE2\x82\xAC"), "\xE2\x82\xAC");
}

TEST(TextUtilTest, EscapeNameShowsBadBytesAndControls) {
  EXPECT_EQ(EscapeName("a\xFFz\n"), "a\\xffz\\x0a");
  EXPECT_EQ(EscapeName("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(TextUtilTest, CapTextKeepsHeadAndTail) {
  std::string text = std::string(100, 'h') + std::string(100, 'm') + std::string(100, 't');
  std::string capped = CapText(text, 100);
  EXPECT_TRUE(capped.starts_with(std::string(50, 'h')));
  EXPECT_TRUE(capped.ends_with(std::string(50, 't')));
  EXPECT_NE(capped.find("200 bytes omitted"), std::string::npos);
  EXPECT_EQ(CapText("short", 100), "short");
}

TEST(TextUtilTest, HeadTailBufferKeepsBothEnds) {
  HeadTailBuffer buffer(10);
  for (int i = 0; i < 100; ++i)
    buffer.Append(std::to_string(i % 10));
  EXPECT_TRUE(buffer.truncated());
  EXPECT_EQ(buffer.total_bytes(), 100u);
  std::string text = buffer.Text();
  EXPECT_TRUE(text.starts_with("01234")) << text;
  EXPECT_TRUE(text.ends_with("56789")) << text;
  EXPECT_NE(text.find("90 bytes omitted"), std::string::npos) << text;
  HeadTailBuffer small(10);
  small.Append("abc");
  EXPECT_EQ(small.Text(), "abc");
}

}  // namespace
}  // namespace tandem::tools
