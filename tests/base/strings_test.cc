#include "base/strings.h"

#include <gtest/gtest.h>

#include <string>

namespace ftvm {
namespace {

TEST(StringsTest, SplitDropsEmptyItems) {
  auto v = Split("a,,b,", ',');
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], "a");
  EXPECT_EQ(v[1], "b");
  EXPECT_TRUE(Split("", ',').empty());
}

TEST(StringsTest, ParseU64RejectsGarbage) {
  EXPECT_EQ(*ParseU64("0"), 0u);
  EXPECT_EQ(*ParseU64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseU64("18446744073709551616"));
  EXPECT_FALSE(ParseU64(""));
  EXPECT_FALSE(ParseU64("-1"));
  EXPECT_FALSE(ParseU64("12x"));
  EXPECT_FALSE(ParseU64(" 1"));
}

TEST(StringsTest, GlobMatchesStarAndQuestionMarkOnly) {
  EXPECT_TRUE(GlobMatch("rdma_*", "rdma_write_post"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("**", "x"));
  EXPECT_TRUE(GlobMatch("r?ma_*post", "rdma_write_post"));
  EXPECT_TRUE(GlobMatch("*_post", "rdma_write_post"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "exactly"));
  EXPECT_FALSE(GlobMatch("rdma_*", "ram_x"));
  EXPECT_FALSE(GlobMatch("?", ""));
  EXPECT_FALSE(GlobMatch("[a]", "a"));  // brackets are literal, as in QEMU
  EXPECT_TRUE(GlobMatch("[a]", "[a]"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY"));
  EXPECT_TRUE(IsGlobPattern("a*"));
  EXPECT_TRUE(IsGlobPattern("a?"));
  EXPECT_FALSE(IsGlobPattern("abc"));
}

TEST(StringsTest, GlobMatchStaysFastOnPathologicalPatterns) {
  // fnmatch backtracks exponentially on this shape; GlobMatch is O(text^2) at worst.
  std::string pattern;
  for (int i = 0; i < 20; ++i) pattern += "*a";
  pattern += "*b";
  const std::string text(40, 'a');
  EXPECT_FALSE(GlobMatch(pattern, text));
  EXPECT_FALSE(GlobMatch(std::string(60000, '*') + "x", text));
  EXPECT_TRUE(GlobMatch(std::string(60000, '*'), text));
}

TEST(StringsTest, ParseSizeUnderstandsSuffixes) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("64K"), 64u << 10);
  EXPECT_EQ(*ParseSize("1M"), 1u << 20);
  EXPECT_EQ(*ParseSize("1G"), 1ull << 30);
  EXPECT_EQ(*ParseSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseSize("3MB"), 3ull << 20);
  EXPECT_EQ(*ParseSize("1T"), 1ull << 40);
  EXPECT_FALSE(ParseSize("1Q"));
  EXPECT_FALSE(ParseSize("G"));
  EXPECT_FALSE(ParseSize("99999999999999999999T"));
  EXPECT_FALSE(ParseSize("20000000T"));
}

TEST(StringsTest, FormatBytes) {
  EXPECT_EQ(FormatBytes(17), "17 B");
  EXPECT_EQ(FormatBytes(64 << 10), "64.0 KiB");
  EXPECT_EQ(FormatBytes(3ull << 29), "1.5 GiB");
}

}  // namespace
}  // namespace ftvm
