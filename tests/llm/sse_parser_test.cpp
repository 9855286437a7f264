#include "tandem/llm/sse_parser.h"

#include <gtest/gtest.h>

#include <vector>

#include "tandem/llm/stream_assembler.h"

namespace tandem::llm {
namespace {

std::vector<SseEvent> ParseInPieces(const std::string& stream, size_t piece) {
  SseParser parser;
  std::vector<SseEvent> events;
  auto sink = [&](const SseEvent& e) { events.push_back(e); };
  for (size_t i = 0; i < stream.size(); i += piece)
    parser.Feed(stream.substr(i, piece), sink);
  parser.Finish();
  return events;
}

TEST(SseParserTest, HandlesLineEndingsCommentsAndMultiLineDataInAnySplit) {
  std::string stream =
      ": comment\r\n"
      "event: delta\r\n"
      "data: first\r\n"
      "data:second\r\n"
      "\r\n"
      "data: cr only\r\r"
      "id: 7\n"
      "data: lf\n"
      "\n"
      "data: no blank line at end";
  for (size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    std::vector<SseEvent> events = ParseInPieces(stream, piece);
    ASSERT_EQ(events.size(), 3u) << piece;  // The unterminated last event is dropped.
    EXPECT_EQ(events[0].event, "delta");
    EXPECT_EQ(events[0].data, "first\nsecond");
    EXPECT_EQ(events[1].data, "cr only");
    EXPECT_EQ(events[1].event, "");
    EXPECT_EQ(events[2].data, "lf");
  }
}

TEST(SseParserTest, BlankLinesWithoutDataDispatchNothing) {
  EXPECT_TRUE(ParseInPieces("\n\n: ping\n\nevent: x\n\n", 5).empty());
}

TEST(StreamAssemblerTest, ToolCallsMatchByIndexAndById) {
  StreamAssembler assembler;
  for (
      const char* chunk : {
          R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\"x\""}}]}}]})",
          R"({"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":""}}]}}]})",
          R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]})",
          R"({"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]}}]})",
          R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}]})",
      }) {
    ASSERT_TRUE(assembler.Add(chunk)) << chunk;
  }
  auto response = assembler.Finish();
  ASSERT_TRUE(response);
  ASSERT_EQ(response->message.tool_calls.size(), 2u);
  EXPECT_EQ(response->message.tool_calls[0], (ToolCall{"a", "f", R"({"x":1})"}));
  EXPECT_EQ(response->message.tool_calls[1], (ToolCall{"b", "g", "{}"}));
  EXPECT_FALSE(assembler.usage_reported());
}

TEST(StreamAssemblerTest, RejectsMalformedChunksAndNamelessCalls) {
  StreamAssembler assembler;
  EXPECT_FALSE(assembler.Add("not json"));
  EXPECT_FALSE(assembler.Add("[1]"));
  ASSERT_TRUE(assembler.Add(
      R"({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]})"));
  EXPECT_FALSE(assembler.Finish());
}

}  // namespace
}  // namespace tandem::llm
