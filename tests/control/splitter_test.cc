#include "control/splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ftvm::control {
namespace {

// Every complete text available now.
std::vector<std::string> Drain(JsonSplitter& splitter) {
  std::vector<std::string> out;
  for (;;) {
    auto next = splitter.Next();
    EXPECT_TRUE(next.has_value()) << next.error().ToString();
    if (!next || !*next) return out;
    out.push_back(**next);
  }
}

TEST(JsonSplitterTest, SplitsConcatenatedObjectsWithoutNewlines) {
  JsonSplitter splitter;
  splitter.Append(R"({"execute":"a"}{"execute":"b","arguments":{"x":[1,{"y":2}]}} )");
  EXPECT_EQ(Drain(splitter),
            (std::vector<std::string>{R"({"execute":"a"})",
                                      R"({"execute":"b","arguments":{"x":[1,{"y":2}]}})"}));
  EXPECT_FALSE(splitter.in_text());
}

TEST(JsonSplitterTest, HonoursBracesAndQuotesInsideStrings) {
  JsonSplitter splitter;
  const std::string text = R"({"a":"}{][\"\\","b":"\\"})";
  splitter.Append(text + "\r\n");
  EXPECT_EQ(Drain(splitter), std::vector<std::string>{text});
}

TEST(JsonSplitterTest, ReassemblesTextsFedOneByteAtATime) {
  const std::string input = "{\"execute\":\n  \"query-status\",\n \"id\": \"x}\"}\n[1,2]\"top\"";
  JsonSplitter splitter;
  std::vector<std::string> texts;
  for (char c : input) {
    splitter.Append(std::string(1, c));
    for (std::string& t : Drain(splitter)) texts.push_back(std::move(t));
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"{\"execute\":\n  \"query-status\",\n \"id\": \"x}\"}",
                                             "[1,2]", "\"top\""}));
}

TEST(JsonSplitterTest, StrayTokensBecomeTextsOfTheirOwn) {
  JsonSplitter splitter;
  splitter.Append("42 true}]:,nul{\"x\":1} ");
  EXPECT_EQ(Drain(splitter),
            (std::vector<std::string>{"42", "true", "}", "]", ":", ",", "nul", "{\"x\":1}"}));
}

TEST(JsonSplitterTest, ScalarAtEndWaitsForItsTerminator) {
  JsonSplitter splitter;
  splitter.Append("123");
  EXPECT_TRUE(Drain(splitter).empty());
  EXPECT_TRUE(splitter.in_text());
  splitter.Append("4\n");
  EXPECT_EQ(Drain(splitter), std::vector<std::string>{"1234"});
}

TEST(JsonSplitterTest, UnfinishedTextIsReportedAtEndOfInput) {
  JsonSplitter splitter;
  splitter.Append("{\"execute\": \"qui");
  EXPECT_TRUE(Drain(splitter).empty());
  EXPECT_TRUE(splitter.in_text());
}

TEST(JsonSplitterTest, TextAtTheSizeLimitPassesOneByteMoreIsAStickyError) {
  JsonSplitter splitter(SplitterLimits{.max_message_bytes = 10, .max_depth = 8});
  splitter.Append("{\"a\":\"12\"}");  // exactly 10 bytes
  EXPECT_EQ(Drain(splitter), std::vector<std::string>{"{\"a\":\"12\"}"});
  splitter.Append("{\"a\":\"123\"}");  // 11
  auto next = splitter.Next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(next.error().context(), "message exceeds 10 bytes");
  splitter.Append("{}");
  EXPECT_FALSE(splitter.Next().has_value());  // cannot resynchronise
}

TEST(JsonSplitterTest, OversizedTextIsCaughtBeforeItEnds) {
  JsonSplitter splitter(SplitterLimits{.max_message_bytes = 1024});
  splitter.Append("{\"a\":\"" + std::string(2000, 'x'));
  auto next = splitter.Next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().code(), ErrorCode::kResourceExhausted);
}

TEST(JsonSplitterTest, NestingBeyondTheLimitIsAnError) {
  JsonSplitter splitter(SplitterLimits{.max_message_bytes = 1024, .max_depth = 4});
  splitter.Append("[[[[1]]]]");
  EXPECT_EQ(Drain(splitter), std::vector<std::string>{"[[[[1]]]]"});
  splitter.Append("[[[[[1]]]]]");
  auto next = splitter.Next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().context(), "JSON nesting deeper than 4 levels");
}

TEST(JsonSplitterTest, HoldsOnlyThePartialTextAfterDraining) {
  JsonSplitter splitter;
  for (int i = 0; i < 1000; ++i) {
    splitter.Append("{\"execute\":\"query-status\"}   \n");
    EXPECT_EQ(Drain(splitter).size(), 1u);
  }
  splitter.Append("{\"exec");
  EXPECT_TRUE(Drain(splitter).empty());
  EXPECT_EQ(splitter.buffered_bytes(), 6u);
}

}  // namespace
}  // namespace ftvm::control
