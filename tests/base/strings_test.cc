#include "base/strings.h"

#include <gtest/gtest.h>

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
